"""Reading runs and reporting their metrics: JSON summary, terminal tables, a Pass@1-per-turn plot."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from cobalt.evaluate.metrics import RunSummary, UnscoredTurn, summarize
from cobalt.jsonl import InputError, read_records
from cobalt.records import Trajectory


def load_run(path: str | os.PathLike) -> dict[str, list[Trajectory]]:
    """The trajectories of a run file grouped by condition; a duplicate (problem, sample,
    condition) is an :class:`InputError` naming both lines."""
    path = Path(path)
    first_line: dict[str, int] = {}
    by_condition: dict[str, list[Trajectory]] = defaultdict(list)
    for number, trajectory in read_records(path, Trajectory):
        if trajectory.key in first_line:
            raise InputError(
                path,
                f"trajectory {trajectory.key} appears twice (first on line {first_line[trajectory.key]})",
                line=number,
                field="sample",
            )
        first_line[trajectory.key] = number
        by_condition[trajectory.condition].append(trajectory)
    if not first_line:
        raise InputError(path, "the run holds no trajectories")
    return dict(by_condition)


def summarize_file(path: str | os.PathLike, ks: Sequence[int] | None = None) -> list[RunSummary]:
    """One summary per condition found in the run file, labelled by the file name (and the
    condition when the file holds several). Errors name the file and, where known, the line."""
    path = Path(path)
    groups = load_run(path)
    summaries = []
    for condition, trajectories in sorted(groups.items()):
        label = path.stem if len(groups) == 1 else f"{path.stem}:{condition}"
        try:
            summaries.append(summarize(trajectories, label=label, source=str(path), ks=ks))
        except UnscoredTurn as err:
            line = _line_of(path, err.key)
            raise InputError(
                path,
                f"{err} (score it: cobalt evaluate RUN --problems FILE)",
                line=line,
                field=f"turns.{err.turn}.hidden_pass_rate",
            ) from None
        except ValueError as err:
            raise InputError(path, str(err)) from None
    return summaries


def _line_of(path: Path, key: str) -> int | None:
    for number, trajectory in read_records(path, Trajectory):
        if trajectory.key == key:
            return number
    return None


def write_json(summaries: Sequence[RunSummary], path: str | os.PathLike) -> None:
    """All summaries in one JSON document ``{"runs": [...]}``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"runs": [s.model_dump(mode="json") for s in summaries]}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:+.1f}" if signed else f"{100 * value:.1f}"


def format_run(summary: RunSummary) -> str:
    """A fixed-width table of one run's per-turn metrics (percentages)."""
    samples = (
        str(summary.samples_min)
        if summary.samples_min == summary.samples_max
        else f"{summary.samples_min}-{summary.samples_max}"
    )
    header = (
        f"{summary.label}  ({summary.source}; condition {summary.condition}; {summary.problems} problems x "
        f"{samples} samples; turns 0-{summary.turns - 1})"
    )
    ks = [k for k in summary.ks if k != 1]
    columns = ["turn", "pass@1", "delta", "rel%"] + [f"pass@{k}" for k in ks]
    columns += ["solved<=t", "hidden", "public ok", "no code", "keep", "fix", "tokens"]
    rows = []
    for m in summary.per_turn:
        row = [str(m.turn), _pct(m.pass_at_1), _pct(m.delta_vs_turn0, True), _pct(m.relative_change_vs_turn0, True)]
        row += [_pct(m.pass_at_k[str(k)]) for k in ks]
        row += [_pct(m.solved_within), _pct(m.hidden_pass_rate), _pct(m.public_all_passed), _pct(m.no_code)]
        row += [_pct(m.keep_rate), _pct(m.fix_rate)]
        row.append(f"{m.mean_completion_tokens:.0f}" if m.mean_completion_tokens is not None else "-")
        rows.append(row)
    lines = [header, text_table(columns, rows)]
    if summary.excluded:
        lines.append(f"left out (no hidden tests): {len(summary.excluded)} problem(s)")
    return "\n".join(lines)


def format_comparison(summaries: Sequence[RunSummary]) -> str:
    """Pass@1 per turn of several runs side by side, with each run's change against the first."""
    turns = max(s.turns for s in summaries)
    columns = ["turn"] + [s.label for s in summaries]
    columns += [f"{s.label} vs {summaries[0].label}" for s in summaries[1:]]
    rows = []
    for t in range(turns):
        values = [s.per_turn[t].pass_at_1 if t < s.turns else None for s in summaries]
        row = [str(t)] + [_pct(v) for v in values]
        base = values[0]
        row += [_pct(v - base, True) if v is not None and base is not None else "-" for v in values[1:]]
        rows.append(row)
    return "Pass@1 (%) per turn\n" + text_table(columns, rows)


def text_table(columns: list[str], rows: list[list[str]]) -> str:
    """Right-aligned columns under a header and a rule."""
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    line = "  ".join(c.rjust(w) for c, w in zip(columns, widths))
    body = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in rows]
    return "\n".join([line, "-" * len(line), *body])


def plot_pass_at_1(summaries: Sequence[RunSummary], path: str | os.PathLike, title: str | None = None) -> Path:
    """A PNG of Pass@1 (%) against turn, one line per run."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(7, 4.2))
    for summary in summaries:
        turns = list(range(summary.turns))
        axes.plot(turns, [100 * v for v in summary.pass_at_1()], marker="o", label=summary.label)
    axes.set_xlabel("turn (0 = first attempt)")
    axes.set_ylabel("Pass@1 (%)")
    axes.set_title(title or "Pass@1 of the program produced at each turn")
    axes.set_xticks(range(max(s.turns for s in summaries)))
    highest = max(100 * v for s in summaries for v in s.pass_at_1())
    axes.set_ylim(0, min(100.0, max(5.0, highest * 1.15)))
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
