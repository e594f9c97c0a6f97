r"""TACO in three forms: TACO-Cobalt rows, TACO-Cobalt-PTB rows, and raw TACO / TACO-verified rows.

* **TACO-Cobalt** (``osunlp/TACO-Cobalt``): ``id, difficulty, question, instruction, test_cases,
  public_test_cases, hidden_test_cases``; test fields are JSON strings in the common format. The
  split is taken as published. ``instruction`` (the prompt text of the release) goes to
  ``meta["instruction"]``.
* **TACO-Cobalt-PTB** (``osunlp/TACO-Cobalt-PTB``): the same, plus ``perturbed_public_test_cases``
  and ``modified_test_cases``, which become a :class:`~cobalt.data.perturb.Perturbation`.
* **Raw TACO / TACO-verified** (``BAAI/TACO``, ``likaixin/TACO-verified``): ``question,
  input_output, solutions, starter_code, source, difficulty, ...``, cleaned with the published rules
  (:meth:`~cobalt.data.cleaning.Cleaning.taco`) and split by Cobalt's public rule.

Where Cobalt differs from the reference release, and why:

* Call-based problems stay call-based (``fn_name`` set; the executor calls the top-level function
  or ``Solution().fn`` and compares the JSON return value). The release instead appended
  ``print(Solution().fn(*input().split()))``, which passes every argument as a string and compares
  printed text; structured comparison cannot be fooled by formatting and needs no wrapper. The
  published "list-valued inputs and outputs joined with spaces" rule therefore applies to
  stdin/stdout problems only.
* Call-based outputs in the APPS/TACO convention are often wrapped in a one-element list. When
  every output of a problem is a one-element list they are unwrapped; with ``verify`` the wrapped
  reading is tried too, and the one a provided solution passes is kept.
* The 4 public tests are chosen by ``examples-then-shortest`` (see :mod:`cobalt.data.cleaning`)
  instead of by a 7B model's pass rates.
* GeeksforGeeks rows without ``fn_name`` are dropped (counted): their tests are the page's display
  text (``N = 5\nA[] = {...}``), which no stdin program can read. The release kept them.
* Outputs are compared as text unless ``detect_float`` is asked for, as in the release.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from typing import Any

from cobalt.data.cleaning import Cleaning, Dropped, TestList, build_problem, guess_comparator
from cobalt.data.perturb import META_KEY, Perturbation
from cobalt.data.pipeline import candidates_from_rows, finish
from cobalt.data.report import LoadReport
from cobalt.data.rows import Row, iter_rows, json_field
from cobalt.data.verify import Candidate
from cobalt.jsonl import InputError, validate
from cobalt.records import Problem, Tests

# --- TACO-Cobalt and TACO-Cobalt-PTB ------------------------------------------------------------


def _tests_field(row: Row, name: str) -> Tests:
    value = json_field(row, name)
    try:
        return validate(Tests, value, row.path, row.line)
    except InputError as err:
        raise row.error(err.message, name + (f".{err.field}" if err.field else "")) from None


def _row_id(row: Row, data: dict[str, Any], fallback: str) -> str:
    value = data.get("id", data.get("problem_id"))
    if value is None or value == "":
        return f"{fallback}-{row.index}"
    if not isinstance(value, (str, int)):
        raise row.error(f"id must be a string or an integer, got {type(value).__name__}", "id")
    return str(value)


def _perturbation(row: Row, public: Tests) -> Perturbation | None:
    data = row.data
    if data.get("perturbed_public_test_cases") is None and data.get("modified_test_cases") is None:
        return None
    perturbed = _tests_field(row, "perturbed_public_test_cases")
    modified = _tests_field(row, "modified_test_cases")
    if len(perturbed) != len(public):
        raise row.error(
            f"has {len(perturbed)} tests but public_test_cases has {len(public)}", "perturbed_public_test_cases"
        )
    if len(modified) != 2:
        raise row.error(f"must hold the 2 swapped tests, got {len(modified)}", "modified_test_cases")
    perturbed_pairs = set(zip(perturbed.inputs, perturbed.outputs))
    if not all(pair in perturbed_pairs for pair in zip(modified.inputs, modified.outputs)):
        raise row.error("the modified tests are not in perturbed_public_test_cases", "modified_test_cases")
    return Perturbation(seed=None, public_tests=perturbed, modified_tests=modified)


def _taco_cobalt_problem(row: Row, report: LoadReport) -> Candidate:
    data = row.require("question", "public_test_cases", "hidden_test_cases")
    if not isinstance(data["question"], str):
        raise row.error("must be a string", "question")
    public = _tests_field(row, "public_test_cases")
    hidden = _tests_field(row, "hidden_test_cases")
    if public.fn_name != hidden.fn_name:
        raise row.error("public and hidden tests name different functions", "hidden_test_cases.fn_name")
    if data.get("test_cases") is not None:
        full = _tests_field(row, "test_cases")
        if len(full) != len(public) + len(hidden):
            report.note("test_cases differs in length from public + hidden (public/hidden used)")
    meta: dict[str, Any] = {}
    if isinstance(data.get("instruction"), str) and data["instruction"].strip():
        meta["instruction"] = data["instruction"]
    perturbation = _perturbation(row, public)
    if perturbation is not None:
        meta[META_KEY] = perturbation.model_dump(mode="json")
    difficulty = data.get("difficulty")
    problem = Problem(
        id=_row_id(row, data, "taco-cobalt"),
        statement=data["question"].strip(),
        public_tests=public,
        hidden_tests=hidden,
        difficulty=None if difficulty is None else str(difficulty),
        source="taco-cobalt",
        meta=meta,
    )
    return Candidate([problem])


def load_taco_cobalt(
    source: str, *, split: str | None = None, skip_invalid: bool = False, report: LoadReport | None = None
) -> Iterator[Problem]:
    """Problems from TACO-Cobalt or TACO-Cobalt-PTB rows (a local JSONL/JSON/parquet file or
    directory, or a hub name such as ``osunlp/TACO-Cobalt`` when online)."""
    report = report if report is not None else LoadReport(source="taco")
    convert = partial(_taco_cobalt_problem, report=report)
    yield from finish(
        candidates_from_rows(iter_rows(source, split=split), convert, report, skip_invalid=skip_invalid), report
    )


# --- raw TACO ---------------------------------------------------------------------------------


def _stdin_text(value: Any) -> str:
    """One stdin test field as text: lists are joined with spaces (published rule); anything else
    that is not a string makes the tests malformed."""
    if isinstance(value, list):
        value = " ".join(map(str, value))
    if not isinstance(value, str):
        raise Dropped("non-string tests")
    return value


def _json_text(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        raise Dropped("call-based test value is not JSON") from None


def _call_inputs(inputs: list[Any]) -> list[str]:
    texts = []
    for args in inputs:
        if not isinstance(args, list):
            raise Dropped("call-based inputs are not argument lists")
        texts.append("\n".join(_json_text(arg) for arg in args))
    return texts


def _call_readings(fn_name: str, inputs: list[str], outputs: list[Any]) -> list[TestList]:
    """The unwrapped reading first (when every output is a one-element list), then the literal one."""
    literal = TestList(inputs, [_json_text(v) for v in outputs], fn_name)
    if outputs and all(isinstance(v, list) and len(v) == 1 for v in outputs):
        return [TestList(inputs, [_json_text(v[0]) for v in outputs], fn_name), literal]
    return [literal]


def _raw_tests(row: Row) -> list[TestList]:
    """The problem's tests, as one or more readings. Malformed tests are a drop (published rule)."""
    try:
        io = json_field(row, "input_output")
    except InputError:
        raise Dropped("malformed tests") from None
    if not isinstance(io, dict):
        raise Dropped("malformed tests")
    inputs, outputs = io.get("inputs"), io.get("outputs")
    if not isinstance(inputs, list) or not isinstance(outputs, list) or len(inputs) != len(outputs):
        raise Dropped("malformed tests")
    fn_name = io.get("fn_name") or None
    if fn_name is not None and not isinstance(fn_name, str):
        raise Dropped("malformed tests")
    if fn_name:
        return _call_readings(fn_name, _call_inputs(inputs), outputs)
    return [TestList([_stdin_text(v) for v in inputs], [_stdin_text(v) for v in outputs])]


def _solutions(row: Row) -> list[str]:
    try:
        value = json_field(row, "solutions", default=[])
    except InputError:
        return []
    return [s for s in value if isinstance(s, str)] if isinstance(value, list) else []


def raw_taco_candidate(row: Row, *, rules: Cleaning, report: LoadReport, dataset: str = "taco") -> Candidate:
    """One raw TACO/APPS row as a :class:`Candidate` (its readings and provided solutions)."""
    data = row.require("question", "input_output")
    if not isinstance(data["question"], str):
        raise row.error("must be a string", "question")
    readings = _raw_tests(row)
    _refuse_display_text(data, readings[0])
    problem_id = _row_id(row, data, dataset)
    meta: dict[str, Any] = {}
    for key, meta_key in (("starter_code", "starter_code"), ("source", "platform"), ("url", "url"), ("name", "name")):
        if isinstance(data.get(key), str) and data[key].strip():
            meta[meta_key] = data[key]
    difficulty = data.get("difficulty")
    problems = [
        build_problem(
            id=problem_id,
            statement=data["question"],
            tests=tests,
            rules=rules,
            report_note=report.note if index == 0 else lambda what: None,
            difficulty=None if difficulty is None else str(difficulty),
            source=dataset,
            comparator=None if tests.fn_name else _comparator(tests, rules),
            meta=meta,
        )
        for index, tests in enumerate(readings)
    ]
    return Candidate(problems, _solutions(row))


GFG_DISPLAY_TEXT = "geeksforgeeks tests without fn_name (display text, not stdin)"


def _refuse_display_text(data: dict[str, Any], tests: TestList) -> None:
    r"""GeeksforGeeks problems ask for a function, but the rows that lack ``fn_name`` hold the
    examples as the page shows them (``N = 5\nA[] = {1, 2, 3}``): read as stdin, no program could
    parse them, so every attempt would fail. Such rows are dropped and counted."""
    if tests.fn_name is None and str(data.get("source") or "").strip().lower() == "geeksforgeeks":
        raise Dropped(GFG_DISPLAY_TEXT)


def _comparator(tests: TestList, rules: Cleaning) -> str | None:
    return guess_comparator(tests.outputs) if rules.detect_float else None


def load_taco_raw(
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
    """Problems from raw TACO / TACO-verified rows, cleaned with ``rules`` (default: the published
    TACO rules). With ``verify``, problems that none of their provided solutions passes are dropped."""
    rules = rules or Cleaning.taco()
    report = report if report is not None else LoadReport(source="taco-raw")
    convert = partial(raw_taco_candidate, rules=rules, report=report)
    rows = iter_rows(source, split=split)
    candidates = candidates_from_rows(rows, convert, report, skip_invalid=skip_invalid)
    yield from finish(candidates, report, verify=verify, sandbox=sandbox, max_solutions=max_solutions)
