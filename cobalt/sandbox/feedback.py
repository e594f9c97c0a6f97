"""Execution feedback shown to a model after a failed test, in one of two styles.

``reference`` (the default of the rollout and its paper presets) has the fields of the reference
pipeline's feedback (docs/paper.md §6), per verdict:

* wrong answer, output limit: ``Input:``, ``Program's Output:``, ``Expected Output:``;
* a crash (runtime error, memory limit, or a syntax error, which the reference met as a crash on
  the first test) with something on stderr: ``Input:``, ``Program's Output:``, ``Stderr:`` and no
  expected output; a crash with an empty stderr falls back to the wrong-answer fields;
* a time-out: ``Input:`` and the line ``TimeoutError: Program timed out after N seconds.``

Each field is stripped and, when longer than :data:`FIELD_CHARS` characters, cut to its first
and last 200 with a marker between, as the reference cuts it.

``cobalt`` is this project's earlier layout (same field names): a compile error shows the error
alone (it does not depend on the input), a crash also shows the expected output, a time-out or
limit states the limit in words, and each field is cut to at most :data:`FIELD_CHARS` characters
with a count of what was left out. It is kept for runs (and the CPU demo's warm-up data) made
with it. Either way the sentences are Cobalt's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from cobalt.records import Verdict

FeedbackStyle = Literal["reference", "cobalt"]
FEEDBACK_STYLES: tuple[FeedbackStyle, ...] = ("reference", "cobalt")

FIELD_CHARS = 400
REFERENCE_MARKER = "...(truncated) ..."
CRASH_VERDICTS = (Verdict.RUNTIME_ERROR, Verdict.MEMORY_LIMIT, Verdict.COMPILE_ERROR)

ALL_PASSED = (
    "The program passed every test it was run on. Unseen tests may still fail: consider edge cases, "
    "input limits and efficiency, and fix anything that could still go wrong."
)


def truncate_middle(text: str, limit: int = FIELD_CHARS) -> str:
    """Keep the first and last characters of ``text`` so that it is at most ``limit`` long."""
    if len(text) <= limit:
        return text
    marker = f"\n...({len(text) - limit} characters omitted)...\n"
    keep = max(limit - len(marker), 2)
    head = keep // 2
    return text[:head] + marker + text[len(text) - (keep - head) :]


@dataclass(frozen=True)
class FailedTest:
    """What the feedback needs to know about the first failing test."""

    verdict: Verdict
    test_input: str
    expected: str
    output: str
    stderr: str
    detail: str
    timeout_s: float | None = None  # the per-test time limit, for the reference's time-out line


def _field(name: str, text: str) -> str:
    return f"{name}:\n{truncate_middle(text.rstrip(chr(10)))}"


def render_feedback(failed: FailedTest | None, style: FeedbackStyle = "cobalt") -> str:
    """The feedback message for the first failing test in ``style``, or :data:`ALL_PASSED`."""
    if failed is None:
        return ALL_PASSED
    if style == "reference":
        return _reference_feedback(failed)
    if style == "cobalt":
        return _cobalt_feedback(failed)
    raise ValueError(f"unknown feedback style {style!r}; known: {', '.join(FEEDBACK_STYLES)}")


def truncate_reference(text: str, limit: int = FIELD_CHARS) -> str:
    """The reference's cut of a field longer than ``limit``: its first and last ``limit // 2``
    characters around a fixed marker (so the result is a little longer than ``limit``)."""
    if len(text) <= limit:
        return text
    return text[: limit // 2] + REFERENCE_MARKER + text[len(text) - limit // 2 :]


def _reference_field(name: str, text: str) -> str:
    return f"{name}:\n{truncate_reference(text.strip())}"


def _seconds(timeout_s: float | None) -> str:
    if timeout_s is None:
        return "the time limit"
    return f"{timeout_s:g} seconds"


def _reference_feedback(failed: FailedTest) -> str:
    test_input = _reference_field("Input", failed.test_input)
    if failed.verdict is Verdict.TIME_LIMIT:
        return f"{test_input}\nTimeoutError: Program timed out after {_seconds(failed.timeout_s)}."
    output = _reference_field("Program's Output", failed.output)
    if failed.verdict in CRASH_VERDICTS and failed.stderr.strip():
        return f"{test_input}\n{output}\n{_reference_field('Stderr', failed.stderr)}"
    return f"{test_input}\n{output}\n{_reference_field('Expected Output', failed.expected)}"


def _cobalt_feedback(failed: FailedTest) -> str:
    if failed.verdict is Verdict.COMPILE_ERROR:
        return "The program does not compile.\n" + _field("Stderr", failed.stderr)
    parts = [_field("Input", failed.test_input)]
    verdict = failed.verdict
    if verdict in (Verdict.WRONG_ANSWER, Verdict.RUNTIME_ERROR, Verdict.OUTPUT_LIMIT):
        parts.append(_field("Program's Output", failed.output))
    parts.append(_field("Expected Output", failed.expected))
    if verdict is Verdict.RUNTIME_ERROR:
        parts.append(_field("Stderr", failed.stderr or failed.detail))
    elif verdict is not Verdict.WRONG_ANSWER:
        parts.append(failed.detail)
    return "\n".join(parts)
