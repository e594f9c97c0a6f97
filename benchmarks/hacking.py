"""Does training on perturbed trajectories reduce in-context reward hacking? The embedded demo's models
on the bundled suite's held-out problems, with two public expected outputs swapped.

Run:  python benchmarks/hacking.py --out runs/demo                 (after `make demo`; resumable)
      python benchmarks/hacking.py --out runs/demo --seeds 0 1 2 --turns 2
      python benchmarks/hacking.py --runs base=base=a.jsonl cobalt@0=cobalt=b.jsonl --problems ptb.jsonl

The workload is the demo's (``cobalt.demo.pipeline``), stage for stage, in the demo's folder: the
warmed-up base policy, Cobalt trained once per seed (``cobalt``, as the demo trains it) and Cobalt
with perturbed-condition trajectories mixed into its bandit data (``cobalt_perturbed``, after the
demo's ``collect-perturbed`` stage), once per seed. Finished stages are reused, so after ``make
demo`` only ``cobalt_perturbed`` trains. Every policy is then rolled out with ``--condition
perturbed`` on the held-out problems (perturbed with ``--perturb-seed``; the same sampling seed for
every policy), and ``cobalt hacking extract`` and ``report`` run on the results: the hacking rate
per turn at risk, per policy and pooled per method with the spread between training seeds.

``--runs LABEL=GROUP=RUN.jsonl ...`` skips all of that and reports existing perturbed-condition runs
(``--problems`` then names their problems file). Outputs: ``<out>/hacking/`` (runs, cases,
``hacking.json``, ``hacking.png``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cobalt.hacking import build_report, extract, format_report, plot_rates, summary_path, write_json  # noqa: E402


def collect(out: Path, seeds: list[int], turns: int, perturb_seed: int, limit: int | None) -> tuple[Path, list]:
    """Train what is missing, roll every policy out on the perturbed held-out problems; returns the
    problems file and (label, group, run file) triples."""
    from cobalt.data.perturb import perturb_problems
    from cobalt.demo import DemoConfig, DemoRun

    run = DemoRun(out, DemoConfig(train_seeds=tuple(seeds)))
    run.prepare()
    run.collect_perturbed()
    models = {("base", "base"): run.path("model-sft")}
    for method in ("cobalt", "cobalt_perturbed"):
        for seed, model in run.train_seeds(method, seeds).items():
            models[(f"{method}@{seed}", method)] = model
    folder = out / "hacking"
    folder.mkdir(parents=True, exist_ok=True)
    problems = list(perturb_problems(run.problems("test"), seed=perturb_seed))[:limit]
    problems_file = folder / "test-ptb.jsonl"
    problems_file.write_text("".join(p.model_dump_json() + "\n" for p in problems))
    runs = []
    for (label, group), model in models.items():
        target = folder / f"{label.replace('@', '-seed')}.jsonl"
        started = time.monotonic()
        config = run.rollout_config(
            model, run.config.eval_samples, turns, seed=12345, condition="perturbed", score_hidden=True
        )
        run.rollout(config, problems, target)
        print(f"{label}: {target} ({time.monotonic() - started:.0f} s)", file=sys.stderr)
        runs.append((label, group, target))
    return problems_file, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/demo", help="the demo's folder (finished stages are reused)")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1], help="training seeds of each method")
    parser.add_argument("--turns", type=int, default=2, help="repair turns of each perturbed rollout")
    parser.add_argument("--perturb-seed", type=int, default=0, help="seed of cobalt data perturb")
    parser.add_argument("--limit", type=int, help="use only the first N held-out problems")
    parser.add_argument("--runs", nargs="+", metavar="LABEL=GROUP=RUN.jsonl", help="report existing runs instead")
    parser.add_argument("--problems", help="with --runs: their problems file (with meta.perturbation)")
    args = parser.parse_args()
    out = Path(args.out)
    started = time.monotonic()
    if args.runs:
        if not args.problems:
            parser.error("--runs needs --problems")
        problems_file = Path(args.problems)
        runs = [tuple(spec.split("=", 2)) for spec in args.runs]
    else:
        problems_file, runs = collect(out, args.seeds, args.turns, args.perturb_seed, args.limit)
    from cobalt.data import load_problems

    problems = load_problems(problems_file)
    folder = out / "hacking"
    folder.mkdir(parents=True, exist_ok=True)
    case_files = []
    for label, group, run_file in runs:
        cases, summary = extract(run_file, problems, label=label, group=group, problems_source=problems_file)
        path = folder / f"{label.replace('@', '-seed')}.cases.jsonl"
        path.write_text("".join(c.model_dump_json() + "\n" for c in cases))
        summary_path(path).write_text(summary.model_dump_json(indent=2) + "\n")
        case_files.append(path)
    report = build_report(case_files)
    print(format_report(report))
    print(f"json: {write_json(report, folder / 'hacking.json')}; plot: {plot_rates(report, folder / 'hacking.png')}")
    print(f"{time.monotonic() - started:.0f} s in all")


if __name__ == "__main__":
    main()
