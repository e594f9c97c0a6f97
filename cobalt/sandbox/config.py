"""Limits and settings of the executor. Defaults follow the reference pipeline (docs/paper.md §6):
4 s of CPU per test and 1 GiB of memory; the other caps follow docs/paper.md §B.2."""

from __future__ import annotations

import math
import os
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cobalt.config import Settings

MiB = 1 << 20
# A test's wall limit stretches by the time the test waited for a CPU (another job, or more
# programs than cores, held it off), up to this factor: the limit counts the program's own time,
# while a program that sleeps or blocks is still stopped on time.
LOAD_STRETCH = 3.0


# The reward's backend settings, shared by `cobalt train` and `cobalt export verl` (one wording).
RewardBackend = Annotated[
    Literal["local", "ray"],
    Field(
        description="Where the reward's programs run: local (this node's cores) or ray (a pool of executor actors "
        "on the Ray cluster; extra [ray], docs/sandbox.md#the-ray-backend)."
    ),
]
RayActorCount = Annotated[
    int | None,
    Field(ge=1, description="Executor actors of the ray backend (default: as many as the cluster's CPUs hold)."),
]


class Limits(BaseModel):
    """Resource limits applied to every test of a program."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cpu_s: float = Field(4.0, gt=0, description="CPU seconds per test (RLIMIT_CPU, checked exactly after the run).")
    wall_s: float | None = Field(
        None, gt=0, description="Wall-clock seconds per test; default 2 x cpu_s + 1 so contention is not a TLE."
    )
    memory_mb: int = Field(1024, ge=32, description="Address-space limit per test (RLIMIT_AS, soft = hard).")
    stdout_bytes: int = Field(16 * MiB, ge=1024, description="Stdout beyond this is an output-limit verdict.")
    stderr_bytes: int = Field(64 * 1024, ge=1024, description="Stderr kept for feedback (head and tail).")
    file_bytes: int = Field(64 * MiB, ge=MiB, description="Largest file a program may write (RLIMIT_FSIZE).")
    tmpfs_mb: int = Field(64, ge=1, description="Size of the program's private /tmp.")
    open_files: int = Field(64, ge=16, description="RLIMIT_NOFILE per test.")
    processes: int = Field(32, ge=4, description="Processes and threads a program may have at once.")
    program_budget_s: float | None = Field(
        None, gt=0, description="Wall seconds for all tests of one program; default sum of per-test walls + 5 s."
    )

    @property
    def wall_limit_s(self) -> float:
        """The wall-clock limit per test: ``wall_s``, or ``2 * cpu_s + 1`` when unset."""
        return self.wall_s if self.wall_s is not None else 2 * self.cpu_s + 1

    @property
    def longest_wall_s(self) -> float:
        """The most wall time a test may take: its wall limit stretched by waiting for a CPU, at most
        :data:`LOAD_STRETCH` times the limit."""
        return LOAD_STRETCH * self.wall_limit_s

    @property
    def cpu_rlimit(self) -> int:
        """RLIMIT_CPU works in whole seconds; the exact limit is checked from rusage afterwards."""
        return max(1, math.ceil(self.cpu_s))

    def budget_s(self, num_tests: int) -> float:
        """Wall seconds allowed for all ``num_tests`` tests of one program: ``program_budget_s``, or by default
        every test's wall limit plus 5 s."""
        if self.program_budget_s is not None:
            return self.program_budget_s
        return num_tests * self.wall_limit_s + 5.0


def default_workers() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def local_processes() -> int:
    """The processes of this job that share this node: ``LOCAL_WORLD_SIZE`` where a launcher set it
    (torchrun, accelerate, DeepSpeed), else 1."""
    try:
        return max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    except ValueError:
        return 1


def workers_per_process(processes: int | None = None) -> int:
    """This process's share of the node's cores, at least 1: the cores divided by ``processes``
    (default :func:`local_processes`). Every rank of a launch (or every reward worker of verl)
    builds its own executor, so a whole-node default in each would run ranks × cores programs at
    once and turn tests into time-outs; with this share the node never runs more programs than it
    has cores, unless there are more processes than cores (one each)."""
    return max(1, default_workers() // max(1, processes or local_processes()))


class SandboxConfig(Settings):
    """How the executor isolates and schedules programs (the settings of ``cobalt exec``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    verb: ClassVar[str] = "exec"

    limits: Limits = Field(default_factory=Limits)
    tier: Literal["auto", "bwrap", "process"] = Field(
        "auto", description="Isolation tier; 'auto' probes and picks the strongest that works on this host."
    )
    allow_unsafe: bool = Field(
        False, description="Allow running below the minimum tier (no namespaces, or no process-count bound)."
    )
    workers: int = Field(
        default_factory=workers_per_process,
        ge=1,
        description="Programs run at once; default: the cores divided by the processes of this job on the node "
        "(LOCAL_WORLD_SIZE), so ranks that each build an executor never run more programs than the node has cores.",
    )
    comparator: str = Field("lines", description="Default output comparator (see cobalt.sandbox.compare).")
    feedback: Literal["reference", "cobalt"] = Field(
        "cobalt", description="Layout of the failed-test feedback (see cobalt.sandbox.feedback); rollouts set it."
    )
    float_tol: float = Field(1e-6, ge=0, description="Absolute-or-relative tolerance of the 'float' comparator.")
    python: str | None = Field(None, description="Interpreter run inside the sandbox; default: this one.")
    bwrap: str = Field("bwrap", description="bubblewrap binary (name on PATH or absolute path).")
    max_concurrent_launches: int = Field(4, ge=1, description="Sandboxes starting at once (bwrap start is costly).")
    retries: int = Field(3, ge=0, description="Retries of a sandbox that failed for infrastructure reasons.")
    cache_size: int = Field(4096, ge=0, description="Results kept, keyed by program, tests, limits and comparator.")
    backend: Literal["local", "ray"] = Field(
        "local",
        description="Where programs run: 'local' (this machine's cores) or 'ray' (a pool of executor actors on a "
        "Ray cluster, each running `workers` programs on one node; extra [ray], docs/sandbox.md#the-ray-backend).",
    )
    ray_address: str | None = Field(
        None,
        description="The Ray cluster the 'ray' backend joins ('auto', 'ray://head:10001', 'host:6379'); default: "
        "the one this process already joined, else RAY_ADDRESS, else a new local Ray instance.",
    )
    ray_actors: int | None = Field(
        None,
        ge=1,
        description="Executor actors of the 'ray' backend, each reserving `workers` CPUs (num_cpus) and running "
        "that many programs at once; default: as many as the cluster's CPUs hold.",
    )
    ray_prefetch: int = Field(
        0,
        ge=0,
        description="Programs the 'ray' backend sends an actor beyond its `workers`, whose sandboxes start while the "
        "current programs run (their budgets start only with their slots); 0: exactly `workers` per actor.",
    )
    ray_max_restarts: int = Field(
        3, ge=0, description="Times Ray restarts a dead executor actor before the pool replaces it with a new one."
    )
    preimport: tuple[str, ...] = Field(
        (),
        description="Extra standard-library modules imported once per sandbox. The modules a program imports are "
        "found in its bytecode and imported once per sandbox anyway, so tests never pay for them.",
    )

    @model_validator(mode="after")
    def _workers_within_cores(self) -> SandboxConfig:
        # On the ray backend `workers` is each actor's share of *its* node, which may have more cores than this one.
        if self.backend == "local" and self.workers > 4 * default_workers():
            raise ValueError(
                f"workers={self.workers} is far above the {default_workers()} cores here: tests would time out "
                "from contention"
            )
        return self
