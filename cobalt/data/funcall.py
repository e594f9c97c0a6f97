"""Function-call benchmarks whose tests are Python assertions: MBPP(+) and HumanEval(+).

Their tests are code (``assert f(1, 2) == 3``, or ``check(candidate)``), not input/output pairs.
An assertion becomes a call-based test when it has the exact form ``f(<literals>) == <literal>``
(either side); anything else (``math.isclose``, ``set(...) ==``, loops) is skipped and counted,
because turning arbitrary test code into data would mean guessing its intent. EvalPlus
"OriginFmt" files embed ``inputs = [...]`` and ``results = [...]``; when both are present they are
used instead of the assertions.

* **MBPP** rows: ``task_id, text, code, test_list, test_setup_code, challenge_test_list``. The
  statement is ``text``; the function's ``def`` line goes to ``meta["starter_code"]`` (MBPP's text
  does not name the function); ``code`` is the reference solution.
* **HumanEval** rows: ``task_id, prompt, entry_point, canonical_solution, test``. The statement is
  the prompt (signature and docstring); ``prompt + canonical_solution`` is the reference solution.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from functools import partial
from typing import Any

from cobalt.data.cleaning import Cleaning, Dropped, TestList, build_problem
from cobalt.data.pipeline import candidates_from_rows, finish
from cobalt.data.report import LoadReport
from cobalt.data.rows import Row, iter_rows
from cobalt.data.verify import Candidate
from cobalt.records import Problem

_UNSUPPORTED = "assertion is not f(literals) == literal (skipped)"


def _literal(node: ast.expr) -> Any:
    value = ast.literal_eval(node)
    json.dumps(value)  # only JSON-representable values can cross the sandbox boundary
    return value


def _call_test(node: ast.stmt, names: set[str]) -> tuple[str, list[Any], Any] | None:
    """``(called name, args, expected)`` for ``assert name(args) == expected``, else None."""
    if not isinstance(node, ast.Assert) or not isinstance(node.test, ast.Compare):
        return None
    compare = node.test
    if len(compare.ops) != 1 or not isinstance(compare.ops[0], ast.Eq):
        return None
    for call, expected in ((compare.left, compare.comparators[0]), (compare.comparators[0], compare.left)):
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in names:
            if call.keywords:
                return None
            try:
                return call.func.id, [_literal(arg) for arg in call.args], _literal(expected)
            except (ValueError, TypeError, SyntaxError, RecursionError):
                return None
    return None


def _embedded_cases(tree: ast.Module) -> tuple[list[Any], list[Any]] | None:
    """EvalPlus OriginFmt: module- or function-level ``inputs = [...]`` and ``results = [...]``."""
    found: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in ("inputs", "results") and name not in found:
                try:
                    found[name] = ast.literal_eval(node.value)
                except (ValueError, TypeError, SyntaxError, RecursionError):
                    return None
    inputs, results = found.get("inputs"), found.get("results")
    if isinstance(inputs, list) and isinstance(results, list) and len(inputs) == len(results):
        return inputs, results
    return None


def _tests_from_asserts(statements: list[ast.stmt], names: set[str], report: LoadReport) -> list[tuple[list, Any]]:
    cases = []
    for node in statements:
        parsed = _call_test(node, names)
        if parsed is None:
            if isinstance(node, ast.Assert):
                report.note(_UNSUPPORTED)
            continue
        cases.append((parsed[1], parsed[2]))
    return cases


def _to_tests(fn_name: str, cases: list[tuple[list, Any]]) -> TestList:
    inputs, outputs = [], []
    for args, expected in cases:
        try:
            text, want = "\n".join(json.dumps(arg) for arg in args), json.dumps(expected)
        except (TypeError, ValueError):
            continue  # a set or another value with no JSON form: the test cannot be compared
        inputs.append(text)
        outputs.append(want)
    return TestList(inputs, outputs, fn_name)


def _parse(row: Row, text: str, field: str) -> ast.Module:
    try:
        return ast.parse(text)
    except SyntaxError as err:
        raise row.error(f"not valid Python ({err.msg}, line {err.lineno})", field) from None


def _signature_line(code: str, fn_name: str) -> str | None:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == fn_name:
            return f"def {fn_name}({ast.unparse(node.args)}):"
    return None


def _float_comparator(tests: TestList, rules: Cleaning) -> str | None:
    """``"float"`` when the user asked for it (``detect_float``) and some expected return value is a
    non-integer number; otherwise None, the executor's default comparison."""
    if not rules.detect_float:
        return None
    numeric = (out for out in tests.outputs if out[:1] in "-0123456789")
    return "float" if any("." in out or "e" in out.lower() for out in numeric) else None


def _mbpp_candidate(row: Row, *, rules: Cleaning, report: LoadReport) -> Candidate:
    data = row.require("code", "test_list")
    text = data.get("prompt") or data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise row.error("missing the problem text ('text' in MBPP, 'prompt' in MBPP+)", "text")
    if not isinstance(data["test_list"], list) or not all(isinstance(t, str) for t in data["test_list"]):
        raise row.error("expected a list of assertion strings", "test_list")
    statements = [stmt for text in data["test_list"] for stmt in _parse(row, text, "test_list").body]
    calls = [c for c in (_call_test(s, {n.func.id for n in ast.walk(s) if _is_named_call(n)}) for s in statements) if c]
    names = {name for name, _, _ in calls}
    test_tree = _parse(row, str(data["test"]), "test") if data.get("test") else None
    embedded = _embedded_cases(test_tree) if test_tree else None
    if embedded and len(names) != 1:
        names = _splat_called(test_tree)  # MBPP+ calls the function as f(*inp)
    if len(names) != 1:
        raise Dropped("tests do not call exactly one function")
    fn_name = names.pop()
    cases = list(zip(*embedded)) if embedded else _tests_from_asserts(statements, {fn_name}, report)
    meta: dict[str, Any] = {"reference_solution": data["code"]}
    if signature := _signature_line(data["code"], fn_name):
        meta["starter_code"] = signature
    tests = _to_tests(fn_name, [(list(a) if isinstance(a, (list, tuple)) else [a], e) for a, e in cases])
    problem = build_problem(
        id=f"mbpp/{data.get('task_id', row.index)}",
        statement=text,
        tests=tests,
        rules=rules,
        report_note=report.note,
        example_inputs=set(),
        source="mbpp",
        comparator=_float_comparator(tests, rules),
        meta=meta,
    )
    setup = data.get("test_setup_code") or ""
    return Candidate([problem], [setup + "\n" + data["code"]])


def _splat_called(tree: ast.Module | None) -> set[str]:
    """Names called as ``f(*args)`` in the test code (how EvalPlus calls the function under test)."""
    return {
        node.func.id
        for node in ast.walk(tree or ast.Module(body=[], type_ignores=[]))
        if _is_named_call(node) and any(isinstance(arg, ast.Starred) for arg in node.args)
    }


def _is_named_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name)


def _humaneval_candidate(row: Row, *, rules: Cleaning, report: LoadReport) -> Candidate:
    data = row.require("task_id", "prompt", "entry_point", "test")
    fn_name = str(data["entry_point"])
    tree = _parse(row, str(data["test"]), "test")
    embedded = _embedded_cases(tree)
    if embedded:
        cases = list(zip(*embedded))
    else:
        check = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check"), None)
        if check is None:
            raise Dropped("no check(candidate) function")
        names = {check.args.args[0].arg if check.args.args else "candidate", fn_name}
        cases = _tests_from_asserts(check.body, names, report)
    tests = _to_tests(fn_name, [(list(a) if isinstance(a, (list, tuple)) else [a], e) for a, e in cases])
    solution = str(data["prompt"]) + str(data.get("canonical_solution") or "")
    problem = build_problem(
        id=str(data["task_id"]),
        statement=str(data["prompt"]),
        tests=tests,
        rules=rules,
        report_note=report.note,
        example_inputs=set(),
        source="humaneval",
        comparator=_float_comparator(tests, rules),
        meta={"starter_code": str(data["prompt"]), "reference_solution": solution},
    )
    return Candidate([problem], [solution] if data.get("canonical_solution") else [])


def funcall_candidate(row: Row, *, rules: Cleaning, report: LoadReport) -> Candidate:
    """Dispatch on the row's shape: HumanEval (``entry_point``) or MBPP (``test_list``)."""
    if isinstance(row.data, dict) and "entry_point" in row.data:
        return _humaneval_candidate(row, rules=rules, report=report)
    if isinstance(row.data, dict) and "test_list" in row.data:
        return _mbpp_candidate(row, rules=rules, report=report)
    raise row.error("neither a HumanEval row (entry_point) nor an MBPP row (test_list)")


def load_funcall(
    source: str,
    *,
    rules: Cleaning | None = None,
    verify: bool = False,
    sandbox=None,
    skip_invalid: bool = False,
    report: LoadReport | None = None,
) -> Iterator[Problem]:
    """Problems from MBPP(+) or HumanEval(+) rows (JSONL, optionally gzipped)."""
    rules = rules or Cleaning()
    report = report if report is not None else LoadReport(source="funcall")
    convert = partial(funcall_candidate, rules=rules, report=report)
    candidates = candidates_from_rows(iter_rows(source), convert, report, skip_invalid=skip_invalid)
    yield from finish(candidates, report, verify=verify, sandbox=sandbox)
