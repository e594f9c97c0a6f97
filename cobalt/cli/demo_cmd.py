"""``cobalt demo``: the embedded default, runnable on a fresh machine with no GPU and no network.

It runs Cobalt end to end on the bundled problems with a tiny model built locally: warm-up,
trajectory collection, the bandit dataset, GRPO, and per-turn evaluation before and after.
``--executor`` runs the short tour of the sandboxed executor instead.
"""

from __future__ import annotations

import argparse

EPILOG = """examples:
  cobalt demo                      # the whole method on CPU, outputs in runs/demo (resumable)
  cobalt demo --out runs/demo2 --seeds 0 1 2
  cobalt demo --executor           # a one-minute tour of the sandbox only"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the embedded end-to-end demo (CPU only, offline)",
        description="Train a tiny model with Cobalt on bundled problems and show per-turn Pass@1 on held-out "
        "problems before and after, with the spread between training seeds.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", default="runs/demo", help="run directory (stages resume from it)")
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="training seeds (default: 0 1)")
    parser.add_argument("--executor", action="store_true", help="only the executor tour")
    parser.add_argument("--timeout", type=float, default=1.0, metavar="S", help="executor tour: CPU s per test")
    parser.add_argument("--allow-unsafe", action="store_true", help="executor tour: allow weaker isolation")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import os
    import sys

    from cobalt.sandbox import SandboxUnavailable

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        if args.executor:
            return _executor_tour(args)
        from dataclasses import replace

        from cobalt.train.demo import DemoConfig, DemoRun

        config = DemoConfig()
        if args.seeds:
            config = replace(config, train_seeds=tuple(args.seeds))
        report = DemoRun(args.out, config).run()
    except SandboxUnavailable as err:
        print(f"cobalt demo: {err}", file=sys.stderr)
        return 1
    return 0 if report["beats_base_beyond_seed_spread"] else 1


def _executor_tour(args: argparse.Namespace) -> int:
    import asyncio

    from cobalt.sandbox import Limits, SandboxConfig
    from cobalt.sandbox.demo import run_tour

    config = SandboxConfig(limits=Limits(cpu_s=args.timeout, memory_mb=512), allow_unsafe=args.allow_unsafe)
    print(asyncio.run(run_tour(config, timeout_s=args.timeout)))
    return 0
