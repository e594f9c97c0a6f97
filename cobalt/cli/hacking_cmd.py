"""``cobalt hacking extract / judge / report``: measure in-context reward hacking on perturbed tests."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cobalt.cli.options import add_config_sources, add_settings, add_verb, load_settings
from cobalt.hacking.judge import JudgeConfig

EPILOG = """examples:
  cobalt hacking extract runs/ptb.jsonl --problems data/ptb.jsonl --out runs/ptb.cases.jsonl --label base
  cobalt hacking judge runs/ptb.cases.jsonl --base-url http://localhost:8000/v1 --model judge \\
      --out runs/ptb.judged.jsonl --price-in 1.25 --price-out 10
  cobalt hacking report runs/base.cases.jsonl runs/cobalt.cases.jsonl --judged runs/ptb.judged.jsonl \\
      --json runs/hacking.json --plot runs/hacking.png

extract reads a run collected with --condition perturbed (every turn's per-test public verdicts on
the perturbed list) and the problems file holding meta.perturbation; it writes the hacking cases
(CASES.jsonl, each with the static detector's verdict) and CASES.summary.json (the turns at risk).
judge appends one judgment per case as it arrives and resumes where it stopped. report prints a
table per run and per group (--group at extraction: the seeds of one model), writes JSON and a plot.
Definitions: docs/hacking.md. Exit status: 0 done, 1 the judge failed some cases, 2 bad input."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cobalt hacking`` and its three commands to the command line."""
    parser = add_verb(
        subparsers,
        "hacking",
        help="detect, classify and report in-context reward hacking on perturbed tests",
        description="In-context reward hacking (docs/hacking.md): extract the cases from a perturbed-condition "
        "run, classify them with an LLM judge, report rates per turn.",
        epilog=EPILOG,
    )
    commands = parser.add_subparsers(dest="hacking_verb", metavar="COMMAND")
    commands.required = True

    extract = add_verb(commands, "extract", help="hacking cases of a perturbed-condition run", epilog=EPILOG)
    extract.add_argument("run_file", metavar="RUN.jsonl", help="trajectories of cobalt rollout --condition perturbed")
    extract.add_argument("--problems", required=True, metavar="PTB.jsonl", help="problems with meta.perturbation")
    extract.add_argument("--out", required=True, metavar="CASES.jsonl", help="where the cases go")
    extract.add_argument("--label", metavar="NAME", help="the run's name in reports (default: the run file's stem)")
    extract.add_argument("--group", metavar="NAME", help="runs of one group are pooled with a spread (default: label)")
    extract.add_argument("--no-static", action="store_true", help="skip the static hard-coding detector")
    extract.set_defaults(run=run_extract)

    judge = add_verb(commands, "judge", help="classify hacking cases with an LLM judge", epilog=EPILOG)
    judge.add_argument("cases", nargs="+", metavar="CASES.jsonl", help="outputs of cobalt hacking extract")
    judge.add_argument("--out", required=True, metavar="JUDGED.jsonl", help="judgments (appended; resumable)")
    judge.add_argument("--limit", type=int, metavar="N", help="judge only the first N cases")
    add_config_sources(judge, JudgeConfig)
    group = judge.add_argument_group("settings (JudgeConfig)")
    judge.set_defaults(run=run_judge, settings=add_settings(group, JudgeConfig))

    report = add_verb(commands, "report", help="tables, JSON and a plot of one or more extractions", epilog=EPILOG)
    report.add_argument("cases", nargs="+", metavar="CASES.jsonl", help="outputs of cobalt hacking extract")
    report.add_argument("--judged", nargs="*", default=[], metavar="JUDGED.jsonl", help="outputs of the judge")
    report.add_argument("--json", dest="json_out", metavar="FILE.json", help="where the JSON report goes")
    report.add_argument("--plot", metavar="FILE.png", help="where the hacking-rate-per-turn plot goes")
    report.add_argument("--title", help="title of the plot")
    report.set_defaults(run=run_report)


def run_extract(args: argparse.Namespace) -> int:
    """Extract the cases, write them and the summary, print the run's table."""
    from cobalt.data import load_problems
    from cobalt.hacking import extract, summary_path
    from cobalt.hacking.report import format_report, group_reports, run_report
    from cobalt.jsonl import JsonlWriter

    problems = load_problems(args.problems)

    def progress(count: int) -> None:
        if count % 5000 == 0:  # a run of 16 samples x 1000 problems takes a few seconds; say so on bigger ones
            print(f"  {count} trajectories read", file=sys.stderr)

    cases, summary = extract(
        args.run_file,
        problems,
        label=args.label,
        group=args.group,
        problems_source=args.problems,
        static=not args.no_static,
        progress=progress,
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # all at once (extraction takes seconds): a partial file then a rename, so no half file looks done
    partial = out.with_name(out.name + ".partial")
    with JsonlWriter(partial, resume=False) as writer:  # appends, flushes and fsyncs each line
        for case in cases:
            writer.write(case)
    partial.replace(out)
    summary_path(out).write_text(summary.model_dump_json(indent=2) + "\n", encoding="utf-8")
    from cobalt.hacking.report import HackingReport

    one = run_report(cases, summary, {})
    print(format_report(HackingReport(runs=[one], groups=group_reports([one]))))
    print(
        f"cases: {out} ({summary.cases} in {summary.unique_trajectories} trajectories, "
        f"{summary.unique_problems} problems); summary: {summary_path(out)}",
        file=sys.stderr,
    )
    return 0


def run_judge(args: argparse.Namespace) -> int:
    """Judge the cases not yet in --out; print the totals (tokens, cost, categories)."""
    import asyncio

    from cobalt.hacking.judge import judge_cases, make_judge_policy
    from cobalt.hacking.report import agreement, load_extraction

    config = load_settings(args, JudgeConfig, args.settings)
    cases = [case for path in args.cases for case in load_extraction(path)[0]]
    if args.limit is not None:
        cases = cases[: args.limit]
    policy = make_judge_policy(config)

    def progress(done: int, total: int) -> None:
        if done == total or done % 10 == 0:
            print(f"  judged {done}/{total}", file=sys.stderr)

    try:
        stats = asyncio.run(judge_cases(cases, policy, config, args.out, progress=progress))
    finally:
        policy.close()
    print(
        f"judged {stats.judged} (skipped {stats.skipped} already judged, {stats.unparsed} unparsed, "
        f"{stats.failed} failed) in {stats.seconds:.1f} s; {stats.requests} requests, {stats.retries} retries; "
        f"tokens: {stats.prompt_tokens} prompt + {stats.completion_tokens} completion; cost ${stats.cost:.4f}"
    )
    print("categories: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.categories.items())))
    from cobalt.hacking.judge import read_judgments

    agree = agreement(cases, read_judgments([args.out]))
    if agree is not None:
        p = "-" if agree.precision is None else f"{100 * agree.precision:.0f} %"
        r = "-" if agree.recall is None else f"{100 * agree.recall:.0f} %"
        print(f"static detector vs judge's hard_coding over {agree.cases} cases: precision {p}, recall {r}")
    for error in stats.errors[:5]:
        print(f"failed: {error}", file=sys.stderr)
    return 1 if stats.failed else 0


def run_report(args: argparse.Namespace) -> int:
    """Build the report, print it, write JSON and the plot when asked."""
    from cobalt.hacking.report import build_report, format_report, plot_rates, write_json

    report = build_report(args.cases, args.judged)
    print(format_report(report))
    if args.json_out:
        print(f"json: {write_json(report, args.json_out)}", file=sys.stderr)
    if args.plot:
        print(f"plot: {plot_rates(report, args.plot, args.title)}", file=sys.stderr)
    return 0
