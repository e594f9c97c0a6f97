"""The demo's verdict and bookkeeping: the paired change over the base policy with its interval and
the keep and fix rates, the run directory's configuration check, and the training settings of each
method."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evaluate_testkit import make_trajectory

from cobalt.demo import DemoConfig, DemoRun, WarmupConfig
from cobalt.demo.pipeline import DEMO_REPAIR_TEMPLATE, DEMO_SYSTEM_PROMPT, METHODS, split_rl_problems
from cobalt.demo.verdict import describe, verdict
from cobalt.evaluate import RunSummary, summarize
from cobalt.jsonl import InputError
from cobalt.train.config import TrainConfig


def run(outcomes_per_problem: list[list[list[bool]]], label: str) -> RunSummary:
    """A run summary from real trajectories: problem i's samples have the given per-turn outcomes."""
    trajectories = [
        make_trajectory(f"p{i}", s, outcomes)
        for i, samples in enumerate(outcomes_per_problem)
        for s, outcomes in enumerate(samples)
    ]
    return summarize(trajectories, label=label)


T, F = True, False
# 40 problems x 2 samples, first attempt and one repair turn
BASE = [[[T, F], [F, F]]] * 40  # turn 0: 0.5, turn 1: 0 (keeps nothing, fixes nothing)
KEEPER = [[[T, T], [F, F]]] * 40  # the same first attempts; keeps every correct program, fixes none
REPAIRER = [[[T, T], [F, T]]] * 40  # keeps and fixes


# --- the verdict --------------------------------------------------------------------------------------


def test_a_policy_that_keeps_and_repairs_passes_every_part_of_the_claim():
    result = verdict(
        {"base": run(BASE, "base"), "cobalt-seed0": run(REPAIRER, "s0"), "cobalt-seed1": run(REPAIRER, "s1")}
    )
    assert result["problems"] == 40 and result["base_pass_at_1"] == [0.5, 0.0]
    assert result["gain"] == pytest.approx(0.5) and result["repair_gain"] == pytest.approx(1.0)
    assert result["keep_rate"] == {"base": 0.0, "cobalt-seed0": 1.0, "cobalt-seed1": 1.0}
    assert result["fix_rate"]["base"] == 0.0 and result["fix_rate"]["cobalt-seed0"] == 1.0
    assert result["beats_base"] and result["repair_gain_above_zero"] and result["fix_rate_rises"]
    assert result["learning_claim_holds"] is True
    json.dumps(result)  # it goes into report.json


def test_a_gain_from_keeping_alone_is_not_a_repair_gain():
    result = verdict({"base": run(BASE, "base"), "cobalt-seed0": run(KEEPER, "s0")})
    assert result["beats_base"] and result["repair_gain_above_zero"]  # turn 1 rises ...
    assert not result["fix_rate_rises"]  # ... but only because correct programs are kept
    assert result["learning_claim_holds"] is False


def test_a_gain_on_a_few_problems_is_within_the_noise():
    lucky = [[[T, T], [T, T]]] * 2 + [[[F, F], [F, F]]] * 2 + BASE[4:]  # two problems up, two down
    result = verdict({"base": run(BASE, "base"), "cobalt-seed0": run(lucky, "s0")})
    assert not result["beats_base"] and result["learning_claim_holds"] is False


def test_seeds_are_pooled_and_their_spread_reported():
    result = verdict({"base": run(BASE, "base"), "a": run(REPAIRER, "a"), "b": run(BASE, "b")})
    assert result["gain"] == pytest.approx(0.25) and result["seed_spread"] == pytest.approx(0.5)
    assert result["paired"]["trained"] == ["a", "b"]


def test_the_base_policy_can_have_another_label():
    result = verdict({"sft": run(BASE, "sft"), "grpo": run(REPAIRER, "grpo")}, base_label="sft")
    assert set(result["keep_rate"]) == {"sft", "grpo"} and result["learning_claim_holds"]


def test_describe_states_the_changes_with_their_intervals_and_the_repair_rates():
    text = describe(verdict({"base": run(BASE, "base"), "cobalt-seed0": run(REPAIRER, "s0")}))
    assert "On 40 held-out problems, the trained policy (1 training seed(s) pooled)" in text
    assert "all turns: +50.0 points (95% interval +50.0 to +50.0)" in text
    assert "turn 1: +100.0 points" in text
    assert "the base keeps 0 % of its correct programs and fixes 0 % of its failed ones" in text
    assert "the trained policy keeps 100 % and fixes 100 %" in text
    assert "the learning claim holds" in text


def test_describe_says_which_part_of_the_claim_fails():
    text = describe(verdict({"base": run(BASE, "base"), "cobalt-seed0": run(KEEPER, "s0")}))
    assert "does not hold" in text and "does not fix more failed programs than the base" in text


def test_describe_says_when_the_trained_policy_is_worse():
    text = describe(verdict({"base": run(REPAIRER, "base"), "cobalt-seed0": run(BASE, "s0")}))
    assert "it is worse than the base over all turns" in text and "within the noise" not in text


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
