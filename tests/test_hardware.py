"""The CPU bf16 probe that decides whether the demo's GRPO and generation autocast to bf16."""

from __future__ import annotations

import pytest

from cobalt.hardware import ENV_OVERRIDE, cpu_flags, cpu_has_fast_bf16


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
    assert cpu_has_fast_bf16() == bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})
