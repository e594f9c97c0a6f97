"""``cobalt train``: GRPO on a bandit dataset (Cobalt) or one of the paper's baselines."""

from __future__ import annotations

import argparse

from cobalt.cli.options import add_config_sources, add_settings, add_verb, load_settings
from cobalt.train.config import TrainConfig

EPILOG = """examples:
  cobalt train --config tiny-cpu --model runs/demo/model-sft --dataset runs/demo/bandit.jsonl
  cobalt train --config one-gpu --set model=Qwen/Qwen2.5-Coder-1.5B-Instruct --set dataset=bandit.jsonl
  accelerate launch --config_file cobalt/train/accelerate/zero3.yaml -m cobalt.cli.main \\
      train --config paper-8b --dataset bandit.jsonl
  accelerate launch --config_file cobalt/train/accelerate/zero3.yaml -m cobalt.cli.main \\
      train --config paper-single-turn --dataset train.jsonl   # a problems file: every problem

Every setting has its own flag (below) and can also come from a preset (cobalt/presets/train/),
a YAML file or --set KEY=VALUE. --print-config shows the resolved settings as a YAML file that
--config reads back; a crashed run resumes from its last checkpoint in output_dir. Every log entry,
validation (eval_*, on eval_dataset) included, is appended to output_dir/metrics.jsonl.
Exit status: 0 trained, 1 training failed, 2 bad input."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cobalt train`` to the command line."""
    parser = add_verb(
        subparsers,
        "train",
        help="train a policy with Cobalt (GRPO on partial trajectories) or a baseline",
        description="Train a policy with TRL's GRPO: Cobalt's contextual bandit (default), single-turn GRPO, "
        "online multi-turn GRPO or VeRPO.",
        epilog=EPILOG,
    )
    add_config_sources(parser, TrainConfig, default="paper-8b")
    group = parser.add_argument_group("settings (TrainConfig; the defaults are the paper's recipe)")
    parser.set_defaults(run=run, settings=add_settings(group, TrainConfig))


def run(args: argparse.Namespace) -> int:
    """Resolve the settings, check them, train, and say where the policy went."""
    from cobalt.jsonl import InputError

    config = load_settings(args, TrainConfig, args.settings)
    for key in ("model", "dataset"):
        if not getattr(config, key):
            raise InputError(
                args.config, f"no {key} given: add --set {key}=... (or --{key.replace('_', '-')})", field=key
            )
    config.batch_plan()  # indivisible batch settings fail here, before anything is loaded
    from cobalt.train.trainer import train

    final = train(config)
    print(f"trained policy saved to {final}")
    return 0
