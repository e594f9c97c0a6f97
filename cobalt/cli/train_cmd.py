"""``cobalt train``: GRPO on a bandit dataset (Cobalt) or one of the paper's baselines."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  cobalt train --config tiny-cpu --set model=runs/demo/model-sft --set dataset=runs/demo/bandit.jsonl
  cobalt train --config one-gpu --set model=Qwen/Qwen2.5-Coder-1.5B-Instruct --set dataset=bandit.jsonl
  accelerate launch --config_file cobalt/train/configs/accelerate/zero3.yaml -m cobalt.cli.main \\
      train --config paper-8b --set dataset=bandit.jsonl

presets: paper-8b (the paper's recipe), one-gpu, tiny-cpu (the demo). --print-config shows the
resolved settings; a crashed run resumes from its last checkpoint in output_dir."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a policy with Cobalt (GRPO on partial trajectories) or a baseline",
        description="Train a policy with TRL's GRPO: Cobalt's contextual bandit (default), single-turn GRPO, "
        "online multi-turn GRPO or VeRPO. Settings come from a preset or YAML file, then --set KEY=VALUE.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", default="paper-8b", help="preset name or YAML file (default: paper-8b)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override one setting")
    parser.add_argument("--print-config", action="store_true", help="print the resolved settings and exit")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from cobalt.jsonl import InputError
    from cobalt.train.config import TrainConfig

    config = TrainConfig.load(args.config, args.set)
    if args.print_config:
        print(config.to_yaml(), end="")
        return 0
    for key in ("model", "dataset"):
        if not getattr(config, key):
            raise InputError(args.config, f"no {key} given: add --set {key}=...", field=key)
    config.batch_plan()  # indivisible batch settings fail here, before anything is loaded
    from cobalt.train.grpo import train

    final = train(config)
    print(f"trained policy saved to {final}")
    return 0
