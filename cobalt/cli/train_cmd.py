"""``cobalt train``: GRPO on a bandit dataset (Cobalt) or one of the paper's baselines."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace

from cobalt.cli.options import add_config_sources, add_settings, add_verb, load_settings
from cobalt.train.config import TrainConfig

EPILOG = """examples:
  cobalt train --config tiny-cpu --model runs/demo/model-sft --dataset runs/demo/bandit.jsonl
  cobalt train --config one-gpu --set model=Qwen/Qwen2.5-Coder-1.5B-Instruct --set dataset=bandit.jsonl
  accelerate launch --config_file cobalt/train/accelerate/zero3.yaml -m cobalt.cli.main \\
      train --config paper-8b --dataset bandit.jsonl
  accelerate launch --config_file cobalt/train/accelerate/zero3.yaml -m cobalt.cli.main \\
      train --config paper-single-turn --dataset train.jsonl   # a problems file: every problem

  cobalt train --config paper-8b --estimate-memory     # per-GPU memory, item by item; nothing loaded

Every setting has its own flag (below) and can also come from a preset (cobalt/presets/train/),
a YAML file or --set KEY=VALUE. --print-config shows the resolved settings as a YAML file that
--config reads back; a crashed run resumes from its last checkpoint in output_dir. Every log entry,
validation (eval_*, on eval_dataset) included, is appended to output_dir/metrics.jsonl.
Before a launch on GPUs the run's per-GPU memory is estimated and a warning printed when it does not
fit (docs/train.md#gpu-memory). Exit status: 0 trained (--estimate-memory: fits), 1 training failed
(--estimate-memory: does not fit), 2 bad input."""


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
    parser.add_argument(
        "--estimate-memory",
        action="store_true",
        help="print the run's per-GPU memory (weights, optimizer, reference model, activations, vLLM) against "
        "the GPUs present, or the config's gpus x gpu_memory_gb where none is, and exit; loads nothing",
    )
    group = parser.add_argument_group("settings (TrainConfig; the defaults are the paper's recipe)")
    parser.set_defaults(run=run, settings=add_settings(group, TrainConfig, prefixes={"lora": "lora-"}))


def run(args: argparse.Namespace) -> int:
    """Resolve the settings, check them, train, and say where the policy went."""
    from cobalt.jsonl import InputError

    config = load_settings(args, TrainConfig, args.settings)
    if args.estimate_memory:
        return estimate_memory_command(config)
    for key in ("model", "dataset"):
        if not getattr(config, key):
            raise InputError(
                args.config, f"no {key} given: add --set {key}=... (or --{key.replace('_', '-')})", field=key
            )
    config.batch_plan()  # indivisible batch settings fail here, before anything is loaded
    warn_if_too_large(config)
    from cobalt.train.trainer import train

    final = train(config)
    print(f"trained policy saved to {final}")
    return 0


def estimate_memory_command(config: TrainConfig) -> int:
    """``--estimate-memory``: the table for the GPUs present, else for the config's planned ones."""
    from cobalt.train.memory import detected_hardware, estimate_memory, model_shape, planned_hardware

    shape = model_shape(config.model)
    hardware = detected_hardware(config)
    if hardware is None:
        print(
            f"no GPU on this machine: estimated for the config's {config.gpus} GPU(s) of {config.gpu_memory_gb:g} GB "
            f"with ZeRO stage {config.zero_stage} (set gpus, gpu_memory_gb, zero_stage for other hardware)"
        )
        hardware = planned_hardware(config)
    elif "WORLD_SIZE" not in os.environ:
        # Outside `accelerate launch` the process count and ZeRO stage are the launch's to come: the config's.
        print(f"GPU memory detected; {config.gpus} GPU(s) and ZeRO stage {config.zero_stage} from the config")
        hardware = replace(planned_hardware(config), gpu_gb=hardware.gpu_gb, detected=True)
    estimate = estimate_memory(config, shape, hardware)
    print(estimate.table())
    return 0 if estimate.fits else 1


def warn_if_too_large(config: TrainConfig) -> None:
    """Print a warning with the estimate (from the first process only) when the run will not fit its
    GPUs; nothing without a GPU or for a model whose shape is unknown."""
    from cobalt.jsonl import InputError
    from cobalt.train.memory import detected_hardware, estimate_memory, model_shape

    hardware = detected_hardware(config)
    if hardware is None or os.environ.get("RANK", "0") != "0":
        return
    try:
        shape = model_shape(config.model)
    except InputError:
        return  # a model outside the table and not on disk yet: nothing to estimate from
    estimate = estimate_memory(config, shape, hardware)
    if not estimate.fits:
        print(
            f"warning: this run is estimated to need {estimate.peak_gb:.0f} GB per GPU and the GPUs hold "
            f"{hardware.gpu_gb:.0f} GB; it will probably run out of memory (docs/train.md#gpu-memory):\n"
            f"{estimate.table()}",
            file=sys.stderr,
        )
