"""Rules shared by the loaders: which problems to keep, which tests to keep, and which tests are public.

The published TACO rules (docs/paper.md §4) are :meth:`Cleaning.taco`; other sources default to the
mild :class:`Cleaning` defaults and can opt into any rule.

Public/hidden split. The reference release chose as public the 4 tests that Qwen2.5-Coder-7B passed
most often in 16 attempts; that choice needs a model and a GPU, and ties the data to one model.
Cobalt's default rule, ``examples-then-shortest``, needs neither:

1. tests that appear as worked examples in the statement come first (a human reader sees them
   anyway, so showing them as feedback reveals nothing new);
2. then the tests with the shortest inputs (short inputs are, on average, the easy cases, and the
   feedback the model gets stays short and readable under the 400-character truncation);
3. ties keep the source order; at most half of the tests are public (never fewer hidden tests,
   which score the program, than public ones).

Other rules: ``shortest``, ``first`` (source order), ``random`` (seeded by the problem id).
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cobalt.records import Problem, Tests

PublicRule = Literal["examples-then-shortest", "shortest", "first", "random"]
PUBLIC_RULES: tuple[str, ...] = ("examples-then-shortest", "shortest", "first", "random")


class Dropped(Exception):
    """A cleaning rule rejected the problem; ``reason`` is the key it is counted under."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Cleaning(BaseModel):
    """Which problems and tests a loader keeps, and how it splits public from hidden tests."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_tests: int = Field(2, ge=1, description="Drop problems with fewer tests than this (before capping).")
    max_tests: int | None = Field(None, ge=2, description="Cap the tests per problem; None keeps all.")
    keep_shortest: int = Field(5, ge=0, description="When capping: keep this many shortest inputs, the rest longest.")
    min_alnum: int = Field(0, ge=0, description="Drop statements with fewer alphanumeric characters than this.")
    drop_image_refs: bool = Field(False, description="Drop statements that mention an image (published TACO rule).")
    num_public: int = Field(4, ge=0, description="Public tests per problem (fewer if the problem has few tests).")
    public_rule: PublicRule = Field("examples-then-shortest", description="How public tests are chosen.")
    cut_examples: bool = Field(False, description="Cut the statement before its first worked example.")
    detect_float: bool = Field(
        False,
        description="Give problems whose expected outputs hold decimal numbers the 'float' comparator "
        "(off: outputs are compared as text, as in the reference release).",
    )

    @classmethod
    def taco(cls, **overrides: object) -> Cleaning:
        """The published TACO-Cobalt rules: >= 8 tests, <= 20 kept (5 shortest + 15 longest inputs),
        >= 100 alphanumeric characters, no image references, 4 public tests."""
        values: dict[str, object] = {
            "min_tests": 8,
            "max_tests": 20,
            "keep_shortest": 5,
            "min_alnum": 100,
            "drop_image_refs": True,
        }
        return cls(**{**values, **overrides})


# --- statements ---------------------------------------------------------------------------------

# A line that opens the worked examples: "Example 1:", "Examples", "Sample Input 1", "-----Sample
# Input-----", "SAMPLE INPUT", "## Examples", "Input example". Matching only at the start of a
# line keeps sentences such as "For example, ..." in the statement.
EXAMPLE_MARKER = re.compile(
    r"^[ \t#*>\-]*(?:examples?\b|sample(?:s)?\b(?:\s*(?:input|test|case)s?\b)?|input\s+example\b)",
    re.IGNORECASE | re.MULTILINE,
)

# The same headings glued to the end of a sentence, as scraped statements have them (LiveCodeBench
# 1873_A: "...positive answer).Sample Input 1:"). Mid-line only the capitalised headings followed by a
# number or a colon count, so that prose ("see the sample input", "For example, ...") is never cut.
INLINE_EXAMPLE_MARKER = re.compile(r"(?:Sample Input|Example)(?:[ \t]*\d+)?[ \t]*:|Sample Input[ \t]*\d*[ \t]*$", re.M)


def examples_start(statement: str) -> int | None:
    """Index of the first example marker in ``statement`` (at a line start or glued mid-line), or None."""
    starts = [match.start() for match in [EXAMPLE_MARKER.search(statement)] if match]
    if inline := INLINE_EXAMPLE_MARKER.search(statement):
        starts.append(_inline_cut_point(statement, inline.start()))
    return min(starts) if starts else None


def _inline_cut_point(statement: str, start: int) -> int:
    """Where a mid-line marker cuts: right before it when it follows a finished sentence ("...).Sample
    Input 1:"), else at its line's start, so that a lead-in such as "For Example:" or "### Polydivisibility
    Example:" goes with the examples instead of dangling at the end of the statement."""
    line_start = statement.rfind("\n", 0, start) + 1
    before = statement[line_start:start].rstrip()
    return start if before.endswith((".", "!", "?", ")", "]", ":")) else line_start


def cut_before_examples(statement: str) -> tuple[str, bool]:
    """``statement`` up to its first worked example, and whether anything was cut."""
    start = examples_start(statement)
    if start is None or not statement[:start].strip():
        return statement.strip(), False
    return statement[:start].rstrip(), True


def has_image_reference(statement: str) -> bool:
    """The published rule: the word "image" anywhere (any case) or a markdown image. Broad on
    purpose: a statement that names an image almost always relies on a picture the model never sees."""
    return "image" in statement.lower() or "\n![" in statement


def alnum_count(text: str) -> int:
    """How many letters and digits ``text`` holds (any script), the measure of a statement's length."""
    return sum(1 for c in text if c.isalnum())


def _squash(text: str) -> str:
    return " ".join(text.split())


def example_test_indices(statement: str, inputs: list[str], outputs: list[str]) -> set[int]:
    """Tests whose input and expected output both appear (whitespace-insensitively) in the
    statement's examples section. Empty inputs never count: they would match anywhere."""
    start = examples_start(statement)
    if start is None:
        return set()
    section = _squash(statement[start:])
    found = set()
    for index, (stdin, expected) in enumerate(zip(inputs, outputs)):
        want_in, want_out = _squash(stdin), _squash(expected)
        if want_in and want_out and want_in in section and want_out in section:
            found.add(index)
    return found


# --- tests --------------------------------------------------------------------------------------


@dataclass
class TestList:
    """Tests as parallel lists while a loader works on them (``Tests`` is immutable)."""

    __test__ = False

    inputs: list[str]
    outputs: list[str]
    fn_name: str | None = None

    def __len__(self) -> int:
        return len(self.inputs)

    def select(self, indices: list[int]) -> Tests:
        """The immutable :class:`~cobalt.records.Tests` at ``indices``, in that order."""
        return Tests(
            inputs=[self.inputs[i] for i in indices], outputs=[self.outputs[i] for i in indices], fn_name=self.fn_name
        )


def cap_indices(inputs: list[str], max_tests: int, keep_shortest: int) -> list[int]:
    """Indices kept by the published cap: the ``keep_shortest`` shortest inputs plus the
    ``max_tests - keep_shortest`` longest, in the source order (ties broken by position)."""
    if len(inputs) <= max_tests:
        return list(range(len(inputs)))
    by_length = sorted(range(len(inputs)), key=lambda i: (len(inputs[i]), i))
    keep_shortest = min(keep_shortest, max_tests)
    longest = max_tests - keep_shortest
    chosen = set(by_length[:keep_shortest]) | set(by_length[len(by_length) - longest :] if longest else [])
    return sorted(chosen)


def public_indices(
    tests: TestList, *, num_public: int, rule: str, examples: set[int], key: str, eligible: set[int] | None = None
) -> tuple[list[int], list[int]]:
    """Split test indices into (public, hidden) by ``rule``. At most half of the tests are public, so
    that the hidden tests, which score the program, are never fewer than the public ones.

    ``eligible``: the only indices that may become public (None: all). A source whose tests are not
    all fit to be shown (CodeContests' generated tests) passes the ones that are."""
    pool = list(range(len(tests))) if eligible is None else sorted(eligible)
    count = min(num_public, len(tests) // 2, len(pool))
    order = _ranked(tests, pool, rule=rule, examples=examples, key=key)
    public = sorted(order[: max(count, 0)])
    chosen = set(public)
    return public, [i for i in range(len(tests)) if i not in chosen]


def _ranked(tests: TestList, pool: list[int], *, rule: str, examples: set[int], key: str) -> list[int]:
    """``pool`` in the order ``rule`` picks public tests from it."""
    order = list(pool)
    if rule == "examples-then-shortest":
        order.sort(key=lambda i: (i not in examples, len(tests.inputs[i]), i))
    elif rule == "shortest":
        order.sort(key=lambda i: (len(tests.inputs[i]), i))
    elif rule == "random":
        seed = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big")
        random.Random(seed).shuffle(order)
    elif rule != "first":
        raise ValueError(f"unknown public rule {rule!r}; choose one of {', '.join(PUBLIC_RULES)}")
    return order


def build_problem(
    *,
    id: str,
    statement: str,
    tests: TestList,
    rules: Cleaning,
    report_note,
    example_inputs: set[str] | None = None,
    difficulty: str | None = None,
    source: str | None = None,
    comparator: str | None = None,
    meta: dict | None = None,
    showable: int | None = None,
) -> Problem:
    """Apply ``rules`` to one problem and split its tests. Raises :class:`Dropped` with the reason.

    ``example_inputs``: inputs the source marks as examples; when None they are found in the
    statement. ``report_note(what)`` counts a change that kept the problem. ``showable``: only the
    first ``showable`` tests may become public (None: all); the rest are always hidden.
    """
    eligible = set(range(len(tests) if showable is None else showable))
    if len(tests) < rules.min_tests:
        raise Dropped(f"fewer than {rules.min_tests} tests")
    if rules.drop_image_refs and has_image_reference(statement):
        raise Dropped("statement refers to an image")
    if alnum_count(statement) < rules.min_alnum:
        raise Dropped(f"statement under {rules.min_alnum} alphanumeric characters")
    if rules.max_tests is not None and len(tests) > rules.max_tests:
        keep = cap_indices(tests.inputs, rules.max_tests, rules.keep_shortest)
        tests = TestList([tests.inputs[i] for i in keep], [tests.outputs[i] for i in keep], tests.fn_name)
        eligible = {new for new, old in enumerate(keep) if old in eligible}
        report_note(f"tests capped to {rules.max_tests}")
    if example_inputs is None:
        examples = example_test_indices(statement, tests.inputs, tests.outputs)
    else:
        examples = {i for i, text in enumerate(tests.inputs) if text in example_inputs}
    public, hidden = public_indices(
        tests, num_public=rules.num_public, rule=rules.public_rule, examples=examples, key=id, eligible=eligible
    )
    if rules.cut_examples:
        statement, cut = cut_before_examples(statement)
        report_note("statement cut before examples" if cut else "no example marker to cut at")
    return Problem(
        id=id,
        statement=statement.strip(),
        public_tests=tests.select(public),
        hidden_tests=tests.select(hidden),
        fn_name=tests.fn_name,
        difficulty=difficulty,
        source=source,
        comparator=comparator,
        meta=meta or {},
    )


_DECIMAL = re.compile(r"^[-+]?\d*\.\d+(?:[eE][-+]?\d+)?$")


def guess_comparator(outputs: list[str]) -> str | None:
    """``"float"`` when some expected output holds a decimal number (exact text comparison would
    reject a correct answer printed with other digits), else None (the executor's default)."""
    for text in outputs:
        if any(_DECIMAL.match(token) for token in text.split()):
            return "float"
    return None
