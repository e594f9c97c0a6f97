"""Typed records passed between Cobalt's stages.

Every record is a frozen pydantic model that serialises to one JSON object (one JSONL line). The
stages exchange only these records: ``cobalt.data`` produces :class:`Problem`, ``cobalt.sandbox``
turns an :class:`ExecRequest` into an :class:`ExecResult`, and later stages build on both.

Tests use the common format ``{"inputs": [...], "outputs": [...], "fn_name"?: ...}``. Public dumps
(TACO-Cobalt, LiveCodeBench) store that object as a JSON *string*; both forms are accepted.

* stdin/stdout tests: ``inputs[i]`` is the text fed to stdin, ``outputs[i]`` the expected stdout.
* call-based tests (``fn_name`` set): ``inputs[i]`` holds the arguments, one JSON value per line,
  and ``outputs[i]`` the JSON text of the expected return value. Non-string values (a list of
  arguments, a returned value) are converted to that text form on load, so the stored record is
  always strings.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Record(BaseModel):
    """Base of every record: immutable, strict about unknown fields, one JSON line each."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_json(self) -> str:
        """This record as one line of compact JSON, without a newline."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, line: str | bytes):
        """The record that one JSON line holds; raises pydantic's ``ValidationError`` when it does not fit."""
        return cls.model_validate_json(line)


def _call_arguments_text(value: Any) -> str:
    """Render one call-based test input as one JSON value per line."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        return "\n".join(json.dumps(arg) for arg in value)
    return json.dumps(value)


def _call_output_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


class Tests(Record):
    """An ordered list of test cases: parallel ``inputs`` and ``outputs``."""

    __test__ = False  # not a pytest test class

    inputs: list[str]
    outputs: list[str]
    fn_name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _parse_common_format(cls, data: Any) -> Any:
        if isinstance(data, (str, bytes)):
            try:
                data = json.loads(data)
            except json.JSONDecodeError as err:
                raise ValueError(f"tests are a string that is not valid JSON: {err}") from None
        if not isinstance(data, dict):
            raise ValueError(f"tests must be an object with 'inputs' and 'outputs', got {type(data).__name__}")
        data = dict(data)
        fn_name = data.get("fn_name") or None
        data["fn_name"] = fn_name
        for key in ("inputs", "outputs"):
            if key not in data:
                raise ValueError(f"tests lack the field '{key}'")
            if not isinstance(data[key], list):
                raise ValueError(f"tests field '{key}' must be a list, got {type(data[key]).__name__}")
        if fn_name:
            data["inputs"] = [_call_arguments_text(v) for v in data["inputs"]]
            data["outputs"] = [_call_output_text(v) for v in data["outputs"]]
        return data

    @model_validator(mode="after")
    def _same_length(self) -> Tests:
        if len(self.inputs) != len(self.outputs):
            raise ValueError(f"tests have {len(self.inputs)} inputs but {len(self.outputs)} outputs; they must pair up")
        return self

    def __len__(self) -> int:
        return len(self.inputs)

    def select(self, indices: list[int]) -> Tests:
        """The sub-list of tests at ``indices``, in that order."""
        return Tests(
            inputs=[self.inputs[i] for i in indices],
            outputs=[self.outputs[i] for i in indices],
            fn_name=self.fn_name,
        )

    def __add__(self, other: Tests) -> Tests:
        if self.fn_name != other.fn_name:
            raise ValueError(f"cannot join tests for fn_name {self.fn_name!r} and {other.fn_name!r}")
        return Tests(inputs=self.inputs + other.inputs, outputs=self.outputs + other.outputs, fn_name=self.fn_name)


class Problem(Record):
    """One coding problem: a statement, public tests shown as feedback, hidden tests for scoring."""

    id: str
    statement: str
    public_tests: Tests
    hidden_tests: Tests
    fn_name: str | None = None
    difficulty: str | None = None
    source: str | None = None
    comparator: str | None = Field(
        default=None, description="Name of a registered comparator or checker; None means the executor's default."
    )
    meta: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @model_validator(mode="before")
    @classmethod
    def _share_fn_name(cls, data: Any) -> Any:
        """A problem's ``fn_name`` and its tests' ``fn_name`` are one fact: propagate it."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        fn_name = data.get("fn_name") or None
        for key in ("public_tests", "hidden_tests"):
            tests = data.get(key)
            if isinstance(tests, (str, bytes)):
                tests = json.loads(tests) if tests else {"inputs": [], "outputs": []}
            if isinstance(tests, Tests):
                tests = tests.model_dump()
            if isinstance(tests, dict):
                fn_name = fn_name or tests.get("fn_name") or None
                data[key] = tests
        data["fn_name"] = fn_name
        for key in ("public_tests", "hidden_tests"):
            if isinstance(data.get(key), dict):
                data[key] = {**data[key], "fn_name": fn_name}
        return data

    @property
    def all_tests(self) -> Tests:
        """Public tests followed by hidden tests (the paper's reward scores on this list)."""
        return self.public_tests + self.hidden_tests


class Verdict(str, Enum):
    """The outcome of one test. Values are the short codes used in every JSON output."""

    ACCEPTED = "AC"
    WRONG_ANSWER = "WA"
    TIME_LIMIT = "TLE"
    MEMORY_LIMIT = "MLE"
    OUTPUT_LIMIT = "OLE"
    RUNTIME_ERROR = "RE"
    COMPILE_ERROR = "CE"
    SKIPPED = "SKIPPED"
    SANDBOX_ERROR = "SE"

    def __str__(self) -> str:
        return self.value


Tier = Literal["bwrap", "process"]


class TestOutcome(Record):
    """Measurements and verdict of one test run."""

    __test__ = False

    verdict: Verdict
    cpu_s: float = 0.0
    wall_s: float = 0.0
    max_rss_mb: float = 0.0
    exit_code: int | None = None
    signal: str | None = None
    detail: str = ""


class ExecResult(Record):
    """Everything the executor reports for one program on one list of tests.

    ``verdicts``/``passing``/``per_test`` hold exactly one entry per input test, in order.
    ``pass_rate`` counts accepted tests over the tests that really ran to a verdict: sandbox
    errors (infrastructure faults) are excluded from the denominator, never counted against the
    program.
    """

    tier: Tier
    verdicts: list[Verdict]
    passing: list[bool]
    pass_rate: float
    feedback: str
    per_test: list[TestOutcome]
    first_failure: int | None = None
    sandbox_errors: int = 0
    cached: bool = False
    id: str | None = None

    @property
    def all_passed(self) -> bool:
        """Whether every test passed; False when there were no tests."""
        return bool(self.passing) and all(self.passing)

    @property
    def num_passed(self) -> int:
        """How many tests passed."""
        return sum(self.passing)


class ExecRequest(Record):
    """One program to run on one list of tests (the unit of the batch API and ``cobalt exec --batch``)."""

    id: str | None = None
    code: str
    tests: Tests
    comparator: str | None = None
    stop_on_first_failure: bool = False

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


# --- conversations and trajectories (rollout -> evaluate -> bandit) -----------------------------

Role = Literal["system", "user", "assistant"]
Condition = Literal["original", "perturbed"]


class Message(Record):
    """One chat message."""

    role: Role
    content: str


class Turn(Record):
    """One attempt in a multi-turn trajectory: the model's answer and what it led to.

    ``public`` is the program's result on the public tests (None when the answer held no code);
    ``feedback`` is the user message sent after this turn (execution feedback wrapped in the
    repair instruction). Hidden-test scores are filled in by evaluation.
    """

    index: int = Field(ge=0, description="0 for the first attempt, t for the t-th repair.")
    completion: str
    code: str | None = None
    public: ExecResult | None = None
    feedback: str = ""
    hidden_pass_rate: float | None = None
    hidden_verdicts: list[Verdict] | None = None
    completion_tokens: int | None = None

    @property
    def public_pass_rate(self) -> float:
        """The pass rate on the public tests; 0.0 when the answer held no code."""
        return self.public.pass_rate if self.public is not None else 0.0

    @property
    def hidden_solved(self) -> bool:
        """Whether the program passed every hidden test (False while it is unscored)."""
        return self.hidden_pass_rate == 1.0


class Trajectory(Record):
    """A reference policy's attempts at one problem: ``messages`` is the whole conversation
    (system, problem, then one assistant/user pair per turn); ``turns`` annotates each attempt."""

    problem_id: str
    sample: int = Field(ge=0, description="Which of the n samples for this problem.")
    condition: Condition = "original"
    messages: list[Message]
    turns: list[Turn]
    num_public_tests: int = Field(ge=0)
    num_hidden_tests: int = Field(ge=0)
    meta: dict[str, Any] = Field(default_factory=dict)

    @property
    def key(self) -> str:
        """The trajectory's unique id, ``problem_id#sample#condition``."""
        return f"{self.problem_id}#{self.sample}#{self.condition}"

    def combined_pass_rate(self, turn: Turn) -> float:
        """Pass rate over all tests: public and hidden rates weighted by their test counts."""
        total = self.num_public_tests + self.num_hidden_tests
        if total == 0:
            return 0.0
        hidden = turn.hidden_pass_rate or 0.0
        return (turn.public_pass_rate * self.num_public_tests + hidden * self.num_hidden_tests) / total


class BanditExample(Record):
    """One contextual-bandit training prompt: a partial conversation ending with a user turn; the
    policy answers it with one new program, rewarded on ``tests``."""

    id: str
    prompt: list[Message]
    tests: Tests
    prev_best_pass_rate: float = Field(ge=0.0, le=1.0)
    problem_id: str
    turn: int = Field(ge=0, description="How many earlier attempts the prompt contains.")
    perturbed: bool = False
    comparator: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ends_with_user(self) -> BanditExample:
        if not self.prompt or self.prompt[-1].role != "user":
            raise ValueError("a bandit prompt must end with a user message")
        return self
