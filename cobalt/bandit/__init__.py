"""``cobalt.bandit``: the contextual-bandit training set built from multi-turn trajectories.

Every kept problem gives one problem-only prompt, and each kept trajectory the prompts after its
first 1, 2 and 3 attempts, each ending with the feedback on its last attempt and carrying the
best pass rate among the attempts it holds (docs/paper.md §2.2–§2.4, §2.7). The policy answers a
prompt with one program, rewarded by :mod:`cobalt.reward` on all of the problem's tests.

Guarantees: the same inputs and seed give the same dataset, byte for byte; every prompt ends with
a user message; bad input stops with the file, line and field. The builder runs no code and
loads no ML library unless a tokenizer or the ``datasets`` format is asked for. Problems come from
:func:`cobalt.data.load_problems`, tokenizers from :func:`cobalt.tokenizer.load_tokenizer`;
:func:`read_examples` is the one reader of the dataset, for the trainers and the verl export too.
Rules, reasons and departures from the reference release: ``docs/bandit.md``.
"""

from cobalt.bandit.builder import (
    BuildConfig,
    TrajectoryError,
    build,
    check_trajectory,
    conversation,
    eligible,
    improvement,
    lowest_improvement,
    max_variance_subset,
    mix_perturbed,
    partial_prompts,
    problem_examples,
    program_pass_rates,
    too_easy,
)
from cobalt.bandit.io import check_rewardable, load_trajectories, read_examples, to_hf_dataset, write_examples

__all__ = [
    "BuildConfig",
    "TrajectoryError",
    "build",
    "check_rewardable",
    "check_trajectory",
    "conversation",
    "eligible",
    "improvement",
    "load_trajectories",
    "lowest_improvement",
    "max_variance_subset",
    "mix_perturbed",
    "partial_prompts",
    "problem_examples",
    "program_pass_rates",
    "read_examples",
    "to_hf_dataset",
    "too_easy",
    "write_examples",
]
