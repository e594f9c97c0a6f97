"""Cobalt's own problem files, and the one reader every stage uses for them.

A problems file holds one :class:`~cobalt.records.Problem` per JSONL line (the schema is in
``docs/data.md``); a JSON array or a parquet file of the same objects is read too. Every row is
validated by the ``Problem`` model and ids must be unique: a problem id is how trajectories, bandit
examples and evaluation results find their problem, so a repeated one is refused, naming the line
of both copies.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from cobalt.data.report import LoadReport
from cobalt.data.rows import SUPPORTED, Row, RowOrError, iter_file_rows, jsonl_rows
from cobalt.jsonl import InputError, validate
from cobalt.records import Problem


def load_problems(
    path: str | Path,
    *,
    limit: int | None = None,
    skip_invalid: bool = False,
    report: LoadReport | None = None,
) -> list[Problem]:
    """The problems of a local file in Cobalt's schema, in file order (the first ``limit`` only,
    when given).

    A bad row or a repeated id raises :class:`~cobalt.jsonl.InputError` naming the file, the line
    and the field; with ``skip_invalid`` it is skipped, logged and counted in ``report`` instead.
    A file with no records at all is bad input too (:class:`~cobalt.jsonl.InputError`).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    report = report if report is not None else LoadReport(source=str(path))
    problems: list[Problem] = []
    first_seen: dict[str, str] = {}
    rows = 0
    for row in _rows(path):
        if limit is not None and len(problems) >= limit:
            break
        rows += 1
        report.rows += 1
        try:
            if isinstance(row, InputError):
                raise row
            problem = _problem(row)
            where = f"line {row.line}" if row.line is not None else f"row {row.index}"
            if problem.id in first_seen:
                raise row.error(f"duplicate problem id {problem.id!r} (first on {first_seen[problem.id]})", "id")
            first_seen[problem.id] = where
        except InputError as err:
            report.invalid(err, skip=skip_invalid)
            continue
        report.kept += 1
        problems.append(problem)
    if rows == 0 and limit != 0:
        # An empty file is almost always a mistake upstream (a failed prepare, a wrong path); every
        # stage that reads it would otherwise do nothing and succeed.
        raise InputError(path, "holds no problems (the file has no records)")
    return problems


def _rows(path: Path) -> Iterator[RowOrError]:
    """Rows by the file's suffix; a file without a known one is Cobalt's JSONL."""
    return iter_file_rows(path) if path.name.endswith(SUPPORTED) else jsonl_rows(path)


def _problem(row: Row) -> Problem:
    try:
        return validate(Problem, row.data, row.path, row.line)
    except InputError as err:
        if row.line is None:  # JSON array or parquet: name the row in the field path
            raise row.error(err.message, err.field) from None
        raise
