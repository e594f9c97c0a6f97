"""One reader of problem files for every stage: rows validated, a repeated id refused with both
places named, and the same refusal wherever a problems file enters the pipeline."""

from __future__ import annotations

import json

import pytest
from data_testkit import write_jsonl

from cobalt.cli.main import main
from cobalt.data import LoadReport, load_problems
from cobalt.jsonl import InputError

EMPTY = {"inputs": [], "outputs": []}
TESTS = {"inputs": ["1\n"], "outputs": ["1\n"]}


def problem(problem_id: str) -> dict:
    return {"id": problem_id, "statement": "echo", "public_tests": TESTS, "hidden_tests": TESTS}


@pytest.fixture
def repeated(tmp_path):
    return write_jsonl(tmp_path / "problems.jsonl", [problem("a"), problem("b"), problem("a")])


def test_a_repeated_id_names_both_lines(repeated):
    with pytest.raises(InputError) as caught:
        load_problems(repeated)
    assert (caught.value.line, caught.value.field) == (3, "id")
    assert "duplicate problem id 'a' (first on line 1)" in str(caught.value)


def test_a_repeated_id_in_a_json_array_names_both_rows(tmp_path):
    path = tmp_path / "problems.json"
    path.write_text(json.dumps([problem("a"), problem("a")]))
    with pytest.raises(InputError, match=r"field '\[1\]\.id': duplicate problem id 'a' \(first on row 0\)"):
        load_problems(path)


def test_skipped_repeats_are_counted(repeated):
    report = LoadReport(source="test")
    assert [p.id for p in load_problems(repeated, skip_invalid=True, report=report)] == ["a", "b"]
    assert (report.rows, report.kept, report.total_dropped) == (3, 2, 1)


def test_a_limit_reads_no_further(tmp_path):
    path = tmp_path / "problems.txt"  # any other suffix is Cobalt's JSONL
    path.write_text(json.dumps(problem("a")) + "\n" + json.dumps(problem("b")) + "\nnot json\n")
    assert [p.id for p in load_problems(path, limit=2)] == ["a", "b"]
    with pytest.raises(InputError, match=r"line 3: .*invalid JSON"):
        load_problems(path)


def test_every_stage_refuses_a_repeated_id(repeated, tmp_path, capsys, tiny_model_dir):
    """The rollout, the evaluation's scoring, the bandit builder, the online baselines and the demo
    all read problems through the one reader, so all refuse the same file the same way."""
    from cobalt.demo import DemoRun
    from cobalt.train.baselines.online import problem_rows
    from cobalt.train.config import TrainConfig

    message = f"{repeated}, line 3: field 'id': duplicate problem id 'a'"
    assert main(["rollout", "--model", "m", "--problems", str(repeated), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert message in capsys.readouterr().err
    run = write_jsonl(tmp_path / "run.jsonl", [])
    assert main(["evaluate", str(run), "--problems", str(repeated)]) == 2
    assert message in capsys.readouterr().err
    bandit = ["bandit", "build", str(run), "--problems", str(repeated), "--out", str(tmp_path / "b.jsonl")]
    assert main([*bandit, "--tokenizer", str(tiny_model_dir)]) == 2
    assert message in capsys.readouterr().err
    with pytest.raises(InputError, match=message):
        problem_rows(TrainConfig(), None, str(repeated))
    demo = DemoRun(tmp_path / "demo", say=lambda _: None)
    (tmp_path / "demo" / "problems").mkdir()
    (tmp_path / "demo" / "problems" / "rl.jsonl").write_text(repeated.read_text())
    with pytest.raises(InputError, match="duplicate problem id 'a'"):
        demo.problems("rl")


@pytest.mark.parametrize(("name", "text"), [("problems.jsonl", ""), ("blank.jsonl", "\n  \n"), ("array.json", "[]")])
def test_a_file_with_no_records_is_bad_input(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match="holds no problems") as caught:
        load_problems(path)
    assert caught.value.path == path or str(path) in str(caught.value)


def test_the_cli_refuses_an_empty_problems_file_naming_it(tmp_path, capsys):
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    assert main(["data", "stats", str(path)]) == 2
    assert f"{path}" in capsys.readouterr().err
    out = tmp_path / "out.jsonl"
    assert main(["data", "prepare", "--source", "jsonl", str(path), "--out", str(out)]) == 2
    assert "holds no problems" in capsys.readouterr().err and not out.exists()
