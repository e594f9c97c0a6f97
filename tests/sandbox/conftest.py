"""Fixtures for the executor's tests: one warm executor with short limits, and a way to see every
sandbox process still alive on the host."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cobalt.records import ExecResult, Tests
from cobalt.sandbox import Limits, SandboxConfig, SyncExecutor

# A phrase from the zygote's source: it appears in the command line of every bwrap process, every
# zygote and every process a program forks inside a sandbox.
SANDBOX_MARKER = b"in-sandbox supervisor"

FAST_LIMITS = Limits(cpu_s=1.0, wall_s=3.0, memory_mb=512)


def sandbox_processes() -> list[int]:
    """Host pids of live (non-zombie) processes that belong to a sandbox this test run started
    (other jobs on the machine may run sandboxes of their own)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            live = SANDBOX_MARKER in (entry / "cmdline").read_bytes() and "Z" not in _stat(entry)[0]
            if live and _descends_from(int(entry.name), os.getpid()):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _stat(entry: Path) -> list[str]:
    """The fields of /proc/PID/stat after the command name: state, ppid, ..."""
    return (entry / "stat").read_text().rsplit(")", 1)[1].split()


def _descends_from(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            pid = int(_stat(Path(f"/proc/{pid}"))[1])
        except OSError:
            return False
    return False


@pytest.fixture(scope="session")
def fast_config() -> SandboxConfig:
    return SandboxConfig(limits=FAST_LIMITS, cache_size=0)


@pytest.fixture(scope="session")
def executor(fast_config: SandboxConfig):
    with SyncExecutor(fast_config) as ex:
        yield ex


@pytest.fixture
def run(executor):
    """``run(code, inputs, outputs=None, **kw)``: run code on stdin tests; outputs default to ''."""

    def _run(code: str, inputs: list[str] | str = "", outputs: list[str] | str | None = None, **kw) -> ExecResult:
        inputs = [inputs] if isinstance(inputs, str) else inputs
        if outputs is None:
            outputs = [""] * len(inputs)
        outputs = [outputs] if isinstance(outputs, str) else outputs
        fn_name = kw.pop("fn_name", None)
        return executor.run(code, Tests(inputs=inputs, outputs=outputs, fn_name=fn_name), **kw)

    return _run


@pytest.fixture(autouse=True)
def no_sandbox_outlives_a_test():
    """Every test in this folder also checks that no sandbox process survives it."""
    yield
    leftover = sandbox_processes()
    assert not leftover, f"sandbox processes outlived the test: {leftover}"


@pytest.fixture
def live_sandbox_processes():
    return sandbox_processes


def output_of(result: ExecResult) -> str:
    """The program output shown in the feedback (for tests that print what they observed)."""
    text = result.feedback
    start = text.index("Program's Output:\n") + len("Program's Output:\n")
    end = text.index("\nExpected Output:")
    return text[start:end]


os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray instance for the ``ray`` backend's tests, started for a module and shut down at its
    end, so that no connection outlives the module (test_ray_cluster.py joins clusters of its own).

    Four logical CPUs on this 2-core machine, so that two pools of two one-worker actors can exist at
    once (a module's behaviour pool and a fault test's own pool); the dashboard and log streaming are
    off to keep it light.
    """
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        yield ray
        return
    ray.init(
        num_cpus=4,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
        _node_ip_address="127.0.0.1",
    )
    try:
        yield ray
    finally:
        ray.shutdown()
