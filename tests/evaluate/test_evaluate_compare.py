"""Keep and fix rates of repair turns, and the paired comparison of two runs on the same problems."""

from __future__ import annotations

import pytest
from evaluate_testkit import RUN, F, N, T, make_trajectory

from cobalt.evaluate import format_paired, paired_comparison, summarize


def test_keep_and_fix_rates_of_a_known_run():
    summary = summarize(RUN)
    # RUN's transitions into turn 1: correct at turn 0 only in p1 sample 2 (kept); incorrect at turn 0
    # in the other 7 trajectories, of which 2 are correct at turn 1 (p1 s0, p2 s3).
    turn1, turn2 = summary.per_turn[1], summary.per_turn[2]
    assert (turn1.keep_rate, turn1.fix_rate) == (1.0, 2 / 7)
    # into turn 2: correct at turn 1 in p1 s0, p1 s2, p2 s3 (kept: 2); incorrect in 5, fixed: p1 s1, p2 s2
    assert (turn2.keep_rate, turn2.fix_rate) == (2 / 3, 2 / 5)
    assert summary.per_turn[0].keep_rate is None and summary.per_turn[0].fix_rate is None
    assert (summary.keep_rate, summary.fix_rate) == (3 / 4, 4 / 12)


def run(rates_per_problem: dict[str, list[list]]):
    """Trajectories from {problem: [outcomes of sample 0, outcomes of sample 1, ...]}."""
    return summarize(
        [
            make_trajectory(problem, s, o)
            for problem, samples in rates_per_problem.items()
            for s, o in enumerate(samples)
        ]
    )


BASE = {f"p{i}": [[F, F], [T, F]] for i in range(20)}  # pass@1 0.5 at turn 0, 0 at turn 1
BETTER = {f"p{i}": [[F, T], [T, T]] for i in range(20)}  # the same first attempts, every repair right


def test_a_consistent_gain_has_an_interval_above_zero():
    comparison = paired_comparison(run(BASE), [run(BETTER)])
    turn0, turn1 = comparison.per_turn
    assert (turn0.mean, turn0.low, turn0.high) == (0.0, 0.0, 0.0)  # identical first attempts
    assert turn1.mean == pytest.approx(1.0) and turn1.above_zero
    assert comparison.repair_turns.mean == pytest.approx(1.0) and comparison.all_turns.mean == pytest.approx(0.5)
    assert comparison.problems == 20


def test_a_gain_on_a_few_problems_only_is_not_above_zero():
    mixed = dict(BASE)
    mixed["p0"] = [[T, T], [T, T]]  # one problem improves a lot, one gets worse
    mixed["p1"] = [[F, F], [F, F]]
    comparison = paired_comparison(run(BASE), [run(mixed)])
    assert not comparison.all_turns.above_zero and comparison.all_turns.low < 0 < comparison.all_turns.high


def test_seeds_are_pooled_by_averaging_per_problem_rates():
    comparison = paired_comparison(run(BASE), [run(BETTER), run(BASE)])
    assert comparison.per_turn[1].mean == pytest.approx(0.5) and len(comparison.trained) == 2
    text = format_paired(comparison)
    assert "turn 1: +50.0 points" in text and "paired over 20 problems" in text


def test_runs_on_other_problems_are_refused():
    other = {f"q{i}": [[F, T]] for i in range(20)}
    with pytest.raises(ValueError, match="same problems"):
        paired_comparison(run(BASE), [run(other)])


def test_no_code_counts_as_incorrect():
    comparison = paired_comparison(run({"p": [[N, N]]}), [run({"p": [[N, T]]})])
    assert comparison.per_turn[1].mean == 1.0
