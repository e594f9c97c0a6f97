"""Turn what the sandbox measured for one test into a verdict. Runs in the trusted parent."""

from __future__ import annotations

import json
import signal as signals
from dataclasses import dataclass

from cobalt.records import TestOutcome, Verdict
from cobalt.sandbox.compare import Comparator, parse_expected_value, values_equal
from cobalt.sandbox.config import Limits
from cobalt.sandbox.session import RawRun


@dataclass(frozen=True)
class Judged:
    """A test's verdict and measurements, with the output and stderr the feedback may quote."""

    outcome: TestOutcome
    output: str  # the program's output as shown in feedback (stdout, or the returned value)
    stderr: str


def signal_name(number: int) -> str:
    """The symbolic name of signal ``number`` (``SIGKILL``), or ``signal N`` for one Python does not know."""
    try:
        return signals.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _outcome(raw: RawRun, verdict: Verdict, detail: str = "") -> TestOutcome:
    return TestOutcome(
        verdict=verdict,
        cpu_s=round(raw.cpu_s, 6),
        wall_s=round(raw.wall_s, 6),
        max_rss_mb=round(raw.max_rss_kb / 1024, 3),
        exit_code=raw.exit_code if raw.exit_code >= 0 else None,
        signal=signal_name(raw.signal) if raw.signal else None,
        detail=detail,
    )


def _limit_verdict(raw: RawRun, stderr: str, limits: Limits) -> tuple[Verdict, str] | None:
    """Verdicts decided by resource use alone, before looking at the output."""
    if raw.timed_out:
        return Verdict.TIME_LIMIT, f"Time limit exceeded: the program ran for more than {limits.wall_limit_s:g} s."
    if raw.cpu_s > limits.cpu_s or raw.signal == signals.SIGXCPU:
        return Verdict.TIME_LIMIT, f"Time limit exceeded: the program used more than {limits.cpu_s:g} s of CPU time."
    if raw.stdout_size > limits.stdout_bytes or raw.result_size > limits.stdout_bytes or raw.signal == signals.SIGXFSZ:
        return (
            Verdict.OUTPUT_LIMIT,
            f"Output limit exceeded: the program printed more than {limits.stdout_bytes} bytes.",
        )
    killed_near_limit = raw.signal == signals.SIGKILL and raw.max_rss_kb * 1024 >= 0.9 * limits.memory_mb * (1 << 20)
    if (raw.exit_code != 0 and _last_line(stderr).startswith("MemoryError")) or killed_near_limit:
        return Verdict.MEMORY_LIMIT, f"Memory limit exceeded: the program needed more than {limits.memory_mb} MB."
    if raw.signal:
        name = signal_name(raw.signal)
        return Verdict.RUNTIME_ERROR, f"Runtime error: the program was killed by {name}."
    if raw.exit_code != 0:
        return Verdict.RUNTIME_ERROR, f"Runtime error: the program exited with code {raw.exit_code}."
    return None


def judge_stdio(raw: RawRun, expected: str, test_input: str, limits: Limits, compare: Comparator) -> Judged:
    """The verdict of a stdin/stdout test: a broken limit or a crash first, else ``compare`` decides
    between accepted and wrong answer."""
    output = raw.stdout.decode("utf-8", "replace")
    stderr = raw.stderr.decode("utf-8", "replace")
    limit = _limit_verdict(raw, stderr, limits)
    if limit is not None:
        return Judged(_outcome(raw, *limit), output, stderr)
    if compare(output, expected, test_input):
        return Judged(_outcome(raw, Verdict.ACCEPTED), output, stderr)
    return Judged(_outcome(raw, Verdict.WRONG_ANSWER, "Wrong answer."), output, stderr)


def judge_call(raw: RawRun, expected: str, limits: Limits, float_tol: float) -> Judged:
    """The verdict of a call-based test: a broken limit or a crash first, else the returned JSON value
    compared structurally with ``expected`` (:func:`~cobalt.sandbox.compare.values_equal`); a missing or
    unserialisable return value is a wrong answer."""
    stderr = raw.stderr.decode("utf-8", "replace")
    limit = _limit_verdict(raw, stderr, limits)
    if limit is not None:
        return Judged(_outcome(raw, *limit), raw.result[1:].decode("utf-8", "replace"), stderr)
    kind, body = raw.result[:1], raw.result[1:].decode("utf-8", "replace")
    if kind == b"E":
        detail = f"Wrong answer: the return value cannot be compared ({body})."
        return Judged(_outcome(raw, Verdict.WRONG_ANSWER, detail), f"<{body}>", stderr)
    if kind != b"V":
        detail = "Wrong answer: the function returned no value (the program exited before returning)."
        return Judged(_outcome(raw, Verdict.WRONG_ANSWER, detail), "<no return value>", stderr)
    try:
        got = json.loads(body)
        want = parse_expected_value(expected)
        equal = values_equal(got, want, float_tol=float_tol)
    except (ValueError, SyntaxError, RecursionError, MemoryError):
        equal = False
    verdict = Verdict.ACCEPTED if equal else Verdict.WRONG_ANSWER
    return Judged(_outcome(raw, verdict, "" if equal else "Wrong answer."), body, stderr)
