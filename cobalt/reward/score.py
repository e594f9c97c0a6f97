"""The Cobalt reward: correctness tiers, the improvement term, the format term, clipping (§2.6).

The rules and constants are the reference release's. What differs, and why:

* Code is taken from the response only, by the same parse as the format rules
  (:mod:`cobalt.reward.format`); the reference took the last fenced block anywhere, thinking
  included, so a completion could be run on code its format check never looked at.
* Token counts use the caller's tokenizer instead of tiktoken ``o200k_base`` (offline machines);
  without one, 4 characters count as a token.
* ``require_think=False`` serves models that do not think: no ``</think>`` rule, no think-length
  terms (so no shaping bonus for failed attempts either).
* Programs run in :mod:`cobalt.sandbox`, whose pass rate leaves sandbox errors (infrastructure
  faults) out of the denominator; the breakdown reports how many there were. When the 30 s budget
  for the whole test list runs out, the tests not reached fail and those that ran keep their
  verdicts; the reference scored such a program 0 on every test.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import fmean
from typing import Any

from cobalt.records import ExecRequest, Tests
from cobalt.reward.format import extract_code, format_reward, parse_completion
from cobalt.sandbox.config import Limits

NO_CODE = -1.0  # no code block in training (§2.6.1); validation gives 0 (binary reward)
SOLVED, HALF_PASSED, SOME_PASSED, NONE_PASSED = 1.0, 0.2, 0.0, -0.1  # correctness tiers (§2.6.2)
HALF = 0.5  # p >= 0.5 is the 0.2 tier
IMPROVEMENT_SCALE = 0.1  # gain over the previous best: + 0.1 (p - b) / (1 - b) (§2.6.3)
REGRESSION_BASE = -0.1  # no gain: the tier is replaced by -0.1 + 0.1 (p - b) / b (§2.6.3)
REWARD_MIN, REWARD_MAX = -1.0, 1.0  # final clip (§2.6.5)
SUITE_BUDGET_S = 30.0  # wall seconds for all of a program's tests in the default executor (§2.6)


@dataclass(frozen=True)
class RewardBreakdown:
    """One completion's reward and its parts. Outside validation, ``correctness + improvement +
    format`` is the reward before clipping (up to rounding); ``improvement`` is the change the
    improvement rule made to the tier (negative when it replaced the tier). ``pass_rate`` is None
    when the completion had no code."""

    reward: float
    correctness: float
    improvement: float
    format: float
    pass_rate: float | None
    violation: str | None = None
    sandbox_errors: int = 0

    def metrics(self) -> dict[str, float]:
        """Namespaced values for logging (see docs/reward.md)."""
        return {
            "reward/reward": self.reward,
            "reward/correctness": self.correctness,
            "reward/improvement": self.improvement,
            "reward/format": self.format,
            "reward/pass_rate": self.pass_rate or 0.0,
            "reward/no_code": float(self.pass_rate is None),
            "reward/format_violation": float(self.violation is not None),
        }


def mean_metrics(breakdowns: Sequence[RewardBreakdown]) -> dict[str, float]:
    """Each of :meth:`RewardBreakdown.metrics` averaged over a batch of completions."""
    return {name: fmean(b.metrics()[name] for b in breakdowns) for name in breakdowns[0].metrics()}


def correctness_reward(pass_rate: float) -> float:
    """The tier for the pass rate over all tests (§2.6.2)."""
    if pass_rate == 1.0:
        return SOLVED
    if pass_rate >= HALF:
        return HALF_PASSED
    return SOME_PASSED if pass_rate > 0.0 else NONE_PASSED


def improved_reward(pass_rate: float, prev_best: float, correctness: float) -> float:
    """The reward after the improvement rule (§2.6.3): applies when ``pass_rate < 1`` and
    ``prev_best > 0``; a gain adds to the tier, no gain replaces it. Operations in the reference's
    order, so values agree to the last bit."""
    if pass_rate >= 1.0 or prev_best <= 0.0:
        return correctness
    if pass_rate > prev_best:
        return correctness + (pass_rate - prev_best) / (1.0 - prev_best) * IMPROVEMENT_SCALE
    return REGRESSION_BASE + (pass_rate - prev_best) / prev_best * IMPROVEMENT_SCALE


@dataclass(frozen=True)
class RewardOptions:
    """What every reward of a run shares: how completions are read and what is paid."""

    validation: bool = False  #: the binary validation reward: 1 when every test passes, else 0
    require_think: bool = True  #: reasoning models: one ``</think>`` required, think length scored
    tokenizer: Any = None  #: counts tokens for the length terms (None: 4 characters a token)


DEFAULT_OPTIONS = RewardOptions()


def reward_from_pass_rate(
    completion: str,
    pass_rate: float | None,
    prev_best_pass_rate: float = 0.0,
    options: RewardOptions = DEFAULT_OPTIONS,
    *,
    sandbox_errors: int = 0,
) -> RewardBreakdown:
    """The reward of ``completion`` once its code has run (``pass_rate`` None: it had no code)."""
    if not 0.0 <= prev_best_pass_rate <= 1.0:
        raise ValueError(f"prev_best_pass_rate must lie in [0, 1], got {prev_best_pass_rate}")
    if pass_rate is None:
        return RewardBreakdown(0.0 if options.validation else NO_CODE, NO_CODE, 0.0, 0.0, None)
    correctness = correctness_reward(pass_rate)
    running = improved_reward(pass_rate, prev_best_pass_rate, correctness)
    parsed = parse_completion(completion, options.require_think)
    fmt = format_reward(parsed, running, require_think=options.require_think, tokenizer=options.tokenizer)
    reward = min(REWARD_MAX, max(REWARD_MIN, running + fmt))
    if options.validation:
        reward = 1.0 if pass_rate == 1.0 else 0.0
    improvement = running - correctness
    return RewardBreakdown(reward, correctness, improvement, fmt, pass_rate, parsed.violation, sandbox_errors)


def completion_text(completion: Any) -> str:
    """The text of a completion: a string, or TRL's conversational form (a list of messages,
    the assistant's last one counts)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, dict):
        return str(completion.get("content", ""))
    messages = [m for m in completion if m.get("role", "assistant") == "assistant"]
    return str(messages[-1].get("content", "")) if messages else ""


def score_breakdown(
    completions: Sequence[Any],
    tests: Sequence[Any],
    prev_best_pass_rates: Sequence[float] | None = None,
    *,
    comparators: Sequence[str | None] | None = None,
    options: RewardOptions = DEFAULT_OPTIONS,
    executor: Any = None,
) -> list[RewardBreakdown]:
    """The reward of each completion with its parts: the one way Cobalt scores completions.

    ``completions[i]`` is a string or TRL's conversational form; ``tests[i]`` the problem's tests
    (a :class:`~cobalt.records.Tests` or its JSON forms), on which its program runs;
    ``prev_best_pass_rates[i]`` the best pass rate among the attempts already in its prompt (None:
    0 for all, so no improvement term); ``comparators[i]`` the problem's comparator. Programs run
    concurrently on ``executor``, a :class:`cobalt.sandbox.SyncExecutor` (default: the shared
    :func:`default_executor`). Async callers run it in a thread (``asyncio.to_thread``).
    """
    texts = [completion_text(c) for c in completions]
    requests = _requests(texts, tests, comparators, options.require_think)
    prev_bests = [0.0] * len(texts) if prev_best_pass_rates is None else [float(b) for b in prev_best_pass_rates]
    if len(prev_bests) != len(texts):
        raise ValueError("prev_best_pass_rates must have one entry per completion")
    results = iter((executor or default_executor()).run_all([r for r in requests if r is not None]))
    breakdowns = []
    for text, request, best in zip(texts, requests, prev_bests):
        result = next(results) if request is not None else None
        rate = result.pass_rate if result is not None else None
        errors = result.sandbox_errors if result is not None else 0
        breakdowns.append(reward_from_pass_rate(text, rate, best, options, sandbox_errors=errors))
    return breakdowns


def score(
    completions: Sequence[Any],
    tests: Sequence[Any],
    prev_best_pass_rates: Sequence[float] | None = None,
    *,
    comparators: Sequence[str | None] | None = None,
    options: RewardOptions = DEFAULT_OPTIONS,
    executor: Any = None,
) -> list[float]:
    """The Cobalt reward of each completion: :func:`score_breakdown` without the parts."""
    breakdowns = score_breakdown(
        completions, tests, prev_best_pass_rates, comparators=comparators, options=options, executor=executor
    )
    return [b.reward for b in breakdowns]


def _requests(
    texts: list[str], tests: Sequence[Any], comparators: Sequence[str | None] | None, require_think: bool
) -> list[ExecRequest | None]:
    """One request per completion with code (None where it has none), checked against its tests."""
    if len(tests) != len(texts) or (comparators is not None and len(comparators) != len(texts)):
        raise ValueError("completions, tests and comparators must have one entry per completion")
    requests: list[ExecRequest | None] = []
    for i, text in enumerate(texts):
        suite = tests[i] if isinstance(tests[i], Tests) else Tests.model_validate(tests[i])
        if len(suite) == 0:
            raise ValueError(f"completion {i} has no tests to be scored on")
        code = extract_code(text, require_think)
        comparator = comparators[i] if comparators is not None else None
        requests.append(None if code is None else ExecRequest(code=code, tests=suite, comparator=comparator))
    return requests


def reward_executor(
    cpu_s: float = Limits().cpu_s,
    memory_mb: int = Limits().memory_mb,
    *,
    comparator: str | None = None,
    budget_s: float = SUITE_BUDGET_S,
    feedback: str | None = None,
    tier: str = "auto",
    allow_unsafe: bool = False,
    workers: int | None = None,
    backend: str = "local",
    ray_address: str | None = None,
    ray_actors: int | None = None,
) -> Any:
    """A :class:`cobalt.sandbox.SyncExecutor` with the reward's limits: ``cpu_s`` and ``memory_mb``
    per test and a ``budget_s`` (30 s, as the reference) for a program's whole test list (close it).
    ``comparator`` is the default for requests that name none and ``feedback`` the layout of the
    failed-test feedback (None: the sandbox's defaults). ``tier`` and ``allow_unsafe`` choose the
    isolation (a container without user namespaces needs ``allow_unsafe`` to run the ``process``
    tier); ``workers`` is the programs run at once (None: this process's share of the node's cores,
    :func:`cobalt.sandbox.config.workers_per_process`; on the ``ray`` backend, per actor). ``backend``
    ``ray`` runs the programs on a pool of executor actors on the Ray cluster at ``ray_address``
    (``ray_actors`` of them; docs/sandbox.md, "The ray backend")."""
    from cobalt.sandbox import SandboxConfig, SyncExecutor

    limits = Limits(cpu_s=cpu_s, memory_mb=memory_mb, program_budget_s=budget_s)
    optional = (("comparator", comparator), ("feedback", feedback), ("workers", workers), ("ray_actors", ray_actors))
    extra: dict[str, Any] = {key: value for key, value in optional if value}
    return SyncExecutor(
        SandboxConfig(
            limits=limits, tier=tier, allow_unsafe=allow_unsafe, backend=backend, ray_address=ray_address, **extra
        )
    )


_default: Any = None
_default_lock = threading.Lock()


def default_executor() -> Any:
    """A process-wide :func:`reward_executor` with the default limits (4 s of CPU and 1 GiB per
    test), closed at exit."""
    global _default
    with _default_lock:
        if _default is None:
            _default = reward_executor()
            atexit.register(_default.close)
        return _default
