"""Single-turn GRPO, the paper's single-step baseline: the Cobalt path on problem-only prompts.

Each problem's problem-only prompt (turn 0 of the bandit dataset) is trained on once; the reward is
the Cobalt reward without the improvement term (there is no earlier attempt to improve on). The
policy thus never sees feedback in training: what it learns about repairs, it learns from first
attempts alone. This is the reference release's ``train_grpo_single_turn.sh`` setting (prompts of
the problem only); its dataset is the same file as Cobalt's, so the two differ only in data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cobalt.bandit import read_examples
from cobalt.records import BanditExample
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


def single_turn_rows(config: TrainConfig, tokenizer: Any, dataset: str) -> list[dict[str, Any]]:
    """The training rows of the single-turn baseline from a bandit dataset file."""
    return training_rows(single_turn_examples(read_examples(dataset)), tokenizer, config.max_prompt_tokens)


def single_turn_reward(config: TrainConfig, tokenizer: Any) -> CobaltReward:
    """The Cobalt reward without the improvement term."""
    return CobaltReward(config, tokenizer, use_improvement=False)
