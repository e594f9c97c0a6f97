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

from cobalt.records import ExecRequest, ExecResult, Tests
from cobalt.reward.format import extract_code, format_reward, parse_completion

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


def reward_from_pass_rate(
    completion: str,
    pass_rate: float | None,
    prev_best_pass_rate: float = 0.0,
    *,
    validation: bool = False,
    require_think: bool = True,
    tokenizer: Any = None,
    sandbox_errors: int = 0,
) -> RewardBreakdown:
    """The reward of ``completion`` once its code has run (``pass_rate`` None: it had no code)."""
    if not 0.0 <= prev_best_pass_rate <= 1.0:
        raise ValueError(f"prev_best_pass_rate must lie in [0, 1], got {prev_best_pass_rate}")
    if pass_rate is None:
        return RewardBreakdown(0.0 if validation else NO_CODE, NO_CODE, 0.0, 0.0, None)
    correctness = correctness_reward(pass_rate)
    running = improved_reward(pass_rate, prev_best_pass_rate, correctness)
    parsed = parse_completion(completion, require_think)
    fmt = format_reward(parsed, running, require_think=require_think, tokenizer=tokenizer)
    reward = min(REWARD_MAX, max(REWARD_MIN, running + fmt))
    if validation:
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


def _requests(
    texts: list[str], tests: Sequence[Any], comparators: Sequence[str | None] | None, require_think: bool
) -> list[ExecRequest | None]:
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


def _combine(
    texts: list[str], requests: list[ExecRequest | None], results: list[ExecResult], prev: Any, **options: Any
) -> list[RewardBreakdown]:
    prev_bests = [0.0] * len(texts) if prev is None else [float(b) for b in prev]
    if len(prev_bests) != len(texts):
        raise ValueError("prev_best_pass_rates must have one entry per completion")
    ran = iter(results)
    out = []
    for text, request, best in zip(texts, requests, prev_bests):
        result = next(ran) if request is not None else None
        rate = result.pass_rate if result is not None else None
        errors = result.sandbox_errors if result is not None else 0
        out.append(reward_from_pass_rate(text, rate, best, sandbox_errors=errors, **options))
    return out


async def score_batch_async(
    completions: Sequence[Any],
    tests: Sequence[Any],
    prev_best_pass_rates: Sequence[float] | None = None,
    *,
    executor: Any = None,
    comparators: Sequence[str | None] | None = None,
    validation: bool = False,
    require_think: bool = True,
    tokenizer: Any = None,
) -> list[RewardBreakdown]:
    """Rewards of many completions, their programs run concurrently on an async
    :class:`cobalt.sandbox.Executor` (a temporary one when None). ``tests[i]`` is a
    :class:`~cobalt.records.Tests` or its JSON form."""
    if executor is None:
        from cobalt.sandbox import Executor

        async with Executor() as temporary:
            return await score_batch_async(
                completions, tests, prev_best_pass_rates, executor=temporary, comparators=comparators,
                validation=validation, require_think=require_think, tokenizer=tokenizer,
            )  # fmt: skip
    texts = [completion_text(c) for c in completions]
    requests = _requests(texts, tests, comparators, require_think)
    results = await executor.run_all([r for r in requests if r is not None])
    options = {"validation": validation, "require_think": require_think, "tokenizer": tokenizer}
    return _combine(texts, requests, results, prev_best_pass_rates, **options)


def score_batch(
    completions: Sequence[Any],
    tests: Sequence[Any],
    prev_best_pass_rates: Sequence[float] | None = None,
    *,
    executor: Any = None,
    comparators: Sequence[str | None] | None = None,
    validation: bool = False,
    require_think: bool = True,
    tokenizer: Any = None,
) -> list[RewardBreakdown]:
    """:func:`score_batch_async` for synchronous callers (TRL calls reward functions so), on a
    :class:`cobalt.sandbox.SyncExecutor` (the process-wide default one when None)."""
    texts = [completion_text(c) for c in completions]
    requests = _requests(texts, tests, comparators, require_think)
    results = (executor or default_executor()).run_all([r for r in requests if r is not None])
    options = {"validation": validation, "require_think": require_think, "tokenizer": tokenizer}
    return _combine(texts, requests, results, prev_best_pass_rates, **options)


def score_breakdown(
    completion: str,
    tests: Any,
    prev_best_pass_rate: float = 0.0,
    *,
    validation: bool = False,
    require_think: bool = True,
    tokenizer: Any = None,
    executor: Any = None,
    comparator: str | None = None,
) -> RewardBreakdown:
    """The reward of one completion with its parts; arguments as for :func:`score`."""
    return score_batch(
        [completion], [tests], [prev_best_pass_rate], executor=executor, comparators=[comparator],
        validation=validation, require_think=require_think, tokenizer=tokenizer,
    )[0]  # fmt: skip


def score(
    completion: str,
    tests: Any,
    prev_best_pass_rate: float = 0.0,
    *,
    validation: bool = False,
    require_think: bool = True,
    tokenizer: Any = None,
    executor: Any = None,
    comparator: str | None = None,
) -> float:
    """The Cobalt reward of ``completion`` on ``tests`` (all of a problem's tests) given the best
    pass rate among the attempts in its prompt. ``tokenizer`` counts tokens for the length terms;
    ``executor`` is a :class:`cobalt.sandbox.SyncExecutor` to reuse (default: a shared one)."""
    return score_breakdown(
        completion, tests, prev_best_pass_rate, validation=validation, require_think=require_think,
        tokenizer=tokenizer, executor=executor, comparator=comparator,
    ).reward  # fmt: skip


_default: Any = None
_default_lock = threading.Lock()


def default_executor() -> Any:
    """A process-wide :class:`cobalt.sandbox.SyncExecutor`, closed at exit: default limits (4 s of
    CPU and 1 GiB per test) and a 30 s budget for a program's whole test list, as the reference."""
    global _default
    with _default_lock:
        if _default is None:
            from cobalt.sandbox import Limits, SandboxConfig, SyncExecutor

            _default = SyncExecutor(SandboxConfig(limits=Limits(program_budget_s=SUITE_BUDGET_S)))
            atexit.register(_default.close)
        return _default
