"""Comparators decide AC vs WA on real program output; each rule is one a judge user relies on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cobalt.sandbox.compare import (
    available_comparators,
    get_comparator,
    register_comparator,
    values_equal,
)


@pytest.mark.parametrize(
    ("name", "output", "expected", "equal"),
    [
        ("exact", "1 2\n", "1 2\n", True),
        ("exact", "1 2", "1 2\n", False),
        ("lines", "1 2  \n3\n\n\n", "1 2\n3\n", True),
        ("lines", "1 2\r\n3\r\n", "1 2\n3", True),
        ("lines", "1  2\n", "1 2\n", False),  # inner spacing matters
        ("lines", "1\n", "\n1\n", True),  # leading blank lines do not matter (TACO 1492B expects one)
        ("lines", " 1\n", "1\n", False),  # leading spaces on a line matter
        ("strip", "1 2\n3\n\n", "\n1 2\n3", True),  # the reference: whole-text strip
        ("strip", "1\r\n2\r\n", "1\n2\n", True),  # the output is read as a text-mode pipe reads it
        ("strip", "1 \n2\n", "1\n2\n", False),  # inner trailing spaces matter
        ("strip", "1  2\n", "1 2\n", False),
        ("strip", "  1\n", "1", True),
        ("lines", "2\n1\n", "1\n2\n", False),  # line order matters
        ("lines", "1\n", "1\n2\n", False),  # a missing line fails (no zip truncation)
        ("tokens", "1   2\n3", "1 2 3\n", True),
        ("tokens", "1 2", "1 2 3", False),
        ("float", "3.1622776601", "3.162277660", True),
        ("float", "1000000.5", "1000000.4", True),  # relative tolerance
        ("float", "0.0000011", "0.000001", True),  # absolute tolerance near zero
        ("float", "1.01", "1.0", False),
        ("float", "1 2", "1", False),
        ("float", "nan", "nan", True),
        ("float", "abc 1.0", "abc 1", True),
        ("case_insensitive", "YES\nno\n", "yes\nNO", True),
        ("case_insensitive", "YES", "YE", False),
    ],
)
def test_builtin_comparators(name, output, expected, equal):
    assert get_comparator(name)(output, expected, "") is equal


def test_float_tolerance_is_configurable():
    assert get_comparator("float", float_tol=1e-2)("1.009", "1.0", "")
    assert not get_comparator("float", float_tol=1e-3)("1.009", "1.0", "")


def test_registered_checker_sees_input_expected_and_output():
    calls = []

    def any_divisor(output: str, expected: str, test_input: str) -> bool:
        calls.append((output, expected, test_input))
        n, d = int(test_input), int(output)
        return 1 < d < n and n % d == 0

    register_comparator("any_divisor", any_divisor)
    checker = get_comparator("any_divisor")
    assert checker("3", "2", "12") and not checker("5", "2", "12")
    assert "any_divisor" in available_comparators()
    assert calls[0] == ("3", "2", "12")


def test_unknown_comparator_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown comparator 'fuzzy'"):
        get_comparator("fuzzy")


@pytest.mark.parametrize(
    ("got", "want", "equal"),
    [
        ([1, 2], [1, 2], True),
        ([1, 2], (1, 2), True),
        ([1, 2], [2, 1], False),
        (True, True, True),
        (True, 1, False),
        (1, True, False),
        (2, 2.0, True),
        (0.30000000000000004, 0.3, True),
        (0.31, 0.3, False),
        ({"1": [1]}, {1: [1]}, True),  # JSON object keys are strings
        ({"a": 1}, {"a": 1, "b": 2}, False),
        (None, None, True),
        (None, 0, False),
        ("1", 1, False),
        (10**400, 1.0, False),  # no OverflowError
    ],
)
def test_values_equal_is_structural(got, want, equal):
    assert values_equal(got, want) is equal


TACO_ROW = Path(__file__).parents[1] / "fixtures" / "sandbox" / "taco_card_1492B.jsonl"


@pytest.mark.parametrize("comparator", ["lines", "strip"])
def test_correct_solution_passes_a_real_test_whose_expected_output_starts_with_a_blank_line(run, comparator):
    row = json.loads(TACO_ROW.read_text())
    tests = json.loads(row["input_output"])
    solution = json.loads(row["solutions"])[1]
    assert tests["outputs"][3].startswith("\n") and tests["inputs"][3] == tests["inputs"][0]
    chosen = [tests["inputs"][0], tests["inputs"][3]], [tests["outputs"][0], tests["outputs"][3]]
    result = run(solution, *chosen, comparator=comparator)
    assert [v.value for v in result.verdicts] == ["AC", "AC"], result.feedback
