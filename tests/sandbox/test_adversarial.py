"""Hostile programs (docs/paper.md §B.3): each gets the right verdict, the host is untouched,
no process survives (checked after every test by the folder's autouse fixture), and the executor
keeps serving. Programs report what they could do by printing a word; the expected output is the
word a safe sandbox produces, so ``AC`` means "the attack failed in the expected way"."""

from __future__ import annotations

import os
import resource
import socket
import threading
from textwrap import dedent

import pytest

from cobalt.records import Tests, Verdict
from cobalt.sandbox import SyncExecutor

pytestmark = pytest.mark.adversarial


def attempt(run, code: str, expected: str):
    result = run(code, "", expected + "\n")
    assert result.verdicts == [Verdict.ACCEPTED], result.feedback
    return result


def executor_still_serves(run) -> None:
    assert run("print(int(input()) + 1)\n", "41\n", "42\n").verdicts == [Verdict.ACCEPTED]


# --- processes --------------------------------------------------------------------------------------


BOUNDED_FORK_PROBE = (
    "import os\nr, w = os.pipe()\ncount = 0\nfor _ in range(400):\n    try:\n        pid = os.fork()\n"
    "    except OSError:\n        break\n    if pid == 0:\n        os.close(w)\n        os.read(r, 1)\n"
    "        os._exit(0)\n    count += 1\nprint('bounded' if count < 40 else f'escaped {count}')\n"
)


def test_process_bound_holds_for_a_bounded_fork_probe(run, executor):
    """At most 400 forks, and the bound must stop them."""
    attempt(run, BOUNDED_FORK_PROBE, "bounded")
    assert executor.executor.isolation.process_bound in ("cgroup", "rlimit")


def test_fork_bomb_is_contained(run):
    # An escaped fork bomb takes the machine down: run the unbounded one only after the bounded
    # probe has shown, in this very test, that the limit holds.
    attempt(run, BOUNDED_FORK_PROBE + "# again\n", "bounded")
    before = len(os.listdir("/proc"))
    result = run("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n")
    assert result.verdicts[0] in (Verdict.TIME_LIMIT, Verdict.RUNTIME_ERROR)
    assert len(os.listdir("/proc")) < before + 20
    executor_still_serves(run)


def test_posix_spawn_and_multiprocessing_hit_the_same_bound(run):
    spawn = dedent("""
        import os
        for i in range(200):
            try:
                os.posix_spawn("/usr/bin/sleep", ["sleep", "100"], {})
            except OSError:
                print("stopped" if i < 40 else i)
                break
    """)
    attempt(run, spawn, "stopped")
    pool = dedent("""
        import multiprocessing as mp, time
        procs = []
        try:
            for _ in range(200):
                process = mp.Process(target=time.sleep, args=(100,), daemon=True)
                process.start()
                procs.append(process)
        except OSError:
            print("stopped" if len(procs) < 40 else len(procs))
    """)
    attempt(run, pool, "stopped")


def test_daemonised_grandchild_does_not_survive(run, live_sandbox_processes):
    code = (
        "import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        "        while True:\n            time.sleep(1)\n    os._exit(0)\nprint('parent done')\n"
    )
    attempt(run, code, "parent done")
    assert live_sandbox_processes() == []


def test_killing_the_supervisor_is_the_programs_runtime_error(run, executor):
    code = "import os\nx = input()\nif x == 'kill':\n    os.kill(os.getppid(), 9)\nprint(x)\n"
    result = run(code, ["a\n", "kill\n", "b\n"], ["a\n", "kill\n", "b\n"])
    assert result.verdicts == [Verdict.ACCEPTED, Verdict.RUNTIME_ERROR, Verdict.ACCEPTED]
    assert result.sandbox_errors == 0  # never an uncounted sandbox error: that would reward the attack
    assert "supervisor" in result.feedback
    executor_still_serves(run)


def test_killing_everything_in_the_sandbox_does_not_reach_other_programs(executor):
    tests = Tests(inputs=["5\n"], outputs=["6\n"])
    normal = "import time\ntime.sleep(0.3)\nprint(int(input()) + 1)\n"
    from cobalt.records import ExecRequest

    requests = [ExecRequest(id="bad", code="import os\nos.kill(-1, 9)\n", tests=tests)]
    requests += [ExecRequest(id=f"good{i}", code=normal + f"# {i}\n", tests=tests) for i in range(3)]
    results = executor.run_all(requests)
    assert results[0].verdicts == [Verdict.RUNTIME_ERROR]
    assert all(r.verdicts == [Verdict.ACCEPTED] for r in results[1:])


def test_stopping_the_supervisor_is_contained(fast_config):
    from cobalt.sandbox import Limits

    config = fast_config.model_copy(update={"limits": Limits(cpu_s=0.5, wall_s=1.0)})
    code = "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\nprint(1)\n"
    with SyncExecutor(config) as ex:
        result = ex.run(code, Tests(inputs=[""], outputs=["1\n"]))
        assert result.verdicts == [Verdict.RUNTIME_ERROR]
        assert ex.run("print(2)\n", Tests(inputs=[""], outputs=["2\n"])).verdicts == [Verdict.ACCEPTED]


def test_supervisor_cannot_be_traced_or_read(run):
    code = dedent("""
        import ctypes, os
        attached = ctypes.CDLL(None).ptrace(16, os.getppid(), 0, 0) == 0
        try:
            open(f"/proc/{os.getppid()}/mem", "rb")
            readable = True
        except OSError:
            readable = False
        inherited = []
        for fd in range(3, 64):
            try:
                os.fstat(fd)
                inherited.append(fd)
            except OSError:
                pass
        print("denied" if not (attached or readable or inherited) else (attached, readable, inherited))
    """)
    attempt(run, code, "denied")


def test_forged_result_frames_on_stdout_are_just_output(run):
    code = "import sys, struct\nsys.stdout.buffer.write(struct.pack('>I', 2) + b'T\\x00')\n"
    result = run(code, "", "ok\n")
    assert result.verdicts == [Verdict.WRONG_ANSWER]
    executor_still_serves(run)


# --- memory and output --------------------------------------------------------------------------------


def test_memory_and_output_bombs_leave_the_parent_flat(run):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert run("x = bytearray(8 << 30)\n").verdicts == [Verdict.MEMORY_LIMIT]
    assert run("while True:\n    print('x' * 10 ** 6)\n").verdicts == [Verdict.OUTPUT_LIMIT]
    assert run("import os\nwhile True:\n    os.write(2, b'e' * 10 ** 6)\n").verdicts[0] is not Verdict.ACCEPTED
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 64, f"the parent grew by {grown_mb:.0f} MB"


def test_private_tmp_is_size_limited(run):
    code = (
        "written = 0\ntry:\n    for i in range(100):\n        with open(f'/tmp/f{i}', 'wb') as f:\n"
        "            f.write(b'x' * (8 << 20))\n        written += 8\nexcept OSError as e:\n"
        "    print('full' if e.errno == 28 and written <= 64 else (e, written))\n"
    )
    attempt(run, code, "full")


# --- filesystem -------------------------------------------------------------------------------------


def test_host_files_are_invisible(run, tmp_path):
    dataset = tmp_path / "dataset.jsonl"
    dataset.write_text('{"expected_output": "42"}\n')
    paths = [str(dataset), str(tmp_path), os.getcwd(), os.path.expanduser("~"), "/home", "/work", "/etc/shadow"]
    code = (
        f"import os\nseen = []\nfor p in {paths!r}:\n    if os.path.exists(p) and p != '/root':\n"
        "        seen.append(p)\nprint('hidden' if not seen else seen)\n"
    )
    attempt(run, code, "hidden")


def test_writing_outside_tmp_is_refused(run):
    import sys

    targets = ["/x", "/usr/x", os.path.join(sys.base_prefix, "lib", "bisect.py"), "/dev/shm/x", "/proc/x"]
    code = (
        f"refused = 0\nfor p in {targets!r}:\n    try:\n        open(p, 'w').write('x')\n    except OSError:\n"
        "        refused += 1\nprint('refused' if refused == len(" + repr(targets) + ") else refused)\n"
    )
    attempt(run, code, "refused")


def test_planted_module_is_not_imported_by_later_tests_or_programs(run):
    plant = dedent("""
        import os, sys
        for folder in [".", "/tmp"]:
            try:
                open(os.path.join(folder, "bisect.py"), "w").write("print('hijacked')")
            except OSError:
                pass
        import bisect
        print("stdlib" if bisect.__file__.startswith(sys.base_prefix) else bisect.__file__)
    """)
    result = run(plant, ["", ""], ["stdlib\n", "stdlib\n"])
    assert result.verdicts == [Verdict.ACCEPTED, Verdict.ACCEPTED], result.feedback
    attempt(run, "import bisect, os\nprint('clean' if not os.listdir('/tmp') else os.listdir('/tmp'))\n", "clean")


def test_environment_and_proc_show_no_host_secrets(run, monkeypatch):
    monkeypatch.setenv("COBALT_TEST_SECRET", "hunter2")
    code = (
        "import os\nleaks = [k for k in os.environ if 'SECRET' in k]\nfor pid in os.listdir('/proc'):\n"
        "    if pid.isdigit():\n        try:\n            if b'hunter2' in open(f'/proc/{pid}/environ', 'rb').read():\n"
        "                leaks.append(pid)\n        except OSError:\n            pass\n"
        "print('clean' if not leaks else leaks)\n"
    )
    with SyncExecutor(limits={"cpu_s": 1, "wall_s": 3}) as ex:  # a fresh executor started with the secret set
        result = ex.run(code, Tests(inputs=[""], outputs=["clean\n"]))
    assert result.verdicts == [Verdict.ACCEPTED], result.feedback


# --- network ------------------------------------------------------------------------------------------


def test_no_network(run):
    code = (
        "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n    print('connected')\n"
        "except OSError:\n    print('offline')\n"
    )
    attempt(run, code, "offline")


def test_host_unix_sockets_are_unreachable(run, tmp_path):
    path = str(tmp_path / "host.sock")
    listeners = []
    for address in (path, "\0cobalt-test-abstract"):
        server = socket.socket(socket.AF_UNIX)
        server.bind(address)
        server.listen(1)
        listeners.append(server)
    accepted: list[object] = []

    def accept_any(server):
        server.settimeout(5)
        try:
            accepted.append(server.accept())
        except OSError:
            pass

    threads = [threading.Thread(target=accept_any, args=(s,), daemon=True) for s in listeners]
    for thread in threads:
        thread.start()
    code = (
        "import socket\nreached = []\nfor a in [" + repr(path) + ", '\\0cobalt-test-abstract']:\n"
        "    s = socket.socket(socket.AF_UNIX)\n    try:\n        s.connect(a)\n        reached.append(a)\n"
        "    except OSError:\n        pass\nprint('isolated' if not reached else reached)\n"
    )
    try:
        attempt(run, code, "isolated")
    finally:
        for server in listeners:
            server.close()
    assert accepted == []


# --- inputs -------------------------------------------------------------------------------------------


def test_ten_megabyte_input(run):
    numbers = " ".join(["7"] * (5 * 1024 * 1024 // 2))
    result = run(
        "import sys\nprint(sum(map(int, sys.stdin.buffer.read().split())))\n",
        numbers + "\n",
        f"{7 * (5 * 1024 * 1024 // 2)}\n",
    )
    assert result.verdicts == [Verdict.ACCEPTED], result.feedback


def test_many_tests_many_programs_stay_aligned(executor):
    from cobalt.records import ExecRequest

    requests = [
        ExecRequest(
            id=str(p),
            code=f"x = int(input())\nprint(x * {p} if x % 7 else -1)\n",
            tests=Tests(inputs=[f"{t}\n" for t in range(200)], outputs=[f"{t * p}\n" for t in range(200)]),
        )
        for p in range(1, 51)
    ]
    results = executor.run_all(requests)
    for request, result in zip(requests, results):
        assert result.id == request.id
        assert len(result.verdicts) == 200
        assert [v is Verdict.ACCEPTED for v in result.verdicts] == [t % 7 != 0 for t in range(200)]
