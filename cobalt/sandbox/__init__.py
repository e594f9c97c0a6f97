"""``cobalt.sandbox``: run untrusted, model-written programs against tests, safely and fast.

Guarantees (on the ``bwrap`` tier with a process bound, the minimum by default):

* untrusted code never runs in the caller's process, and never sees expected outputs: outputs are
  compared in the trusted parent, return values of call-based programs as plain JSON;
* each program gets its own sandbox (fresh namespaces, no network, read-only system binds, a
  private size-limited ``/tmp``, an empty environment); nothing writable is shared between programs;
* each test runs in a fresh process forked from a warm in-sandbox supervisor, under CPU, wall,
  memory, output, file-size, open-file and process-count limits; nothing survives a test;
* exactly one verdict per test, in order, whatever happens.

Non-guarantees: kernel exploits and side channels are out of scope (use a VM for hostile
tenants); the ``process`` tier (``allow_unsafe``) does not isolate the filesystem or network.

Entry points: :func:`make_executor` (the async executor the config's ``backend`` names: a local
:class:`Executor`, or a pool of executor actors on Ray), :class:`SyncExecutor` and :func:`run_sync`.
"""

from cobalt.sandbox.compare import available_comparators, register_comparator
from cobalt.sandbox.config import Limits, SandboxConfig
from cobalt.sandbox.executor import Executor
from cobalt.sandbox.feedback import ALL_PASSED, render_feedback, truncate_middle
from cobalt.sandbox.frontend import SyncExecutor, make_executor, run_sync
from cobalt.sandbox.isolation import Isolation, SandboxUnavailable, probe

__all__ = [
    "ALL_PASSED",
    "Executor",
    "Isolation",
    "Limits",
    "SandboxConfig",
    "SandboxUnavailable",
    "SyncExecutor",
    "available_comparators",
    "make_executor",
    "probe",
    "register_comparator",
    "render_feedback",
    "run_sync",
    "truncate_middle",
]
