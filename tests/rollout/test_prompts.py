"""What the policy is told and how its answers are read."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from cobalt.records import ExecResult, Problem, Verdict
from cobalt.reward.format import extract_code as reward_extract_code
from cobalt.rollout.config import RolloutConfig
from cobalt.rollout.prompts import (
    FAILED_TEST_INTRO,
    NO_CODE_FEEDBACK,
    REPAIR_TEMPLATE,
    SYSTEM_PROMPT,
    check_repair_template,
    execution_feedback,
    extract_code,
    initial_messages,
    repair_message,
    visible_answer,
)
from cobalt.sandbox import ALL_PASSED
from cobalt.train.config import TrainConfig


def reference_extract(answer: str) -> str | None:
    """How the reference release reads a program (its published rule, restated): the last match of
    a fence with an optional word tag and a newline, up to the next fence, stripped."""
    blocks = re.findall(r"```\w*\n(.*?)```", answer, re.DOTALL)
    return blocks[-1].strip() if blocks else None


def test_code_is_the_last_fenced_block():
    text = "First try:\n```python\nprint(1)\n```\nBetter:\n```python\nprint(2)\n```\nDone."
    assert extract_code(text) == "print(2)"


def test_untagged_and_py_blocks_count_as_python():
    assert extract_code("```\nx = 1\n```") == "x = 1"
    assert extract_code("```py\nx = 2\n```") == "x = 2"
    assert extract_code("```Python3\nx = 3\n```") == "x = 3"


def test_a_trailing_block_in_another_language_is_not_the_program():
    text = "```python\nprint(input())\n```\nSample run:\n```text\n5\n```\n"
    assert extract_code(text) == "print(input())"


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        ("Here it is: ```python\nprint(1)\n```", "print(1)"),  # the fence does not start a line
        ("```python\nprint(input())```\nThat reads and echoes.", "print(input())"),  # nor does the closing one
        ("Plan: ```python\nx = 1\n``` then the fix: ```python\nprint(2)\n```", "print(2)"),  # several blocks
        ("```python\nprint(1)\n```\nand a cut-off second try:\n```python\nprint(", "print(1)"),
        ("```python\nprint(1)\n", None),  # unclosed: cut off by the token limit
        ("no code here", None),
        ("```python\n\n```", ""),  # an empty block is an empty program, as the reference runs it
    ],
)
def test_the_rollout_reads_answers_as_the_reward_and_the_reference_do(answer, code):
    assert extract_code(answer) == code
    assert reward_extract_code(answer, require_think=False) == code
    assert reference_extract(answer) == code


def test_reasoning_is_dropped_from_history_and_turns_are_capped():
    completion = "<think>" + "hmm " * 3000 + "</think>\n\nAnswer:\n```python\nprint(1)\n```\n" + "z" * 7000
    visible = visible_answer(completion, reasoning=True)
    assert "hmm" not in visible and visible.startswith("Answer:")
    assert len(visible) == 6000
    assert extract_code(completion, reasoning=True) == "print(1)"
    assert visible_answer(completion, reasoning=False) == completion  # the option is off by default


def test_code_beyond_the_cap_still_runs():
    completion = "</think>" + "x" * 6500 + "\n```python\nprint(2)\n```\n"
    assert "print(2)" not in visible_answer(completion, reasoning=True)
    assert extract_code(completion, reasoning=True) == "print(2)"


def test_system_prompt_states_the_sandbox_rules():
    text = SYSTEM_PROMPT.lower()
    for rule in ("resource limits", "processes", "shells", "files", "psutil", "```python"):
        assert rule in text


def test_problem_prompt_says_how_the_program_is_run():
    stdio = Problem(id="a", statement="Sum.", public_tests={"inputs": [], "outputs": []}, hidden_tests="")
    call = Problem(id="b", statement="Sum.", public_tests={"inputs": [], "outputs": []}, hidden_tests="", fn_name="add")
    system, user = initial_messages(stdio)
    assert (system.role, user.role) == ("system", "user")
    assert "standard input" in user.content
    assert "`add`" in initial_messages(call)[1].content


def test_an_empty_system_prompt_means_no_system_message():
    problem = Problem(id="a", statement="Sum.", public_tests={"inputs": [], "outputs": []}, hidden_tests="")
    (user,) = initial_messages(problem, "")
    assert user.role == "user" and user.content.startswith("Sum.")


def _result(verdicts: list[Verdict], feedback: str) -> ExecResult:
    passing = [v is Verdict.ACCEPTED for v in verdicts]
    first = next((i for i, p in enumerate(passing) if not p), None)
    return ExecResult(
        tier="bwrap",
        verdicts=verdicts,
        passing=passing,
        pass_rate=sum(passing) / len(passing),
        feedback=feedback,
        per_test=[],
        first_failure=first,
    )


@pytest.mark.parametrize(
    ("result", "expected_start"),
    [
        (None, NO_CODE_FEEDBACK),
        (_result([Verdict.ACCEPTED], ALL_PASSED), ALL_PASSED),
        (_result([Verdict.ACCEPTED, Verdict.WRONG_ANSWER], "Input:\n1\nProgram's Output:\n2"), FAILED_TEST_INTRO),
    ],
)
def test_feedback_for_each_outcome_is_wrapped_in_the_repair_instruction(result, expected_start):
    message = repair_message(execution_feedback(result))
    assert expected_start in message
    assert "complete revised program" in message
    if result is not None and result.first_failure is not None:
        assert message.index(FAILED_TEST_INTRO) < message.index("Input:\n1")


def test_a_configured_repair_template_wraps_the_feedback_verbatim():
    template = "{feedback}\n\nFix it."
    assert repair_message(" Expected Output:\n3\n", template) == "Expected Output:\n3\n\nFix it."
    # braces in the feedback (a program printing a dict) are text, not format fields
    assert repair_message("Program's Output:\n{'a': 1}", template).startswith("Program's Output:\n{'a': 1}")


@pytest.mark.parametrize("template", ["Fix it.", "{feedback} and again {feedback}"])
def test_a_repair_template_needs_exactly_one_feedback_field(template):
    with pytest.raises(ValueError, match="exactly once"):
        check_repair_template(template)
    with pytest.raises(ValidationError, match="exactly once"):
        RolloutConfig(repair_template=template)
    with pytest.raises(ValidationError, match="exactly once"):
        TrainConfig(repair_template=template)


def test_the_repair_template_is_part_of_a_runs_identity():
    assert RolloutConfig().identity()["repair_template"] == REPAIR_TEMPLATE
    assert RolloutConfig(repair_template="{feedback}").identity() != RolloutConfig().identity()
