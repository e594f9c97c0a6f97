r"""Output comparators. They run in the trusted parent, on bytes the parent read itself.

A stdin/stdout comparator is ``fn(output: str, expected: str, test_input: str) -> bool``.
Built-in names:

* ``strip``: the reference pipeline's rule (``verl/remote_reward_server.py``):
  ``output.strip() == expected.strip()``, the output read as a text-mode pipe reads it (``\r\n``
  and ``\r`` as ``\n``). Whitespace *inside* the text counts: a trailing space on an inner line,
  or ``1 2`` against ``1  2``, is a wrong answer. The paper presets select it.
* ``exact``: byte-for-byte (after decoding).
* ``lines`` (default): ``\r\n`` as ``\n``, trailing whitespace of each line and leading and
  trailing blank lines ignored. It accepts everything ``strip`` accepts except output whose
  first or last line differs only by leading spaces (rare), and it also accepts the trailing
  spaces on inner lines that many accepted solutions print.
* ``tokens``: whitespace-separated tokens equal.
* ``float``: tokens equal, or both numbers within ``float_tol`` (absolute or relative).
* ``case_insensitive``: ``lines``, ignoring case (YES/NO problems).

Per-problem checkers (problems with several right answers) are registered with
:func:`register_comparator` and named in ``Problem.comparator``; they run in this process, so
register only code you trust.

Call-based problems compare the JSON return value structurally (:func:`values_equal`): a program
cannot pass by returning an object whose ``__eq__`` always says yes, because only plain JSON
values cross the sandbox boundary.
"""

from __future__ import annotations

import json
import math
from ast import literal_eval
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from pydantic import AfterValidator

Comparator = Callable[[str, str, str], bool]

_REGISTRY: dict[str, Callable[..., bool]] = {}


def register_comparator(name: str, fn: Callable[..., bool]) -> None:
    """Register ``fn(output, expected, test_input) -> bool`` under ``name``."""
    if not name or not callable(fn):
        raise ValueError("a comparator needs a non-empty name and a callable")
    _REGISTRY[name] = fn


def available_comparators() -> list[str]:
    """The registered comparator names, sorted."""
    return sorted(_REGISTRY)


def get_comparator(name: str, *, float_tol: float = 1e-6) -> Comparator:
    """The comparator registered under ``name`` (``float`` bound to ``float_tol``); an unknown name raises
    ``ValueError`` listing the known ones."""
    try:
        fn = _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown comparator {name!r}; choose one of {', '.join(available_comparators())}") from None
    return partial(fn, float_tol=float_tol) if name == "float" else fn


def known_comparator(name: str) -> str:
    """``name`` when a comparator is registered under it; otherwise ``ValueError`` listing the known ones."""
    get_comparator(name)
    return name


# A config field naming a comparator: an unknown name fails when the config is read, before anything runs.
ComparatorName = Annotated[str, AfterValidator(known_comparator)]


def normalized_lines(text: str) -> list[str]:
    """The lines of ``text`` as the ``lines`` comparator sees them: Windows line ends read as Unix ones,
    trailing whitespace of each line and leading and trailing blank lines removed."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    # Expected outputs that start with a blank line exist (TACO 1492B); stripping-based judges,
    # the reference's among them, accept the program that does not print it.
    start = 0
    while start < len(lines) and not lines[start]:
        start += 1
    return lines[start:]


def universal_newlines(text: str) -> str:
    r"""``text`` as a text-mode pipe (``subprocess.run(..., text=True)``) reads it: ``\r\n`` and ``\r`` are ``\n``."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def compare_strip(output: str, expected: str, test_input: str = "") -> bool:
    """The ``strip`` comparator, the reference pipeline's rule: ``output.strip() == expected.strip()``.

    The reference reads the program's stdout through a text-mode pipe, so the output's line ends are
    universal newlines first; the expected text is used as stored.
    """
    return universal_newlines(output).strip() == expected.strip()


def compare_exact(output: str, expected: str, test_input: str = "") -> bool:
    """The ``exact`` comparator: the texts are identical."""
    return output == expected


def compare_lines(output: str, expected: str, test_input: str = "") -> bool:
    """The default ``lines`` comparator: equal after :func:`normalized_lines`."""
    return normalized_lines(output) == normalized_lines(expected)


def compare_tokens(output: str, expected: str, test_input: str = "") -> bool:
    """The ``tokens`` comparator: the same whitespace-separated tokens, however they are spaced."""
    return output.split() == expected.split()


def compare_case_insensitive(output: str, expected: str, test_input: str = "") -> bool:
    """The ``case_insensitive`` comparator: :func:`compare_lines` after case folding (``Yes`` matches ``YES``)."""
    return normalized_lines(output.casefold()) == normalized_lines(expected.casefold())


def numbers_close(a: float, b: float, tol: float) -> bool:
    """Whether ``a`` is within ``tol`` of the expected ``b``: absolutely when ``|b| <= 1``, relatively above;
    NaN matches only NaN."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= tol * max(1.0, abs(b))


def _tokens_close(got: str, want: str, tol: float) -> bool:
    if got == want:
        return True
    try:
        return numbers_close(float(got), float(want), tol)
    except ValueError:
        return False


def compare_float(output: str, expected: str, test_input: str = "", *, float_tol: float = 1e-6) -> bool:
    """The ``float`` comparator: as many tokens, each pair equal as text or numbers within ``float_tol``
    (see :func:`numbers_close`)."""
    got, want = output.split(), expected.split()
    return len(got) == len(want) and all(_tokens_close(g, w, float_tol) for g, w in zip(got, want))


for _name, _fn in {
    "strip": compare_strip,
    "exact": compare_exact,
    "lines": compare_lines,
    "tokens": compare_tokens,
    "float": compare_float,
    "case_insensitive": compare_case_insensitive,
}.items():
    register_comparator(_name, _fn)


# --- call-based values -------------------------------------------------------------------------


def parse_expected_value(text: str) -> Any:
    """Expected return values are JSON; Python literals (``True``, tuples) are accepted too."""
    try:
        return json.loads(text)
    except ValueError:
        return literal_eval(text)


def values_equal(got: Any, want: Any, *, float_tol: float = 1e-9) -> bool:
    """Structural equality of plain JSON values: tuples equal lists, bools are not numbers,
    floats within ``float_tol`` (absolute or relative)."""
    if isinstance(want, tuple):
        want = list(want)
    if isinstance(got, bool) or isinstance(want, bool):
        return type(got) is type(want) and got == want
    if isinstance(got, (int, float)) and isinstance(want, (int, float)):
        if isinstance(got, int) and isinstance(want, int):
            return got == want
        try:
            return numbers_close(float(got), float(want), float_tol)
        except OverflowError:  # an int too large for a float cannot be close to a finite float
            return False
    if isinstance(got, list) and isinstance(want, list):
        return len(got) == len(want) and all(values_equal(g, w, float_tol=float_tol) for g, w in zip(got, want))
    if isinstance(got, dict) and isinstance(want, dict):
        want = {str(k): v for k, v in want.items()}  # JSON object keys are always strings
        return got.keys() == want.keys() and all(values_equal(got[k], want[k], float_tol=float_tol) for k in got)
    if isinstance(got, str) and isinstance(want, str):
        return got == want
    return got is None and want is None
