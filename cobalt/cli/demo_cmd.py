"""``cobalt demo``: the embedded default, runnable on a fresh machine with no GPU and no network.

It runs Cobalt end to end on the bundled problems with a tiny model built locally: warm-up,
trajectory collection, the bandit dataset, GRPO, and per-turn evaluation before and after.
``--executor`` runs the short tour of the sandboxed executor instead.
"""

from __future__ import annotations

import argparse

from cobalt.cli.options import Flag, add_config_sources, add_settings, add_verb, load_settings
from cobalt.demo.config import DemoConfig

EPILOG = """examples:
  cobalt demo                      # the whole method on CPU, outputs in runs/demo (resumable)
  cobalt demo --out runs/demo2 --seeds 0 1 2
  cobalt demo --executor           # a one-minute tour of the sandbox only

A run directory keeps the settings it was started with (demo-config.json) and refuses others,
except more --seeds. Exit status: 0 when the trained policy beats the base by more than the
spread between seeds, 1 otherwise or when no sandbox is available, 2 on bad input."""

FLAGS = {"train_seeds": Flag("--seeds", metavar="SEED")}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cobalt demo`` to the command line."""
    parser = add_verb(
        subparsers,
        "demo",
        help="run the embedded end-to-end demo (CPU only, offline)",
        description="Train a tiny model with Cobalt on bundled problems and show per-turn Pass@1 on held-out "
        "problems before and after, with the spread between training seeds.",
        epilog=EPILOG,
    )
    parser.add_argument("--out", default="runs/demo", help="run directory (stages resume from it)")
    tour = parser.add_argument_group("the executor tour")
    tour.add_argument("--executor", action="store_true", help="only the executor tour")
    tour.add_argument("--timeout", type=float, default=1.0, metavar="S", help="CPU s per test (default 1)")
    tour.add_argument("--allow-unsafe", action="store_true", help="allow weaker isolation")
    add_config_sources(parser, DemoConfig)
    settings = add_settings(parser, DemoConfig, flags=FLAGS, prefixes={"warmup": "warmup-"})
    parser.set_defaults(run=run, settings=settings)


def run(args: argparse.Namespace) -> int:
    """Run the demo's stages that are not done yet (or the executor tour)."""
    import os
    import sys

    from cobalt.sandbox import SandboxUnavailable

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        if args.executor:
            return _executor_tour(args)
        from cobalt.demo.pipeline import DemoRun

        config = load_settings(args, DemoConfig, args.settings)
        DemoRun(args.out, config).run()
    except SandboxUnavailable as err:
        print(f"cobalt demo: {err}", file=sys.stderr)
        return 1
    return 0  # every stage ran; the verdict is printed (the learning claim is benchmarks/demo_seeds.py's exit status)


def _executor_tour(args: argparse.Namespace) -> int:
    import asyncio

    from cobalt.demo.executor_tour import run_tour
    from cobalt.sandbox import Limits, SandboxConfig

    config = SandboxConfig(limits=Limits(cpu_s=args.timeout, memory_mb=512), allow_unsafe=args.allow_unsafe)
    print(asyncio.run(run_tour(config, timeout_s=args.timeout)))
    return 0
