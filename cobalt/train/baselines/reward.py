"""Rewards of the online multi-turn baselines: one number per whole trajectory (docs/train.md, Baselines).

**Multi-turn GRPO** scores a trajectory by its *final* program: the Cobalt reward (correctness tier
on all of the problem's tests, plus the format term, clipped to [-1, 1]) with no improvement term,
exactly what single-turn GRPO gives one program. The final program is what a multi-turn episode
delivers, and using the same per-program reward as the other methods keeps the comparison about
how the data is generated, not about the reward.

**VeRPO** (arXiv 2601.03525) adds a dense term built from the tests each turn's program passes,
each test weighted by how rarely the group passes it. For a group of ``N`` trajectories of ``T``
programs on ``M`` tests, with ``P[i][t][j] = 1`` when trajectory ``i``'s turn-``t`` program passes
test ``j``::

    rho_j  = mean over i, t of P[i][t][j]            (the group's pass rate of test j)
    w_j    = (1 - rho_j) / sum_k (1 - rho_k)         (uniform 1/M when every program passes every test)
    d[i,t] = sum_j w_j P[i][t][j]                    (dense reward of one turn, in [0, 1])
    D_i    = mean over t of d[i,t]
    R_i    = R_final_i + lambda * D_i                (lambda = TrainConfig.verpo_dense_weight)

The VeRPO paper's own equations were not available to us (only its abstract and third-party
summaries: weights from the group's empirical pass rates, rarely passed tests weigh more, dense
reward = sum of the weights of the passed tests, per turn, combined with the global outcome
reward). Our choices, and why:

* ``1 - rho`` is the simplest weight that is 0 for a test everybody passes (it separates nobody)
  and largest for a test nobody passes; normalising the weights keeps ``d`` in [0, 1], so
  ``lambda`` alone sets the dense term's scale whatever the number of tests.
* The pass rates pool every turn of every trajectory in the group: the dense reward scores every
  turn, so the difficulty estimate should come from the same programs.
* TRL's GRPO gives one advantage per sequence, so the per-turn rewards are averaged into one
  number. The mean rewards reaching a good program early (a trajectory that passes a hard test
  from turn 0 on earns it three times).
* The outcome term is multi-turn GRPO's reward, so the two baselines differ only by the dense
  term. With ``lambda < 0.8`` a solved final program still outranks every unsolved one (tier 1.0
  vs at most 0.2 + lambda) unless the format penalty applies.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from statistics import fmean
from typing import Any

from cobalt.records import ExecRequest, Tests
from cobalt.reward import RewardBreakdown, RewardOptions, extract_code, mean_metrics, score_breakdown

log = logging.getLogger(__name__)

Passing = Sequence[Sequence[Sequence[bool]]]  # [trajectory][turn][test]


# --- VeRPO, pure -----------------------------------------------------------------------------------


def verpo_test_weights(passing: Passing) -> list[float]:
    """The difficulty weight of each test for one group: ``(1 - rho_j)`` normalised to sum 1."""
    programs = [turn for trajectory in passing for turn in trajectory]
    if not programs:
        raise ValueError("a VeRPO group needs at least one program")
    num_tests = len(programs[0])
    if num_tests == 0 or any(len(turn) != num_tests for turn in programs):
        raise ValueError("every program of a group must have one verdict per test, and there must be tests")
    failure_rates = [1.0 - fmean(float(turn[j]) for turn in programs) for j in range(num_tests)]
    total = sum(failure_rates)
    if total == 0.0:  # every program passed every test: no test is harder than another
        return [1.0 / num_tests] * num_tests
    return [rate / total for rate in failure_rates]


def verpo_dense_rewards(passing: Passing, weights: Sequence[float]) -> list[list[float]]:
    """``d[i][t]``: the summed weights of the tests trajectory ``i``'s turn-``t`` program passes."""
    return [[sum(w for w, ok in zip(weights, turn) if ok) for turn in trajectory] for trajectory in passing]


def verpo_group_dense(passing: Passing) -> list[float]:
    """``D_i`` for each trajectory of one group: the mean over turns of its dense rewards."""
    dense = verpo_dense_rewards(passing, verpo_test_weights(passing))
    return [fmean(turns) for turns in dense]


# --- the reward function TRL calls ---------------------------------------------------------------------


class OnlineReward:
    """TRL reward function for ``multi_turn`` (``dense_weight`` None) and ``verpo``.

    It reads the extra columns the rollout function returns: ``turn_texts`` (each trajectory's
    answers, in order), and ``public_pass_rates`` and ``feedback_tokens`` for logging. Rows arrive
    in TRL's order, ``num_generations`` trajectories of one prompt after another:
    :func:`cobalt.train.trainer.build_trainer` checks that a process always holds whole groups,
    and this class checks the problem ids of each group.
    """

    __name__ = "online_reward"

    def __init__(
        self,
        executor: Any,
        num_generations: int,
        *,
        dense_weight: float | None = None,
        options: RewardOptions | None = None,
    ):
        self.executor = executor
        self.num_generations = num_generations
        self.dense_weight = dense_weight
        self.options = options or RewardOptions()
        self.validation = False  #: set while the trainer validates: the final program's binary reward

    def close(self) -> None:
        """Close the executor (shared with the rollout function)."""
        self.executor.close()

    def __call__(self, prompts: list, completions: list, tests: list, turn_texts: list, **columns: Any) -> list[float]:
        """The reward of each trajectory, in TRL's row order: its final program's Cobalt reward with no
        improvement term, plus ``dense_weight`` times its VeRPO dense reward when that is set; while
        validating, the final program's binary reward alone. Metrics go to the ``log_metric`` and
        ``log_extra`` callables when the columns hold them."""
        comparators = columns.get("comparator")
        final = score_breakdown(
            [texts[-1] for texts in turn_texts],
            tests,
            None,  # no improvement term: the trajectory is scored as a whole
            comparators=comparators,
            options=replace(self.options, validation=self.validation),
            executor=self.executor,
        )
        rewards = [b.reward for b in final]
        metrics = mean_metrics(final)
        metrics.update(_per_turn_public_metrics(columns.get("public_pass_rates")))
        if columns.get("feedback_tokens"):
            metrics["rollout/feedback_tokens"] = fmean(columns["feedback_tokens"])
        if self.dense_weight is not None and not self.validation:
            dense = self._dense(turn_texts, tests, comparators, columns.get("problem_id"), metrics)
            rewards = [r + self.dense_weight * d for r, d in zip(rewards, dense)]
            metrics["reward/verpo_dense"] = fmean(dense)
        metrics["reward/trajectory"] = fmean(rewards)
        _log(columns, metrics, final)
        return rewards

    def _dense(
        self,
        turn_texts: list[list[str]],
        tests: list,
        comparators: list | None,
        problem_ids: list | None,
        metrics: dict[str, float],
    ) -> list[float]:
        passing = self._turn_passing(turn_texts, tests, comparators)
        for turn in range(len(turn_texts[0])):
            metrics[f"reward/pass_rate_turn{turn}"] = fmean(fmean(map(float, p[turn])) for p in passing)
        dense: list[float] = []
        for start in range(0, len(passing), self.num_generations):
            group = slice(start, start + self.num_generations)
            if problem_ids is not None and len(set(problem_ids[group])) != 1:
                raise RuntimeError("a VeRPO group mixes problems: TRL's row order is not the one this reward assumes")
            dense.extend(verpo_group_dense(passing[group]))
        return dense

    def _turn_passing(
        self, turn_texts: list[list[str]], tests: list, comparators: list | None
    ) -> list[list[list[bool]]]:
        """Verdicts of every turn's program on all of its problem's tests (no program: all fail)."""
        if len(turn_texts) % self.num_generations:
            raise RuntimeError(f"{len(turn_texts)} trajectories are not whole groups of {self.num_generations}")
        suites = [t if isinstance(t, Tests) else Tests.model_validate(t) for t in tests]
        requests, where = [], []
        for i, texts in enumerate(turn_texts):
            for t, text in enumerate(texts):
                code = extract_code(text, self.options.require_think)
                if code is not None:
                    comparator = comparators[i] if comparators is not None else None
                    requests.append(ExecRequest(code=code, tests=suites[i], comparator=comparator))
                    where.append((i, t))
        passing = [[[False] * len(suites[i]) for _ in texts] for i, texts in enumerate(turn_texts)]
        for (i, t), result in zip(where, self.executor.run_all(requests)):
            passing[i][t] = list(result.passing)
        return passing


def _per_turn_public_metrics(public_pass_rates: list | None) -> dict[str, float]:
    """Mean public-test pass rate of each turn that got feedback (no program counts as 0)."""
    if not public_pass_rates or not public_pass_rates[0]:
        return {}
    turns = len(public_pass_rates[0])
    return {
        f"rollout/public_pass_rate_turn{t}": fmean((rates[t] or 0.0) for rates in public_pass_rates)
        for t in range(turns)
    }


def _log(columns: dict[str, Any], metrics: dict[str, float], final: list[RewardBreakdown]) -> None:
    log_metric = columns.get("log_metric")
    if log_metric is not None:
        for name, value in metrics.items():
            log_metric(name, value)
    log_extra = columns.get("log_extra")
    if log_extra is not None:
        log_extra("final_pass_rate", [b.pass_rate for b in final])
