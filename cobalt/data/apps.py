r"""APPS rows, in the two shapes found in the wild.

* **MapCoder's selection** (``apps_selected150.jsonl``): ``name, description, difficulty, id,
  sample_io, test_list, starter_code``; each test is ``{"input": str, "output": [value]}``.
  Problems with an empty ``starter_code`` read stdin; the others are call-based, and MapCoder
  flattened their arguments to ``"\n".join(str(arg) for arg in args)``.
* **Original APPS** (``codeparrot/apps``): ``problem_id, question, solutions, input_output,
  starter_code, difficulty, url``: the same shape as raw TACO, converted by the same code.

Recovering call arguments from MapCoder's text is lossy, so the rules are explicit: the function
and its parameters come from ``starter_code``; each line is one argument, read as JSON, else as a Python
literal, else as a plain string; and when one argument position holds a plain string in any test,
that position is a string in every test (so ``"123"`` in a string-typed position stays a string).
A problem whose line count does not fit its parameters cannot be split and is dropped (counted).

Public tests: the ``sample_io`` tests (the statement's examples) first, then by Cobalt's public
rule; sample tests missing from ``test_list`` are added to the tests.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from functools import partial
from typing import Any

from cobalt.data.cleaning import Cleaning, Dropped, TestList, build_problem, guess_comparator
from cobalt.data.pipeline import candidates_from_rows, finish
from cobalt.data.report import LoadReport
from cobalt.data.rows import Row, iter_rows
from cobalt.data.taco import raw_taco_candidate
from cobalt.data.verify import Candidate
from cobalt.records import Problem

_SIGNATURE = re.compile(r"def\s+(\w+)\s*\(([^)]*)\)")
_RAW = object()  # marks an argument line that is neither JSON nor a Python literal


def signature(starter_code: str) -> tuple[str, int, int]:
    """``(function name, required parameters, all parameters)`` from a starter stub; ``self`` is
    not counted."""
    match = _SIGNATURE.search(starter_code)
    if match is None:
        raise Dropped("starter code has no function signature")
    params = [p.strip() for p in match[2].split(",") if p.strip()]
    params = [p for p in params if p.split(":")[0].strip() not in ("self", "/", "*")]
    required = [p for p in params if "=" not in p and not p.startswith("*")]
    return match[1], len(required), len(params)


def _literal(line: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        pass
    try:
        return ast.literal_eval(line)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _RAW


def _argument_lines(text: str, required: int, total: int) -> list[str]:
    lines = text.split("\n")
    if required <= len(lines) <= total:
        return lines
    if total == 1:
        return [text]
    raise Dropped("call arguments cannot be split by line")


def call_arguments(texts: list[str], required: int, total: int) -> list[str]:
    """Each test's argument text as one JSON value per line (see the module docstring); a test
    may leave out parameters that have defaults."""
    split = [_argument_lines(text, required, total) for text in texts]
    values = [[_literal(line) for line in lines] for lines in split]
    raw_positions = {k for row in values for k, value in enumerate(row) if value is _RAW}
    rendered = []
    for lines, row in zip(split, values):
        args = [lines[k] if k in raw_positions else value for k, value in enumerate(row)]
        try:
            rendered.append("\n".join(json.dumps(arg) for arg in args))
        except (TypeError, ValueError):
            raise Dropped("call argument is not JSON-representable") from None
    return rendered


def _tests(row: Row, field: str) -> list[tuple[str, Any]]:
    value = row.data.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise row.error(f"expected a list of tests, got {type(value).__name__}", field)
    pairs = []
    for index, case in enumerate(value):
        output = case.get("output") if isinstance(case, dict) else None
        if not isinstance(case, dict) or not isinstance(case.get("input"), str) or not isinstance(output, list):
            raise row.error("each test needs a string 'input' and an 'output' list", f"{field}[{index}]")
        if len(output) != 1:
            raise row.error(f"expected one output value, got {len(output)}", f"{field}[{index}].output")
        pairs.append((case["input"], output[0]))
    return pairs


def _mapcoder_candidate(row: Row, *, rules: Cleaning, report: LoadReport) -> Candidate:
    data = row.require("description", "test_list")
    samples = _tests(row, "sample_io")
    known = {text for text, _ in _tests(row, "test_list")}
    pairs = _tests(row, "test_list") + [pair for pair in samples if pair[0] not in known]
    sample_inputs = {text for text, _ in samples}
    starter = data.get("starter_code") or ""
    if starter.strip():
        fn_name, required, total = signature(starter)
        inputs = call_arguments([text for text, _ in pairs], required, total)
        try:
            outputs = [json.dumps(value) for _, value in pairs]
        except (TypeError, ValueError):
            raise Dropped("call-based output is not JSON-representable") from None
        tests = TestList(inputs, outputs, fn_name)
        examples = {inputs[i] for i, (text, _) in enumerate(pairs) if text in sample_inputs}
    else:
        if not all(isinstance(value, str) for _, value in pairs):
            raise Dropped("non-string tests")
        tests = TestList([text for text, _ in pairs], [value for _, value in pairs])
        examples = sample_inputs
    meta = {"starter_code": starter} if starter.strip() else {}
    if isinstance(data.get("name"), str):
        meta["name"] = data["name"]
    problem = build_problem(
        id=str(data.get("id", f"apps-{row.index}")),
        statement=str(data["description"]),
        tests=tests,
        rules=rules,
        report_note=report.note,
        example_inputs=examples,
        difficulty=None if data.get("difficulty") is None else str(data["difficulty"]),
        source="apps",
        comparator=None if tests.fn_name or not rules.detect_float else guess_comparator(tests.outputs),
        meta=meta,
    )
    return Candidate([problem])


def apps_candidate(row: Row, *, rules: Cleaning, report: LoadReport) -> Candidate:
    """Dispatch on the row's shape: MapCoder's (``test_list``) or the original (``input_output``)."""
    if isinstance(row.data, dict) and "test_list" in row.data:
        return _mapcoder_candidate(row, rules=rules, report=report)
    if isinstance(row.data, dict) and "input_output" in row.data:
        return raw_taco_candidate(row, rules=rules, report=report, dataset="apps")
    raise row.error("neither an APPS row with 'input_output' nor a MapCoder row with 'test_list'")


def load_apps(
    source: str,
    *,
    split: str | None = None,
    rules: Cleaning | None = None,
    verify: bool = False,
    sandbox=None,
    max_solutions: int = 16,
    skip_invalid: bool = False,
    report: LoadReport | None = None,
) -> Iterator[Problem]:
    """Problems from APPS rows (MapCoder's selection or the original dataset). ``verify`` applies
    to original rows, which carry solutions; MapCoder rows have none and would all be dropped."""
    rules = rules or Cleaning()
    report = report if report is not None else LoadReport(source="apps")
    convert = partial(apps_candidate, rules=rules, report=report)
    candidates = candidates_from_rows(iter_rows(source, split=split), convert, report, skip_invalid=skip_invalid)
    yield from finish(candidates, report, verify=verify, sandbox=sandbox, max_solutions=max_solutions)
