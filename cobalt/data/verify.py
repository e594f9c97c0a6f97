"""Verify problems with the solutions their dataset provides, in the sandbox.

A problem is kept when at least one of its provided solutions passes all of its tests (public and
hidden). Solutions are tried in a seeded order, at most ``max_solutions`` per problem, stopping at
the first that passes; problems are verified in batches so the executor stays busy.

Where Cobalt differs from the reference release: the release ran this check but kept every problem
whatever the result (docs/paper.md §7, "checks reference solutions but does not filter"); here a
problem that no solution passes is dropped, because its tests are likely wrong or need a special
checker, and a wrong test teaches the policy to hack. A source may also offer *alternative readings*
of its tests (e.g. call-based outputs wrapped in a one-element list or not); the first reading that
some solution passes is the one kept.

Call-based solutions are run with ``from typing import *`` prepended, because many LeetCode-style
solutions annotate with ``List[int]`` without importing it; this only affects verification.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from cobalt.data.report import LoadReport
from cobalt.records import ExecRequest, Problem

CALL_PRELUDE = "from typing import *\n"
NO_SOLUTION = "no provided solution to verify with"
NONE_PASSED = "no provided solution passes all tests"


@dataclass
class Candidate:
    """A problem before verification: its readings (the first is the default) and its solutions."""

    readings: list[Problem]
    solutions: list[str] = field(default_factory=list)

    @property
    def problem(self) -> Problem:
        """The problem under its default reading."""
        return self.readings[0]


def _ordered_solutions(candidate: Candidate, max_solutions: int) -> list[str]:
    solutions = [s for s in candidate.solutions if isinstance(s, str) and s.strip()]
    seed = int.from_bytes(hashlib.sha256(candidate.problem.id.encode()).digest()[:8], "big")
    random.Random(seed).shuffle(solutions)
    return solutions[:max_solutions]


def _request(problem: Problem, code: str, tag: str) -> ExecRequest:
    prelude = CALL_PRELUDE if problem.fn_name else ""
    return ExecRequest(
        id=tag, code=prelude + code, tests=problem.all_tests, comparator=problem.comparator, stop_on_first_failure=True
    )


@dataclass
class _Attempt:
    candidate: Candidate
    solutions: list[str]
    reading: int = 0
    solution: int = 0

    def request(self, tag: str) -> ExecRequest:
        return _request(self.candidate.readings[self.reading], self.solutions[self.solution], tag)

    def advance(self) -> bool:
        """Move to the next (reading, solution) pair; False when every pair has failed."""
        self.solution += 1
        if self.solution >= len(self.solutions):
            self.solution = 0
            self.reading += 1
        return self.reading < len(self.candidate.readings)


def _verify_batch(executor, batch: list[Candidate], report: LoadReport, max_solutions: int) -> list[Problem]:
    kept: dict[int, Problem] = {}
    pending: dict[int, _Attempt] = {}
    for index, candidate in enumerate(batch):
        solutions = _ordered_solutions(candidate, max_solutions)
        if solutions:
            pending[index] = _Attempt(candidate, solutions)
        else:
            report.drop(NO_SOLUTION)
    while pending:
        order = list(pending)
        results = executor.run_all([pending[i].request(str(i)) for i in order])
        for index, result in zip(order, results):
            attempt = pending[index]
            if result.all_passed:
                problem = attempt.candidate.readings[attempt.reading]
                if attempt.reading:
                    report.note("kept an alternative reading of the tests")
                kept[index] = problem.model_copy(
                    update={"meta": {**problem.meta, "verified_solution": attempt.solutions[attempt.solution]}}
                )
                del pending[index]
            elif not attempt.advance():
                report.drop(NONE_PASSED)
                del pending[index]
    return [kept[i] for i in sorted(kept)]


def verify_candidates(
    candidates: Iterable[Candidate],
    report: LoadReport,
    *,
    config=None,
    max_solutions: int = 16,
    batch_size: int = 32,
) -> Iterator[Problem]:
    """Yield the problems that some provided solution passes, in input order.

    ``config`` is a :class:`cobalt.sandbox.SandboxConfig` (default: the executor's defaults). The
    kept problem records the passing solution in ``meta["verified_solution"]``.
    """
    from cobalt.sandbox import SyncExecutor

    with SyncExecutor(config) as executor:
        batch: list[Candidate] = []
        for candidate in candidates:
            batch.append(candidate)
            if len(batch) >= batch_size:
                yield from _verify_batch(executor, batch, report, max_solutions)
                batch = []
        if batch:
            yield from _verify_batch(executor, batch, report, max_solutions)
