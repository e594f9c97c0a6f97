"""Per-sandbox cgroups: the process-count and memory bound that works for root.

For uid 0 the kernel does not enforce ``RLIMIT_NPROC``, not even inside a user namespace, so a
fork bomb run by root escapes rlimits. Each sandbox therefore gets a cgroup of its own with a
``pids`` limit (and a ``memory`` limit as a backstop to the per-test ``RLIMIT_AS``). Both cgroup v1
(``/sys/fs/cgroup/{pids,memory}``) and v2 (a unified hierarchy with the controllers enabled) are
supported. Sandboxes are placed in their cgroup *before* anything runs in them: the launch command
is wrapped in ``/bin/sh -c 'echo $$ > cgroup.procs; exec ...'``.
"""

from __future__ import annotations

import itertools
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

ROOT = Path("/sys/fs/cgroup")
GROUP = "cobalt"
_counter = itertools.count()


@dataclass(frozen=True)
class CgroupLayout:
    """Where this host lets us create per-sandbox cgroups."""

    version: int
    pids_parent: Path
    memory_parent: Path | None

    def describe(self) -> str:
        """A short human description, e.g. ``cgroup v2 (pids, memory)``."""
        memory = "memory" if self.memory_parent else "no memory controller"
        return f"cgroup v{self.version} (pids, {memory})"


def _writable_dir(path: Path) -> bool:
    try:
        path.mkdir(exist_ok=True)
        return os.access(path, os.W_OK)
    except OSError:
        return False


def _v2_layout(root: Path) -> CgroupLayout | None:
    controllers_file = root / "cgroup.controllers"
    if not controllers_file.exists():
        return None
    try:
        available = set(controllers_file.read_text().split())
    except OSError:
        return None
    if "pids" not in available:
        return None
    parent = root / GROUP
    if not _writable_dir(parent):
        return None
    wanted = [c for c in ("pids", "memory") if c in available]
    try:
        (root / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in wanted))
        (parent / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in wanted))
    except OSError as err:
        log.debug("cannot enable cgroup v2 controllers under %s: %s", parent, err)
        return None
    enabled = set((parent / "cgroup.subtree_control").read_text().split())
    if "pids" not in enabled:
        return None
    return CgroupLayout(2, parent, parent if "memory" in enabled else None)


def _v1_layout(root: Path) -> CgroupLayout | None:
    pids = root / "pids"
    if not (pids / "cgroup.procs").exists() or not _writable_dir(pids / GROUP):
        return None
    memory = root / "memory"
    memory_parent = memory / GROUP if (memory / "cgroup.procs").exists() and _writable_dir(memory / GROUP) else None
    return CgroupLayout(1, pids / GROUP, memory_parent)


def detect_layout(root: Path = ROOT) -> CgroupLayout | None:
    """The cgroup layout usable for sandboxes, or None (not root, or no pids controller)."""
    layout = _v2_layout(root) or _v1_layout(root)
    if layout is not None:
        remove_stale(layout)
    return layout


class SandboxCgroup:
    """One sandbox's cgroup(s): create, bound, kill everything inside, remove."""

    def __init__(self, layout: CgroupLayout, *, max_pids: int, memory_bytes: int):
        self.layout = layout
        name = f"{os.getpid()}-{next(_counter)}"
        self.dirs = [layout.pids_parent / name]
        if layout.memory_parent is not None and layout.memory_parent != layout.pids_parent:
            self.dirs.append(layout.memory_parent / name)
        for path in self.dirs:
            path.mkdir()
        pids_dir = self.dirs[0]
        (pids_dir / "pids.max").write_text(str(max_pids))
        if layout.memory_parent is not None:
            memory_dir = self.dirs[-1]
            limit_file = "memory.max" if layout.version == 2 else "memory.limit_in_bytes"
            (memory_dir / limit_file).write_text(str(memory_bytes))
            swap = memory_dir / "memory.swap.max"
            if layout.version == 2 and swap.exists():
                swap.write_text("0")

    @property
    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` file of each directory (pids first) that a process joins by writing its pid."""
        return [str(path / "cgroup.procs") for path in self.dirs]

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` started inside this cgroup before it executes anything."""
        joins = " && ".join(f'echo $$ > "${i + 1}"' for i in range(len(self.procs_files)))
        script = f'{joins} && shift {len(self.procs_files)} && exec "$@"'
        return ["/bin/sh", "-c", script, "cobalt-cgroup", *self.procs_files, *argv]

    def pids(self) -> list[int]:
        """The processes now in the cgroup; empty when it cannot be read (e.g. already removed)."""
        try:
            return [int(pid) for pid in (self.dirs[0] / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def memory_peak_bytes(self) -> int | None:
        """The most memory the cgroup's processes used together, or None without a memory controller or a
        readable counter (v2's ``memory.peak`` needs Linux 5.19)."""
        if self.layout.memory_parent is None:
            return None
        name = "memory.peak" if self.layout.version == 2 else "memory.max_usage_in_bytes"
        try:
            return int((self.dirs[-1] / name).read_text())
        except (OSError, ValueError):
            return None

    def destroy(self, timeout_s: float = 5.0) -> bool:
        """Kill every process left in the cgroup and remove it. Returns True when removed."""
        deadline = time.monotonic() + timeout_s
        while True:
            pids = self.pids()
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if not pids:
                break
            if time.monotonic() > deadline:
                log.warning("cgroup %s still has processes %s", self.dirs[0], pids)
                return False
            time.sleep(0.002)
        removed = True
        for path in self.dirs:
            for _ in range(100):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:  # processes just killed can linger for a moment
                    time.sleep(0.002)
            else:
                removed = False
        return removed


def remove_stale(layout: CgroupLayout) -> None:
    """Remove sandbox cgroups left behind by Cobalt processes that no longer exist."""
    parents = {layout.pids_parent, layout.memory_parent} - {None}
    for parent in parents:
        assert parent is not None
        for child in parent.iterdir():
            owner = child.name.split("-", 1)[0]
            if not child.is_dir() or not owner.isdigit() or Path(f"/proc/{owner}").exists():
                continue
            try:
                for pid in (child / "cgroup.procs").read_text().split():
                    os.kill(int(pid), signal.SIGKILL)
                child.rmdir()
            except OSError:
                pass
