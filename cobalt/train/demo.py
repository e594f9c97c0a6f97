"""The embedded end-to-end demo: Cobalt's whole method on a CPU, offline, in about a quarter hour.

Stages (each writes its outputs into the run directory and a ``<stage>.done`` marker, so a killed
demo resumes at the first unfinished stage):

1. ``problems``  the bundled suite: training, RL and held-out test problems (disjoint instances);
2. ``base``      a byte-level BPE tokenizer trained on the demo's text, and a ~1.7M-parameter Qwen2;
3. ``warmup``    supervised warm-up so that the model writes programs and reads feedback;
4. ``collect``   multi-turn trajectories from the warmed-up model (the reference policy);
5. ``bandit``    Cobalt's dataset: partial trajectories with the best pass rate so far;
6. ``train``     GRPO on the bandit dataset, once per seed;
7. ``evaluate``  per-turn Pass@1 on the held-out problems, before and after training.

Everything is seeded. What the demo shows: the trained policy beats the warmed-up base policy on
held-out problems, by more than the spread between training seeds (both are printed).
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cobalt.jsonl import read_records
from cobalt.records import Problem
from cobalt.train.warmup import WarmupConfig

log = logging.getLogger(__name__)

DEMO_SYSTEM_PROMPT = (
    "You are a Python programmer. Your program runs in a sandbox: keep within a second of CPU time, start no "
    "processes, change no files and use only the standard library. Reply with the whole program in one "
    "```python code block."
)


@dataclass(frozen=True)
class DemoConfig:
    seed: int = 0
    train_problems: int = 4000  # supervised warm-up
    rl_problems: int = 400  # trajectories are collected on these (a separate part of the train split)
    test_problems: int = 300  # held out: never seen in training, in any phrasing
    warmup: WarmupConfig = field(default_factory=lambda: WarmupConfig(epochs=2.0))
    collect_samples: int = 8
    collect_turns: int = 2  # refinement turns when collecting (paper-notes §2.1: 2)
    eval_samples: int = 4
    eval_turns: int = 3
    train_seeds: tuple[int, ...] = (0, 1)
    grpo_overrides: dict[str, Any] = field(default_factory=dict)
    max_new_tokens: int = 96


Log = Callable[[str], None]


class DemoRun:
    """One demo run in ``out``; :meth:`run` executes the stages that are not done yet."""

    def __init__(self, out: str | Path, config: DemoConfig | None = None, say: Log = print):
        self.out = Path(out)
        self.config = config or DemoConfig()
        self.say = say
        self.timings: dict[str, float] = {}
        self.out.mkdir(parents=True, exist_ok=True)

    # -- stage bookkeeping -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[bool]:
        """Yields True when the stage must run; marks it done (with its duration) when it ends."""
        marker = self.out / f"{name}.done"
        if marker.exists():
            self.timings[name] = json.loads(marker.read_text()).get("seconds", 0.0)
            self.say(f"[{name}] already done")
            yield False
            return
        self.say(f"[{name}] ...")
        started = time.monotonic()
        yield True
        seconds = time.monotonic() - started
        self.timings[name] = seconds
        marker.write_text(json.dumps({"seconds": round(seconds, 1)}) + "\n")
        self.say(f"[{name}] done in {seconds:.0f} s")

    def path(self, *parts: str) -> Path:
        return self.out.joinpath(*parts)

    def problems(self, split: str) -> list[Problem]:
        return [problem for _, problem in read_records(self.path("problems", f"{split}.jsonl"), Problem)]

    # -- the pipeline ------------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        (self.out / "demo-config.json").write_text(json.dumps(asdict(self.config), indent=2) + "\n")
        self.make_problems()
        self.make_base_model()
        self.warm_up()
        self.collect_trajectories()
        self.build_bandit_dataset()
        for seed in self.config.train_seeds:
            self.train(seed)
        return self.evaluate()

    def make_problems(self) -> None:
        from cobalt.data.bundled import BundledConfig, generate_suite

        with self.stage("problems") as todo:
            if not todo:
                return
            config = self.config
            suite = generate_suite(
                BundledConfig(
                    seed=config.seed,
                    train=config.train_problems + config.rl_problems,
                    dev=1,
                    test=config.test_problems,
                ),
                splits=("train", "test"),
            )
            splits = {
                "warmup": suite["train"][: config.train_problems],
                "rl": suite["train"][config.train_problems :],
                "test": suite["test"],
            }
            folder = self.path("problems")
            folder.mkdir(exist_ok=True)
            for name, problems in splits.items():
                (folder / f"{name}.jsonl").write_text("".join(p.to_json() + "\n" for p in problems))

    def make_base_model(self) -> None:
        from cobalt.tiny_model import build_tiny_model_dir

        with self.stage("base") as todo:
            if todo:
                corpus = list(tokenizer_corpus(self.problems("warmup")))
                build_tiny_model_dir(self.path("model-base"), corpus=corpus)

    def warm_up(self) -> None:
        from cobalt.sandbox import Limits, SandboxConfig, SyncExecutor
        from cobalt.train.warmup import run_warmup, warmup_examples

        with self.stage("warmup") as todo:
            if not todo:
                return
            with SyncExecutor(SandboxConfig(limits=Limits(cpu_s=1, memory_mb=256))) as executor:
                examples = warmup_examples(self.problems("warmup"), executor, self.config.warmup, DEMO_SYSTEM_PROMPT)
            self.say(f"  {len(examples)} warm-up examples")
            run_warmup(self.path("model-base"), examples, self.path("model-sft"), self.config.warmup)

    def rollout(self, model: Path, problems: list[Problem], out: Path, samples: int, turns: int, seed: int) -> Path:
        from cobalt.rollout import make_policy
        from cobalt.rollout.collect import run_rollout
        from cobalt.rollout.config import PRESETS, RolloutConfig, build_config

        config = build_config(
            RolloutConfig,
            presets=PRESETS,
            preset="tiny-cpu",
            overrides={
                "policy.model": str(model),
                "policy.seed": seed,
                "turns": turns,
                "system_prompt": DEMO_SYSTEM_PROMPT,
                "sampling.n": samples,
                "sampling.max_new_tokens": self.config.max_new_tokens,
            },
        )
        policy = make_policy(config.policy)
        try:
            run_rollout(problems, policy, config, out, executor=self.executor(config.sandbox.to_sandbox_config()))
        finally:
            policy.close()
        return out

    def executor(self, sandbox_config):
        """One executor for every rollout of the demo: models often write identical programs, and
        its cache then runs each (program, tests) pair once."""
        from cobalt.sandbox import Executor

        if getattr(self, "_executor", None) is None:
            self._executor = Executor(sandbox_config)
        return self._executor

    def collect_trajectories(self) -> None:
        with self.stage("collect") as todo:
            if todo:
                config = self.config
                self.rollout(self.path("model-sft"), self.problems("rl"), self.path("trajectories.jsonl"),
                             config.collect_samples, config.collect_turns, config.seed)  # fmt: skip

    def build_bandit_dataset(self) -> None:
        from cobalt.bandit import BuildConfig, build, load_trajectories, prompt_token_counter, write_examples
        from cobalt.train.grpo import load_tokenizer

        with self.stage("bandit") as todo:
            if not todo:
                return
            problems = {p.id: p for p in self.problems("rl")}
            trajectories = load_trajectories(self.path("trajectories.jsonl"), problems)
            tokenizer = load_tokenizer(str(self.path("model-sft")))
            build_config = BuildConfig(pool=self.config.collect_samples, seed=self.config.seed)
            examples, stats = build(trajectories, problems, build_config, prompt_token_counter(tokenizer))
            write_examples(examples, self.path("bandit.jsonl"))
            self.say(f"  {len(examples)} bandit prompts; " + ", ".join(f"{k}={v}" for k, v in stats.items()))

    def grpo_config(self, seed: int):
        from cobalt.train.config import TrainConfig

        overrides = {
            "model": str(self.path("model-sft")),
            "dataset": str(self.path("bandit.jsonl")),
            "output_dir": str(self.path(f"model-cobalt-{seed}")),
            "seed": seed,
            "max_completion_length": self.config.max_new_tokens,
            **self.config.grpo_overrides,
        }
        return TrainConfig.load("tiny-cpu", [f"{k}={json.dumps(v)}" for k, v in overrides.items()])

    def train(self, seed: int) -> None:
        from cobalt.train.grpo import train

        with self.stage(f"train-{seed}") as todo:
            if todo:
                shutil.rmtree(self.path(f"model-cobalt-{seed}"), ignore_errors=True)
                train(self.grpo_config(seed))

    def evaluate(self) -> dict[str, Any]:
        from cobalt.evaluate import format_comparison, plot_pass_at_1, summarize_file

        models = {"base": self.path("model-sft")}
        models.update({f"cobalt-seed{s}": self.path(f"model-cobalt-{s}", "final") for s in self.config.train_seeds})
        summaries = {}
        for label, model in models.items():
            out = self.path("eval", f"{label}.jsonl")
            with self.stage(f"eval-{label}") as todo:
                if todo:
                    out.parent.mkdir(exist_ok=True)
                    self.rollout(model, self.problems("test"), out, self.config.eval_samples,
                                 self.config.eval_turns, seed=12345)  # fmt: skip
            (summary,) = summarize_file(out)
            summaries[label] = summary.model_copy(update={"label": label})
        table = format_comparison(list(summaries.values()))
        plot = plot_pass_at_1(
            list(summaries.values()), self.path("pass_at_1.png"), title="Cobalt demo: held-out Pass@1"
        )
        verdict = gain_and_spread(summaries)
        report = {"timings_s": self.timings, **verdict, "plot": str(plot)}
        self.path("report.json").write_text(json.dumps(report, indent=2) + "\n")
        self.say("\n" + table)
        self.say(describe(verdict))
        return report


def tokenizer_corpus(problems: list[Problem]) -> Iterator[str]:
    """Text the tokenizer is trained on: what the model will read and write in the demo."""
    from cobalt.rollout.prompts import (
        FAILED_TEST_INTRO,
        NO_CODE_FEEDBACK,
        REPAIR_TEMPLATE,
        problem_prompt,
    )
    from cobalt.sandbox import ALL_PASSED
    from cobalt.train.warmup import fenced

    yield from (DEMO_SYSTEM_PROMPT, REPAIR_TEMPLATE, FAILED_TEST_INTRO, NO_CODE_FEEDBACK, ALL_PASSED)
    for problem in problems:
        yield problem_prompt(problem)
        yield fenced(problem.meta["reference_solution"])
        for wrong in problem.meta.get("wrong_solutions", []):
            yield fenced(wrong["code"])
        yield from problem.public_tests.inputs + problem.public_tests.outputs


def gain_and_spread(summaries: dict[str, Any]) -> dict[str, Any]:
    """Per-turn Pass@1 of base and trained policies, the mean gain, and the spread between seeds."""
    base = [t.pass_at_1 for t in summaries["base"].per_turn]
    trained = {label: [t.pass_at_1 for t in s.per_turn] for label, s in summaries.items() if label != "base"}
    per_seed_mean = {label: statistics.fmean(values) for label, values in trained.items()}
    gains = {label: mean - statistics.fmean(base) for label, mean in per_seed_mean.items()}
    spread = max(per_seed_mean.values()) - min(per_seed_mean.values()) if len(per_seed_mean) > 1 else 0.0
    return {
        "problems": summaries["base"].problems,
        "base_pass_at_1": base,
        "trained_pass_at_1": trained,
        "gain_over_turns": gains,
        "mean_gain": statistics.fmean(gains.values()),
        "seed_spread": spread,
        "beats_base_beyond_seed_spread": min(gains.values()) > spread,
    }


def describe(verdict: dict[str, Any]) -> str:
    gain, spread = verdict["mean_gain"], verdict["seed_spread"]
    smallest = min(verdict["gain_over_turns"].values())
    outcome = "beats" if verdict["beats_base_beyond_seed_spread"] else "does NOT beat"
    return (
        f"On {verdict['problems']} held-out problems, the trained policy {outcome} the base policy: mean Pass@1 "
        f"over turns {100 * gain:+.1f} points (smallest seed gain {100 * smallest:+.1f}), "
        f"spread between training seeds {100 * spread:.1f} points."
    )
