"""The settings that reach TRL: the ``trl:`` pass-through, logging, vLLM memory, dtype, LoRA."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from cobalt.cli.main import main
from cobalt.config import build_config
from cobalt.jsonl import InputError
from cobalt.train.config import DERIVED_TRL_FIELDS, TrainConfig
from cobalt.train.trainer import grpo_args, peft_config

CPU = ["use_cpu=true", "use_vllm=false", "bf16=false"]


def args_of(*sets: str, preset: str = "one-gpu") -> Any:
    return grpo_args(build_config(TrainConfig, preset=preset, sets=[*CPU, *sets]), "unused")


def test_the_default_config_logs_to_nothing_installed():
    # TRL reads report_to=["tensorboard"] as "import tensorboard", which Cobalt does not depend on.
    assert TrainConfig().report_to == []
    for preset in ("paper-8b", "paper-8b-8gpu", "paper-single-turn", "one-gpu", "one-gpu-8b-lora", "tiny-cpu"):
        assert TrainConfig.load(preset).report_to == [], preset
    assert args_of().report_to == []  # TrainingArguments' "none"


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is not None, reason="tensorboard is installed here")
def test_a_logger_that_is_not_installed_is_named_with_its_extra():
    with pytest.raises(InputError, match=r"pip install -e '\.\[tensorboard\]' in the Cobalt checkout"):
        args_of("report_to=[tensorboard]")


def test_gpu_memory_settings_reach_grpo_config():
    args = args_of(
        "vllm_enable_sleep_mode=true",
        "model_dtype=bfloat16",
        "attn_implementation=sdpa",
        "chat_template_kwargs={enable_thinking: false}",
        "vllm_mode=server",
        "vllm_server_host=10.0.0.2",
        "vllm_server_port=8011",
    )
    assert args.vllm_enable_sleep_mode is True
    assert args.model_init_kwargs == {"dtype": "bfloat16", "attn_implementation": "sdpa"}
    assert args.chat_template_kwargs == {"enable_thinking": False}
    assert (args.vllm_mode, args.vllm_server_host, args.vllm_server_port) == ("server", "10.0.0.2", 8011)


def test_vllm_context_defaults_to_the_longest_training_sequence():
    assert args_of().vllm_max_model_length == 4096 + 1024  # one-gpu: prompts of 4096, completions of 1024
    assert args_of("vllm_max_model_length=8192").vllm_max_model_length == 8192


def test_the_policy_loads_in_float32_by_default_as_trl_does():
    # bf16 weights would round away updates of lr 1e-6 without DeepSpeed's fp32 master copy.
    assert args_of().model_init_kwargs == {"dtype": "float32"}


def test_any_other_grpo_config_field_passes_through():
    args = args_of("trl.vllm_server_timeout=30", "trl.top_k=20", "trl.model_init_kwargs={revision: main}")
    assert args.vllm_server_timeout == 30.0 and args.top_k == 20
    assert args.model_init_kwargs == {"revision": "main", "dtype": "float32"}


def test_trl_fields_in_a_yaml_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("trl:\n  vllm_structured_outputs_regex: null\n  mask_truncated_completions: true\n")
    config = build_config(TrainConfig, preset="one-gpu", file=path, sets=CPU)
    assert grpo_args(config, "unused").mask_truncated_completions is True


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("trl.vllm_enable_sleep_mod=true", "not a field of TRL's GRPOConfig (did you mean vllm_enable_sleep_mode?)"),
        ("trl.learning_rate=1e-5", "is a Cobalt setting: set `learning_rate` itself"),
        ("trl.gradient_accumulation_steps=4", "decided by Cobalt from prompts_per_update"),
        ("trl.top_k=many", "does not fit GRPOConfig's type"),
        ("trl.model_init_kwargs={dtype: bfloat16}", "set model_dtype instead"),
    ],
)
def test_a_bad_trl_field_is_a_clear_error(item, message):
    with pytest.raises(InputError, match="trl") as err:
        build_config(TrainConfig, preset="one-gpu", sets=[item])
    assert message in str(err.value)


def test_a_bad_trl_field_fails_the_command_with_exit_2(capsys):
    assert main(["train", "--config", "one-gpu", "--set", "trl.no_such_field=1", "--print-config"]) == 2
    assert "trl.no_such_field is not a field of TRL's GRPOConfig" in capsys.readouterr().err


def test_every_grpo_config_field_cobalt_sets_is_a_setting_or_declared_derived(monkeypatch):
    """A `trl:` key may not fight a field Cobalt sets: each one is a TrainConfig setting of the same
    name or listed in DERIVED_TRL_FIELDS (what the refusal message names)."""
    import trl

    seen: dict[str, Any] = {}
    monkeypatch.setattr(trl, "GRPOConfig", lambda **kwargs: seen.update(kwargs))
    config = build_config(TrainConfig, preset="paper-8b", sets=[*CPU, "eval_dataset=x.jsonl"])
    grpo_args(config, "unused")
    allowed = set(TrainConfig.model_fields) | set(DERIVED_TRL_FIELDS) | {"model_init_kwargs", "vllm_max_model_length"}
    assert set(seen) <= allowed, set(seen) - allowed


# --- LoRA ------------------------------------------------------------------------------------------------


def test_lora_settings_nest_and_have_flags(capsys):
    config = build_config(TrainConfig, preset="one-gpu", sets=["lora.r=16", "lora.target_modules=[q_proj, v_proj]"])
    assert config.lora is not None and (config.lora.r, config.lora.alpha) == (16, 128)
    assert main(["train", "--config", "one-gpu", "--lora-r", "8", "--print-config"]) == 0
    assert "r: 8" in capsys.readouterr().out
    assert TrainConfig.load("one-gpu").lora is None  # full fine-tuning unless asked


@pytest.mark.skipif(importlib.util.find_spec("peft") is not None, reason="peft is installed here")
def test_lora_without_peft_names_the_extra():
    config = TrainConfig.load("one-gpu-8b-lora")
    with pytest.raises(InputError, match=r"pip install -e '\.\[peft\]'"):
        peft_config(config)


def test_lora_builds_peft_config():
    peft = pytest.importorskip("peft")
    lora = peft_config(TrainConfig.load("one-gpu-8b-lora"))
    assert isinstance(lora, peft.LoraConfig) and lora.r == 64 and lora.lora_alpha == 128
    assert set(lora.target_modules) == {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
    assert peft_config(TrainConfig.load("one-gpu")) is None


def test_lora_trains_only_the_adapters_against_the_base_on_a_cpu(tiny_model_dir, tmp_path):
    """The LoRA preset, shrunk to the tiny Qwen2 model: TRL wraps it in adapters, loads no reference
    model, and an update moves the adapters and leaves the base weights as they were."""
    pytest.importorskip("peft")
    import torch

    from cobalt.bandit.io import write_examples
    from cobalt.data.bundled import BundledConfig, generate_suite
    from cobalt.train.baselines.single_turn import problem_examples
    from cobalt.train.trainer import build_trainer

    problems = generate_suite(BundledConfig(train=2, dev=0, test=0, seed=3), splits=("train",))["train"]
    dataset = tmp_path / "bandit.jsonl"
    write_examples(problem_examples(problems), dataset)
    settings = {
        "model": str(tiny_model_dir),
        "dataset": str(dataset),
        "output_dir": str(tmp_path / "run"),
        "model_dtype": "float32",  # bf16 matmuls on this CPU would only slow the test
        "lora": {"r": 4, "alpha": 8, "target_modules": ["q_proj", "v_proj"]},
        "use_vllm": False,
        "use_cpu": True,
        "bf16": False,
        "gradient_checkpointing": True,  # as the preset: TRL must make checkpointed blocks pass gradients to adapters
        "require_think": False,
        "learning_rate": 1e-2,
        "num_generations": 2,
        "prompts_per_step": 2,
        "prompts_per_update": 2,
        "per_device_train_batch_size": 4,
        "max_completion_length": 8,
        "max_steps": 1,
        "reward_cpu_s": 1.0,
        "reward_memory_mb": 256,
        "save_steps": 1000,
    }
    config = build_config(TrainConfig, preset="one-gpu-8b-lora", flags=settings)
    trainer, reward = build_trainer(config)
    try:
        assert trainer.ref_model is None  # the base without adapters is the reference
        named = dict(trainer.model.named_parameters())
        trainable = {n for n, p in named.items() if p.requires_grad}
        assert trainable and all("lora_" in n for n in trainable)
        before = {n: p.detach().clone() for n, p in named.items()}
        trainer.train()
    finally:
        reward.close()
    after = dict(trainer.model.named_parameters())
    moved = {n for n in before if not torch.equal(before[n], after[n].detach())}
    assert moved and moved <= trainable
