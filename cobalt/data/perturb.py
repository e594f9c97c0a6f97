"""Test perturbation: swap the expected outputs of two public tests (docs/paper.md §2.7).

For each problem: shuffle the public tests with a seeded generator, take the first test and the
first later one whose expected output differs from it, and swap their expected outputs. No correct
program can pass both swapped tests; the other public tests stay as they were. Problems whose public
outputs are all the same cannot be perturbed and are dropped (counted).

Where Cobalt differs from the reference release, and why:

* The problem keeps its **original** public tests in ``public_tests``; the perturbed list lives in
  ``meta["perturbation"]`` (a :class:`Perturbation`). One record then serves both conditions of
  the paper's comparison (original vs perturbed, with turn-0 programs shared), and
  :attr:`~cobalt.records.Problem.all_tests`, which the reward scores on, is never corrupted.
  :func:`perturbed_view` gives the perturbed problem as a plain ``Problem``; the perturbed
  condition of ``cobalt rollout`` (and the demo) runs it through :func:`perturbed_problems`, so
  the policy sees and is fed back the swapped outputs while the hidden tests stay as they were.
* The generator is seeded per problem from ``(seed, problem id)``, so a problem's perturbation does
  not depend on the file order or on which other problems are in the file.
* "Different outputs" means different after whitespace normalisation (tokens), and, for call-based
  problems, different JSON values: two outputs a comparator would accept as equal are never chosen.
* Order of the perturbed list: the two modified tests first (as in the release, so that a correct
  program's first failing public test, the one shown as feedback, is a perturbed one), then the
  other public tests in shuffled order.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Iterable, Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict

from cobalt.data.cleaning import Dropped
from cobalt.data.report import LoadReport
from cobalt.jsonl import InputError
from cobalt.records import Problem, Tests

META_KEY = "perturbation"
ORIGINAL_PUBLIC_KEY = "original_public_tests"  # where a perturbed view keeps the original public tests
NO_PAIR = "no two public tests with different outputs"


class Perturbation(BaseModel):
    """The perturbed public tests of one problem, stored in ``Problem.meta["perturbation"]``.

    ``public_tests`` is the full perturbed public list (what the model is shown); ``modified_tests``
    are the two tests whose expected outputs were swapped (they are also the first two of
    ``public_tests``). ``seed`` is None for perturbations read from a dataset that did not say.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int | None = None
    public_tests: Tests
    modified_tests: Tests


def _seed_for(seed: int, problem_id: str) -> int:
    digest = hashlib.sha256(f"{seed}\0{problem_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _canonical_output(text: str, call_based: bool) -> Any:
    if call_based:
        try:
            return json.dumps(json.loads(text), sort_keys=True)
        except json.JSONDecodeError:
            pass
    return tuple(text.split())


def perturb_problem(problem: Problem, seed: int) -> Problem:
    """``problem`` with a :class:`Perturbation` in its meta. Raises :class:`Dropped` when no two
    public tests have different expected outputs."""
    tests = problem.public_tests
    call_based = tests.fn_name is not None
    order = list(range(len(tests)))
    random.Random(_seed_for(seed, problem.id)).shuffle(order)
    if not order:
        raise Dropped(NO_PAIR)
    first = order[0]
    first_output = _canonical_output(tests.outputs[first], call_based)
    second = next((i for i in order[1:] if _canonical_output(tests.outputs[i], call_based) != first_output), None)
    if second is None:
        raise Dropped(NO_PAIR)
    swapped = [(tests.inputs[first], tests.outputs[second]), (tests.inputs[second], tests.outputs[first])]
    rest = [(tests.inputs[i], tests.outputs[i]) for i in order if i not in (first, second)]
    perturbation = Perturbation(
        seed=seed,
        public_tests=_tests(swapped + rest, tests.fn_name),
        modified_tests=_tests(swapped, tests.fn_name),
    )
    return problem.model_copy(update={"meta": {**problem.meta, META_KEY: perturbation.model_dump(mode="json")}})


def _tests(pairs: list[tuple[str, str]], fn_name: str | None) -> Tests:
    return Tests(inputs=[i for i, _ in pairs], outputs=[o for _, o in pairs], fn_name=fn_name)


def perturb_problems(problems: Iterable[Problem], seed: int, report: LoadReport | None = None) -> Iterator[Problem]:
    """Perturb each problem; those without a pair of different outputs are dropped and counted."""
    report = report if report is not None else LoadReport(source="perturb")
    for problem in problems:
        report.rows += 1
        try:
            perturbed = perturb_problem(problem, seed)
        except Dropped as drop:
            report.drop(drop.reason)
            continue
        report.kept += 1
        yield perturbed


def perturbation_of(problem: Problem) -> Perturbation | None:
    """The problem's :class:`Perturbation`, or None when it has none."""
    data = problem.meta.get(META_KEY)
    if data is None:
        return None
    return Perturbation.model_validate(data)


def perturbed_view(problem: Problem) -> Problem:
    """The problem as the perturbed condition shows it: public tests replaced by the perturbed list
    (the original public tests move to ``meta["original_public_tests"]``); hidden tests unchanged.

    A problem that already is a perturbed view is returned as it is, so the original public tests
    are never overwritten with the perturbed ones. Raises ValueError when there is no perturbation.
    """
    if ORIGINAL_PUBLIC_KEY in problem.meta:
        return problem
    perturbation = perturbation_of(problem)
    if perturbation is None:
        raise ValueError(f"problem {problem.id!r} has no perturbation")
    meta = {**problem.meta, ORIGINAL_PUBLIC_KEY: problem.public_tests.model_dump(mode="json")}
    return problem.model_copy(update={"public_tests": perturbation.public_tests, "meta": meta})


def perturbed_problems(problems: Iterable[Problem], source: str | os.PathLike = "problems") -> list[Problem]:
    """Every problem as :func:`perturbed_view` shows it, for the perturbed condition.

    A problem without a perturbation is refused with an :class:`~cobalt.jsonl.InputError` naming
    ``source`` and the problem: running it on its original tests under the ``perturbed`` label
    would silently mislabel the run.
    """
    views = []
    for problem in problems:
        if perturbation_of(problem) is None and ORIGINAL_PUBLIC_KEY not in problem.meta:
            raise InputError(
                source,
                f"problem {problem.id!r} has no perturbation, so the perturbed condition cannot run it: "
                "perturb the file first (cobalt data perturb IN OUT --seed S), or use --condition original",
                field=f"meta.{META_KEY}",
            )
        views.append(perturbed_view(problem))
    return views
