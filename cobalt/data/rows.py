"""Raw rows from local files (JSONL, JSON, parquet, optionally gzipped) or a Hugging Face hub dataset.

Rows stream one at a time, so a multi-gigabyte LiveCodeBench file never sits in memory. A row
that cannot even be parsed is yielded as an :class:`~cobalt.jsonl.InputError` instead of a
:class:`Row`, so that the caller decides whether it stops the run or is skipped and counted.

Error locations: JSONL rows are named by line (``file, line 12``); rows of a JSON array or a parquet
file have no line, so their index leads the field path (``field '[11].question'``).
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from cobalt.jsonl import InputError, parse_json

JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".ndjson")
JSON_SUFFIXES = (".json", ".json.gz")
PARQUET_SUFFIXES = (".parquet",)
SUPPORTED = JSONL_SUFFIXES + JSON_SUFFIXES + PARQUET_SUFFIXES


@dataclass(frozen=True)
class Row:
    """One raw record and where it came from."""

    data: Any
    path: str
    index: int
    line: int | None = None

    def error(self, message: str, field: str | None = None) -> InputError:
        """An :class:`InputError` pointing at this row (and ``field`` in it)."""
        if self.line is not None:
            return InputError(self.path, message, line=self.line, field=field)
        return InputError(self.path, message, field=f"[{self.index}]" + (f".{field}" if field else ""))

    def require(self, *fields: str) -> dict[str, Any]:
        """The row as a dict holding ``fields``; otherwise an error naming the first missing one."""
        if not isinstance(self.data, dict):
            raise self.error(f"expected a JSON object, got {type(self.data).__name__}")
        for name in fields:
            if name not in self.data or self.data[name] is None:
                raise self.error("missing required field", name)
        return self.data


RowOrError = Row | InputError


def is_local(source: str | os.PathLike) -> bool:
    """Whether ``source`` names an existing local file or directory (else it is taken for a hub dataset)."""
    return Path(source).exists()


def iter_rows(source: str | os.PathLike, *, split: str | None = None) -> Iterator[RowOrError]:
    """Rows of a local file or directory, or of a hub dataset named ``owner/name`` when no such
    path exists (needs the ``datasets`` package and network access)."""
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.name.endswith(SUPPORTED))
        if not files:
            raise InputError(path, "directory holds no .jsonl, .json or .parquet file")
        for file in files:
            yield from iter_file_rows(file)
    elif path.exists():
        yield from iter_file_rows(path)
    else:
        yield from iter_hub_rows(str(source), split=split)


def iter_file_rows(path: Path) -> Iterator[RowOrError]:
    """Rows of one local file, read by its suffix; an unsupported suffix raises :class:`InputError`."""
    name = path.name
    if name.endswith(JSONL_SUFFIXES):
        yield from jsonl_rows(path)
    elif name.endswith(JSON_SUFFIXES):
        yield from _json_rows(path)
    elif name.endswith(PARQUET_SUFFIXES):
        yield from _parquet_rows(path)
    else:
        raise InputError(path, f"unsupported file type; expected one of {', '.join(SUPPORTED)}")


def _open_text(path: Path) -> IO[str]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def jsonl_rows(path: Path) -> Iterator[RowOrError]:
    """Rows of a JSONL file (gzipped if its name ends in ``.gz``): blank lines are skipped and a line
    that is not JSON is yielded as its :class:`InputError`, so that reading can go on past it."""
    with _open_text(path) as handle:
        index = 0
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                yield Row(parse_json(text, path, number), str(path), index, number)
            except InputError as err:
                yield err
            index += 1


def _json_rows(path: Path) -> Iterator[RowOrError]:
    with _open_text(path) as handle:
        text = handle.read()
    data = parse_json(text, path)
    if isinstance(data, dict):
        # A few dumps wrap the list: {"data": [...]} or {"train": [...]}: accept one list-valued key.
        lists = [value for value in data.values() if isinstance(value, list)]
        if len(lists) != 1:
            raise InputError(path, "expected a JSON array of rows (or an object holding exactly one array)")
        data = lists[0]
    if not isinstance(data, list):
        raise InputError(path, f"expected a JSON array of rows, got {type(data).__name__}")
    for index, item in enumerate(data):
        yield Row(item, str(path), index)


def _parquet_rows(path: Path) -> Iterator[RowOrError]:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        raise InputError(path, "reading parquet needs pyarrow (pip install pyarrow)") from None
    try:
        parquet = pq.ParquetFile(path)
    except Exception as err:  # pyarrow raises several types for a corrupt file
        raise InputError(path, f"not a readable parquet file ({err})") from None
    index = 0
    for batch in parquet.iter_batches(batch_size=256):
        for record in batch.to_pylist():
            yield Row(record, str(path), index)
            index += 1


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` or ``HF_DATASETS_OFFLINE`` forbids hub access (``1``, ``true``, ``yes``, ``on``)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"} or os.environ.get(
        "HF_DATASETS_OFFLINE", ""
    ).strip().lower() in {"1", "true", "yes", "on"}


def require_hub(name: str) -> None:
    """Raise a clear error when ``name`` is not a local path and the hub cannot be used."""
    if "/" not in name or name.startswith((".", "/")) or name.endswith(SUPPORTED):
        raise InputError(name, "no such file or directory")
    if hub_offline():
        raise InputError(name, "no such local file, and hub access is disabled (HF_HUB_OFFLINE is set)")


def iter_hub_rows(name: str, *, split: str | None = None) -> Iterator[RowOrError]:
    """Rows of a hub dataset through ``datasets.load_dataset`` (online only)."""
    require_hub(name)
    try:
        import datasets
    except ImportError:  # pragma: no cover - datasets is a dependency
        raise InputError(name, "loading from the hub needs the 'datasets' package (pip install datasets)") from None
    loaded = datasets.load_dataset(name, split=split) if split else datasets.load_dataset(name)
    if isinstance(loaded, dict):  # a DatasetDict: the caller must say which split unless there is one
        if len(loaded) != 1:
            raise InputError(name, f"choose a split with --split: {', '.join(sorted(loaded))}")
        split, loaded = next(iter(loaded.items()))
    where = f"hf://{name}[{split}]" if split else f"hf://{name}"
    for index, record in enumerate(loaded):
        yield Row(record, where, index)


def json_field(row: Row, name: str, *, default: Any = None) -> Any:
    """Field ``name`` of ``row``; a string holding JSON is parsed (public dumps store nested objects
    as JSON text). Errors name the row and the field."""
    value = row.data.get(name, default) if isinstance(row.data, dict) else default
    if isinstance(value, (str, bytes)):
        try:
            return json.loads(value)
        except json.JSONDecodeError as err:
            raise row.error(f"not valid JSON ({err.msg} at position {err.pos})", name) from None
    return value
