"""The perturbed condition end to end from the command line: ``cobalt data perturb``, then
``cobalt rollout --condition perturbed`` with a model that writes a correct program. The policy is
fed back the swapped expected output; hidden-test scoring is the same as under the original
condition; ``cobalt evaluate`` and ``cobalt bandit build`` read the run as perturbed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rollout_testkit import ADD_RIGHT, ChatServer, add_problem, fenced

from cobalt.cli.main import main
from cobalt.data import load_problems, perturbation_of
from cobalt.jsonl import read_records
from cobalt.records import Trajectory, Verdict


def always_right(messages: list[dict], n: int) -> list[str]:
    """A scripted model that always answers with the correct program."""
    return [fenced(ADD_RIGHT)] * n


def rollout(server: ChatServer, problems: Path, out: Path, condition: str) -> int:
    argv = [
        "rollout", "--engine", "openai", "--model", "scripted", "--base-url", server.url,
        "--problems", str(problems), "--out", str(out), "--condition", condition,
        "--n", "2", "--turns", "1", "--timeout", "1",
    ]  # fmt: skip
    return main(argv)


@pytest.fixture
def perturbed_file(tmp_path: Path) -> Path:
    """Two addition problems, perturbed by ``cobalt data perturb``."""
    problems = tmp_path / "problems.jsonl"
    problems.write_text("".join(add_problem(f"p{i}").model_dump_json() + "\n" for i in range(2)))
    out = tmp_path / "ptb.jsonl"
    assert main(["data", "perturb", str(problems), str(out), "--seed", "0"]) == 0
    return out


def test_the_perturbed_condition_runs_and_feeds_back_the_swapped_tests(tmp_path, perturbed_file, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "unused")
    with ChatServer(always_right) as server:
        assert rollout(server, perturbed_file, tmp_path / "ptb-run.jsonl", "perturbed") == 0
        assert rollout(server, perturbed_file, tmp_path / "orig-run.jsonl", "original") == 0
    problems = {p.id: p for p in load_problems(perturbed_file)}
    perturbed = {t.key: t for _, t in read_records(tmp_path / "ptb-run.jsonl", Trajectory)}
    original = {t.key: t for _, t in read_records(tmp_path / "orig-run.jsonl", Trajectory)}
    assert len(perturbed) == len(original) == 4
    for trajectory in perturbed.values():
        assert trajectory.condition == "perturbed"
        swapped = perturbation_of(problems[trajectory.problem_id]).modified_tests
        first_input, shown_expected = swapped.inputs[0], swapped.outputs[0]
        a, b = map(int, first_input.split())
        assert shown_expected.strip() != str(a + b)  # the swap really makes the correct answer "wrong"
        for turn in trajectory.turns:
            # The correct program fails the perturbed public list, and the first swapped test is fed back.
            assert not turn.public.all_passed and turn.public.first_failure == 0
            shown = f"Input:\n{first_input.strip()}\nProgram's Output:\n{a + b}\nExpected Output:\n"
            assert shown + shown_expected.strip() in turn.feedback
            assert turn.public.passing.count(False) == 2  # exactly the two swapped tests fail
        twin = original[trajectory.key.replace("#perturbed", "#original")]
        for turn, twin_turn in zip(trajectory.turns, twin.turns):
            assert twin_turn.public.all_passed  # the same program passes the original public tests
            assert turn.hidden_pass_rate == twin_turn.hidden_pass_rate == 1.0  # hidden scoring unchanged
            assert turn.hidden_verdicts == twin_turn.hidden_verdicts == [Verdict.ACCEPTED] * 3
        assert trajectory.num_hidden_tests == 3


def test_evaluate_and_bandit_read_the_run_as_perturbed(tmp_path, perturbed_file, tiny_model_dir, monkeypatch, capsys):
    monkeypatch.setenv("OPENAI_API_KEY", "unused")
    with ChatServer(always_right) as server:
        assert rollout(server, perturbed_file, tmp_path / "ptb-run.jsonl", "perturbed") == 0
        assert rollout(server, perturbed_file, tmp_path / "orig-run.jsonl", "original") == 0
    summary = tmp_path / "eval.json"
    assert main(["evaluate", str(tmp_path / "ptb-run.jsonl"), "--json", str(summary)]) == 0
    [run] = json.loads(summary.read_text())["runs"]
    assert run["condition"] == "perturbed"
    out = tmp_path / "bandit.jsonl"
    argv = ["bandit", "build", str(tmp_path / "orig-run.jsonl"), "--problems", str(perturbed_file)]
    argv += ["--perturbed", str(tmp_path / "ptb-run.jsonl"), "--tokenizer", str(tiny_model_dir), "--out", str(out)]
    assert main(argv) == 0
    # Every program is correct, so every problem is too easy (§2.2) and no prompt is built; what
    # matters is that the perturbed file is accepted as perturbed trajectories.
    assert "bandit/perturbed/prompts_built" in capsys.readouterr().out


def test_a_problem_without_a_perturbation_is_refused_naming_file_and_problem(tmp_path, capsys):
    problems = tmp_path / "plain.jsonl"
    problems.write_text(add_problem("plain-1").model_dump_json() + "\n")
    argv = ["rollout", "--engine", "openai", "--model", "m", "--base-url", "http://127.0.0.1:9/v1"]
    argv += ["--problems", str(problems), "--out", str(tmp_path / "o.jsonl"), "--condition", "perturbed"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert str(problems) in err and "'plain-1' has no perturbation" in err and "cobalt data perturb" in err
    assert not (tmp_path / "o.jsonl").exists()
