"""The embedded end-to-end demo: Cobalt's whole method on a CPU, offline, in about a quarter hour.

Stages (each writes its outputs into the run directory and a ``<stage>.done`` marker, so a killed
demo resumes at the first unfinished stage):

1. ``problems``  the bundled suite: warm-up, RL and held-out test problems (disjoint instances);
2. ``base``      a byte-level BPE tokenizer trained on the demo's text, and a ~1.7M-parameter Qwen2;
3. ``warmup``    supervised warm-up so that the model writes programs and reads feedback;
4. ``collect``   multi-turn trajectories from the warmed-up model (the reference policy);
5. ``bandit``    Cobalt's dataset: partial trajectories with the best pass rate so far;
6. ``train-cobalt-<seed>``  GRPO on the bandit dataset, once per seed;
7. ``eval-<label>``  per-turn Pass@1 on the held-out problems, before and after training.

Everything is seeded, and with ``numerics: portable`` (the default) every x86-64 machine computes
the same warm-up and training numbers (:func:`cobalt.hardware.use_portable_numerics`); rollouts
still batch by timing, so collection and evaluation vary a little from run to run. What the demo
reports (:mod:`cobalt.demo.verdict`): the trained policies' change against the warmed-up base on
held-out problems, paired by problem with a bootstrap interval, and the keep and fix rates of the
repair turn. ``benchmarks/demo_seeds.py`` runs it over master seeds; ``benchmarks/learning.py``
reuses the same stages to train the paper's baselines next to Cobalt.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from cobalt.data import load_problems
from cobalt.demo.config import DemoConfig
from cobalt.hardware import use_portable_numerics
from cobalt.jsonl import InputError
from cobalt.records import Problem

# No system message: a model trained from scratch learns the answer format from its examples, not from
# instructions, and the 56 tokens a system message costs were 40 % of every first-attempt prompt.
DEMO_SYSTEM_PROMPT = ""
# Cobalt's repair instruction is 82 tokens of the tiny tokenizer, read again at every repair turn; this
# one says what the demo's model needs (fix it, or keep it when every test passed) in about a fifth.
DEMO_REPAIR_TEMPLATE = "{feedback}\n\nReply with the whole program, fixed if a test failed, in a ```python block."

# Training methods of the demo and of benchmarks/learning.py: TrainConfig method and dataset.
METHODS: dict[str, tuple[str, str]] = {
    "cobalt": ("cobalt", "bandit.jsonl"),
    "cobalt_perturbed": ("cobalt", "bandit-perturbed.jsonl"),
    "single_turn": ("single_turn", "bandit.jsonl"),
    "multi_turn": ("multi_turn", "problems/rl.jsonl"),
    "verpo": ("verpo", "problems/rl.jsonl"),
}


Log = Callable[[str], None]


class DemoRun:
    """One demo run in ``out``; :meth:`run` executes the stages that are not done yet."""

    def __init__(
        self, out: str | Path, config: DemoConfig | None = None, say: Log = print, parallel_seeds: bool = True
    ):
        self.out = Path(out)
        self.config = config or DemoConfig()
        self.say = say
        self.parallel_seeds = parallel_seeds
        self.timings: dict[str, float] = {}
        self.started = time.monotonic()
        self._executor: Any = None
        self.out.mkdir(parents=True, exist_ok=True)
        if self.config.numerics == "portable":
            use_portable_numerics()  # before torch is imported; the training processes inherit it

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
        self.timings[name] = round(seconds, 1)
        marker.write_text(json.dumps({"seconds": round(seconds, 1)}) + "\n")
        self.say(f"[{name}] done in {seconds:.0f} s")

    def path(self, *parts: str) -> Path:
        """A path inside the run directory."""
        return self.out.joinpath(*parts)

    def problems(self, split: str) -> list[Problem]:
        """The problems of one split (``warmup``, ``rl`` or ``test``) that the ``problems`` stage wrote."""
        return load_problems(self.path("problems", f"{split}.jsonl"))

    def check_config(self) -> None:
        """A run directory belongs to one configuration: resuming it with another would mix results."""
        saved = self.path("demo-config.json")
        current = self.config.model_dump(mode="json")
        if saved.exists():
            previous = json.loads(saved.read_text())
            stable = {k: v for k, v in previous.items() if k != "train_seeds"}
            if stable != {k: v for k, v in current.items() if k != "train_seeds"}:
                raise InputError(saved, "this run directory holds a demo with other settings; use a new --out")
        saved.write_text(json.dumps(current, indent=2) + "\n")

    # -- the pipeline ------------------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """The demo: prepare, train Cobalt once per seed, compare with the base policy."""
        self.prepare()
        models = {"base": self.path("model-sft")}
        for seed, model in self.train_seeds("cobalt", self.config.train_seeds).items():
            models[f"cobalt-seed{seed}"] = model
        summaries = self.evaluate(models)
        return self.report(summaries, title="Cobalt demo: held-out Pass@1")

    def prepare(self) -> None:
        """Every stage before training: problems, base model, warm-up, trajectories, bandit dataset."""
        self.check_config()
        self.make_problems()
        self.make_base_model()
        self.warm_up()
        self.collect_trajectories()
        self.build_bandit_dataset()

    def make_problems(self) -> None:
        """Stage ``problems``: the bundled suite, split into warm-up, RL and test problems under
        ``problems/``."""
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
            warmup, rl = split_rl_problems(suite["train"], config.rl_problems, config.seed)
            splits = {"warmup": warmup, "rl": rl, "test": suite["test"]}
            folder = self.path("problems")
            folder.mkdir(exist_ok=True)
            for name, problems in splits.items():
                (folder / f"{name}.jsonl").write_text("".join(p.to_json() + "\n" for p in problems))

    def make_base_model(self) -> None:
        """Stage ``base``: a tokenizer trained on the warm-up problems' text and the untrained tiny model,
        in ``model-base``."""
        from cobalt.demo.tiny_model import build_tiny_model_dir

        with self.stage("base") as todo:
            if todo:
                corpus = list(tokenizer_corpus(self.problems("warmup")))
                build_tiny_model_dir(self.path("model-base"), corpus=corpus)

    def warm_up(self) -> None:
        """Stage ``warmup``: supervised warm-up of ``model-base`` into ``model-sft``, with repair feedback
        from real sandbox runs."""
        from cobalt.demo.warmup import run_warmup, warmup_examples
        from cobalt.sandbox import Limits, SandboxConfig, SyncExecutor

        with self.stage("warmup") as todo:
            if not todo:
                return
            with SyncExecutor(SandboxConfig(limits=Limits(cpu_s=1.0, memory_mb=256))) as executor:
                examples = warmup_examples(
                    self.problems("warmup"), executor, self.config.warmup, DEMO_SYSTEM_PROMPT, DEMO_REPAIR_TEMPLATE
                )
            self.say(f"  {len(examples)} warm-up examples")
            run_warmup(self.path("model-base"), examples, self.path("model-sft"), self.config.warmup)

    def rollout_config(self, model: Path, samples: int, turns: int, seed: int, **extra: Any) -> Any:
        """The configuration of a demo rollout: the ``tiny-cpu`` preset with the demo's prompts,
        ``samples`` answers per problem, ``turns`` repair turns, and ``extra`` overrides."""
        from cobalt.config import build_config
        from cobalt.rollout.config import RolloutConfig

        overrides = {
            "policy.model": str(model),
            "policy.seed": seed,
            "turns": turns,
            "system_prompt": DEMO_SYSTEM_PROMPT,
            "repair_template": DEMO_REPAIR_TEMPLATE,
            "sampling.n": samples,
            "sampling.max_new_tokens": self.config.max_new_tokens,
            "policy.dtype": "float32" if self.config.numerics == "portable" else "auto",
            **extra,
        }
        return build_config(RolloutConfig, preset="tiny-cpu", flags=overrides)

    def rollout(self, config: Any, problems: list[Problem], out: Path) -> Path:
        """Roll ``config``'s policy out on ``problems`` into ``out`` (resuming it) with the run's shared
        executor; returns ``out``. The policy is closed afterwards."""
        from cobalt.rollout import make_policy
        from cobalt.rollout.collect import run_rollout

        policy = make_policy(config.policy)
        try:
            run_rollout(problems, policy, config, out, executor=self.executor(config.sandbox.to_sandbox_config()))
        finally:
            policy.close()
        return out

    def executor(self, sandbox_config: Any) -> Any:
        """One executor for every rollout of the run: models often write identical programs, and
        its cache then runs each (program, tests) pair once."""
        from cobalt.sandbox import Executor

        if self._executor is None:
            self._executor = Executor(sandbox_config)
        return self._executor

    def collect_trajectories(self) -> None:
        """Stage ``collect``: the warmed-up model's trajectories on the RL problems, in
        ``trajectories.jsonl``."""
        with self.stage("collect") as todo:
            if todo:
                config = self.config
                rollout = self.rollout_config(
                    self.path("model-sft"), config.collect_samples, config.collect_turns, config.seed
                )
                self.rollout(rollout, self.problems("rl"), self.path("trajectories.jsonl"))

    def build_bandit_dataset(self, perturbed: bool = False) -> None:
        """Stage ``bandit``: Cobalt's bandit dataset from the collected trajectories; with ``perturbed``,
        stage ``bandit-perturbed``, which mixes in the perturbed-condition trajectories."""
        from cobalt.bandit import BuildConfig, build, load_trajectories, write_examples
        from cobalt.tokenizer import load_tokenizer, prompt_token_counter

        name = "bandit-perturbed" if perturbed else "bandit"
        with self.stage(name) as todo:
            if not todo:
                return
            problems = {p.id: p for p in self.problems("rl")}
            trajectories = load_trajectories(self.path("trajectories.jsonl"), problems)
            if perturbed:
                perturbed_file = self.path("trajectories-perturbed.jsonl")
                trajectories += load_trajectories(perturbed_file, problems, perturbed_only=True)
            tokenizer = load_tokenizer(str(self.path("model-sft")))
            settings = BuildConfig(
                pool=self.config.collect_samples,
                keep=min(BuildConfig().keep, self.config.collect_samples),
                seed=self.config.seed,
                perturbed_ratio=self.config.perturbed_ratio if perturbed else None,
            )
            examples, stats = build(trajectories, problems, settings, prompt_token_counter(tokenizer))
            write_examples(examples, self.path(f"{name}.jsonl"))
            self.say(f"  {len(examples)} bandit prompts; " + ", ".join(f"{k}={v}" for k, v in stats.items()))

    def collect_perturbed(self) -> None:
        """Trajectories on the RL problems with two public expected outputs swapped (docs/paper.md
        §2.7), starting from the same first programs as the original collection."""
        from cobalt.data.perturb import perturb_problems

        with self.stage("collect-perturbed") as todo:
            if not todo:
                return
            # The rollout's perturbed condition swaps in the perturbed public tests, as `cobalt rollout` does.
            problems = list(perturb_problems(self.problems("rl"), seed=self.config.seed))
            config = self.config
            rollout = self.rollout_config(
                self.path("model-sft"),
                config.collect_samples,
                config.collect_turns,
                config.seed,
                condition="perturbed",
                turn0_from=str(self.path("trajectories.jsonl")),
                score_hidden=True,
            )
            self.rollout(rollout, problems, self.path("trajectories-perturbed.jsonl"))
        self.build_bandit_dataset(perturbed=True)

    def train_config(self, method: str, seed: int) -> Any:
        """The training configuration of ``method`` and ``seed``: the ``tiny-cpu`` preset from the
        warmed-up model, with the method's dataset and the demo's prompts and settings."""
        from cobalt.config import build_config
        from cobalt.train.config import TrainConfig

        trainer_method, dataset = METHODS[method]
        overrides = {
            "model": str(self.path("model-sft")),
            "dataset": str(self.path(dataset)),
            "output_dir": str(self.path("models", f"{method}-{seed}")),
            "method": trainer_method,
            "seed": seed,
            "max_steps": self.config.train_steps,
            "max_completion_length": self.config.max_new_tokens,
            "system_prompt": DEMO_SYSTEM_PROMPT,
            "repair_template": DEMO_REPAIR_TEMPLATE,
            "turns": self.config.collect_turns + 1,
            **({"bf16": False} if self.config.numerics == "portable" else {}),
            **self.config.grpo_overrides,
        }
        return build_config(TrainConfig, preset="tiny-cpu", flags=overrides)

    def train(self, method: str, seed: int) -> Path:
        """GRPO from the warmed-up model with ``method``; returns the final model directory."""
        from cobalt.train.trainer import train

        config = self.train_config(method, seed)
        with self.stage(f"train-{method}-{seed}") as todo:
            if todo:
                shutil.rmtree(config.output_dir, ignore_errors=True)
                train(config)
        return self.trained_model(method, seed)

    def train_seeds(self, method: str, seeds: Sequence[int]) -> dict[int, Path]:
        """:meth:`train` once per seed. With ``parallel_seeds``, the seeds still to train run at the
        same time in separate processes that split the cores. On 2 cores that is as fast as one
        after the other (6.0 s per update either way, measured); it pays where one tiny run cannot
        use all the cores."""
        todo = [s for s in seeds if not self.path(f"train-{method}-{s}.done").exists()]
        if not (self.parallel_seeds and len(todo) > 1):
            return {seed: self.train(method, seed) for seed in seeds}
        threads = max(1, (os.cpu_count() or 1) // len(todo))
        self.say(f"[train-{method}] seeds {', '.join(map(str, todo))} at once, {threads} thread(s) each")
        workers = {seed: self._training_process(method, seed, threads) for seed in todo}
        exit_codes = {seed: worker.wait() for seed, worker in workers.items()}
        failed = {seed: code for seed, code in exit_codes.items() if code != 0}
        if failed:
            raise RuntimeError(f"training {method} failed for seed(s) {failed} (exit codes); run again to resume")
        for seed in todo:
            stage = f"train-{method}-{seed}"
            self.timings[stage] = json.loads(self.path(f"{stage}.done").read_text())["seconds"]
        return {
            seed: self.train(method, seed) if seed not in todo else self.trained_model(method, seed) for seed in seeds
        }

    def _training_process(self, method: str, seed: int, threads: int) -> subprocess.Popen:
        """A fresh interpreter that runs :meth:`train` for one seed. Not multiprocessing: its spawned
        children re-import the caller's main module, which breaks scripts without a main guard."""
        job = {"out": str(self.out), "config": self.config.model_dump(mode="json"), "method": method, "seed": seed}
        job["threads"] = threads
        package_root = str(Path(__file__).resolve().parents[2])  # cobalt importable from a source checkout too
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))}
        code = "import sys; from cobalt.demo.pipeline import train_one_seed; train_one_seed(sys.argv[1])"
        return subprocess.Popen([sys.executable, "-c", code, json.dumps(job)], env=env)

    def trained_model(self, method: str, seed: int) -> Path:
        """Where :meth:`train` leaves the final model of ``method`` and ``seed``."""
        return Path(self.train_config(method, seed).output_dir, "final")

    def evaluate(self, models: dict[str, Path]) -> dict[str, Any]:
        """Per-turn summaries on the held-out problems, one per labelled model; all with the same
        sampling seed, so that differences come from the models."""
        from cobalt.evaluate import summarize_file

        summaries = {}
        for label, model in models.items():
            out = self.path("eval", f"{label}.jsonl")
            with self.stage(f"eval-{label}") as todo:
                if todo:
                    out.parent.mkdir(exist_ok=True)
                    config = self.rollout_config(model, self.config.eval_samples, self.config.eval_turns, seed=12345)
                    self.rollout(config, self.problems("test"), out)
            (summary,) = summarize_file(out)
            summaries[label] = summary.model_copy(update={"label": label})
        return summaries

    def report(self, summaries: dict[str, Any], title: str) -> dict[str, Any]:
        """Table, plot and ``report.json``: the base against the trained policies (the verdict of
        :mod:`cobalt.demo.verdict`)."""
        from cobalt.demo.verdict import describe, verdict
        from cobalt.evaluate import format_comparison, plot_pass_at_1

        table = format_comparison(list(summaries.values()))
        plot = plot_pass_at_1(list(summaries.values()), self.path("pass_at_1.png"), title=title)
        result = verdict(summaries)
        # Stage timings overlap when seeds train at once; wall_s is this invocation's own duration.
        wall = round(time.monotonic() - self.started, 1)
        report = {"timings_s": self.timings, "wall_s": wall, **result, "plot": str(plot)}
        self.path("report.json").write_text(json.dumps(report, indent=2) + "\n")
        self.say("\n" + table)
        self.say(describe(result))
        self.say(f"plot: {plot}; {wall:.0f} s in all; stage timings (s): {json.dumps(self.timings)}")
        return report


def train_one_seed(job_json: str) -> None:
    """Entry point of a :meth:`DemoRun._training_process`."""
    import torch

    job = json.loads(job_json)
    torch.set_num_threads(job["threads"])
    config = DemoConfig.model_validate(job["config"])
    DemoRun(job["out"], config, say=lambda line: print(line, flush=True)).train(job["method"], job["seed"])


def split_rl_problems(train: list[Problem], rl_problems: int, seed: int) -> tuple[list[Problem], list[Problem]]:
    """The warm-up and RL problems: RL ones are a seeded random subset of the train split.

    Not its tail: the suite draws distinct instances, so combinations with few variants (no filter,
    even, odd) run out early and the last draws hold almost none of them (measured: 8 of the last
    200 problems against 675 of the first 4000).
    """
    rl_indices = set(random.Random(seed).sample(range(len(train)), rl_problems))
    warmup = [p for i, p in enumerate(train) if i not in rl_indices]
    rl = [p for i, p in enumerate(train) if i in rl_indices]
    return warmup, rl


def tokenizer_corpus(problems: list[Problem]) -> Iterator[str]:
    """Text the tokenizer is trained on: what the model will read and write in the demo."""
    from cobalt.demo.warmup import fenced
    from cobalt.rollout.prompts import FAILED_TEST_INTRO, NO_CODE_FEEDBACK, problem_prompt
    from cobalt.sandbox import ALL_PASSED

    yield from (DEMO_SYSTEM_PROMPT, DEMO_REPAIR_TEMPLATE, FAILED_TEST_INTRO, NO_CODE_FEEDBACK, ALL_PASSED)
    for problem in problems:
        yield problem_prompt(problem)
        yield fenced(problem.meta["reference_solution"])
        for wrong in problem.meta.get("wrong_solutions", []):
            yield fenced(wrong["code"])
        yield from problem.public_tests.inputs + problem.public_tests.outputs
