"""What a rollout feeds back per verdict, and how it compares outputs: the reference's fields and
its stripped-text comparison by default and in the paper presets (docs/paper.md §6), Cobalt's
earlier layout on request."""

from __future__ import annotations

import pytest

from cobalt.config import build_config
from cobalt.rollout import RolloutConfig
from cobalt.sandbox import SyncExecutor

TESTS = {"inputs": ["1 2\n", "4 5\n"], "outputs": ["3\n", "9\n"]}
SUM = "a, b = map(int, input().split())\n"


def rollout_executor(**sandbox: object) -> SyncExecutor:
    """The executor a rollout with the default settings (1 s per test) and ``sandbox`` overrides runs."""
    flags = {"sandbox.cpu_s": 1.0, **{f"sandbox.{key}": value for key, value in sandbox.items()}}
    return SyncExecutor(build_config(RolloutConfig, flags=flags).sandbox.to_sandbox_config())


@pytest.fixture(scope="module")
def reference() -> SyncExecutor:
    with rollout_executor() as executor:
        yield executor


def test_defaults_and_paper_presets_compare_and_feed_back_as_the_reference():
    for preset in (None, "paper-eval", "paper-collect", "paper-eval-thinking"):
        sandbox = build_config(RolloutConfig, preset=preset).sandbox
        assert (sandbox.comparator, sandbox.feedback) == ("strip", "reference"), preset
    demo = build_config(RolloutConfig, preset="tiny-cpu").sandbox  # the demo keeps what its warm-up teaches
    assert (demo.comparator, demo.feedback) == ("lines", "cobalt")


def test_a_wrong_answer_shows_input_output_and_expected(reference):
    result = reference.run(SUM + "print(a - b)", TESTS)
    assert result.feedback == "Input:\n1 2\nProgram's Output:\n-1\nExpected Output:\n3"


def test_a_crash_shows_input_output_and_stderr_but_no_expected_output(reference):
    result = reference.run("print('partial')\nraise ValueError('boom')", TESTS)
    assert result.feedback.startswith("Input:\n1 2\nProgram's Output:\npartial\nStderr:\n")
    assert result.feedback.endswith("ValueError: boom") and "Expected Output" not in result.feedback


def test_a_time_out_shows_the_input_and_a_time_out_line(reference):
    result = reference.run("while True:\n    pass", TESTS)
    assert result.feedback == "Input:\n1 2\nTimeoutError: Program timed out after 1 seconds."


def test_a_syntax_error_is_shown_as_the_run_on_the_first_test(reference):
    result = reference.run("def f(:\n    pass", TESTS)
    assert result.feedback.startswith("Input:\n1 2\nProgram's Output:\n\nStderr:\n")
    assert result.feedback.endswith("SyntaxError: invalid syntax")


def test_long_fields_keep_their_first_and_last_200_characters(reference):
    long_input = "9" * 1000
    result = reference.run("print(input()[::-1] + 'x' * 1000)", {"inputs": [long_input], "outputs": ["1"]})
    field = result.feedback.split("\n")[1]
    assert field == "9" * 200 + "...(truncated) ..." + "9" * 200


def test_outputs_are_compared_as_stripped_text(reference):
    inner_space = SUM + "print(a, '')\nprint(b)"  # "1 \n2": a trailing space on an inner line
    tests = {"inputs": ["1 2\n"], "outputs": ["1\n2\n"]}
    assert not reference.run(inner_space, tests).passing[0]  # the reference's rule: a wrong answer
    assert reference.run(SUM + "print(f'  {a}\\n{b}  ')", {"inputs": ["1 2\n"], "outputs": ["1\n2"]}).passing[0]
    with rollout_executor(comparator="lines") as lines:
        assert lines.run(inner_space, tests).passing[0]  # the line-wise comparator forgives it


def test_the_cobalt_layout_remains_available():
    with rollout_executor(feedback="cobalt") as executor:
        result = executor.run("while True:\n    pass", TESTS)
    assert result.feedback.startswith("Input:\n1 2\nExpected Output:\n3\nTime limit exceeded")


def test_an_unknown_comparator_is_refused_by_the_config():
    with pytest.raises(ValueError, match="unknown comparator 'nope'"):
        build_config(RolloutConfig, flags={"sandbox.comparator": "nope"})
