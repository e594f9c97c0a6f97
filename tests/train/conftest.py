"""Fixtures shared by the training tests."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory):
    """A two-layer model of a few thousand parameters with its tokenizer, for tests that drive
    TRL's ``GRPOTrainer`` internals directly (the k2 KL term, shared-prompt scoring)."""
    from cobalt.demo.tiny_model import TinyModelConfig, build_tiny_model_dir

    path = tmp_path_factory.mktemp("grpo-model")
    shape = TinyModelConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1, intermediate_size=64
    )
    build_tiny_model_dir(path, corpus=["print(1 + 2)\n", "def f(x):\n    return x\n"] * 50, config=shape)
    return path


@pytest.fixture
def grpo_trainer(model_dir):
    """Builds ``trainer_class`` (TRL's ``GRPOTrainer`` or a Cobalt composition of it) on a CPU around
    :func:`model_dir`, with a constant reward and ``group`` identical prompts, in training mode: for
    tests that call its loss and scoring methods directly."""
    return lambda *args, **grpo_args: cpu_grpo_trainer(model_dir, *args, **grpo_args)


def cpu_grpo_trainer(model_dir, trainer_class: Any, out, group: int, completion: int, **grpo_args: Any) -> Any:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig

    args = GRPOConfig(
        output_dir=str(out),
        use_cpu=True,
        bf16=False,
        gradient_checkpointing=False,
        report_to="none",
        num_generations=group,
        per_device_train_batch_size=group,
        max_completion_length=completion,
        **grpo_args,
    )
    trainer = trainer_class(
        model=AutoModelForCausalLM.from_pretrained(model_dir),
        reward_funcs=[lambda completions, **_: [0.0] * len(completions)],
        args=args,
        train_dataset=Dataset.from_list([{"prompt": [{"role": "user", "content": "hi"}]}] * group),
        processing_class=AutoTokenizer.from_pretrained(model_dir),
    )
    trainer.model.train()
    return trainer
