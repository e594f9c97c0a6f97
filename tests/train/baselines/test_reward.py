"""Rewards of the online baselines: VeRPO's weights and dense rewards on hand-made pass matrices
(exact numbers), and the trajectory reward on real programs run in the sandbox."""

from __future__ import annotations

import pytest

from cobalt.records import Tests
from cobalt.reward import RewardOptions
from cobalt.sandbox import Limits, SandboxConfig, SyncExecutor
from cobalt.train.baselines.reward import OnlineReward, verpo_dense_rewards, verpo_group_dense, verpo_test_weights

NO_THINK = RewardOptions(require_think=False)

# Two trajectories of two turns on four tests ([trajectory][turn][test]).
GROUP = [
    [[0, 1, 0, 0], [1, 1, 1, 1]],
    [[0, 0, 0, 0], [1, 1, 1, 0]],
]
# Pass rates over the group's 4 programs: 2/4, 3/4, 2/4, 1/4; failure rates .5, .25, .5, .75 (sum 2).
WEIGHTS = [0.25, 0.125, 0.25, 0.375]


def test_rarely_passed_tests_weigh_more_and_weights_sum_to_one():
    assert verpo_test_weights(GROUP) == pytest.approx(WEIGHTS)


def test_dense_reward_of_a_turn_sums_the_weights_of_its_passed_tests():
    assert verpo_dense_rewards(GROUP, WEIGHTS) == [pytest.approx([0.125, 1.0]), pytest.approx([0.0, 0.625])]
    assert verpo_group_dense(GROUP) == pytest.approx([0.5625, 0.3125])  # mean over turns


def test_a_test_every_program_passes_has_no_weight():
    group = [[[1, 1]], [[1, 0]]]
    assert verpo_test_weights(group) == pytest.approx([0.0, 1.0])
    assert verpo_group_dense(group) == pytest.approx([1.0, 0.0])


def test_when_every_program_passes_everything_the_weights_are_uniform():
    assert verpo_test_weights([[[1, 1, 1]], [[1, 1, 1]]]) == pytest.approx([1 / 3] * 3)
    assert verpo_group_dense([[[1, 1, 1]], [[1, 1, 1]]]) == pytest.approx([1.0, 1.0])


def test_when_nothing_passes_the_dense_reward_is_zero():
    assert verpo_test_weights([[[0, 0]], [[0, 0]]]) == pytest.approx([0.5, 0.5])
    assert verpo_group_dense([[[0, 0]], [[0, 0]]]) == [0.0, 0.0]


def test_programs_with_different_numbers_of_verdicts_are_refused():
    with pytest.raises(ValueError, match="one verdict per test"):
        verpo_test_weights([[[1, 0]], [[1]]])


# --- the reward function, with programs run in the sandbox -----------------------------------------

# "a b" -> a + b. The first two tests are the public ones, all four are scored.
TESTS = Tests(inputs=["1 2\n", "2 2\n", "0 5\n", "3 3\n"], outputs=["3\n", "4\n", "5\n", "6\n"]).model_dump_json()
READ = "a, b = map(int, input().split())\n"
PROGRAMS = {
    "sum": READ + "print(a + b)",  # passes all: 1 1 1 1
    "product": READ + "print(a * b)",  # only 2 2 -> 4: 0 1 0 0
    "sum_if_small": READ + "print(a + b if a < 3 else 0)",  # 1 1 1 0
}


def answer(name: str) -> str:
    return f"Here it is.\n```python\n{PROGRAMS[name]}\n```"


# The pass matrix of GROUP, as real answers: trajectory 0 writes product then sum; trajectory 1
# writes no program, then sum_if_small.
TURN_TEXTS = [[answer("product"), answer("sum")], ["I am not sure.", answer("sum_if_small")]]


@pytest.fixture(scope="module")
def executor():
    with SyncExecutor(SandboxConfig(limits=Limits(cpu_s=2.0, memory_mb=256))) as executor:
        yield executor


def call(reward: OnlineReward, turn_texts=TURN_TEXTS, problem_ids=("p", "p")) -> tuple[list[float], dict]:
    logged: dict[str, float] = {}
    rewards = reward(
        prompts=[[{"role": "user", "content": "x"}]] * len(turn_texts),
        completions=[[{"role": "assistant", "content": "ignored"}]] * len(turn_texts),
        tests=[TESTS] * len(turn_texts),
        turn_texts=turn_texts,
        public_pass_rates=[[0.5], [None]],
        problem_id=list(problem_ids),
        comparator=[None] * len(turn_texts),
        log_metric=logged.__setitem__,
    )
    return rewards, logged


def test_multi_turn_reward_is_the_final_programs_cobalt_reward(executor):
    rewards, logged = call(OnlineReward(executor, num_generations=2, options=NO_THINK))
    # Final programs: sum (all tests pass -> tier 1.0), sum_if_small (3/4 -> tier 0.2); no format penalty.
    assert rewards == pytest.approx([1.0, 0.2])
    assert logged["reward/trajectory"] == pytest.approx(0.6)
    assert logged["reward/pass_rate"] == pytest.approx((1.0 + 0.75) / 2)
    assert logged["rollout/public_pass_rate_turn0"] == pytest.approx(0.25)  # 0.5 and no program
    assert "reward/verpo_dense" not in logged


def test_verpo_adds_the_weighted_dense_term_computed_from_real_runs(executor):
    reward = OnlineReward(executor, num_generations=2, dense_weight=0.5, options=NO_THINK)
    rewards, logged = call(reward)
    assert rewards == pytest.approx([1.0 + 0.5 * 0.5625, 0.2 + 0.5 * 0.3125])
    assert logged["reward/verpo_dense"] == pytest.approx((0.5625 + 0.3125) / 2)
    assert logged["reward/pass_rate_turn0"] == pytest.approx(0.125)  # (1/4 + 0) / 2
    assert logged["reward/pass_rate_turn1"] == pytest.approx(0.875)


def test_verpo_refuses_a_group_that_mixes_problems(executor):
    reward = OnlineReward(executor, num_generations=2, dense_weight=0.5, options=NO_THINK)
    with pytest.raises(RuntimeError, match="mixes problems"):
        call(reward, problem_ids=("p", "q"))
