"""CodeContests (stdin/stdout) in the three shapes Cobalt has met.

* **DeepMind's rows** (``deepmind/code_contests``): ``name, description, public_tests,
  private_tests, generated_tests, solutions, difficulty``. Public tests are the dataset's
  ``public_tests`` (the statement's examples), topped up to ``num_public`` from the private tests
  only; hidden tests are the rest of the private ones (``include_generated`` adds the generated
  ones, which are always hidden: they are mutated inputs, some breaking the input format).
  Python 3 solutions (language code 3) are kept for ``verify``.
* **A JSON list of** ``{"problem": str, "tests": {"input"|"inputs": [...], "output"|"outputs": [...]}}``
  (the rllm export, ``code_contests_test.json``): public and private tests were concatenated, so the
  examples are found again in the statement. Its "Time Limit / Memory Limit" trailer moves to meta.
* **A problem tree** (``codecontests300_with_solutions.tar.gz`` or its extracted directory): one
  folder per problem with ``PROBLEM.md``, ``main.py`` (an accepted solution, kept for ``verify``
  and in ``meta["reference_solution"]``), ``tests/input_K.txt`` and ``tests/output_K.txt``.

Outputs are compared as text unless ``detect_float`` is asked for (then expected outputs with
decimals get the ``float`` comparator). Many CodeContests problems accept several answers; only ``verify`` (the provided
solution must pass the tests as compared here) filters those out.
"""

from __future__ import annotations

import re
import tarfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

from cobalt.data.cleaning import Cleaning, TestList, build_problem, guess_comparator
from cobalt.data.pipeline import candidates_from_rows, finish
from cobalt.data.report import LoadReport
from cobalt.data.rows import Row, RowOrError, iter_rows
from cobalt.data.verify import Candidate
from cobalt.jsonl import InputError
from cobalt.records import Problem

PYTHON3 = 3  # DeepMind's language code for Python 3
_LIMITS_TRAILER = re.compile(
    r"\s*Time Limit:\s*\{'seconds':\s*(\d+),\s*'nanos':\s*(\d+)\}\s*Memory Limit:\s*(\d+)\s*Bytes\s*$"
)
_TEST_FILE = re.compile(r"(input|output)_(\d+)\.txt")


def _problem(row: Row, *, statement: str, tests: TestList, rules: Cleaning, report: LoadReport, **kw: Any) -> Problem:
    return build_problem(
        statement=statement,
        tests=tests,
        rules=rules,
        report_note=report.note,
        source="codecontests",
        comparator=guess_comparator(tests.outputs) if rules.detect_float else None,
        **kw,
    )


def _string_list(row: Row, value: Any, field: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise row.error("expected a list of strings", field)
    return value


def _pair(row: Row, tests: Any, field: str) -> tuple[list[str], list[str]]:
    if tests is None:
        return [], []
    if not isinstance(tests, dict):
        raise row.error("expected an object with input and output lists", field)
    in_key = "input" if "input" in tests else "inputs"
    out_key = "output" if "output" in tests else "outputs"
    inputs = _string_list(row, tests.get(in_key), f"{field}.{in_key}")
    outputs = _string_list(row, tests.get(out_key), f"{field}.{out_key}")
    if len(inputs) != len(outputs):
        raise row.error(f"{len(inputs)} inputs but {len(outputs)} outputs", field)
    return inputs, outputs


def _deepmind_candidate(row: Row, *, rules: Cleaning, report: LoadReport, include_generated: bool) -> Candidate:
    data = row.require("description", "public_tests")
    public = _pair(row, data.get("public_tests"), "public_tests")
    private = _pair(row, data.get("private_tests"), "private_tests")
    # Generated tests are mutated inputs, some outside the problem's own input format: they may
    # score a program (hidden) but are never shown as feedback, so they come last and are not showable.
    generated = _pair(row, data.get("generated_tests"), "generated_tests") if include_generated else ([], [])
    solutions = []
    raw = data.get("solutions")
    if isinstance(raw, dict) and isinstance(raw.get("language"), list) and isinstance(raw.get("solution"), list):
        solutions = [code for lang, code in zip(raw["language"], raw["solution"]) if lang == PYTHON3]
    name = data.get("name") or f"codecontests-{row.index}"
    problem = _problem(
        row,
        id=str(name),
        statement=str(data["description"]),
        tests=TestList(public[0] + private[0] + generated[0], public[1] + private[1] + generated[1]),
        rules=rules,
        report=report,
        example_inputs=set(public[0]),
        showable=len(public[0]) + len(private[0]),
        difficulty=None if data.get("difficulty") is None else str(data["difficulty"]),
        meta={"name": str(name)},
    )
    return Candidate([problem], solutions)


def _rllm_candidate(row: Row, *, rules: Cleaning, report: LoadReport) -> Candidate:
    data = row.require("problem", "tests")
    inputs, outputs = _pair(row, data["tests"], "tests")
    statement = str(data["problem"])
    meta: dict[str, Any] = {}
    trailer = _LIMITS_TRAILER.search(statement)
    if trailer:
        statement = statement[: trailer.start()]
        meta["time_limit_s"] = int(trailer[1]) + int(trailer[2]) / 1e9
        meta["memory_limit_bytes"] = int(trailer[3])
    stem = PurePosixPath(row.path).name.split(".")[0]
    problem = _problem(
        row,
        id=str(data.get("name") or data.get("id") or f"{stem}-{row.index}"),
        statement=statement,
        tests=TestList(inputs, outputs),
        rules=rules,
        report=report,
        meta=meta,
    )
    return Candidate([problem])


# --- the problem tree (directory or tarball) ----------------------------------------------------


def _markdown_section(markdown: str, title: str) -> str | None:
    match = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", markdown, re.MULTILINE | re.DOTALL)
    return match[1].strip() if match else None


def _markdown_field(markdown: str, name: str) -> str | None:
    match = re.search(rf"^\*\*{re.escape(name)}:\*\*\s*(.+)$", markdown, re.MULTILINE)
    return match[1].strip() if match else None


def _tree_candidate(row: Row, *, rules: Cleaning, report: LoadReport) -> Candidate:
    data = row.data
    markdown = data.get("PROBLEM.md")
    if markdown is None:
        raise row.error("missing PROBLEM.md")
    statement = _markdown_section(markdown, "Description")
    if statement is None:
        raise row.error("PROBLEM.md has no '## Description' section", "PROBLEM.md")
    numbers = sorted({int(m[2]) for name in data["tests"] if (m := _TEST_FILE.fullmatch(name))})
    inputs, outputs = [], []
    for k in numbers:
        if f"input_{k}.txt" not in data["tests"] or f"output_{k}.txt" not in data["tests"]:
            raise row.error(f"test {k} lacks its input or output file", "tests")
        text = data["tests"][f"input_{k}.txt"]
        inputs.append(text if text.endswith("\n") else text + "\n")  # files were .strip()ped upstream
        outputs.append(data["tests"][f"output_{k}.txt"])
    solution = data.get("main.py")
    meta: dict[str, Any] = {"platform": "codeforces"}
    title = markdown.splitlines()[0].lstrip("# ").strip() if markdown.strip() else ""
    if title:
        meta["title"] = title
    if data.get("tags.txt"):
        meta["tags"] = [t.strip() for t in data["tags.txt"].splitlines() if t.strip()]
    if solution:
        meta["reference_solution"] = solution
    problem = _problem(
        row,
        id=_markdown_field(markdown, "ID") or data["dir"],
        statement=statement,
        tests=TestList(inputs, outputs),
        rules=rules,
        report=report,
        difficulty=_markdown_field(markdown, "Difficulty"),
        meta=meta,
    )
    return Candidate([problem], [solution] if solution else [])


def _tree_key(path: PurePosixPath) -> PurePosixPath | None:
    """The problem folder a file belongs to, or None for files outside any problem."""
    if path.parent.name == "tests" and _TEST_FILE.fullmatch(path.name):
        return path.parent.parent
    if path.name in ("PROBLEM.md", "main.py", "tags.txt"):
        return path.parent
    return None


def _tree_rows(files: Iterator[tuple[PurePosixPath, bytes]], origin: str) -> Iterator[RowOrError]:
    problems: dict[PurePosixPath, dict[str, Any]] = {}
    for path, content in files:
        key = _tree_key(path)
        if key is None:
            continue
        entry = problems.setdefault(key, {"dir": key.name, "tests": {}})
        text = content.decode("utf-8", "replace")
        if path.parent.name == "tests" and path.parent.parent == key:
            entry["tests"][path.name] = text
        else:
            entry[path.name] = text
    problems = {key: entry for key, entry in problems.items() if "PROBLEM.md" in entry or entry["tests"]}
    if not problems:
        raise InputError(origin, "no problem folders (PROBLEM.md + tests/) found")
    for index, key in enumerate(sorted(problems)):
        yield Row(problems[key], f"{origin}:{key}", index)


def _tarball_files(path: Path) -> Iterator[tuple[PurePosixPath, bytes]]:
    try:
        with tarfile.open(path) as archive:
            for member in archive:
                if member.isfile():
                    handle = archive.extractfile(member)
                    if handle is not None:
                        yield PurePosixPath(member.name), handle.read()
    except tarfile.TarError as err:
        raise InputError(path, f"not a readable tar archive ({err})") from None


def _directory_files(path: Path) -> Iterator[tuple[PurePosixPath, bytes]]:
    for file in sorted(path.rglob("*")):
        if file.is_file():
            yield PurePosixPath(file.relative_to(path).as_posix()), file.read_bytes()


def _is_tree(path: Path) -> bool:
    if path.is_dir():
        return next(path.rglob("PROBLEM.md"), None) is not None
    return path.name.endswith((".tar", ".tar.gz", ".tgz"))


def codecontests_candidate(row: Row, *, rules: Cleaning, report: LoadReport, include_generated: bool) -> Candidate:
    """Dispatch on the row's shape (see the module docstring)."""
    if isinstance(row.data, dict) and "tests" in row.data and "dir" in row.data:
        return _tree_candidate(row, rules=rules, report=report)
    if isinstance(row.data, dict) and "public_tests" in row.data:
        return _deepmind_candidate(row, rules=rules, report=report, include_generated=include_generated)
    if isinstance(row.data, dict) and "problem" in row.data:
        return _rllm_candidate(row, rules=rules, report=report)
    raise row.error("not a CodeContests row: expected 'description' + 'public_tests', or 'problem' + 'tests'")


def load_codecontests(
    source: str,
    *,
    split: str | None = None,
    rules: Cleaning | None = None,
    include_generated: bool = False,
    verify: bool = False,
    sandbox=None,
    max_solutions: int = 16,
    skip_invalid: bool = False,
    report: LoadReport | None = None,
) -> Iterator[Problem]:
    """Problems from CodeContests rows or a problem tree (see the module docstring)."""
    rules = rules or Cleaning()
    report = report if report is not None else LoadReport(source="codecontests")
    path = Path(source)
    if path.exists() and _is_tree(path):
        files = _directory_files(path) if path.is_dir() else _tarball_files(path)
        rows: Iterator[RowOrError] = _tree_rows(files, str(path))
    else:
        rows = iter_rows(source, split=split)
    convert = partial(codecontests_candidate, rules=rules, report=report, include_generated=include_generated)
    candidates = candidates_from_rows(rows, convert, report, skip_invalid=skip_invalid)
    yield from finish(candidates, report, verify=verify, sandbox=sandbox, max_solutions=max_solutions)
