"""Fixtures shared across the test packages.

``tiny_model_dir``: a tiny chat model (byte-level BPE tokenizer with ChatML, ~1.7 M-parameter
Qwen2) built once per session into a temporary directory, with no download. It writes noise: use
it to test mechanics, never quality.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cobalt.hardware import PORTABLE_NUMERICS

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach the Hugging Face hub


def pytest_configure(config: pytest.Config) -> None:
    # Tiny models gain nothing from a second thread, and two threads contending with the sandboxes
    # (or with other jobs) on a 2-core machine made the training tests 8x slower.
    import torch

    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def kernel_settings_restored():
    """A demo run exports :data:`PORTABLE_NUMERICS` to its child processes; undo it after each test, so
    that a later test's subprocesses (the walkthrough, a CLI run) get this machine's own kernels."""
    saved = {name: os.environ.get(name) for name in PORTABLE_NUMERICS}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cobalt.demo.tiny_model import build_tiny_model_dir

    return build_tiny_model_dir(tmp_path_factory.mktemp("tiny-model") / "model")
