"""The trusted parent's side of one sandbox: start it, load a program, run tests, tear it down.

Everything read from the sandbox is untrusted: frames are size-checked, replies are fixed
``struct`` layouts, and a sandbox that stops answering within its deadline is treated as lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import marshal
import os
import secrets
import shutil
import struct
import tempfile
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from cobalt.sandbox.cgroups import SandboxCgroup
from cobalt.sandbox.config import Limits, MiB
from cobalt.sandbox.isolation import SANDBOX_ENV, Isolation, bwrap_argv, landlock_readable, zygote_argv

FRAME = struct.Struct(">I")
TEST_REPLY = struct.Struct(">iiBdddqQQQIIIB")
FLAG_UNCLEAN = 1
START_TIMEOUT_S = 30.0
REPLY_MARGIN_S = 5.0  # time the zygote may take beyond the wall limit to kill and clean up
MAX_CONTROL_FRAME = 4096 + 64 * MiB
PIPELINE_DEPTH = 4


class SandboxStartError(RuntimeError):
    """The sandbox could not be started (an infrastructure fault, never the program's)."""


class SupervisorLost(RuntimeError):
    """The zygote died, hung or sent garbage while a test was running."""


@dataclass(frozen=True)
class RawRun:
    """What the zygote measured for one test, before any verdict."""

    exit_code: int
    signal: int
    timed_out: bool
    cpu_s: float
    wall_s: float
    max_rss_kb: int
    stdout_size: int
    stderr_size: int
    result_size: int
    stdout: bytes
    stderr: bytes
    result: bytes
    unclean: bool
    cpu_wait_s: float = 0.0  # of wall_s, the time the test was runnable but waited for a CPU


def _memory_backstop(limits: Limits) -> int:
    """The cgroup memory limit: the per-test address space plus /tmp, captured outputs and the zygote."""
    return (limits.memory_mb + limits.tmpfs_mb + 256) * MiB + 3 * max(limits.stdout_bytes, limits.file_bytes)


def _processes_of_this_user() -> int:
    uid, count = os.getuid(), 0
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                count += entry.stat().st_uid == uid
    return count


class Sandbox:
    """One running zygote inside one sandbox, used for one program only."""

    def __init__(self, isolation: Isolation, limits: Limits):
        self.isolation = isolation
        self.limits = limits
        self.process: asyncio.subprocess.Process | None = None
        self.cgroup: SandboxCgroup | None = None
        self.workdir: str | None = None
        self._log: deque[bytes] = deque(maxlen=64)
        self._log_task: asyncio.Task | None = None
        self.nproc = 0

    # -- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the zygote and wait for its greeting. Raises :class:`SandboxStartError`, after cleaning up,
        when it cannot start, stays silent for :data:`START_TIMEOUT_S` or greets without this start's nonce."""
        nonce = secrets.token_hex(8)
        if self.isolation.tier == "bwrap":
            argv, cwd = bwrap_argv(self.isolation, nonce), None
            self.nproc = self.limits.processes if self.isolation.process_bound == "rlimit" else 0
        else:
            self.workdir = tempfile.mkdtemp(prefix="cobalt-sbx-")
            interpreter = self.isolation.interpreter
            workdir = os.path.join(self.workdir, "work")
            argv = zygote_argv(interpreter, nonce, workdir, landlock_readable(interpreter))
            cwd = self.workdir
            if self.isolation.process_bound == "rlimit":
                self.nproc = _processes_of_this_user() + self.limits.processes
        if self.isolation.cgroup is not None:
            self.cgroup = SandboxCgroup(
                self.isolation.cgroup, max_pids=self.limits.processes + 8, memory_bytes=_memory_backstop(self.limits)
            )
            argv = self.cgroup.wrap(argv)
        env = {} if self.isolation.tier == "bwrap" else dict(SANDBOX_ENV, HOME=cwd or "/")
        cwd = cwd or "/"  # the launcher shell exports PWD, which /proc/1/environ would show
        try:
            self.process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
            self._log_task = asyncio.ensure_future(self._drain_log())
            kind, payload = await asyncio.wait_for(self._read_frame(), START_TIMEOUT_S)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, SupervisorLost) as err:
            await self.close()
            raise SandboxStartError(f"sandbox did not start: {err!r}; log: {self.log_tail()}") from None
        if kind != b"R" or not payload.startswith(nonce.encode()):
            await self.close()
            raise SandboxStartError(f"sandbox sent an unexpected greeting; log: {self.log_tail()}")

    async def close(self) -> None:
        """Kill everything in the sandbox and remove its cgroup and working directory; safe to call twice."""
        process, self.process = self.process, None
        if process is not None:
            # Only killpg: asyncio's Process.kill() polls (and so reaps) a process that already
            # died, racing the child watcher, which then reports a bogus exit status.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, 9)
            await process.wait()
        if self._log_task is not None:
            self._log_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._log_task
            self._log_task = None
        if self.cgroup is not None:
            await asyncio.to_thread(self.cgroup.destroy)
            self.cgroup = None
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None

    @property
    def alive(self) -> bool:
        """Whether the zygote has been started and has not exited."""
        return self.process is not None and self.process.returncode is None

    def log_tail(self) -> str:
        """The last 2000 characters the zygote wrote to stderr, for error messages."""
        return b"".join(self._log).decode("utf-8", "replace")[-2000:]

    # -- protocol ----------------------------------------------------------------------------

    async def _drain_log(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        while chunk := await self.process.stderr.read(4096):
            self._log.append(chunk)

    def _write(self, message: dict) -> None:
        """Queue a message; the event loop flushes it as the pipe accepts (no drain: a drain here
        could wait on a zygote that is itself waiting for us to read its reply)."""
        if self.process is None or self.process.stdin is None or self.process.stdin.is_closing():
            raise SupervisorLost("sandbox is closed")
        payload = marshal.dumps(message)
        try:
            self.process.stdin.write(FRAME.pack(len(payload)) + payload)
        except (ConnectionError, RuntimeError) as err:
            raise SupervisorLost(f"cannot write to the sandbox: {err!r}") from None

    async def _read_frame(self) -> tuple[bytes, bytes]:
        if self.process is None or self.process.stdout is None:
            raise SupervisorLost("sandbox is closed")
        try:
            (size,) = FRAME.unpack(await self.process.stdout.readexactly(FRAME.size))
            if not 1 <= size <= MAX_CONTROL_FRAME:
                raise SupervisorLost(f"sandbox sent a frame of {size} bytes")
            frame = await self.process.stdout.readexactly(size)
        except asyncio.IncompleteReadError:
            raise SupervisorLost("sandbox closed its control channel") from None
        return frame[:1], frame[1:]

    async def load(self, code: str, fn_name: str | None, preimport: tuple[str, ...]) -> str | None:
        """Compile the program in the sandbox. Returns the compile error text, or None."""
        self._write(
            {
                "op": "load",
                "source": code,
                "mode": "call" if fn_name else "stdio",
                "fn_name": fn_name,
                "preimport": list(preimport),
            }
        )
        try:
            kind, payload = await asyncio.wait_for(self._read_frame(), START_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise SupervisorLost("sandbox did not answer the load request") from None
        if kind != b"L":
            raise SupervisorLost("sandbox answered the load request with the wrong message")
        return payload.decode("utf-8", "replace") or None

    def _test_request(self, stdin: bytes) -> dict:
        limits = self.limits
        return {
            "op": "test",
            "stdin": stdin,
            "wall": limits.wall_limit_s,
            "longest": limits.longest_wall_s,
            "stdout_cap": limits.stdout_bytes,
            "stderr_cap": limits.stderr_bytes,
            "limits": {
                "cpu": limits.cpu_rlimit,
                "memory": limits.memory_mb * MiB,
                "fsize": max(limits.file_bytes, limits.stdout_bytes + 1),
                "nofile": limits.open_files,
                "nproc": self.nproc,
            },
        }

    async def run_tests(self, stdins: list[bytes]) -> AsyncIterator[RawRun]:
        """Run tests in order, yielding each result as it arrives.

        Requests are pipelined (up to :data:`PIPELINE_DEPTH` ahead) so that the zygote goes from one
        test to the next without waiting for the parent: on small VMs every cross-process wake-up
        costs a fraction of a millisecond. Each reply must come within the wall limit plus a
        margin of the previous one, since the zygote runs the tests one after another; a test's wall
        limit stretches by the time it waited for a CPU, up to ``limits.longest_wall_s``.
        """
        sent = 0
        deadline_s = self.limits.longest_wall_s + REPLY_MARGIN_S
        for received in range(len(stdins)):
            while sent < len(stdins) and sent - received < PIPELINE_DEPTH:
                self._write(self._test_request(stdins[sent]))
                sent += 1
            try:
                kind, payload = await asyncio.wait_for(self._read_frame(), deadline_s)
            except asyncio.TimeoutError:
                raise SupervisorLost(f"sandbox gave no result within {deadline_s:.0f} s") from None
            if kind != b"T" or len(payload) < TEST_REPLY.size:
                raise SupervisorLost("sandbox sent a malformed test result")
            yield self._parse_run(payload)

    async def run_test(self, stdin: bytes) -> RawRun:
        """Run one test on ``stdin``; raises :class:`SupervisorLost` when the sandbox fails to answer."""
        async with contextlib.aclosing(self.run_tests([stdin])) as runs:
            async for raw in runs:
                return raw
        raise SupervisorLost("no result")  # pragma: no cover - run_tests yields or raises

    def _parse_run(self, payload: bytes) -> RawRun:
        fields = TEST_REPLY.unpack_from(payload)
        exit_code, sig, timed_out, cpu, wall, waited, rss, out_size, err_size, res_size = fields[:10]
        n_out, n_err, n_res, flags = fields[10:]
        body = payload[TEST_REPLY.size :]
        if n_out + n_err + n_res != len(body) or n_out > self.limits.stdout_bytes + 1:
            raise SupervisorLost("sandbox sent inconsistent output sizes")
        return RawRun(
            exit_code=exit_code,
            signal=sig,
            timed_out=bool(timed_out),
            cpu_s=max(0.0, cpu),
            wall_s=max(0.0, wall),
            max_rss_kb=max(0, rss),
            stdout_size=out_size,
            stderr_size=err_size,
            result_size=res_size,
            stdout=body[:n_out],
            stderr=body[n_out : n_out + n_err],
            result=body[n_out + n_err :],
            unclean=bool(flags & FLAG_UNCLEAN),
            cpu_wait_s=min(max(0.0, waited), max(0.0, wall)),
        )
