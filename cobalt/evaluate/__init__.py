"""``cobalt.evaluate``: per-turn scores of multi-turn trajectories (docs/paper.md §6).

Reads the :class:`~cobalt.records.Trajectory` files ``cobalt rollout`` writes (whose turns carry
their hidden-test scores) and reports, per problem and turn, the correct count and mean pass rate;
per turn, Pass@1, unbiased pass@k, the change against turn 0, "solved within t turns" and the keep
and fix rates of repair turns; as a JSON summary, a terminal table and a PNG plot that can overlay
several runs. :func:`paired_comparison` compares runs problem by problem, with a bootstrap interval.
Definitions are in :mod:`cobalt.evaluate.metrics`, :mod:`cobalt.evaluate.compare` and
``docs/evaluate.md``.

Differences from the reference release: the reference scores and prints Pass@1 per turn for one
run with a fixed n = 16; here any n (even varying per problem) is handled, pass@k is reported for
every k <= n, and several runs are compared in one table and one plot. Scoring runs during the
rollout (low priority), not in a separate pass, so evaluation usually starts no sandbox; a run
collected without it (``--no-hidden``) is scored by :func:`score_file` from the problems file.
"""

from cobalt.evaluate.compare import Difference, PairedComparison, format_paired, paired_comparison
from cobalt.evaluate.config import EvaluateConfig
from cobalt.evaluate.metrics import (
    ProblemResult,
    ProblemTurn,
    RunSummary,
    TurnMetrics,
    UnscoredTurn,
    default_ks,
    is_correct,
    pass_at_k,
    summarize,
    transition_rates,
)
from cobalt.evaluate.report import (
    format_comparison,
    format_run,
    load_run,
    plot_pass_at_1,
    summarize_file,
    write_json,
)
from cobalt.evaluate.scoring import needs_scoring, score_file, score_trajectories

__all__ = [
    "Difference",
    "EvaluateConfig",
    "PairedComparison",
    "ProblemResult",
    "ProblemTurn",
    "RunSummary",
    "TurnMetrics",
    "UnscoredTurn",
    "default_ks",
    "format_comparison",
    "format_paired",
    "format_run",
    "is_correct",
    "load_run",
    "needs_scoring",
    "paired_comparison",
    "pass_at_k",
    "plot_pass_at_1",
    "score_file",
    "score_trajectories",
    "summarize",
    "summarize_file",
    "transition_rates",
    "write_json",
]
