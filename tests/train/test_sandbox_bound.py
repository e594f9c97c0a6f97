"""One node never runs more sandboxed programs at once than it has cores, however many processes
build an executor: the ranks of an accelerate launch (`cobalt train`, LOCAL_WORLD_SIZE) or verl's
reward workers (the exported reward module).

Two real processes run side by side on the same two cores, each with its own executor built the way
training builds it, and each runs programs that print the wall clock when they start and end; the
largest number of programs running at the same instant, over both processes, must not exceed the
cores. (Before the per-process share, each process took every core: four programs at once on two.)
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from cobalt.records import BanditExample, Message, Tests
from cobalt.sandbox.config import workers_per_process

CORES = 2
PROGRAMS = 4  # per process: twice what its share of the cores may run at once
# Prints its start and end on the wall clock (shared by every process of the machine) and fails
# its test on purpose, so that the output comes back in the feedback.
PROGRAM = "import time\nprint(time.time())\ntime.sleep(0.5)\nprint(time.time())\n"

WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path

    from cobalt.records import ExecRequest

    kind, barrier, rank = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    if kind == "train":
        from cobalt.train.cobalt import training_executor
        from cobalt.train.config import TrainConfig

        executor = training_executor(TrainConfig())
    else:
        from cobalt.train.verl_export import load_reward_module

        executor = load_reward_module(sys.argv[4])._sandbox()[0]
    tests = {"inputs": [""], "outputs": ["never printed"]}
    executor.run("print(1)", tests)  # the sandbox probed and warm before the clock starts
    (barrier / f"ready-{rank}").touch()
    while len(list(barrier.glob("ready-*"))) < 2:
        time.sleep(0.01)
    program = sys.argv[5]
    count = int(sys.argv[6])
    requests = [ExecRequest(code=program + f"# {rank}-{i}\\n", tests=tests) for i in range(count)]
    results = executor.run_all(requests)
    print(json.dumps({"workers": executor.executor.config.workers, "feedback": [r.feedback for r in results]}))
    executor.close()
    """
)


def side_by_side(tmp_path: Path, kind: str, env: dict[str, str], module_dir: Path | None = None) -> list[dict]:
    """Start two processes on the same ``CORES`` cores, each running ``PROGRAMS`` programs on its
    own executor, and return what each reports."""
    cores = sorted(os.sched_getaffinity(0))[:CORES]
    if len(cores) < CORES:
        pytest.skip(f"needs {CORES} cores")
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    environ = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]), **env}
    args = [sys.executable, str(worker), kind, str(barrier)]
    processes = [
        subprocess.Popen(
            [*args, str(rank), str(module_dir or ""), PROGRAM, str(PROGRAMS)],
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: os.sched_setaffinity(0, cores),
        )
        for rank in range(2)
    ]
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=240)
        assert process.returncode == 0, err[-3000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def most_at_once(reports: list[dict]) -> int:
    """The largest number of programs running at one instant, from their printed start and end."""
    events = []
    for report in reports:
        for feedback in report["feedback"]:
            start, end = (float(x) for x in re.findall(r"\d{9,}\.\d+", feedback)[:2])
            events += [(start, 1), (end, -1)]
    assert len(events) == 2 * PROGRAMS * len(reports)
    running = peak = 0
    for _, change in sorted(events):  # an end before a start at the same instant
        running += change
        peak = max(peak, running)
    return peak


def test_a_process_takes_its_share_of_the_cores(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(16)))
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")
    assert workers_per_process() == 2
    assert workers_per_process(3) == 5
    assert workers_per_process(32) == 1  # never none
    monkeypatch.delenv("LOCAL_WORLD_SIZE")
    assert workers_per_process() == 16


def test_two_training_ranks_never_run_more_programs_than_cores(tmp_path):
    started = time.monotonic()
    reports = side_by_side(tmp_path, "train", {"LOCAL_WORLD_SIZE": "2"})
    assert [r["workers"] for r in reports] == [1, 1]
    assert most_at_once(reports) <= CORES
    assert time.monotonic() - started < 120


def test_two_verl_reward_workers_never_run_more_programs_than_cores(tmp_path, tiny_model_dir):
    from cobalt.train.verl_export import export_verl

    tests = Tests(inputs=["1\n"], outputs=["2\n"])
    dataset = tmp_path / "bandit.jsonl"
    example = BanditExample(id="p#0", prompt=[Message(role="user", content="x")], tests=tests,
                            prev_best_pass_rate=0.0, problem_id="p", turn=0)  # fmt: skip
    dataset.write_text(example.to_json() + "\n")
    out = tmp_path / "verl"
    export_verl(dataset, out, val=dataset, model=str(tiny_model_dir), length_encoding="", reward_workers=2)
    reports = side_by_side(tmp_path, "verl", {}, module_dir=out)
    assert [r["workers"] for r in reports] == [1, 1]
    assert most_at_once(reports) <= CORES


def test_cobalt_train_takes_the_sandbox_settings_from_its_flags(capsys):
    import yaml

    from cobalt.cli.main import main
    from cobalt.train.cobalt import training_executor
    from cobalt.train.config import TrainConfig

    argv = ["train", "--config", "paper-8b", "--sandbox-tier", "process", "--sandbox-allow-unsafe"]
    assert main([*argv, "--sandbox-workers", "3", "--print-config"]) == 0
    settings = yaml.safe_load(capsys.readouterr().out)
    config = training_executor(TrainConfig(**settings)).executor.config
    assert (config.tier, config.allow_unsafe, config.workers) == ("process", True, 3)
