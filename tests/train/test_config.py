"""``TrainConfig``: the presets, the precedence default < preset/YAML < ``--set``, errors that name
the file, line and field, and the batch arithmetic that turns the paper's prompts-per-step into
TRL's settings."""

from __future__ import annotations

import pytest

from cobalt.config import preset_names, preset_path
from cobalt.hardware import ENV_OVERRIDE, cpu_has_fast_bf16
from cobalt.jsonl import InputError
from cobalt.train.config import TrainConfig
from cobalt.train.trainer import uses_bf16

PRESET_FILES = [preset_path("train", name) for name in preset_names("train")]


def write(tmp_path, text: str, name: str = "run.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


# --- presets -----------------------------------------------------------------------------------------


def test_the_documented_presets_exist():
    assert {path.stem for path in PRESET_FILES} >= {"paper-8b", "one-gpu", "tiny-cpu"}


@pytest.mark.parametrize("path", PRESET_FILES, ids=lambda path: path.stem)
def test_every_preset_loads_by_name_and_by_path_and_plans_its_batches(path):
    by_name = TrainConfig.load(path.stem)
    assert by_name == TrainConfig.load(str(path))
    assert by_name.model and by_name.dataset  # a preset shows where its inputs go
    plan = by_name.batch_plan(world_size=1)  # every preset runs on a single process
    assert plan["gradient_accumulation_steps"] >= 1
    assert plan["steps_per_generation"] % plan["gradient_accumulation_steps"] == 0


def test_paper_preset_is_the_papers_recipe_which_is_also_the_default():
    """Defaults are the paper's recipe: a user who sets only model and dataset trains as the paper did."""
    paper, default = TrainConfig.load("paper-8b"), TrainConfig()
    recipe = {
        "num_generations": 16,
        "temperature": 1.0,
        "learning_rate": 1e-6,
        "epsilon": 0.2,
        "epsilon_high": 0.4,
        "beta": 1e-4,
        "kl_estimator": "k2",
        "loss_type": "dapo",
        "scale_rewards": "group",
        "max_completion_length": 6144,
        "max_prompt_tokens": 10_000,
        "num_train_epochs": 2.0,
        "prompts_per_step": 128,
        "prompts_per_update": 64,
        "save_steps": 10,
        "require_think": True,
        "lr_scheduler_type": "constant",  # verl's optimiser: no decay, no warm-up, weight decay 0.01
        "warmup_steps": 0,
        "weight_decay": 0.01,
        "reward_comparator": "strip",  # the reference's output.strip() == expected.strip()
        "val_every": 10,  # verl's test_freq, val_before_train, val_kwargs
        "val_before_train": True,
        "val_temperature": 0.6,
        "val_top_p": 0.95,
        "val_generations": 1,
    }
    for key, value in recipe.items():
        assert getattr(paper, key) == value, key
        assert getattr(default, key) == value, key
    assert paper.method == "cobalt" and paper.use_vllm


def test_tiny_cpu_preset_runs_on_a_cpu():
    config = TrainConfig.load("tiny-cpu")
    assert config.use_cpu and config.bf16 == "auto" and not config.use_vllm
    assert config.report_to == []  # no logging backend to install for the demo


@pytest.mark.parametrize("native", [False, True])
def test_auto_bf16_on_a_cpu_follows_the_probe(monkeypatch, native):
    monkeypatch.setenv(ENV_OVERRIDE, "1" if native else "0")
    cpu_has_fast_bf16.cache_clear()
    try:
        assert uses_bf16(TrainConfig.load("tiny-cpu")) is native
        assert uses_bf16(TrainConfig.load("tiny-cpu", ["bf16=false"])) is False  # an explicit choice stands
    finally:
        cpu_has_fast_bf16.cache_clear()


# --- precedence -------------------------------------------------------------------------------------


def test_defaults_then_preset_then_set_options():
    default = TrainConfig()
    preset = TrainConfig.load("tiny-cpu")
    assert preset.learning_rate == 1e-4 != default.learning_rate  # the preset replaces a default
    assert preset.epsilon == default.epsilon  # a setting the preset leaves out keeps its default
    config = TrainConfig.load("tiny-cpu", ["temperature=0.7", "epsilon=0.3", "seed=1", "seed=2"])
    assert config.temperature == 0.7  # --set replaces the preset
    assert config.epsilon == 0.3  # and the default
    assert config.seed == 2  # the last --set of a key wins
    assert config.num_generations == preset.num_generations  # the rest stays the preset's


def test_set_values_are_parsed_as_yaml():
    config = TrainConfig.load(
        None, ["report_to=[wandb, tensorboard]", "eval_dataset=null", "use_vllm=true", "system_prompt=a=b"]
    )
    assert config.report_to == ["wandb", "tensorboard"]
    assert config.eval_dataset is None and config.use_vllm is True
    assert config.system_prompt == "a=b"  # only the first '=' separates key and value


def test_a_yaml_file_sits_between_defaults_and_set_options(tmp_path):
    path = write(tmp_path, "model: my-model\nnum_generations: 4\nprompts_per_step: 8\nprompts_per_update: 4\n")
    config = TrainConfig.load(str(path), ["num_generations=2"])
    assert (config.model, config.num_generations, config.prompts_per_step) == ("my-model", 2, 8)
    assert config.learning_rate == TrainConfig().learning_rate


def test_an_empty_file_gives_the_defaults(tmp_path):
    assert TrainConfig.load(str(write(tmp_path, ""))) == TrainConfig()


def test_printed_config_loads_back_to_the_same_settings(tmp_path):
    config = TrainConfig.load("one-gpu", ["seed=3", "system_prompt='Be brief: one program.'"])
    assert TrainConfig.load(str(write(tmp_path, config.to_yaml()))) == config


# --- errors -----------------------------------------------------------------------------------------


def test_unknown_setting_in_a_file_names_the_file_and_the_field(tmp_path):
    path = write(tmp_path, "model: m\nnum_generation: 4\n")  # typo: num_generations
    with pytest.raises(InputError, match="num_generation") as caught:
        TrainConfig.load(str(path))
    assert caught.value.path == str(path) and caught.value.field == "num_generation"
    assert str(path) in str(caught.value)


def test_invalid_value_in_a_file_names_the_file_and_the_field(tmp_path):
    path = write(tmp_path, "num_generations: 1\n")
    with pytest.raises(InputError, match="greater than or equal to 2") as caught:
        TrainConfig.load(str(path))
    assert caught.value.path == str(path) and caught.value.field == "num_generations"


def test_invalid_yaml_names_the_line(tmp_path):
    path = write(tmp_path, "model: m\nseed: 1\n\tbeta: 0.1\n")  # a tab cannot indent YAML
    with pytest.raises(InputError, match="invalid YAML") as caught:
        TrainConfig.load(str(path))
    assert caught.value.path == str(path) and caught.value.line == 3
    assert f"{path}, line 3" in str(caught.value)


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path):
    with pytest.raises(InputError, match="mapping"):
        TrainConfig.load(str(write(tmp_path, "- model\n- dataset\n")))


def test_an_unknown_preset_lists_the_presets():
    with pytest.raises(InputError, match="no such file or preset") as caught:
        TrainConfig.load("paper-80b")
    for path in PRESET_FILES:
        assert path.stem in str(caught.value)


@pytest.mark.parametrize("item", ["num_generations", "num_generation=4", "=4", ""])
def test_a_bad_set_item_is_an_input_error(item):
    with pytest.raises(InputError, match="KEY=VALUE") as caught:
        TrainConfig.load("tiny-cpu", [item])
    assert caught.value.path == "--set"


def test_an_invalid_set_value_is_an_input_error_naming_the_field():
    with pytest.raises(InputError) as caught:
        TrainConfig.load(None, ["method=ppo"])
    assert caught.value.field == "method"


# --- batch arithmetic ---------------------------------------------------------------------------------


def test_paper_batches_on_four_and_eight_gpus():
    # 64 prompts x 16 generations = 1024 completions per optimizer step = 2 per device x 4 GPUs x 128
    # accumulation steps (8 GPUs: 64); a generation batch of 128 prompts feeds 2 optimizer steps.
    config = TrainConfig.load("paper-8b")
    assert config.batch_plan(world_size=4) == {"gradient_accumulation_steps": 128, "steps_per_generation": 256}
    assert TrainConfig.load("paper-8b-8gpu").batch_plan(world_size=8) == {
        "gradient_accumulation_steps": 64,
        "steps_per_generation": 128,
    }


def test_world_size_comes_from_the_launcher_environment(monkeypatch):
    config = TrainConfig.load("paper-8b")
    monkeypatch.setenv("WORLD_SIZE", "8")
    assert config.batch_plan() == config.batch_plan(world_size=8)
    monkeypatch.delenv("WORLD_SIZE")
    assert config.batch_plan() == config.batch_plan(world_size=1)


def test_one_optimizer_step_per_generation_batch():
    config = TrainConfig(prompts_per_step=8, prompts_per_update=8, num_generations=8, per_device_train_batch_size=64)
    assert config.batch_plan(world_size=1) == {"gradient_accumulation_steps": 1, "steps_per_generation": 1}


def test_completions_per_update_must_split_evenly_over_devices():
    config = TrainConfig.load("paper-8b")  # 1024 completions per update, 2 per device
    with pytest.raises(ValueError, match=r"1024 completions .* 6"):
        config.batch_plan(world_size=3)


@pytest.mark.parametrize("source", [None, "tiny-cpu"])
def test_prompts_per_step_must_be_a_multiple_of_prompts_per_update(source):
    with pytest.raises(InputError, match=r"prompts_per_step \(100\) must be a multiple of prompts_per_update \(64\)"):
        TrainConfig.load(source, ["prompts_per_step=100", "prompts_per_update=64"])
    with pytest.raises(ValueError, match="must be a multiple"):
        TrainConfig(prompts_per_step=100, prompts_per_update=64)
