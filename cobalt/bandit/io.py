"""Files in and out of the bandit builder: trajectories in, the dataset out (and back in).

Every bad input raises :class:`cobalt.jsonl.InputError` naming the file, the line and the field.
The dataset is written as JSONL (one :class:`~cobalt.records.BanditExample` per line), parquet,
or a ``datasets.Dataset`` directory (``save_to_disk``); all three hold the same columns: ``id``,
``prompt`` (list of ``{role, content}``), ``tests`` (``{inputs, outputs, fn_name}``),
``prev_best_pass_rate``, ``problem_id``, ``turn``, ``perturbed``, ``comparator`` and ``meta``
(``{sample, improvement, split}``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from cobalt.bandit.builder import TrajectoryError, check_trajectory
from cobalt.jsonl import InputError, JsonlWriter, read_records, validate
from cobalt.records import BanditExample, Problem, Trajectory

Format = Literal["jsonl", "parquet", "dataset"]


def load_trajectories(
    path: str | os.PathLike, problems: Mapping[str, Problem], *, perturbed_only: bool = False
) -> list[Trajectory]:
    """Trajectories, each checked against its problem (:func:`cobalt.bandit.check_trajectory`); a file
    without any is an :class:`~cobalt.jsonl.InputError`."""
    seen: dict[str, int] = {}
    out = []
    for line, traj in read_records(path, Trajectory):
        if perturbed_only and traj.condition != "perturbed":
            raise InputError(path, "a --perturbed file holds perturbed trajectories only", line=line, field="condition")
        if traj.problem_id not in problems:
            raise InputError(
                path, f"problem {traj.problem_id!r} is not in the problems file", line=line, field="problem_id"
            )
        if traj.key in seen:
            raise InputError(path, f"trajectory {traj.key} repeats line {seen[traj.key]}", line=line, field="sample")
        try:
            check_trajectory(traj, problems[traj.problem_id])
        except TrajectoryError as err:
            raise InputError(path, str(err), line=line, field=err.field) from None
        seen[traj.key] = line
        out.append(traj)
    if not out:  # an empty run (a failed or unfinished rollout) would silently build nothing
        raise InputError(path, "the file holds no trajectories")
    return out


def check_rewardable(problems: Mapping[str, Problem], path: str | os.PathLike) -> None:
    """Refuse a problem without any test: the reward scores every completion on its tests."""
    for problem in problems.values():
        if len(problem.all_tests) == 0:
            raise InputError(path, f"problem {problem.id!r} has no tests to reward programs on", field="hidden_tests")


def output_format(path: str | os.PathLike, fmt: Format | None = None) -> Format:
    """The format asked for, else the one the path names: ``.jsonl``, ``.parquet``, or a directory."""
    if fmt is not None:
        return fmt
    suffix = Path(path).suffix.lower()
    return "jsonl" if suffix == ".jsonl" else "parquet" if suffix == ".parquet" else "dataset"


def _arrow_table(examples: Iterable[BanditExample]) -> Any:
    """The rows with explicit column types (a column that happens to be all null stays a string)."""
    import pyarrow as pa

    text, messages = pa.string(), pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))
    tests = pa.struct([("inputs", pa.list_(text)), ("outputs", pa.list_(text)), ("fn_name", text)])
    meta = pa.struct([("sample", pa.int64()), ("improvement", pa.float64()), ("split", text)])
    schema = pa.schema(
        [("id", text), ("prompt", messages), ("tests", tests), ("prev_best_pass_rate", pa.float64()),
         ("problem_id", text), ("turn", pa.int64()), ("perturbed", pa.bool_()), ("comparator", text), ("meta", meta)]
    )  # fmt: skip
    return pa.Table.from_pylist([e.model_dump(mode="json") for e in examples], schema=schema)


def to_hf_dataset(examples: Iterable[BanditExample]) -> Any:
    """The examples as a ``datasets.Dataset`` (the form TRL's GRPOTrainer takes)."""
    import datasets

    return datasets.Dataset(_arrow_table(examples))


def write_examples(examples: list[BanditExample], path: str | os.PathLike, fmt: Format | None = None) -> Format:
    """Write the dataset; returns the format used. An existing output is replaced."""
    fmt = output_format(path, fmt)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        with JsonlWriter(path, resume=False) as writer:
            for example in examples:
                writer.write(example)
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(_arrow_table(examples), str(path))
    else:
        to_hf_dataset(examples).save_to_disk(str(path))
    return fmt


def read_examples(path: str | os.PathLike) -> list[BanditExample]:
    """The bandit dataset at ``path``: a directory written by ``datasets`` (``save_to_disk``), a
    ``.parquet`` file, or else JSONL; every row validated, a bad one named by file, line and field.
    This is the one reader of the dataset (the builder's output and the trainers' input)."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "no such file or directory")
    if path.is_file() and path.suffix.lower() != ".parquet":
        return [example for _, example in read_records(path, BanditExample)]
    if path.is_file():
        import pyarrow.parquet as pq

        rows = pq.read_table(str(path)).to_pylist()
    else:
        import datasets

        rows = datasets.load_from_disk(str(path)).to_list()
    return [validate(BanditExample, row, path, line) for line, row in enumerate(rows, start=1)]
