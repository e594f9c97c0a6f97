"""Perturbation: two public outputs swapped, everything else kept, reproducible from the seed."""

from __future__ import annotations

import pytest

from cobalt.data import LoadReport, generate_suite, perturb_problem, perturb_problems, perturbation_of, perturbed_view
from cobalt.data.bundled import BundledConfig
from cobalt.data.cleaning import Dropped
from cobalt.data.perturb import perturbed_problems
from cobalt.jsonl import InputError
from cobalt.records import Problem, Tests


def _problem(id: str, outputs: list[str], fn_name: str | None = None) -> Problem:
    inputs = [f"{i}\n" for i in range(len(outputs))]
    public = Tests(inputs=inputs, outputs=outputs, fn_name=fn_name)
    return Problem(id=id, statement="s", public_tests=public, hidden_tests=Tests(inputs=["9\n"], outputs=["9\n"]))


def test_two_outputs_are_swapped_and_the_rest_kept():
    problem = _problem("p", ["a\n", "b\n", "c\n", "a\n"])
    perturbed = perturbation_of(perturb_problem(problem, seed=3))
    assert perturbed is not None
    (x1, x2), (y1, y2) = perturbed.modified_tests.inputs, perturbed.modified_tests.outputs
    original = dict(zip(problem.public_tests.inputs, problem.public_tests.outputs))
    assert (y1, y2) == (original[x2], original[x1]) and y1 != y2
    assert perturbed.public_tests.inputs[:2] == [x1, x2]  # the modified tests lead the list
    rest = list(zip(perturbed.public_tests.inputs[2:], perturbed.public_tests.outputs[2:]))
    assert all(original[x] == y for x, y in rest)
    assert sorted(perturbed.public_tests.inputs) == sorted(problem.public_tests.inputs)


def test_same_seed_same_perturbation_whatever_the_order():
    problems = [_problem(f"p{i}", ["a\n", "b\n", "c\n", "d\n"]) for i in range(20)]
    forward = {p.id: p for p in perturb_problems(problems, seed=7)}
    backward = {p.id: p for p in perturb_problems(problems[::-1], seed=7)}
    other = {p.id: p for p in perturb_problems(problems, seed=8)}
    assert forward == backward
    assert any(forward[k].meta != other[k].meta for k in forward)


def test_outputs_equal_up_to_whitespace_are_not_a_pair():
    with pytest.raises(Dropped):
        perturb_problem(_problem("p", ["1 2\n", "1  2", "1 2 \n"]), seed=0)


def test_call_based_outputs_compare_as_json_values():
    with pytest.raises(Dropped):
        perturb_problem(_problem("p", ["[1, 2]", "[1,2]"], fn_name="f"), seed=0)


def test_problems_without_a_pair_are_dropped_and_counted():
    report = LoadReport(source="perturb")
    problems = [_problem("same", ["x\n", "x\n"]), _problem("one", ["x\n"]), _problem("ok", ["x\n", "y\n"])]
    kept = [p.id for p in perturb_problems(problems, seed=0, report=report)]
    assert kept == ["ok"]
    assert report.dropped == {"no two public tests with different outputs": 2}


def test_a_correct_program_fails_exactly_the_two_modified_tests(executor):
    suite = generate_suite(BundledConfig(train=0, dev=0, test=12, seed=5), splits=("test",))
    for problem in perturb_problems(suite["test"], seed=1):
        view = perturbed_view(problem)
        result = executor.run(problem.meta["reference_solution"], view.public_tests)
        assert result.passing == [False, False] + [True] * (len(view.public_tests) - 2), problem.id
        assert view.meta["original_public_tests"] == problem.public_tests.model_dump(mode="json")
        assert view.hidden_tests == problem.hidden_tests


def test_the_perturbed_condition_takes_each_view_once_and_refuses_an_unperturbed_problem():
    perturbed = perturb_problem(_problem("p", ["a\n", "b\n", "c\n"]), seed=0)
    [view] = perturbed_problems([perturbed], "ptb.jsonl")
    assert view.public_tests == perturbation_of(perturbed).public_tests
    assert view.hidden_tests == perturbed.hidden_tests
    # A view run through again (the demo hands views on) keeps the original public tests it recorded.
    assert perturbed_problems([view]) == [view]
    with pytest.raises(InputError, match=r"ptb\.jsonl: field 'meta\.perturbation': problem 'q' has no perturbation"):
        perturbed_problems([perturbed, _problem("q", ["a\n", "b\n"])], "ptb.jsonl")
