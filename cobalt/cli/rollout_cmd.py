"""``cobalt rollout``: sample programs for problems and refine them over turns with execution feedback."""

from __future__ import annotations

import argparse
import sys
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from cobalt.cli.options import Flag, add_config_sources, add_settings, add_verb, load_settings
from cobalt.rollout.config import RolloutConfig

EPILOG = """examples:
  cobalt rollout --engine hf --model ./tiny-model --problems problems.jsonl --turns 2 --n 4 --out runs/tiny.jsonl
  cobalt rollout --preset paper-eval --engine vllm --model Qwen/Qwen3-8B --tensor-parallel-size 2 \\
      --problems lcb.jsonl --out runs/qwen3-lcb.jsonl
  OPENAI_API_KEY=... cobalt rollout --engine openai --base-url http://localhost:8000/v1 --model served-name \\
      --problems ptb.jsonl --condition perturbed --turn0-from runs/orig.jsonl --out runs/ptb.jsonl

Each line of problems.jsonl is a Problem (id, statement, public_tests, hidden_tests, ...). With
--condition perturbed each problem needs meta.perturbation (cobalt data perturb, or TACO-Cobalt-PTB):
its public tests are replaced by the perturbed list; its hidden tests stay as they are. The output
gets one Trajectory per (problem, sample); a manifest (config, versions, seed, git commit) is written
beside it as OUT.manifest.json. Re-running the same command resumes: finished trajectories are kept.
Precedence: defaults < --preset < --config FILE.yaml < --set < flags; --print-config shows the result.
API keys come only from the environment (--api-key-env names the variable).
Exit status: 0 done, 1 the engine or sandbox failed, 2 bad input."""

# Option names users already type, where the generated one would differ (cobalt.cli.options).
FLAGS = {
    "policy.request_timeout_s": Flag("--request-timeout", metavar="S"),
    "policy.n_in_request": Flag("--one-completion-per-request", store=False),
    "score_hidden": Flag("--no-hidden", store=False),
    "batch_wait_s": Flag("--batch-wait", metavar="S"),
    "sandbox.cpu_s": Flag("--timeout", metavar="S"),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cobalt rollout`` to the command line."""
    parser = add_verb(
        subparsers,
        "rollout",
        help="collect multi-turn trajectories (sample, execute, feed back, repeat)",
        description="Sample n programs per problem, run each on the public tests, feed back the first failure "
        "and ask for a repair, for T turns; score every turn on the hidden tests; append trajectories to a "
        "resumable JSONL file.",
        epilog=EPILOG,
    )
    io = parser.add_argument_group("input and output")
    io.add_argument("--problems", required=True, metavar="FILE.jsonl", help="problems, one JSON object per line")
    io.add_argument("--out", required=True, metavar="FILE.jsonl", help="trajectories are appended here")
    io.add_argument("--limit", type=int, metavar="K", help="only the first K problems")
    io.add_argument("--overwrite", action="store_true", help="start the output afresh instead of resuming")
    add_config_sources(parser, RolloutConfig)
    parser.set_defaults(run=run, settings=add_settings(parser, RolloutConfig, flags=FLAGS, title="rollout settings"))


def load_config(args: argparse.Namespace) -> RolloutConfig:
    """The rollout settings: defaults < --preset < --config < --set < flags."""
    return load_settings(args, RolloutConfig, args.settings)


def run(args: argparse.Namespace) -> int:
    """Load the problems and the policy, then collect (resuming an earlier run's output)."""
    import asyncio

    from cobalt.data import load_problems
    from cobalt.jsonl import InputError
    from cobalt.rollout.collect import conditioned_problems
    from cobalt.rollout.policy import PolicyError
    from cobalt.sandbox import SandboxUnavailable

    config = load_config(args)
    if not config.policy.model:
        raise InputError("command line", "no model: give --model (or policy.model in --config)", field="model")
    problems = load_problems(args.problems, limit=args.limit)
    # Refuse a problem the condition cannot run before a (possibly slow) model is loaded.
    problems = conditioned_problems(problems, config.condition, args.problems)
    try:
        policy = _make_policy(config)
        return asyncio.run(_collect(problems, policy, config, Path(args.out), args.problems, resume=not args.overwrite))
    except (PolicyError, SandboxUnavailable, ImportError) as err:
        print(f"cobalt rollout: {err}", file=sys.stderr)
        return 1


# Trajectories written, then what moves during a long generate call (ProgressLine.text).
BAR = "{desc}: {n_fmt}/{total_fmt} traj [{elapsed}{postfix}]"


class ProgressLine:
    """What a rollout has done, as one line that moves while a long generate call still runs: turns
    finished, sequences and tokens generated, the current throughput and an ETA.

    The ETA is the tokens still to generate at the tokens per sequence seen so far (at most
    ``max_new_tokens`` before any sequence has finished, hence its "<=") over the throughput of
    the last minute.
    """

    WINDOW_S = 60.0
    REPORT_S = 0.5  # how often the hf engine reports tokens (cobalt.rollout.hf)

    def __init__(self, turns: int, max_new_tokens: int, clock: Callable[[], float] = time.monotonic):
        self.turns = turns
        self.max_new_tokens = max_new_tokens
        self.clock = clock
        self.counts = {"total": 0, "trajectory": 0, "problem": 0, "generated": 0, "tokens": 0, "turn": 0}
        self.recent: deque[tuple[float, int]] = deque()  # (time, tokens) reports of the last minute
        self.first_tokens_at: float | None = None  # model loading is not generation time
        self.last_shown = float("-inf")

    def add(self, event: str, amount: int) -> bool:
        """Count an event; True when the line should be redrawn (at most twice a second, and always
        when a trajectory, a turn or a generate call finished)."""
        self.counts[event] = self.counts.get(event, 0) + amount
        now = self.clock()
        if event == "tokens":
            if self.first_tokens_at is None:
                self.first_tokens_at = now
            self.recent.append((now, amount))
            while self.recent and self.recent[0][0] < now - self.WINDOW_S:
                self.recent.popleft()
        if event == "tokens" and now - self.last_shown < 0.5:
            return False
        self.last_shown = now
        return True

    def tokens_per_s(self) -> float:
        """Tokens per second over the last minute (or since the first tokens, if that is shorter)."""
        if not self.recent or self.first_tokens_at is None:
            return 0.0
        # the first report covers the half second before it
        span = min(self.WINDOW_S, self.clock() - self.first_tokens_at + self.REPORT_S)
        return sum(tokens for _, tokens in self.recent) / span

    def eta_s(self) -> tuple[float, bool] | None:
        """(seconds left, whether that is only an upper bound), or None before any throughput."""
        rate = self.tokens_per_s()
        if rate <= 0:
            return None
        sequences = self.counts["total"] * (self.turns + 1)
        done = self.counts["generated"]
        per_sequence = self.counts["tokens"] / done if done else float(self.max_new_tokens)
        left = max(0.0, sequences * per_sequence - self.counts["tokens"])
        return left / rate, not done

    def text(self) -> str:
        """The line: ``turns 12/240, 64 seq, 3,210 tok, 52 tok/s, ETA 14m05s``."""
        c = self.counts
        parts = [
            f"turns {c['turn']}/{c['total'] * (self.turns + 1)}",
            f"{c['generated']} seq",
            f"{c['tokens']:,} tok",
            f"{self.tokens_per_s():.0f} tok/s",
        ]
        eta = self.eta_s()
        if eta is not None:
            seconds, bound = eta
            parts.append(f"ETA {'<=' if bound else ''}{int(seconds) // 60}m{int(seconds) % 60:02d}s")
        return ", ".join(parts)


def _make_policy(config):
    from cobalt.jsonl import InputError
    from cobalt.rollout.engines import make_policy

    model = config.policy.model
    looks_local = model.startswith(("/", "./", "../", "~")) or Path(model).expanduser().exists()
    if config.policy.engine != "openai" and looks_local and not Path(model).expanduser().is_dir():
        raise InputError(model, "no such model directory", field="model")
    try:
        return make_policy(config.policy)
    except InputError:
        raise
    except ValueError as err:
        raise InputError("command line", str(err), field="policy") from None
    except OSError as err:  # a model directory that does not exist or lacks files
        raise InputError(config.policy.model, f"cannot load the model: {err}", field="model") from None


async def _collect(problems, policy, config, out: Path, source: str, resume: bool) -> int:
    from tqdm import tqdm

    from cobalt.rollout.collect import collect
    from cobalt.rollout.manifest import manifest_path

    shown = ProgressLine(turns=config.turns, max_new_tokens=config.sampling.max_new_tokens)
    bar = tqdm(total=0, unit="traj", file=sys.stderr, desc="cobalt rollout", dynamic_ncols=True, bar_format=BAR)

    def progress(event: str, amount: int) -> None:
        if event == "total":
            bar.total = amount
        if event == "trajectory":
            bar.update(amount)
        if shown.add(event, amount):
            bar.set_postfix_str(shown.text(), refresh=True)

    try:
        stats = await collect(problems, policy, config, out, progress=progress, resume=resume, source=source)
    finally:
        bar.close()
        await policy.detach_loop()
    print(
        f"{stats.trajectories} trajectories written to {out} ({stats.already_done} were already there); "
        f"generator idle {stats.generator_idle_share:.0%}, executor idle {stats.executor_idle_share:.0%} "
        f"of {stats.wall_s:.1f} s; manifest: {manifest_path(out)}",
        file=sys.stderr,
    )
    return 0
