"""The executor's batch API: ordering, backpressure, concurrency bound, cache, retries."""

from __future__ import annotations

import asyncio

import pytest

from cobalt.records import ExecRequest, Tests, Verdict
from cobalt.sandbox import Executor, Limits, SandboxConfig, SyncExecutor
from cobalt.sandbox import executor as executor_module
from cobalt.sandbox.session import Sandbox, SandboxStartError

LIMITS = Limits(cpu_s=1, wall_s=3, memory_mb=512)
TESTS = Tests(inputs=["1\n", "2\n"], outputs=["2\n", "3\n"])


def request(i: int, code: str = "print(int(input()) + 1)\n") -> ExecRequest:
    return ExecRequest(id=f"r{i}", code=f"{code}# {i}\n", tests=TESTS)


def test_run_all_keeps_request_order_and_ids():
    with SyncExecutor(limits=LIMITS, cache_size=0) as ex:
        slow_first = [request(0, "import time\ntime.sleep(0.4)\nprint(int(input()) + 1)\n")]
        results = ex.run_all(slow_first + [request(i) for i in range(1, 6)])
    assert [r.id for r in results] == [f"r{i}" for i in range(6)]
    assert all(r.all_passed for r in results)


def test_map_pulls_requests_lazily():
    pulled, seen_in_flight = [], []

    def requests():
        for i in range(30):
            pulled.append(i)
            yield request(i)

    async def main():
        async with Executor(limits=LIMITS, cache_size=0, workers=2) as ex:
            done = 0
            async for _, result in ex.map(requests(), max_in_flight=4):
                done += 1
                seen_in_flight.append(len(pulled) - done)
                assert result.all_passed

    asyncio.run(main())
    assert len(pulled) == 30
    assert max(seen_in_flight) <= 4


def test_no_more_programs_run_at_once_than_workers(monkeypatch):
    running, peak = [0], [0]
    original = executor_module._ProgramRun.run

    async def counted(self):
        running[0] += 1
        peak[0] = max(peak[0], running[0])
        try:
            await original(self)
        finally:
            running[0] -= 1

    monkeypatch.setattr(executor_module._ProgramRun, "run", counted)
    with SyncExecutor(limits=LIMITS, cache_size=0, workers=2) as ex:
        ex.run_all([request(i, "import time\ntime.sleep(0.05)\nprint(int(input()) + 1)\n") for i in range(12)])
    assert peak[0] == 2


def test_identical_requests_run_once():
    with SyncExecutor(limits=LIMITS) as ex:
        results = ex.run_all([request(0)] * 5)
        again = ex.run(request(0).code, TESTS)
        stats = ex.executor.stats
    assert all(r.all_passed for r in results) and again.cached
    assert stats["programs"] == 1 and stats["cache_hits"] == 5


def test_sandbox_start_failures_are_retried(monkeypatch):
    failures = [2]
    original = Sandbox.start

    async def flaky_start(self):
        if failures[0] > 0:
            failures[0] -= 1
            raise SandboxStartError("simulated start failure")
        await original(self)

    monkeypatch.setattr(Sandbox, "start", flaky_start)
    monkeypatch.setattr(executor_module.asyncio, "sleep", _no_sleep)
    with SyncExecutor(limits=LIMITS, cache_size=0) as ex:
        result = ex.run(request(0).code, TESTS)
    assert result.verdicts == [Verdict.ACCEPTED, Verdict.ACCEPTED]
    assert result.sandbox_errors == 0


def test_a_sandbox_that_never_starts_gives_sandbox_errors_not_failures(monkeypatch):
    async def broken_start(self):
        raise SandboxStartError("simulated start failure")

    monkeypatch.setattr(Sandbox, "start", broken_start)
    monkeypatch.setattr(executor_module.asyncio, "sleep", _no_sleep)
    with SyncExecutor(limits=LIMITS) as ex:
        result = ex.run(request(0).code, TESTS)
        assert ex.executor.stats["programs"] == 1
        ex.run(request(0).code, TESTS)
        assert ex.executor.stats["cache_hits"] == 0  # results with sandbox errors are never cached
    assert result.verdicts == [Verdict.SANDBOX_ERROR, Verdict.SANDBOX_ERROR]
    assert result.sandbox_errors == 2 and result.pass_rate == 0.0
    assert "not the program's fault" in result.feedback


async def _no_sleep(_seconds: float) -> None:
    return None


def test_unknown_comparator_fails_before_running():
    with SyncExecutor(limits=LIMITS) as ex, pytest.raises(ValueError, match="unknown comparator"):
        ex.run("print(1)\n", TESTS, comparator="fuzzy")


def test_program_without_tests():
    with SyncExecutor(limits=LIMITS) as ex:
        result = ex.run("print(1)\n", Tests(inputs=[], outputs=[]))
    assert result.verdicts == [] and not result.all_passed and result.pass_rate == 0.0
    assert result.feedback == "There were no tests to run."


def test_sync_executor_works_inside_a_running_event_loop():
    async def caller():
        with SyncExecutor(limits=LIMITS) as ex:
            return ex.run(request(0).code, TESTS)

    assert asyncio.run(caller()).all_passed


def test_per_problem_comparator_applies(executor=None):
    config = SandboxConfig(limits=LIMITS)
    with SyncExecutor(config) as ex:
        lenient = ex.run("print('YES')\n", Tests(inputs=[""], outputs=["yes\n"]), comparator="case_insensitive")
        strict = ex.run("print('YES')\n", Tests(inputs=[""], outputs=["yes\n"]))
    assert lenient.all_passed and not strict.all_passed


def test_one_executor_serves_several_event_loops_and_keeps_its_cache():
    executor = Executor(limits=LIMITS)

    async def once():
        return await executor.run(request(0).code, TESTS)

    first, second = asyncio.run(once()), asyncio.run(once())
    assert first.all_passed and second.all_passed and second.cached
