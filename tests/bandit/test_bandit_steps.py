"""Each builder step on its own, against values worked out by hand (docs/paper.md §2.2–§2.4)."""

from __future__ import annotations

import random

import pytest

from cobalt.bandit import (
    BuildConfig,
    TrajectoryError,
    check_trajectory,
    eligible,
    improvement,
    lowest_improvement,
    max_variance_subset,
    mix_perturbed,
    partial_prompts,
    program_pass_rates,
    too_easy,
)
from cobalt.bandit.builder import FIRST_AND_THIRD_CORRECT, NO_FEEDBACK, PASSED_TWICE, TOKEN_LIMIT
from cobalt.records import Message, Trajectory


def contents(messages: list[Message]) -> list[str]:
    return [m.content for m in messages]


def test_pass_rate_weights_public_and_hidden_by_their_counts(make_trajectory) -> None:
    traj = make_trajectory("p", 0, [(1, 0.5), (2, 0.25), (0, 1.0)])
    assert program_pass_rates(traj) == [0.5, 0.625, 0.5]  # (1 + 1)/4, (2 + 0.5)/4, (0 + 2)/4
    paper = traj.model_copy(update={"num_public_tests": 4, "num_hidden_tests": 16})
    assert program_pass_rates(paper) == [(0.5 * 4 + 0.5 * 16) / 20, (1.0 * 4 + 0.25 * 16) / 20, 16 / 20]


def test_perturbed_trajectories_use_the_hidden_tests_only(make_trajectory) -> None:
    traj = make_trajectory("p", 0, [(1, 0.5), (2, 0.25), (0, 1.0)], condition="perturbed")
    assert program_pass_rates(traj) == [0.5, 0.25, 1.0]


def test_too_easy_looks_at_every_first_program_only() -> None:
    assert too_easy([[1.0, 0.0], [1.0, 1.0]])
    assert not too_easy([[1.0, 1.0], [0.9375, 1.0]])


def test_improvement_and_eligibility() -> None:
    rates = [[0.0, 1.0], [0.5, 0.5], [0.25, 0.75], [1.0, 1.0], [1.0, 0.5, 1.0]]
    assert [improvement(r) for r in rates] == [1.0, 0.0, 0.5, 0.0, 0.5]
    assert eligible(rates, validation=False) == [0, 4]  # improves and reaches 1.0
    assert eligible(rates, validation=True) == [0, 2, 4]  # improves


def test_max_variance_greedy_by_hand() -> None:
    # Sorted: .125(1) .25(2) .375(4) .5(0) .75(5) 1.0(3). Start [1,2,4,0], variance .01953125.
    # k=1: [1,2,4,3] variance .11328125, larger: switch. k=2: [1,2,5,3] variance .1279296875,
    # larger: switch. k=3: [1,0,5,3] variance .1044921875, smaller: stay.
    assert max_variance_subset([0.5, 0.125, 0.25, 1.0, 0.375, 0.75]) == [1, 2, 5, 3]


def test_max_variance_keeps_the_lowest_when_nothing_spreads_them() -> None:
    assert max_variance_subset([0.5] * 6) == [0, 1, 2, 3]


def test_max_variance_switches_to_the_extremes() -> None:
    # Start [.0625 .125 .1875 .25], variance .0048828125. k=1: [.0625 .125 .1875 1], .1455078125:
    # switch. k=2: [.0625 .125 1 1], .205810546875: switch. k=3: [.0625 .25 1 1], .182373046875: stay.
    values = [0.0625, 0.125, 0.1875, 0.25, 1.0, 1.0]
    assert max_variance_subset(values) == [0, 1, 4, 5]


def test_max_variance_keeps_all_when_few() -> None:
    assert max_variance_subset([0.75, 0.25, 0.5, 1.0]) == [0, 1, 2, 3]
    assert max_variance_subset([0.5, 0.25]) == [0, 1]
    assert max_variance_subset([]) == []


def test_max_variance_considers_only_the_pool() -> None:
    # 20 eligible: only the first 16 are considered, and exactly 4 are kept (the reference's
    # slice ran past the pool and kept up to 8 here).
    values = [0.0625 * (i % 8 + 1) for i in range(16)] + [1.0] * 4
    kept = max_variance_subset(values, keep=4, pool=16)
    assert len(kept) == 4 and all(i < 16 for i in kept)
    assert kept == [0, 8, 7, 15]  # two lowest .0625 and the two highest .5 of the pool


def test_lowest_improvement_takes_the_first_on_ties() -> None:
    assert lowest_improvement([0.5, 0.25, 0.25, 1.0]) == 1


def test_partial_prompts_after_one_two_three_attempts(make_trajectory) -> None:
    traj = make_trajectory("p", 3, [(0, 0.0), (1, 0.5), (2, 1.0)])
    prompts, reason = partial_prompts(traj, program_pass_rates(traj), None, BuildConfig())
    assert reason is None
    assert [(k, best) for k, _, best in prompts] == [(1, 0.0), (2, 0.5), (3, 1.0)]
    assert contents(prompts[0][1]) == ["system", "statement of p", "p/s3/a0", "p/s3/f0"]
    assert contents(prompts[2][1])[-2:] == ["p/s3/a2", "p/s3/f2"]
    assert all(p[-1].role == "user" for _, p, _ in prompts)


def test_stop_when_two_feedbacks_report_all_public_tests_passed(make_trajectory) -> None:
    traj = make_trajectory("p", 0, [(2, 0.5), (2, 0.75), (2, 1.0)])
    prompts, reason = partial_prompts(traj, program_pass_rates(traj), None, BuildConfig())
    assert reason == PASSED_TWICE
    assert [k for k, _, _ in prompts] == [1]
    # One passing feedback is not enough, and neither are two that are not the latest two.
    traj = make_trajectory("p", 0, [(2, 0.5), (1, 0.75), (2, 1.0)])
    assert partial_prompts(traj, program_pass_rates(traj), None, BuildConfig())[1] is None


@pytest.mark.parametrize(("limit", "attempts"), [(27, []), (28, [1]), (43, [1]), (44, [1, 2]), (60, [1, 2, 3])])
def test_stop_at_the_token_limit(limit: int, attempts: list[int], make_trajectory, tokenizer_dir) -> None:
    from cobalt.tokenizer import load_tokenizer, prompt_token_counter

    traj = make_trajectory("p1", 2, [(0, 0.0), (1, 0.5), (2, 1.0)])  # prompts of 28, 44 and 60 tokens
    count = prompt_token_counter(load_tokenizer(tokenizer_dir))
    prompts, reason = partial_prompts(traj, program_pass_rates(traj), count, BuildConfig(max_prompt_tokens=limit))
    assert [k for k, _, _ in prompts] == attempts
    assert reason == (None if attempts == [1, 2, 3] else TOKEN_LIMIT)


def test_programs_zero_and_two_correct_give_no_prompt(make_trajectory) -> None:
    traj = make_trajectory("p", 0, [(2, 1.0), (1, 0.5), (2, 1.0)])
    assert partial_prompts(traj, program_pass_rates(traj), None, BuildConfig()) == ([], FIRST_AND_THIRD_CORRECT)


def test_omitted_last_feedback_comes_from_the_turn(make_trajectory) -> None:
    traj = make_trajectory("p", 0, [(0, 0.0), (1, 0.5), (2, 1.0)], last_feedback=False)
    prompts, reason = partial_prompts(traj, program_pass_rates(traj), None, BuildConfig())
    assert reason is None and contents(prompts[2][1])[-1] == "p/s0/f2"
    bare = traj.model_copy(update={"turns": [*traj.turns[:2], traj.turns[2].model_copy(update={"feedback": ""})]})
    prompts, reason = partial_prompts(bare, program_pass_rates(bare), None, BuildConfig())
    assert [k for k, _, _ in prompts] == [1, 2] and reason == NO_FEEDBACK


def test_short_and_long_trajectories(make_trajectory) -> None:
    short = make_trajectory("p", 0, [(0, 0.0), (2, 1.0)])
    assert [k for k, _, _ in partial_prompts(short, [0.0, 1.0], None, BuildConfig())[0]] == [1, 2]
    long = make_trajectory("p", 0, [(0, 0.0)] * 8 + [(2, 1.0)])
    prompts, _ = partial_prompts(long, program_pass_rates(long), None, BuildConfig())
    assert [len(p) for _, p, _ in prompts] == [4, 6, 8]  # the first 8 messages at most


def test_mix_perturbed_ratio() -> None:
    rng = random.Random(0)
    pool = list(range(10))
    assert mix_perturbed(16, pool, None, rng) == pool
    assert len(mix_perturbed(16, pool, 0.25, rng)) == 4
    assert mix_perturbed(16, pool, 0.0, rng) == []
    assert mix_perturbed(16, pool, 2.0, rng) == pool  # too few built: all of them


def test_check_trajectory_names_the_field(make_trajectory, problems) -> None:
    good = make_trajectory("p1", 0, [(0, 0.0), (2, 1.0)])
    check_trajectory(good, problems["p1"])
    cases = {
        "messages": good.model_copy(update={"messages": good.messages[:3] + good.messages[4:]}),
        "turns": good.model_copy(update={"turns": good.turns[1:]}),
        "num_public_tests": good.model_copy(update={"num_hidden_tests": 5}),
        "turns.1.hidden_pass_rate": good.model_copy(
            update={"turns": [good.turns[0], good.turns[1].model_copy(update={"hidden_pass_rate": None})]}
        ),
    }
    for field, bad in cases.items():
        with pytest.raises(TrajectoryError) as caught:
            check_trajectory(Trajectory.model_validate(bad.model_dump()), problems["p1"])
        assert caught.value.field == field
