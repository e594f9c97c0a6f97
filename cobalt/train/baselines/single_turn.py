"""Single-turn GRPO, the paper's single-step baseline: the Cobalt path on problem-only prompts.

Each problem's problem-only prompt is trained on; the reward is the Cobalt reward without the
improvement term (there is no earlier attempt to improve on). The policy thus never sees feedback
in training: what it learns about repairs, it learns from first attempts alone.

Where the prompts come from (``TrainConfig.single_turn_prompts``):

* ``bandit`` (the default): each problem's turn-0 prompt of the bandit dataset, once. The two
  methods then see the same problems and differ only in the partial trajectories, a controlled
  comparison; but the bandit builder keeps only some problems.
* ``problems``: every problem of a problems file (``dataset``). This is the reference release's
  ``train_grpo_single_turn.sh``, which trained on the whole training file (4 epochs, prompts of at
  most 2048 tokens): preset ``paper-single-turn``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from cobalt.bandit import read_examples
from cobalt.data import load_problems
from cobalt.records import BanditExample, Problem
from cobalt.rollout.prompts import SYSTEM_PROMPT, initial_messages
from cobalt.train.cobalt import CobaltReward, training_rows
from cobalt.train.config import TrainConfig


def single_turn_examples(examples: Sequence[BanditExample]) -> list[BanditExample]:
    """Each problem's problem-only prompt, once, with a previous best of 0 (no earlier attempt)."""
    seen: set[str] = set()
    out = []
    for example in examples:
        if example.turn == 0 and example.problem_id not in seen:
            seen.add(example.problem_id)
            out.append(example.model_copy(update={"prev_best_pass_rate": 0.0}))
    return out


def problem_examples(problems: Iterable[Problem], system_prompt: str = SYSTEM_PROMPT) -> list[BanditExample]:
    """Every problem's problem-only prompt as a turn-0 example on all of its tests."""
    return [
        BanditExample(
            id=f"{problem.id}@0",
            prompt=initial_messages(problem, system_prompt),
            tests=problem.all_tests,
            prev_best_pass_rate=0.0,
            problem_id=problem.id,
            turn=0,
            comparator=problem.comparator,
        )
        for problem in problems
    ]


def single_turn_rows(config: TrainConfig, tokenizer: Any, dataset: str) -> list[dict[str, Any]]:
    """The training rows of the single-turn baseline: from a bandit dataset file, or from every
    problem of a problems file (``config.single_turn_prompts``)."""
    if config.single_turn_prompts == "problems":
        system_prompt = SYSTEM_PROMPT if config.system_prompt is None else config.system_prompt  # '' = none
        examples = problem_examples(load_problems(dataset), system_prompt)
    else:
        examples = single_turn_examples(read_examples(dataset))
    return training_rows(examples, tokenizer, config.max_prompt_tokens)


def single_turn_reward(config: TrainConfig, tokenizer: Any) -> CobaltReward:
    """The Cobalt reward without the improvement term."""
    return CobaltReward(config, tokenizer, use_improvement=False)
