"""Contextual-bandit prompts from multi-turn trajectories (docs/paper.md §2.2–§2.4, §2.7).

Each step is one function: :func:`program_pass_rates` (§2.2), :func:`too_easy` (§2.2),
:func:`improvement` and :func:`eligible` (§2.2), :func:`max_variance_subset` and
:func:`lowest_improvement` (§2.3), :func:`partial_prompts` with its early stops (§2.4),
:func:`mix_perturbed` (§2.7); :func:`build` runs them all and shuffles (§2.4).

What differs from the reference release, and why:

* Down-sampling with more than ``pool`` (16) eligible trajectories: the reference's slice of the
  highest k ran past the pool and returned more than ``keep`` (4) trajectories. Here the pool is
  the first ``pool`` eligible trajectories in sample order, and exactly ``keep`` are kept.
* "All public tests passed" is read from the recorded public results, not by matching the
  feedback text; at the first split point the reference compared the feedback with the problem
  statement (it never matched), here a single feedback never stops a trajectory.
* Public and hidden test counts come from each trajectory (the reference assumed 4 public tests).
* Perturbed trajectories (the amount and mechanics of the paper's mix are not published) score
  their programs on the hidden tests only: their public tests carry swapped outputs, so a
  combined rate would rank a correct program below one that hard-codes the swapped outputs.
  They contribute partial prompts only (the problem-only prompt is the original one), flagged
  ``perturbed``, and are rewarded on the original problem's tests.
"""

from __future__ import annotations

import logging
import random
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import ClassVar

from pydantic import ConfigDict, Field, model_validator

from cobalt.config import Settings
from cobalt.records import BanditExample, Message, Problem, Trajectory, Turn
from cobalt.tokenizer import TokenCounter

log = logging.getLogger(__name__)

PASSED_TWICE = "public_passed_twice"
TOKEN_LIMIT = "token_limit"
FIRST_AND_THIRD_CORRECT = "turns_0_and_2_correct"
NO_FEEDBACK = "no_feedback"


class BuildConfig(Settings):
    """Settings of ``cobalt bandit build``; defaults are the published ones."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    verb: ClassVar[str] = "bandit"

    validation: bool = Field(
        False, description="Build a validation set: one least-improving trajectory per problem (docs/paper.md §2.2)."
    )
    keep: int = Field(4, ge=1, description="Trajectories kept per problem by max-variance down-sampling (m, §2.3).")
    pool: int = Field(
        16, ge=1, description="Eligible trajectories considered per problem, the samples per problem (n, §2.3)."
    )
    max_attempts: int = Field(3, ge=1, description="Prompts after 1 to K attempts (num_turns, §2.4).")
    max_prompt_tokens: int = Field(
        10_000, ge=1, description="A chat-templated prompt longer than this stops its trajectory (§2.4)."
    )
    perturbed_ratio: float | None = Field(
        None, ge=0, description="Perturbed prompts per original prompt; none: every perturbed prompt built (§2.7)."
    )
    seed: int = Field(42, description="Seed of the shuffle and of the perturbed sample (§2.4).")

    @model_validator(mode="after")
    def _pool_holds_keep(self) -> BuildConfig:
        if self.pool < self.keep:
            raise ValueError(f"pool ({self.pool}) must be at least keep ({self.keep})")
        return self


class TrajectoryError(ValueError):
    """A trajectory that cannot be split; ``field`` names the offending field."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


def check_trajectory(traj: Trajectory, problem: Problem) -> None:
    """Raise :class:`TrajectoryError` unless ``traj`` is a well-formed, evaluated trajectory of
    ``problem``: a header ending with the user's problem, then assistant/user pairs, one per
    turn (the last feedback may be left out), and a hidden pass rate on every turn."""
    if not traj.turns or [t.index for t in traj.turns] != list(range(len(traj.turns))):
        raise TrajectoryError("turns", "turns must be numbered 0, 1, 2, ... and there must be at least one")
    head = header_length(traj)
    roles = [m.role for m in traj.messages[head:]]
    expected = ["assistant", "user"] * len(traj.turns)
    if head < 1 or traj.messages[head - 1].role != "user" or roles not in (expected, expected[:-1]):
        raise TrajectoryError(
            "messages", "expected a header ending with the user's problem, then one assistant/user pair per turn"
        )
    counts = (traj.num_public_tests, traj.num_hidden_tests)
    if counts != (len(problem.public_tests), len(problem.hidden_tests)):
        raise TrajectoryError(
            "num_public_tests",
            f"{counts[0]} public / {counts[1]} hidden tests, but problem {problem.id!r} in the problems file has "
            f"{len(problem.public_tests)} / {len(problem.hidden_tests)}: was it collected on other problems?",
        )
    for turn in traj.turns:
        if traj.num_hidden_tests and turn.hidden_pass_rate is None:
            raise TrajectoryError(f"turns.{turn.index}.hidden_pass_rate", "missing: run `cobalt evaluate` first")


def header_length(traj: Trajectory) -> int:
    """Messages before the first attempt (system prompt and problem)."""
    return next((i for i, m in enumerate(traj.messages) if m.role == "assistant"), len(traj.messages))


def conversation(traj: Trajectory) -> list[Message]:
    """The messages, with the last turn's feedback appended when the rollout left it out."""
    messages = list(traj.messages)
    if messages and messages[-1].role == "assistant" and traj.turns[-1].feedback:
        messages.append(Message(role="user", content=traj.turns[-1].feedback))
    return messages


def program_pass_rates(traj: Trajectory) -> list[float]:
    """Each turn's pass rate over all tests, public and hidden weighted by their counts (§2.2);
    over the hidden tests only for a perturbed trajectory (see the module docstring)."""
    if traj.condition == "perturbed":
        return [turn.hidden_pass_rate or 0.0 for turn in traj.turns]
    return [traj.combined_pass_rate(turn) for turn in traj.turns]


def too_easy(rates: Sequence[Sequence[float]]) -> bool:
    """A problem is too easy when every sample's first program passes every test (§2.2)."""
    return all(r[0] == 1.0 for r in rates)


def improvement(rates: Sequence[float]) -> float:
    """A trajectory's test-case improvement: max - min pass rate over its turns (§2.2)."""
    return max(rates) - min(rates)


def eligible(rates: Sequence[Sequence[float]], validation: bool) -> list[int]:
    """Trajectories that improve; for training they must also reach a fully correct program (§2.2)."""
    return [i for i, r in enumerate(rates) if improvement(r) > 0.0 and (validation or max(r) == 1.0)]


def max_variance_subset(improvements: Sequence[float], keep: int = 4, pool: int = 16) -> list[int]:
    """Positions of the trajectories kept by max-variance down-sampling (§2.3, PODS).

    Of the first ``pool`` values, sorted ascending (ties by position): start from the ``keep``
    lowest; for k = 0 .. keep-1 try the lowest ``keep - k`` plus the highest ``k`` and switch to
    it when the (population) variance grows. With ``keep`` or fewer values, all are kept.
    """
    candidates = list(range(min(pool, len(improvements))))
    if len(candidates) <= keep:
        return candidates
    order = sorted(candidates, key=lambda i: improvements[i])
    subset = order[:keep]
    for k in range(keep):
        trial = order[: keep - k] + order[len(order) - k :]
        if statistics.pvariance([improvements[i] for i in trial]) > statistics.pvariance(
            [improvements[i] for i in subset]
        ):
            subset = trial
    return subset


def lowest_improvement(improvements: Sequence[float]) -> int:
    """Validation keeps the trajectory with the lowest improvement (the first on ties, §2.2)."""
    return min(range(len(improvements)), key=lambda i: improvements[i])


def _passed_public(turn: Turn) -> bool:
    return turn.public is not None and turn.public.all_passed


def partial_prompts(
    traj: Trajectory, rates: Sequence[float], count_tokens: TokenCounter | None, config: BuildConfig
) -> tuple[list[tuple[int, list[Message], float]], str | None]:
    """``([(attempts, prompt, prev_best_pass_rate), ...], stop reason or None)``: the prompts
    after 1 .. ``max_attempts`` attempts, each ending with the feedback on its last attempt (§2.4).

    A trajectory stops early, in this order of checks, when the prompt's two latest feedbacks both
    report all public tests passed; when the chat-templated prompt exceeds
    ``max_prompt_tokens``; or, while ``attempts + 1 < max_attempts``, when the prompt's last
    program and the one after the next are both fully correct (the published special case: at
    the first split point, programs 0 and 2).
    """
    messages, head, prompts = conversation(traj), header_length(traj), []
    for k in range(1, min(config.max_attempts, len(traj.turns)) + 1):
        if head + 2 * k > len(messages):
            return prompts, NO_FEEDBACK
        if k >= 2 and _passed_public(traj.turns[k - 2]) and _passed_public(traj.turns[k - 1]):
            return prompts, PASSED_TWICE
        prompt = messages[: head + 2 * k]
        if count_tokens is not None and count_tokens(prompt) > config.max_prompt_tokens:
            return prompts, TOKEN_LIMIT
        if k + 1 < config.max_attempts and k + 1 < len(rates) and rates[k - 1] == 1.0 and rates[k + 1] == 1.0:
            return prompts, FIRST_AND_THIRD_CORRECT
        prompts.append((k, prompt, max(rates[:k])))
    return prompts, None


def _example(
    problem: Problem, prompt: list[Message], turn: int, prev_best: float, config: BuildConfig,
    traj: Trajectory | None = None, gain: float | None = None,
) -> BanditExample:  # fmt: skip
    return BanditExample(
        id=f"{traj.key}@{turn}" if traj is not None else f"{problem.id}@0",
        prompt=prompt,
        tests=problem.all_tests,
        prev_best_pass_rate=prev_best,
        problem_id=problem.id,
        turn=turn,
        perturbed=traj is not None and traj.condition == "perturbed",
        comparator=problem.comparator,
        meta={
            "sample": traj.sample if traj is not None else None,
            "improvement": gain,
            "split": "validation" if config.validation else "train",
        },
    )


def problem_examples(
    group: Sequence[Trajectory], problem: Problem, config: BuildConfig, count_tokens: TokenCounter | None,
    stats: Counter[str],
) -> list[BanditExample]:  # fmt: skip
    """All prompts of one problem's trajectories of one condition (§2.2–§2.4)."""
    ns = "bandit/perturbed/" if group[0].condition == "perturbed" else "bandit/"
    stats[ns + "problems"] += 1
    rates = [program_pass_rates(t) for t in group]
    if too_easy(rates):
        stats[ns + "problems_too_easy"] += 1
        return []
    examples = []
    if group[0].condition == "original":
        examples.append(_example(problem, group[0].messages[: header_length(group[0])], 0, 0.0, config))
    chosen = eligible(rates, config.validation)
    gains = [improvement(rates[i]) for i in chosen]
    stats[ns + "trajectories_eligible"] += len(chosen)
    if chosen and config.validation:
        chosen = [chosen[lowest_improvement(gains)]]
    elif chosen:
        chosen = [chosen[j] for j in max_variance_subset(gains, config.keep, config.pool)]
    stats[ns + "trajectories_kept"] += len(chosen)
    stats[ns + "problems_with_trajectories"] += bool(chosen)
    for i in chosen:
        prompts, reason = partial_prompts(group[i], rates[i], count_tokens, config)
        if reason is not None:
            stats[f"{ns}early_stop/{reason}"] += 1
        gain = improvement(rates[i])
        examples += [_example(problem, p, k, best, config, group[i], gain) for k, p, best in prompts]
    return examples


def mix_perturbed(
    num_original: int, perturbed: list[BanditExample], ratio: float | None, rng: random.Random
) -> list[BanditExample]:
    """The perturbed prompts to mix in: ``round(ratio * num_original)`` of them, drawn with
    ``rng`` (all when ``ratio`` is None or too few were built) (§2.7)."""
    if ratio is None:
        return perturbed
    wanted = round(ratio * num_original)
    if wanted > len(perturbed):
        log.warning("asked for %d perturbed prompts but only %d were built; keeping all", wanted, len(perturbed))
    return perturbed if wanted >= len(perturbed) else rng.sample(perturbed, wanted)


def _groups(trajectories: Iterable[Trajectory]) -> list[list[Trajectory]]:
    """Trajectories by (condition, problem), in sorted order: the output must not depend on the
    order in which an asynchronous rollout happened to write them."""
    groups: dict[tuple[str, str], list[Trajectory]] = {}
    seen: set[str] = set()
    for traj in trajectories:
        if traj.key in seen:
            raise TrajectoryError("sample", f"trajectory {traj.key} occurs twice")
        seen.add(traj.key)
        groups.setdefault((traj.condition, traj.problem_id), []).append(traj)
    return [sorted(groups[key], key=lambda t: t.sample) for key in sorted(groups)]


def build(
    trajectories: Iterable[Trajectory],
    problems: Mapping[str, Problem],
    config: BuildConfig | None = None,
    count_tokens: TokenCounter | None = None,
) -> tuple[list[BanditExample], Counter[str]]:
    """The bandit dataset and its statistics. ``trajectories`` may mix original and perturbed
    ones; ``problems`` maps ids to the original problems (their tests score the prompts);
    ``count_tokens`` measures a chat-templated prompt (None: no token limit)."""
    config = config or BuildConfig()
    stats: Counter[str] = Counter()
    original: list[BanditExample] = []
    perturbed: list[BanditExample] = []
    for group in _groups(trajectories):
        problem = problems.get(group[0].problem_id)
        if problem is None:
            raise ValueError(f"trajectory {group[0].key}: problem {group[0].problem_id!r} is not in the problems")
        for traj in group:
            check_trajectory(traj, problem)
        made = problem_examples(group, problem, config, count_tokens, stats)
        (perturbed if group[0].condition == "perturbed" else original).extend(made)
    rng = random.Random(config.seed)
    stats["bandit/perturbed/prompts_built"] = len(perturbed)
    examples = original + mix_perturbed(len(original), perturbed, config.perturbed_ratio, rng)
    rng.shuffle(examples)
    stats["bandit/prompts"] = len(examples)
    for example in examples:
        stats[f"bandit/prompts_turn_{example.turn}"] += 1
        stats["bandit/perturbed/prompts"] += example.perturbed
    return examples, stats
