"""Scoring a run collected without hidden-test scores, in the real sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cobalt.cli.main import main
from cobalt.jsonl import read_records
from cobalt.records import Message, Problem, Trajectory, Turn

RIGHT = "a, b = map(int, input().split())\nprint(a + b)\n"
WRONG = "a, b = map(int, input().split())\nprint(a - b)\n"

PROBLEM = Problem(
    id="add",
    statement="Print a + b.",
    public_tests={"inputs": ["1 2\n"], "outputs": ["3\n"]},
    hidden_tests={"inputs": ["10 20\n", "-3 3\n", "7 0\n"], "outputs": ["30\n", "0\n", "7\n"]},
)


def unscored(sample: int, codes: list[str | None], hidden: int = 3) -> Trajectory:
    turns = [
        Turn(index=i, completion=f"```python\n{c}```" if c else "none", code=c, hidden_pass_rate=None if c else 0.0)
        for i, c in enumerate(codes)
    ]
    messages = [Message(role="system", content="s"), Message(role="user", content="p")]
    for turn in turns:
        messages += [Message(role="assistant", content=turn.completion), Message(role="user", content="fb")]
    return Trajectory(
        problem_id="add", sample=sample, messages=messages, turns=turns, num_public_tests=1, num_hidden_tests=hidden
    )


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    run = tmp_path / "run.jsonl"
    run.write_text(unscored(0, [WRONG, RIGHT]).model_dump_json() + "\n" + unscored(1, [None, WRONG]).model_dump_json())
    problems = tmp_path / "problems.jsonl"
    problems.write_text(PROBLEM.model_dump_json() + "\n")
    return run, problems


def test_unscored_programs_are_scored_from_the_problems_file(files, capsys):
    run, problems = files
    assert main(["evaluate", str(run), "--problems", str(problems), "--timeout", "1"]) == 0
    scored = {t.sample: t for _, t in read_records(run.with_name("run.scored.jsonl"), Trajectory)}
    assert [t.hidden_pass_rate for t in scored[0].turns] == pytest.approx([1 / 3, 1.0])
    assert [t.hidden_pass_rate for t in scored[1].turns] == pytest.approx([0.0, 1 / 3])
    assert [str(v) for v in scored[0].turns[1].hidden_verdicts] == ["AC", "AC", "AC"]
    summary = json.loads(run.with_name("run.scored.eval.json").read_text())["runs"][0]
    assert [m["pass_at_1"] for m in summary["per_turn"]] == [0.0, 0.5]
    content = run.with_name("run.scored.jsonl").read_bytes()
    assert main(["evaluate", str(run), "--problems", str(problems)]) == 0  # resumes: nothing redone
    assert run.with_name("run.scored.jsonl").read_bytes() == content


def test_without_problems_an_unscored_run_is_refused(files, capsys):
    run, _ = files
    assert main(["evaluate", str(run)]) == 2
    assert "--problems" in capsys.readouterr().err


def test_hidden_tests_that_do_not_match_the_run_are_refused(tmp_path, files, capsys):
    run, _ = files
    other = tmp_path / "other.jsonl"
    fewer = PROBLEM.model_copy(update={"hidden_tests": PROBLEM.hidden_tests.select([0, 1])})
    other.write_text(fewer.model_dump_json() + "\n")
    assert main(["evaluate", str(run), "--problems", str(other)]) == 2
    assert "has 2 hidden tests, the trajectory was collected with 3" in capsys.readouterr().err


# Prints its sum after two spaces: the reference's stripped-text comparison accepts it, "lines" does not.
LEADING_SPACES = "a, b = map(int, input().split())\nprint('  ' + str(a + b))\n"


@pytest.mark.parametrize(
    ("manifest_sandbox", "flags", "passes"),
    [
        (None, [], True),  # no manifest: the rollout's default, the reference's strip
        ({"comparator": "lines", "feedback": "cobalt"}, [], False),  # collected with lines: scored with lines
        ({"comparator": "lines", "feedback": "cobalt"}, ["--comparator", "strip"], True),  # the flag wins
    ],
)
def test_hidden_tests_are_scored_with_the_comparator_the_run_was_collected_with(
    tmp_path, manifest_sandbox, flags, passes
):
    run = tmp_path / "run.jsonl"
    run.write_text(unscored(0, [LEADING_SPACES]).model_dump_json() + "\n")
    if manifest_sandbox is not None:
        manifest = {"kind": "rollout", "config": {"sandbox": manifest_sandbox}}
        (tmp_path / "run.manifest.json").write_text(json.dumps(manifest))
    problems = tmp_path / "problems.jsonl"
    problems.write_text(PROBLEM.model_dump_json() + "\n")
    assert main(["evaluate", str(run), "--problems", str(problems), "--timeout", "1", *flags]) == 0
    [(_, scored)] = read_records(run.with_name("run.scored.jsonl"), Trajectory)
    assert (scored.turns[0].hidden_pass_rate == 1.0) is passes
