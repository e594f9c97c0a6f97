"""How many verdicts each output comparator changes, against the reference's ``strip`` rule.

Run:  python benchmarks/comparators.py      (about a minute on 2 cores)

The reference pipeline accepts a test when ``output.strip() == expected.strip()`` (comparator
``strip``). Every solution the shared data folder holds for a stdin/stdout problem runs once in the
executor on each of its tests (CodeContests-300: the accepted ``main.py`` of 300 problems, 10 tests
each; APPS train rows and the TACO row: all their stdin solutions; none of these files holds
incorrect solutions). Each test's output is then judged by every comparator (``strip``,
``lines``, ``tokens``, ``float``, ``exact``) and the verdicts are counted where they differ from
``strip``'s: per test, and per program (all tests accepted or not). Tests that crashed or timed
out get the same verdict under every comparator.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from differential import Case, real_cases, run_executor, verdict_of  # noqa: E402

from cobalt.sandbox import SandboxConfig  # noqa: E402

COMPARATORS = ("strip", "lines", "tokens", "float", "exact")
REFERENCE = "strip"


def dataset_of(case: Case) -> str:
    return {"codecontests": "CodeContests-300", "apps": "APPS train rows", "taco": "TACO 1492B row"}[
        case.name.split("/", 1)[0]
    ]


def verdict_table(cases: list[Case], runs: dict) -> dict[str, list[list[str]]]:
    """comparator -> per case -> per test verdicts, from one executor run of every case."""
    table: dict[str, list[list[str]]] = {name: [] for name in COMPARATORS}
    for c, case in enumerate(cases):
        for name in COMPARATORS:
            table[name].append(
                [
                    verdict_of(
                        runs[(c, t)].status, runs[(c, t)].stdout, case.tests.outputs[t], case.tests.inputs[t], name
                    )
                    for t in range(len(case.tests))
                ]
            )
    return table


def count_changes(cases: list[Case], table: dict[str, list[list[str]]]) -> list[str]:
    """One markdown row per dataset and comparator."""
    rows = []
    for dataset in sorted({dataset_of(case) for case in cases}):
        chosen = [c for c, case in enumerate(cases) if dataset_of(case) == dataset]
        tests = sum(len(cases[c].tests) for c in chosen)
        for name in COMPARATORS:
            changed_tests = Counter()
            changed_programs = 0
            accepted = 0
            for c in chosen:
                ours, ref = table[name][c], table[REFERENCE][c]
                changed_tests.update(f"{r}->{o}" for o, r in zip(ours, ref) if o != r)
                changed_programs += all(v == "AC" for v in ours) != all(v == "AC" for v in ref)
                accepted += sum(v == "AC" for v in ours)
            detail = ", ".join(f"{k} {v}" for k, v in sorted(changed_tests.items())) or "-"
            rows.append(
                f"| {dataset} | {len(chosen)} | {tests} | `{name}` | {accepted} | "
                f"{sum(changed_tests.values())} ({detail}) | {changed_programs} |"
            )
    return rows


def main() -> None:
    cases = real_cases()
    if not cases:
        sys.exit("no shared data found (set COBALT_SHARED_DATA)")
    started = time.monotonic()
    runs = run_executor(cases, SandboxConfig(cache_size=0), REFERENCE)
    print(f"ran {len(cases)} programs in {time.monotonic() - started:.0f} s", file=sys.stderr)
    table = verdict_table(cases, runs)
    print("| dataset | programs | tests | comparator | tests AC | test verdicts ≠ strip | program verdicts ≠ strip |")
    print("|---|---:|---:|---|---:|---:|---:|")
    print("\n".join(count_changes(cases, table)))


if __name__ == "__main__":
    main()
