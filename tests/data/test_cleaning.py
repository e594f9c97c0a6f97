"""The shared rules: published test cap, public/hidden split, example detection, statement cuts."""

from __future__ import annotations

import pytest

from cobalt.data.cleaning import (
    Cleaning,
    Dropped,
    TestList,
    build_problem,
    cap_indices,
    cut_before_examples,
    example_test_indices,
    guess_comparator,
    has_image_reference,
    public_indices,
)


def test_cap_keeps_the_5_shortest_and_15_longest_inputs():
    inputs = [
        "x" * length for length in [7, 1, 30, 2, 25, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]
    ]
    kept = cap_indices(inputs, max_tests=20, keep_shortest=5)
    lengths = sorted(len(inputs[i]) for i in kept)
    assert len(kept) == 20
    assert lengths[:5] == [1, 2, 3, 4, 5]
    assert lengths[5:] == sorted(len(s) for s in inputs)[-15:]
    assert 6 not in lengths and 7 not in lengths  # the two dropped are just above the 5 shortest
    assert kept == sorted(kept)  # source order is kept


def test_no_cap_when_within_the_limit():
    assert cap_indices(["a", "bb"], max_tests=20, keep_shortest=5) == [0, 1]


def test_public_split_prefers_examples_then_shortest_inputs():
    tests = TestList(["long input\n", "1\n", "22\n", "example\n", "333\n", "4444\n", "55555\n", "x" * 9], ["o"] * 8)
    public, hidden = public_indices(tests, num_public=4, rule="examples-then-shortest", examples={3}, key="p")
    assert public == [1, 2, 3, 4]
    assert hidden == [0, 5, 6, 7]


def test_public_split_never_takes_more_than_half_of_the_tests():
    tests = TestList(["1", "2", "3"], ["a", "b", "c"])
    public, hidden = public_indices(tests, num_public=4, rule="shortest", examples=set(), key="p")
    assert len(public) == 1 and len(hidden) == 2


def test_random_public_split_is_seeded_by_problem_id():
    tests = TestList([str(i) for i in range(12)], ["o"] * 12)
    first = public_indices(tests, num_public=4, rule="random", examples=set(), key="abc")
    again = public_indices(tests, num_public=4, rule="random", examples=set(), key="abc")
    other = [public_indices(tests, num_public=4, rule="random", examples=set(), key=f"k{i}")[0] for i in range(5)]
    assert first == again
    assert any(o != first[0] for o in other)


def test_unknown_public_rule_is_refused():
    with pytest.raises(ValueError, match="unknown public rule"):
        public_indices(TestList(["1", "2"], ["a", "b"]), num_public=1, rule="hardest", examples=set(), key="p")


@pytest.mark.parametrize(
    ("statement", "kept"),
    [
        ("Return the sum.\n \nExample 1:\n\nInput: nums = [1]\nOutput: 1", "Return the sum."),
        ("Print A+B.\n\nSample Input 1\n\n3 4\n\nSample Output 1\n\n7", "Print A+B."),
        ("Count them.\n\nExamples\n\nInput\n\n3\n\nOutput\n\n3", "Count them."),
        ("Solve it.\n-----Sample Input-----\n1\n-----Sample Output-----\n1", "Solve it."),
        ("Print YES or NO (any case).Sample Input 1:\n6\n\nSample Output 1:\n\nYES", "Print YES or NO (any case)."),
        ("Return the sum.Example 1:\nInput: 1\nOutput: 1", "Return the sum."),
        ("Return -1 if n < 1.\n\nFor Example:\n`f(2)` returns `[2, 1]`", "Return -1 if n < 1."),
    ],
)
def test_statement_is_cut_before_its_first_example(statement, kept):
    assert cut_before_examples(statement) == (kept, True)


@pytest.mark.parametrize(
    "text",
    ["Sort the list. For example, [2, 1] becomes [1, 2].", "Read n. As the sample input shows, n may be 0."],
)
def test_a_sentence_mentioning_an_example_is_not_a_cut_point(text):
    assert cut_before_examples(text) == (text, False)


def test_examples_are_found_in_the_examples_section_only():
    statement = "Given n (1 <= n <= 3), print n squared.\n\nExamples\n\nInput\n\n3\n\nOutput\n\n9\n"
    found = example_test_indices(statement, ["1\n", "3\n", "2\n"], ["1\n", "9\n", "4\n"])
    assert found == {1}  # "1" occurs in the constraints, but not as an example with its output


def test_image_rule_is_the_published_one():
    assert has_image_reference("See the image below.")
    assert has_image_reference("Look:\n![graph](g.png)")
    assert not has_image_reference("Imagine a line of people.")


def test_decimal_outputs_get_the_float_comparator():
    assert guess_comparator(["3.162277660\n"]) == "float"
    assert guess_comparator(["3 4\n", "YES\n"]) is None


def _build(tests: TestList, rules: Cleaning, statement: str = "x" * 120):
    notes: list[str] = []
    problem = build_problem(id="p", statement=statement, tests=tests, rules=rules, report_note=notes.append)
    return problem, notes


def test_taco_rules_drop_with_named_reasons():
    rules = Cleaning.taco()
    few = TestList([str(i) for i in range(7)], ["o"] * 7)
    enough = TestList([str(i) for i in range(8)], ["o"] * 8)
    with pytest.raises(Dropped, match="fewer than 8 tests"):
        _build(few, rules)
    with pytest.raises(Dropped, match="image"):
        _build(enough, rules, "An image shows the grid. " + "x" * 120)
    with pytest.raises(Dropped, match="under 100 alphanumeric"):
        _build(enough, rules, "Add. " + "!" * 200)
    problem, notes = _build(TestList([str(i) * (i + 1) for i in range(25)], ["o"] * 25), rules)
    assert len(problem.public_tests) == 4 and len(problem.hidden_tests) == 16
    assert notes == ["tests capped to 20"]
