"""Summary statistics of a problem set (``cobalt data stats``)."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cobalt.data.perturb import META_KEY
from cobalt.records import Problem


def _spread(values: list[int]) -> dict[str, float]:
    if not values:
        return {"min": 0, "median": 0, "mean": 0.0, "max": 0}
    return {
        "min": min(values),
        "median": statistics.median(values),
        "mean": round(statistics.fmean(values), 2),
        "max": max(values),
    }


@dataclass
class ProblemStats:
    """Counts over problems; :meth:`to_dict` is the JSON form, :meth:`table` the human one."""

    problems: int = 0
    public_tests: list[int] = field(default_factory=list)
    hidden_tests: list[int] = field(default_factory=list)
    statement_chars: list[int] = field(default_factory=list)
    call_based: int = 0
    perturbed: int = 0
    with_reference_solution: int = 0
    wrong_solutions: list[int] = field(default_factory=list)
    by_source: Counter[str] = field(default_factory=Counter)
    by_difficulty: Counter[str] = field(default_factory=Counter)
    by_comparator: Counter[str] = field(default_factory=Counter)
    by_split: Counter[str] = field(default_factory=Counter)

    def add(self, problem: Problem) -> None:
        """Count one more problem."""
        self.problems += 1
        self.public_tests.append(len(problem.public_tests))
        self.hidden_tests.append(len(problem.hidden_tests))
        self.statement_chars.append(len(problem.statement))
        self.call_based += problem.fn_name is not None
        self.perturbed += META_KEY in problem.meta
        self.with_reference_solution += bool(problem.meta.get("reference_solution"))
        if isinstance(problem.meta.get("wrong_solutions"), list):
            self.wrong_solutions.append(len(problem.meta["wrong_solutions"]))
        self.by_source[problem.source or "-"] += 1
        self.by_difficulty[problem.difficulty or "-"] += 1
        self.by_comparator[problem.comparator or "default"] += 1
        if isinstance(problem.meta.get("split"), str):
            self.by_split[problem.meta["split"]] += 1

    def to_dict(self) -> dict[str, Any]:
        """The statistics as JSON-ready data: counts, min/median/mean/max of each list, categories most
        frequent first (``wrong_solutions`` is None when no problem stores them)."""
        total = [p + h for p, h in zip(self.public_tests, self.hidden_tests)]
        return {
            "problems": self.problems,
            "tests_per_problem": _spread(total),
            "public_tests": _spread(self.public_tests),
            "hidden_tests": _spread(self.hidden_tests),
            "without_public_tests": sum(1 for n in self.public_tests if n == 0),
            "without_hidden_tests": sum(1 for n in self.hidden_tests if n == 0),
            "statement_chars": _spread(self.statement_chars),
            "call_based": self.call_based,
            "stdin_stdout": self.problems - self.call_based,
            "perturbed": self.perturbed,
            "with_reference_solution": self.with_reference_solution,
            "wrong_solutions": _spread(self.wrong_solutions) if self.wrong_solutions else None,
            "by_source": dict(self.by_source.most_common()),
            "by_difficulty": dict(self.by_difficulty.most_common()),
            "by_comparator": dict(self.by_comparator.most_common()),
            "by_split": dict(self.by_split.most_common()),
        }

    def table(self) -> str:
        """The statistics of :meth:`to_dict` as aligned lines for a terminal."""
        data = self.to_dict()
        lines = [f"problems            {data['problems']}"]
        for key in ("tests_per_problem", "public_tests", "hidden_tests", "statement_chars"):
            s = data[key]
            lines.append(f"{key:<19} min {s['min']}  median {s['median']}  mean {s['mean']}  max {s['max']}")
        lines.append(f"{'stdin/stdout':<19} {data['stdin_stdout']}   call-based {data['call_based']}")
        lines.append(
            f"{'no public tests':<19} {data['without_public_tests']}   no hidden tests {data['without_hidden_tests']}"
        )
        lines.append(
            f"{'perturbed':<19} {data['perturbed']}   with reference solution {data['with_reference_solution']}"
        )
        if data["wrong_solutions"]:
            s = data["wrong_solutions"]
            lines.append(f"{'wrong solutions':<19} min {s['min']}  median {s['median']}  max {s['max']}")
        for key in ("by_source", "by_difficulty", "by_comparator", "by_split"):
            if data[key]:
                lines.append(f"{key:<19} " + ", ".join(f"{k} {v}" for k, v in data[key].items()))
        return "\n".join(lines)


def problem_stats(problems: Iterable[Problem]) -> ProblemStats:
    """The statistics of ``problems``, read once (a stream is fine)."""
    stats = ProblemStats()
    for problem in problems:
        stats.add(problem)
    return stats
