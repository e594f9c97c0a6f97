"""Code extraction, each format rule, and the length and shaping terms at their thresholds (§2.6.4).

Token counts come from a word-level tokenizer: ``w0 w1 w2`` is 3 tokens, and the response
```` ```python\\nprint(1)\\n``` ```` is 7 (```` ``` ````, python, print, (, 1, ), ```` ``` ````).
"""

from __future__ import annotations

import random
import re
import time

import pytest

from cobalt.reward import (
    RewardOptions,
    count_tokens,
    extract_code,
    has_repetition,
    parse_completion,
    reward_from_pass_rate,
)


def words(n: int, stem: str = "w") -> str:
    """``n`` distinct words: n tokens for the word tokenizer, never a repeated block."""
    return " ".join(f"{stem}{i}" for i in range(n))


def text_of_length(n: int) -> str:
    """Exactly ``n`` characters of non-repetitive text with no space at either end."""
    text = words(n // 2 + 2, "t")[:n]
    return text[:-1] + "x" if text.endswith(" ") else text


def completion(think: str = "", code: str = "print(1)", explanation: str = "") -> str:
    return f"{think}\n</think>\n```python\n{code}\n```\n{explanation}"


@pytest.mark.parametrize(
    ("text", "require_think", "code"),
    [
        ("</think>\n```python\nx = 1\n```", True, "x = 1"),
        ("```python\nx = 1\n```", True, "x = 1"),  # no </think>: the whole text is searched
        ("```python\nin_think = 1\n```\n</think>\nno code here", True, None),  # thinking is never run
        ("```python\nin_think = 1\n```\n</think>\nno code here", False, "in_think = 1"),
        ("</think>\n```python3\nx = 3\n```", True, "x = 3"),  # rest of the fence line dropped
        ("</think>\n```python\na = 1\n```\n```python\nb = 2\n```", True, "b = 2"),  # last python block
        ("</think>\n```python\na = 1\n```\n```python\nb = 2", True, "a = 1"),  # last one unclosed
        ("</think>\n```\nfoo\n```python\ncode = 1\n```", True, "code = 1"),  # a python block wins
        ("</think>\n```python\ncode = 1\n```\n```text\nout\n```", True, "code = 1"),
        ("</think>\n```py\nx = 1\n```", True, "x = 1"),  # other tags: last block, as the reference
        ("</think>\n```\nx = 1\n```", True, "x = 1"),
        ("</think>\n```python\nx = 1", True, None),  # unclosed: no code
        ("</think>\n```python\n```", True, ""),  # an empty block is (empty) code
        ("just words", True, None),
    ],
)
def test_extract_code(text: str, require_think: bool, code: str | None) -> None:
    assert extract_code(text, require_think) == code


def test_a_valid_completion_runs_the_block_its_format_check_validated() -> None:
    text = "think\n</think>\nHere:\n```python3\nprint(input())\n```\nIt echoes."
    parsed = parse_completion(text)
    assert parsed.violation is None
    assert (parsed.think, parsed.code, parsed.explanation) == ("think", "print(input())", "It echoes.")


BLOCK_32 = "abcdefghijklmnopqrstuvwxyz012345"


@pytest.mark.parametrize(
    ("text", "require_think", "violation"),
    [
        (completion("ok"), True, None),
        (completion(BLOCK_32 * 8), True, "repetition"),
        (completion(BLOCK_32 * 7), True, None),  # 7 repeats are fine
        (completion(BLOCK_32[:31] * 8), True, None),  # a 31-character block is fine
        ("```python\nprint(1)\n```", True, "missing </think>"),
        ("```python\nprint(1)\n```", False, None),
        ("a</think>b</think>\n```python\nprint(1)\n```", True, "repeated </think>"),
        ("</think>\n```py\nprint(1)\n```", True, "no ```python block"),
        ("</think>\n```python\nprint(1)\n```\n```python\nprint(2)\n```", True, "several ```python blocks"),
        ("</think>\n```python\nprint(1)```", True, "unclosed code block"),
        ("</think>\n```python\nprint(1)\n```\nthen\n```", True, "several closing fences"),
        ("</think>\n```python\nprint('`')\n```", True, "backtick in code"),
    ],
)
def test_format_violations(text: str, require_think: bool, violation: str | None) -> None:
    parsed = parse_completion(text, require_think)
    assert parsed.violation == violation
    assert parsed.code is not None  # every one of them still has code to run...
    expected = 1.0 if violation is None else 1.0 - 0.9  # ...so its reward is the tier plus -0.9
    reward = reward_from_pass_rate(text, 1.0, 0.0, RewardOptions(require_think=require_think)).reward
    assert reward == pytest.approx(expected, abs=1e-12)


def reference_repetition(text: str, min_len: int, count: int) -> bool:
    """The published check, a backreference search for every block length."""
    return any(
        re.search(rf"(.{{{size}}})\1{{{count - 1},}}", text, flags=re.DOTALL)
        for size in range(min_len, len(text) // count + 1)
    )


def test_repetition_check_agrees_with_the_backreference_search() -> None:
    rng = random.Random(5)
    for _ in range(3000):
        text = "".join(rng.choice("ab" if rng.random() < 0.7 else "abc") for _ in range(rng.randint(0, 50)))
        if text and rng.random() < 0.5:
            block = text[: rng.randint(1, 6)]
            cut = rng.randint(0, len(text))
            text = text[:cut] + block * rng.randint(2, 7) + text[cut:]
        min_len, count = rng.choice([1, 2, 3]), rng.choice([3, 4, 5])
        assert has_repetition(text, min_len, count) == reference_repetition(text, min_len, count), (text, min_len)


def test_repetition_check_is_fast_on_long_completions() -> None:
    text = words(6000)  # about 40 000 characters, no repeat
    start = time.perf_counter()
    assert not has_repetition(text)
    assert time.perf_counter() - start < 2.0


def test_count_tokens_sources(word_tokenizer) -> None:
    class Tiktokenish:
        def encode_ordinary(self, text: str) -> list[int]:
            return list(range(len(text.split())))

    assert count_tokens("", word_tokenizer) == 0
    assert count_tokens("abcd") == 1  # fallback: 4 characters a token, rounded up
    assert count_tokens("abcde") == 2
    assert count_tokens("a, b", word_tokenizer) == 3  # no special tokens added
    assert count_tokens("x y z", Tiktokenish()) == 3
    assert count_tokens("anything", lambda text: 7) == 7


# Non-negative running reward (p = 1): 0, or -0.01 once any length limit is broken.
@pytest.mark.parametrize(
    ("think", "code", "explanation", "expected"),
    [
        (words(4096), "print(1)", "", 1.0),
        (words(4097), "print(1)", "", 0.99),
        ("", "print(1)", words(512, "e"), 1.0),  # response 7 + 512 tokens
        ("", "print(1)", words(513, "e"), 0.99),
        ("", "print(1)\n# " + words(2040), "", 1.0),  # response 8 + 2040 = 2048 tokens
        ("", "print(1)\n# " + words(2041), "", 0.99),  # 2049
    ],
)
def test_length_limits_when_the_attempt_is_not_negative(think, code, explanation, expected, word_tokenizer) -> None:
    text = completion(think, code, explanation)
    assert reward_from_pass_rate(text, 1.0, 0.0, RewardOptions(tokenizer=word_tokenizer)).reward == pytest.approx(
        expected, abs=1e-12
    )


# Negative running reward (p = 0, b = 0: -0.1): shaping bonus and -0.1 per broken limit.
@pytest.mark.parametrize(
    ("think", "code", "explanation", "fmt"),
    [
        ("", "print(1)", "", 0.0),  # 0.075 * tanh(0)
        (words(1024), "print(1)", "", 0.057119561696682364),  # 0.075 * tanh(1)
        (words(4096), "print(1)", "", 0.07494969748043002),  # 0.075 * tanh(4)
        (words(4097), "print(1)", "", -0.1),
        ("", "print(1)\n# " + words(2041), "", -0.1),
        ("", "print(1)", words(513, "e"), -0.1),
        (words(4097), "print(1)\n# " + words(2041), words(513, "e"), -0.3),
        ("wait, but however: retry verify", "print(1)", "", 0.0005126873265581959 + 0.025),  # 7 tokens, 5 words
        ("wait but however retry verify error", "print(1)", "", 0.00043944809592716085 + 0.025),  # capped
        ("wait wait wait wait", "print(1)", "", 0.0002929672598929755 + 0.005),  # 4 uses count
        ("wait wait wait wait wait", "print(1)", "", 0.00036620802714470963),  # 5 uses do not
        ("Wait errors evaluated", "print(1)", "", 0.0002197259338594204 + 0.005),  # whole words, any case
    ],
)
def test_shaping_of_failed_attempts(think, code, explanation, fmt, word_tokenizer) -> None:
    parts = reward_from_pass_rate(
        completion(think, code, explanation), 0.0, 0.0, RewardOptions(tokenizer=word_tokenizer)
    )
    assert parts.format == pytest.approx(fmt, abs=1e-12)
    assert parts.reward == pytest.approx(-0.1 + fmt, abs=1e-12)


def test_fallback_token_count_at_the_think_limit() -> None:
    # Without a tokenizer 4 characters make a token: 16 384 characters are 4096 tokens.
    assert reward_from_pass_rate(completion(text_of_length(16384)), 1.0, 0.0).reward == 1.0
    assert reward_from_pass_rate(completion(text_of_length(16385)), 1.0, 0.0).reward == pytest.approx(0.99)


def test_models_that_do_not_think(word_tokenizer) -> None:
    text = words(1024) + "\n```python\nprint(1)\n```"
    # The preamble is response, not thinking: no </think> rule, no bonus for a failed attempt.
    parts = reward_from_pass_rate(text, 0.0, 0.0, RewardOptions(require_think=False, tokenizer=word_tokenizer))
    assert (parts.violation, parts.format, parts.reward) == (None, 0.0, -0.1)
    assert reward_from_pass_rate(text, 0.0, 0.0, RewardOptions(require_think=True)).violation == "missing </think>"
    long = words(2042) + "\n```python\nprint(1)\n```"  # response 2042 + 7 = 2049 tokens
    assert (
        reward_from_pass_rate(long, 0.0, 0.0, RewardOptions(require_think=False, tokenizer=word_tokenizer)).format
        == -0.1
    )


def test_code_only_inside_thinking_is_no_code() -> None:
    text = "```python\nprint(1)\n```\n</think>\nThe answer is above."
    assert reward_from_pass_rate(text, None if extract_code(text) is None else 1.0, 0.0).reward == -1.0
