"""Demo tests reuse the evaluation tests' hand-made trajectories (``evaluate_testkit``), and keep the
kernel settings a demo run exports (portable numerics) from leaking into later tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cobalt.hardware import PORTABLE_NUMERICS

sys.path.insert(0, str(Path(__file__).parents[1] / "evaluate"))


@pytest.fixture(autouse=True)
def kernel_settings_restored(monkeypatch):
    """A demo run sets :data:`PORTABLE_NUMERICS` in the environment; each test's changes are undone."""
    for name, value in PORTABLE_NUMERICS.items():
        monkeypatch.setenv(name, value)
