"""The one configuration system: a preset namespace per verb, one YAML loader, the precedence
defaults < preset < file < --set < flags, and errors that say where a bad value came from."""

from __future__ import annotations

import pytest

from cobalt.bandit import BuildConfig
from cobalt.config import build_config, preset_names, preset_path, read_yaml, resolve_source
from cobalt.jsonl import InputError
from cobalt.rollout import RolloutConfig
from cobalt.train.config import TrainConfig


def test_each_verb_has_its_own_preset_namespace():
    # one name, two presets: the demo's scale for rollouts and for training
    assert "tiny-cpu" in preset_names("train") and "tiny-cpu" in preset_names("rollout")
    assert preset_path("train", "tiny-cpu") != preset_path("rollout", "tiny-cpu")
    assert TrainConfig.load("tiny-cpu").use_cpu
    assert RolloutConfig.load("tiny-cpu").policy.device == "cpu"
    assert preset_names("bandit") == [] and BuildConfig.presets() == []
    with pytest.raises(InputError, match="unknown preset 'paper-8b'; choose from paper-collect"):
        build_config(RolloutConfig, preset="paper-8b")  # a training preset is not a rollout preset


@pytest.mark.parametrize("verb", ["train", "rollout"])
def test_every_preset_is_valid_for_its_verb(verb):
    config = {"train": TrainConfig, "rollout": RolloutConfig}[verb]
    for name in preset_names(verb):
        assert build_config(config, preset=name) == config.load(name)


def test_each_source_overrides_the_one_before(tmp_path):
    file = tmp_path / "run.yaml"
    file.write_text("turns: 5\nsampling:\n  n: 4\n  temperature: 0.2\n")
    config = build_config(
        RolloutConfig,
        preset="paper-collect",  # turns 2, n 16
        file=file,  # turns 5, n 4, T 0.2
        sets=["sampling.n=8", "sampling.top_p=0.5"],
        flags={"sampling.top_p": 0.9},
    )
    assert (config.turns, config.sampling.n, config.sampling.temperature, config.sampling.top_p) == (5, 8, 0.2, 0.9)
    assert config.sampling.max_new_tokens == RolloutConfig().sampling.max_new_tokens  # the default


def test_a_config_file_or_a_preset_name_resolves(tmp_path):
    assert resolve_source("train", "one-gpu") == ("one-gpu", None)
    file = tmp_path / "one-gpu"  # a file wins over a preset of the same name
    file.write_text("seed: 3\n")
    assert resolve_source("train", str(file)) == (None, file)
    with pytest.raises(InputError, match="no such file or preset"):
        resolve_source("train", str(tmp_path / "missing.yaml"))


def test_a_printed_config_loads_back_to_the_same_settings(tmp_path):
    config = build_config(RolloutConfig, preset="paper-eval-thinking", sets=["policy.model=m"])
    saved = tmp_path / "resolved.yaml"
    saved.write_text(config.to_yaml())
    assert RolloutConfig.load(str(saved)) == config


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("sampling.m=4", "is not KEY=VALUE"),  # no such setting
        ("turns", "is not KEY=VALUE"),  # no value
        ("turns=-1", "--set: field 'turns'"),  # out of range
    ],
)
def test_bad_set_options_name_the_option(item, message):
    with pytest.raises(InputError, match=message):
        build_config(RolloutConfig, sets=[item])


def test_set_reaches_keys_inside_a_mapping_setting():
    config = build_config(RolloutConfig, sets=["policy.chat_template_kwargs.enable_thinking=true"])
    assert config.policy.chat_template_kwargs == {"enable_thinking": True}


def test_yaml_errors_name_the_file_and_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("seed: 1\nmodel: [unclosed\n")
    with pytest.raises(InputError, match=r"bad\.yaml, line 3: invalid YAML"):
        read_yaml(path)
    path.write_text("- a list\n")
    with pytest.raises(InputError, match="expected a mapping of settings"):
        read_yaml(path)
    with pytest.raises(InputError, match="no such file"):
        read_yaml(tmp_path / "missing.yaml")


def test_a_bad_value_in_a_file_names_the_file_and_field(tmp_path):
    path = tmp_path / "build.yaml"
    path.write_text("keep: 8\npool: 4\n")  # the pool must hold the trajectories kept
    with pytest.raises(InputError, match=r"build\.yaml: .*pool \(4\) must be at least keep \(8\)"):
        build_config(BuildConfig, file=path)
