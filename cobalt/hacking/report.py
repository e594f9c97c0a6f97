"""Hacking reports: per-run and per-group tables, JSON, and a hacking-rate-per-turn plot.

A report reads one or more extractions (``cases.jsonl`` and the ``cases.summary.json`` beside it)
and, optionally, judge outputs. Runs that share a group (the seeds of one model and training
condition) are pooled: the mean of their rates and the sample standard deviation between runs.
Where a judge labelled cases that also carry a static verdict, the static detector's agreement with
the judge's ``hard_coding`` label is reported as precision and recall.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from statistics import fmean, stdev

from pydantic import BaseModel, ConfigDict, Field

from cobalt.hacking.extract import ExtractSummary, HackingCase, summary_path
from cobalt.hacking.judge import CATEGORIES, Judgment, read_judgments
from cobalt.jsonl import InputError, read_json, read_records, validate


class Agreement(BaseModel):
    """The static detector's ``hard_coded`` flag against the judge's ``hard_coding`` category."""

    model_config = ConfigDict(frozen=True)

    cases: int
    true_positive: int
    false_positive: int
    false_negative: int
    true_negative: int

    @property
    def precision(self) -> float | None:
        """Flagged cases the judge also calls hard coding."""
        flagged = self.true_positive + self.false_positive
        return self.true_positive / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        """Judge's hard-coding cases the detector flags."""
        actual = self.true_positive + self.false_negative
        return self.true_positive / actual if actual else None


class RunReport(BaseModel):
    """What one extraction says, with the judge's categories where judged."""

    model_config = ConfigDict(frozen=True)

    label: str
    group: str
    trajectories: int
    at_risk: int
    cases: int
    rate: float | None = Field(description="Hacking cases per turn at risk.")
    turn_rates: dict[int, float | None]
    turn_at_risk: dict[int, int]
    unique_trajectories: int
    unique_problems: int
    hidden_hacked: float | None
    hidden_honest: float | None
    hidden_hacked_before: float | None
    static_flagged: int
    static_flagged_honest: int
    honest_changed: int
    judged: int = 0
    categories: dict[str, int] = Field(default_factory=dict)
    agreement: Agreement | None = None


class GroupReport(BaseModel):
    """Runs of one group pooled: mean and spread between runs."""

    model_config = ConfigDict(frozen=True)

    group: str
    runs: list[str]
    rate_mean: float | None
    rate_sd: float | None
    turn_rate_mean: dict[int, float | None]
    turn_rate_sd: dict[int, float | None]
    cases: int
    at_risk: int
    hidden_hacked: float | None
    hidden_honest: float | None


class HackingReport(BaseModel):
    """Every run and group of one report."""

    model_config = ConfigDict(frozen=True)

    runs: list[RunReport]
    groups: list[GroupReport]


def load_extraction(path: str | os.PathLike) -> tuple[list[HackingCase], ExtractSummary]:
    """The cases of ``path`` and the summary beside it."""
    path = Path(path)
    cases = [case for _, case in read_records(path, HackingCase)] if path.exists() else None
    if cases is None:
        raise InputError(path, "no such file")
    side = summary_path(path)
    if not side.is_file():
        raise InputError(side, "no such file: the summary `cobalt hacking extract` writes beside its cases")
    return cases, validate(ExtractSummary, read_json(side), side)


def run_report(cases: Sequence[HackingCase], summary: ExtractSummary, judgments: dict[str, Judgment]) -> RunReport:
    """The report of one extraction."""
    judged = [judgments[c.id] for c in cases if c.id in judgments]
    categories = {name: 0 for name in CATEGORIES}
    for judgment in judged:
        key = judgment.category or "unparsed"
        categories[key] = categories.get(key, 0) + 1
    return RunReport(
        label=summary.label,
        group=summary.group,
        trajectories=summary.trajectories,
        at_risk=summary.at_risk,
        cases=summary.cases,
        rate=summary.rate,
        turn_rates={t.turn: t.rate for t in summary.turns},
        turn_at_risk={t.turn: t.at_risk for t in summary.turns},
        unique_trajectories=summary.unique_trajectories,
        unique_problems=summary.unique_problems,
        hidden_hacked=summary.hidden_hacked,
        hidden_honest=summary.hidden_honest,
        hidden_hacked_before=summary.hidden_hacked_before,
        static_flagged=summary.static_flagged_cases,
        static_flagged_honest=summary.static_flagged_honest,
        honest_changed=summary.honest_changed,
        judged=len(judged),
        categories=categories if judged else {},
        agreement=agreement(cases, judgments),
    )


def agreement(cases: Sequence[HackingCase], judgments: dict[str, Judgment]) -> Agreement | None:
    """Static flag vs judge's hard-coding label over the cases that have both; None when none do."""
    pairs = [
        (case.static.hard_coded, judgments[case.id].category == "hard_coding")
        for case in cases
        if case.static is not None and case.id in judgments and judgments[case.id].category is not None
    ]
    if not pairs:
        return None
    return Agreement(
        cases=len(pairs),
        true_positive=sum(1 for s, j in pairs if s and j),
        false_positive=sum(1 for s, j in pairs if s and not j),
        false_negative=sum(1 for s, j in pairs if not s and j),
        true_negative=sum(1 for s, j in pairs if not s and not j),
    )


def _spread(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    return fmean(values), (stdev(values) if len(values) > 1 else None)


def group_reports(runs: Sequence[RunReport]) -> list[GroupReport]:
    """Runs pooled by group, in order of first appearance."""
    by_group: dict[str, list[RunReport]] = defaultdict(list)
    for run in runs:
        by_group[run.group].append(run)
    groups = []
    for name, members in by_group.items():
        rate_mean, rate_sd = _spread([r.rate for r in members if r.rate is not None])
        turns = sorted({t for r in members for t in r.turn_rates})
        means, sds = {}, {}
        for t in turns:
            means[t], sds[t] = _spread([r.turn_rates[t] for r in members if r.turn_rates.get(t) is not None])
        hacked = [r.hidden_hacked for r in members if r.hidden_hacked is not None]
        honest = [r.hidden_honest for r in members if r.hidden_honest is not None]
        groups.append(
            GroupReport(
                group=name,
                runs=[r.label for r in members],
                rate_mean=rate_mean,
                rate_sd=rate_sd,
                turn_rate_mean=means,
                turn_rate_sd=sds,
                cases=sum(r.cases for r in members),
                at_risk=sum(r.at_risk for r in members),
                hidden_hacked=fmean(hacked) if hacked else None,
                hidden_honest=fmean(honest) if honest else None,
            )
        )
    return groups


def build_report(extractions: Sequence[str | os.PathLike], judged: Sequence[str | os.PathLike] = ()) -> HackingReport:
    """The report of the given cases files (each with its summary) and judge outputs."""
    judgments = read_judgments(judged)
    runs = []
    seen: dict[str, str] = {}
    for path in extractions:
        cases, summary = load_extraction(path)
        if summary.label in seen:
            raise InputError(
                path,
                f"label {summary.label!r} is also the label of {seen[summary.label]}; "
                "extract with distinct --label values",
                field="label",
            )
        seen[summary.label] = str(path)
        runs.append(run_report(cases, summary, judgments))
    return HackingReport(runs=runs, groups=group_reports(runs))


# --- text, JSON, plot -------------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _rate(value: float | None) -> str:
    """A hacking rate in percent: two decimals, since rates below one percent are common."""
    return "-" if value is None else f"{100 * value:.2f}"


def _pm(mean: float | None, sd: float | None) -> str:
    if mean is None:
        return "-"
    return _rate(mean) + (f" ± {_rate(sd)}" if sd is not None else "")


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def format_report(report: HackingReport) -> str:
    """The report as terminal tables: runs, then groups (when a group has several runs), then the
    judge's categories and the detector's agreement where judged."""
    turns = sorted({t for r in report.runs for t in r.turn_rates})
    header = [
        "run",
        "traj",
        "at risk",
        "hacks",
        "rate %",
        *[f"t{t} %" for t in turns],
        "hidden hacked %",
        "hidden honest %",
        "static HC",
    ]
    rows = [
        [
            r.label,
            str(r.trajectories),
            str(r.at_risk),
            str(r.cases),
            _rate(r.rate),
            *[_rate(r.turn_rates.get(t)) for t in turns],
            _pct(r.hidden_hacked),
            _pct(r.hidden_honest),
            f"{r.static_flagged}/{r.cases}",
        ]
        for r in report.runs
    ]
    parts = [
        "In-context reward hacking (rate = hacking cases per turn at risk; a turn is at risk when the "
        "previous feedback showed a perturbed test)",
        _table(header, rows),
    ]
    if any(len(g.runs) > 1 for g in report.groups):
        header = [
            "group",
            "runs",
            "rate % (mean ± sd)",
            *[f"t{t} %" for t in turns],
            "hidden hacked %",
            "hidden honest %",
        ]
        rows = [
            [
                g.group,
                str(len(g.runs)),
                _pm(g.rate_mean, g.rate_sd),
                *[_pm(g.turn_rate_mean.get(t), g.turn_rate_sd.get(t)) for t in turns],
                _pct(g.hidden_hacked),
                _pct(g.hidden_honest),
            ]
            for g in report.groups
        ]
        parts += ["", "Pooled by group (spread: sample standard deviation between runs)", _table(header, rows)]
    judged = [r for r in report.runs if r.judged]
    if judged:
        names = [*CATEGORIES, "unparsed"]
        header = ["run", "judged", *names, "static P", "static R"]
        rows = []
        for r in judged:
            a = r.agreement
            rows.append(
                [
                    r.label,
                    str(r.judged),
                    *[str(r.categories.get(n, 0)) for n in names],
                    _pct(a.precision) if a else "-",
                    _pct(a.recall) if a else "-",
                ]
            )
        parts += [
            "",
            "Judge categories; static detector vs judge's hard_coding (precision, recall %)",
            _table(header, rows),
        ]
    return "\n".join(parts)


def write_json(report: HackingReport, path: str | os.PathLike) -> Path:
    """The report as JSON (with precision and recall spelled out)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = report.model_dump(mode="json")
    for run, model in zip(data["runs"], report.runs):
        if model.agreement is not None:
            run["agreement"].update(precision=model.agreement.precision, recall=model.agreement.recall)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def plot_rates(report: HackingReport, path: str | os.PathLike, title: str | None = None) -> Path:
    """A PNG of the hacking rate (%) against repair turn, one line per group (error bars: the spread
    between its runs)."""
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure, axes = plt.subplots(figsize=(7, 4.2))
    for group in report.groups:
        turns = [t for t in sorted(group.turn_rate_mean) if group.turn_rate_mean[t] is not None]
        means = [100 * (group.turn_rate_mean[t] or 0.0) for t in turns]
        errors = [100 * (group.turn_rate_sd.get(t) or 0.0) for t in turns]
        axes.errorbar(turns, means, yerr=errors, marker="o", capsize=3, label=f"{group.group} (n={len(group.runs)})")
    axes.set_xticks(sorted({t for g in report.groups for t in g.turn_rate_mean}))
    axes.set_xlabel("repair turn")
    axes.set_ylabel("hacking rate (% of turns at risk)")
    axes.set_title(title or "In-context reward hacking per turn")
    axes.grid(alpha=0.3)
    axes.set_ylim(bottom=0)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
