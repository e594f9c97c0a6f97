"""Per-turn metrics of a set of trajectories (docs/paper.md §6).

Definitions (``n_p`` trajectories of problem ``p``; ``c_{p,t}`` of them have a turn-``t`` program
that passes every hidden test):

* ``pass@1(t)``   = mean over problems of ``c_{p,t} / n_p`` (the program *produced at* turn t);
* ``pass@k(t)``   = mean over problems of ``1 - C(n_p - c_{p,t}, k) / C(n_p, k)``, the unbiased
  estimator of Chen et al. (2021), for ``k <= min_p n_p``;
* ``delta(t)``    = ``pass@1(t) - pass@1(0)``; ``relative(t)`` = ``delta(t) / pass@1(0)`` (None when
  ``pass@1(0) = 0``);
* ``solved_within(t)`` = mean over problems of the share of trajectories with a correct program
  at some turn ``<= t`` (what a user who stops at the first success would see);
* ``hidden_pass_rate(t)`` = mean over problems of the mean hidden-test pass rate of turn-t
  programs (partial credit); ``public_all_passed(t)``, ``no_code(t)`` are shares of trajectories;
* ``keep_rate(t)`` = the share of trajectories with a correct turn-``t-1`` program whose turn-``t``
  program is correct too (a repair turn that keeps what works), and ``fix_rate(t)`` = the share of
  trajectories with an incorrect turn-``t-1`` program whose turn-``t`` program is correct (a repair
  that works); both pooled over trajectories, None at turn 0 or when nothing qualifies. The run's
  ``keep_rate`` and ``fix_rate`` pool every repair turn's transitions.

A turn whose answer held no program counts as incorrect with pass rate 0. A correct program must
pass every hidden test: when per-test verdicts are stored, a sandbox error on any of them (which
the pass rate leaves out of its denominator) is not a pass. Problems without hidden tests cannot be
scored and are left out (listed in ``excluded``).
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field

from cobalt.records import Trajectory, Turn, Verdict

log = logging.getLogger(__name__)


class UnscoredTurn(ValueError):
    """A turn holds a program but no hidden-test score."""

    def __init__(self, trajectory: Trajectory, turn: Turn):
        self.key = trajectory.key
        self.turn = turn.index
        super().__init__(f"trajectory {trajectory.key}, turn {turn.index}: the program has no hidden-test score")


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from ``n`` samples of which ``c`` are correct: ``1 - C(n-c, k) / C(n, k)``."""
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ValueError(f"need 1 <= k <= n, got n={n}, k={k}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def is_correct(turn: Turn) -> bool:
    """Whether the turn's program passed every hidden test."""
    if turn.hidden_verdicts is not None:
        return bool(turn.hidden_verdicts) and all(v is Verdict.ACCEPTED for v in turn.hidden_verdicts)
    return turn.hidden_pass_rate == 1.0


def hidden_rate(trajectory: Trajectory, turn: Turn) -> float:
    """The hidden-test pass rate of a turn's program, 0 for an answer without code; raises
    :class:`UnscoredTurn` when a program has no score."""
    if turn.hidden_pass_rate is not None:
        return turn.hidden_pass_rate
    if turn.code is None:
        return 0.0
    raise UnscoredTurn(trajectory, turn)


class ProblemTurn(BaseModel):
    """One problem at one turn."""

    model_config = ConfigDict(frozen=True)

    turn: int
    correct: int = Field(description="Trajectories whose program at this turn passes every hidden test.")
    pass_rate: float = Field(description="Mean hidden-test pass rate of this turn's programs.")


class ProblemResult(BaseModel):
    """One problem's sample count and its results at every turn."""

    model_config = ConfigDict(frozen=True)

    problem_id: str
    samples: int
    turns: list[ProblemTurn]


class TurnMetrics(BaseModel):
    """Metrics of one turn, averaged over problems (see the module docstring)."""

    model_config = ConfigDict(frozen=True)

    turn: int
    pass_at_1: float
    pass_at_k: dict[str, float]
    delta_vs_turn0: float
    relative_change_vs_turn0: float | None
    solved_within: float
    hidden_pass_rate: float
    public_all_passed: float
    no_code: float
    mean_completion_tokens: float | None
    keep_rate: float | None = None
    fix_rate: float | None = None


class RunSummary(BaseModel):
    """Everything ``cobalt evaluate`` reports about one run (one condition of one file)."""

    model_config = ConfigDict(frozen=True)

    label: str
    source: str
    condition: str
    problems: int
    trajectories: int
    samples_min: int
    samples_max: int
    turns: int
    ks: list[int]
    per_turn: list[TurnMetrics]
    per_problem: list[ProblemResult]
    excluded: list[str] = Field(default_factory=list, description="Problems without hidden tests.")
    keep_rate: float | None = Field(None, description="Correct programs followed by a correct one, all repair turns.")
    fix_rate: float | None = Field(None, description="Incorrect programs followed by a correct one, all repair turns.")

    def pass_at_1(self) -> list[float]:
        """Pass@1 at each turn, from turn 0 on."""
        return [m.pass_at_1 for m in self.per_turn]


def default_ks(samples: int) -> list[int]:
    """1, 2, 4, ... up to ``samples``, and ``samples`` itself."""
    ks = [k for k in (2**i for i in range(samples.bit_length())) if k <= samples]
    if samples not in ks:
        ks.append(samples)
    return ks


def summarize(
    trajectories: Iterable[Trajectory],
    *,
    label: str = "run",
    source: str = "",
    ks: Sequence[int] | None = None,
) -> RunSummary:
    """Per-problem and per-turn metrics of trajectories of one condition.

    Turns are counted up to the shortest trajectory (a warning says so if lengths differ). Raises
    :class:`UnscoredTurn` if a program lacks its hidden-test score, ValueError on an empty input,
    mixed conditions, or a ``k`` larger than the fewest samples of a problem.
    """
    by_problem: dict[str, list[Trajectory]] = defaultdict(list)
    excluded: set[str] = set()
    conditions: set[str] = set()
    for trajectory in trajectories:
        conditions.add(trajectory.condition)
        if trajectory.num_hidden_tests == 0:
            excluded.add(trajectory.problem_id)
            continue
        by_problem[trajectory.problem_id].append(trajectory)
    if len(conditions) > 1:
        raise ValueError(f"trajectories of several conditions ({', '.join(sorted(conditions))}); summarize each apart")
    if not by_problem:
        raise ValueError("no trajectories with hidden tests to evaluate")
    lengths = {len(t.turns) for group in by_problem.values() for t in group}
    turns = min(lengths)
    if len(lengths) > 1:
        log.warning("%s: trajectories have %s turns; evaluating the first %d", label, sorted(lengths), turns)
    samples = [len(group) for group in by_problem.values()]
    ks = sorted(set(ks)) if ks else default_ks(min(samples))
    if ks[0] < 1 or ks[-1] > min(samples):
        raise ValueError(f"pass@k needs 1 <= k <= {min(samples)} (the fewest samples of a problem), got {ks}")
    per_problem = [_problem_result(pid, group, turns) for pid, group in sorted(by_problem.items())]
    per_turn = [_turn_metrics(t, by_problem, per_problem, ks) for t in range(turns)]
    per_turn = _with_changes(per_turn)
    everything = [traj for group in by_problem.values() for traj in group]
    keep, fix = transition_rates(everything, range(1, turns))
    return RunSummary(
        label=label,
        source=source,
        condition=conditions.pop(),
        problems=len(by_problem),
        trajectories=sum(samples),
        samples_min=min(samples),
        samples_max=max(samples),
        turns=turns,
        ks=ks,
        per_turn=per_turn,
        per_problem=per_problem,
        excluded=sorted(excluded - set(by_problem)),
        keep_rate=keep,
        fix_rate=fix,
    )


def transition_rates(trajectories: Sequence[Trajectory], turns: Iterable[int]) -> tuple[float | None, float | None]:
    """``(keep rate, fix rate)`` over the transitions into each of ``turns`` (see the module
    docstring); None where no transition qualifies."""
    kept = had_correct = fixed = had_wrong = 0
    for trajectory in trajectories:
        for t in turns:
            before, after = is_correct(trajectory.turns[t - 1]), is_correct(trajectory.turns[t])
            kept += before and after
            had_correct += before
            fixed += (not before) and after
            had_wrong += not before
    return (kept / had_correct if had_correct else None), (fixed / had_wrong if had_wrong else None)


def _problem_result(problem_id: str, group: list[Trajectory], turns: int) -> ProblemResult:
    rows = []
    for t in range(turns):
        rates = [hidden_rate(traj, traj.turns[t]) for traj in group]
        correct = sum(is_correct(traj.turns[t]) for traj in group)
        rows.append(ProblemTurn(turn=t, correct=correct, pass_rate=sum(rates) / len(rates)))
    return ProblemResult(problem_id=problem_id, samples=len(group), turns=rows)


def _turn_metrics(
    t: int, by_problem: dict[str, list[Trajectory]], results: list[ProblemResult], ks: Sequence[int]
) -> TurnMetrics:
    groups = [by_problem[r.problem_id] for r in results]
    pass_k = {str(k): _mean(pass_at_k(r.samples, r.turns[t].correct, k) for r in results) for k in ks}
    solved = _mean(
        sum(any(is_correct(turn) for turn in traj.turns[: t + 1]) for traj in group) / len(group) for group in groups
    )
    tokens = [traj.turns[t].completion_tokens for group in groups for traj in group]
    known_tokens = [x for x in tokens if x is not None]
    keep, fix = transition_rates([traj for group in groups for traj in group], [t] if t > 0 else [])
    return TurnMetrics(
        turn=t,
        pass_at_1=_mean(r.turns[t].correct / r.samples for r in results),
        pass_at_k=pass_k,
        delta_vs_turn0=0.0,
        relative_change_vs_turn0=None,
        solved_within=solved,
        hidden_pass_rate=_mean(r.turns[t].pass_rate for r in results),
        public_all_passed=_share(_public_all_passed(traj.turns[t]) for group in groups for traj in group),
        no_code=_share(traj.turns[t].code is None for group in groups for traj in group),
        mean_completion_tokens=sum(known_tokens) / len(known_tokens) if known_tokens else None,
        keep_rate=keep,
        fix_rate=fix,
    )


def _with_changes(per_turn: list[TurnMetrics]) -> list[TurnMetrics]:
    base = per_turn[0].pass_at_1
    return [
        m.model_copy(
            update={
                "delta_vs_turn0": m.pass_at_1 - base,
                "relative_change_vs_turn0": (m.pass_at_1 - base) / base if base > 0 else None,
            }
        )
        for m in per_turn
    ]


def _public_all_passed(turn: Turn) -> bool:
    return turn.public is not None and turn.public.all_passed


def _mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0


def _share(flags: Iterable[bool]) -> float:
    flags = list(flags)
    return sum(flags) / len(flags) if flags else 0.0
