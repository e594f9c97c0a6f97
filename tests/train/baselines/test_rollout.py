"""The online baselines end to end on the tiny model, the real sandbox and TRL's real trainer:
the rollout's token sequences (feedback masked, log-probabilities real), its feedback, and a few
training steps of each method."""

from __future__ import annotations

import itertools

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from cobalt.data.bundled import BundledConfig, generate_suite  # noqa: E402
from cobalt.demo.tiny_model import TURN_END, TURN_START  # noqa: E402
from cobalt.rollout.prompts import NO_CODE_FEEDBACK, execution_feedback, repair_message  # noqa: E402
from cobalt.sandbox import SyncExecutor  # noqa: E402
from cobalt.tokenizer import load_tokenizer  # noqa: E402
from cobalt.train.baselines.online import online_rows  # noqa: E402
from cobalt.train.baselines.rollout import (  # noqa: E402
    MultiTurnRollout,
    PublicSuite,
    TrajectoryTokens,
    feedback_turn_ids,
)
from cobalt.train.config import TrainConfig  # noqa: E402
from cobalt.train.trainer import build_trainer, check_whole_groups  # noqa: E402

TURNS = 3
GENERATIONS = 2
TEMPERATURE = 0.7  # not 1, so that log-probabilities taken without the temperature would not match
SYSTEM_PROMPT = "Reply with a Python program in one ```python block."  # short prompts keep the tests fast


@pytest.fixture(scope="module")
def problems():
    return generate_suite(BundledConfig(train=2, dev=0, test=0, seed=3), splits=("train",))["train"]


def online_config(model_dir, problems_path, out, method: str, **overrides) -> TrainConfig:
    settings = dict(
        model=str(model_dir),
        dataset=str(problems_path),
        output_dir=str(out),
        method=method,
        num_generations=GENERATIONS,
        temperature=TEMPERATURE,
        learning_rate=1e-3,
        beta=0.0,
        max_completion_length=12,
        max_prompt_tokens=2048,
        max_steps=2,
        prompts_per_step=2,
        prompts_per_update=2,
        per_device_train_batch_size=4,
        use_cpu=True,
        bf16=False,
        gradient_checkpointing=False,
        require_think=False,
        report_to=[],
        reward_cpu_s=1.0,
        reward_memory_mb=256,
        turns=TURNS,
        system_prompt=SYSTEM_PROMPT,
        save_steps=1000,
        seed=0,
    )
    return TrainConfig(**{**settings, **overrides})


@pytest.fixture(scope="module")
def problems_path(problems, tmp_path_factory):
    path = tmp_path_factory.mktemp("online") / "problems.jsonl"
    path.write_text("".join(p.to_json() + "\n" for p in problems))
    return path


@pytest.fixture(scope="module")
def rollout(tiny_model_dir, problems_path, tmp_path_factory):
    """One real rollout of the tiny model: (trainer, prompts, output)."""
    config = online_config(tiny_model_dir, problems_path, tmp_path_factory.mktemp("out"), "multi_turn")
    trainer, reward = build_trainer(config)
    try:
        prompts = [row["prompt"] for row in trainer.train_dataset for _ in range(GENERATIONS)]
        torch.manual_seed(0)
        output = trainer.rollout_func(prompts, trainer)
    finally:
        reward.close()
    return trainer, prompts, output


def runs(mask: list[int]) -> list[tuple[int, int, int]]:
    """(value, start, end) of each run of equal values."""
    out, start = [], 0
    for value, group in itertools.groupby(mask):
        length = len(list(group))
        out.append((value, start, start + length))
        start += length
    return out


def test_one_trajectory_per_prompt_with_aligned_fields(rollout):
    _, prompts, output = rollout
    assert all(len(output[key]) == len(prompts) for key in output)
    for ids, mask, logprobs in zip(output["completion_ids"], output["env_mask"], output["logprobs"]):
        assert len(ids) == len(mask) == len(logprobs)
    assert all(len(texts) == TURNS for texts in output["turn_texts"])
    assert all(len(feedback) == TURNS - 1 for feedback in output["feedback_texts"])


def test_env_mask_zeroes_exactly_the_feedback_turns(rollout):
    trainer, _, output = rollout
    tokenizer = trainer.processing_class
    eos = trainer.eos_token_ids
    for ids, mask, texts, feedback in zip(
        output["completion_ids"], output["env_mask"], output["turn_texts"], output["feedback_texts"]
    ):
        model_runs = [r for r in runs(mask) if r[0] == 1]
        env_runs = [r for r in runs(mask) if r[0] == 0]
        assert len(model_runs) == TURNS and len(env_runs) == TURNS - 1
        for (_, start, end), text in zip(model_runs, texts):
            assert tokenizer.decode(ids[start:end], skip_special_tokens=True) == text
        for (_, start, end), message, (_, _, turn_end) in zip(env_runs, feedback, model_runs):
            closed_by_model = ids[turn_end - 1] in eos
            closing = "" if closed_by_model else TURN_END  # a cut-off turn is closed by the template
            expected = f"{closing}\n{TURN_START}user\n{message}{TURN_END}\n{TURN_START}assistant\n"
            assert tokenizer.decode(ids[start:end], skip_special_tokens=False) == expected


def test_the_sequence_is_the_conversation_the_chat_template_renders(rollout):
    trainer, prompts, output = rollout
    tokenizer = trainer.processing_class
    for prompt, prompt_ids, ids, mask, feedback in zip(
        prompts, output["prompt_ids"], output["completion_ids"], output["env_mask"], output["feedback_texts"]
    ):
        answers = []
        for value, start, end in runs(mask):
            if value == 1:
                turn = ids[start:end]
                turn = turn[:-1] if turn[-1] in trainer.eos_token_ids else turn
                answers.append(tokenizer.decode(turn, skip_special_tokens=False))
        conversation = list(prompt)
        for answer, message in itertools.zip_longest(answers, feedback):
            conversation.append({"role": "assistant", "content": answer})
            if message is not None:
                conversation.append({"role": "user", "content": message})
        rendered = tokenizer.apply_chat_template(conversation, tokenize=False)
        decoded = tokenizer.decode(prompt_ids + ids, skip_special_tokens=False)
        assert rendered.startswith(decoded)
        assert rendered[len(decoded) :] in ("\n", TURN_END + "\n")  # the last turn's closing


def test_the_feedback_turn_continues_a_closed_turn_or_closes_a_cut_off_one(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_model_dir))
    turn = f"\n{TURN_START}user\nfix it{TURN_END}\n{TURN_START}assistant\n"
    closed = feedback_turn_ids(tokenizer, "fix it", tokenizer.convert_tokens_to_ids(TURN_END), {})
    cut_off = feedback_turn_ids(tokenizer, "fix it", None, {})
    assert tokenizer.decode(closed, skip_special_tokens=False) == turn
    assert tokenizer.decode(cut_off, skip_special_tokens=False) == TURN_END + turn


def test_feedback_of_an_answer_without_code_is_the_no_code_message(rollout):
    _, _, output = rollout
    for texts, feedback in zip(output["turn_texts"], output["feedback_texts"]):
        for text, message in zip(texts, feedback):
            if "```" not in text:  # the untrained model writes noise
                assert message == repair_message(NO_CODE_FEEDBACK)


def test_logprobs_are_the_policys_temperature_scaled_logprobs_of_the_sampled_tokens(rollout):
    trainer, _, output = rollout
    model = trainer.model.eval()
    for prompt_ids, ids, mask, logprobs in zip(
        output["prompt_ids"], output["completion_ids"], output["env_mask"], output["logprobs"]
    ):
        sequence = torch.tensor([prompt_ids + ids])
        with torch.no_grad():
            logits = model(sequence).logits[0, len(prompt_ids) - 1 : -1] / TEMPERATURE
        expected = torch.log_softmax(logits, dim=-1).gather(1, torch.tensor(ids)[:, None]).squeeze(1)
        model_tokens = torch.tensor(mask, dtype=torch.bool)
        torch.testing.assert_close(torch.tensor(logprobs)[model_tokens], expected[model_tokens], atol=2e-4, rtol=0)
        assert all(lp == 0.0 for lp, m in zip(logprobs, mask) if m == 0)


def test_feedback_runs_the_last_program_on_the_public_tests(problems):
    problem = problems[0]
    wrong = problem.meta["wrong_solutions"][0]["code"]
    answers = [f"```python\n{problem.meta['reference_solution']}\n```", f"```python\n{wrong}\n```", "no code"]
    trajectories = [TrajectoryTokens([0], turn_texts=[text]) for text in answers]
    suite = PublicSuite(problem.public_tests, problem.comparator)
    with SyncExecutor() as executor:
        rollout = MultiTurnRollout({}, executor, turns=TURNS, reasoning=False)
        messages = rollout._feedback(trajectories, [suite] * len(trajectories))
        wrong_result = executor.run(wrong, problem.public_tests)
    assert [t.public_pass_rates for t in trajectories] == [[1.0], [wrong_result.pass_rate], [None]]
    assert wrong_result.pass_rate < 1.0
    assert messages[1] == repair_message(execution_feedback(wrong_result))
    assert "Expected" in messages[1] or "expected" in messages[1]
    assert messages[2] == repair_message(NO_CODE_FEEDBACK)


def test_problems_with_the_same_prompt_are_kept_once(problems, tiny_model_dir):
    rows = online_rows([problems[0], problems[0], problems[1]], load_tokenizer(str(tiny_model_dir)), 4096)
    assert [row["problem_id"] for row in rows] == [problems[0].id, problems[1].id]


def test_batches_that_split_a_group_across_processes_are_refused():
    from types import SimpleNamespace

    from cobalt.jsonl import InputError

    # 2 prompts x 4 generations on 4 processes: 2 rows each, half a group.
    with pytest.raises(InputError, match="multiple of num_generations"):
        check_whole_groups(SimpleNamespace(per_device_train_batch_size=2, steps_per_generation=1), 4)
    check_whole_groups(SimpleNamespace(per_device_train_batch_size=2, steps_per_generation=2), 4)


@pytest.mark.parametrize("method", ["multi_turn", "verpo"])
def test_training_steps_run_and_log_the_reward_parts(method, tiny_model_dir, problems_path, tmp_path):
    trainer, reward = build_trainer(online_config(tiny_model_dir, problems_path, tmp_path, method))
    try:
        trainer.train()
    finally:
        reward.close()
    steps = [entry for entry in trainer.state.log_history if "reward/trajectory" in entry]
    assert len(steps) == 2
    for entry in steps:
        assert entry["rollout/public_pass_rate_turn0"] >= 0.0
        assert "reward/correctness" in entry and "loss" in entry
        # TRL counts only model tokens (env_mask 1): at most TURNS turns of max_completion_length.
        assert 0 < entry["completions/max_length"] <= TURNS * 12
        assert ("reward/verpo_dense" in entry) == (method == "verpo")


def test_feedback_uses_the_configured_repair_template(problems):
    problem = problems[0]
    wrong = problem.meta["wrong_solutions"][0]["code"]
    suite = PublicSuite(problem.public_tests, problem.comparator)
    with SyncExecutor() as executor:
        rollout = MultiTurnRollout({}, executor, turns=TURNS, reasoning=False, repair_template="{feedback}\nFix.")
        (message,) = rollout._feedback([TrajectoryTokens([0], turn_texts=[f"```python\n{wrong}\n```"])], [suite])
        result = executor.run(wrong, problem.public_tests)
    assert message == execution_feedback(result) + "\nFix."


@pytest.mark.parametrize(("system_prompt", "first_role"), [(None, "system"), ("", "user")])
def test_online_prompts_start_with_the_configured_system_message(
    system_prompt, first_role, tiny_model_dir, problems_path, tmp_path
):
    config = online_config(tiny_model_dir, problems_path, tmp_path, "multi_turn", system_prompt=system_prompt)
    trainer, reward = build_trainer(config)
    reward.close()
    assert trainer.train_dataset[0]["prompt"][0]["role"] == first_role
