"""What the local CPU can do fast, for the choices that depend on it (bf16 on a CPU).

On a CPU with native bf16 instructions (x86 ``avx512_bf16`` or ``amx_bf16``), bf16 autocast runs
the tiny demo model's forward and backward passes about 2x faster than float32 (measured on an
AMD EPYC with ``avx512_bf16``, 2 threads: 64 sequences of 200 tokens in 0.62 s instead of 1.08 s,
of 390 tokens in 1.47 s instead of 3.27 s). On CPUs without them bf16 is emulated and slower than
float32, so it must not be switched on blindly.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

FAST_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
ENV_OVERRIDE = "COBALT_CPU_BF16"  # "1" or "0" forces the answer, e.g. to compare both on one machine


@functools.cache
def cpu_has_fast_bf16() -> bool:
    """True when the CPU computes bf16 natively (or ``COBALT_CPU_BF16=1``)."""
    forced = os.environ.get(ENV_OVERRIDE)
    if forced in ("0", "1"):
        return forced == "1"
    return bool(cpu_flags() & FAST_BF16_FLAGS)


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
