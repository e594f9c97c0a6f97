"""The paper's online baselines: multi-turn GRPO and VeRPO, on TRL's ``GRPOTrainer``.

Cobalt trains on single steps from *offline* trajectories; these baselines generate whole
multi-turn trajectories *online* with the policy being trained, and give each one reward
(paper-notes §3). The pieces:

* data: a problems JSONL (:class:`~cobalt.records.Problem`) becomes one row per problem, its
  prompt the system prompt and the problem exactly as the rollout shows them, with the columns the
  rewards read (all tests, comparator, problem id);
* :class:`~cobalt.train.online_rollout.MultiTurnRollout`: TRL's ``rollout_func``; trajectories of
  ``TrainConfig.turns`` programs with sandboxed public-test feedback between them, feedback tokens
  masked from the loss;
* :class:`~cobalt.train.online_reward.OnlineReward`: the final program's Cobalt reward without the
  improvement term (``multi_turn``), plus VeRPO's difficulty-weighted dense term (``verpo``).

Everything else (optimiser, clipping, k2 KL, batch arithmetic, checkpoints) is the Cobalt path's
(:func:`cobalt.train.grpo.grpo_args`), so the three methods differ only in data, rollout and reward.
Formulas, decisions and measured costs: docs/train.md (Baselines).

What differs from the papers and why: the Cobalt paper gives no details of its online baselines
(turn budget, reward), so ours use its training turn budget (3 programs) and its reward; VeRPO's
exact equations were not available to us, and :mod:`cobalt.train.online_reward` states the
formula implemented. A prompt's problem is found by the prompt's text (TRL passes the rollout
function prompts only), so problems with identical prompts are kept once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from cobalt.jsonl import InputError, read_records
from cobalt.records import Problem
from cobalt.rollout.prompts import REPAIR_TEMPLATE, SYSTEM_PROMPT, initial_messages
from cobalt.train.config import TrainConfig
from cobalt.train.online_reward import OnlineReward
from cobalt.train.online_rollout import MultiTurnRollout, PublicSuite, prompt_key

log = logging.getLogger(__name__)

ONLINE_METHODS = ("multi_turn", "verpo")


def read_problems(path: str | Path) -> list[Problem]:
    return [problem for _, problem in read_records(path, Problem)]


def online_rows(
    problems: Iterable[Problem], tokenizer: Any, max_prompt_tokens: int, system_prompt: str = SYSTEM_PROMPT
) -> list[dict[str, Any]]:
    """One training row per problem: the initial prompt and the columns the rewards read.

    Prompts over ``max_prompt_tokens`` are dropped (TRL has no limit of its own), and so are later
    problems whose prompt repeats an earlier one's: the rollout finds public tests by prompt.
    Tests are stored as JSON text so that problems of different shapes share one Arrow schema.
    """
    from cobalt.bandit import prompt_token_counter

    count_tokens = prompt_token_counter(tokenizer)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    too_long = repeated = 0
    for problem in problems:
        messages = initial_messages(problem, system_prompt)
        prompt = [{"role": m.role, "content": m.content} for m in messages]
        key = prompt_key(prompt)
        if key in seen:
            repeated += 1
            continue
        if count_tokens(messages) > max_prompt_tokens:
            too_long += 1
            continue
        seen.add(key)
        rows.append(
            {
                "prompt": prompt,
                "problem_id": problem.id,
                "tests": problem.all_tests.model_dump_json(),
                "public_tests": problem.public_tests.model_dump_json(),
                "comparator": problem.comparator,
            }
        )
    if too_long:
        log.warning("dropped %d problems whose prompt is longer than %d tokens", too_long, max_prompt_tokens)
    if repeated:
        log.warning("dropped %d problems whose prompt repeats an earlier problem's", repeated)
    if not rows:
        raise InputError("dataset", f"no problem's prompt fits in max_prompt_tokens={max_prompt_tokens}")
    return rows


def public_suites(rows: Iterable[dict[str, Any]]) -> dict[str, PublicSuite]:
    """What the rollout function needs to give feedback, by prompt."""
    from cobalt.records import Tests

    return {
        prompt_key(row["prompt"]): PublicSuite(Tests.model_validate_json(row["public_tests"]), row["comparator"])
        for row in rows
    }


def check_whole_groups(args: Any, num_generations: int) -> None:
    """Each process must hold whole groups: VeRPO's weights come from one group's programs, and
    TRL hands a process consecutive slices of ``per_device_train_batch_size × steps_per_generation``
    rows out of a stream where each prompt's ``num_generations`` copies are adjacent."""
    per_process = args.per_device_train_batch_size * args.steps_per_generation
    if per_process % num_generations:
        raise InputError(
            "config",
            f"a process generates {per_process} trajectories per batch, not a multiple of num_generations="
            f"{num_generations}: make prompts_per_step a multiple of the number of processes",
            field="prompts_per_step",
        )


def build_online_trainer(config: TrainConfig, *, callbacks: list | None = None) -> tuple[Any, OnlineReward]:
    """A ready GRPO trainer for ``method`` ``multi_turn`` or ``verpo`` and its reward function
    (close it after training: it owns the sandbox executor)."""
    from datasets import Dataset

    from cobalt.train.grpo import grpo_args, load_tokenizer, training_executor
    from cobalt.train.kl import grpo_trainer_class

    if config.method not in ONLINE_METHODS:
        raise ValueError(f"build_online_trainer trains {ONLINE_METHODS}, not {config.method!r}")
    tokenizer = load_tokenizer(config.model)
    system_prompt = SYSTEM_PROMPT if config.system_prompt is None else config.system_prompt  # '' = none
    train_rows = online_rows(read_problems(config.dataset), tokenizer, config.max_prompt_tokens, system_prompt)
    eval_rows = None
    if config.eval_dataset:
        eval_rows = online_rows(read_problems(config.eval_dataset), tokenizer, config.max_prompt_tokens, system_prompt)
    args = grpo_args(config, config.output_dir)
    check_whole_groups(args, config.num_generations)
    executor = training_executor(config)
    reward = OnlineReward(
        executor,
        config.num_generations,
        dense_weight=config.verpo_dense_weight if config.method == "verpo" else None,
        require_think=config.require_think,
        tokenizer=tokenizer,
    )
    rollout = MultiTurnRollout(
        public_suites(train_rows + (eval_rows or [])),
        executor,
        turns=config.turns,
        reasoning=config.require_think,
        repair_template=config.repair_template or REPAIR_TEMPLATE,
    )
    try:
        trainer = grpo_trainer_class(config.kl_estimator, config.share_prompts)(
            model=config.model,
            reward_funcs=[reward],
            args=args,
            train_dataset=Dataset.from_list(train_rows),
            eval_dataset=Dataset.from_list(eval_rows) if eval_rows else None,
            processing_class=tokenizer,
            callbacks=callbacks,
            rollout_func=rollout,
        )
    except BaseException:
        reward.close()
        raise
    return trainer, reward
