"""The demo's verdict and bookkeeping: gain over the base policy against the spread between
training seeds, the run directory's configuration check, and the training settings of each method."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from cobalt.demo import DemoConfig, DemoRun, WarmupConfig
from cobalt.demo.pipeline import (
    DEMO_REPAIR_TEMPLATE,
    DEMO_SYSTEM_PROMPT,
    METHODS,
    describe,
    gain_and_spread,
    split_rl_problems,
)
from cobalt.jsonl import InputError
from cobalt.train.config import TrainConfig


def summary(*pass_at_1: float, problems: int = 200) -> SimpleNamespace:
    """What the verdict reads from a RunSummary: per-turn Pass@1 and the number of problems."""
    return SimpleNamespace(per_turn=[SimpleNamespace(pass_at_1=value) for value in pass_at_1], problems=problems)


# --- the verdict --------------------------------------------------------------------------------------


def test_both_seeds_beat_the_base_by_more_than_their_spread():
    verdict = gain_and_spread(
        {"base": summary(0.25, 0.5), "cobalt-seed0": summary(0.5, 0.75), "cobalt-seed1": summary(0.5, 0.625)}
    )
    assert verdict["problems"] == 200
    assert verdict["base_pass_at_1"] == [0.25, 0.5]
    assert verdict["trained_pass_at_1"] == {"cobalt-seed0": [0.5, 0.75], "cobalt-seed1": [0.5, 0.625]}
    # means over turns: base 0.375, seeds 0.625 and 0.5625
    assert verdict["gain_over_turns"] == pytest.approx({"cobalt-seed0": 0.25, "cobalt-seed1": 0.1875})
    assert verdict["mean_gain"] == pytest.approx(0.21875)
    assert verdict["seed_spread"] == pytest.approx(0.0625)
    assert verdict["beats_base_beyond_seed_spread"] is True
    json.dumps(verdict)  # it goes into report.json


def test_a_large_mean_gain_does_not_beat_the_base_when_one_seed_gains_less_than_the_spread():
    verdict = gain_and_spread(
        {"base": summary(0.25, 0.25), "cobalt-seed0": summary(0.75, 0.75), "cobalt-seed1": summary(0.3125, 0.3125)}
    )
    assert verdict["mean_gain"] == pytest.approx(0.28125)  # large on average ...
    assert min(verdict["gain_over_turns"].values()) == pytest.approx(0.0625)  # ... but seed 1 gains little
    assert verdict["seed_spread"] == pytest.approx(0.4375)
    assert verdict["beats_base_beyond_seed_spread"] is False


def test_the_smallest_gain_must_exceed_the_spread_strictly():
    # gains 0.25 and 0.125; spread 0.125
    verdict = gain_and_spread({"base": summary(0.25), "a": summary(0.5), "b": summary(0.375)})
    assert verdict["seed_spread"] == verdict["gain_over_turns"]["b"] == 0.125
    assert verdict["beats_base_beyond_seed_spread"] is False


@pytest.mark.parametrize(("trained", "beats"), [(0.375, True), (0.25, False), (0.125, False)])
def test_one_seed_has_no_spread_and_beats_the_base_only_with_a_positive_gain(trained, beats):
    verdict = gain_and_spread({"base": summary(0.25, 0.25), "cobalt-seed0": summary(trained, trained)})
    assert verdict["seed_spread"] == 0.0
    assert verdict["beats_base_beyond_seed_spread"] is beats


def test_the_base_policy_can_have_another_label():
    verdict = gain_and_spread({"sft": summary(0.25, problems=7), "grpo": summary(0.5)}, base_label="sft")
    assert verdict["problems"] == 7 and verdict["gain_over_turns"] == {"grpo": 0.25}


def test_gain_and_spread_reads_real_run_summaries():
    from cobalt.evaluate.metrics import RunSummary, TurnMetrics

    def run_summary(label: str, *pass_at_1: float) -> RunSummary:
        turns = [
            TurnMetrics(turn=i, pass_at_1=p, pass_at_k={}, delta_vs_turn0=p - pass_at_1[0],
                        relative_change_vs_turn0=None, solved_within=p, hidden_pass_rate=p, public_all_passed=p,
                        no_code=0.0, mean_completion_tokens=None)
            for i, p in enumerate(pass_at_1)
        ]  # fmt: skip
        return RunSummary(
            label=label, source=f"{label}.jsonl", condition="original", problems=40, trajectories=80,
            samples_min=2, samples_max=2, turns=len(turns), ks=[1], per_turn=turns, per_problem=[],
        )  # fmt: skip

    verdict = gain_and_spread({"base": run_summary("base", 0.25, 0.5), "seed0": run_summary("seed0", 0.5, 0.75)})
    assert verdict["problems"] == 40 and verdict["gain_over_turns"] == {"seed0": 0.25}


def test_describe_states_the_outcome_the_gains_and_the_spread():
    verdict = gain_and_spread(
        {"base": summary(0.25, 0.5), "cobalt-seed0": summary(0.5, 0.75), "cobalt-seed1": summary(0.5, 0.625)}
    )
    text = describe(verdict)
    assert "On 200 held-out problems" in text
    assert "the trained policy beats the base policy" in text and "NOT" not in text
    assert "+21.9 points" in text  # mean gain
    assert "smallest seed gain +18.8" in text
    assert "spread between training seeds 6.2 points" in text


def test_describe_says_when_the_base_is_not_beaten():
    text = describe(gain_and_spread({"base": summary(0.5), "cobalt-seed0": summary(0.375)}))
    assert "does NOT beat the base policy" in text
    assert "-12.5 points" in text


# --- the run directory's configuration -----------------------------------------------------------------


def quiet_run(out: Path, **config) -> DemoRun:
    return DemoRun(out, DemoConfig(**config), say=lambda _: None)


def test_a_run_directory_accepts_its_own_configuration_again(tmp_path):
    quiet_run(tmp_path, rl_problems=8).check_config()
    saved = json.loads((tmp_path / "demo-config.json").read_text())
    assert saved["rl_problems"] == 8
    quiet_run(tmp_path, rl_problems=8).check_config()  # resuming: no error


@pytest.mark.parametrize(
    "changed",
    [{"rl_problems": 9}, {"warmup": WarmupConfig(epochs=1.0)}, {"grpo_overrides": {"learning_rate": 1e-3}}],
    ids=["top-level", "warm-up", "grpo-overrides"],
)
def test_a_run_directory_refuses_another_configuration(tmp_path, changed):
    quiet_run(tmp_path, rl_problems=8).check_config()
    before = (tmp_path / "demo-config.json").read_text()
    with pytest.raises(InputError, match="other settings") as caught:
        quiet_run(tmp_path, **{"rl_problems": 8, **changed}).check_config()
    assert str(tmp_path) in str(caught.value)
    assert (tmp_path / "demo-config.json").read_text() == before  # the refused run leaves the record alone


def test_more_training_seeds_can_be_added_to_a_run(tmp_path):
    quiet_run(tmp_path, train_seeds=(0, 1)).check_config()
    quiet_run(tmp_path, train_seeds=(0, 1, 2)).check_config()
    assert json.loads((tmp_path / "demo-config.json").read_text())["train_seeds"] == [0, 1, 2]


# --- training settings of each method --------------------------------------------------------------------

# method key -> (TrainConfig.method, dataset inside the run directory)
EXPECTED_METHODS = {
    "cobalt": ("cobalt", "bandit.jsonl"),
    "cobalt_perturbed": ("cobalt", "bandit-perturbed.jsonl"),
    "single_turn": ("single_turn", "bandit.jsonl"),  # the bandit file's problem-only prompts
    "multi_turn": ("multi_turn", "problems/rl.jsonl"),  # online: rolls out the RL problems itself
    "verpo": ("verpo", "problems/rl.jsonl"),
}


def test_the_demo_trains_the_papers_methods():
    assert set(METHODS) == set(EXPECTED_METHODS)


@pytest.mark.parametrize("method", sorted(EXPECTED_METHODS))
def test_train_config_of_each_method(tmp_path, method):
    run = quiet_run(tmp_path, train_steps=7, max_new_tokens=48, collect_turns=2)
    config = run.train_config(method, seed=3)
    trainer_method, dataset = EXPECTED_METHODS[method]
    assert isinstance(config, TrainConfig)
    assert config.method == trainer_method
    assert Path(config.dataset) == tmp_path / dataset
    assert Path(config.model) == tmp_path / "model-sft"  # every method starts from the warmed-up model
    assert Path(config.output_dir) == tmp_path / "models" / f"{method}-3"
    # online rollouts see the prompts the data was collected with
    assert (config.system_prompt, config.repair_template) == (DEMO_SYSTEM_PROMPT, DEMO_REPAIR_TEMPLATE)
    assert (config.seed, config.max_steps, config.max_completion_length, config.turns) == (3, 7, 48, 3)
    preset = TrainConfig.load("tiny-cpu")
    assert (config.learning_rate, config.num_generations, config.use_cpu) == (
        preset.learning_rate,
        preset.num_generations,
        preset.use_cpu,
    )


def test_every_method_and_seed_trains_into_its_own_directory(tmp_path):
    run = quiet_run(tmp_path)
    outputs = [run.train_config(method, seed).output_dir for method in METHODS for seed in (0, 1)]
    assert len(set(outputs)) == len(outputs)


def test_grpo_overrides_reach_the_training_settings(tmp_path):
    run = quiet_run(tmp_path, grpo_overrides={"learning_rate": 1e-3, "report_to": ["tensorboard"], "max_steps": 2})
    config = run.train_config("cobalt", seed=0)
    assert (config.learning_rate, config.report_to, config.max_steps) == (1e-3, ["tensorboard"], 2)


# --- the problem splits -------------------------------------------------------------------------------


def test_rl_problems_are_a_seeded_sample_of_the_whole_train_draw_not_its_tail():
    """The suite runs out of few-variant combinations as it draws, so the tail of the train split
    is skewed; the RL pool must follow the warm-up's distribution instead."""
    from cobalt.data.bundled import BundledConfig, generate_suite

    train = generate_suite(BundledConfig(train=60, dev=0, test=0, seed=1), splits=("train",))["train"]
    warmup, rl = split_rl_problems(train, 20, seed=0)

    assert len(warmup) == 40 and len(rl) == 20
    assert {p.id for p in warmup} | {p.id for p in rl} == {p.id for p in train}
    assert not {p.id for p in warmup} & {p.id for p in rl}
    position = {p.id: i for i, p in enumerate(train)}
    assert min(position[p.id] for p in rl) < 20  # drawn from the start of the split, not only its end
    assert [p.id for p in split_rl_problems(train, 20, seed=0)[1]] == [p.id for p in rl]
    assert [p.id for p in split_rl_problems(train, 20, seed=1)[1]] != [p.id for p in rl]


def test_seeds_trained_side_by_side_report_which_failed_and_leave_them_to_resume(tmp_path):
    run = quiet_run(tmp_path, grpo_overrides={"prompts_per_step": 3, "prompts_per_update": 2})  # refused config
    with pytest.raises(RuntimeError, match=r"seed\(s\) \{0: 1, 1: 1\}.*run again to resume"):
        run.train_seeds("cobalt", [0, 1])
    assert not list(tmp_path.glob("train-*.done"))
