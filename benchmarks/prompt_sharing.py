"""What does scoring each group's prompt once save in a GRPO update's forward and backward pass?

Run:  python benchmarks/prompt_sharing.py            (~1 min on 2 cores)
      python benchmarks/prompt_sharing.py --repeats 1

Workload: the demo's model shape (~1.7 M parameters, built locally with random weights: timing does
not depend on what the model knows) inside TRL's ``GRPOTrainer``; one micro-batch as the demo
trains it, ``--prompts`` prompts x ``--generations`` completions of ``--completion`` tokens, for the
prompt lengths of the demo's bandit prompts (first attempt, one and two earlier attempts).
For each length it times TRL's per-row ``_get_per_token_logps_and_entropies`` plus backward (the
baseline) and Cobalt's shared-prompt version (``cobalt.train.prefix``), in the same process,
interleaved, best of ``--repeats``, and reports the largest log-probability difference between them.
Under bf16 autocast where the CPU has native bf16 (as the demo trains), float32 elsewhere.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cobalt.demo.tiny_model import build_tiny_model_dir  # noqa: E402
from cobalt.hardware import cpu_has_fast_bf16  # noqa: E402
from cobalt.train.trainer import grpo_trainer_class  # noqa: E402


def make_trainer(model_dir: Path, out: Path, share_prompts: bool, group: int, completion: int):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig

    args = GRPOConfig(
        output_dir=str(out),
        use_cpu=True,
        bf16=False,
        report_to="none",
        num_generations=group,
        per_device_train_batch_size=group,
        max_completion_length=completion,
    )
    trainer = grpo_trainer_class("k3", share_prompts)(
        model=AutoModelForCausalLM.from_pretrained(model_dir),
        reward_funcs=[lambda completions, **_: [0.0] * len(completions)],
        args=args,
        train_dataset=Dataset.from_list([{"prompt": [{"role": "user", "content": "x"}]}] * group),
        processing_class=AutoTokenizer.from_pretrained(model_dir),
    )
    trainer.model.train()
    return trainer


def grouped_rows(prompt_tokens: int, prompts: int, group: int, completion: int, vocab: int):
    """Left-padded prompts (lengths up to ``prompt_tokens``), each repeated ``group`` times."""
    generator = torch.Generator().manual_seed(prompt_tokens)
    ids = torch.randint(3, vocab, (prompts, prompt_tokens), generator=generator)
    mask = torch.ones_like(ids)
    for row in range(prompts):
        mask[row, : row * prompt_tokens // (4 * prompts)] = 0  # up to a quarter of padding, as in a batch
    completions = torch.randint(3, vocab, (prompts * group, completion), generator=generator)
    input_ids = torch.cat([ids.repeat_interleave(group, 0), completions], dim=1)
    attention_mask = torch.cat([mask.repeat_interleave(group, 0), torch.ones_like(completions)], dim=1)
    return input_ids, attention_mask


def timed_pass(trainer, input_ids, attention_mask, completion: int, autocast: bool) -> tuple[float, torch.Tensor]:
    trainer.model.zero_grad()
    context = torch.autocast("cpu", dtype=torch.bfloat16) if autocast else contextlib.nullcontext()
    started = time.perf_counter()
    with context:
        logps, _, _ = trainer._get_per_token_logps_and_entropies(
            trainer.model, input_ids, attention_mask, completion, compute_entropy=True
        )
    logps.sum().backward()
    return time.perf_counter() - started, logps.detach().float()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lengths", default="80,250,420", help="prompt lengths (tokens), comma-separated")
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--generations", type=int, default=8)
    parser.add_argument("--completion", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    options = parser.parse_args()
    torch.set_num_threads(options.threads)
    autocast = cpu_has_fast_bf16()
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp, "model")
        build_tiny_model_dir(model_dir)
        trainers = {
            name: make_trainer(model_dir, Path(tmp, name), share, options.generations, options.completion)
            for name, share in (("trl", False), ("shared", True))
        }
        vocab = trainers["trl"].model.config.vocab_size
        print(
            f"{options.prompts} prompts x {options.generations} completions of {options.completion} tokens, "
            f"{options.threads} threads, {'bf16 autocast' if autocast else 'float32'}; best of {options.repeats}"
        )
        header = ("prompt tokens", "TRL per row (s)", "shared prompt (s)", "speed-up", "max |Δ log p|")
        print(" | ".join(header))
        print("-|-".join("-" * len(name) for name in header))
        for length in (int(value) for value in options.lengths.split(",")):
            rows = grouped_rows(length, options.prompts, options.generations, options.completion, vocab)
            best = {name: float("inf") for name in trainers}
            logps = {}
            for _ in range(options.repeats):
                for name, trainer in trainers.items():
                    seconds, logps[name] = timed_pass(trainer, *rows, options.completion, autocast)
                    best[name] = min(best[name], seconds)
            gap = (logps["shared"] - logps["trl"]).abs().max().item()
            ratio = best["trl"] / best["shared"]
            print(f"{length:>13} | {best['trl']:>15.3f} | {best['shared']:>17.3f} | {ratio:>7.2f}x | {gap:.1e}")


if __name__ == "__main__":
    main()
