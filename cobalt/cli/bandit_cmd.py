"""``cobalt bandit build``: turn multi-turn trajectories into the contextual-bandit training set."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cobalt.bandit.builder import BuildConfig
from cobalt.cli.options import Flag, add_config_sources, add_settings, add_verb, load_settings

EPILOG = """examples:
  cobalt bandit build runs/trajectories.jsonl --problems data/train.jsonl --tokenizer models/base \\
      --out runs/bandit/train.parquet
  cobalt bandit build runs/trajectories.jsonl --problems data/train.jsonl --tokenizer models/base \\
      --perturbed runs/trajectories-perturbed.jsonl --perturbed-ratio 0.25 --out runs/bandit/train.jsonl
  cobalt bandit build runs/dev-trajectories.jsonl --problems data/dev.jsonl --tokenizer models/base \\
      --validation --out runs/bandit/val.jsonl

TRAJECTORIES.jsonl holds evaluated trajectories (cobalt rollout, then cobalt evaluate: every turn
needs its hidden pass rate). --problems holds the original problems they were collected on; their
public + hidden tests go into every row for the reward. The output format follows --out: .jsonl,
.parquet, or a directory for a datasets.Dataset (--format overrides). Statistics are printed.
Exit status: 0 on success, 2 on bad input."""

FLAGS = {"keep": Flag(metavar="M"), "pool": Flag(metavar="N"), "max_attempts": Flag(metavar="K")}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cobalt bandit build`` to the command line."""
    parser = add_verb(
        subparsers,
        "bandit",
        help="build the contextual-bandit dataset",
        description="Contextual-bandit dataset commands (see `cobalt bandit build --help`).",
        epilog=EPILOG.split("\n\n")[0],
    )
    verbs = parser.add_subparsers(dest="bandit_verb", metavar="COMMAND")
    verbs.required = True
    build = add_verb(
        verbs,
        "build",
        help="partial-trajectory prompts from trajectories",
        description="Build the partial-trajectory prompts Cobalt trains on (docs/bandit.md): filter, down-sample "
        "and split trajectories, mix in perturbed ones, shuffle, write the dataset and print statistics.",
        epilog=EPILOG,
    )
    io = build.add_argument_group("input and output")
    io.add_argument("trajectories", metavar="TRAJECTORIES.jsonl", help="evaluated trajectories")
    io.add_argument("--problems", required=True, metavar="FILE.jsonl", help="the problems (tests for the reward)")
    io.add_argument("--out", required=True, metavar="DATASET", help="output: .jsonl, .parquet or a directory")
    io.add_argument("--tokenizer", required=True, metavar="DIR", help="local tokenizer with a chat template")
    io.add_argument("--format", choices=["jsonl", "parquet", "dataset"], help="output format (default: from --out)")
    io.add_argument("--perturbed", metavar="FILE.jsonl", help="trajectories collected with perturbed public tests")
    io.add_argument("--stats", metavar="FILE.json", help="also write the statistics as JSON")
    add_config_sources(build, BuildConfig)
    group = build.add_argument_group("settings (BuildConfig; the defaults are the published ones)")
    build.set_defaults(run=run, settings=add_settings(group, BuildConfig, flags=FLAGS))


def run(args: argparse.Namespace) -> int:
    """Read and check the inputs, build the dataset, write it and print its statistics."""
    from cobalt.bandit import build, check_rewardable, load_trajectories, write_examples
    from cobalt.data import load_problems
    from cobalt.jsonl import InputError
    from cobalt.tokenizer import load_tokenizer, prompt_token_counter

    config = load_settings(args, BuildConfig, args.settings)
    if config.perturbed_ratio is not None and not args.perturbed:
        raise InputError("command line", "--perturbed-ratio needs --perturbed FILE")
    tokenizer = load_tokenizer(args.tokenizer, local_only=True)
    problems = {problem.id: problem for problem in load_problems(args.problems)}
    check_rewardable(problems, args.problems)
    trajectories = load_trajectories(args.trajectories, problems)
    if args.perturbed:
        trajectories += load_trajectories(args.perturbed, problems, perturbed_only=True)
    examples, stats = build(trajectories, problems, config, prompt_token_counter(tokenizer))
    fmt = write_examples(examples, args.out, args.format)
    width = max(len(key) for key in stats)
    for key in sorted(stats):
        print(f"{key:<{width}}  {stats[key]}")
    print(f"wrote {len(examples)} prompts to {args.out} ({fmt})", file=sys.stderr)
    if args.stats:
        Path(args.stats).write_text(json.dumps(dict(sorted(stats.items())), indent=2) + "\n", encoding="utf-8")
    return 0
