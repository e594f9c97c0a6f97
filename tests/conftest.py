"""Fixtures shared across the test packages.

``tiny_model_dir``: a tiny chat model (byte-level BPE tokenizer with ChatML, ~1.7 M-parameter
Qwen2) built once per session into a temporary directory, with no download. It writes noise: use
it to test mechanics, never quality.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach the Hugging Face hub


def pytest_configure(config: pytest.Config) -> None:
    # Tiny models gain nothing from a second thread, and two threads contending with the sandboxes
    # (or with other jobs) on a 2-core machine made the training tests 8x slower.
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cobalt.demo.tiny_model import build_tiny_model_dir

    return build_tiny_model_dir(tmp_path_factory.mktemp("tiny-model") / "model")
