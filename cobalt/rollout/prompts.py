"""What the policy is told, and how its answers are read.

The wording is Cobalt's own. What carries over from the reference pipeline (docs/paper.md §6) is the
substance: the system prompt states the sandbox rules (resource limits, no processes or shells, no
filesystem changes, only safe modules); each repair turn shows the first failing public test (or
the all-passed message, or a no-code message) inside a fixed repair instruction; the program is
the answer's last fenced code block, read by the reward's parser
(:func:`cobalt.reward.format.find_program`, the same rules as the reference release); for reasoning
models everything up to ``</think>`` leaves the history, each stored turn keeps at most 6000
characters, and an answer cut off before ``</think>`` holds no program.
"""

from __future__ import annotations

from cobalt.records import ExecResult, Message, Problem
from cobalt.reward.format import extract_code as _completion_code

SYSTEM_PROMPT = """\
You are an expert Python programmer. You solve programming problems by writing one complete, \
self-contained Python 3 program, and you improve it when shown how it behaved on tests.

Your program runs in a sandbox under these rules:
1. Stay within the resource limits: a few seconds of CPU time and about 1 GB of memory per test. \
Prefer efficient algorithms.
2. Do not start processes, threads or shells (no subprocess, os.system, multiprocessing) and do \
not try to control the operating system.
3. Do not create, change or delete files or directories; read input only as the problem says.
4. Use only safe standard-library modules for computation (such as math, itertools, collections, \
heapq, bisect, functools, re). Do not import psutil, resource, ipdb, tkinter, joblib or modules \
for networking or debugging.

Think the problem through, then give the whole program in a single ```python code block."""

STDIO_INSTRUCTION = (
    "Write a program that reads the input from standard input and prints the answer to standard output, "
    "exactly in the format the problem asks for."
)

CALL_INSTRUCTION = (
    "Write a function named `{fn_name}` (a top-level function, or a method of a class `Solution`). "
    "It is called with each test's arguments and its return value is checked; do not read input or print."
)

REPAIR_TEMPLATE = """\
Feedback on your previous answer:

{feedback}

Work out what went wrong, or, if every example passed, what could still fail on other valid inputs \
(edge cases, limits, efficiency). Then reply with the complete revised program in a single new \
```python code block."""

FEEDBACK_FIELD = "{feedback}"

FAILED_TEST_INTRO = "Your program was run on the example tests. The first test it failed:"

NO_CODE_FEEDBACK = (
    "Your reply contained no code block, so there was nothing to run. "
    "The program must be inside a fenced block that starts with ```python and ends with ```."
)

THINK_END = "</think>"
MAX_TURN_CHARS = 6000  # docs/paper.md §2.1: stored assistant turns of reasoning models are capped


def initial_messages(problem: Problem, system_prompt: str = SYSTEM_PROMPT) -> list[Message]:
    """The conversation a trajectory starts from: the system prompt (none when it is empty), then the problem."""
    problem_message = Message(role="user", content=problem_prompt(problem))
    return [Message(role="system", content=system_prompt), problem_message] if system_prompt else [problem_message]


def problem_prompt(problem: Problem) -> str:
    """The first user message: the statement followed by how the program is run."""
    how = CALL_INSTRUCTION.format(fn_name=problem.fn_name) if problem.fn_name else STDIO_INSTRUCTION
    return f"{problem.statement.strip()}\n\n{how}"


def execution_feedback(public: ExecResult | None) -> str:
    """What the policy is told about one attempt: the executor's feedback on the first failing
    public test (introduced as such), its all-passed message, or the no-code message when the
    answer held no program (``public`` is None)."""
    if public is None:
        return NO_CODE_FEEDBACK
    if public.first_failure is None:
        return public.feedback
    return f"{FAILED_TEST_INTRO}\n{public.feedback}"


def repair_message(feedback: str, template: str = REPAIR_TEMPLATE) -> str:
    """The user message after an attempt: execution feedback wrapped in the repair instruction
    (``template`` holds one ``{feedback}`` field)."""
    return template.replace(FEEDBACK_FIELD, feedback.strip())


def check_repair_template(template: str) -> str:
    """``template`` if it holds exactly one ``{feedback}`` field, else ValueError."""
    if template.count(FEEDBACK_FIELD) != 1:
        raise ValueError(f"a repair template must contain {FEEDBACK_FIELD} exactly once")
    return template


def extract_code(completion: str, reasoning: bool = False) -> str | None:
    """The program an answer submits, or None: the reward's parser
    (:func:`cobalt.reward.format.extract_code`), so a turn runs the program its reward scores.

    The last closed ```` ```python ```` block wins, else the last closed fenced block of any tag (as
    the reference reads answers); a fence need not start a line. An unclosed fence (an answer cut
    off by the token limit) is no program. With ``reasoning`` only the text after ``</think>`` is
    searched (after the first one), uncut, so that the 6000-character cap of stored turns never truncates the program.
    A reasoning answer without ``</think>`` was cut off while thinking: it submits no program, even
    when a draft inside the thinking holds a code block (the draft is not the answer, and the
    reward's format rules fail such a completion too).
    """
    if reasoning and THINK_END not in completion:
        return None
    return _completion_code(completion, require_think=reasoning)


def visible_answer(completion: str, reasoning: bool, max_chars: int = MAX_TURN_CHARS) -> str:
    """What of a completion stays in the conversation.

    Without ``reasoning`` the completion is kept whole. With it, everything up to the last
    ``</think>`` is dropped and the rest is cut to its first ``max_chars`` characters; a completion
    without ``</think>`` (cut off while thinking) keeps its first ``max_chars`` characters.
    """
    if not reasoning:
        return completion
    return completion.rsplit(THINK_END, 1)[-1].lstrip()[:max_chars]
