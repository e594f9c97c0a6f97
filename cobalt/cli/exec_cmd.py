"""``cobalt exec``: run a program on tests in the sandbox and print the verdicts as JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cobalt.cli.options import Flag, add_config_sources, add_settings, add_verb, given, load_settings
from cobalt.sandbox.config import SandboxConfig

EPILOG = """examples:
  cobalt exec solution.py tests.json
  cobalt exec solution.py tests.json --timeout 2 --comparator float
  cobalt exec --batch requests.jsonl --out results.jsonl      (resumes if results.jsonl exists)

  cobalt exec solution.py problems.jsonl --problem 1492B    (a problem's public + hidden tests)

TESTS holds {"inputs": [...], "outputs": [...], "fn_name"?: "...", "comparator"?: "float"} (or
that object as a JSON string), or a problem record (a line of a problems JSONL, as `cobalt data`
writes it): then the program runs on the problem's public tests followed by its hidden tests,
judged by the problem's comparator. A file of several problems needs --problem ID.
The comparator is, first to last: --comparator, the file's, the config's (default "lines").
Each line of requests.jsonl holds {"id": ..., "code": "...", "tests": {...}, "comparator"?: ...}.
Exit status: 0 when the program ran (whatever the verdicts), 2 on bad input (an empty TESTS or
REQUESTS file included), 1 when no sandbox is available."""


FLAGS = {"limits.cpu_s": Flag("--timeout", metavar="S"), "limits.memory_mb": Flag(metavar="M")}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``cobalt exec`` to the command line."""
    parser = add_verb(
        subparsers,
        "exec",
        help="run a program on tests in the sandbox",
        description="Run an untrusted Python program on test cases in the sandbox; print one JSON object "
        "with tier, verdicts, passing, pass_rate, feedback and per_test.",
        epilog=EPILOG,
    )
    io = parser.add_argument_group("input and output")
    io.add_argument("program", nargs="?", help="the program (a .py file)")
    io.add_argument("tests", nargs="?", help="the tests (a JSON file), or a problem record (JSON or JSONL)")
    io.add_argument("--problem", metavar="ID", help="which problem of a problems JSONL file to run")
    io.add_argument("--batch", metavar="REQUESTS.jsonl", help="run many requests, one JSON object per line")
    io.add_argument("--out", metavar="RESULTS.jsonl", help="where --batch appends its results")
    io.add_argument("--stop-on-first-failure", action="store_true", help="skip the tests after a failure")
    add_config_sources(parser, SandboxConfig)
    parser.set_defaults(run=run, settings=add_settings(parser, SandboxConfig, flags=FLAGS))


def _config(args: argparse.Namespace) -> SandboxConfig:
    from cobalt.jsonl import InputError
    from cobalt.sandbox import available_comparators

    config = load_settings(args, SandboxConfig, args.settings)
    if config.comparator not in available_comparators():
        raise InputError(
            "--comparator",
            f"unknown comparator {config.comparator!r}; choose from " + ", ".join(available_comparators()),
        )
    return config


def run(args: argparse.Namespace) -> int:
    """Run one program, or a batch of requests (resuming an earlier run's results)."""
    from cobalt.jsonl import InputError
    from cobalt.sandbox import SandboxUnavailable

    if args.batch:
        if args.program or args.tests:
            raise InputError("command line", "give either PROGRAM TESTS or --batch, not both")
        if not args.out:
            raise InputError("command line", "--batch needs --out RESULTS.jsonl")
    elif not (args.program and args.tests):
        raise InputError("command line", "give PROGRAM.py and TESTS.json (or --batch REQUESTS.jsonl --out FILE)")
    config = _config(args)
    try:
        if args.batch:
            return asyncio.run(_run_batch(Path(args.batch), Path(args.out), config))
        comparator_flag = "comparator" in given(args, args.settings)
        return _run_single(Path(args.program), Path(args.tests), config, args, comparator_flag)
    except SandboxUnavailable as err:
        print(f"cobalt exec: {err}", file=sys.stderr)
        return 1


def _tests_file_records(path: Path) -> list[tuple[int | None, Any]]:
    """The records a TESTS file holds: one JSON value, or one per line of a JSONL file.

    An empty file is bad input: running nothing and exiting 0 would read as success.
    """
    from cobalt.jsonl import InputError, iter_jsonl, parse_json

    if not path.is_file():
        raise InputError(path, "no such file")
    text = path.read_text(encoding="utf-8")
    if not text.strip():
        raise InputError(path, "holds no records (the file is empty)")
    try:
        return [(None, parse_json(text, path))]
    except InputError as whole_file_error:
        if len(text.strip().splitlines()) < 2:
            raise
        try:
            return list(iter_jsonl(path))
        except InputError:
            raise whole_file_error from None


def _is_problem(data: Any) -> bool:
    return isinstance(data, dict) and bool({"public_tests", "hidden_tests", "statement"} & data.keys())


def _choose_problem(path: Path, records: list[tuple[int | None, Any]], problem_id: str | None):
    """The problem record to run: the only one, or the one ``--problem`` names."""
    from cobalt.jsonl import InputError, validate
    from cobalt.records import Problem

    if not all(_is_problem(data) for _, data in records):
        raise InputError(path, f"holds {len(records)} records; only a file of problem records may hold several")
    problems = [validate(Problem, data, path, line) for line, data in records]
    if problem_id is None:
        if len(problems) == 1:
            return problems[0]
        raise InputError(path, f"holds {len(problems)} problems; choose one with --problem ID")
    for problem in problems:
        if problem.id == problem_id:
            return problem
    raise InputError(path, f"holds no problem with id {problem_id!r}")


def _load_tests(path: Path, problem_id: str | None = None):
    """``(tests, comparator)`` from a TESTS file: a tests object (with an optional ``comparator``), or a
    problem record (its public then hidden tests, and its comparator)."""
    from cobalt.jsonl import InputError, parse_json, validate
    from cobalt.records import Tests

    records = _tests_file_records(path)
    if problem_id is not None or len(records) > 1 or _is_problem(records[0][1]):
        problem = _choose_problem(path, records, problem_id)
        tests, comparator = problem.all_tests, problem.comparator
    else:
        data = records[0][1]
        if isinstance(data, str) and data.lstrip().startswith("{"):
            data = parse_json(data, path)  # tests stored as a JSON string, as the public dumps store them
        comparator = data.pop("comparator", None) if isinstance(data, dict) else None
        if comparator is not None and not isinstance(comparator, str):
            raise InputError(path, "must be the name of a comparator", field="comparator")
        tests = validate(Tests, data, path)
    if len(tests) == 0:
        raise InputError(path, "holds no tests to run")
    _check_comparator(path, comparator)
    return tests, comparator


def _check_comparator(path: Path, name: str | None) -> None:
    from cobalt.jsonl import InputError
    from cobalt.sandbox import available_comparators

    if name is not None and name not in available_comparators():
        known = ", ".join(available_comparators())
        raise InputError(path, f"unknown comparator {name!r}; choose from {known}", field="comparator")


def _run_single(
    program: Path, tests_path: Path, config: SandboxConfig, args: argparse.Namespace, comparator_flag: bool
) -> int:
    from cobalt.jsonl import InputError
    from cobalt.sandbox import run_sync

    if not program.is_file():
        raise InputError(program, "no such file")
    try:
        code = program.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise InputError(program, f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    tests, comparator = _load_tests(tests_path, args.problem)
    if comparator_flag:
        comparator = None  # --comparator on the command line wins over the file's
    result = run_sync(code, tests, config, comparator=comparator, stop_on_first_failure=args.stop_on_first_failure)
    json.dump(result.model_dump(mode="json"), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def _requests(path: Path, done: set) -> Iterator:
    from cobalt.jsonl import InputError, iter_jsonl, validate
    from cobalt.records import ExecRequest

    first_line: dict[str, int] = {}
    for number, data in iter_jsonl(path):
        if isinstance(data, dict) and data.get("id") is None:
            data = {**data, "id": f"line-{number}"}
        request = validate(ExecRequest, data, path, number)
        if request.id in first_line:
            raise InputError(
                path, f"duplicate id {request.id!r} (first on line {first_line[request.id]})", line=number, field="id"
            )
        first_line[request.id] = number
        if request.id not in done:
            yield request


async def _run_batch(requests_path: Path, out: Path, config) -> int:
    from tqdm import tqdm

    from cobalt.jsonl import JsonlWriter, iter_jsonl
    from cobalt.sandbox import make_executor

    total = sum(1 for _ in iter_jsonl(requests_path))
    if total == 0:
        from cobalt.jsonl import InputError

        raise InputError(requests_path, "holds no records (no requests to run)")
    with JsonlWriter(out) as writer:
        already = len(writer.done)
        async with make_executor(config) as executor:
            with tqdm(
                total=total, initial=min(already, total), unit="program", file=sys.stderr, desc="cobalt exec"
            ) as bar:
                async for _, result in executor.map(_requests(requests_path, writer.done)):
                    writer.write(result)
                    bar.update(1)
    return 0
