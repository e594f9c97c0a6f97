"""Parsing a completion and the format term of the reward (docs/paper.md §2.6, item 4).

A completion is split at its first ``</think>``: the *think* part before it, the *response* after
it (both stripped). Without ``</think>``, or when ``require_think=False``, the whole completion is
the response and the think part is empty.

Code extraction (:func:`find_program`) is the one parser the reward, the rollout and the
baselines share, so that the program a turn runs is the program its reward scores. It accepts what
the reference release accepts (a block opens with three backticks, an optional word tag and a
newline, and closes at the next three backticks; the body is stripped): a fence need not start a
line, and a closing fence may end a code line. It also follows the same parse as the format rules,
so that a completion that satisfies them is always scored on the one block they validated:

1. Only the response is searched (code written while thinking is never run); see
   :func:`extract_code`.
2. The last ```` ```python ```` fence whose block is closed (a later ```` ``` ````) wins; the rest
   of the fence line (``3`` in ```` ```python3 ````) is dropped.
3. Otherwise the last closed fenced block with any other tag (or none) is taken, as the reference
   release does; such a completion then breaks the format rules and pays the -0.9 penalty.
4. Otherwise there is no code (the reward's -1 branch; the rollout's no-code feedback). An
   unclosed block, typically a completion cut at the token limit, is no code. An empty closed
   block is an empty program (it runs, and fails), as in the reference.

Token counts use the tokenizer the caller passes (the reference used tiktoken ``o200k_base``,
which cannot be fetched offline); with none, a token is taken as 4 characters.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

THINK_END = "</think>"
PYTHON_FENCE = "```python"
CLOSING_FENCE = "\n```"

FORMAT_PENALTY = -0.9  # any format violation (§2.6.4)
REPEAT_MIN_LEN = 32  # a block of >= 32 characters ...
REPEAT_MIN_COUNT = 8  # ... repeated >= 8 times in a row is degenerate output (§2.6.4)
THINK_TOKENS = 4096  # length limits of the think part, the response and the post-code
RESPONSE_TOKENS = 2048  # explanation, in tokens (§2.6.4)
EXPLANATION_TOKENS = 512
LONG_CORRECT_PENALTY = -0.01  # a non-negative attempt that breaks a length limit (§2.6.4)
LONG_PENALTY = -0.1  # per broken length limit, for a failed attempt (§2.6.4)
THINK_BONUS = 0.075  # failed attempts earn up to 0.075 * tanh(think_tokens / 1024) (§2.6.4)
THINK_BONUS_SCALE_TOKENS = 1024
KEYWORDS = ("wait", "mistake", "however", "but", "retry", "error", "verify", "wrong", "evaluate")
KEYWORD_BONUS = 0.005  # per keyword present at most 4 times, capped at 0.025 (§2.6.4)
KEYWORD_MAX_COUNT = 4
KEYWORD_BONUS_CAP = 0.025
CHARS_PER_TOKEN = 4  # fallback token count without a tokenizer: the common ~4 characters per token

_ANY_BLOCK = re.compile(r"```\w*\n(.*?)```", re.DOTALL)
_KEYWORD_PATTERNS = [(word, re.compile(rf"\b{word}\b")) for word in KEYWORDS]


@dataclass(frozen=True)
class Parsed:
    """A completion cut into its parts, and the first format rule it breaks (None if none)."""

    think: str
    response: str
    code: str | None
    explanation: str
    violation: str | None


def count_tokens(text: str, tokenizer: Any = None) -> int:
    """Tokens in ``text``: a tiktoken encoding, a transformers/tokenizers tokenizer (no special
    tokens added), a callable returning a count, or None for ``ceil(len(text) / 4)``."""
    if not text:
        return 0
    if tokenizer is None:
        return math.ceil(len(text) / CHARS_PER_TOKEN)
    if hasattr(tokenizer, "encode_ordinary"):
        return len(tokenizer.encode_ordinary(text))
    if hasattr(tokenizer, "encode"):
        return len(tokenizer.encode(text, add_special_tokens=False))
    return int(tokenizer(text))


def has_repetition(text: str, min_len: int = REPEAT_MIN_LEN, min_count: int = REPEAT_MIN_COUNT) -> bool:
    r"""True when some block of ``L >= min_len`` characters occurs ``min_count`` times in a row.

    Same answer as searching ``(.{L})\1{min_count-1,}`` for every L (the reference), in about
    linear time per L: the repeat exists iff ``text[j] == text[j + L]`` holds on a run of
    ``(min_count - 1) * L`` positions, and any such run contains a stretch of
    ``(min_count - 2) * L`` positions starting at a multiple of L, so only those starts are tried.
    """
    if min_count < 3:
        raise ValueError("min_count must be at least 3")
    n = len(text)
    for period in range(min_len, n // min_count + 1):
        need, core = (min_count - 1) * period, (min_count - 2) * period
        probe = min(8, core)
        for start in range(0, n - period - core + 1, period):
            if text[start : start + probe] != text[start + period : start + period + probe]:
                continue
            if text[start : start + core] != text[start + period : start + period + core]:
                continue
            left = 0
            while left < period and start - left - 1 >= 0 and text[start - left - 1] == text[start - left - 1 + period]:
                left += 1
            right, end = 0, start + core
            while right < period and end + right + period < n and text[end + right] == text[end + right + period]:
                right += 1
            if core + left + right >= need:
                return True
    return False


def split_think(completion: str, require_think: bool = True) -> tuple[str, str]:
    """``(think, response)``: the parts before and after the first ``</think>``, stripped."""
    cut = completion.find(THINK_END) if require_think else -1
    if cut == -1:
        return "", completion.strip()
    return completion[:cut].strip(), completion[cut + len(THINK_END) :].strip()


def _python_block(response: str) -> str | None:
    """The code of the last closed ```` ```python ```` block of the response."""
    start = response.rfind(PYTHON_FENCE)
    while start != -1:
        line_end = response.find("\n", start + len(PYTHON_FENCE))
        close = response.find("```", line_end + 1) if line_end != -1 else -1
        if close != -1:
            return response[line_end + 1 : close].strip()
        start = response.rfind(PYTHON_FENCE, 0, start)
    return None


def find_program(text: str) -> str | None:
    """The program in ``text`` (rules 2 to 4 of the module docstring, the whole text searched), or None."""
    code = _python_block(text)
    if code is not None:
        return code
    blocks = _ANY_BLOCK.findall(text)
    return blocks[-1].strip() if blocks else None


def extract_code(completion: str, require_think: bool = True) -> str | None:
    """The program a completion submits: :func:`find_program` on its response (the text after the
    first ``</think>``; the whole completion without one or when ``require_think`` is false)."""
    return find_program(split_think(completion, require_think)[1])


def _violation(completion: str, response: str, require_think: bool) -> str | None:
    """The first format rule broken, checked in the reference's order."""
    if has_repetition(completion):
        return "repetition"
    if require_think and completion.count(THINK_END) != 1:
        return "missing </think>" if THINK_END not in completion else "repeated </think>"
    if response.count(PYTHON_FENCE) != 1:
        return "no ```python block" if PYTHON_FENCE not in response else "several ```python blocks"
    body_start = response.find(PYTHON_FENCE) + len(PYTHON_FENCE)
    body_end = response.find(CLOSING_FENCE, body_start)
    if body_end == -1:
        return "unclosed code block"
    if response[body_start:].count(CLOSING_FENCE) != 1:
        return "several closing fences"
    if "`" in response[body_start:body_end]:
        return "backtick in code"
    return None


def parse_completion(completion: str, require_think: bool = True) -> Parsed:
    """Split ``completion``, extract its code and find its first format violation."""
    think, response = split_think(completion, require_think)
    violation = _violation(completion, response, require_think)
    explanation = ""
    if violation is None:
        body_end = response.find(CLOSING_FENCE, response.find(PYTHON_FENCE) + len(PYTHON_FENCE))
        explanation = response[body_end + len(CLOSING_FENCE) :].strip()
    return Parsed(think, response, extract_code(completion, require_think), explanation, violation)


def keyword_bonus(think: str) -> float:
    """+0.005 per metacognitive keyword used 1 to 4 times (whole words, any case), at most 0.025."""
    lowered = think.lower()
    present = sum(1 for _, pattern in _KEYWORD_PATTERNS if 0 < len(pattern.findall(lowered)) <= KEYWORD_MAX_COUNT)
    return min(present * KEYWORD_BONUS, KEYWORD_BONUS_CAP)


def format_reward(parsed: Parsed, running_reward: float, *, require_think: bool = True, tokenizer: Any = None) -> float:
    """The format term (§2.6.4), given the reward so far (correctness with improvement)."""
    if parsed.violation is not None:
        return FORMAT_PENALTY
    think_tokens = count_tokens(parsed.think, tokenizer) if require_think else 0
    response_long = count_tokens(parsed.response, tokenizer) > RESPONSE_TOKENS
    explanation_long = count_tokens(parsed.explanation, tokenizer) > EXPLANATION_TOKENS
    if running_reward >= 0.0:
        too_long = think_tokens > THINK_TOKENS or response_long or explanation_long
        return LONG_CORRECT_PENALTY if too_long else 0.0
    value = 0.0
    if require_think and think_tokens <= THINK_TOKENS:
        value = THINK_BONUS * math.tanh(think_tokens / THINK_BONUS_SCALE_TOKENS) + keyword_bonus(parsed.think)
    elif require_think:
        value = LONG_PENALTY
    return value + LONG_PENALTY * response_long + LONG_PENALTY * explanation_long
