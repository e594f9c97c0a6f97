"""What does each training method teach the tiny model? Per-turn Pass@1 on held-out bundled problems.

Run:  python benchmarks/learning.py                      (all methods, seeds 0 1 2; ~35 min on 2 cores after a demo)
      python benchmarks/learning.py --methods cobalt single_turn --seeds 0 1
      python benchmarks/learning.py --out runs/learning    (resumable: finished stages are kept)

The workload is the embedded demo's (``cobalt.demo.pipeline``), stage for stage: the bundled suite,
the tiny model warmed up by supervised fine-tuning (the *base* policy), multi-turn trajectories
collected from it on the RL problems, Cobalt's bandit dataset. Then every method trains the base
policy with TRL's GRPO for the same number of updates, with the same prompts per update, samples
per prompt, sampling temperature, learning rate and KL settings, once per seed:

* ``single_turn``       problem-only prompts, reward without the improvement term;
* ``multi_turn``        whole trajectories (turn 0 + the demo's repair turns) generated online,
                        rewarded by their final program;
* ``verpo``             the same trajectories, plus VeRPO's difficulty-weighted dense per-turn term;
* ``cobalt``            one program per partial trajectory of the bandit dataset;
* ``cobalt_perturbed``  Cobalt with trajectories collected on perturbed public tests mixed in.

Each trained policy is evaluated like the base: ``eval_samples`` samples per held-out problem,
the demo's number of repair turns, hidden tests. The table gives the mean and the spread (min-max)
over seeds of Pass@1 at each turn, and the gain over the base. Results also go to
``<out>/learning.json``; docs/train.md records a run.
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

from cobalt.demo import METHODS, DemoConfig, DemoRun  # noqa: E402
from cobalt.evaluate.report import text_table  # noqa: E402

ORDER = ("single_turn", "multi_turn", "verpo", "cobalt", "cobalt_perturbed")


def run_all(run: DemoRun, methods: list[str], seeds: list[int]) -> dict[str, dict[int, list[float]]]:
    """Pass@1 per turn for the base (under seed ``-1``) and for every (method, seed)."""
    run.prepare()
    if "cobalt_perturbed" in methods:
        run.collect_perturbed()
    results: dict[str, dict[int, list[float]]] = {}
    (base,) = run.evaluate({"base": run.path("model-sft")}).values()
    results["base"] = {-1: base.pass_at_1()}
    for method in methods:
        models = run.train_seeds(method, seeds)  # the seeds still to train run side by side
        for seed, model in models.items():
            (summary,) = run.evaluate({f"{method}-seed{seed}": model}).values()
            results.setdefault(method, {})[seed] = summary.pass_at_1()
            save(run, results)  # after every run, so that an interrupted benchmark keeps its results
    return results


def save(run: DemoRun, results: dict[str, dict[int, list[float]]]) -> None:
    report: dict[str, Any] = {"config": run.config.model_dump(mode="json"), "pass_at_1": results}
    run.path("learning.json").write_text(json.dumps(report, indent=2) + "\n")


def table(results: dict[str, dict[int, list[float]]], problems: int) -> str:
    """Mean Pass@1 (%) per turn with the min-max spread over seeds, and the mean gain over the base."""
    base = results["base"][-1]
    turns = len(base)
    columns = ["method", "seeds"] + [f"turn {t}" for t in range(turns)] + ["mean", "gain vs base"]
    rows = [["base", "-", *(f"{100 * v:.1f}" for v in base), f"{100 * statistics.fmean(base):.1f}", "-"]]
    for method, per_seed in results.items():
        if method == "base":
            continue
        curves = list(per_seed.values())
        cells = []
        for t in range(turns):
            values = [curve[t] for curve in curves]
            cells.append(f"{100 * statistics.fmean(values):.1f} ±{50 * (max(values) - min(values)):.1f}")
        means = [statistics.fmean(curve) for curve in curves]
        gain = statistics.fmean(means) - statistics.fmean(base)
        spread = max(means) - min(means)
        mean = f"{100 * statistics.fmean(means):.1f} ±{50 * spread:.1f}"
        rows.append([method, str(len(curves)), *cells, mean, f"{100 * gain:+.1f}"])
    note = (
        f"Pass@1 (%) on {problems} held-out problems; ± is half the min-max range over seeds; "
        "mean = over turns, gain = mean minus the base's mean."
    )
    return text_table(columns, rows) + "\n" + note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/learning", help="run directory (finished stages are reused)")
    parser.add_argument("--methods", nargs="+", default=list(ORDER), choices=sorted(METHODS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--steps", type=int, help="GRPO updates per run (default: the demo's)")
    args = parser.parse_args()
    config = DemoConfig(train_seeds=tuple(args.seeds))
    if args.steps:
        config = config.model_copy(update={"train_steps": args.steps})
    run = DemoRun(args.out, config)
    results = run_all(run, args.methods, args.seeds)
    problems = len(run.problems("test"))
    print("\n" + table(results, problems))


if __name__ == "__main__":
    main()
