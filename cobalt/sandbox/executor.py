"""The executor: runs programs on tests in sandboxes, many at once, and reports per-test verdicts.

Scheduling: at most ``workers`` programs run at once (one slot each, ``workers`` <= cores), at
most ``max_concurrent_launches`` sandboxes start at once, and :meth:`Executor.map` pulls requests
lazily so that a large batch never sits in memory (backpressure). Identical requests, which are
common among GRPO samples, are answered from a cache or share one run.

Failure handling never collapses per-test results:

* a sandbox that fails to start is an infrastructure fault: retried ``retries`` times, then the
  tests left are ``SE`` (sandbox error) and excluded from the pass rate;
* a zygote lost while a test runs (killed or stopped by the program, or a crash) is replaced by a
  fresh sandbox and the test is run again; lost a second time on the same test, the test is a
  runtime error — otherwise a program could turn its failing tests into uncounted ``SE``;
* the per-program budget only marks the tests it did not reach as ``TLE``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Any

from cobalt.records import ExecRequest, ExecResult, TestOutcome, Tests, Verdict
from cobalt.sandbox.compare import get_comparator
from cobalt.sandbox.config import Limits, SandboxConfig
from cobalt.sandbox.feedback import FailedTest, render_feedback
from cobalt.sandbox.isolation import Isolation, probe
from cobalt.sandbox.judge import Judged, judge_call, judge_stdio
from cobalt.sandbox.session import RawRun, Sandbox, SandboxStartError, SupervisorLost

log = logging.getLogger(__name__)

CALL_FLOAT_TOL = 1e-9


class _ProgramRun:
    """Runs one request's tests in order, replacing sandboxes as needed."""

    def __init__(self, executor: Executor, request: ExecRequest, limits: Limits):
        self.executor = executor
        self.request = request
        self.tests = request.tests
        self.limits = limits
        self.judged: list[Judged | None] = [None] * len(self.tests)
        self.compile_error: str | None = None
        self.sandbox: Sandbox | None = None
        self.start_failures = 0
        self.losses: dict[int, int] = {}
        self.started = 0.0
        self.cpu_waited = 0.0  # seconds the tests run so far waited for a CPU
        comparator = request.comparator or executor.config.comparator
        self.compare = get_comparator(comparator, float_tol=executor.config.float_tol)
        self.call_tol = executor.config.float_tol if comparator == "float" else CALL_FLOAT_TOL

    async def prepare(self) -> None:
        """Start the sandbox and load the program (done before a slot is taken, so that sandbox
        start-up overlaps other programs' tests)."""
        if self.tests.inputs:
            await self._ensure_sandbox()

    async def run(self) -> None:
        """Run every test; the sandbox is kept for :meth:`release`. The program's budget starts now,
        when it has its slot (not when it was queued)."""
        self.started = time.monotonic()
        index = 0
        while index < len(self.tests):
            if not await self._ensure_sandbox():
                self._fill(index, Verdict.SANDBOX_ERROR, "The sandbox could not be started.")
                return
            if self.compile_error is not None:
                self._fill(0, Verdict.COMPILE_ERROR, "Compile error.")
                return
            index = await self._run_from(index)
            if index < 0:
                return

    async def release(self) -> None:
        await self._drop_sandbox()

    def _over_budget(self) -> bool:
        """Whether the program has used up its budget: the wall time since it started, less the time
        its tests waited for a CPU (a loaded machine must not spend a program's budget)."""
        own_time = time.monotonic() - self.started - self.cpu_waited
        return own_time > self.limits.budget_s(len(self.tests))

    async def _run_from(self, index: int) -> int:
        """Run tests from ``index`` in the current sandbox. Returns the next test to run, or -1 when
        the program is finished (every test has its verdict)."""
        assert self.sandbox is not None
        stdins = [text.encode("utf-8", "surrogateescape") for text in self.tests.inputs[index:]]
        try:
            async with contextlib.aclosing(self.sandbox.run_tests(stdins)) as runs:
                async for raw in runs:
                    judged = self._judge(index, raw)
                    self.judged[index] = judged
                    self.cpu_waited += raw.cpu_wait_s
                    index += 1
                    if self.request.stop_on_first_failure and judged.outcome.verdict is not Verdict.ACCEPTED:
                        self._fill(index, Verdict.SKIPPED, "Not run: stopped at the first failure.")
                        return -1
                    if index < len(self.tests) and self._over_budget():
                        self._fill(index, Verdict.TIME_LIMIT, "The program's total time budget ran out first.")
                        return -1
                    if raw.unclean:
                        await self._drop_sandbox()  # a process survived clean-up: never reuse it
                        return index
        except SupervisorLost as err:
            await self._drop_sandbox()
            self.losses[index] = self.losses.get(index, 0) + 1
            if self.losses[index] < 2:
                log.info("sandbox lost on test %d (%s); running it again in a fresh one", index, err)
                return index
            detail = "Runtime error: the program killed or stopped its sandbox supervisor."
            self.judged[index] = Judged(TestOutcome(verdict=Verdict.RUNTIME_ERROR, detail=detail), "", "")
            return index + 1
        return -1 if index >= len(self.tests) else index

    async def _ensure_sandbox(self) -> bool:
        while self.sandbox is None:
            if self.start_failures > self.executor.config.retries:
                return False
            try:
                self.sandbox = await self.executor._start_sandbox(self.limits)
                self.compile_error = await self.sandbox.load(
                    self.request.code, self.tests.fn_name, self.executor.config.preimport
                )
            except (SandboxStartError, SupervisorLost) as err:
                self.start_failures += 1
                log.warning("sandbox start failed (attempt %d): %s", self.start_failures, err)
                await self._drop_sandbox()
                await asyncio.sleep(0.05 * 2**self.start_failures)
        return True

    def _judge(self, index: int, raw: RawRun) -> Judged:
        expected = self.tests.outputs[index]
        if self.tests.fn_name:
            return judge_call(raw, expected, self.limits, self.call_tol)
        return judge_stdio(raw, expected, self.tests.inputs[index], self.limits, self.compare)

    async def _drop_sandbox(self) -> None:
        sandbox, self.sandbox = self.sandbox, None
        if sandbox is not None:
            await sandbox.close()

    def _fill(self, start: int, verdict: Verdict, detail: str) -> None:
        for index in range(start, len(self.tests)):
            if self.judged[index] is None:
                self.judged[index] = Judged(TestOutcome(verdict=verdict, detail=detail), "", "")

    def result(self, tier: str) -> ExecResult:
        judged = [j or Judged(TestOutcome(verdict=Verdict.SANDBOX_ERROR), "", "") for j in self.judged]
        verdicts = [j.outcome.verdict for j in judged]
        passing = [v is Verdict.ACCEPTED for v in verdicts]
        errors = verdicts.count(Verdict.SANDBOX_ERROR)
        counted = len(verdicts) - errors
        first = next(
            (i for i, v in enumerate(verdicts) if v not in (Verdict.ACCEPTED, Verdict.SKIPPED, Verdict.SANDBOX_ERROR)),
            None,
        )
        return ExecResult(
            id=self.request.id,
            tier=tier,  # type: ignore[arg-type]
            verdicts=verdicts,
            passing=passing,
            pass_rate=sum(passing) / counted if counted else 0.0,
            feedback=self._feedback(first, judged),
            per_test=[j.outcome for j in judged],
            first_failure=first,
            sandbox_errors=errors,
        )

    def _feedback(self, first: int | None, judged: list[Judged]) -> str:
        if not self.tests.inputs:
            return "There were no tests to run."
        if first is None:
            if Verdict.SANDBOX_ERROR in (j.outcome.verdict for j in judged):
                return "The tests could not be run because of a sandbox error (not the program's fault)."
            return render_feedback(None)
        failed = judged[first]
        return render_feedback(
            FailedTest(
                verdict=failed.outcome.verdict,
                test_input=self.tests.inputs[first],
                expected=self.tests.outputs[first],
                output=failed.output,
                stderr=self.compile_error if self.compile_error is not None else failed.stderr,
                detail=failed.outcome.detail,
                timeout_s=self.limits.cpu_s,
            ),
            self.executor.config.feedback,
        )


class Executor:
    """Asynchronous, bounded-concurrency executor. Use as ``async with Executor() as ex:``.

    The isolation tier is probed on first use (once per process and configuration); when it is
    below the minimum and ``allow_unsafe`` is false, :class:`~cobalt.sandbox.SandboxUnavailable`
    is raised before any untrusted code runs.
    """

    def __init__(self, config: SandboxConfig | None = None, **overrides: Any):
        if config is None:
            config = SandboxConfig(**overrides)
        elif overrides:
            config = config.model_copy(update=overrides)
        self.config = config
        self._isolation: Isolation | None = None
        self._slots: asyncio.Semaphore | None = None
        self._launches: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._cache: OrderedDict[str, ExecResult] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[ExecResult]] = {}
        self.stats = {"programs": 0, "tests": 0, "cache_hits": 0, "sandboxes": 0}

    @property
    def isolation(self) -> Isolation:
        """How this host runs sandboxes, probed on first access; raises
        :class:`~cobalt.sandbox.SandboxUnavailable` when that is below the minimum and unsafe runs are not allowed."""
        if self._isolation is None:
            self._isolation = probe(self.config)
        return self._isolation

    @property
    def tier(self) -> str:
        """The isolation tier programs run under, ``bwrap`` or ``process`` (probing on first use)."""
        return self.isolation.tier

    async def __aenter__(self) -> Executor:
        await asyncio.to_thread(lambda: self.isolation)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Nothing outlives a program; kept so that callers can close executors uniformly."""

    # -- public API ----------------------------------------------------------------------------

    async def run(
        self,
        code: str,
        tests: Tests | dict | str,
        *,
        comparator: str | None = None,
        stop_on_first_failure: bool = False,
        id: str | None = None,
    ) -> ExecResult:
        """Run ``code`` on ``tests`` (a :class:`Tests` or its common JSON form)."""
        tests = tests if isinstance(tests, Tests) else Tests.model_validate(tests)
        request = ExecRequest(
            id=id, code=code, tests=tests, comparator=comparator, stop_on_first_failure=stop_on_first_failure
        )
        return await self.run_request(request)

    async def run_request(self, request: ExecRequest) -> ExecResult:
        """Run one request. An unknown comparator raises ``ValueError`` before anything runs.

        A request identical to one already run or in flight (same program, tests, comparator and limits)
        shares its result, marked ``cached`` and carrying this request's id; results with sandbox errors
        are never cached.
        """
        get_comparator(request.comparator or self.config.comparator)  # unknown names fail here, loudly
        key = self._cache_key(request)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self.stats["cache_hits"] += 1
            return cached.model_copy(update={"id": request.id, "cached": True})
        pending = self._inflight.get(key)
        if pending is not None:
            self.stats["cache_hits"] += 1
            result = await asyncio.shield(pending)
            return result.model_copy(update={"id": request.id, "cached": True})
        future: asyncio.Future[ExecResult] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await self._execute(request)
            future.set_result(result)
        except BaseException as err:
            future.set_exception(err)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must
            raise
        finally:
            del self._inflight[key]
        if result.sandbox_errors == 0 and self.config.cache_size:
            self._cache[key] = result
            if len(self._cache) > self.config.cache_size:
                self._cache.popitem(last=False)
        return result

    async def map(
        self,
        requests: Iterable[ExecRequest] | AsyncIterable[ExecRequest],
        *,
        max_in_flight: int | None = None,
    ) -> AsyncIterator[tuple[int, ExecResult]]:
        """Yield ``(index, result)`` as programs finish, pulling requests only as slots free up."""
        limit = max_in_flight or self.default_in_flight()
        pending: set[asyncio.Task] = set()

        async def indexed(i: int, req: ExecRequest) -> tuple[int, ExecResult]:
            return i, await self.run_request(req)

        try:
            async for i, request in _aenumerate(requests):
                pending.add(asyncio.ensure_future(indexed(i, request)))
                if len(pending) >= limit:
                    done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        yield task.result()
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    yield task.result()
        finally:
            for task in pending:
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(*pending, return_exceptions=True)

    def default_in_flight(self) -> int:
        """Requests :meth:`map` keeps in flight by default: twice the slots, so that the next programs'
        sandboxes start while the current ones run."""
        return 2 * self.config.workers

    async def run_all(self, requests: Iterable[ExecRequest]) -> list[ExecResult]:
        """Run every request; results in the order of the requests."""
        requests = list(requests)
        results: list[ExecResult | None] = [None] * len(requests)
        async for i, result in self.map(requests):
            results[i] = result
        return results  # type: ignore[return-value]

    # -- internals -----------------------------------------------------------------------------

    def _cache_key(self, request: ExecRequest) -> str:
        digest = hashlib.sha256()
        for part in (
            request.code,
            request.tests.model_dump_json(),
            request.comparator or self.config.comparator,
            str(request.stop_on_first_failure),
            self.config.limits.model_dump_json(),
            str(self.config.float_tol),
        ):
            digest.update(part.encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
        return digest.hexdigest()

    def _semaphores(self) -> tuple[asyncio.Semaphore, asyncio.Semaphore]:
        # Made per event loop, so that one executor (and its result cache) can serve several
        # `asyncio.run` calls one after another.
        loop = asyncio.get_running_loop()
        if self._slots is None or self._launches is None or self._loop is not loop:
            self._slots = asyncio.Semaphore(self.config.workers)
            self._launches = asyncio.Semaphore(self.config.max_concurrent_launches)
            self._loop = loop
        return self._slots, self._launches

    async def _start_sandbox(self, limits: Limits) -> Sandbox:
        _, launches = self._semaphores()
        sandbox = Sandbox(self.isolation, limits)
        async with launches:
            await sandbox.start()
        self.stats["sandboxes"] += 1
        return sandbox

    async def _execute(self, request: ExecRequest) -> ExecResult:
        isolation = self.isolation
        slots, _ = self._semaphores()
        program = _ProgramRun(self, request, self.config.limits)
        try:
            await program.prepare()
            async with slots:
                await program.run()
        finally:
            await program.release()
        self.stats["programs"] += 1
        self.stats["tests"] += len(request.tests)
        return program.result(isolation.tier)


async def _aenumerate(items: Iterable[Any] | AsyncIterable[Any]) -> AsyncIterator[tuple[int, Any]]:
    if isinstance(items, AsyncIterable):
        i = 0
        async for item in items:
            yield i, item
            i += 1
    else:
        for i, item in enumerate(items):
            yield i, item
