"""Paired comparison of runs on the same problems: the change in Pass@1 with a bootstrap interval.

Two policies evaluated on the same held-out problems differ by a per-problem amount
``d(p) = pass@1_trained(p) - pass@1_base(p)`` (each the share of a problem's samples whose program
is correct at that turn). Problems vary far more than the two policies do, so comparing the two
means with independent intervals wastes most of the evidence; pairing by problem does not. The
interval is the percentile bootstrap over problems: resample the problems with replacement, take
the mean difference, repeat, read the quantiles. Several trained runs (training seeds) are pooled
by averaging their per-problem rates, so the interval covers the problems; the spread between
seeds is reported beside it.

Statistics: per turn, over the repair turns (the mean over turns 1..T of each problem's
difference) and over all turns.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from cobalt.evaluate.metrics import RunSummary


class Difference(BaseModel):
    """The mean paired difference of one statistic and its bootstrap interval (fractions, not %)."""

    model_config = ConfigDict(frozen=True)

    name: str
    mean: float
    low: float
    high: float

    @property
    def above_zero(self) -> bool:
        """Whether the whole interval lies above zero (a gain the problems' noise does not explain)."""
        return self.low > 0.0


class PairedComparison(BaseModel):
    """``trained`` (one or several pooled runs) against ``base`` on the problems they share."""

    model_config = ConfigDict(frozen=True)

    base: str
    trained: list[str]
    problems: int
    level: float
    resamples: int
    per_turn: list[Difference]
    repair_turns: Difference | None
    all_turns: Difference


def paired_comparison(
    base: RunSummary,
    trained: Sequence[RunSummary],
    *,
    level: float = 0.95,
    resamples: int = 10_000,
    seed: int = 0,
) -> PairedComparison:
    """Compare ``trained`` with ``base`` problem by problem (see the module docstring). Raises
    ValueError when the runs do not cover the same problems."""
    import numpy as np

    if not trained:
        raise ValueError("nothing to compare with the base run")
    turns = min(s.turns for s in [base, *trained])
    base_rates = _rates(base, turns)
    problems = sorted(base_rates)
    for run in trained:
        if set(_rates(run, turns)) != set(problems):
            raise ValueError(f"runs {base.label!r} and {run.label!r} do not cover the same problems")
    trained_rates = np.mean([[_rates(run, turns)[p] for p in problems] for run in trained], axis=0)
    differences = trained_rates - np.array([base_rates[p] for p in problems])  # problems x turns
    picks = np.random.default_rng(seed).integers(0, len(problems), size=(resamples, len(problems)))

    def statistic(name: str, per_problem: np.ndarray) -> Difference:
        means = per_problem[picks].mean(axis=1)
        tail = (1.0 - level) / 2
        low, high = np.quantile(means, [tail, 1.0 - tail])
        return Difference(name=name, mean=float(per_problem.mean()), low=float(low), high=float(high))

    per_turn = [statistic(f"turn {t}", differences[:, t]) for t in range(turns)]
    repair = statistic("repair turns", differences[:, 1:].mean(axis=1)) if turns > 1 else None
    return PairedComparison(
        base=base.label,
        trained=[run.label for run in trained],
        problems=len(problems),
        level=level,
        resamples=resamples,
        per_turn=per_turn,
        repair_turns=repair,
        all_turns=statistic("all turns", differences.mean(axis=1)),
    )


def _rates(summary: RunSummary, turns: int) -> dict[str, list[float]]:
    """Problem id -> Pass@1 of that problem at each of the first ``turns`` turns."""
    return {
        result.problem_id: [result.turns[t].correct / result.samples for t in range(turns)]
        for result in summary.per_problem
    }


def format_paired(comparison: PairedComparison) -> str:
    """The comparison as lines of text, in Pass@1 points."""
    pooled = " and ".join(comparison.trained)
    lines = [
        f"{pooled} - {comparison.base}, paired over {comparison.problems} problems "
        f"({100 * comparison.level:.0f}% bootstrap interval, {comparison.resamples} resamples):"
    ]
    rows = [*comparison.per_turn, *([comparison.repair_turns] if comparison.repair_turns else [])]
    for difference in [*rows, comparison.all_turns]:
        lines.append(
            f"  {difference.name:>12}: {100 * difference.mean:+.1f} points "
            f"({100 * difference.low:+.1f} to {100 * difference.high:+.1f})"
        )
    return "\n".join(lines)
