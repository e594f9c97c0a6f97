"""How callers get an executor: :func:`make_executor` picks the backend the config names, and
:class:`SyncExecutor` / :func:`run_sync` put a synchronous front on it.

Every stage (rollout, reward, evaluate, ``cobalt exec``, the verl export) builds its executor here,
so that ``backend: ray`` in any stage's config moves that stage's programs onto a Ray cluster with
no other change: both backends have the same async API (``run``, ``run_request``, ``map``,
``run_all``, ``tier``) and give the same verdicts.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterable
from typing import Any

from cobalt.records import ExecRequest, ExecResult, Tests
from cobalt.sandbox.config import SandboxConfig
from cobalt.sandbox.executor import Executor


def resolve_config(config: SandboxConfig | None = None, **overrides: Any) -> SandboxConfig:
    """``config`` (default: the defaults) with ``overrides`` applied."""
    if config is None:
        return SandboxConfig(**overrides)
    return config.model_copy(update=overrides) if overrides else config


def make_executor(config: SandboxConfig | None = None, **overrides: Any) -> Executor:
    """The executor ``config.backend`` names: a local :class:`Executor`, or a
    :class:`~cobalt.sandbox.ray_pool.RayExecutor` (a pool of executor actors; Ray is imported only
    then). Use it as ``async with make_executor(config) as ex:``."""
    config = resolve_config(config, **overrides)
    if config.backend == "ray":
        from cobalt.sandbox.ray_pool import RayExecutor

        return RayExecutor(config)
    return Executor(config)


class SyncExecutor:
    """A synchronous front to the executor :func:`make_executor` builds, usable from any thread (even
    one already running an event loop): the executor lives on a private event loop in a background
    thread."""

    def __init__(self, config: SandboxConfig | None = None, **overrides: Any):
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="cobalt-executor", daemon=True)
        self._thread.start()
        self.executor = make_executor(config, **overrides)
        try:
            self._call(self.executor.__aenter__())
        except BaseException:
            self._stop_loop()
            raise

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    @property
    def tier(self) -> str:
        """The isolation tier of the wrapped executor."""
        return self.executor.tier

    def run(self, code: str, tests: Tests | dict | str, **kwargs: Any) -> ExecResult:
        """Blocking :meth:`Executor.run`: the same arguments, the same result."""
        return self._call(self.executor.run(code, tests, **kwargs))

    def run_all(self, requests: Iterable[ExecRequest]) -> list[ExecResult]:
        """Blocking :meth:`Executor.run_all`: every request run, results in the order of the requests."""
        return self._call(self.executor.run_all(list(requests)))

    def close(self) -> None:
        """Close the executor and stop its event loop and thread; closing twice is harmless."""
        if self._loop.is_closed():
            return
        try:
            self._call(self.executor.aclose())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> SyncExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_sync(code: str, tests: Tests | dict | str, config: SandboxConfig | None = None, **kwargs: Any) -> ExecResult:
    """Run one program once, synchronously (convenience for scripts and notebooks)."""
    with SyncExecutor(config) as executor:
        return executor.run(code, tests, **kwargs)
