"""The paper's online baselines, multi-turn GRPO and VeRPO: their data, reward and rollout function.

Cobalt trains on single steps from *offline* trajectories; these baselines generate whole
multi-turn trajectories *online* with the policy being trained, and give each one reward
(docs/paper.md §3). What each brings to the shared GRPO path (:mod:`cobalt.train.trainer`):

* data (:func:`online_rows`): a problems JSONL becomes one row per problem, its prompt the system
  prompt and the problem exactly as the rollout shows them, with the columns the rewards read (all
  tests, comparator, problem id);
* rollout (:class:`~cobalt.train.baselines.rollout.MultiTurnRollout`): TRL's ``rollout_func``;
  trajectories of ``TrainConfig.turns`` programs with sandboxed public-test feedback between them,
  feedback tokens masked from the loss;
* reward (:class:`~cobalt.train.baselines.reward.OnlineReward`): the final program's Cobalt reward
  without the improvement term (``multi_turn``), plus VeRPO's difficulty-weighted dense term
  (``verpo``). Reward and rollout share one sandbox executor.

Formulas, decisions and measured costs: docs/train.md (Baselines). What differs from the papers
and why: the Cobalt paper gives no details of its online baselines (turn budget, reward), so ours
use its training turn budget (3 programs) and its reward; VeRPO's exact equations were not
available to us, and :mod:`cobalt.train.baselines.reward` states the formula implemented. A
prompt's problem is found by the prompt's text (TRL passes the rollout function prompts only), so
problems with identical prompts are kept once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from cobalt.data import load_problems
from cobalt.jsonl import InputError
from cobalt.records import Problem, Tests
from cobalt.reward import RewardOptions
from cobalt.rollout.prompts import REPAIR_TEMPLATE, SYSTEM_PROMPT, initial_messages
from cobalt.tokenizer import prompt_token_counter
from cobalt.train.baselines.reward import OnlineReward
from cobalt.train.baselines.rollout import MultiTurnRollout, PublicSuite, prompt_key
from cobalt.train.cobalt import training_executor
from cobalt.train.config import TrainConfig

log = logging.getLogger(__name__)


def online_rows(
    problems: Iterable[Problem], tokenizer: Any, max_prompt_tokens: int, system_prompt: str = SYSTEM_PROMPT
) -> list[dict[str, Any]]:
    """One training row per problem: the initial prompt and the columns the rewards read.

    Prompts over ``max_prompt_tokens`` are dropped (TRL has no limit of its own), and so are later
    problems whose prompt repeats an earlier one's: the rollout finds public tests by prompt.
    Tests are stored as JSON text so that problems of different shapes share one Arrow schema.
    """
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


def problem_rows(config: TrainConfig, tokenizer: Any, dataset: str) -> list[dict[str, Any]]:
    """The training rows of a problems file, prompts as the other methods' data was collected with."""
    system_prompt = SYSTEM_PROMPT if config.system_prompt is None else config.system_prompt  # '' = none
    return online_rows(load_problems(dataset), tokenizer, config.max_prompt_tokens, system_prompt)


def public_suites(rows: Iterable[dict[str, Any]]) -> dict[str, PublicSuite]:
    """What the rollout function needs to give feedback, by prompt."""
    return {
        prompt_key(row["prompt"]): PublicSuite(Tests.model_validate_json(row["public_tests"]), row["comparator"])
        for row in rows
    }


def multi_turn_reward(config: TrainConfig, tokenizer: Any) -> OnlineReward:
    """Multi-turn GRPO's reward: the final program's Cobalt reward, no improvement term."""
    return _online_reward(config, tokenizer, dense_weight=None)


def verpo_reward(config: TrainConfig, tokenizer: Any) -> OnlineReward:
    """VeRPO's reward: multi-turn GRPO's plus the weighted dense per-turn term."""
    return _online_reward(config, tokenizer, dense_weight=config.verpo_dense_weight)


def _online_reward(config: TrainConfig, tokenizer: Any, dense_weight: float | None) -> OnlineReward:
    executor = training_executor(config)
    options = RewardOptions(require_think=config.require_think, tokenizer=tokenizer)
    return OnlineReward(executor, config.num_generations, dense_weight=dense_weight, options=options)


def multi_turn_rollout(config: TrainConfig, rows: list[dict[str, Any]], reward: OnlineReward) -> MultiTurnRollout:
    """TRL's ``rollout_func`` for ``rows`` (training and evaluation), on the reward's executor."""
    return MultiTurnRollout(
        public_suites(rows),
        reward.executor,
        turns=config.turns,
        reasoning=config.require_think,
        repair_template=config.repair_template or REPAIR_TEMPLATE,
    )
