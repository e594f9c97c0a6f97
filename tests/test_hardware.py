"""The CPU bf16 probe that decides whether the demo's GRPO and generation autocast to bf16, and the
portable numerics that make a CPU model's training compute the same bits on every machine."""

from __future__ import annotations

import os

import pytest

from cobalt.hardware import ENV_OVERRIDE, PORTABLE_NUMERICS, cpu_flags, cpu_has_fast_bf16


@pytest.fixture(autouse=True)
def fresh_probe():
    cpu_has_fast_bf16.cache_clear()
    yield
    cpu_has_fast_bf16.cache_clear()


def test_flags_are_read_from_an_x86_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu sse2 avx512f avx512_bf16\n\nprocessor\t: 1\n"
    )
    assert cpu_flags(cpuinfo) == {"fpu", "sse2", "avx512f", "avx512_bf16"}


def test_flags_are_read_from_an_arm_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nFeatures\t: fp asimd bf16\n")
    assert "bf16" in cpu_flags(cpuinfo)


def test_no_cpuinfo_means_no_flags(tmp_path):
    assert cpu_flags(tmp_path / "missing") == set()


@pytest.mark.parametrize("forced", ["0", "1"])
def test_the_environment_forces_the_answer(monkeypatch, forced):
    monkeypatch.setenv(ENV_OVERRIDE, forced)
    assert cpu_has_fast_bf16() is (forced == "1")


def test_without_an_override_the_answer_follows_the_flags(monkeypatch):
    monkeypatch.delenv(ENV_OVERRIDE, raising=False)
    monkeypatch.delenv("ATEN_CPU_CAPABILITY", raising=False)
    assert cpu_has_fast_bf16() == bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


@pytest.mark.parametrize("capability", ["avx2", "default"])
def test_kernels_pinned_below_avx512_never_autocast_to_bf16(monkeypatch, capability):
    # PyTorch's bf16 attention then fails on a bf16-capable CPU ("pack_vnni2 is only supported when
    # avx512 is supported"): the walkthrough's training crashed after a demo run pinned the kernels.
    monkeypatch.delenv(ENV_OVERRIDE, raising=False)
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", capability)
    assert cpu_has_fast_bf16() is False


# --- portable numerics -------------------------------------------------------------------------------

TRAIN_A_LITTLE = """
import hashlib, os, sys
from cobalt.hardware import use_portable_numerics
pinned = use_portable_numerics() if sys.argv[1] == "portable" else False
import torch
torch.set_num_threads(int(sys.argv[2]))
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(192, 512), torch.nn.GELU(), torch.nn.Linear(512, 192))
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
data = torch.randn(2048, 192)
for _ in range(5):
    loss = (model(data) - data.flip(1)).pow(2).mean()
    optimizer.zero_grad(); loss.backward(); optimizer.step()
weights = b"".join(p.detach().numpy().tobytes() for p in model.parameters())
print(pinned, torch.backends.cpu.get_cpu_capability(), hashlib.sha256(weights).hexdigest())
"""


def train_a_little(numerics: str, threads: int) -> tuple[str, str, str]:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in PORTABLE_NUMERICS}
    done = subprocess.run(
        [sys.executable, "-c", TRAIN_A_LITTLE, numerics, str(threads)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    pinned, capability, digest = done.stdout.split()
    return pinned, capability, digest


@pytest.mark.skipif("avx2" not in cpu_flags(), reason="the portable kernels are AVX2's")
def test_portable_numerics_pin_the_kernels_and_make_training_independent_of_the_thread_count():
    first = train_a_little("portable", 1)
    assert first[:2] == ("True", "AVX2")
    # (on the CPU this was written on, the native kernels give other bits with 1 and 2 threads)
    assert train_a_little("portable", 2) == first  # the same bits whatever the core count
