"""The loop every loader shares: rows in, candidates out, drops and bad rows counted, then
(optionally) verification, then problems out with unique ids."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from cobalt.data.cleaning import Dropped
from cobalt.data.report import LoadReport
from cobalt.data.rows import Row, RowOrError
from cobalt.data.verify import Candidate, verify_candidates
from cobalt.jsonl import InputError
from cobalt.records import Problem

DUPLICATE_ID = "duplicate id (first kept)"
FLOAT_NOTE = "float comparator (decimal outputs, --detect-float)"


def candidates_from_rows(
    rows: Iterable[RowOrError],
    convert: Callable[[Row], Candidate],
    report: LoadReport,
    *,
    skip_invalid: bool = False,
) -> Iterator[Candidate]:
    """``convert`` each row. A :class:`Dropped` is counted under its reason; an
    :class:`~cobalt.jsonl.InputError` stops the load unless ``skip_invalid``."""
    for row in rows:
        report.rows += 1
        if isinstance(row, InputError):
            report.invalid(row, skip=skip_invalid)
            continue
        try:
            candidate = convert(row)
        except Dropped as drop:
            report.drop(drop.reason)
            continue
        except InputError as err:
            report.invalid(err, skip=skip_invalid)
            continue
        yield candidate


def finish(
    candidates: Iterable[Candidate],
    report: LoadReport,
    *,
    verify: bool = False,
    sandbox=None,
    max_solutions: int = 16,
) -> Iterator[Problem]:
    """Problems from candidates: verified with their solutions when ``verify`` (see
    :mod:`cobalt.data.verify`), ids made unique (a repeated id is dropped and counted); the kept
    problems given the ``float`` comparator are counted under :data:`FLOAT_NOTE`."""
    problems: Iterable[Problem]
    if verify:
        problems = verify_candidates(candidates, report, config=sandbox, max_solutions=max_solutions)
    else:
        problems = (candidate.problem for candidate in candidates)
    seen: set[str] = set()
    for problem in problems:
        if problem.id in seen:
            report.drop(DUPLICATE_ID)
            continue
        seen.add(problem.id)
        report.kept += 1
        if problem.comparator == "float":  # counted on kept problems, after verification
            report.note(FLOAT_NOTE)
        yield problem
