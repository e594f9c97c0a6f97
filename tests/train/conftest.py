"""Fixtures shared by the training tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """A two-layer model of a few thousand parameters with its tokenizer, for tests that drive
    TRL's ``GRPOTrainer`` internals directly (the k2 KL term, shared-prompt scoring)."""
    from cobalt.tiny_model import TinyModelConfig, build_tiny_model_dir

    path = tmp_path_factory.mktemp("grpo-model")
    shape = TinyModelConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, intermediate_size=64
    )
    build_tiny_model_dir(path, corpus=["print(1 + 2)\n", "def f(x):\n    return x\n"] * 50, config=shape)
    return path
