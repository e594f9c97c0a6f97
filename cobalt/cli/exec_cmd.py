"""``cobalt exec``: run a program on tests in the sandbox and print the verdicts as JSON."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path

from cobalt.cli.options import Flag, add_config_sources, add_settings, add_verb, load_settings
from cobalt.sandbox.config import SandboxConfig

EPILOG = """examples:
  cobalt exec solution.py tests.json
  cobalt exec solution.py tests.json --timeout 2 --comparator float
  cobalt exec --batch requests.jsonl --out results.jsonl      (resumes if results.jsonl exists)

tests.json holds {"inputs": [...], "outputs": [...], "fn_name"?: "..."} (or that object as a JSON
string). Each line of requests.jsonl holds {"id": ..., "code": "...", "tests": {...}}.
Exit status: 0 when the program ran (whatever the verdicts), 2 on bad input, 1 when no sandbox
is available."""


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
    io.add_argument("tests", nargs="?", help="the tests (a JSON file)")
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
        return _run_single(Path(args.program), Path(args.tests), config, args.stop_on_first_failure)
    except SandboxUnavailable as err:
        print(f"cobalt exec: {err}", file=sys.stderr)
        return 1


def _load_tests(path: Path):
    from cobalt.jsonl import read_json, validate
    from cobalt.records import Tests

    data = read_json(path)
    return validate(Tests, data, path)


def _run_single(program: Path, tests_path: Path, config, stop_on_first_failure: bool) -> int:
    from cobalt.jsonl import InputError
    from cobalt.sandbox import run_sync

    if not program.is_file():
        raise InputError(program, "no such file")
    try:
        code = program.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise InputError(program, f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    tests = _load_tests(tests_path)
    result = run_sync(code, tests, config, stop_on_first_failure=stop_on_first_failure)
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
    from cobalt.sandbox import Executor

    total = sum(1 for _ in iter_jsonl(requests_path))
    with JsonlWriter(out) as writer:
        already = len(writer.done)
        async with Executor(config) as executor:
            with tqdm(
                total=total, initial=min(already, total), unit="program", file=sys.stderr, desc="cobalt exec"
            ) as bar:
                async for _, result in executor.map(_requests(requests_path, writer.done)):
                    writer.write(result)
                    bar.update(1)
    return 0
