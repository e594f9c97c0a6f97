"""The ``ray`` backend: the executor's API over a pool of executor actors on a Ray cluster.

Each actor owns one local :class:`~cobalt.sandbox.executor.Executor` with ``workers`` slots and
reserves that many CPUs of its node (``num_cpus=workers``); the actors spread over the nodes. The
caller's :class:`RayExecutor` is an ``Executor`` whose programs run in the actors instead of here:
the same ``run``, ``run_request``, ``map``, ``run_all``, cache and in-flight de-duplication, and,
since every actor runs the local executor, the same verdicts.

Guarantees:

* **Dispatch by load.** A program goes to the live actor with the fewest outstanding programs
  relative to its slots, never round-robin: a slow actor (a busy node, long programs) gets less.
* **Backpressure end to end.** An actor is never sent more programs than it has slots (plus
  ``ray_prefetch``, 0 by default), so nothing queues inside it: a program starts the moment it
  arrives, and its wall budget (which the local executor starts when the program takes its slot)
  is never spent waiting behind others. Callers beyond the pool's capacity wait here, holding no
  Ray resources.
* **Infrastructure faults are retried, never counted against the program.** An actor that dies
  (``ray.kill``, a crashed worker, a lost node) or does not answer within the program's longest
  possible time fails only its in-flight calls; each is sent again to another actor, up to
  ``retries`` times, after which its tests are ``SE`` (excluded from the pass rate). The dead actor
  is restarted by Ray (``max_restarts``) or, once Ray gives up, replaced. A program's own crash or
  time-out is a verdict from inside the actor, as locally.
* **One result per request, in request order** (``run_all``), whatever failed on the way.

Isolation is the local executor's: each actor probes its own node and fails closed. The sandbox
sees none of Ray: bwrap binds only the system's read-only directories and a private ``/tmp`` (no
``/tmp/ray`` and its sockets, no ``/dev/shm`` and its object store), in fresh network and IPC
namespaces, with an empty environment. Zygotes are never forked from the actor: each sandbox is a
fresh ``exec`` of bwrap (through a tiny ``/bin/sh`` that joins the sandbox's cgroup), and the
zygote a fresh ``python -I -S`` inside it, so a big, threaded actor is never copied.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass
from typing import Any

from cobalt.config import install_hint
from cobalt.records import ExecRequest, ExecResult, TestOutcome, Verdict
from cobalt.sandbox.config import SandboxConfig
from cobalt.sandbox.executor import Executor
from cobalt.sandbox.isolation import Isolation, SandboxUnavailable
from cobalt.sandbox.session import REPLY_MARGIN_S, START_TIMEOUT_S

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 120.0  # an actor's start: a Ray worker process, imports, the isolation probe
REJOIN_BACKOFF_S = 5.0  # between starts of an actor that keeps dying before it is ready
CALL_MARGIN_S = 30.0  # beyond a program's longest possible run, before its actor counts as hung


def import_ray() -> Any:
    """The ``ray`` module, or an ImportError that says how to install it."""
    try:
        import ray
    except ImportError as err:
        raise ImportError(f"the 'ray' sandbox backend needs Ray: {install_hint('ray')}") from err
    return ray


def infrastructure_errors(ray: Any) -> tuple[type[BaseException], ...]:
    """The Ray errors that mean the actor or its node failed, not the program."""
    errors = ray.exceptions
    return (
        errors.RayActorError,  # ActorDiedError, ActorUnavailableError (restarting)
        errors.WorkerCrashedError,
        errors.ObjectLostError,
        errors.NodeDiedError,
        errors.RaySystemError,
        errors.OutOfMemoryError,
        errors.TaskCancelledError,
    )


class ExecutorActor:
    """What runs inside one Ray actor: a local executor for this node's share of cores."""

    def __init__(self, config_json: str):
        self.executor = Executor(SandboxConfig.model_validate_json(config_json))

    async def ready(self) -> dict[str, Any]:
        """Probe this node's isolation (raising :class:`SandboxUnavailable` where it fails closed) and
        describe the actor: its isolation, slots, process id and the Ray node it runs on."""
        isolation = await asyncio.to_thread(lambda: self.executor.isolation)
        node = import_ray().get_runtime_context().get_node_id()
        return {"isolation": isolation, "workers": self.executor.config.workers, "pid": os.getpid(), "node": node}

    async def run(self, request: ExecRequest) -> ExecResult:
        """Run one program on its tests, exactly as the local executor does."""
        return await self.executor.run_request(request)

    async def stats(self) -> dict[str, int]:
        """The local executor's counters (programs, tests, sandboxes)."""
        return dict(self.executor.stats)


@dataclass
class Member:
    """One actor of the pool, as the caller sees it."""

    index: int
    handle: Any
    capacity: int
    outstanding: int = 0
    served: int = 0
    healthy: bool = False
    pid: int | None = None
    node: str | None = None  # the Ray node id the actor runs on (hex), as it reported when ready
    generation: int = 0  # bumped on each replacement: a late failure of an old handle is ignored


class RayExecutor(Executor):
    """The executor's API over a pool of :class:`ExecutorActor` (see the module's docstring). Use
    as ``async with RayExecutor(config) as ex:``; :func:`cobalt.sandbox.make_executor` builds it
    for ``backend: ray``."""

    def __init__(self, config: SandboxConfig | None = None, **overrides: Any):
        super().__init__(config, **overrides)
        self.members: list[Member] = []
        self._ray: Any = None
        self._owns_ray = False
        self._actor_class: Any = None
        self._changed: asyncio.Condition | None = None
        self._condition_loop: asyncio.AbstractEventLoop | None = None
        self._recoveries: set[asyncio.Task] = set()
        self.stats.update({"dispatched": 0, "redispatched": 0, "actor_faults": 0, "replaced": 0, "peak_in_flight": 0})

    # -- life cycle ----------------------------------------------------------------------------

    @property
    def isolation(self) -> Isolation:
        """The isolation the actors reported (all run the same configuration); the pool must be started."""
        if self._isolation is None:
            raise RuntimeError("the Ray executor pool is not started: use `async with` (or SyncExecutor)")
        return self._isolation

    async def __aenter__(self) -> RayExecutor:
        ray = self._ray = import_ray()
        if not ray.is_initialized():
            ray.init(address=self.config.ray_address, log_to_driver=False, include_dashboard=False)
            self._owns_ray = True
        count = self.config.ray_actors or max(1, int(ray.cluster_resources().get("CPU", 1)) // self.config.workers)
        self._actor_class = ray.remote(ExecutorActor).options(
            num_cpus=self.config.workers,
            max_restarts=self.config.ray_max_restarts,
            max_task_retries=0,  # a call is re-dispatched here, to another actor, not retried on this one
            scheduling_strategy="SPREAD",
        )
        self.members = [Member(i, self._new_actor(), self.config.workers) for i in range(count)]
        try:
            await asyncio.gather(*(self._wait_ready(member) for member in self.members))
        except BaseException:
            await self.aclose()
            raise
        workers, nodes = self.config.workers, len({member.node for member in self.members})
        log.info("ray executor pool: %d actors x %d workers on %d nodes (%s)", count, workers, nodes, self.tier)
        return self

    def _new_actor(self) -> Any:
        local = self.config.model_copy(update={"backend": "local", "cache_size": 0})  # the caller caches
        return self._actor_class.remote(local.model_dump_json())

    async def _wait_ready(self, member: Member) -> None:
        try:
            info = await asyncio.wait_for(_await(member.handle.ready.remote()), READY_TIMEOUT_S)
        except self._ray.exceptions.RayTaskError as err:
            if isinstance(err.cause, SandboxUnavailable):
                raise SandboxUnavailable(str(err.cause)) from None
            raise
        self._isolation = info["isolation"]
        member.capacity = info["workers"] + self.config.ray_prefetch
        member.pid, member.node, member.healthy = info["pid"], info["node"], True
        log.debug("executor actor %d ready: pid %d on node %s", member.index, member.pid, member.node)

    async def aclose(self) -> None:
        """Stop recoveries, kill the actors, and shut Ray down if this pool started it."""
        for task in list(self._recoveries):
            task.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(*self._recoveries, return_exceptions=True)
        if self._ray is not None:
            for member in self.members:
                with contextlib.suppress(Exception):
                    self._ray.kill(member.handle)
            if self._owns_ray:
                self._ray.shutdown()
                self._owns_ray = False
        self.members = []

    # -- dispatch ------------------------------------------------------------------------------

    def default_in_flight(self) -> int:
        """Requests :meth:`map` keeps in flight: the pool's slots, so that none waits inside an actor."""
        return max(1, sum(member.capacity for member in self.members))

    def _condition(self) -> asyncio.Condition:
        loop = asyncio.get_running_loop()
        if self._changed is None or self._condition_loop is not loop:
            self._changed, self._condition_loop = asyncio.Condition(), loop
        return self._changed

    async def _acquire(self) -> Member:
        """The live actor with the most free room, relative to its slots, once one has a free slot."""
        changed = self._condition()
        async with changed:
            while True:
                free = [m for m in self.members if m.healthy and m.outstanding < m.capacity]
                if free:
                    member = min(free, key=lambda m: (m.outstanding / m.capacity, m.served))
                    member.outstanding += 1
                    in_flight = sum(m.outstanding for m in self.members)
                    self.stats["peak_in_flight"] = max(self.stats["peak_in_flight"], in_flight)
                    return member
                if not self.members:
                    raise RuntimeError("the Ray executor pool has no actors left")
                await changed.wait()

    async def _release(self, member: Member) -> None:
        changed = self._condition()
        async with changed:
            member.outstanding -= 1
            member.served += 1
            changed.notify_all()

    def _call_deadline_s(self, request: ExecRequest) -> float:
        """The longest a healthy actor can take on ``request``: every sandbox start it may retry, the
        program's budget, and the margins; beyond it the actor counts as hung."""
        limits = self.config.limits
        starts = (self.config.retries + 1) * 2 * START_TIMEOUT_S
        losses = len(request.tests) * (limits.longest_wall_s + REPLY_MARGIN_S)
        return starts + limits.budget_s(len(request.tests)) + losses + CALL_MARGIN_S

    async def _execute(self, request: ExecRequest) -> ExecResult:
        faults = infrastructure_errors(self._ray)
        for attempt in range(self.config.retries + 1):
            member = await self._acquire()
            generation = member.generation
            self.stats["dispatched"] += 1
            self.stats["redispatched"] += attempt > 0
            ref = member.handle.run.remote(request)
            try:
                result = await asyncio.wait_for(_await(ref), self._call_deadline_s(request))
            except self._ray.exceptions.RayTaskError as err:
                raise err.as_instanceof_cause() from None  # a fault of the executor's own code: loud
            except (*faults, asyncio.TimeoutError) as err:
                log.warning("executor actor %d failed a program (attempt %d): %r", member.index, attempt + 1, err)
                with contextlib.suppress(Exception):
                    self._ray.cancel(ref)
                self._fault(member, generation, hung=isinstance(err, asyncio.TimeoutError))
                continue
            finally:
                await self._release(member)
            self.stats["programs"] += 1
            self.stats["tests"] += len(request.tests)
            return result
        return self._infrastructure_failure(request)

    def _infrastructure_failure(self, request: ExecRequest) -> ExecResult:
        """The result of a program no actor could run: every test ``SE``, not counted against it."""
        detail = "Not run: the executor actors failed (an infrastructure fault, not the program's)."
        count = len(request.tests)
        return ExecResult(
            id=request.id,
            tier=self.tier,  # type: ignore[arg-type]
            verdicts=[Verdict.SANDBOX_ERROR] * count,
            passing=[False] * count,
            pass_rate=0.0,
            feedback="The tests could not be run because of a sandbox error (not the program's fault).",
            per_test=[TestOutcome(verdict=Verdict.SANDBOX_ERROR, detail=detail) for _ in range(count)],
            sandbox_errors=count,
        )

    # -- faults --------------------------------------------------------------------------------

    def _fault(self, member: Member, generation: int, *, hung: bool) -> None:
        """Take a failed actor out of dispatch until it answers again (restarted by Ray, or replaced)."""
        if member.generation != generation or not member.healthy:
            return  # already being recovered (several in-flight calls fail together)
        member.healthy = False
        self.stats["actor_faults"] += 1
        if hung:  # a hung actor is killed so that Ray restarts it (its other calls fail and move on)
            with contextlib.suppress(Exception):
                self._ray.kill(member.handle, no_restart=False)
        self._track(self._recover(member))

    async def _recover(self, member: Member) -> None:
        try:
            await self._wait_ready(member)  # Ray restarts it (max_restarts) ...
        except Exception as err:
            log.warning("executor actor %d did not come back (%r); replacing it", member.index, err)
            with contextlib.suppress(Exception):
                self._ray.kill(member.handle)
            member.handle, member.generation = self._new_actor(), member.generation + 1  # ... or we replace it
            self.stats["replaced"] += 1
            try:
                await self._wait_ready(member)
            except Exception as again:
                log.error("executor actor %d could not be replaced (%r); the pool runs without it", member.index, again)
                self.members.remove(member)
                self._track(self._rejoin(member))
        await self._notify()

    async def _rejoin(self, member: Member) -> None:
        """Bring a member that could not be replaced back once its actor starts. Ray keeps an actor that
        fits on no node pending until one can take it (a node that joins later, or one an autoscaler
        adds for it), so the pool waits for it without a deadline, and starts a new one if it dies."""
        try:
            while True:
                try:
                    await self._wait_ready(member)
                    break
                except asyncio.TimeoutError:
                    continue  # still pending: no node has room yet
                except SandboxUnavailable as err:  # the node that took it cannot isolate: a new actor would not either
                    log.error("executor actor %d cannot start (%s); the pool runs without it", member.index, err)
                    with contextlib.suppress(Exception):
                        self._ray.kill(member.handle)
                    return
                except Exception as err:
                    log.warning("executor actor %d failed to start again (%r); retrying", member.index, err)
                    await asyncio.sleep(REJOIN_BACKOFF_S)
                    with contextlib.suppress(Exception):
                        self._ray.kill(member.handle)
                    member.handle, member.generation = self._new_actor(), member.generation + 1
            log.warning("executor actor %d is back (node %s)", member.index, member.node)
            self.members.append(member)
            await self._notify()
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                self._ray.kill(member.handle)  # a pending actor would otherwise wait on a cluster we leave
            raise

    def _track(self, coroutine: Any) -> None:
        """Run a recovery in the background; :meth:`aclose` cancels what is still running."""
        task = asyncio.ensure_future(coroutine)
        self._recoveries.add(task)
        task.add_done_callback(self._recoveries.discard)

    async def _notify(self) -> None:
        changed = self._condition()
        async with changed:
            changed.notify_all()


async def _await(ref: Any) -> Any:
    """Await a Ray object reference (a coroutine, so that ``asyncio.wait_for`` can wrap it)."""
    return await ref
