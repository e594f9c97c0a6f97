"""Collect multi-turn trajectories: sample programs, run them, feed the results back, repeat.

Each of the ``n`` first answers to a problem starts its own trajectory. A turn is: read the program
(the answer's last fenced block), run it on the **public** tests, send back the first failing test
(or the all-passed message, or the no-code message) inside the repair instruction, and ask for the
next program; ``turns`` repair turns follow the first attempt, always all of them, even after the
public tests pass (docs/paper.md §6). Every turn's program is also scored on the **hidden** tests,
which the policy never sees.

How the work is scheduled (the reason this module exists rather than a loop per turn):

* every trajectory is a coroutine that reads top to bottom like the protocol above;
* a generation loop gathers the requests of *all* trajectories in flight into batches (up to
  ``generation_batch`` sequences, requests of equal ``n`` together), so while one batch
  generates, the programs of the previous batch run their tests: generation and execution overlap.
  Before a call it waits (at most ``batch_wait_s``) for trajectories whose public tests are still
  running, because a generate call costs nearly as much for a few sequences as for a full batch;
  it never waits when no trajectory is running tests;
* execution goes through a priority gate: public-test runs (which the next generation waits for)
  go before hidden-test scoring (which nothing waits for); at most ``2 x workers`` programs are
  handed to the executor at once, so sandboxes start while others run;
* at most ``max_active_problems`` problems are in flight; a trajectory is appended to the output
  (flushed and fsynced) the moment its last turn is scored, so a killed run loses only trajectories
  in flight, and a restarted run skips every (problem, sample, condition) already written.

Differences from the reference release, and why: the reference runs one script per turn over the
whole dataset (generate everything, then execute everything), which leaves the GPU idle while tests
run and the sandbox idle while the model generates; here both stay busy. The reference scores hidden
tests in a separate pass; here they are scored as soon as each program exists, at low priority. The
written conversation ends with the feedback on the last turn (so a bandit builder can also use the
prompt that asks for one more repair). Trajectories are written in completion order, not problem
order; ``(problem_id, sample, condition)`` identifies each.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import os
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cobalt.jsonl import InputError, JsonlWriter, iter_jsonl, read_records
from cobalt.records import ExecRequest, ExecResult, Message, Problem, Tests, Trajectory, Turn
from cobalt.rollout import manifest as manifests
from cobalt.rollout.config import RolloutConfig
from cobalt.rollout.policy import Completion, Policy
from cobalt.rollout.prompts import (
    execution_feedback,
    extract_code,
    initial_messages,
    repair_message,
    visible_answer,
)
from cobalt.sandbox import Executor, make_executor

log = logging.getLogger(__name__)

PUBLIC, HIDDEN = 0, 1  # execution priorities: lower runs first

# progress(event, amount): "total" (trajectories to do, once at the start), "generated"
# (sequences), "tokens" (generated so far, reported while a long generate call still runs, by the
# engines that can tell; called from the generating thread), "turn" (a turn's program ran its
# public tests), "trajectory" and "problem" (finished and written).
Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class Attempt:
    """One answer as the trajectory keeps it."""

    completion: str  # what is stored for the turn (the visible answer)
    code: str | None
    completion_tokens: int | None = None


@dataclass
class RolloutStats:
    """What a rollout did and where its time went (``*_busy_s``: time with at least one call or
    program in flight; ``both_busy_s``: time with both)."""

    problems: int = 0
    trajectories: int = 0
    already_done: int = 0
    generate_calls: int = 0
    sequences: int = 0
    public_runs: int = 0
    hidden_runs: int = 0
    wall_s: float = 0.0
    generator_busy_s: float = 0.0
    executor_busy_s: float = 0.0
    both_busy_s: float = 0.0
    executor_only_s: float = 0.0  # the generator had nothing to do while programs ran
    usage: dict[str, int] = field(default_factory=dict)

    @property
    def generator_idle_share(self) -> float:
        """The share of wall time with no generate call in flight (0 before any time was measured)."""
        return 1.0 - self.generator_busy_s / self.wall_s if self.wall_s else 0.0

    @property
    def executor_idle_share(self) -> float:
        """The share of wall time with no program in flight (0 before any time was measured)."""
        return 1.0 - self.executor_busy_s / self.wall_s if self.wall_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The statistics as a JSON-ready dict, with both idle shares added (rounded to 4 places)."""
        data = {k: v for k, v in self.__dict__.items()}
        data["generator_idle_share"] = round(self.generator_idle_share, 4)
        data["executor_idle_share"] = round(self.executor_idle_share, 4)
        return data


class ActivityClock:
    """Time during which the generator, the executor, both or neither had work in flight."""

    def __init__(self) -> None:
        self.active = {"generate": 0, "execute": 0}
        self.seconds: dict[tuple[bool, bool], float] = defaultdict(float)
        self._last = time.monotonic()

    def _advance(self) -> None:
        now = time.monotonic()
        self.seconds[(self.active["generate"] > 0, self.active["execute"] > 0)] += now - self._last
        self._last = now

    @contextlib.contextmanager
    def busy(self, what: str) -> Iterator[None]:
        self._advance()
        self.active[what] += 1
        try:
            yield
        finally:
            self._advance()
            self.active[what] -= 1

    def fill(self, stats: RolloutStats) -> None:
        self._advance()
        s = self.seconds
        stats.wall_s = sum(s.values())
        stats.generator_busy_s = s[(True, False)] + s[(True, True)]
        stats.executor_busy_s = s[(False, True)] + s[(True, True)]
        stats.both_busy_s = s[(True, True)]
        stats.executor_only_s = s[(False, True)]


class PriorityGate:
    """At most ``capacity`` holders at once; waiters are served by (priority, arrival).

    Priority 0 is always admitted when a slot is free; higher (deferrable) priorities only while
    ``admits_deferred()`` is true. Call :meth:`poke` when that may have become true.
    """

    def __init__(self, capacity: int, admits_deferred: Callable[[], bool] = lambda: True):
        self._free = capacity
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._arrival = itertools.count()
        self._admits_deferred = admits_deferred

    @contextlib.asynccontextmanager
    async def slot(self, priority: int) -> AsyncIterator[None]:
        """Hold one slot for the ``async with`` block, once every waiter ahead in (priority, arrival) order
        has been served; a cancelled waiter gives up its place, or passes on a slot handed to it."""
        await self._acquire(priority)
        try:
            yield
        finally:
            self._release()

    def poke(self) -> None:
        """Hand free slots to waiters again: call it when ``admits_deferred()`` may have become true."""
        self._dispatch()

    async def _acquire(self, priority: int) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (priority, next(self._arrival), future))
        self._dispatch()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._release()  # the slot was handed over just before the cancellation: pass it on
            raise

    def _release(self) -> None:
        self._free += 1
        self._dispatch()

    def _dispatch(self) -> None:
        while self._free > 0 and self._waiters:
            priority, _, future = self._waiters[0]
            if future.done():  # its task was cancelled while waiting
                heapq.heappop(self._waiters)
                continue
            if priority > 0 and not self._admits_deferred():
                return  # the heap is ordered: every waiter left is deferrable too
            heapq.heappop(self._waiters)
            self._free -= 1
            future.set_result(None)


@dataclass
class _GenerationRequest:
    messages: list[Message]
    n: int
    future: asyncio.Future[list[Completion]]


class GenerationQueue:
    """Requests for completions from every trajectory in flight, taken in batches.

    ``coming`` says how many trajectories are busy elsewhere (running their public tests) and will
    post a request soon; :meth:`take` may wait for them so that one call generates for many
    trajectories instead of several calls for a few (a generate call costs nearly as much for one
    sequence as for a full batch). Call :meth:`notify` when that number drops.
    """

    def __init__(self, coming: Callable[[], int] = lambda: 0) -> None:
        self._items: deque[_GenerationRequest] = deque()
        self._changed = asyncio.Event()
        self._coming = coming

    async def request(self, messages: Sequence[Message], n: int) -> list[Completion]:
        """Post a request for ``n`` completions of ``messages`` and wait for them; a failed generate call
        raises its error here."""
        future: asyncio.Future[list[Completion]] = asyncio.get_running_loop().create_future()
        self._items.append(_GenerationRequest(list(messages), n, future))
        self._changed.set()
        return await future

    def notify(self) -> None:
        """Wake a waiting :meth:`take`: call it when the number of trajectories still coming drops."""
        self._changed.set()

    async def take(self, max_sequences: int, max_wait_s: float = 0.0) -> list[_GenerationRequest]:
        """The oldest waiting request and every later one with the same ``n`` that fits in
        ``max_sequences`` (always at least one request). Waits while the queue is empty; then, for
        at most ``max_wait_s``, while the batch is not full and more requests are coming."""
        while True:
            while self._items and self._items[0].future.done():  # its trajectory was cancelled
                self._items.popleft()
            if self._items:
                break
            self._changed.clear()
            await self._changed.wait()
        await self._fill(max_sequences, max_wait_s)
        n = self._items[0].n
        batch: list[_GenerationRequest] = []
        rest: deque[_GenerationRequest] = deque()
        for item in self._items:
            if item.future.done():
                continue
            if item.n == n and (not batch or (len(batch) + 1) * n <= max_sequences):
                batch.append(item)
            else:
                rest.append(item)
        self._items = rest
        return batch

    async def _fill(self, max_sequences: int, max_wait_s: float) -> None:
        await asyncio.sleep(0)  # requests posted in this same tick always join
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max_wait_s
        while sum(item.n for item in self._items) < max_sequences and self._coming() > 0:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                return


class Turn0Source:
    """First answers of an earlier run, reused so that several conditions start from the same
    programs (docs/paper.md §6). Keyed by (problem id, sample); the ``original`` condition wins when
    the file holds several."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._attempts: dict[tuple[str, int], tuple[str, Attempt]] = {}
        for number, trajectory in read_records(self.path, Trajectory):
            if not trajectory.turns:
                raise InputError(self.path, "a trajectory without turns", line=number, field="turns")
            key = (trajectory.problem_id, trajectory.sample)
            known = self._attempts.get(key)
            if known is not None and (known[0] == "original" or trajectory.condition != "original"):
                continue
            first = trajectory.turns[0]
            attempt = Attempt(first.completion, first.code, first.completion_tokens)
            self._attempts[key] = (trajectory.condition, attempt)
        if not self._attempts:
            raise InputError(self.path, "the file holds no trajectories to take turn-0 answers from")

    def attempt(self, problem_id: str, sample: int) -> Attempt:
        """The stored first answer of ``sample`` of a problem; raises :class:`~cobalt.jsonl.InputError`
        when the file has none."""
        found = self._attempts.get((problem_id, sample))
        if found is None:
            raise InputError(self.path, f"no turn-0 answer for problem {problem_id!r}, sample {sample}")
        return found[1]

    def check_covers(self, problems: Iterable[Problem], n: int) -> None:
        """Raise :class:`~cobalt.jsonl.InputError` unless the file holds a first answer for samples 0 to
        ``n - 1`` of every problem, so that a run fails before it starts rather than midway."""
        for problem in problems:
            for sample in range(n):
                self.attempt(problem.id, sample)


class _Rollout:
    """One rollout's shared state: the queue, the gate, the clock and the output."""

    def __init__(
        self,
        config: RolloutConfig,
        policy: Policy,
        executor: Executor,
        writer: JsonlWriter,
        turn0: Turn0Source | None,
        progress: Progress | None,
    ):
        self.config = config
        self.policy = policy
        self.executor = executor
        self.writer = writer
        self.turn0 = turn0
        self.progress = progress or (lambda event, amount: None)
        self.running_public = 0  # trajectories running public tests: each posts a request next
        self.queue = GenerationQueue(coming=lambda: self.running_public)
        # Hidden-test scoring is deferred while the model generates when both share the CPU (the
        # tiny model on a laptop): there, overlapping only makes the two fight for the same cores.
        defer = config.defer_hidden_during_generation
        if defer is None:
            defer = policy.runs_on_cpu
        self.gate = PriorityGate(
            2 * executor.config.workers, admits_deferred=lambda: not defer or self.clock.active["generate"] == 0
        )
        self.clock = ActivityClock()
        self.stats = RolloutStats()

    async def run(self, todo: Iterable[tuple[Problem, list[int]]]) -> RolloutStats:
        calls = max(1, self.policy.max_concurrent_calls)
        generators = [asyncio.create_task(self._generation_loop()) for _ in range(calls)]
        # A generate call of a CPU model can take minutes: let the engine report tokens meanwhile,
        # so that a slow run can be told from a hung one.
        reporting = self.policy.token_progress
        self.policy.token_progress = lambda tokens: self.progress("tokens", tokens)
        try:
            await self._run_problems(todo)
        finally:
            self.policy.token_progress = reporting
            for task in generators:
                task.cancel()
            await asyncio.gather(*generators, return_exceptions=True)
            self.clock.fill(self.stats)
            self.stats.usage = self.policy.usage.as_dict()
        return self.stats

    async def _run_problems(self, todo: Iterable[tuple[Problem, list[int]]]) -> None:
        running: set[asyncio.Task[None]] = set()
        try:
            for problem, samples in todo:
                while len(running) >= self.config.active_problems():
                    running = await _wait_first(running)
                running.add(asyncio.create_task(self._run_problem(problem, samples)))
            while running:
                running = await _wait_first(running)
        except BaseException:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            raise

    async def _generation_loop(self) -> None:
        wait_s = self.config.batch_wait_s if self.policy.prefers_full_batches else 0.0
        while True:
            batch = await self.queue.take(self.config.generation_batch, wait_s)
            params = self.config.sampling.with_n(batch[0].n)
            try:
                with self.clock.busy("generate"):
                    results = await self.policy.agenerate([r.messages for r in batch], params)
            except Exception as err:
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(err)
                continue
            finally:
                self.gate.poke()  # deferred scoring may run while the generator is idle
            self.stats.generate_calls += 1
            self.stats.sequences += len(batch) * batch[0].n
            self.progress("generated", len(batch) * batch[0].n)
            for request, completions in zip(batch, results):
                if not request.future.done():
                    request.future.set_result(completions)

    async def _run_problem(self, problem: Problem, samples: list[int]) -> None:
        firsts = await self._first_attempts(problem, samples)
        await asyncio.gather(*(self._run_trajectory(problem, s, a) for s, a in zip(samples, firsts)))
        self.stats.problems += 1
        self.progress("problem", 1)

    async def _first_attempts(self, problem: Problem, samples: list[int]) -> list[Attempt]:
        if self.turn0 is not None:
            return [self.turn0.attempt(problem.id, sample) for sample in samples]
        completions = await self.queue.request(initial_messages(problem, self.config.system_prompt), n=len(samples))
        return [self._read(c) for c in completions]

    def _read(self, completion: Completion) -> Attempt:
        reasoning = self.config.reasoning
        return Attempt(
            completion=visible_answer(completion.text, reasoning, self.config.max_turn_chars),
            code=extract_code(completion.text, reasoning),
            completion_tokens=completion.completion_tokens,
        )

    async def _run_trajectory(self, problem: Problem, sample: int, attempt: Attempt) -> None:
        messages = initial_messages(problem, self.config.system_prompt)
        drafts: list[dict[str, Any]] = []
        hidden_scores: list[asyncio.Task[ExecResult | None]] = []
        try:
            for index in range(self.config.turns + 1):
                if index > 0:
                    [completion] = await self.queue.request(messages, n=1)
                    attempt = self._read(completion)
                messages.append(Message(role="assistant", content=attempt.completion))
                hidden_scores.append(asyncio.create_task(self._score_hidden(problem, attempt.code)))
                public = await self._run_public(problem, attempt.code)
                self.progress("turn", 1)
                feedback = repair_message(execution_feedback(public), self.config.repair_template)
                messages.append(Message(role="user", content=feedback))
                drafts.append(
                    {
                        "index": index,
                        "completion": attempt.completion,
                        "code": attempt.code,
                        "public": public,
                        "feedback": feedback,
                        "completion_tokens": attempt.completion_tokens,
                    }
                )
            hidden = await asyncio.gather(*hidden_scores)
        except BaseException:
            for task in hidden_scores:
                task.cancel()
            await asyncio.gather(*hidden_scores, return_exceptions=True)
            raise
        turns = [Turn(**draft, **_hidden_fields(result, draft["code"])) for draft, result in zip(drafts, hidden)]
        self.writer.write(
            Trajectory(
                problem_id=problem.id,
                sample=sample,
                condition=self.config.condition,
                messages=messages,
                turns=turns,
                num_public_tests=len(problem.public_tests),
                num_hidden_tests=len(problem.hidden_tests),
                meta=self._meta(),
            )
        )
        self.stats.trajectories += 1
        self.progress("trajectory", 1)

    def _meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {"model": self.config.policy.model, "engine": self.config.policy.engine}
        if self.config.turn0_from:
            meta["turn0_from"] = self.config.turn0_from
        return meta

    async def _run_public(self, problem: Problem, code: str | None) -> ExecResult | None:
        if code is None:
            return None
        self.stats.public_runs += 1
        self.running_public += 1
        try:
            return await self._execute(code, problem.public_tests, problem.comparator, PUBLIC)
        finally:
            self.running_public -= 1
            self.queue.notify()

    async def _score_hidden(self, problem: Problem, code: str | None) -> ExecResult | None:
        if code is None or not self.config.score_hidden or not len(problem.hidden_tests):
            return None
        self.stats.hidden_runs += 1
        return await self._execute(code, problem.hidden_tests, problem.comparator, HIDDEN)

    async def _execute(self, code: str, tests: Tests, comparator: str | None, priority: int) -> ExecResult:
        # Public runs are complete (no stop at the first failure): the combined pass rate the
        # bandit builder and the reward use counts every public test.
        request = ExecRequest(code=code, tests=tests, comparator=comparator)
        async with self.gate.slot(priority):
            with self.clock.busy("execute"):
                return await self.executor.run_request(request)


def _hidden_fields(result: ExecResult | None, code: str | None) -> dict[str, Any]:
    """An answer without code scores 0 on the hidden tests; an unscored program has no score."""
    if result is not None:
        return {"hidden_pass_rate": result.pass_rate, "hidden_verdicts": list(result.verdicts)}
    if code is None:
        return {"hidden_pass_rate": 0.0, "hidden_verdicts": None}
    return {"hidden_pass_rate": None, "hidden_verdicts": None}


async def _wait_first(running: set[asyncio.Task[None]]) -> set[asyncio.Task[None]]:
    done, pending = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        task.result()  # re-raise the first failure
    return pending


# --- entry points -------------------------------------------------------------------------------


def trajectory_key(problem_id: str, sample: int, condition: str) -> str:
    """The identity of a trajectory in an output file (``problem_id#sample#condition``): a resumed run
    skips the keys already written."""
    return f"{problem_id}#{sample}#{condition}"


def finished_keys(path: str | os.PathLike) -> set[str]:
    """Keys of the trajectories already in an output file (after a torn last line was cut)."""
    path = Path(path)
    if not path.exists():
        return set()
    keys = set()
    for number, data in iter_jsonl(path):
        try:
            keys.add(trajectory_key(data["problem_id"], data["sample"], data.get("condition", "original")))
        except (KeyError, TypeError):
            raise InputError(path, "not a trajectory record", line=number) from None
    return keys


def pending_work(
    problems: Iterable[Problem], done: set[str], n: int, condition: str
) -> Iterator[tuple[Problem, list[int]]]:
    """(problem, samples still to do) for every problem with work left."""
    for problem in problems:
        missing = [s for s in range(n) if trajectory_key(problem.id, s, condition) not in done]
        if missing:
            yield problem, missing


def conditioned_problems(
    problems: Sequence[Problem], condition: str, source: str | os.PathLike = "problems"
) -> Sequence[Problem]:
    """The problems as ``condition`` runs them: unchanged for ``original``; for ``perturbed``, with
    the perturbed public tests (:func:`cobalt.data.perturb.perturbed_problems`, which refuses a
    problem that has none)."""
    if condition != "perturbed":
        return problems
    from cobalt.data.perturb import perturbed_problems  # the data package is only needed here

    return perturbed_problems(problems, source)


def check_problems(problems: Sequence[Problem], source: str | os.PathLike = "problems") -> None:
    """Refuse duplicate ids; warn about problems that cannot give feedback or a score."""
    seen: set[str] = set()
    for problem in problems:
        if problem.id in seen:
            raise InputError(source, f"duplicate problem id {problem.id!r}", field="id")
        seen.add(problem.id)
    no_public = sum(1 for p in problems if not len(p.public_tests))
    no_hidden = sum(1 for p in problems if not len(p.hidden_tests))
    if no_public:
        log.warning("%d problem(s) have no public tests: their feedback will only say so", no_public)
    if no_hidden:
        log.warning("%d problem(s) have no hidden tests: evaluation will leave them out", no_hidden)


def _check_resumable(path: Path, config: RolloutConfig, has_output: bool) -> dict[str, Any] | None:
    previous = manifests.read_manifest(path)
    if previous is None or not has_output:
        return None
    before = recorded_config(previous["config"]).identity() if "config" in previous else {}
    changed = [(key, before[key], value) for key, value in config.identity().items() if before.get(key, value) != value]
    if changed:
        what = "; ".join(f"{key}={old!r}, now {new!r}" for key, old, new in changed)
        raise InputError(
            path,
            f"the output was started with other settings ({what}): use a new output file, or start over (--overwrite)",
            field=changed[0][0],
        )
    return previous


# What a manifest written before these settings existed ran with: resuming such a run under the
# newer defaults would mix two comparisons and two feedback layouts in one output.
_SETTINGS_BEFORE_RECORDED = {"comparator": "lines", "feedback": "cobalt"}


def recorded_config(data: dict[str, Any]) -> RolloutConfig:
    """The configuration a manifest records, with the sandbox settings older manifests lack filled in
    with what those runs used."""
    sandbox = {**_SETTINGS_BEFORE_RECORDED, **(data.get("sandbox") or {})}
    return RolloutConfig.model_validate({**data, "sandbox": sandbox})


async def collect(
    problems: Sequence[Problem],
    policy: Policy,
    config: RolloutConfig,
    out: str | os.PathLike,
    *,
    executor: Executor | None = None,
    progress: Progress | None = None,
    resume: bool = True,
    source: str | os.PathLike = "problems",
) -> RolloutStats:
    """Roll ``policy`` out on ``problems`` and append one :class:`Trajectory` per (problem, sample)
    to the JSONL file ``out``, with a manifest beside it.

    With ``resume`` (the default) trajectories already in ``out`` are kept and skipped, provided the
    manifest's output-deciding settings match ``config``; otherwise the file starts afresh. An
    ``executor`` may be shared with the caller; by default one is made from ``config.sandbox``.
    The policy is not closed. Raises :class:`~cobalt.jsonl.InputError` on bad input (errors name
    ``source``, the problems file) and :class:`~cobalt.rollout.policy.PolicyError` when the engine
    fails for good.

    Under ``condition: perturbed`` every problem runs on its perturbed public tests
    (``meta.perturbation``, from ``cobalt data perturb`` or TACO-Cobalt-PTB); its hidden tests are
    unchanged. A problem without a perturbation is an ``InputError``.
    """
    out = Path(out)
    check_problems(problems, source)
    problems = conditioned_problems(problems, config.condition, source)
    turn0 = Turn0Source(config.turn0_from) if config.turn0_from else None
    if turn0 is not None:
        turn0.check_covers(problems, config.sampling.n)
    manifest_file = manifests.manifest_path(out)
    with JsonlWriter(out, key="problem_id", resume=resume) as writer:
        done = finished_keys(out)
        previous = _check_resumable(manifest_file, config, bool(done)) if resume else None
        manifest = previous or manifests.base_manifest("rollout", config.model_dump(mode="json"), config.policy.seed)
        manifest["config"] = config.model_dump(mode="json")
        session = manifests.new_session()
        session["already_done"] = len(done)
        manifest["sessions"].append(session)
        manifests.write_manifest(manifest_file, manifest)
        todo = list(pending_work(problems, done, config.sampling.n, config.condition))
        if progress is not None:
            progress("total", sum(len(samples) for _, samples in todo))
        try:
            async with contextlib.AsyncExitStack() as stack:
                if executor is None:
                    executor = await stack.enter_async_context(make_executor(config.sandbox.to_sandbox_config()))
                session["sandbox_tier"] = executor.tier
                rollout = _Rollout(config, policy, executor, writer, turn0, progress)
                rollout.stats.already_done = len(done)
                stats = await rollout.run(todo)
        except BaseException as err:
            session.update(status="failed", error=f"{type(err).__name__}: {err}", ended=_now())
            manifests.write_manifest(manifest_file, manifest)
            raise
        session.update(status="finished", ended=_now(), stats=stats.as_dict())
        manifests.write_manifest(manifest_file, manifest)
    return stats


def run_rollout(
    problems: Sequence[Problem], policy: Policy, config: RolloutConfig, out: str | os.PathLike, **kwargs: Any
) -> RolloutStats:
    """Synchronous :func:`collect` in a fresh event loop; the policy stays open."""

    async def main() -> RolloutStats:
        try:
            return await collect(problems, policy, config, out, **kwargs)
        finally:
            await policy.detach_loop()

    return asyncio.run(main())


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


__all__ = [
    "Attempt",
    "GenerationQueue",
    "PriorityGate",
    "RolloutStats",
    "Turn0Source",
    "collect",
    "conditioned_problems",
    "finished_keys",
    "pending_work",
    "run_rollout",
    "trajectory_key",
]
