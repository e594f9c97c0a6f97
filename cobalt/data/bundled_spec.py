"""The bundled suite's language: filters, aggregates, input formats, phrasings, and a problem's
specification with the program it describes and an interpreter of that program.

The generator (:mod:`cobalt.data.bundled`) draws specifications, renders statements and programs
from them, and computes expected outputs with :func:`interpret` rather than by running code, so
that generating thousands of problems takes a second. The test suite checks, through the real
executor, that :func:`program` and :func:`interpret` agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# --- the building blocks ----------------------------------------------------------------------


@dataclass(frozen=True)
class FilterDef:
    """One filter: its condition as Python source, its phrasings, and whether it takes the constant ``k``."""

    condition: str  # Python condition on x, with {k} for the constant
    phrases: tuple[str, ...]  # "... the numbers that are {phrase}"
    uses_k: bool = False


FILTERS: dict[str, FilterDef] = {
    "all": FilterDef("", ()),
    "even": FilterDef("x % 2 == 0", ("even", "divisible by 2")),
    "odd": FilterDef("x % 2 == 1", ("odd", "not divisible by 2")),
    "gt": FilterDef("x > {k}", ("greater than {k}", "strictly larger than {k}"), True),
    "ge": FilterDef("x >= {k}", ("at least {k}", "greater than or equal to {k}"), True),
    "lt": FilterDef("x < {k}", ("less than {k}", "strictly smaller than {k}"), True),
    "div": FilterDef("x % {k} == 0", ("divisible by {k}", "multiples of {k}"), True),
}
# Filters that only wrong solutions use.
WRONG_FILTERS: dict[str, FilterDef] = {
    "le": FilterDef("x <= {k}", (), True),
    "ndiv": FilterDef("x % {k} != 0", (), True),
}
PREDICATES: dict[str, Callable[[int, int], bool]] = {
    "all": lambda x, k: True,
    "even": lambda x, k: x % 2 == 0,
    "odd": lambda x, k: x % 2 == 1,
    "gt": lambda x, k: x > k,
    "ge": lambda x, k: x >= k,
    "lt": lambda x, k: x < k,
    "le": lambda x, k: x <= k,
    "div": lambda x, k: x % k == 0,
    "ndiv": lambda x, k: x % k != 0,
}
FILTER_SENTENCES = (
    "Keep only the numbers that are {phrase}.",
    "Consider only the values that are {phrase} and ignore the rest.",
    "Look at the numbers that are {phrase}.",
)
ALL_SENTENCES = ("Use all of the numbers.", "Consider every number in the list.", "Keep every number.")


@dataclass(frozen=True)
class AggregateDef:
    """One aggregate: its expression as Python source, its phrasings, whether it prints a list or needs an
    empty-case marker, and ``compute``, which :func:`interpret` calls instead of running ``expression``."""

    expression: str  # Python expression over ys (scalars) or the list to print (lists)
    phrases: tuple[str, ...]
    is_list: bool = False
    needs_marker: bool = False  # undefined on an empty list: a marker is printed instead
    compute: Callable[[list[int]], Any] = lambda ys: None


def _product(ys: list[int]) -> int:
    result = 1
    for y in ys:
        result *= y
    return result


AGGREGATES: dict[str, AggregateDef] = {
    "sum": AggregateDef("sum(ys)", ("Print their sum.", "Output the total of these numbers."), compute=sum),
    "count": AggregateDef("len(ys)", ("Print how many there are.", "Output the number of such values."), compute=len),
    "max": AggregateDef(
        "max(ys)", ("Print the largest of them.", "Output the maximum among them."), needs_marker=True, compute=max
    ),
    "min": AggregateDef(
        "min(ys)", ("Print the smallest of them.", "Output the minimum among them."), needs_marker=True, compute=min
    ),
    "first": AggregateDef(
        "ys[0]",
        ("Print the first of them in input order.", "Output the earliest of them in the input."),
        needs_marker=True,
        compute=lambda ys: ys[0],
    ),
    "last": AggregateDef(
        "ys[-1]",
        ("Print the last of them in input order.", "Output the one of them that appears last in the input."),
        needs_marker=True,
        compute=lambda ys: ys[-1],
    ),
    "range": AggregateDef(
        "max(ys) - min(ys)",
        ("Print the largest of them minus the smallest.", "Output the difference between their maximum and minimum."),
        needs_marker=True,
        compute=lambda ys: max(ys) - min(ys),
    ),
    "sumsq": AggregateDef(
        "sum(x * x for x in ys)",
        ("Print the sum of their squares.", "Output the total of their squared values."),
        compute=lambda ys: sum(x * x for x in ys),
    ),
    "product": AggregateDef(
        "math.prod(ys)",
        ("Print their product.", "Output the result of multiplying them all together."),
        compute=_product,
    ),
    "keep": AggregateDef(
        "ys",
        ("Print them in their original order.", "Output them in the order they were given."),
        is_list=True,
        compute=list,
    ),
    "reversed": AggregateDef(
        "ys[::-1]",
        ("Print them in reverse order.", "Output them from last to first."),
        is_list=True,
        compute=lambda ys: ys[::-1],
    ),
    "sorted_asc": AggregateDef(
        "sorted(ys)",
        ("Print them sorted in increasing order.", "Output them from smallest to largest."),
        is_list=True,
        compute=sorted,
    ),
    "sorted_desc": AggregateDef(
        "sorted(ys, reverse=True)",
        ("Print them sorted in decreasing order.", "Output them from largest to smallest."),
        is_list=True,
        compute=lambda ys: sorted(ys, reverse=True),
    ),
    "distinct": AggregateDef(
        "list(dict.fromkeys(ys))",
        ("Print them without repeats, keeping the first occurrence of each.", "Output each distinct value once."),
        is_list=True,
        compute=lambda ys: list(dict.fromkeys(ys)),
    ),
}
SORTED_UNSTATED = ("Print them in sorted order.", "Output them sorted.")

INPUT_FORMATS: dict[str, tuple[str, ...]] = {
    "line": (
        "The input is one line of integers separated by spaces.",
        "You are given a single line containing integers separated by spaces.",
    ),
    "count": (
        "The first line contains n. The second line contains n integers separated by spaces.",
        "Line one holds a count n; line two holds n integers separated by spaces.",
    ),
    "lines": (
        "The first line contains n, followed by n lines with one integer each.",
        "You get a count n on the first line, then n integers, one per line.",
    ),
}
READ_CODE = {
    "line": "xs = list(map(int, input().split()))",
    "count": "n = int(input())\nxs = list(map(int, input().split()))",
    "lines": "n = int(input())\nxs = [int(input()) for _ in range(n)]",
}
LAYOUTS = {
    "space": ("Print them on one line, separated by spaces.", "Separate the numbers with single spaces."),
    "newline": ("Print each number on its own line.", "Write one number per line."),
}
SEPARATOR = {"space": " ", "newline": "\n"}
MARKERS: tuple[int | str, ...] = (-1, 0, 100, "NONE", "EMPTY", "NO")
MARKER_STATED = ("If no number is left, print {marker} instead.", "When nothing is left, output {marker}.")
MARKER_UNSTATED = (
    "If no number is left, print the special marker instead.",
    "When nothing is left, output the agreed marker.",
)

# --- a problem's specification, its program and its interpreter -------------------------------


@dataclass(frozen=True)
class Spec:
    """Everything that determines a program's behaviour. Wrong solutions are mutated specs."""

    input_format: str
    filter: str
    k: int
    aggregate: str
    layout: str | None = None  # list aggregates only
    marker: int | str | None = None  # marker aggregates only
    read_as: str | None = None  # mutation: read the input as another format
    skip_first: bool = False  # mutation: off-by-one, the first number is never looked at
    guard: bool = True  # mutation when False: no empty-case guard (crashes on an empty list)


def _literal(value: int | str) -> str:
    return repr(value)


def program(spec: Spec) -> str:
    """The Python program that ``spec`` describes (short and regular on purpose)."""
    aggregate = AGGREGATES[spec.aggregate]
    lines = ["import math"] if "math." in aggregate.expression else []
    lines.append(READ_CODE[spec.read_as or spec.input_format])
    source = "xs[1:]" if spec.skip_first else "xs"
    if spec.filter == "all":
        lines.append(f"ys = {source}")
    else:
        condition = {**FILTERS, **WRONG_FILTERS}[spec.filter].condition.format(k=spec.k)
        lines.append(f"ys = [x for x in {source} if {condition}]")
    if aggregate.is_list:
        lines.append(f"print({SEPARATOR[spec.layout or 'space']!r}.join(map(str, {aggregate.expression})))")
    elif aggregate.needs_marker and spec.guard:
        lines.append(f"print({aggregate.expression} if ys else {_literal(spec.marker)})")
    else:
        lines.append(f"print({aggregate.expression})")
    return "\n".join(lines) + "\n"


class _Crash(Exception):
    pass


def _stdin_lines(stdin: str) -> list[str]:
    lines = stdin.split("\n")
    return lines[:-1] if stdin.endswith("\n") else lines


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise _Crash from None


def _read(fmt: str, stdin: str) -> list[int]:
    lines = _stdin_lines(stdin)

    def line(i: int) -> str:
        if i >= len(lines):
            raise _Crash  # input() at the end of input raises EOFError
        return lines[i]

    if fmt == "line":
        return [_int(t) for t in line(0).split()]
    n = _int(line(0))
    if fmt == "count":
        return [_int(t) for t in line(1).split()]
    return [_int(line(1 + i)) for i in range(n)]


def interpret(spec: Spec, stdin: str) -> str | None:
    """What ``program(spec)`` prints on ``stdin``, or None where it would crash."""
    try:
        xs = _read(spec.read_as or spec.input_format, stdin)
    except _Crash:
        return None
    if spec.skip_first:
        xs = xs[1:]
    keep = PREDICATES[spec.filter]
    ys = [x for x in xs if keep(x, spec.k)]
    aggregate = AGGREGATES[spec.aggregate]
    if aggregate.is_list:
        return SEPARATOR[spec.layout or "space"].join(map(str, aggregate.compute(ys))) + "\n"
    if aggregate.needs_marker and not ys:
        return None if not spec.guard else f"{spec.marker}\n"
    return f"{aggregate.compute(ys)}\n"


def same_output(a: str | None, b: str | None) -> bool:
    """Equality under the executor's ``lines`` comparator (trailing spaces and blank lines ignored)."""
    if a is None or b is None:
        return False

    def norm(text: str) -> list[str]:
        lines = [line.rstrip() for line in text.split("\n")]
        while lines and not lines[-1]:
            lines.pop()
        return lines

    return norm(a) == norm(b)


def render_input(fmt: str, xs: list[int]) -> str:
    """The stdin text that gives the list ``xs`` in input format ``fmt`` (``line``, ``count`` or ``lines``)."""
    if fmt == "line":
        return " ".join(map(str, xs)) + "\n"
    if fmt == "count":
        return f"{len(xs)}\n" + " ".join(map(str, xs)) + "\n"
    return f"{len(xs)}\n" + "".join(f"{x}\n" for x in xs)
