"""JSONL input and output shared by every stage.

* Reading validates each line against a record model; a bad line raises :class:`InputError`
  naming the file, the line and the field.
* Writing is append-only: each record is one line, flushed and fsynced, so a run killed at any
  moment loses at most the line being written. On reopening, a torn last line (no newline, or not
  JSON) is cut off with a warning, and the ids already written are returned so that the run can
  skip them: no duplicates, no losses.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

from pydantic import BaseModel, ValidationError

log = logging.getLogger(__name__)

Model = TypeVar("Model", bound=BaseModel)


class InputError(ValueError):
    """Bad input: says which file, which line and which field."""

    def __init__(self, path: str | os.PathLike, message: str, *, line: int | None = None, field: str | None = None):
        self.path, self.line, self.field, self.message = str(path), line, field, message
        where = self.path + (f", line {line}" if line is not None else "")
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {what}{message}")


def _field_of(error: ValidationError) -> tuple[str | None, str]:
    first = error.errors()[0]
    field = ".".join(str(part) for part in first.get("loc", ())) or None
    message = first.get("msg", str(error))
    return field, message.removeprefix("Value error, ")


def validate(model: type[Model], data: Any, path: str | os.PathLike, line: int | None = None) -> Model:
    """``model.model_validate(data)`` with errors turned into :class:`InputError`."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        field, message = _field_of(err)
        raise InputError(path, message, line=line, field=field) from None


def parse_json(text: str, path: str | os.PathLike, line: int | None = None) -> Any:
    """The value ``text`` holds; invalid JSON raises :class:`InputError` naming ``path``, the line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        where = f"column {err.colno}: " if line is not None else f"line {err.lineno}, column {err.colno}: "
        raise InputError(path, f"{where}invalid JSON ({err.msg})", line=line) from None


def read_json(path: str | os.PathLike) -> Any:
    """A whole JSON file, with clear errors for a missing file or invalid JSON."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    return parse_json(path.read_text(encoding="utf-8"), path)


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, Any]]:
    """``(line number, parsed object)`` for each non-blank line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if text.strip():
                yield number, parse_json(text, path, number)


def read_records(path: str | os.PathLike, model: type[Model]) -> Iterator[tuple[int, Model]]:
    """``(line number, record)`` for each line, validated against ``model``."""
    for number, data in iter_jsonl(path):
        yield number, validate(model, data, path, number)


class JsonlWriter:
    """Append records to a JSONL file durably; remembers the ids already present.

    ``key`` names the field that identifies a finished unit of work (``id`` by default); the set
    :attr:`done` holds its values from lines already in the file.
    """

    def __init__(self, path: str | os.PathLike, *, key: str = "id", resume: bool = True):
        self.path = Path(path)
        self.key = key
        self.done: set[Any] = set()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if resume and self.path.exists():
            self._recover()
        elif self.path.exists():
            self.path.unlink()
        self._handle: IO[str] = self.path.open("a", encoding="utf-8")

    def _recover(self) -> None:
        """Read what a previous run wrote; cut a torn last line."""
        good_bytes = 0
        with self.path.open("rb") as handle:
            for raw in handle:
                try:
                    if not raw.endswith(b"\n"):
                        raise ValueError("no newline")
                    record = json.loads(raw)
                except ValueError:
                    log.warning("%s: dropping a torn last line left by an interrupted run", self.path)
                    break
                good_bytes += len(raw)
                if isinstance(record, dict) and self.key in record:
                    self.done.add(_hashable(record[self.key]))
        if good_bytes != self.path.stat().st_size:
            with self.path.open("r+b") as handle:
                handle.truncate(good_bytes)

    def write(self, record: BaseModel | dict) -> None:
        """Append ``record`` as one line, flushed and fsynced before returning, and add its key to :attr:`done`."""
        line = record.model_dump_json() if isinstance(record, BaseModel) else json.dumps(record)
        self._handle.write(line + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        value = getattr(record, self.key, None) if isinstance(record, BaseModel) else record.get(self.key)
        if value is not None:
            self.done.add(_hashable(value))

    def close(self) -> None:
        """Close the file; every line written is already on disk."""
        self._handle.close()

    def __enter__(self) -> JsonlWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, (list, dict)) else value
