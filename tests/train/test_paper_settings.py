"""Where the paper's results depend on the training settings: the reference's optimiser (constant
learning rate, weight decay 0.01), validation during training (before the first update and every
``val_every`` steps, T 0.6 / top-p 0.95, binary reward), the single-turn baseline's data and epochs,
and the reference's output comparator in the reward's sandbox."""

from __future__ import annotations

import json

import pytest
import yaml

from cobalt.bandit import write_examples
from cobalt.cli.main import main
from cobalt.data.bundled import BundledConfig, generate_suite
from cobalt.records import Problem, Tests
from cobalt.train.baselines.single_turn import problem_examples
from cobalt.train.cobalt import CobaltReward, training_executor
from cobalt.train.config import TrainConfig
from cobalt.train.trainer import grpo_args

PAPER_PRESETS = ["paper-8b", "paper-single-turn", "one-gpu"]
SYSTEM_PROMPT = "Reply with a Python program in one ```python block."


def print_config(capsys, *argv: str) -> dict:
    assert main(["train", *argv, "--print-config"]) == 0
    return yaml.safe_load(capsys.readouterr().out)


def cpu_overrides(tiny_model_dir, dataset, output_dir, **extra) -> list[str]:
    """A paper preset made to run on a CPU in seconds: the tiny model, groups of 2, short completions."""
    settings = {
        "model": str(tiny_model_dir),
        "dataset": str(dataset),
        "output_dir": str(output_dir),
        "use_cpu": True,
        "use_vllm": False,
        "bf16": False,
        "gradient_checkpointing": False,
        "require_think": False,
        "num_generations": 2,
        "prompts_per_step": 2,
        "prompts_per_update": 2,
        "per_device_train_batch_size": 4,
        "max_completion_length": 8,
        "reward_cpu_s": 1.0,
        "reward_memory_mb": 256,
        "report_to": [],
        "save_steps": 1000,
        **extra,
    }
    return [f"{key}={json.dumps(value)}" for key, value in settings.items()]


@pytest.fixture(scope="module")
def problems() -> list[Problem]:
    return generate_suite(BundledConfig(train=3, dev=0, test=0, seed=3), splits=("train",))["train"]


@pytest.fixture(scope="module")
def bandit_jsonl(problems, tmp_path_factory):
    """Turn-0 prompts of the first two problems only: the bandit builder keeps some problems."""
    examples = problem_examples(problems[:2])
    path = tmp_path_factory.mktemp("bandit") / "bandit.jsonl"
    write_examples(examples, path)
    return path


@pytest.fixture(scope="module")
def problems_jsonl(problems, tmp_path_factory):
    """The three problems and one whose statement is far over 2048 tokens."""
    long = problems[0].model_copy(update={"id": "long", "statement": "word " * 5000})
    path = tmp_path_factory.mktemp("problems") / "problems.jsonl"
    path.write_text("".join(p.to_json() + "\n" for p in [*problems, long]))
    return path


# --- 1. the optimiser: verl's constant learning rate and weight decay 0.01 ----------------------------


@pytest.mark.parametrize("preset", PAPER_PRESETS)
def test_paper_presets_train_at_a_constant_rate_with_verls_weight_decay(capsys, preset):
    printed = print_config(capsys, "--config", preset)
    assert printed["lr_scheduler_type"] == "constant" and printed["weight_decay"] == 0.01
    assert printed["warmup_steps"] == 0 and printed["learning_rate"] == 1e-6
    config = TrainConfig.load(preset, ["use_vllm=false", "bf16=false", "use_cpu=true"])
    args = grpo_args(config, "unused")
    assert args.lr_scheduler_type == "constant" and args.weight_decay == 0.01 and args.warmup_steps == 0
    assert args.learning_rate == 1e-6


def test_warm_up_under_a_constant_schedule_is_refused():
    with pytest.raises(ValueError, match="warmup_steps needs"):
        TrainConfig(warmup_steps=10)
    assert TrainConfig(warmup_steps=0.1, lr_scheduler_type="constant_with_warmup").warmup_steps == 0.1


# --- 2. validation during training -------------------------------------------------------------------


def test_validation_runs_before_training_and_every_n_steps_with_the_binary_reward(
    tiny_model_dir, bandit_jsonl, tmp_path, monkeypatch
):
    pytest.importorskip("trl")
    import torch

    from cobalt.train.trainer import METRICS_FILE, build_trainer, train

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the tiny model gains nothing from more; competing pools slow it down
    calls: list[tuple[bool, float, float, list[float]]] = []
    built: dict = {}
    score = CobaltReward.__call__

    def spy(self, *args, **kwargs):
        rewards = score(self, *args, **kwargs)
        trainer = built["trainer"]
        calls.append((self.validation, trainer.generation_config.temperature, trainer.generation_config.top_p, rewards))
        return rewards

    def keep(config, **kwargs):
        trainer, reward = build_trainer(config, **kwargs)
        built["trainer"] = trainer
        return trainer, reward

    monkeypatch.setattr(CobaltReward, "__call__", spy)
    monkeypatch.setattr("cobalt.train.trainer.build_trainer", keep)
    out = tmp_path / "run"
    settings = cpu_overrides(tiny_model_dir, bandit_jsonl, out, eval_dataset=str(bandit_jsonl), max_steps=3)
    config = TrainConfig.load("paper-8b", [*settings, "val_every=2", "beta=0.0"])
    try:
        train(config)
    finally:
        torch.set_num_threads(threads)

    entries = [json.loads(line) for line in (out / METRICS_FILE).read_text().splitlines()]
    validations = [e for e in entries if "eval_reward" in e]
    # before training, every 2 steps, and after the last step (verl also validates at its last step)
    assert [e["step"] for e in validations] == [0, 2, 3]
    assert all(0.0 <= e["eval_reward"] <= 1.0 for e in validations)
    assert "eval_reward/pass_rate" in validations[0]  # the reward's parts, beside the training metrics
    assert [e["step"] for e in entries if "loss" in e and "eval_loss" not in e] == [1, 2, 3]
    assert {e["learning_rate"] for e in entries if "learning_rate" in e} == {1e-6}  # constant
    history = built["trainer"].state.log_history
    assert [e["step"] for e in history if "eval_reward" in e] == [0, 2, 3]

    validating = [c for c in calls if c[0]]
    training = [c for c in calls if not c[0]]
    assert len(validating) == 3 and len(training) == 3  # one reward call per validation and per step
    assert all(c[1:3] == (0.6, 0.95) for c in validating)  # the reference's validation sampling
    assert all(c[1:3] == (1.0, 1.0) for c in training)  # restored for training
    assert all(r in (0.0, 1.0) for c in validating for r in c[3])  # binary
    assert any(r not in (0.0, 1.0) for c in training for r in c[3])  # the shaped training reward


def test_online_baselines_validate_with_the_final_programs_binary_reward(tiny_model_dir, problems_jsonl, tmp_path):
    pytest.importorskip("trl")
    from cobalt.train.trainer import build_trainer

    settings = cpu_overrides(tiny_model_dir, problems_jsonl, tmp_path, eval_dataset=str(problems_jsonl))
    config = TrainConfig.load(
        "paper-8b",
        [*settings, "method=verpo", "turns=2", "max_steps=1", "beta=0.0", f"system_prompt={SYSTEM_PROMPT!r}"],
    )
    trainer, reward = build_trainer(config)
    try:
        trainer.train()
    finally:
        reward.close()
    validations = [e for e in trainer.state.log_history if "eval_reward" in e]
    assert [e["step"] for e in validations] == [0, 1]  # before training and after the last step
    assert all(0.0 <= e["eval_reward"] <= 1.0 for e in validations)
    assert all("eval_reward/verpo_dense" not in e for e in validations)  # no dense term in validation
    assert "reward/verpo_dense" in next(e for e in trainer.state.log_history if "loss" in e and "eval_loss" not in e)
    assert not reward.validation and trainer.temperature == 1.0  # restored after validating


def test_no_validation_without_an_eval_dataset_or_a_schedule():
    config = TrainConfig.load("tiny-cpu", ["report_to=[]"])
    assert grpo_args(config, "unused").eval_strategy == "no"
    scheduled = grpo_args(config.model_copy(update={"eval_dataset": "val.jsonl"}), "unused")
    assert scheduled.eval_strategy == "steps" and scheduled.eval_steps == 10 and scheduled.eval_on_start
    assert scheduled.num_generations_eval == 1
    off = config.model_copy(update={"eval_dataset": "val.jsonl", "val_every": None, "val_before_train": False})
    assert grpo_args(off, "unused").eval_strategy == "no"


# --- 3. the single-turn baseline as the reference trained it --------------------------------------------


def test_paper_single_turn_preset_is_the_reference_scripts_setup(capsys):
    printed = print_config(capsys, "--config", "paper-single-turn")
    assert printed["method"] == "single_turn" and printed["single_turn_prompts"] == "problems"
    assert printed["num_train_epochs"] == 4 and printed["max_prompt_tokens"] == 2048
    paper = TrainConfig.load("paper-8b")
    single = TrainConfig.load("paper-single-turn")
    differing = {k for k in TrainConfig.model_fields if getattr(paper, k) != getattr(single, k)}
    assert differing == {
        "dataset",
        "output_dir",
        "method",
        "single_turn_prompts",
        "num_train_epochs",
        "max_prompt_tokens",
    }


def test_paper_single_turn_trains_on_every_problem_of_the_file(tiny_model_dir, problems_jsonl, tmp_path):
    pytest.importorskip("trl")
    from cobalt.train.trainer import build_trainer

    config = TrainConfig.load("paper-single-turn", cpu_overrides(tiny_model_dir, problems_jsonl, tmp_path))
    trainer, reward = build_trainer(config)
    reward.close()
    rows = list(trainer.train_dataset)
    # all three problems (the bandit file kept two); the one over 2048 tokens is dropped
    assert len(rows) == 3 and "long" not in {row["problem_id"] for row in rows}
    assert {row["turn"] for row in rows} == {0} and {row["prev_best_pass_rate"] for row in rows} == {0.0}
    assert all(row["prompt"][-1]["role"] == "user" for row in rows)
    assert trainer.args.num_train_epochs == 4 and not reward.use_improvement


# --- 5. the reference's comparator in the reward's sandbox ----------------------------------------------

ADD_ONE = Tests(inputs=["1\n", "5\n"], outputs=["2\n", "6\n"])
INDENTED = "```python\nprint('  ' + str(int(input()) + 1))\n```"  # right numbers, leading spaces


@pytest.mark.parametrize(("preset", "solved"), [("paper-8b", True), ("one-gpu", True), ("tiny-cpu", False)])
def test_paper_presets_score_with_the_references_strip_comparator(preset, solved):
    config = TrainConfig.load(preset, ["require_think=false", "reward_cpu_s=1.0", "reward_memory_mb=256"])
    reward = CobaltReward(config)
    try:
        rewards = reward(
            prompts=[[{"role": "user", "content": "add one"}]],
            completions=[[{"role": "assistant", "content": INDENTED}]],
            tests=[ADD_ONE.model_dump()],
            comparator=[None],  # the problem names none: the run's comparator decides
            prev_best_pass_rate=[0.0],
        )
    finally:
        reward.close()
    # strip (the reference's output.strip() == expected.strip()) accepts leading spaces; lines does not
    assert (rewards[0] == 1.0) is solved


def test_an_unknown_comparator_is_refused():
    with pytest.raises(ValueError, match="unknown comparator"):
        TrainConfig(reward_comparator="fuzzy")


@pytest.mark.parametrize(("preset", "expected_shown"), [("paper-8b", False), ("tiny-cpu", True)])
def test_online_baselines_show_the_collections_feedback_layout(preset, expected_shown):
    # The paper presets' online baselines see the reference's feedback, as Cobalt's collected
    # trajectories do: a crash shows its stderr and no expected output. tiny-cpu keeps the demo's layout.
    config = TrainConfig.load(preset, ["reward_cpu_s=1.0", "reward_memory_mb=256"])
    executor = training_executor(config)
    try:
        result = executor.run("n = int(input())\nprint(1 / 0)", ADD_ONE)
    finally:
        executor.close()
    assert "ZeroDivisionError" in result.feedback
    assert ("Expected Output" in result.feedback) is expected_shown


@pytest.mark.parametrize("preset", ["paper-8b", "paper-single-turn"])
def test_paper_presets_keep_two_checkpoints(preset, tmp_path):
    config = TrainConfig.load(preset=preset, overrides=["use_cpu=true", "bf16=false", "use_vllm=false"])
    assert config.save_total_limit == 2
    args = grpo_args(config, str(tmp_path))
    assert args.save_total_limit == 2


def test_activation_checkpointing_is_set_under_its_current_name(tmp_path):
    import warnings

    config = TrainConfig.load(preset="paper-8b", overrides=["use_cpu=true", "bf16=false", "use_vllm=false"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        args = grpo_args(config, str(tmp_path))
    assert not [w for w in caught if "checkpointing" in str(w.message)]  # transformers' deprecated alias
    assert args.gradient_checkpointing is True and getattr(args, "activation_checkpointing", True) is True
