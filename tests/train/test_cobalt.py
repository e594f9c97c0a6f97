"""The Cobalt method on TRL's GRPO: reading the bandit dataset, the prompt-length filter, the
single-turn baseline's data, the reward as TRL calls it (real programs in the sandbox), and a short
real training run on the tiny model that saves a loadable policy and resumes from its checkpoint."""

from __future__ import annotations

import json
import logging

import pytest

from cobalt.bandit import read_examples, write_examples
from cobalt.data.bundled import BundledConfig, generate_suite
from cobalt.jsonl import InputError
from cobalt.records import BanditExample, Message, Tests
from cobalt.rollout.prompts import initial_messages, repair_message
from cobalt.tokenizer import load_tokenizer, prompt_token_counter
from cobalt.train.baselines.single_turn import single_turn_examples
from cobalt.train.cobalt import CobaltReward, length_grouped, training_rows
from cobalt.train.config import TrainConfig
from cobalt.train.trainer import grpo_args

SYSTEM_PROMPT = "Reply with a Python program in one ```python block."  # short prompts keep the tests fast
TRAINING_COLUMNS = {"prompt", "tests", "prev_best_pass_rate", "comparator", "problem_id", "turn", "perturbed"}
TRAINING_COLUMNS |= {"prompt_tokens"}  # counted once, for the length limit; length grouping sorts by it


def fenced(code: str) -> str:
    return f"```python\n{code.rstrip()}\n```"


@pytest.fixture(scope="module")
def problems():
    return generate_suite(BundledConfig(train=2, dev=0, test=0, seed=3), splits=("train",))["train"]


@pytest.fixture(scope="module")
def examples(problems) -> list[BanditExample]:
    """Per problem: the problem-only prompt, then the prompt after one wrong attempt."""
    out = []
    for problem in problems:
        first = initial_messages(problem, SYSTEM_PROMPT)
        wrong = problem.meta["wrong_solutions"][0]["code"]
        repair = [
            *first,
            Message(role="assistant", content=fenced(wrong)),
            Message(role="user", content=repair_message("Your program printed 3 instead of 4.")),
        ]
        common = {"tests": problem.all_tests, "problem_id": problem.id, "comparator": problem.comparator}
        out.append(BanditExample(id=f"{problem.id}@0", prompt=first, prev_best_pass_rate=0.0, turn=0, **common))
        out.append(BanditExample(id=f"{problem.id}@1", prompt=repair, prev_best_pass_rate=0.25, turn=1, **common))
    return out


@pytest.fixture(scope="module")
def bandit_jsonl(examples, tmp_path_factory):
    path = tmp_path_factory.mktemp("bandit") / "bandit.jsonl"
    write_examples(examples, path)
    return path


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir):
    return load_tokenizer(str(tiny_model_dir))


# --- data ---------------------------------------------------------------------------------------------


def test_bandit_rows_are_read_from_every_format_the_builder_writes(examples, bandit_jsonl, tmp_path, tokenizer):
    pytest.importorskip("pyarrow")
    jsonl = read_examples(bandit_jsonl)
    assert [row.id for row in jsonl] == [e.id for e in examples]
    assert jsonl[1].prompt[-2].role == "assistant" and jsonl[1].prev_best_pass_rate == 0.25
    expected = training_rows(jsonl, tokenizer, 4096)
    for name in ("bandit.parquet", "bandit-dataset"):
        write_examples(examples, tmp_path / name)
        rows = read_examples(tmp_path / name)
        assert [row.id for row in rows] == [e.id for e in examples]
        # whatever the format, the trainer sees the same prompts, tests and previous bests
        assert training_rows(rows, tokenizer, 4096) == expected


def test_a_bad_bandit_line_names_the_file_and_line(bandit_jsonl, tmp_path):
    lines = bandit_jsonl.read_text().splitlines()
    bad = json.loads(lines[1])
    bad["prompt"] = bad["prompt"][:-1]  # now ends with the assistant's attempt
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join([lines[0], json.dumps(bad)]) + "\n")
    with pytest.raises(InputError, match="end with a user message") as caught:
        read_examples(path)
    assert caught.value.path == str(path) and caught.value.line == 2


def test_training_rows_hold_what_the_reward_needs(bandit_jsonl, tokenizer):
    rows = training_rows(read_examples(bandit_jsonl), tokenizer, 4096)
    assert len(rows) == 4
    count = prompt_token_counter(tokenizer)
    for row in rows:
        assert set(row) == TRAINING_COLUMNS
        assert row["prompt_tokens"] == count([Message(**m) for m in row["prompt"]])
        assert all(set(message) == {"role", "content"} for message in row["prompt"])
        assert Tests.model_validate(row["tests"]).inputs  # every test goes to the reward
        assert row["comparator"] == "lines"
    assert [(row["turn"], row["prev_best_pass_rate"]) for row in rows] == [(0, 0.0), (1, 0.25)] * 2


def test_prompts_over_the_token_limit_are_dropped_and_counted(bandit_jsonl, tokenizer, caplog):
    rows = read_examples(bandit_jsonl)
    count = prompt_token_counter(tokenizer)
    lengths = [count(list(row.prompt)) for row in rows]
    longest = max(lengths)
    assert len(rows) == 4 and min(lengths) < longest  # repair prompts are longer
    # the limit is inclusive: a prompt of exactly max_prompt_tokens tokens is kept
    assert len(training_rows(rows, tokenizer, longest)) == 4
    with caplog.at_level(logging.WARNING, logger="cobalt.train.cobalt"):
        kept = training_rows(rows, tokenizer, longest - 1)
    assert [row["problem_id"] for row in kept] == [r.problem_id for r, n in zip(rows, lengths) if n < longest]
    assert f"dropped {4 - len(kept)} of 4 prompts" in caplog.text


def test_no_prompt_fitting_the_limit_is_an_input_error(bandit_jsonl, tokenizer):
    with pytest.raises(InputError, match="max_prompt_tokens=10"):
        training_rows(read_examples(bandit_jsonl), tokenizer, 10)


def test_single_turn_keeps_one_problem_only_prompt_per_problem():
    def row(problem_id: str, turn: int, prev_best: float, sample: int = 0):
        prompt = [Message(role="user", content=problem_id)]
        return BanditExample(id=f"{problem_id}{sample}", prompt=prompt, tests=Tests(inputs=["1"], outputs=["1"]),
                             prev_best_pass_rate=prev_best, problem_id=problem_id, turn=turn)  # fmt: skip

    # (a problem-only prompt has no earlier attempt; its previous best is 0 even if a file says otherwise)
    rows = [row("p", 1, 0.5), row("p", 0, 0.25, 1), row("q", 0, 0.0), row("p", 0, 0.0, 2), row("q", 2, 0.75)]
    kept = single_turn_examples(rows)
    assert [(r.problem_id, r.id, r.turn, r.prev_best_pass_rate) for r in kept] == [
        ("p", "p1", 0, 0.0),
        ("q", "q0", 0, 0.0),
    ]


# --- reward -------------------------------------------------------------------------------------------

# "a b" -> a + b on four tests; previous best 0.5 in every prompt.
ADD_TESTS = Tests(inputs=["1 2\n", "2 2\n", "0 5\n", "3 3\n"], outputs=["3\n", "4\n", "5\n", "6\n"]).model_dump()
READ = "a, b = map(int, input().split())\n"
ANSWERS = [
    fenced(READ + "print(a + b)"),  # pass rate 1
    fenced(READ + "print(a + b if a < 3 else 0)"),  # 3/4: better than 0.5
    fenced(READ + "print(a * b)"),  # 1/4 (only 2 2 -> 4): worse than 0.5
    "I would add the two numbers.",  # no code
]
PREV_BEST = 0.5
# Correctness tiers 1.0, 0.2, 0.0, -1; the improvement rule (cobalt only): a gain adds
# 0.1 (0.75 - 0.5) / 0.5 to the tier, a loss replaces the tier by -0.1 + 0.1 (0.25 - 0.5) / 0.5.
COBALT_REWARDS = [1.0, 0.25, -0.15, -1.0]
SINGLE_TURN_REWARDS = [1.0, 0.2, 0.0, -1.0]


def call_like_trl(reward: CobaltReward, answers: list[str], tests: list, comparators: list, prev_best: list):
    """Conversational completions, every dataset column repeated per completion, and TRL's kwargs."""
    metrics: dict[str, float] = {}
    extra: dict[str, list] = {}
    n = len(answers)
    rewards = reward(
        prompts=[[{"role": "user", "content": "add"}]] * n,
        completions=[[{"role": "assistant", "content": answer}] for answer in answers],
        completion_ids=[[1, 2, 3]] * n,
        tests=tests,
        prev_best_pass_rate=prev_best,
        comparator=comparators,
        problem_id=["p"] * n,
        turn=[1] * n,
        perturbed=[False] * n,
        trainer_state=None,
        log_metric=metrics.__setitem__,
        log_extra=extra.__setitem__,
    )
    return rewards, metrics, extra


@pytest.fixture(scope="module")
def reward_config():
    return TrainConfig(require_think=False, reward_cpu_s=1.0, reward_memory_mb=256)


@pytest.mark.parametrize(
    ("use_improvement", "expected", "improvement"),
    [(True, COBALT_REWARDS, (0.05 - 0.15) / 4), (False, SINGLE_TURN_REWARDS, 0.0)],
    ids=["cobalt", "single_turn"],
)
def test_reward_of_real_programs_with_and_without_the_improvement_term(
    reward_config, use_improvement, expected, improvement
):
    reward = CobaltReward(reward_config, use_improvement=use_improvement)
    try:
        rewards, metrics, extra = call_like_trl(reward, ANSWERS, [ADD_TESTS] * 4, [None] * 4, [PREV_BEST] * 4)
    finally:
        reward.close()
    assert rewards == pytest.approx(expected)
    assert metrics["reward/reward"] == pytest.approx(sum(expected) / 4)
    assert metrics["reward/improvement"] == pytest.approx(improvement)
    assert metrics["reward/pass_rate"] == pytest.approx((1 + 0.75 + 0.25 + 0) / 4)
    assert metrics["reward/no_code"] == pytest.approx(0.25)
    assert extra == {"pass_rate": [1.0, 0.75, 0.25, None]}


def test_reward_scores_a_bundled_problem_on_all_its_tests_with_its_comparator(problems, reward_config):
    problem = problems[0]
    wrong = problem.meta["wrong_solutions"][0]["code"]
    answers = [fenced(problem.meta["reference_solution"]), fenced(wrong)]
    tests = [problem.all_tests.model_dump()] * 2
    reward = CobaltReward(reward_config)
    try:
        rewards, _, extra = call_like_trl(reward, answers, tests, [problem.comparator] * 2, [0.0, 0.0])
    finally:
        reward.close()
    assert rewards[0] == 1.0 and extra["pass_rate"][0] == 1.0
    assert extra["pass_rate"][1] < 1.0 and rewards[1] < 1.0


def test_a_failed_program_sent_back_unchanged_gets_the_resubmission_reward(reward_config):
    """The paper pays a resubmitted failure -0.1, above a change that passes fewer tests (down to -0.2):
    with ``resubmission_reward`` the repeat gets that value; a correct program kept is not touched."""
    failed, correct = ANSWERS[2], ANSWERS[0]  # pass rates 0.25 and 1.0 on ADD_TESTS
    history = {p: [{"role": "user", "content": "add"}, {"role": "assistant", "content": p}] for p in (failed, correct)}
    prompts = [history[failed], history[failed], history[failed], history[correct]]
    answers = [failed, ANSWERS[1], correct, correct]  # resubmitted, improved, fixed, kept
    expected_by_option = {None: [-0.1, 0.2 + 0.1 * (0.75 - 0.25) / 0.75, 1.0, 1.0], -0.2: [-0.2]}
    for option, expected in expected_by_option.items():
        reward = CobaltReward(reward_config.model_copy(update={"resubmission_reward": option}))
        metrics: dict[str, float] = {}
        try:
            rewards = reward(
                prompts=prompts,
                completions=[[{"role": "assistant", "content": a}] for a in answers],
                tests=[ADD_TESTS] * 4,
                prev_best_pass_rate=[0.25, 0.25, 0.25, 1.0],
                comparator=[None] * 4,
                log_metric=metrics.__setitem__,
            )
        finally:
            reward.close()
        assert rewards[: len(expected)] == pytest.approx(expected)
        assert rewards[1:] == pytest.approx(expected_by_option[None][1:])
        assert metrics["reward/resubmitted_failure"] == pytest.approx(0.25)


# --- the trainer --------------------------------------------------------------------------------------


def tiny_cpu_config(tiny_model_dir, dataset, output_dir, **extra) -> TrainConfig:
    """The tiny-cpu preset with groups of 2, short completions and a checkpoint every step."""
    overrides = {
        "model": str(tiny_model_dir),
        "dataset": str(dataset),
        "output_dir": str(output_dir),
        "num_generations": 2,
        "prompts_per_step": 2,
        "prompts_per_update": 2,
        "per_device_train_batch_size": 4,
        "max_completion_length": 16,
        "max_steps": 2,
        "save_steps": 1,
        "report_to": [],
        **extra,
    }
    return TrainConfig.load("tiny-cpu", [f"{key}={json.dumps(value)}" for key, value in overrides.items()])


def test_single_turn_trainer_sees_problem_only_prompts_without_improvement_term(tiny_model_dir, bandit_jsonl, tmp_path):
    pytest.importorskip("trl")
    from cobalt.train.trainer import build_trainer

    config = tiny_cpu_config(tiny_model_dir, bandit_jsonl, tmp_path, method="single_turn")
    trainer, reward = build_trainer(config)
    reward.close()
    rows = list(trainer.train_dataset)
    assert len(rows) == 2 and {row["turn"] for row in rows} == {0}
    assert {row["prev_best_pass_rate"] for row in rows} == {0.0}
    assert not reward.use_improvement


@pytest.fixture
def one_thread():
    """Torch on one thread: the tiny model gains nothing from more, and on a busy machine competing
    thread pools can slow generation tenfold."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_training_saves_a_loadable_policy_and_resumes_from_its_checkpoint(
    tiny_model_dir, bandit_jsonl, tmp_path, one_thread
):
    pytest.importorskip("trl")
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback

    from cobalt.train.trainer import train

    class Steps(TrainerCallback):
        def __init__(self):
            self.steps: list[int] = []

        def on_step_end(self, args, state, control, **kwargs):
            self.steps.append(state.global_step)

    out = tmp_path / "run"
    first = Steps()
    final = train(tiny_cpu_config(tiny_model_dir, bandit_jsonl, out), callbacks=[first])
    assert final == out / "final" and first.steps == [1, 2]
    assert (out / "checkpoint-2").is_dir()
    model = AutoModelForCausalLM.from_pretrained(final)
    assert model.config.vocab_size == AutoModelForCausalLM.from_pretrained(tiny_model_dir).config.vocab_size
    assert AutoTokenizer.from_pretrained(final).chat_template  # the saved policy can be rolled out as is

    # a second run in the same directory (a crash, or more steps) continues from the last checkpoint
    second = Steps()
    assert train(tiny_cpu_config(tiny_model_dir, bandit_jsonl, out, max_steps=3), callbacks=[second]) == final
    assert second.steps == [3]
    state = json.loads((out / "checkpoint-3" / "trainer_state.json").read_text())
    assert state["global_step"] == 3


def test_length_grouping_fills_each_batch_with_prompts_of_similar_length(tokenizer):
    problems = generate_suite(BundledConfig(train=12, dev=0, test=0, seed=5), splits=("train",))["train"]
    count = prompt_token_counter(tokenizer)
    rows = []
    for problem in problems:
        prompt = initial_messages(problem, SYSTEM_PROMPT)
        for attempts in range(3):  # 0, 1 and 2 earlier attempts: three very different lengths
            messages = [m.model_dump() for m in prompt]
            rows.append(
                {"problem_id": problem.id, "turn": attempts, "prompt": messages, "prompt_tokens": count(prompt)}
            )
            prompt = [
                *prompt,
                Message(role="assistant", content=fenced("print(1)")),
                Message(role="user", content=repair_message("x")),
            ]

    def length(row):
        return count([Message(**m) for m in row["prompt"]])

    grouped = length_grouped(rows, batch_prompts=4, seed=0)
    assert sorted(map(id, grouped)) == sorted(map(id, rows))  # a reordering: nothing lost or repeated
    batches = [grouped[i : i + 4] for i in range(0, len(grouped), 4)]
    assert all(len({row["turn"] for row in batch}) == 1 for batch in batches)  # lengths never mix
    lengths = sorted(map(length, rows))
    assert [sorted(map(length, b)) for b in sorted(batches, key=lambda b: min(map(length, b)))] == [
        lengths[i : i + 4] for i in range(0, len(lengths), 4)
    ]
    assert [b[0]["turn"] for b in batches] != sorted(b[0]["turn"] for b in batches)  # batches are shuffled
    assert length_grouped(rows, 4, seed=0) == grouped
    assert length_grouped(rows, 4, seed=1) != grouped


def test_length_grouping_switches_off_trls_own_shuffling():
    config = TrainConfig.load("tiny-cpu", ["report_to=[]"])
    assert config.group_by_length and grpo_args(config, "unused").shuffle_dataset is False
    assert grpo_args(config.model_copy(update={"group_by_length": False}), "unused").shuffle_dataset is True
    for online in ("multi_turn", "verpo"):  # bare problems only: nothing to group, so TRL shuffles
        assert grpo_args(config.model_copy(update={"method": online}), "unused").shuffle_dataset is True
