"""What the local CPU can do fast, for the choices that depend on it (bf16 on a CPU), and how to make
it compute the same numbers as any other x86-64 CPU (:func:`use_portable_numerics`).

On a CPU with native bf16 instructions (x86 ``avx512_bf16`` or ``amx_bf16``), bf16 autocast runs
the tiny demo model's forward and backward passes about 2x faster than float32 (measured on an
AMD EPYC with ``avx512_bf16``, 2 threads: 64 sequences of 200 tokens in 0.62 s instead of 1.08 s,
of 390 tokens in 1.47 s instead of 3.27 s). On CPUs without them bf16 is emulated and slower than
float32, so it must not be switched on blindly.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

FAST_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
ENV_OVERRIDE = "COBALT_CPU_BF16"  # "1" or "0" forces the answer, e.g. to compare both on one machine

# PyTorch's own CPU kernels and MKL's each pick the widest instruction set the CPU has (AVX-512,
# AMX, AVX2), and sum in a different order on each; MKL also splits sums by thread. Pinning both to
# their AVX2 code paths (MKL's "conditional numerical reproducibility" in strict mode) makes a CPU
# model's float32 training compute the same bits on every x86-64 CPU with AVX2, whatever its
# vendor, model or core count.
PORTABLE_NUMERICS = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2,STRICT"}


@functools.cache
def cpu_has_fast_bf16() -> bool:
    """True when the CPU computes bf16 natively (or ``COBALT_CPU_BF16=1``)."""
    forced = os.environ.get(ENV_OVERRIDE)
    if forced in ("0", "1"):
        return forced == "1"
    if not _kernels_may_use_avx512():
        return False
    return bool(cpu_flags() & FAST_BF16_FLAGS)


def _kernels_may_use_avx512() -> bool:
    """False when ``ATEN_CPU_CAPABILITY`` pins PyTorch's kernels below AVX-512 (``avx2``, ``default``):
    its bf16 attention kernels then fail on a bf16-capable CPU ("pack_vnni2 is only supported when
    avx512 is supported"), so bf16 must stay off (reproduced with torch 2.13, 6 Dec 2026)."""
    pinned = os.environ.get("ATEN_CPU_CAPABILITY", "").strip().lower()
    return not pinned or pinned.startswith("avx512")


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str]:
    """The instruction-set flags the kernel reports (empty where there is no /proc/cpuinfo)."""
    try:
        text = cpuinfo.read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


def use_portable_numerics() -> bool:
    """Pin this process's CPU kernels (and its children's, through the environment) to
    :data:`PORTABLE_NUMERICS`; True when they are pinned. Variables already set are left as they
    are. It must run before torch is imported: torch reads them once, so a process that has already
    imported it keeps its kernels (its children still get the pinned ones). Not on CPUs without
    AVX2 (nor off x86), where the pinned paths do not exist."""
    if "avx2" not in cpu_flags():
        return False
    for name, value in PORTABLE_NUMERICS.items():
        os.environ.setdefault(name, value)
    if "torch" in sys.modules:
        log.warning("torch is already imported: portable numerics apply to child processes only")
        return False
    return True
