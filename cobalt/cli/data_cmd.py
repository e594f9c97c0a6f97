"""``cobalt data``: prepare problem sets from benchmarks, perturb them, and summarise them."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from cobalt.cli.options import Flag, add_config_sources, add_settings, add_verb, leaf_settings, load_settings
from cobalt.data.prepare import PrepareConfig

EPILOG = """examples:
  cobalt data prepare --source bundled --split train --out train.jsonl
  cobalt data prepare --source lcb test6.jsonl --release v6 --out lcb_v6.jsonl
  cobalt data prepare --source lcb test6.jsonl --lcb-functional call --out lcb_v6_call.jsonl
  cobalt data prepare --source codecontests cc.json --detect-float --out cc.jsonl
  cobalt data prepare --source taco-raw taco_verified.parquet --verify --out taco.jsonl
  cobalt data perturb taco_dev.jsonl taco_dev_ptb.jsonl --seed 0
  cobalt data stats taco.jsonl

Sources: taco (TACO-Cobalt / -PTB rows), taco-raw (raw TACO / TACO-verified, published cleaning
rules), lcb (LiveCodeBench code_generation_lite), apps, codecontests (JSON rows or the problem
tarball), mbpp, humaneval, jsonl (Cobalt's own schema), bundled (the generated demo suite).
INPUT is a local file or directory; for taco, taco-raw and lcb it may also be a hub dataset name
(online only). A bad row stops the run with exit status 2 and names file, line and field;
--skip-invalid skips, warns about and counts it instead. Outputs are compared as text unless
--detect-float is given. See docs/data.md."""


# Option names users already type, where the generated one would differ (cobalt.cli.options).
FLAGS = {
    "cpu_s": Flag("--timeout", metavar="S"),
    "bundled.train": Flag("--train-size", metavar="N"),
    "bundled.dev": Flag("--dev-size", metavar="N"),
    "bundled.test": Flag("--test-size", metavar="N"),
}
BUNDLED_FLAGS = ["bundled.seed", "bundled.train", "bundled.dev", "bundled.test", "bundled.unstated_fraction"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cobalt data`` and its actions to the command line."""
    parser = add_verb(
        subparsers,
        "data",
        help="prepare, perturb and summarise problem sets",
        description="Turn benchmark rows into Cobalt problem records (JSONL), perturb public tests, show statistics.",
        epilog=EPILOG,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    _register_prepare(actions)
    _register_perturb(actions)
    _register_stats(actions)


def _register_prepare(actions: argparse._SubParsersAction) -> None:
    p = add_verb(
        actions,
        "prepare",
        help="convert a source into problems.jsonl",
        epilog=EPILOG,
    )
    p.add_argument("input", nargs="?", help="file, directory or hub name (not needed for bundled)")
    p.add_argument("--out", required=True, metavar="FILE.jsonl", help="where the problems go (replaced)")
    p.add_argument("--report", metavar="FILE.json", help="also write the load report (counts per drop reason)")
    add_config_sources(p, PrepareConfig)
    settings = add_settings(p, PrepareConfig, skip=_unexposed_bundled(), flags=FLAGS, groups=False)
    p.set_defaults(run=run_prepare, settings=settings)


def _unexposed_bundled() -> list[str]:
    """The bundled suite's settings without a flag of their own (--set bundled.KEY=VALUE reaches them)."""
    return [
        s.path for s in leaf_settings(PrepareConfig) if s.path.startswith("bundled.") and s.path not in BUNDLED_FLAGS
    ]


def _register_perturb(actions: argparse._SubParsersAction) -> None:
    p = add_verb(
        actions,
        "perturb",
        help="swap the expected outputs of two public tests per problem",
        description="Perturb each problem's public tests (seeded); problems whose public outputs are all the same "
        "are dropped and counted. The original public tests stay; the perturbed list goes to meta.perturbation.",
        epilog="example:\n  cobalt data perturb dev.jsonl dev_ptb.jsonl --seed 0",
    )
    p.add_argument("input", help="problems.jsonl (Cobalt's schema)")
    p.add_argument("output", help="where the perturbed problems go (replaced)")
    p.add_argument("--seed", type=int, required=True, help="seed; the same seed gives the same perturbation")
    p.add_argument("--skip-invalid", action="store_true", help="skip bad rows (warned and counted)")
    p.set_defaults(run=run_perturb)


def _register_stats(actions: argparse._SubParsersAction) -> None:
    p = add_verb(
        actions,
        "stats",
        help="counts, tests per problem, public/hidden",
        epilog="examples:\n  cobalt data stats problems.jsonl\n  cobalt data stats problems.jsonl --json",
    )
    p.add_argument("file", help="problems.jsonl (Cobalt's schema)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--skip-invalid", action="store_true", help="skip bad rows (warned and counted)")
    p.set_defaults(run=run_stats)


# --- prepare --------------------------------------------------------------------------------------


def _write(problems, out: Path, *, total: int | None, desc: str) -> int:
    """Write to ``out.partial`` and rename at the end, so a failed run never leaves a file that
    looks complete."""
    from tqdm import tqdm

    from cobalt.jsonl import JsonlWriter

    partial = out.with_name(out.name + ".partial")
    count = 0
    try:
        with (
            JsonlWriter(partial, resume=False) as writer,
            tqdm(total=total, unit="problem", file=sys.stderr, desc=desc) as bar,
        ):
            for problem in problems:
                writer.write(problem)
                count += 1
                bar.update(1)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, out)
    return count


def run_prepare(args: argparse.Namespace) -> int:
    """Convert the source, writing the problems atomically, and report what was kept and dropped."""
    from cobalt.data import LoadReport, prepare
    from cobalt.sandbox import SandboxUnavailable

    config = load_settings(args, PrepareConfig, args.settings)
    report = LoadReport(source=config.source)
    total = None
    if config.source == "bundled":
        sizes = {"train": config.bundled.train, "dev": config.bundled.dev, "test": config.bundled.test}
        total = sum(sizes.values()) if config.split in (None, "all") else sizes.get(config.split)
    try:
        problems = prepare(args.input, config, report)
        _write(problems, Path(args.out), total=total, desc=f"cobalt data prepare ({config.source})")
    except SandboxUnavailable as err:
        print(f"cobalt data: {err}", file=sys.stderr)
        return 1
    print(report.summary(), file=sys.stderr)
    if args.report:
        Path(args.report).write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    return 0


# --- perturb and stats ------------------------------------------------------------------------


def run_perturb(args: argparse.Namespace) -> int:
    """Perturb every problem's public tests (seeded) and write the perturbed problems."""
    from cobalt.data import LoadReport, load_problems, perturb_problems

    read = LoadReport(source=f"read {args.input}")
    perturbed = LoadReport(source="perturb")
    problems = perturb_problems(
        load_problems(args.input, skip_invalid=args.skip_invalid, report=read), args.seed, perturbed
    )
    _write(problems, Path(args.output), total=None, desc="cobalt data perturb")
    if read.total_dropped:
        print(read.summary(), file=sys.stderr)
    print(perturbed.summary(), file=sys.stderr)
    return 0


def run_stats(args: argparse.Namespace) -> int:
    """Print the statistics of a problems file."""
    from cobalt.data import LoadReport, load_problems, problem_stats

    report = LoadReport(source=args.file)
    stats = problem_stats(load_problems(args.file, skip_invalid=args.skip_invalid, report=report))
    if args.json:
        print(json.dumps({**stats.to_dict(), "skipped_invalid": report.total_dropped}, indent=2))
    else:
        print(stats.table())
        if report.total_dropped:
            print(f"skipped invalid rows {report.total_dropped}")
    return 0
