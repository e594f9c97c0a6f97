"""A loaded machine does not change verdicts: a test's wall limit counts the program's own time, not
the time it waited for a CPU, and a program's budget starts when it starts (docs/sandbox.md, Limits)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from cobalt.records import Tests, Verdict
from cobalt.sandbox import Limits, SandboxConfig, SyncExecutor

CORE = min(os.sched_getaffinity(0))
# Pinned to the busy core, the program gets a third of it: ~1.8 s of wall time for 0.6 s of CPU,
# past its 1 s wall limit, though well within its 1 s of CPU.
BURN_ON_THE_BUSY_CORE = (
    f"import os, time\nos.sched_setaffinity(0, {{{CORE}}})\n"
    "start = time.process_time()\nwhile time.process_time() - start < 0.6:\n    pass\nprint('done')\n"
)


@contextlib.contextmanager
def two_busy_loops_on_one_core() -> Iterator[None]:
    # Each in a session of its own: with autogroup scheduling, CPU is shared between sessions first.
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True) for _ in range(2)]
    try:
        for loop in loops:
            os.sched_setaffinity(loop.pid, {CORE})
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


@pytest.fixture(scope="module")
def tight_wall():
    with SyncExecutor(SandboxConfig(limits=Limits(cpu_s=1, wall_s=1, memory_mb=256), cache_size=0)) as executor:
        yield executor


def test_waiting_for_a_cpu_is_not_a_time_limit(tight_wall):
    tests = Tests(inputs=["", ""], outputs=["done\n", "done\n"])
    with two_busy_loops_on_one_core():
        result = tight_wall.run(BURN_ON_THE_BUSY_CORE, tests)
    assert result.verdicts == [Verdict.ACCEPTED] * 2, result.feedback
    outcome = result.per_test[0]
    assert outcome.wall_s > 1.0 and outcome.cpu_s < 1.0  # it did run past its wall limit


def test_sleeping_under_load_is_still_stopped_at_the_wall_limit(tight_wall):
    with two_busy_loops_on_one_core():
        result = tight_wall.run("import time\ntime.sleep(100)\n", Tests(inputs=[""], outputs=[""]))
    assert result.verdicts == [Verdict.TIME_LIMIT]
    assert 0.9 <= result.per_test[0].wall_s < 2.0


def test_a_cpu_hog_under_load_is_a_cpu_time_limit(tight_wall):
    code = f"import os\nos.sched_setaffinity(0, {{{CORE}}})\nwhile True:\n    pass\n"
    with two_busy_loops_on_one_core():
        result = tight_wall.run(code, Tests(inputs=[""], outputs=[""]))
    assert result.verdicts == [Verdict.TIME_LIMIT]
    assert result.per_test[0].wall_s <= Limits(cpu_s=1, wall_s=1).longest_wall_s + 0.5
