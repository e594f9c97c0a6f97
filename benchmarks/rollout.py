"""Does execution keep up with generation? Idle time of the generator and the executor during a
multi-turn rollout with the tiny model on this machine, against a turn-synchronous baseline.

Run:  python benchmarks/rollout.py              (2 problems x 16 samples x (1 + 8) turns, ~5 min on 2 cores)
      python benchmarks/rollout.py --quick      (2 problems x 4 samples x (1 + 2) turns, 3 repeats, ~40 s)

Workload. The tiny local model (about 1.7 M parameters, built afresh) generates every completion
for real, from the real prompts (system prompt, problem, the growing history of answers and
feedback). A randomly initialised model writes no runnable code, so each completion is followed by
a real program for its problem: the reference solution or one of its stored wrong solutions, at
random (with a unique comment so that no two programs hit the executor's cache). The problems are
the CPU demo's: the bundled suite (``cobalt.data.bundled``, filter x aggregate over a list of
integers, programs of 3-5 lines, 4 public and 8 hidden tests), all run in the real sandbox.

Compared, in the same run, on the same problems, policy and executor settings:

(a) cobalt         ``cobalt.rollout.collect``: trajectories as coroutines, one generation loop
                   batching the requests of all trajectories in flight, execution through a
                   priority gate, hidden-test scoring in the background.
(b) turn-lockstep  the reference pipeline's shape: for each turn, generate for every trajectory
                   (in batches of the same size), then run every program, then build the feedback.

With 32 trajectories and batches of 16, two batches are in flight: in (a) one generates while the
other's programs run. On this CPU-only machine the model and the sandbox share the same two cores,
so (a) holds hidden-test scoring back while a batch generates (``defer_hidden_during_generation``).

Reported: wall time, the share of it each side sat idle, the share during which the generator
waited while only the executor worked (execution as the bottleneck), and speed relative to (b).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cobalt.config import build_config  # noqa: E402
from cobalt.demo.tiny_model import build_tiny_model_dir  # noqa: E402
from cobalt.records import ExecRequest, Message, Problem  # noqa: E402
from cobalt.rollout import RolloutConfig, collect  # noqa: E402
from cobalt.rollout.hf import TransformersPolicy  # noqa: E402
from cobalt.rollout.policy import Completion, Conversation, Policy, SamplingParams  # noqa: E402
from cobalt.rollout.prompts import (  # noqa: E402
    execution_feedback,
    extract_code,
    initial_messages,
    problem_prompt,
    repair_message,
)
from cobalt.sandbox import Executor  # noqa: E402
from cobalt.sandbox.config import default_workers  # noqa: E402

CORES = default_workers()


def load_problems(count: int, seed: int = 0) -> tuple[list[Problem], dict[str, tuple[str, list[str]]]]:
    """``count`` problems of the bundled suite's test split (the CPU demo's problems: 4 public and
    8 hidden tests) and each one's (reference solution, wrong solutions), keyed by the problem's
    first user message."""
    from cobalt.data.bundled import BundledConfig, generate_suite

    config = BundledConfig(seed=seed, train=0, dev=0, test=count)
    problems = generate_suite(config, splits=("test",))["test"]
    programs = {
        problem_prompt(p): (p.meta["reference_solution"], [w["code"] for w in p.meta["wrong_solutions"]])
        for p in problems
    }
    return problems, programs


class ProgramSupplyingPolicy(Policy):
    """The tiny model's real completions, each followed by a real program for its problem."""

    def __init__(self, inner: TransformersPolicy, programs: dict[str, tuple[str, list[str]]], seed: int = 0):
        super().__init__()
        self.inner = inner
        self.programs = programs
        self.random = random.Random(seed)
        self.counter = 0
        self.usage = inner.usage
        self.runs_on_cpu = inner.runs_on_cpu

    def generate(self, conversations: Sequence[Conversation], params: SamplingParams) -> list[list[Completion]]:
        results = self.inner.generate(conversations, params)
        for conversation, completions in zip(conversations, results):
            solution, wrong = self.programs[conversation[1].content]
            for i, completion in enumerate(completions):
                self.counter += 1
                program = solution if self.random.random() < 0.5 else self.random.choice(wrong)
                text = f"{completion.text}\n```python\n{program}\n# answer {self.counter}\n```\n"
                completions[i] = Completion(text, completion.completion_tokens, completion.prompt_tokens, "stop")
        return results


def run_cobalt(problems, policy, config: RolloutConfig, out: Path) -> dict:
    stats = asyncio.run(collect(problems, policy, config, out, resume=False))
    return {
        "wall_s": stats.wall_s,
        "generator_busy_s": stats.generator_busy_s,
        "executor_busy_s": stats.executor_busy_s,
        "executor_only_s": stats.executor_only_s,
        "sequences": stats.sequences,
        "calls": stats.generate_calls,
    }


def run_lockstep(problems, policy: Policy, config: RolloutConfig) -> dict:
    """Turn-synchronous baseline: generate everything for a turn, then execute everything."""

    async def main() -> dict:
        gen_s = exec_s = 0.0
        calls = 0
        started = time.monotonic()
        async with Executor(config.sandbox.to_sandbox_config()) as executor:
            histories = {}
            for problem in problems:
                for sample in range(config.sampling.n):
                    histories[(problem.id, sample)] = (problem, initial_messages(problem))
            keys = list(histories)
            for turn in range(config.turns + 1):
                tick = time.monotonic()
                answers: dict = {}
                if turn == 0:
                    prompts = [initial_messages(p) for p in problems]
                    per_prompt = config.generation_batch // config.sampling.n
                    for start in range(0, len(prompts), per_prompt):
                        chunk = prompts[start : start + per_prompt]
                        outs = await policy.agenerate(chunk, config.sampling)
                        calls += 1
                        for problem, completions in zip(problems[start : start + per_prompt], outs):
                            for sample, completion in enumerate(completions):
                                answers[(problem.id, sample)] = completion.text
                else:
                    one = config.sampling.with_n(1)
                    for start in range(0, len(keys), config.generation_batch):
                        chunk = keys[start : start + config.generation_batch]
                        outs = await policy.agenerate([histories[k][1] for k in chunk], one)
                        calls += 1
                        answers.update({k: out[0].text for k, out in zip(chunk, outs)})
                gen_s += time.monotonic() - tick
                tick = time.monotonic()
                codes = {k: extract_code(text) for k, text in answers.items()}
                requests = [
                    ExecRequest(id=f"{i}:{kind}", code=codes[k], tests=getattr(histories[k][0], f"{kind}_tests"))
                    for i, k in enumerate(keys)
                    for kind in ("public", "hidden")
                    if codes[k] is not None
                ]
                results = {r.id: r for r in await executor.run_all(requests)}
                exec_s += time.monotonic() - tick
                for i, key in enumerate(keys):
                    problem, messages = histories[key]
                    public = results.get(f"{i}:public")
                    messages.append(Message(role="assistant", content=answers[key]))
                    messages.append(Message(role="user", content=repair_message(execution_feedback(public))))
        wall = time.monotonic() - started
        return {
            "wall_s": wall,
            "generator_busy_s": gen_s,
            "executor_busy_s": exec_s,
            "executor_only_s": exec_s,
            "calls": calls,
        }

    result = asyncio.run(main())
    result["sequences"] = sequences_of(problems, config)
    return result


def sequences_of(problems, config: RolloutConfig) -> int:
    return len(problems) * config.sampling.n * (config.turns + 1)


def table(rows: list[tuple[str, dict]]) -> str:
    base = dict(rows)["turn-lockstep"]["wall_s"]
    header = (
        f"{'pipeline':<14} {'wall s':>8} {'calls':>6} {'seq/s':>7} {'generator idle':>15} {'executor idle':>14} "
        f"{'gen. waits on exec':>19} {'speed vs lockstep':>18}"
    )
    lines = [header, "-" * len(header)]
    for name, r in rows:
        wall = r["wall_s"]
        lines.append(
            f"{name:<14} {wall:8.1f} {r['calls']:6d} {r['sequences'] / wall:7.1f} "
            f"{1 - r['generator_busy_s'] / wall:15.1%} {1 - r['executor_busy_s'] / wall:14.1%} "
            f"{r['executor_only_s'] / wall:19.1%} {base / wall:17.2f}x"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run (2 problems, 4 samples, 2 turns)")
    parser.add_argument("--problems", type=int, default=2)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--turns", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--batch", type=int, default=16, help="sequences per generate call")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each pipeline (the median is shown)")
    parser.add_argument("--torch-threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = parser.parse_args()
    if args.quick:
        args.problems, args.samples, args.turns, args.repeats = 2, 4, 2, 3
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    problems, programs = load_problems(args.problems)
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_tiny_model_dir(Path(tmp) / "model")
        config = build_config(
            RolloutConfig,
            flags={
                "policy.model": str(model_dir),
                "policy.device": "cpu",
                "policy.batch_size": args.batch,
                "sampling.n": args.samples,
                "sampling.max_new_tokens": args.max_new_tokens,
                "turns": args.turns,
                "generation_batch": args.batch,
                "sandbox.cpu_s": 2.0,
            },
        )
        inner = TransformersPolicy(model_dir, device="cpu", batch_size=args.batch)
        inner.generate([initial_messages(problems[0])], config.sampling.with_n(4))  # warm-up, not measured
        runs: dict[str, list[dict]] = {"cobalt": [], "turn-lockstep": []}
        for repeat in range(args.repeats):  # alternate, so that load from elsewhere hits both alike
            out = Path(tmp) / f"run{repeat}.jsonl"
            runs["turn-lockstep"].append(run_lockstep(problems, ProgramSupplyingPolicy(inner, programs), config))
            runs["cobalt"].append(run_cobalt(problems, ProgramSupplyingPolicy(inner, programs), config, out))
    rows = [(name, sorted(results, key=lambda r: r["wall_s"])[len(results) // 2]) for name, results in runs.items()]
    print(
        f"{len(problems)} problems x {args.samples} samples x (1 + {args.turns}) turns, "
        f"{args.max_new_tokens} new tokens, batches of {args.batch}; tiny model on CPU "
        f"({torch.get_num_threads()} torch threads), sandbox workers = {CORES}; median of {args.repeats} run(s)\n"
    )
    print(table(rows))


if __name__ == "__main__":
    main()
