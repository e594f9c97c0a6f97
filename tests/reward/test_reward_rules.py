"""The reward's arithmetic, branch by branch, against hand-computed values (docs/paper.md §2.6).

The completion used here is well formed with an empty think part and no explanation, so its
format term is exactly 0 in both branches (0.075 * tanh(0) = 0, no keywords): each expected value
below is correctness plus improvement, worked out by hand in the comment beside it.
"""

from __future__ import annotations

import pytest

from cobalt.reward import RewardOptions, correctness_reward, improved_reward, reward_from_pass_rate

VALIDATION = RewardOptions(validation=True)

CLEAN = "</think>\n```python\nprint(1)\n```"
BROKEN = "</think>\n```python\nprint(1)\n```\n```python\nprint(2)\n```"  # two python blocks: -0.9


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (1.0, 1.0),
        (0.9999, 0.2),
        (0.75, 0.2),
        (0.5, 0.2),  # p exactly 0.5 is in the 0.2 tier
        (0.4999, 0.0),
        (0.05, 0.0),
        (0.0, -0.1),
    ],
)
def test_correctness_tiers(p: float, expected: float) -> None:
    assert correctness_reward(p) == expected
    assert reward_from_pass_rate(CLEAN, p, 0.0).reward == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("p", "b", "expected"),
    [
        (1.0, 0.5, 1.0),  # p = 1: the improvement rule does not apply
        (1.0, 1.0, 1.0),
        (0.3, 0.0, 0.0),  # b = 0: the rule does not apply, tier 0.0 stays
        (0.0, 0.0, -0.1),  # b = 0 and p = 0: tier -0.1 stays
        (0.75, 0.5, 0.25),  # gain: 0.2 + 0.1 * 0.25 / 0.5
        (0.5, 0.25, 0.2 + 0.1 / 3),  # gain: 0.2 + 0.1 * 0.25 / 0.75
        (0.25, 0.2, 0.00625),  # gain: 0.0 + 0.1 * 0.05 / 0.8
        (0.125, 0.0625, 0.1 * 0.0625 / 0.9375),  # gain from tier 0.0
        (0.5, 0.5, -0.1),  # b exactly p: no gain, the 0.2 tier is replaced by -0.1 + 0
        (0.25, 0.5, -0.15),  # regression: -0.1 + 0.1 * (-0.25) / 0.5
        (0.0, 0.5, -0.2),  # regression to nothing: -0.1 + 0.1 * (-0.5) / 0.5
        (0.0, 0.01, -0.2),  # the replacement reaches -0.2 whatever b is
        (0.75, 1.0, -0.125),  # below an earlier correct program: -0.1 + 0.1 * (-0.25) / 1
        (0.5, 1.0, -0.15),
        (0.0, 1.0, -0.2),
    ],
)
def test_improvement_branch(p: float, b: float, expected: float) -> None:
    parts = reward_from_pass_rate(CLEAN, p, b)
    assert parts.reward == pytest.approx(expected, abs=1e-12)
    assert parts.correctness == correctness_reward(p)
    assert parts.correctness + parts.improvement == pytest.approx(expected, abs=1e-12)
    assert parts.format == 0.0


def test_improvement_rule_uses_the_reference_operation_order() -> None:
    # (p - b) / (1 - b) * 0.1, not 0.1 * (p - b) / (1 - b): the two differ in the last bit here.
    assert improved_reward(0.125, 0.1, 0.0) == 0.002777777777777777 != 0.1 * (0.125 - 0.1) / (1.0 - 0.1)
    assert improved_reward(0.25, 0.6, 0.2) == -0.15833333333333335 != -0.1 + 0.1 * (0.25 - 0.6) / 0.6


@pytest.mark.parametrize(
    ("p", "b", "expected"),
    [
        (0.0, 0.5, -1.0),  # -0.2 - 0.9 = -1.1, clipped
        (0.0, 1.0, -1.0),  # -0.2 - 0.9, clipped
        (0.0, 0.0, -1.0),  # -0.1 - 0.9 = -1.0 exactly
        (0.25, 0.5, -1.0),  # -0.15 - 0.9 = -1.05, clipped
        (0.5, 0.0, -0.7),  # 0.2 - 0.9
        (1.0, 0.0, 0.1),  # 1.0 - 0.9
    ],
)
def test_format_violation_and_clipping(p: float, b: float, expected: float) -> None:
    parts = reward_from_pass_rate(BROKEN, p, b)
    assert parts.violation == "several ```python blocks"
    assert parts.format == -0.9
    assert parts.reward == pytest.approx(expected, abs=1e-12)


def test_rewards_stay_in_range_on_a_grid() -> None:
    rates = [i / 16 for i in range(17)]
    for completion in (CLEAN, BROKEN, "no code at all"):
        for p in rates:
            for b in rates:
                pass_rate = None if completion == "no code at all" else p
                assert -1.0 <= reward_from_pass_rate(completion, pass_rate, b).reward <= 1.0


def test_no_code() -> None:
    parts = reward_from_pass_rate("I cannot solve this.", None, 0.5)
    assert (parts.reward, parts.pass_rate, parts.format) == (-1.0, None, 0.0)
    assert reward_from_pass_rate("I cannot solve this.", None, 0.5, VALIDATION).reward == 0.0


@pytest.mark.parametrize(
    ("completion", "p", "b", "expected"),
    [
        (CLEAN, 1.0, 0.0, 1.0),
        (CLEAN, 1.0, 0.5, 1.0),
        (BROKEN, 1.0, 0.0, 1.0),  # validation ignores the format
        (CLEAN, 0.9999, 0.0, 0.0),
        (CLEAN, 0.5, 0.25, 0.0),
        (CLEAN, 0.0, 0.5, 0.0),
    ],
)
def test_validation_is_binary(completion: str, p: float, b: float, expected: float) -> None:
    assert reward_from_pass_rate(completion, p, b, VALIDATION).reward == expected


def test_previous_best_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="prev_best_pass_rate"):
        reward_from_pass_rate(CLEAN, 0.5, 1.5)


def test_metrics_are_namespaced() -> None:
    metrics = reward_from_pass_rate(CLEAN, 0.75, 0.5).metrics()
    assert metrics["reward/reward"] == pytest.approx(0.25)
    assert metrics["reward/pass_rate"] == 0.75
    assert metrics["reward/no_code"] == 0.0
    assert all(key.startswith("reward/") for key in metrics)
