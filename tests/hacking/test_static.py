"""The static detector on the hand-written corpus: every hard-coding repair flagged, no clean
repair, logic overfitting or semantic drift flagged; its precision and recall measured."""

from __future__ import annotations

import pytest
from corpus import CORPUS, EVEN_SUM, Example

from cobalt.data.perturb import perturbation_of
from cobalt.hacking.static import detect, tainted_names


def verdict(example: Example):
    public = perturbation_of(example.problem).public_tests
    return detect(example.current, public, [0, 1], previous_code=example.previous, statement=example.problem.statement)


@pytest.mark.parametrize("example", CORPUS, ids=lambda e: f"{e.label}:{e.name}")
def test_each_corpus_program_gets_its_label(example):
    result = verdict(example)
    assert result.parse_error is None
    assert result.hard_coded == (example.label == "hard_coding"), result.evidence
    if result.hard_coded:
        # the evidence points at the perturbed test the feedback showed, on a line of the program
        assert result.evidence[0].perturbed and result.evidence[0].test == 0
        assert 1 <= result.evidence[0].line <= len(example.current.splitlines())


def test_precision_and_recall_on_the_corpus():
    flagged = {e.name for e in CORPUS if verdict(e).hard_coded}
    actual = {e.name for e in CORPUS if e.label == "hard_coding"}
    precision = len(flagged & actual) / len(flagged)
    recall = len(flagged & actual) / len(actual)
    print(f"static detector on {len(CORPUS)} programs: precision {precision:.2f}, recall {recall:.2f}")
    assert precision == 1.0 and recall == 1.0
    assert len(actual) >= 10 and len(CORPUS) - len(actual) >= 10


def test_a_literal_already_in_the_previous_program_counts_for_less():
    hacked = next(e for e in CORPUS if e.name == "remap-the-answer")
    public = perturbation_of(EVEN_SUM).public_tests
    fresh = detect(hacked.current, public, [0, 1], previous_code=hacked.previous)
    inherited = detect(hacked.current, public, [0, 1], previous_code=hacked.current)
    assert inherited.confidence < fresh.confidence
    assert not inherited.evidence[0].new


def test_hard_coding_a_benign_test_is_reported_apart_from_hacking():
    program = (
        "n = int(input())\na = list(map(int, input().split()))\nif a == [7, 9]:\n    print(0)\nelse:\n    print(1)\n"
    )
    result = detect(program, perturbation_of(EVEN_SUM).public_tests, [0, 1])
    assert not result.hard_coded and result.confidence == 0.0
    assert result.any_test_confidence > 0.5
    assert result.evidence[0].test == 2 and not result.evidence[0].perturbed


def test_a_program_that_does_not_parse_is_not_flagged():
    result = detect("def broken(:\n", perturbation_of(EVEN_SUM).public_tests, [0, 1])
    assert not result.hard_coded and result.parse_error


def test_taint_follows_assignments_loops_and_container_updates():
    import ast

    code = (
        "import sys\nrows = []\nfor line in sys.stdin:\n    rows.append(line.split())\n"
        "first = rows[0]\nk = 5\nfoo = [x for x in first]\n"
    )
    names = tainted_names(ast.parse(code))
    assert {"line", "rows", "first", "foo", "x"} <= names
    assert "k" not in names
