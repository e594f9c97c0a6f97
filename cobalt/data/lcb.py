"""LiveCodeBench ``code_generation_lite`` rows (the paper's test set, docs/paper.md §4).

Row fields used: ``question_id, question_title, question_content, platform, contest_id,
contest_date, starter_code, difficulty, public_test_cases, private_test_cases, metadata``.

* Public tests: ``public_test_cases`` (a JSON list of ``{input, output, testtype}``), i.e. the
  statement's examples. Hidden tests: all of ``private_test_cases``, which is either that JSON list
  or base64 of zlib of a pickle of it. The pickle is read by :func:`~cobalt.data.safe_pickle.plain_loads`,
  which accepts plain data only: a payload that would import or call anything is refused.
* ``functional`` (LeetCode) tests become stdin/stdout tests by default, as in the release: the
  inputs are the dataset's argument lines, fed to the program's stdin, and the expected output is
  the dataset's text, compared as text; the problem has no ``fn_name``, so the rollout asks for a
  program that reads stdin, and the statement carries no starter code (the release showed none).
  ``functional="call"`` keeps them call-based instead: ``fn_name`` comes from
  ``metadata["func_name"]``, inputs are already one JSON value per line, and the return value is
  compared as JSON; ``meta["starter_code"]`` then holds the class stub.
* Outputs are compared as text; ``detect_float`` gives stdin problems whose expected outputs hold
  decimals the ``float`` comparator (off by default: the release compared text).
* Test fields may be JSON text (the hub's form) or already-parsed lists (a re-read dump).
* The statement is cut before its first worked example ("Example 1", "Sample Input 1", ...), so the
  examples reach the model only as public-test feedback, as in the release.
* Release versions follow LiveCodeBench's file layout: ``release_vN`` is cumulative
  (``test.jsonl`` .. ``testN.jsonl``), ``vN`` is the increment of version N alone (``testN.jsonl``),
  ``vN_vM`` the increments N to M. The paper's test set is ``v6``. Contest dates filter inclusively.

Differences from the release: the statement cut accepts more example markers than the two exact
strings the release looked for (Codeforces-style "Examples", and headings glued to the previous
sentence, such as 1873_A's "...answer).Sample Input 1:"), and is reported when no marker is found;
hidden tests are all kept by default (as in the release's final version) and can be capped.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

from cobalt.data.cleaning import Dropped, cap_indices, cut_before_examples, guess_comparator
from cobalt.data.pipeline import candidates_from_rows, finish
from cobalt.data.report import LoadReport
from cobalt.data.rows import Row, RowOrError, iter_file_rows, require_hub
from cobalt.data.safe_pickle import RefusedPickle, bounded_decompress, plain_loads
from cobalt.data.verify import Candidate
from cobalt.jsonl import InputError
from cobalt.records import Problem, Tests

HUB_NAME = "livecodebench/code_generation_lite"
LATEST_RELEASE = 6
DEFAULT_DECODED_LIMIT = 1 << 30  # 1 GiB of decompressed private tests per problem at most
FunctionalAs = Literal["stdin", "call"]
FUNCTIONAL_MODES: tuple[str, ...] = ("stdin", "call")


def release_files(version: str) -> list[str]:
    """The ``code_generation_lite`` files that make up ``version`` (see the module docstring)."""

    def file_of(n: int) -> str:
        return "test.jsonl" if n == 1 else f"test{n}.jsonl"

    version = version.strip().lower()
    if version == "release_latest":
        return [file_of(n) for n in range(1, LATEST_RELEASE + 1)]
    if match := re.fullmatch(r"release_v(\d+)", version):
        return [file_of(n) for n in range(1, int(match[1]) + 1)]
    if match := re.fullmatch(r"v(\d+)", version):
        return [file_of(int(match[1]))]
    if match := re.fullmatch(r"v(\d+)_v(\d+)", version):
        return [file_of(n) for n in range(int(match[1]), int(match[2]) + 1)]
    raise ValueError(f"unknown release version {version!r}; use release_vN, release_latest, vN or vN_vM")


def _rows_for_release(source: str, version: str | None) -> Iterator[RowOrError]:
    path = Path(source)
    try:
        wanted = release_files(version) if version else None
    except ValueError as err:
        raise InputError("--release", str(err)) from None
    if path.is_dir():
        names = wanted or sorted(p.name for p in path.glob("test*.jsonl"))
        missing = [name for name in names if not (path / name).is_file()]
        if missing:
            raise InputError(path, f"release {version} needs {', '.join(missing)}, not found in this directory")
        for name in names:
            yield from iter_file_rows(path / name)
    elif path.is_file():
        if wanted and path.name not in wanted:
            raise InputError(path, f"this file is not part of release {version} ({', '.join(wanted)})")
        yield from iter_file_rows(path)
    else:
        yield from _hub_rows(source, wanted or release_files("release_latest"))


def _hub_rows(name: str, files: list[str]) -> Iterator[RowOrError]:
    """Download the release's files from the hub (online only) and read them."""
    require_hub(name)
    from huggingface_hub import hf_hub_download

    for file in files:
        yield from iter_file_rows(Path(hf_hub_download(name, file, repo_type="dataset")))


def decode_private_tests(text: str, *, limit: int = DEFAULT_DECODED_LIMIT) -> list[Any]:
    """The private test list from its JSON form or its base64 → zlib → pickle → JSON form.
    Raises :class:`~cobalt.data.safe_pickle.RefusedPickle` (a ``ValueError``) on anything else."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as err:
            raise RefusedPickle(f"invalid JSON ({err.msg})") from None
    try:
        compressed = base64.b64decode(stripped, validate=True)
    except (binascii.Error, ValueError):
        raise RefusedPickle("neither a JSON list nor base64 text") from None
    value = plain_loads(bounded_decompress(compressed, limit))
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        raise RefusedPickle(f"the pickle holds a {type(value).__name__}, expected JSON text")
    try:
        return json.loads(value)
    except json.JSONDecodeError as err:
        raise RefusedPickle(f"the unpickled text is not JSON ({err.msg})") from None


def _test_list(row: Row, field: str, cases: Any) -> tuple[list[str], list[str], str]:
    if not isinstance(cases, list):
        raise row.error(f"expected a list of tests, got {type(cases).__name__}", field)
    inputs, outputs, kinds = [], [], set()
    for index, case in enumerate(cases):
        if (
            not isinstance(case, dict)
            or not isinstance(case.get("input"), str)
            or not isinstance(case.get("output"), str)
        ):
            raise row.error("each test needs string 'input' and 'output'", f"{field}[{index}]")
        inputs.append(case["input"])
        outputs.append(case["output"])
        kinds.add(case.get("testtype", "stdin"))
    if len(kinds) > 1:
        raise row.error(f"mixes test types {sorted(kinds)}", field)
    return inputs, outputs, kinds.pop() if kinds else "stdin"


def _contest_date(row: Row) -> date | None:
    value = row.data.get("contest_date")
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).date()
    except ValueError:
        raise row.error(f"not an ISO date: {value!r}", "contest_date") from None


def _fn_name(row: Row) -> str:
    metadata = row.data.get("metadata") or "{}"
    try:
        metadata = json.loads(metadata) if isinstance(metadata, str) else metadata
    except json.JSONDecodeError as err:
        raise row.error(f"not valid JSON ({err.msg})", "metadata") from None
    name = metadata.get("func_name") if isinstance(metadata, dict) else None
    if not isinstance(name, str) or not name:
        raise row.error("functional tests need metadata.func_name", "metadata")
    return name


def _func_name_if_any(row: Row) -> str | None:
    try:
        return _fn_name(row)
    except InputError:
        return None


def _cases(row: Row, field: str, data: dict[str, Any], *, limit: int) -> Any:
    """Test field ``field`` as the parsed list: hub rows hold JSON text (private tests maybe
    pickled), but a row re-read from a dump may already hold the list, which is taken as it is."""
    value = data[field]
    if not isinstance(value, str):
        return value
    try:
        if field == "private_test_cases":
            return decode_private_tests(value, limit=limit)
        return json.loads(value)
    except json.JSONDecodeError as err:
        raise row.error(f"not valid JSON ({err.msg})", field) from None
    except RefusedPickle as err:
        raise row.error(str(err), field) from None


def _in_window(row: Row, start: date | None, end: date | None) -> None:
    when = _contest_date(row)
    if start and (when is None or when < start):
        raise Dropped(f"contest date before {start.isoformat()}")
    if end and (when is None or when > end):
        raise Dropped(f"contest date after {end.isoformat()}")


def _meta(data: dict[str, Any], *, call_based: bool) -> dict[str, Any]:
    """Row facts kept in ``Problem.meta``. A LeetCode problem read as stdin/stdout keeps no
    ``starter_code`` (the reference shows none, and a class stub would contradict the stdin task);
    its origin stays in ``lcb_testtype`` and ``lcb_func_name``."""
    keys = ("question_title", "platform", "contest_id", "contest_date") + (("starter_code",) if call_based else ())
    return {key: data[key] for key in keys if isinstance(data.get(key), str) and data[key]}


def _lcb_candidate(
    row: Row,
    *,
    report: LoadReport,
    start: date | None,
    end: date | None,
    cut: bool,
    max_hidden: int | None,
    limit: int,
    functional: FunctionalAs,
    detect_float: bool,
) -> Candidate:
    data = row.require("question_id", "question_content", "public_test_cases", "private_test_cases")
    _in_window(row, start, end)
    public = _test_list(row, "public_test_cases", _cases(row, "public_test_cases", data, limit=limit))
    hidden = _test_list(row, "private_test_cases", _cases(row, "private_test_cases", data, limit=limit))
    if not public[0]:
        raise Dropped("no public tests")
    if not hidden[0]:
        raise Dropped("no hidden tests")
    if public[2] != hidden[2]:
        raise row.error(f"test type {hidden[2]!r} differs from the public tests' {public[2]!r}", "private_test_cases")
    converted = public[2] == "functional" and functional == "stdin"
    # A stdin program needs no function name (the release never read it), so only call mode requires one.
    fn_name = _fn_name(row) if public[2] == "functional" and not converted else None
    if converted:
        report.note("functional problem read as stdin/stdout")
    hidden_inputs, hidden_outputs = hidden[0], hidden[1]
    if max_hidden is not None and len(hidden_inputs) > max_hidden:
        keep = cap_indices(hidden_inputs, max_hidden, max_hidden // 5)
        hidden_inputs, hidden_outputs = [hidden_inputs[i] for i in keep], [hidden_outputs[i] for i in keep]
        report.note(f"hidden tests capped to {max_hidden}")
    statement = str(data["question_content"])
    if cut:
        statement, was_cut = cut_before_examples(statement)
        report.note("statement cut before examples" if was_cut else "no example marker to cut at")
    meta = _meta(data, call_based=fn_name is not None)
    if converted:
        meta["lcb_testtype"] = "functional"
        if name := _func_name_if_any(row):
            meta["lcb_func_name"] = name
    # Call-based results are JSON values compared structurally; text outputs use the float
    # comparator only when the user asked for it (the reference compares text).
    comparator = guess_comparator(public[1] + hidden_outputs) if detect_float and fn_name is None else None
    problem = Problem(
        id=str(data["question_id"]),
        statement=statement.strip(),
        public_tests=Tests(inputs=public[0], outputs=public[1], fn_name=fn_name),
        hidden_tests=Tests(inputs=hidden_inputs, outputs=hidden_outputs, fn_name=fn_name),
        fn_name=fn_name,
        difficulty=None if data.get("difficulty") is None else str(data["difficulty"]),
        source="lcb",
        comparator=comparator,
        meta=meta,
    )
    return Candidate([problem])


def load_livecodebench(
    source: str = HUB_NAME,
    *,
    release: str | None = None,
    start_date: date | None = None,
    end_date: date | None = None,
    cut_examples: bool = True,
    max_hidden: int | None = None,
    decoded_limit: int = DEFAULT_DECODED_LIMIT,
    functional: FunctionalAs = "stdin",
    detect_float: bool = False,
    skip_invalid: bool = False,
    report: LoadReport | None = None,
) -> Iterator[Problem]:
    """Problems from ``code_generation_lite`` rows: a local ``testN.jsonl`` file, a directory of
    them, or the hub (online only). ``release`` selects files (e.g. ``"v6"``, the paper's test
    set); ``start_date``/``end_date`` keep contests inside the window (inclusive).

    ``functional``: how LeetCode (``functional``) problems are run: ``"stdin"`` (default, the
    reference's way: a program reads the argument lines and prints the result, compared as text) or
    ``"call"`` (the function named by ``metadata.func_name`` is called and its JSON result compared).
    ``detect_float``: give stdin problems with decimal expected outputs the ``float`` comparator."""
    if functional not in FUNCTIONAL_MODES:
        raise InputError("--lcb-functional", f"expected one of {', '.join(FUNCTIONAL_MODES)}, got {functional!r}")
    report = report if report is not None else LoadReport(source="lcb")
    convert = partial(
        _lcb_candidate,
        report=report,
        start=start_date,
        end=end_date,
        cut=cut_examples,
        max_hidden=max_hidden,
        limit=decoded_limit,
        functional=functional,
        detect_float=detect_float,
    )
    rows = _rows_for_release(source, release)
    yield from finish(candidates_from_rows(rows, convert, report, skip_invalid=skip_invalid), report)
