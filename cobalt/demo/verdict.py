"""The demo's verdict: does the trained policy beat its base on held-out problems, and by repairing?

The comparison is paired over the held-out problems (:func:`cobalt.evaluate.paired_comparison`):
the training seeds are pooled, and the bootstrap interval says how much of the change the
problems' own variation could explain. The learning claim holds when

* the change in Pass@1 over all turns has its interval above zero (the policy is better),
* the change over the repair turns has its interval above zero (it is better where feedback is
  used), and
* the fix rate rises: the trained policy turns more of its failed programs into correct ones than
  the base does. A gain from keeping correct programs alone is not a repair gain.

The demo itself reports the verdict and exits 0 once every stage ran; whether the claim holds on
every master seed is ``benchmarks/demo_seeds.py``'s exit status (docs/train.md).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import Any

from cobalt.evaluate import RunSummary, paired_comparison


def verdict(summaries: Mapping[str, RunSummary], base_label: str = "base") -> dict[str, Any]:
    """The paired comparison of the trained policies (every label but ``base_label``, pooled) with
    the base, their keep and fix rates, and whether the learning claim holds (module docstring)."""
    base = summaries[base_label]
    trained = {label: summary for label, summary in summaries.items() if label != base_label}
    comparison = paired_comparison(base, list(trained.values()))
    repair = comparison.repair_turns or comparison.all_turns
    base_fix = base.fix_rate or 0.0
    trained_fix = statistics.fmean(s.fix_rate or 0.0 for s in trained.values())
    means = [statistics.fmean(s.pass_at_1()) for s in trained.values()]
    return {
        "problems": comparison.problems,
        "base_pass_at_1": base.pass_at_1(),
        "trained_pass_at_1": {label: s.pass_at_1() for label, s in trained.items()},
        "paired": comparison.model_dump(),
        "keep_rate": {base_label: base.keep_rate, **{label: s.keep_rate for label, s in trained.items()}},
        "fix_rate": {base_label: base.fix_rate, **{label: s.fix_rate for label, s in trained.items()}},
        "gain": comparison.all_turns.mean,
        "repair_gain": repair.mean,
        "seed_spread": max(means) - min(means),
        "beats_base": comparison.all_turns.above_zero,
        "repair_gain_above_zero": repair.above_zero,
        "fix_rate_rises": trained_fix > base_fix,
        "learning_claim_holds": comparison.all_turns.above_zero and repair.above_zero and trained_fix > base_fix,
    }


def describe(result: Mapping[str, Any]) -> str:
    """The verdict in plain words: the changes with their intervals, the keep and fix rates."""
    paired = result["paired"]
    level = round(100 * paired["level"])

    def change(difference: Mapping[str, float]) -> str:
        return (
            f"{100 * difference['mean']:+.1f} points ({level}% interval {100 * difference['low']:+.1f} "
            f"to {100 * difference['high']:+.1f})"
        )

    seeds = len(paired["trained"])
    lines = [
        f"On {result['problems']} held-out problems, the trained policy ({seeds} training seed(s) pooled) against "
        f"its base, paired by problem:",
        f"  all turns: {change(paired['all_turns'])}",
    ]
    lines += [f"  {d['name']}: {change(d)}" for d in paired["per_turn"]]
    keep, fix = result["keep_rate"], result["fix_rate"]
    base_label = next(iter(keep))
    trained_keep = _mean(v for k, v in keep.items() if k != base_label)
    trained_fix = _mean(v for k, v in fix.items() if k != base_label)
    lines.append(
        f"  repairs: the base keeps {_pct(keep[base_label])} of its correct programs and fixes "
        f"{_pct(fix[base_label])} of its failed ones; the trained policy keeps {_pct(trained_keep)} and fixes "
        f"{_pct(trained_fix)}."
    )
    if result["learning_claim_holds"]:
        lines.append("Verdict: the trained policy is better, and better at repairing (the learning claim holds).")
    else:
        repair = paired["repair_turns"] or paired["all_turns"]
        missing = [
            _shortfall("over all turns", paired["all_turns"]) if not result["beats_base"] else None,
            _shortfall("on the repair turns", repair) if not result["repair_gain_above_zero"] else None,
            "it does not fix more failed programs than the base" if not result["fix_rate_rises"] else None,
        ]
        reasons = "; ".join(reason for reason in missing if reason)
        lines.append(f"Verdict: the learning claim does not hold on this run: {reasons}.")
    return "\n".join(lines)


def _shortfall(where: str, difference: Mapping[str, float]) -> str:
    """Why a change does not count as a gain: worse than the base, or within the noise."""
    if difference["high"] < 0:
        return f"it is worse than the base {where}"
    return f"its change {where} is within the noise"


def _mean(values: Any) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.fmean(known) if known else None


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f} %"
