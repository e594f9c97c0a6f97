"""A trajectories file with no records (an empty or blank-only file, say from a rollout that
failed before its first trajectory) is bad input wherever it is read: one error naming the file,
exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from rollout_testkit import ADD_RIGHT, ChatServer, add_problem, fenced

from cobalt.cli.main import main


@pytest.fixture(params=["", "\n  \n"], ids=["empty", "blank-lines"])
def no_trajectories(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    path = tmp_path / "run.jsonl"
    path.write_text(request.param)
    return path


@pytest.fixture
def problems(tmp_path: Path) -> Path:
    path = tmp_path / "problems.jsonl"
    path.write_text(add_problem("p0").model_dump_json() + "\n")
    return path


def test_evaluate_refuses_it(no_trajectories, capsys):
    assert main(["evaluate", str(no_trajectories)]) == 2
    assert f"{no_trajectories}: the run holds no trajectories" in capsys.readouterr().err


def one_good_run(problems: Path, out: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real one-trajectory run of a model that answers correctly."""
    monkeypatch.setenv("OPENAI_API_KEY", "unused")
    with ChatServer(lambda messages, n: [fenced(ADD_RIGHT)] * n) as server:
        argv = ["rollout", "--engine", "openai", "--model", "m", "--base-url", server.url, "--problems", str(problems)]
        assert main([*argv, "--out", str(out), "--n", "1", "--turns", "0", "--timeout", "1"]) == 0
    return out


@pytest.mark.parametrize("as_perturbed", [False, True], ids=["trajectories", "perturbed"])
def test_bandit_build_refuses_it(
    no_trajectories, problems, tiny_model_dir, tmp_path, capsys, monkeypatch, as_perturbed
):
    if as_perturbed:  # a good original run, and an empty --perturbed file
        good = one_good_run(problems, tmp_path / "good.jsonl", monkeypatch)
        argv = ["bandit", "build", str(good), "--problems", str(problems), "--perturbed", str(no_trajectories)]
    else:
        argv = ["bandit", "build", str(no_trajectories), "--problems", str(problems)]
    out = tmp_path / "bandit.jsonl"
    assert main([*argv, "--tokenizer", str(tiny_model_dir), "--out", str(out)]) == 2
    assert f"{no_trajectories}: the file holds no trajectories" in capsys.readouterr().err
    assert not out.exists()


def test_rollout_refuses_it_as_the_source_of_turn_0(no_trajectories, problems, tmp_path, capsys):
    argv = ["rollout", "--engine", "openai", "--model", "m", "--base-url", "http://127.0.0.1:9/v1"]
    argv += ["--problems", str(problems), "--out", str(tmp_path / "o.jsonl"), "--turn0-from", str(no_trajectories)]
    assert main(argv) == 2
    assert f"{no_trajectories}: the file holds no trajectories" in capsys.readouterr().err
