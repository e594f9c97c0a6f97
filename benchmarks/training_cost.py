"""What does one GRPO update cost with Cobalt, multi-turn online GRPO, VeRPO and single-turn GRPO?
Wall time and generated tokens per update at equal prompts and samples, on the tiny model.

Run:  python benchmarks/training_cost.py            (~4 min on 2 cores)
      python benchmarks/training_cost.py --quick    (~2 min: shorter warm-up, fewer updates)

Workload, all real and built afresh: the tiny local model (~1.7 M parameters) is warmed up by
supervised fine-tuning on bundled problems (``cobalt.demo.warmup``) so that it writes programs;
it then collects multi-turn trajectories on other bundled problems (the reference policy,
``cobalt.rollout``), from which ``cobalt.bandit`` builds Cobalt's dataset. Every method then trains
the warmed-up model with TRL's ``GRPOTrainer`` through ``cobalt.train.trainer.build_trainer``, with
the same ``P`` prompts per update, ``G`` samples per prompt, per-turn token budget, sandbox and
optimiser settings:

* cobalt        one program per partial-trajectory prompt of the bandit dataset (0-3 attempts in it);
* single_turn   one program per problem-only prompt;
* multi_turn    a whole trajectory per sample: ``turns`` programs with public-test feedback between
                them, generated online (``cobalt.train.baselines.online``);
* verpo         the same trajectories, plus every turn's program run on all tests for the dense reward.

Measured per update (one generation batch = one optimizer step): wall seconds (generation, test
execution, reward and the gradient step) and model-generated tokens (feedback tokens excluded).
The first update of each method is a warm-up and is not counted. Cobalt's one-off cost, collecting
the offline trajectories, is reported on its own line: it is paid once, not per update.

Torch runs on ``--threads`` threads (default 1): on a machine shared with other jobs, more threads
than free cores make every matrix product wait for a busy core. Ratios come from one run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cobalt.bandit import (  # noqa: E402
    BuildConfig,
    conversation,
    load_trajectories,
    partial_prompts,
    program_pass_rates,
    write_examples,
)
from cobalt.bandit.builder import header_length  # noqa: E402
from cobalt.data.bundled import BundledConfig, generate_suite  # noqa: E402
from cobalt.demo import WarmupConfig  # noqa: E402
from cobalt.demo.tiny_model import build_tiny_model_dir  # noqa: E402
from cobalt.demo.warmup import run_warmup, warmup_examples  # noqa: E402
from cobalt.records import BanditExample, Problem, Trajectory  # noqa: E402
from cobalt.rollout import RolloutConfig, run_rollout  # noqa: E402
from cobalt.rollout.hf import TransformersPolicy  # noqa: E402
from cobalt.rollout.policy import PolicyConfig, SamplingParams  # noqa: E402
from cobalt.rollout.prompts import REPAIR_TEMPLATE  # noqa: E402
from cobalt.sandbox import Limits, SandboxConfig, SyncExecutor  # noqa: E402
from cobalt.tokenizer import load_tokenizer, prompt_token_counter  # noqa: E402
from cobalt.train.config import TrainConfig  # noqa: E402
from cobalt.train.trainer import build_trainer  # noqa: E402

SYSTEM_PROMPT = "Write a Python program for the problem. Reply with the whole program in one ```python code block."
METHODS = ("cobalt", "single_turn", "multi_turn", "verpo")


def problems_for(args: argparse.Namespace) -> tuple[list[Problem], list[Problem]]:
    """Disjoint problems for the warm-up and for RL (the offline collection and all four methods)."""
    suite = generate_suite(BundledConfig(seed=args.seed, train=args.warmup_problems + args.rl_problems, dev=0, test=0))
    train = suite["train"]
    return train[: args.warmup_problems], train[args.warmup_problems :]


def warmed_up_model(work: Path, warm: list[Problem], args: argparse.Namespace) -> Path:
    corpus = [p.statement + "\n" + p.meta["reference_solution"] for p in warm] + [SYSTEM_PROMPT, REPAIR_TEMPLATE]
    if (work / "sft" / "config.json").exists():  # --work from an earlier run with the same settings
        return work / "sft"
    base = build_tiny_model_dir(work / "base", corpus=corpus * 4)
    config = WarmupConfig(epochs=args.warmup_epochs, seed=args.seed)
    with SyncExecutor(SandboxConfig(limits=Limits(cpu_s=1.0, memory_mb=256))) as executor:
        examples = warmup_examples(warm, executor, config, SYSTEM_PROMPT)
    return run_warmup(base, examples, work / "sft", config)


def collect_offline(model: Path, rl: list[Problem], work: Path, args: argparse.Namespace) -> tuple[Path, dict]:
    """Cobalt's one-off cost: trajectories of the reference policy, then Cobalt's prompts."""
    config = RolloutConfig(
        policy=PolicyConfig(model=str(model), device="cpu", seed=args.seed),
        sampling=SamplingParams(n=args.samples, temperature=1.0, top_p=1.0, max_new_tokens=args.max_tokens),
        turns=args.turns - 1,
        system_prompt=SYSTEM_PROMPT,
    )
    started = time.perf_counter()
    stats = run_rollout(rl, TransformersPolicy.from_config(config.policy), config, work / "trajectories.jsonl")
    seconds = time.perf_counter() - started
    by_id = {p.id: p for p in rl}
    examples = cobalt_prompts(load_trajectories(work / "trajectories.jsonl", by_id), by_id, load_tokenizer(str(model)))
    write_examples(examples, work / "bandit.jsonl")
    mix = dict(sorted(Counter(e.turn for e in examples).items()))
    return work / "bandit.jsonl", {"seconds": seconds, "tokens": stats.usage["completion_tokens"], "mix": mix}


def cobalt_prompts(trajectories: list[Trajectory], problems: dict[str, Problem], tokenizer: Any) -> list[BanditExample]:
    """Every prompt Cobalt would train on if every trajectory were kept: each problem's
    problem-only prompt and each trajectory's prompts after 1, 2 and 3 attempts (the builder's own
    splitting and early stops). The builder would keep only improving trajectories that reach a
    correct program, which a briefly warmed-up tiny model seldom writes; the cost of an update
    depends on the prompts' shape, not on which trajectories were kept."""
    count_tokens, config, examples, seen = prompt_token_counter(tokenizer), BuildConfig(), [], set()
    for traj in trajectories:
        problem = problems[traj.problem_id]
        if problem.id not in seen:
            seen.add(problem.id)
            examples.append(example(f"{problem.id}#0", conversation(traj)[: header_length(traj)], problem, 0, 0.0))
        prompts, _ = partial_prompts(traj, program_pass_rates(traj), count_tokens, config)
        examples += [example(f"{traj.key}#{k}", prompt, problem, k, best) for k, prompt, best in prompts]
    return examples


def example(key: str, prompt: list, problem: Problem, turn: int, prev_best: float) -> BanditExample:
    return BanditExample(
        id=key,
        prompt=prompt,
        tests=problem.all_tests,
        prev_best_pass_rate=prev_best,
        problem_id=problem.id,
        turn=turn,
        comparator=problem.comparator,
    )


class UpdateClock:
    """Wall seconds of each optimizer step (a TRL generation batch is one step here)."""

    def __init__(self) -> None:
        from transformers import TrainerCallback

        clock = self

        class Callback(TrainerCallback):
            def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                clock.started = time.perf_counter()

            def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
                clock.seconds.append(time.perf_counter() - clock.started)

        self.started = 0.0
        self.seconds: list[float] = []
        self.callback = Callback()


def train_config(method: str, model: Path, data: Path, out: Path, args: argparse.Namespace) -> TrainConfig:
    """The demo's CPU preset, with this benchmark's batch, sampling and KL settings."""
    changes = {
        "model": str(model),
        "dataset": str(data),
        "output_dir": str(out),
        "method": method,
        "seed": args.seed,
        "num_generations": args.samples,
        "temperature": 1.0,
        "learning_rate": 2e-4,
        "beta": 1e-3,
        "max_completion_length": args.max_tokens,
        "max_prompt_tokens": 4096,
        "max_steps": args.updates + 1,
        "prompts_per_step": args.prompts,
        "prompts_per_update": args.prompts,
        "per_device_train_batch_size": args.prompts * args.samples,
        "turns": args.turns,
        "system_prompt": SYSTEM_PROMPT,
        "save_steps": 10_000,
    }
    return TrainConfig(**{**TrainConfig.load("tiny-cpu").model_dump(), **changes})


def measure(method: str, model: Path, data: Path, work: Path, args: argparse.Namespace) -> dict[str, float]:
    """Mean per update, the first update left out: wall seconds, generated tokens, and context
    tokens (prompts, plus the feedback turns inside online trajectories)."""
    clock = UpdateClock()
    trainer, reward = build_trainer(train_config(method, model, data, work / method, args), callbacks=[clock.callback])
    try:
        trainer.train()
    finally:
        reward.close()
    logs = [entry for entry in trainer.state.log_history if "completions/mean_length" in entry]
    completions = args.prompts * args.samples
    generated = [entry["completions/mean_length"] * completions for entry in logs]
    # TRL's num_tokens counts prompts and model-generated tokens, cumulatively.
    seen = [later["num_tokens"] - earlier["num_tokens"] for earlier, later in itertools.pairwise(logs)]
    feedback = [entry.get("rollout/feedback_tokens", 0.0) * completions for entry in logs[1:]]
    return {
        "seconds": statistics.fmean(clock.seconds[1:]),
        "generated": statistics.fmean(generated[1:]),
        "context": statistics.fmean(s - g + f for s, g, f in zip(seen, generated[1:], feedback)),
    }


def table(results: dict[str, dict[str, float]], offline: dict, args: argparse.Namespace) -> str:
    base = results["cobalt"]
    header = f"{'method':<12} {'s/update':>9} {'x cobalt':>9} {'generated tok':>14} {'x cobalt':>9} {'context tok':>12}"
    lines = [header, "-" * len(header)]
    for method, r in results.items():
        lines.append(
            f"{method:<12} {r['seconds']:>9.2f} {r['seconds'] / base['seconds']:>9.2f} "
            f"{r['generated']:>14.0f} {r['generated'] / base['generated']:>9.2f} {r['context']:>12.0f}"
        )
    lines += [
        "-" * len(header),
        f"cobalt's one-off offline collection ({args.rl_problems} problems x {args.samples} trajectories x "
        f"{args.turns} programs): {offline['seconds']:.1f} s ({offline['seconds'] / base['seconds']:.1f} Cobalt "
        f"updates), {offline['tokens']} generated tokens; Cobalt prompts by attempts before them: {offline['mix']}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="shorter warm-up and fewer updates")
    parser.add_argument("--prompts", type=int, default=4, help="prompts per update (P)")
    parser.add_argument("--samples", type=int, default=4, help="samples per prompt (G)")
    parser.add_argument("--updates", type=int, default=4, help="timed updates per method (after one warm-up)")
    parser.add_argument("--turns", type=int, default=3, help="programs per trajectory (online and offline)")
    parser.add_argument("--max-tokens", type=int, default=96, help="tokens per program (per turn)")
    parser.add_argument("--warmup-problems", type=int, default=1000)
    parser.add_argument("--warmup-epochs", type=float, default=1.0)
    parser.add_argument("--rl-problems", type=int, default=24)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--work", type=Path, help="keep the models and data here (a warmed-up model there is reused)")
    args = parser.parse_args()
    if args.quick:
        args.warmup_problems, args.updates, args.rl_problems = 500, 2, 12
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    with tempfile.TemporaryDirectory(prefix="cobalt-training-cost-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        warm, rl = problems_for(args)
        started = time.perf_counter()
        model = warmed_up_model(work, warm, args)
        print(f"warm-up: {len(warm)} problems, {time.perf_counter() - started:.0f} s", flush=True)
        bandit, offline = collect_offline(model, rl, work, args)
        (work / "problems.jsonl").write_text("".join(p.to_json() + "\n" for p in rl))
        results = {}
        for method in METHODS:
            data = work / "problems.jsonl" if method in ("multi_turn", "verpo") else bandit
            results[method] = measure(method, model, data, work, args)
            print(f"{method}: {json.dumps({k: round(v, 3) for k, v in results[method].items()})}", flush=True)
    print(
        f"\n{args.prompts} prompts x {args.samples} samples per update, {args.max_tokens} tokens per program, "
        f"{args.turns} programs per online trajectory, torch threads {args.threads}, mean of {args.updates} updates\n"
    )
    print(table(results, offline, args))
    if args.json:
        args.json.write_text(json.dumps({"results": results, "offline": offline, "args": vars(args)}, default=str))


if __name__ == "__main__":
    main()
