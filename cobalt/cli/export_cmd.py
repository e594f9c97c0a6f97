"""``cobalt export verl``: write a bandit dataset and the reward for verl."""

from __future__ import annotations

import argparse

from cobalt.cli.options import Flag, add_config_sources, add_settings, add_verb, load_settings
from cobalt.train.verl_export import VerlExportConfig

EPILOG = """examples:
  cobalt export verl bandit.jsonl --val bandit-val.jsonl --out verl/ --model Qwen/Qwen3-8B
  cobalt export verl bandit.parquet --out verl/ --no-think --val-problems 32
  cobalt export verl bandit.jsonl --out verl/ --sandbox-tier process --sandbox-allow-unsafe   # no user namespaces
then, in an environment with verl: bash verl/run_verl.sh (1 node x 4 GPUs), GPUS=8 bash verl/run_verl.sh"""

FLAGS = {
    "require_think": Flag("--no-think", store=False),
    "cpu_s": Flag(metavar="S"),
    "budget_s": Flag(metavar="S"),
    "comparator": Flag(metavar="NAME"),
    "length_encoding": Flag(metavar="ENCODING"),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cobalt export`` to the command line."""
    parser = add_verb(
        subparsers,
        "export",
        help="export a bandit dataset and the Cobalt reward to another engine (verl)",
        description="Write train/val parquet in verl's schema, a reward module with verl's compute_score contract "
        "(async, running Cobalt's reward in Cobalt's sandbox) and a launch script with the paper's settings.",
        epilog=EPILOG,
    )
    parser.add_argument("engine", choices=["verl"], help="the engine to export to")
    parser.add_argument("dataset", help="bandit dataset (JSONL, parquet or a datasets folder)")
    parser.add_argument(
        "--val", help="validation bandit dataset (default: --val-problems problems held out of the training one)"
    )
    parser.add_argument("--out", required=True, help="folder to write")
    add_config_sources(parser, VerlExportConfig)
    group = parser.add_argument_group("settings (VerlExportConfig)")
    parser.set_defaults(run=run, settings=add_settings(group, VerlExportConfig, flags=FLAGS))


def run(args: argparse.Namespace) -> int:
    """Write the files and say how many rows went where."""
    from cobalt.train.verl_export import export_verl

    config = load_settings(args, VerlExportConfig, args.settings)
    counts = export_verl(args.dataset, args.out, val=args.val, config=config)
    validation = f"{counts['val']} validation rows" if counts["val"] else "no validation"
    rows = f"{counts['train']} training rows, {validation}"
    print(f"wrote {rows}, the reward module and run_verl.sh to {args.out}")
    return 0
