"""``cobalt rollout`` from the command line: configuration precedence, bad input, and a run killed
with SIGKILL and restarted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rollout_testkit import ChatServer, add_problem, repairing_model

from cobalt.cli.main import build_parser, main
from cobalt.cli.rollout_cmd import load_config
from cobalt.jsonl import InputError, read_records
from cobalt.records import Trajectory
from cobalt.rollout import RolloutConfig


def parse(*argv: str):
    return build_parser().parse_args(["rollout", "--problems", "p.jsonl", "--out", "o.jsonl", *argv])


def test_defaults_and_presets_are_the_papers_settings():
    """docs/paper.md §2.1, §4, §6: 16 samples at T 0.6 / top-p 0.95, 6144 new tokens, 8 repair turns to
    evaluate and 2 to collect, 4 s and 1 GB per test, 6000 characters per stored reasoning turn."""
    default = RolloutConfig()
    assert (default.sampling.n, default.sampling.temperature, default.sampling.top_p) == (16, 0.6, 0.95)
    assert (default.sampling.max_new_tokens, default.turns, default.max_turn_chars) == (6144, 8, 6000)
    assert (default.sandbox.cpu_s, default.sandbox.memory_mb) == (4.0, 1024)
    assert load_config(parse("--preset", "paper-eval")).model_dump() == default.model_dump()
    assert load_config(parse("--preset", "paper-collect")).turns == 2
    thinking = load_config(parse("--preset", "paper-eval-thinking"))
    assert thinking.reasoning and thinking.policy.chat_template_kwargs == {"enable_thinking": True}
    assert set(RolloutConfig.presets()) >= {"paper-eval", "paper-collect", "tiny-cpu"}


def test_flags_override_the_yaml_file_which_overrides_the_preset(tmp_path):
    settings = tmp_path / "run.yaml"
    settings.write_text("turns: 5\nsampling:\n  n: 4\n  temperature: 0.2\npolicy:\n  model: from-yaml\n")
    config = load_config(parse("--preset", "paper-collect", "--config", str(settings), "--n", "8"))
    assert (config.turns, config.sampling.n, config.sampling.temperature) == (5, 8, 0.2)
    assert config.policy.model == "from-yaml" and config.sampling.max_new_tokens == 6144


def test_a_bad_yaml_setting_names_the_file_and_field(tmp_path):
    settings = tmp_path / "run.yaml"
    settings.write_text("sampling:\n  n: zero\n")
    with pytest.raises(InputError, match=r"run\.yaml: field 'sampling\.n'"):
        load_config(parse("--config", str(settings)))
    settings.write_text("turns: 2\nsampling: [unclosed\n")
    with pytest.raises(InputError, match=r"run\.yaml, line \d+: invalid YAML"):
        load_config(parse("--config", str(settings)))
    with pytest.raises(InputError, match="unknown preset 'nope'"):
        load_config(parse("--preset", "nope"))


def test_a_bad_problem_line_is_exit_2_naming_file_line_and_field(tmp_path, capsys):
    problems = tmp_path / "problems.jsonl"
    good = add_problem().model_dump_json()
    problems.write_text(good + "\n" + json.dumps({"id": "x", "statement": "s", "public_tests": {"inputs": []}}) + "\n")
    code = main(["rollout", "--model", "m", "--problems", str(problems), "--out", str(tmp_path / "o.jsonl")])
    assert code == 2
    assert f"{problems}, line 2: field 'public_tests': tests lack the field 'outputs'" in capsys.readouterr().err


def test_a_repeated_problem_id_is_exit_2_naming_both_lines(tmp_path, capsys):
    problems = tmp_path / "problems.jsonl"
    problems.write_text((add_problem().model_dump_json() + "\n") * 2)
    assert main(["rollout", "--model", "m", "--problems", str(problems), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert f"{problems}, line 2: field 'id': duplicate problem id 'add' (first on line 1)" in capsys.readouterr().err


def test_missing_model_is_exit_2(tmp_path, capsys):
    problems = tmp_path / "problems.jsonl"
    problems.write_text(add_problem().model_dump_json() + "\n")
    assert main(["rollout", "--problems", str(problems), "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "no model" in capsys.readouterr().err


def test_a_model_directory_that_does_not_exist_is_exit_2(tmp_path, capsys):
    problems = tmp_path / "problems.jsonl"
    problems.write_text(add_problem().model_dump_json() + "\n")
    argv = ["rollout", "--model", str(tmp_path / "nowhere"), "--problems", str(problems)]
    assert main([*argv, "--out", str(tmp_path / "o.jsonl")]) == 2
    assert "nowhere" in capsys.readouterr().err


def _rollout_command(server: ChatServer, problems: Path, out: Path) -> list[str]:
    return [
        sys.executable, "-m", "cobalt.cli.main", "rollout", "--engine", "openai", "--model", "scripted",
        "--base-url", server.url, "--problems", str(problems), "--out", str(out),
        "--n", "2", "--turns", "2", "--timeout", "1", "--max-active-problems", "2",
    ]  # fmt: skip


def _wait_for_lines(path: Path, count: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.02)
    raise AssertionError(f"{path} never reached {count} lines")


def test_sigkill_loses_only_work_in_flight_and_a_restart_finishes_without_duplicates(tmp_path):
    problems = tmp_path / "problems.jsonl"
    problems.write_text("".join(add_problem(f"p{i}").model_dump_json() + "\n" for i in range(6)))
    out = tmp_path / "run.jsonl"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with ChatServer(repairing_model, delay_s=0.1) as server:
        first = subprocess.Popen(_rollout_command(server, problems, out), env=env, stderr=subprocess.PIPE)
        try:
            _wait_for_lines(out, 3)
        finally:
            first.send_signal(signal.SIGKILL)
            first.communicate()
        kept = out.read_bytes().rsplit(b"\n", 1)[0] + b"\n"  # whole lines written before the kill
        assert 3 <= kept.count(b"\n") < 12  # killed part-way
        with out.open("ab") as handle:
            handle.write(b'{"problem_id": "p5", "sample": 1, "mess')  # as if killed in mid-write
        second = subprocess.run(_rollout_command(server, problems, out), env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert "torn last line" in second.stderr
    final = out.read_bytes()
    assert final.startswith(kept)  # what survived the kill was kept as it was
    keys = [t.key for _, t in read_records(out, Trajectory)]
    assert sorted(keys) == sorted(f"p{i}#{s}#original" for i in range(6) for s in range(2))  # all, once each
    manifest = json.loads(out.with_name("run.manifest.json").read_text())
    assert [s["status"] for s in manifest["sessions"]] == ["running", "finished"]  # the killed one never ended
    assert manifest["sessions"][1]["already_done"] == kept.count(b"\n")


def test_tiny_model_from_the_command_line_then_evaluate(tmp_path, tiny_model_dir, capsys):
    problems = tmp_path / "problems.jsonl"
    problems.write_text("".join(add_problem(f"p{i}").model_dump_json() + "\n" for i in range(2)))
    out = tmp_path / "run.jsonl"
    argv = ["rollout", "--model", str(tiny_model_dir), "--device", "cpu", "--problems", str(problems)]
    argv += ["--n", "2", "--turns", "1", "--max-new-tokens", "8", "--timeout", "1", "--out", str(out)]
    assert main(argv) == 0
    assert "4 trajectories written" in capsys.readouterr().err
    assert main(["evaluate", str(out), "--plot", str(tmp_path / "p.png")]) == 0
    table = capsys.readouterr().out
    assert "run  (" in table and "2 problems x 2 samples; turns 0-1" in table
    assert (tmp_path / "p.png").exists() and (tmp_path / "run.eval.json").exists()
