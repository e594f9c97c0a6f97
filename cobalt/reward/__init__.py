"""``cobalt.reward``: the Cobalt reward of one completion (docs/paper.md §2.6).

``reward = clip(tier(p) [+ or replaced by the improvement rule] + format, -1, 1)`` where ``p``
is the pass rate of the completion's program over all of the problem's tests and the
improvement rule compares ``p`` with the best pass rate among the attempts already in the
prompt. Validation uses the binary reward (1 when every test passes). The rules, constants, the
code extraction and every departure from the reference release are in ``docs/reward.md``.

Entry point: :func:`score` (rewards of a batch of completions) and its breakdown variant
:func:`score_breakdown` (each reward with its parts); what a run fixes for all its rewards
(validation, the ``</think>`` rule, the tokenizer) is one :class:`RewardOptions`.

Guarantees: programs run only in :mod:`cobalt.sandbox`; rewards lie in [-1, 1]; the pure part
(:func:`reward_from_pass_rate`) needs no sandbox. Importing this package loads no ML library.
"""

from cobalt.reward.format import count_tokens, extract_code, has_repetition, parse_completion
from cobalt.reward.score import (
    RewardBreakdown,
    RewardOptions,
    completion_text,
    correctness_reward,
    default_executor,
    improved_reward,
    mean_metrics,
    reward_executor,
    reward_from_pass_rate,
    score,
    score_breakdown,
)

__all__ = [
    "RewardBreakdown",
    "RewardOptions",
    "completion_text",
    "correctness_reward",
    "count_tokens",
    "default_executor",
    "extract_code",
    "has_repetition",
    "improved_reward",
    "mean_metrics",
    "parse_completion",
    "reward_executor",
    "reward_from_pass_rate",
    "score",
    "score_breakdown",
]
