"""The Cobalt method on TRL's GRPO: the bandit dataset as training rows, and the reward TRL calls.

Cobalt is single-step GRPO: each row of the bandit dataset (:mod:`cobalt.bandit`) is a partial
conversation ending with a user turn; the policy writes one assistant turn; :class:`CobaltReward`
runs its program on all of the problem's tests in the sandbox and returns the paper's reward
(:mod:`cobalt.reward`), whose improvement term compares the program with the best one already in
the prompt. Everything else (optimiser, clipping, k2 KL, batch arithmetic, checkpoints) is the
shared path of :mod:`cobalt.train.trainer`, which every method goes through.

What differs from the reference release (verl 0.5) and why:

* TRL is the engine (it trains on CPUs too); the paper's k2 KL is added by :mod:`cobalt.train.kl`;
  TRL's batch settings are derived from the paper's prompts-per-step arithmetic
  (:meth:`TrainConfig.batch_plan`).
* TRL has no prompt-length limit, so prompts over ``max_prompt_tokens`` are dropped here, counted
  and reported (the reference dropped them while building the dataset).
* The reward logs its parts (``reward/correctness``, ``reward/improvement``, ``reward/format``,
  ``reward/pass_rate``, ...) through TRL's ``log_metric``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from cobalt.bandit import read_examples
from cobalt.jsonl import InputError
from cobalt.records import BanditExample
from cobalt.reward import RewardOptions, completion_text, mean_metrics, reward_executor, score_breakdown
from cobalt.reward.format import extract_code, find_program
from cobalt.tokenizer import prompt_token_counter
from cobalt.train.config import TrainConfig

log = logging.getLogger(__name__)


# --- data ---------------------------------------------------------------------------------------------


def training_rows(examples: Sequence[BanditExample], tokenizer: Any, max_prompt_tokens: int) -> list[dict[str, Any]]:
    """The columns TRL needs and each prompt's token count, prompts over the limit dropped (TRL has
    no such limit)."""
    count_tokens = prompt_token_counter(tokenizer)
    kept = []
    for example in examples:
        prompt_tokens = count_tokens(list(example.prompt))
        if prompt_tokens > max_prompt_tokens:
            continue
        kept.append(
            {
                "prompt": [{"role": m.role, "content": m.content} for m in example.prompt],
                "tests": example.tests.model_dump(),
                "prev_best_pass_rate": example.prev_best_pass_rate,
                "comparator": example.comparator,
                "problem_id": example.problem_id,
                "turn": example.turn,
                "perturbed": example.perturbed,
                "prompt_tokens": prompt_tokens,
            }
        )
    dropped = len(examples) - len(kept)
    if dropped:
        log.warning("dropped %d of %d prompts longer than %d tokens", dropped, len(examples), max_prompt_tokens)
    if not kept:
        raise InputError("dataset", f"no prompt fits in max_prompt_tokens={max_prompt_tokens}")
    return kept


def length_grouped(rows: list[dict[str, Any]], batch_prompts: int, seed: int) -> list[dict[str, Any]]:
    """:func:`training_rows` reordered so that each run of ``batch_prompts`` consecutive rows holds
    prompts of similar token length, the runs in a seeded random order (TRL then reads them
    unshuffled).

    Partial conversations range from the bare problem to several attempts with feedback (71 to 420
    tokens in the demo); a generation batch is padded to its longest prompt, so a freely shuffled
    batch costs about as much as one made of the longest prompts only.
    """
    rng = random.Random(seed)
    tie_breaks = [rng.random() for _ in rows]
    order = sorted(range(len(rows)), key=lambda i: (rows[i]["prompt_tokens"], tie_breaks[i]))
    batches = [order[i : i + batch_prompts] for i in range(0, len(order), batch_prompts)]
    rng.shuffle(batches)
    return [rows[i] for batch in batches for i in batch]


def bandit_rows(config: TrainConfig, tokenizer: Any, dataset: str) -> list[dict[str, Any]]:
    """The training rows of a bandit dataset file (any format :func:`cobalt.bandit.write_examples` writes)."""
    return training_rows(read_examples(dataset), tokenizer, config.max_prompt_tokens)


# --- reward -------------------------------------------------------------------------------------------


def training_executor(config: TrainConfig) -> Any:
    """The sandbox executor every method's reward runs programs on: the reward's limits, the 30 s
    budget per program, ``config.reward_comparator`` for problems that name no comparator, and the
    feedback layout the online baselines show (``config.reward_feedback``), isolated and scheduled
    as ``config.sandbox_*`` say (each rank of a launch builds one: by default it runs its share of
    the node's cores, so the ranks together never run more programs than there are cores)."""
    return reward_executor(
        config.reward_cpu_s,
        config.reward_memory_mb,
        comparator=config.reward_comparator,
        feedback=config.reward_feedback,
        tier=config.sandbox_tier,
        allow_unsafe=config.sandbox_allow_unsafe,
        workers=config.sandbox_workers,
        backend=config.sandbox_backend,
        ray_address=config.sandbox_ray_address,
        ray_actors=config.sandbox_ray_actors,
    )


class CobaltReward:
    """TRL reward function: the Cobalt reward of each completion, its parts logged as metrics.

    TRL passes every dataset column as a keyword argument (rows repeated per generation), plus
    ``log_metric``/``log_extra``. Programs run concurrently on one sandbox executor for the whole
    run, with the reward's limits; :meth:`close` releases it.
    """

    __name__ = "cobalt_reward"

    def __init__(self, config: TrainConfig, tokenizer: Any = None, *, use_improvement: bool = True):
        self.executor = training_executor(config)
        self.options = RewardOptions(require_think=config.require_think, tokenizer=tokenizer)
        self.use_improvement = use_improvement
        self.resubmission_reward = config.resubmission_reward if use_improvement else None
        self.validation = False  #: set while the trainer validates: the binary reward

    def __call__(self, prompts: list, completions: list, tests: list, **columns: Any) -> list[float]:
        """The rewards of one batch of completions, as TRL asks for them (binary while validating)."""
        prev_best = columns.get("prev_best_pass_rate") if self.use_improvement else None
        breakdowns = score_breakdown(
            completions,
            tests,
            prev_best,
            comparators=columns.get("comparator"),
            options=replace(self.options, validation=self.validation),
            executor=self.executor,
        )
        log_metric = columns.get("log_metric")
        if log_metric is not None:
            for name, value in mean_metrics(breakdowns).items():
                log_metric(name, value)
        programs = [extract_code(completion_text(c), self.options.require_think) for c in completions]
        resubmitted = [resubmits(*row) for row in zip(prompts, programs, (b.pass_rate for b in breakdowns))]
        if log_metric is not None and not self.validation:
            log_metric("reward/resubmitted_failure", sum(resubmitted) / len(resubmitted))
        log_extra = columns.get("log_extra")
        if log_extra is not None:
            log_extra("pass_rate", [b.pass_rate for b in breakdowns])
        rewards = [b.reward for b in breakdowns]
        if self.resubmission_reward is not None and not self.validation:
            rewards = [self.resubmission_reward if r else reward for r, reward in zip(resubmitted, rewards)]
        return rewards

    def close(self) -> None:
        """Shut the sandbox executor down."""
        self.executor.close()


def resubmits(prompt: Any, program: str | None, pass_rate: float | None) -> bool:
    """Whether ``program``, which passed ``pass_rate`` of the tests, is the very program of the prompt's
    last answer (whitespace at the ends aside) and failed again: a failed program sent back unchanged
    after its feedback."""
    if program is None or pass_rate is None or pass_rate >= 1.0 or isinstance(prompt, str):
        return False
    answers = [m["content"] for m in prompt if m.get("role") == "assistant"]
    previous = find_program(answers[-1]) if answers else None
    return previous is not None and previous.strip() == program.strip()


def cobalt_reward(config: TrainConfig, tokenizer: Any) -> CobaltReward:
    """The reward of the Cobalt method: with the improvement term over the prompt's previous best."""
    return CobaltReward(config, tokenizer)
