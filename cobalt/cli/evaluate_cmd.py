"""``cobalt evaluate``: per-turn Pass@1, pass@k and "solved within t" of one or more rollout runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cobalt.cli.options import Flag, add_config_sources, add_settings, add_verb, load_settings
from cobalt.evaluate.config import EvaluateConfig

EPILOG = """examples:
  cobalt evaluate runs/qwen3-lcb.jsonl
  cobalt evaluate runs/cobalt.jsonl --compare runs/base.jsonl runs/grpo.jsonl --plot runs/pass1.png
  cobalt evaluate runs/ptb.jsonl --k 1 4 16 --json runs/ptb.eval.json
  cobalt evaluate runs/fast.jsonl --problems data/lcb.jsonl      (a run collected with --no-hidden)

Prints one table per run (percentages: pass@1 and pass@k of the program produced at each turn, its
change against turn 0, the share of trajectories solved within t turns, the mean hidden-test pass
rate, the shares that passed all public tests or held no code) and, with --compare, Pass@1 of all
runs side by side. The JSON summary (default RUN.eval.json) also holds per-problem correct counts.
Programs are normally scored on the hidden tests during the rollout; for a run collected with
--no-hidden, give --problems and the scored trajectories are written to RUN.scored.jsonl first.
Exit status: 0 done, 2 bad input (file, line and field named)."""

FLAGS = {
    "ks": Flag("--k", metavar="K"),
    "json_out": Flag("--json", metavar="FILE.json"),
    "plot": Flag(metavar="FILE.png"),
    "compare": Flag(metavar="OTHER.jsonl"),
    "problems": Flag(metavar="FILE.jsonl"),
    "scored_out": Flag(metavar="FILE.jsonl"),
    "cpu_s": Flag("--timeout", metavar="S"),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cobalt evaluate`` to the command line."""
    parser = add_verb(
        subparsers,
        "evaluate",
        help="per-turn Pass@1 / pass@k of rollout runs, as tables, JSON and a plot",
        description="Score the trajectories of a rollout run per turn on the hidden tests: Pass@1, unbiased "
        "pass@k, change against turn 0 and solved-within-t; compare runs and plot Pass@1 against turn.",
        epilog=EPILOG,
    )
    parser.add_argument("run_file", metavar="RUN.jsonl", help="trajectories written by cobalt rollout")
    add_config_sources(parser, EvaluateConfig)
    group = parser.add_argument_group("settings (EvaluateConfig)")
    parser.set_defaults(run=run, settings=add_settings(group, EvaluateConfig, flags=FLAGS))


def run(args: argparse.Namespace) -> int:
    """Summarise the run (and the compared ones), print the tables, write the JSON and the plot."""
    from cobalt.evaluate import format_comparison, format_run, plot_pass_at_1, summarize_file, write_json

    config = load_settings(args, EvaluateConfig, args.settings)
    run_file = Path(args.run_file)
    if config.problems:
        run_file = _score(run_file, config.problems, config)
    summaries = summarize_file(run_file, config.ks)
    for other in config.compare:
        summaries += summarize_file(other, config.ks)
    print("\n\n".join(format_run(s) for s in summaries))
    if len(summaries) > 1:
        print()
        print(format_comparison(summaries))
        for other in summaries[1:]:
            _print_paired(summaries[0], other)
    json_out = Path(config.json_out) if config.json_out else run_file.with_name(run_file.stem + ".eval.json")
    write_json(summaries, json_out)
    print(f"summary: {json_out}", file=sys.stderr)
    if config.plot:
        print(f"plot: {plot_pass_at_1(summaries, config.plot, config.title)}", file=sys.stderr)
    return 0


def _print_paired(base, other) -> None:
    """The paired change of ``other`` against ``base``, when both cover the same problems."""
    from cobalt.evaluate import format_paired, paired_comparison

    try:
        comparison = paired_comparison(base, [other])
    except ValueError as err:
        print(f"\n(no paired comparison: {err})")
        return
    print("\n" + format_paired(comparison))


def _score(run_file: Path, problems_file: str, config: EvaluateConfig) -> Path:
    """Score the run's unscored programs into RUN.scored.jsonl (or scored_out); returns that file."""
    from cobalt.data import load_problems
    from cobalt.evaluate.scoring import collection_comparator, score_file
    from cobalt.sandbox import Limits, SandboxConfig

    problems = {problem.id: problem for problem in load_problems(problems_file)}
    out = Path(config.scored_out) if config.scored_out else run_file.with_name(run_file.stem + ".scored.jsonl")
    comparator = config.comparator or collection_comparator(run_file)
    sandbox = SandboxConfig(
        limits=Limits(cpu_s=config.cpu_s),
        allow_unsafe=config.allow_unsafe,
        comparator=comparator,
        backend=config.backend,
        ray_address=config.ray_address,
        ray_actors=config.ray_actors,
    )
    print(f"scoring unscored programs of {run_file} into {out} (comparator {comparator})", file=sys.stderr)
    return score_file(run_file, problems, out, sandbox)
