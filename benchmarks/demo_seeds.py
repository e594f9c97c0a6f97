"""Does the demo's learning claim hold on every master seed? The whole demo once per seed, tabulated.

Run:  python benchmarks/demo_seeds.py                         (seeds 0-5, about 75 min on 2 cores)
      python benchmarks/demo_seeds.py --seeds 0 1 --out runs/demo-seeds
      python benchmarks/demo_seeds.py --set eval_turns=2         (any DemoConfig setting, for every seed)

A master seed changes everything the demo draws: the bundled problems (warm-up, RL and held-out),
the warm-up's example draw, the collection's sampling and the bandit dataset's shuffle. Each seed
runs the full demo (``cobalt.demo.DemoRun``) in ``<out>/seed-<N>``; finished stages are kept, so an
interrupted benchmark resumes. Per seed the table gives the base's and the trained policy's
Pass@1 per turn (the training seeds pooled), their keep and fix rates, the paired change over all
turns and over the repair turns with its 95% bootstrap interval over the held-out problems, the
time (the stages' durations, the two training seeds counted once), and whether the learning
claim holds (``cobalt/demo/verdict.py``: both intervals above zero and the fix rate rising). The
base policy of each seed is the baseline, measured in the same run. Results also go to
``<out>/demo_seeds.json``; docs/train.md records a run.

Exit status: 0 when the claim holds on every seed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cobalt.config import build_config  # noqa: E402
from cobalt.demo import DemoConfig, DemoRun  # noqa: E402
from cobalt.evaluate.report import text_table  # noqa: E402


def seed_config(seed: int, sets: list[str]) -> DemoConfig:
    """The demo's settings for one master seed (its warm-up draw follows the master seed too)."""
    return build_config(DemoConfig, sets=[*sets, f"seed={seed}", f"warmup.seed={seed}"])


def run_seed(out: Path, seed: int, sets: list[str]) -> dict[str, Any]:
    """The demo's report for one master seed (resumed when its directory holds finished stages)."""
    run = DemoRun(out / f"seed-{seed}", seed_config(seed, sets), say=lambda line: print(line, flush=True))
    report = run.run()
    return {"seed": seed, **report}


def row(report: dict[str, Any]) -> list[str]:
    """One table row: the numbers of one seed's report, in percent."""
    paired = report["paired"]
    trained = list(report["trained_pass_at_1"].values())
    turns = len(report["base_pass_at_1"])
    pooled = [statistics.fmean(curve[t] for curve in trained) for t in range(turns)]
    keep, fix = report["keep_rate"], report["fix_rate"]

    def rate(values: dict[str, float | None]) -> str:
        base = values["base"]
        others = [v for k, v in values.items() if k != "base" and v is not None]
        after = statistics.fmean(others) if others else None
        return f"{_pct(base)} -> {_pct(after)}"

    def change(difference: dict[str, float] | None) -> str:
        if difference is None:
            return "-"
        return f"{100 * difference['mean']:+.1f} [{100 * difference['low']:+.1f}, {100 * difference['high']:+.1f}]"

    return [
        str(report["seed"]),
        " / ".join(_pct(v) for v in report["base_pass_at_1"]),
        " / ".join(_pct(v) for v in pooled),
        rate(keep),
        rate(fix),
        change(paired["all_turns"]),
        change(paired["repair_turns"]),
        f"{stage_seconds(report['timings_s']):.0f}",
        "yes" if report["learning_claim_holds"] else "NO",
    ]


def table(reports: list[dict[str, Any]]) -> str:
    """The per-seed table and a summary line (median and range of the gains)."""
    columns = ["seed", "base Pass@1 by turn", "trained", "keep", "fix", "all turns [95%]", "repair turns [95%]"]
    columns += ["time s", "claim"]
    gains = [100 * r["gain"] for r in reports]
    repairs = [100 * r["repair_gain"] for r in reports]
    holds = sum(r["learning_claim_holds"] for r in reports)
    summary = (
        f"claim holds on {holds} of {len(reports)} master seeds; gain over all turns median "
        f"{statistics.median(gains):+.1f} (range {min(gains):+.1f} to {max(gains):+.1f}) points, over the repair "
        f"turns median {statistics.median(repairs):+.1f} (range {min(repairs):+.1f} to {max(repairs):+.1f})"
    )
    return text_table(columns, [row(r) for r in reports]) + "\n" + summary


def stage_seconds(timings: dict[str, float]) -> float:
    """The demo's duration from its stage times (which a resumed run keeps), the training seeds
    counted once: they train side by side."""
    training = [seconds for stage, seconds in timings.items() if stage.startswith("train-")]
    others = sum(seconds for stage, seconds in timings.items() if not stage.startswith("train-"))
    return others + max(training, default=0)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/demo-seeds", help="one run directory per seed (resumable)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4, 5], help="master seeds")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a DemoConfig setting")
    args = parser.parse_args()
    out = Path(args.out)
    reports = []
    for seed in args.seeds:
        reports.append(run_seed(out, seed, args.set))
        (out / "demo_seeds.json").write_text(json.dumps({"settings": args.set, "runs": reports}, indent=2) + "\n")
    print("\n" + table(reports))
    return 0 if all(r["learning_claim_holds"] for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
