"""The ``ray`` backend: the executor's behaviour through a pool of executor actors on a local Ray
instance, the same as the local executor's; faults in the middle of a batch; backpressure; and the
sandbox's isolation from Ray inside an actor."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from cobalt.records import ExecRequest, Tests, Verdict
from cobalt.sandbox import Limits, SandboxConfig, SyncExecutor, make_executor
from cobalt.sandbox.ray_pool import Member, RayExecutor, import_ray

pytest.importorskip("ray")

FAST_LIMITS = Limits(cpu_s=1.0, wall_s=3.0, memory_mb=512)  # as conftest.py's
SANDBOX_MARKER = b"in-sandbox supervisor"  # a phrase of the zygote's source, in its command line
RAY_CONFIG = SandboxConfig(backend="ray", workers=1, ray_actors=2, limits=FAST_LIMITS, cache_size=0)

# One program whose verdict depends on the test: every verdict in one result, in order.
BY_INPUT = (
    "n = int(input())\n"
    "if n == 1:\n    print(2)\n"
    "elif n == 2:\n    print(1 // 0)\n"
    "elif n == 3:\n    while True:\n        pass\n"
    "elif n == 4:\n    x = bytearray(8 << 30)\n"
    "else:\n    print('wrong')\n"
)
CASES = {
    "correct": ("print(int(input()) * 2)\n", ["2\n", "5\n"], ["4\n", "10\n"], ["AC", "AC"]),
    "wrong": ("print(int(input()) * 3)\n", ["2\n", "0\n"], ["4\n", "0\n"], ["WA", "AC"]),
    "timeout": ("while True:\n    pass\n", ["1\n"], ["1\n"], ["TLE"]),
    "sleeping": ("import time\ntime.sleep(100)\n", ["1\n"], ["1\n"], ["TLE"]),
    "runtime_error": ("print(1 // int(input()))\n", ["0\n"], ["0\n"], ["RE"]),
    "memory": ("x = bytearray(8 << 30)\n", [""], [""], ["MLE"]),
    "compile_error": ("print(\n", ["1\n", "2\n"], ["1\n", "2\n"], ["CE", "CE"]),
    "every_verdict_in_order": (
        BY_INPUT,
        ["1\n", "2\n", "3\n", "4\n", "5\n"],
        ["2\n"] * 5,
        ["AC", "RE", "TLE", "MLE", "WA"],
    ),
}


@pytest.fixture(scope="module")
def ray_executor(ray_cluster):
    with SyncExecutor(RAY_CONFIG) as executor:
        yield executor


@pytest.fixture(scope="module")
def local_executor():
    with SyncExecutor(RAY_CONFIG.model_copy(update={"backend": "local", "workers": 2})) as executor:
        yield executor


@pytest.fixture(params=["local", "ray"])
def backend_executor(request):
    """The same tests against both backends."""
    return request.getfixturevalue(f"{request.param}_executor")


@pytest.mark.parametrize("case", sorted(CASES))
def test_verdicts_are_the_same_on_both_backends(backend_executor, case):
    code, inputs, outputs, verdicts = CASES[case]
    result = backend_executor.run(code, Tests(inputs=inputs, outputs=outputs))
    assert [v.value for v in result.verdicts] == verdicts, result.feedback
    assert result.sandbox_errors == 0 and result.tier == "bwrap"


def test_feedback_and_measurements_match_the_local_executor(local_executor, ray_executor):
    requests = [
        ExecRequest(id=name, code=code, tests=Tests(inputs=inputs, outputs=outputs))
        for name, (code, inputs, outputs, _) in sorted(CASES.items())
        if name not in ("timeout", "sleeping")  # the same verdict, seconds of CPU each
    ]
    local, remote = local_executor.run_all(requests), ray_executor.run_all(requests)
    for ours, theirs in zip(local, remote):
        assert (theirs.id, theirs.verdicts, theirs.feedback, theirs.pass_rate) == (
            ours.id,
            ours.verdicts,
            ours.feedback,
            ours.pass_rate,
        )
        assert [t.exit_code for t in theirs.per_test] == [t.exit_code for t in ours.per_test]


def test_results_come_back_in_request_order(ray_executor):
    slow_first = ExecRequest(id="r0", code="import time\ntime.sleep(0.5)\nprint(input())\n", tests=ECHO)
    results = ray_executor.run_all([slow_first, *(echo_request(i) for i in range(1, 8))])
    assert [r.id for r in results] == [f"r{i}" for i in range(8)]
    assert all(r.all_passed for r in results)


ECHO = Tests(inputs=["7\n", "8\n"], outputs=["7\n", "8\n"])


def echo_request(i: int, sleep_s: float = 0.0) -> ExecRequest:
    pause = f"import time\ntime.sleep({sleep_s})\n" if sleep_s else ""
    return ExecRequest(id=f"r{i}", code=f"{pause}print(input())  # {i}\n", tests=ECHO)


# --- dispatch and backpressure -------------------------------------------------------------------


def test_work_goes_to_the_least_loaded_actor_not_round_robin():
    pool = RayExecutor(RAY_CONFIG)
    busy, idle, big = Member(0, None, 2, outstanding=2), Member(1, None, 2, outstanding=1), Member(2, None, 4, 1)
    for member in (busy, idle, big):
        member.healthy = True
    pool.members = [busy, idle, big]

    async def picks() -> list[int]:
        return [(await pool._acquire()).index for _ in range(4)]

    # big has 1 of 4 slots taken (25 %), idle 1 of 2 (50 %), busy is full: big first, busy never,
    # and the four free slots (one of idle's, three of big's) are filled.
    chosen = asyncio.run(picks())
    assert chosen[0] == 2 and sorted(chosen) == [1, 2, 2, 2]
    assert all(m.outstanding <= m.capacity for m in pool.members)


def test_no_actor_gets_more_programs_than_its_workers_and_budgets_start_in_the_actor(ray_cluster):
    # 12 programs of 3 tests that each sleep 0.3 s: a 1 s budget per program holds although the
    # last programs wait ~1.5 s for a free actor; the budget starts when the program starts.
    limits = Limits(cpu_s=1, wall_s=1, memory_mb=256, program_budget_s=1.0)
    config = RAY_CONFIG.model_copy(update={"limits": limits})
    tests = Tests(inputs=["1\n", "2\n", "3\n"], outputs=["1\n", "2\n", "3\n"])
    requests = [
        ExecRequest(id=str(i), code=f"import time\ntime.sleep(0.3)\nprint(input())  # {i}\n", tests=tests)
        for i in range(12)
    ]
    with SyncExecutor(config) as executor:
        started = time.monotonic()
        results = executor.run_all(requests)
        elapsed = time.monotonic() - started
        stats = executor.executor.stats
    assert all(r.all_passed for r in results), [r.verdicts for r in results if not r.all_passed]
    assert elapsed > 2 * limits.program_budget_s  # programs did wait for an actor
    assert stats["peak_in_flight"] <= 2  # two actors of one worker each


# --- faults in the middle of a batch --------------------------------------------------------------


def _run_with_fault(fault, count: int = 16):
    """Run ``count`` short programs on a fresh two-actor pool, calling ``fault(pool)`` once some are
    in flight; returns the results and the pool's counters."""

    async def main():
        async with make_executor(RAY_CONFIG) as pool:
            batch = asyncio.ensure_future(pool.run_all([echo_request(i, 0.3) for i in range(count)]))
            while pool.stats["dispatched"] < 3:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.1)  # the first programs are running inside the actors
            await asyncio.to_thread(fault, pool)
            return await batch, dict(pool.stats)

    return asyncio.run(main())


def _assert_every_request_answered_once(results, count: int = 16) -> None:
    assert [r.id for r in results] == [f"r{i}" for i in range(count)]  # none lost, none duplicated
    for result in results:
        assert result.verdicts == [Verdict.ACCEPTED, Verdict.ACCEPTED], result.feedback
        assert result.sandbox_errors == 0


def test_an_actor_killed_mid_batch_is_replaced_and_its_programs_run_elsewhere(ray_cluster):
    results, stats = _run_with_fault(lambda pool: ray_cluster.kill(pool.members[0].handle))  # no restart
    _assert_every_request_answered_once(results)
    assert stats["actor_faults"] >= 1 and stats["redispatched"] >= 1 and stats["replaced"] >= 1


def test_a_crashed_actor_process_is_restarted_and_its_programs_run_again(ray_cluster):
    results, stats = _run_with_fault(lambda pool: os.kill(pool.members[1].pid, signal.SIGKILL))
    _assert_every_request_answered_once(results)
    assert stats["actor_faults"] >= 1 and stats["redispatched"] >= 1


def test_a_sandbox_process_killed_inside_an_actor_is_not_the_programs_fault(ray_cluster):
    killed = []

    def kill_a_zygote(pool) -> None:
        deadline = time.monotonic() + 5
        while not killed and time.monotonic() < deadline:
            for pid in _descendants(pool.members[0].pid):
                if _is_zygote(pid):
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    break
            time.sleep(0.01)

    results, _ = _run_with_fault(kill_a_zygote)
    assert killed, "no zygote was found inside the actor"
    _assert_every_request_answered_once(results)


def test_missing_ray_is_a_clear_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(ImportError, match=r"pip install -e '\.\[ray\]'"):
        import_ray()


def test_workers_per_actor_may_exceed_this_machines_cores():
    # An actor's workers are sized for its own node, which may have more cores than the caller's.
    assert SandboxConfig(backend="ray", workers=64).workers == 64
    with pytest.raises(ValueError, match="far above"):
        SandboxConfig(workers=64)


# --- isolation inside an actor --------------------------------------------------------------------

SEES_RAY = """
import os, socket
seen = [fd for fd in os.listdir("/proc/self/fd") if int(fd) > 3]  # 0-2 and listdir's own: no Ray fd
for path in ("/tmp/ray", {socket_path!r}):
    if os.path.exists(path):
        seen.append(path)
seen += os.listdir("/dev/shm")  # bwrap's own empty, read-only /dev/shm: not the host's object store
try:
    open("/dev/shm/planted", "w")
    seen.append("/dev/shm is writable")
except OSError:
    pass
with socket.socket(socket.AF_UNIX) as s:
    try:
        s.connect({socket_path!r})
        seen.append("connected")
    except OSError:
        pass
seen += [key for key in os.environ if key.startswith("RAY")]
print("isolated" if not seen else seen)
"""


def test_a_program_under_the_ray_backend_cannot_see_ray(ray_cluster, ray_executor):
    socket_path = _raylet_socket(ray_cluster)
    assert os.path.exists(socket_path)  # it is there on the host
    result = ray_executor.run(SEES_RAY.format(socket_path=socket_path), Tests(inputs=[""], outputs=["isolated\n"]))
    assert result.verdicts == [Verdict.ACCEPTED], result.feedback


def test_zygotes_are_executed_afresh_never_forked_from_the_actor(ray_executor):
    actor = ray_executor.executor.members[0].pid
    seen: dict[int, bytes] = {}
    parents: dict[int, int] = {}

    def watch() -> None:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            for pid in _descendants(actor):
                seen.setdefault(pid, _cmdline(pid))
                if _is_zygote_cmdline(seen[pid]):
                    parents.setdefault(pid, _parent(pid))
            time.sleep(0.01)

    async def main():
        watcher = asyncio.to_thread(watch)
        programs = asyncio.to_thread(ray_executor.run_all, [echo_request(i, 0.5) for i in range(100, 104)])
        await asyncio.gather(watcher, programs)

    asyncio.run(main())
    zygotes = [pid for pid, cmdline in seen.items() if _is_zygote_cmdline(cmdline)]
    assert zygotes, "no zygote was seen inside the actor"
    # A child seen with the actor's own command line (ray::...) is one caught between fork and exec
    # (the launch of /bin/sh or bwrap); none may live on as a copy of the actor.
    copies = [pid for pid, cmdline in seen.items() if cmdline.startswith(b"ray::")]
    time.sleep(0.2)
    assert not [pid for pid in copies if _cmdline(pid).startswith(b"ray::")]
    assert actor not in [parents[pid] for pid in zygotes]  # a fresh `python -I -S`, exec'd inside bwrap


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return -1


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _raylet_socket(ray) -> str:
    return ray._private.worker.global_worker.node.raylet_socket_name


def _descendants(pid: int) -> list[int]:
    found, frontier = [], [pid]
    while frontier:
        children = []
        for parent in frontier:
            for task in Path(f"/proc/{parent}/task").glob("*"):
                try:
                    children += [int(c) for c in (task / "children").read_text().split()]
                except OSError:
                    continue
        found += children
        frontier = children
    return found


def _is_zygote(pid: int) -> bool:
    return _is_zygote_cmdline(_cmdline(pid))


def _is_zygote_cmdline(cmdline: bytes) -> bool:
    return cmdline.split(b"\0")[1:3] == [b"-I", b"-S"] and SANDBOX_MARKER in cmdline
