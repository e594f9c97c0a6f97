"""``cobalt bandit build`` as a user runs it: files in, a dataset out, clear errors on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cobalt.bandit import read_examples
from cobalt.cli.main import main


def write_jsonl(path: Path, rows) -> Path:
    path.write_text("".join((r if isinstance(r, str) else r.to_json()) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def files(tmp_path, problems, trajectories) -> dict[str, Path]:
    return {
        "problems": write_jsonl(tmp_path / "problems.jsonl", problems.values()),
        "trajectories": write_jsonl(tmp_path / "trajectories.jsonl", trajectories),
    }


def build_cli(files, tokenizer_dir, out, *extra: str) -> int:
    argv = ["bandit", "build", str(files["trajectories"]), "--problems", str(files["problems"])]
    return main([*argv, "--tokenizer", tokenizer_dir, "--out", str(out), *extra])


def test_build_writes_jsonl_and_prints_statistics(files, tokenizer_dir, tmp_path, capsys) -> None:
    out, stats = tmp_path / "out" / "train.jsonl", tmp_path / "stats.json"
    assert build_cli(files, tokenizer_dir, out, "--stats", str(stats)) == 0
    examples = read_examples(out)
    assert len(examples) == 16 and all(e.prompt[-1].role == "user" for e in examples)
    printed = capsys.readouterr().out
    assert "bandit/prompts " in printed and "bandit/problems_too_easy " in printed
    assert json.loads(stats.read_text())["bandit/prompts"] == 16


def test_the_three_formats_hold_the_same_rows(files, tokenizer_dir, tmp_path) -> None:
    import datasets

    for name in ("a.jsonl", "a.parquet", "a_dataset"):
        assert build_cli(files, tokenizer_dir, tmp_path / name) == 0
    jsonl, parquet, directory = (read_examples(tmp_path / n) for n in ("a.jsonl", "a.parquet", "a_dataset"))
    assert jsonl == parquet == directory
    table = datasets.load_from_disk(str(tmp_path / "a_dataset"))
    assert {"prompt", "tests", "prev_best_pass_rate", "problem_id", "turn", "perturbed"} <= set(table.column_names)
    assert table[0]["prompt"][-1]["role"] == "user"


def test_token_limit_and_validation_flags(files, tokenizer_dir, tmp_path, capsys) -> None:
    # Prompts after 1, 2, 3 attempts are 28, 44 and 60 tokens with the test tokenizer.
    assert build_cli(files, tokenizer_dir, tmp_path / "t.jsonl", "--max-prompt-tokens", "43") == 0
    assert {e.turn for e in read_examples(tmp_path / "t.jsonl")} == {0, 1}
    assert "bandit/early_stop/token_limit " in capsys.readouterr().out
    assert build_cli(files, tokenizer_dir, tmp_path / "v.jsonl", "--validation") == 0
    assert len(read_examples(tmp_path / "v.jsonl")) == 7


def test_perturbed_file(files, tokenizer_dir, tmp_path, make_trajectory) -> None:
    perturbed = write_jsonl(
        tmp_path / "ptb.jsonl", [make_trajectory("p2", 0, [(0, 0.0), (0, 0.5), (1, 1.0)], condition="perturbed")]
    )
    out = tmp_path / "mixed.jsonl"
    assert build_cli(files, tokenizer_dir, out, "--perturbed", str(perturbed), "--perturbed-ratio", "0.125") == 0
    assert sum(e.perturbed for e in read_examples(out)) == 2


def corrupt(files: dict[str, Path], line: int, change) -> None:
    rows = [json.loads(t) for t in files["trajectories"].read_text().splitlines()]
    change(rows[line - 1])
    write_jsonl(files["trajectories"], [json.dumps(r) for r in rows])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["turns"][0].update(hidden_pass_rate=None), "line 3: field 'turns.0.hidden_pass_rate'"),
        (lambda r: r.update(problem_id="nope"), "line 3: field 'problem_id': problem 'nope' is not in"),
        (lambda r: r.update(sample=0), "line 3: field 'sample': trajectory p1#0#original repeats line 1"),
        (lambda r: r["messages"].pop(3), "line 3: field 'messages'"),
        (lambda r: r.update(num_hidden_tests=7), "line 3: field 'num_public_tests'"),
        (lambda r: r["turns"][0].update(index=-1), "line 3: field 'turns.0.index'"),
    ],
)
def test_bad_trajectory_names_file_line_and_field(files, tokenizer_dir, tmp_path, capsys, change, message) -> None:
    corrupt(files, 3, change)
    assert build_cli(files, tokenizer_dir, tmp_path / "x.jsonl") == 2
    error = capsys.readouterr().err
    assert "trajectories.jsonl" in error and message in error


def test_bad_command_lines(files, tokenizer_dir, tmp_path, capsys, problems) -> None:
    out = tmp_path / "x.jsonl"
    assert build_cli(files, tokenizer_dir, out, "--perturbed-ratio", "0.5") == 2
    assert "--perturbed-ratio needs --perturbed" in capsys.readouterr().err
    assert build_cli(files, tokenizer_dir, out, "--perturbed", str(files["trajectories"])) == 2
    assert "line 1: field 'condition'" in capsys.readouterr().err
    assert build_cli(files, tokenizer_dir, out, "--keep", "0") == 2
    assert build_cli(files, str(tmp_path / "missing"), out) == 2
    assert "not a directory" in capsys.readouterr().err
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "tokenizer.json").write_text(Path(tokenizer_dir, "tokenizer.json").read_text())
    assert build_cli(files, str(bare), out) == 2
    write_jsonl(files["problems"], [*problems.values(), problems["p1"]])
    assert build_cli(files, tokenizer_dir, out) == 2
    assert "line 5: field 'id': duplicate problem id 'p1'" in capsys.readouterr().err
    assert not out.exists()


def test_help_shows_examples(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["bandit", "build", "--help"])
    assert done.value.code == 0
    assert "cobalt bandit build runs/trajectories.jsonl" in capsys.readouterr().out


def test_the_project_bpe_tokenizer_measures_prompts(files, tmp_path, trajectories) -> None:
    from cobalt.demo.tiny_model import build_tokenizer
    from cobalt.tokenizer import load_tokenizer, prompt_token_counter

    build_tokenizer(["def f(x):\n    return x + 1\n"] * 50, vocab_size=300).save_pretrained(tmp_path / "bpe")
    tokenizer = load_tokenizer(tmp_path / "bpe")
    prompt = trajectories[0].messages[:4]
    chat = [m.model_dump() for m in prompt]
    rendered = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
    assert rendered.endswith("<|im_start|>assistant\n")
    expected = len(tokenizer(rendered, add_special_tokens=False)["input_ids"])
    assert prompt_token_counter(tokenizer)(prompt) == expected > 4
    assert build_cli(files, str(tmp_path / "bpe"), tmp_path / "bpe.jsonl", "--max-prompt-tokens", "100000") == 0
    assert len(read_examples(tmp_path / "bpe.jsonl")) == 16
