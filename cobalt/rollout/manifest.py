"""The run manifest: a JSON file beside a run's output saying how it was made.

It holds the configuration, the seed, the versions of the packages that shape the output, the git
commit of the Cobalt checkout (and whether it had local changes), the host, and one entry per
session (start, end, command line, statistics), since a resumed run has several. It is replaced
atomically (write to a temporary file, then rename), so a killed run never leaves half a manifest.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("cobalt-rl", "torch", "transformers", "tokenizers", "vllm", "openai", "pydantic")


def manifest_path(out: str | os.PathLike) -> Path:
    """``runs/eval.jsonl`` -> ``runs/eval.manifest.json``."""
    out = Path(out)
    return out.with_name(out.stem + ".manifest.json")


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str | None]:
    """The installed version of each package in ``names`` (None when it is not installed), and the
    Python version under ``python``."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_state(path: Path | None = None) -> dict[str, Any]:
    """Commit and dirtiness of the git checkout holding Cobalt's source (None when not in one)."""
    root = path or Path(__file__).resolve().parents[2]

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status)}


def read_manifest(path: str | os.PathLike) -> dict[str, Any] | None:
    """The manifest at ``path``, or None when it is missing, unreadable or not JSON."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def write_manifest(path: str | os.PathLike, manifest: dict[str, Any]) -> None:
    """Replace ``path`` atomically with ``manifest`` as indented JSON."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def new_session() -> dict[str, Any]:
    """A new session entry: start time, command line, host and process id, with status ``running``
    until the caller records how it ended."""
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": sys.argv,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "status": "running",
    }


def base_manifest(kind: str, config: dict[str, Any], seed: int | None) -> dict[str, Any]:
    """A new manifest of a ``kind`` run (``rollout``, ...): its configuration and seed, the package
    versions, the git state and the platform, and no sessions yet."""
    return {
        "kind": kind,
        "config": config,
        "seed": seed,
        "packages": package_versions(),
        "git": git_state(),
        "platform": platform.platform(),
        "sessions": [],
    }
