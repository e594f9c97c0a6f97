"""Isolation tiers: probe what this host allows, build the command that starts a sandbox.

Tiers, strongest first:

``bwrap``
    bubblewrap with fresh user, pid, network, ipc, uts and cgroup namespaces; a root filesystem
    holding only read-only binds of ``/usr`` and the interpreter's prefix (site-packages masked);
    a private size-limited ``/tmp``; read-only ``/dev`` (so no ``/dev/shm``); no home, no working
    or dataset directories, no host sockets; an empty environment (bwrap itself is started with
    one too, because ``/proc/1/environ`` inside shows bwrap's own environment).
``process``
    for hosts without user namespaces: the zygote runs as a plain process with rlimits, its own
    session and process group, no-new-privs, a private working directory and an empty environment.
    The filesystem and network are *not* isolated, so this tier only runs with ``allow_unsafe``.

Independently, the number of processes a sandbox may create must be bounded: by a per-sandbox
cgroup when running as root (root ignores ``RLIMIT_NPROC``), by ``RLIMIT_NPROC`` otherwise (inside
a user namespace it counts only the sandbox's processes). The probe checks the bound with a
*bounded* fork test (at most 400 forks) before anything is trusted to it, and fails closed.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cobalt.sandbox.cgroups import CgroupLayout, SandboxCgroup, detect_layout
from cobalt.sandbox.config import SandboxConfig

log = logging.getLogger(__name__)

ZYGOTE_SOURCE = (Path(__file__).with_name("zygote.py")).read_text()
SANDBOX_TMP = "/tmp"
SANDBOX_WORKDIR = SANDBOX_TMP  # wiped after every test: nothing written carries over
SANDBOX_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": SANDBOX_TMP,
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MALLOC_ARENA_MAX": "2",
}
FORK_PROBE_ATTEMPTS = 400

ProcessBound = Literal["cgroup", "rlimit", "none"]


class SandboxUnavailable(RuntimeError):
    """No isolation tier at or above the required minimum works on this host."""


@dataclass(frozen=True)
class Interpreter:
    """The Python that runs inside sandboxes: its real path, installation prefix, site-packages
    directories (masked in the sandbox) and version."""

    executable: str
    prefix: str
    site_packages: tuple[str, ...]
    version: str


@dataclass(frozen=True)
class Isolation:
    """The probed way of running sandboxes on this host."""

    tier: Literal["bwrap", "process"]
    process_bound: ProcessBound
    interpreter: Interpreter
    bwrap: str | None = None
    bwrap_flags: tuple[str, ...] = ()
    cgroup: CgroupLayout | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def safe(self) -> bool:
        """Whether this meets the minimum for untrusted code: the ``bwrap`` tier with a working process bound."""
        return self.tier == "bwrap" and self.process_bound != "none"

    def describe(self) -> str:
        """One line for logs and errors: the tier, the process bound and the interpreter."""
        bound = self.cgroup.describe() if self.cgroup else self.process_bound
        return f"tier={self.tier}, process bound={bound}, python={self.interpreter.executable}"


# --- interpreter --------------------------------------------------------------------------------


def _interpreter_of(python: str | None) -> Interpreter:
    if python is None:
        site = sysconfig.get_paths()
        dirs = {site["purelib"], site["platlib"]}
        base_site = {d.replace(sys.prefix, sys.base_prefix, 1) for d in dirs}
        return Interpreter(
            executable=os.path.realpath(sys.executable),
            prefix=os.path.realpath(sys.base_prefix),
            site_packages=tuple(sorted(os.path.realpath(d) for d in base_site if os.path.isdir(d))),
            version=sys.version.split()[0],
        )
    query = (
        "import sys, sysconfig, os;"
        "p = sysconfig.get_paths();"
        "print(os.path.realpath(sys.executable));print(os.path.realpath(sys.base_prefix));"
        "print(repr(sorted({p['purelib'].replace(sys.prefix, sys.base_prefix, 1),"
        " p['platlib'].replace(sys.prefix, sys.base_prefix, 1)})));print(sys.version.split()[0])"
    )
    out = subprocess.run([python, "-I", "-c", query], capture_output=True, text=True, check=True, timeout=30)
    executable, prefix, site, version = out.stdout.splitlines()
    from ast import literal_eval

    dirs = tuple(d for d in literal_eval(site) if os.path.isdir(d))
    return Interpreter(executable, prefix, dirs, version)


def zygote_argv(interpreter: Interpreter, nonce: str, workdir: str, readable: list[str] | None = None) -> list[str]:
    """The zygote's command line. ``readable`` (process tier) asks it to confine itself with
    Landlock to reading those paths and writing ``workdir``."""
    argv = [interpreter.executable, "-I", "-S", "-X", "int_max_str_digits=0", "-c", ZYGOTE_SOURCE, nonce, workdir]
    return argv if readable is None else [*argv, ":".join(readable)]


def landlock_readable(interpreter: Interpreter) -> list[str]:
    """What a process-tier program may read: the system's libraries and the interpreter."""
    system = [path for path in ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/dev/urandom") if os.path.exists(path)]
    return [*system, interpreter.prefix]


# --- bwrap --------------------------------------------------------------------------------------


def _root_binds() -> list[str]:
    flags = ["--ro-bind", "/usr", "/usr"]
    for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        path = Path(name)
        if path.is_symlink():
            flags += ["--symlink", os.readlink(path), name]
        elif path.is_dir():
            flags += ["--ro-bind", name, name]
    return flags


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def bwrap_flags(interpreter: Interpreter, config: SandboxConfig, *, disable_userns: bool) -> list[str]:
    """Every bwrap option except the command; the sandbox's layout is decided here."""
    flags = [
        "--unshare-all",
        "--unshare-user",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
    ]
    if disable_userns:
        flags.append("--disable-userns")
    flags += _root_binds()
    if not _under(interpreter.prefix, "/usr"):
        flags += ["--ro-bind", interpreter.prefix, interpreter.prefix]
    for site in interpreter.site_packages:
        # -S keeps them off sys.path; masking also hides their files (and any data inside them).
        flags += ["--tmpfs", site, "--remount-ro", site]
    flags += ["--proc", "/proc", "--dev", "/dev", "--remount-ro", "/dev"]
    flags += ["--size", str(config.limits.tmpfs_mb << 20), "--tmpfs", SANDBOX_TMP, "--chdir", SANDBOX_TMP]
    flags += ["--remount-ro", "/"]  # bwrap's root is an unbounded tmpfs: only /tmp may be written
    flags += ["--clearenv"]
    for key, value in SANDBOX_ENV.items():
        flags += ["--setenv", key, value]
    return flags


def bwrap_argv(isolation: Isolation, nonce: str) -> list[str]:
    """The command line that starts a zygote inside bubblewrap (``bwrap`` tier only)."""
    assert isolation.bwrap is not None
    return [
        isolation.bwrap,
        *isolation.bwrap_flags,
        "--",
        *zygote_argv(isolation.interpreter, nonce, SANDBOX_WORKDIR),
    ]


@functools.lru_cache(maxsize=8)
def _bwrap_supports(bwrap: str, option: str) -> bool:
    try:
        help_text = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return option in help_text


# --- probes -------------------------------------------------------------------------------------

_FORK_PROBE = f"""
import os, sys, resource
limit = int(sys.argv[1])
if limit:
    resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
r, w = os.pipe()
count = 0
for _ in range({FORK_PROBE_ATTEMPTS}):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        os.close(w)
        os.read(r, 1)
        os._exit(0)
    count += 1
print(count, flush=True)
os.close(w)
"""


def _launch_probe(argv: list[str], cgroup: SandboxCgroup | None, cwd: str | None) -> subprocess.CompletedProcess:
    full = cgroup.wrap(argv) if cgroup else argv
    return subprocess.run(full, capture_output=True, text=True, timeout=60, env={}, cwd=cwd)


def _probe_process_bound(
    command: list[str], layout: CgroupLayout | None, config: SandboxConfig, *, nproc: int, cwd: str | None
) -> tuple[bool, str]:
    """Fork up to 400 times inside a sandbox and check that the bound stopped it."""
    limit = config.limits.processes
    cgroup = SandboxCgroup(layout, max_pids=limit + 8, memory_bytes=1 << 30) if layout else None
    try:
        done = _launch_probe([*command, "-c", _FORK_PROBE, str(nproc)], cgroup, cwd)
    finally:
        if cgroup:
            cgroup.destroy()
    try:
        forked = int(done.stdout.split()[0])
    except (IndexError, ValueError):
        return False, f"fork probe failed: {done.stderr.strip()[-300:]}"
    if forked >= FORK_PROBE_ATTEMPTS or forked > limit + 8:
        return False, f"fork probe created {forked} processes; the bound of {limit} does not hold"
    return True, f"fork probe stopped at {forked} processes"


def _sandbox_python(interpreter: Interpreter) -> list[str]:
    return [interpreter.executable, "-I", "-S"]


def _probe_bwrap(
    interpreter: Interpreter, config: SandboxConfig, layout: CgroupLayout | None, euid: int
) -> tuple[Isolation | None, list[str]]:
    notes: list[str] = []
    bwrap = shutil.which(config.bwrap)
    if bwrap is None:
        return None, [f"bubblewrap not found ({config.bwrap!r}); install it, e.g. apt-get install bubblewrap"]
    disable_userns = _bwrap_supports(bwrap, "--disable-userns")
    flags = bwrap_flags(interpreter, config, disable_userns=disable_userns)
    command = [bwrap, *flags, "--", *_sandbox_python(interpreter)]
    try:
        smoke = _launch_probe([*command, "-c", "print('cobalt-ok')"], None, None)
    except (OSError, subprocess.SubprocessError) as err:
        return None, [f"bubblewrap failed to start: {err}"]
    if smoke.returncode != 0 or "cobalt-ok" not in smoke.stdout:
        return None, [f"bubblewrap cannot create the sandbox: {smoke.stderr.strip()[-400:]}"]
    bound: ProcessBound = "cgroup" if layout else ("rlimit" if euid != 0 else "none")
    if bound == "none":
        notes.append("running as root without a writable pids cgroup: processes cannot be bounded")
    else:
        ok, message = _probe_process_bound(
            command, layout, config, nproc=0 if layout else config.limits.processes, cwd=None
        )
        notes.append(message)
        if not ok:
            bound = "none"
    return Isolation(
        "bwrap", bound, interpreter, bwrap, tuple(flags), layout if bound == "cgroup" else None, tuple(notes)
    ), notes


def landlock_abi() -> int:
    """The kernel's Landlock ABI version (0 when unsupported)."""
    import ctypes

    try:
        return max(0, ctypes.CDLL(None, use_errno=True).syscall(444, None, 0, 1))
    except (OSError, AttributeError):
        return 0


def _probe_process(
    interpreter: Interpreter, config: SandboxConfig, layout: CgroupLayout | None, euid: int
) -> Isolation:
    abi = landlock_abi()
    if abi:
        confined = "reads and writes" + (", TCP" if abi >= 4 else "") + (", signals" if abi >= 6 else "")
        notes = [f"process tier: Landlock ABI {abi} confines {confined}; no namespaces"]
    else:
        notes = ["process tier: no Landlock, so no filesystem or network isolation"]
    bound: ProcessBound = "cgroup" if layout else "none"
    if layout:
        with tempfile.TemporaryDirectory(prefix="cobalt-probe-") as cwd:
            ok, message = _probe_process_bound(_sandbox_python(interpreter), layout, config, nproc=0, cwd=cwd)
        notes.append(message)
        bound = "cgroup" if ok else "none"
    elif euid != 0:
        notes.append("RLIMIT_NPROC outside a user namespace counts every process of this user")
        bound = "rlimit"
    return Isolation("process", bound, interpreter, cgroup=layout if bound == "cgroup" else None, notes=tuple(notes))


_PROBED: dict[tuple, Isolation] = {}


def probe(config: SandboxConfig) -> Isolation:
    """Pick the strongest tier that works here (cached per configuration); fail closed.

    Raises :class:`SandboxUnavailable` when the result is below the minimum (the ``bwrap`` tier
    with a working process bound) and ``config.allow_unsafe`` is false.
    """
    key = (config.tier, config.bwrap, config.python, config.limits.processes, config.limits.tmpfs_mb, os.geteuid())
    isolation = _PROBED.get(key)
    if isolation is None:
        isolation = _probe_uncached(config)
        _PROBED[key] = isolation
        log.info("sandbox isolation: %s (%s)", isolation.describe(), "; ".join(isolation.notes))
    if not isolation.safe and not config.allow_unsafe:
        raise SandboxUnavailable(
            f"refusing to run untrusted code with {isolation.describe()}: "
            + "; ".join(isolation.notes)
            + ". Fix the host (install bubblewrap, allow unprivileged user namespaces, run as a normal user "
            "or give root a pids cgroup), or pass allow_unsafe=True / --allow-unsafe to accept weaker isolation."
        )
    return isolation


def _probe_uncached(config: SandboxConfig) -> Isolation:
    interpreter = _interpreter_of(config.python)
    euid = os.geteuid()
    layout = detect_layout() if euid == 0 else None
    notes: list[str] = []
    if config.tier in ("auto", "bwrap"):
        isolation, notes = _probe_bwrap(interpreter, config, layout, euid)
        if isolation is not None:
            return isolation
        if config.tier == "bwrap":
            raise SandboxUnavailable("the bwrap tier was requested but does not work here: " + "; ".join(notes))
    fallback = _probe_process(interpreter, config, layout, euid)
    return Isolation(
        fallback.tier,
        fallback.process_bound,
        fallback.interpreter,
        cgroup=fallback.cgroup,
        notes=(*notes, *fallback.notes),
    )


def clear_probe_cache() -> None:
    """Forget every probed isolation, so that the next :func:`probe` looks at the host again."""
    _PROBED.clear()
