"""The executor judges a program as ``python3 prog.py < input`` does.

Each program of the idiom corpus (tests/fixtures/sandbox/idioms) and a sample of real accepted
CodeContests solutions runs both in the executor and as a plain interpreter subprocess; exit-status
class, stdout and verdict must agree on every test (harness: benchmarks/differential.py, which
runs the whole corpus).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from cobalt.records import Tests
from cobalt.sandbox import SandboxConfig

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "fixtures" / "codecontests_sample.jsonl"
REAL_SAMPLE_SIZE = 12


def _harness():
    spec = importlib.util.spec_from_file_location("cobalt_differential", ROOT / "benchmarks" / "differential.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


differential = _harness()


@pytest.fixture(scope="module")
def config(fast_config: SandboxConfig) -> SandboxConfig:
    return fast_config


def real_sample() -> list:
    rows = [json.loads(line) for line in SAMPLE.read_text().splitlines()][:REAL_SAMPLE_SIZE]
    return [differential.Case(f"codecontests/{row['id']}", row["solution"], Tests(**row["tests"])) for row in rows]


def test_idiom_corpus_is_judged_as_the_plain_interpreter_judges_it(config):
    cases = differential.idiom_cases()
    assert len(cases) >= 40
    report = differential.compare_runs(cases, config)
    unexplained = [d for d in report.disagreements if d.cause != differential.STACK_CAUSE]
    assert not unexplained, "\n".join(map(differential.describe, unexplained))
    # The one deliberate difference: deep C recursion gets the sandbox's 512 MiB stack (the reference's
    # prelude raises it to 1 GiB), where a shell's 8 MiB stack overflows.
    assert {d.case for d in report.disagreements} <= {"idiom/lru_cache_deep_recursion"}


def test_real_solutions_are_judged_as_the_plain_interpreter_judges_them(config):
    report = differential.compare_runs(real_sample(), config)
    assert report.tests >= 100
    assert not report.disagreements, "\n".join(map(differential.describe, report.disagreements))


def test_the_plain_run_is_judged_on_the_programs_own_cpu_time(tmp_path):
    """The executor's clock starts after the interpreter's start and the program's imports (the zygote
    did them); the plain run's rusage includes them, so the harness subtracts them (a program at its
    limit was a time-out outside only, before)."""
    code = "import asyncio, unittest, http.client, email.mime.text, xml.etree.ElementTree\nprint(1)\n"
    startup = differential.startup_cpu_s(code, str(tmp_path))
    assert startup > differential.startup_cpu_s("print(1)\n", str(tmp_path)) > 0
    path = tmp_path / "prog.py"
    path.write_text(code)
    limits = differential.Limits(cpu_s=1.0)
    status, stdout, whole = differential.plain_run(path, "", limits)
    _, _, own = differential.plain_run(path, "", limits, startup_s=startup)
    assert (status, stdout) == ("ok", b"1\n")
    assert own < 0.5 * whole


# What the differential established, stated as verdicts a user sees (independent of the plain run).
@pytest.mark.parametrize(
    ("idiom", "verdict"),
    [
        ("stdout_closed", "AC"),  # a program that closes sys.stdout at the end still exits 0
        ("del_stdout_then_exit", "AC"),  # sys.stdout = None at the end: nothing to flush, exit 0
        ("print_to_dunder_stdout", "AC"),  # printed to sys.__stdout__ while sys.stdout was a StringIO
        ("forgotten_fd1_writer", "AC"),  # a second writer on fd 1, flushed by finalization
        ("textiowrapper_on_stdout_buffer", "AC"),
        ("os_exit_after_unflushed_print", "WA"),  # os._exit loses buffered output, as it does outside
        ("sys_exit_1", "RE"),
        ("fastio_template", "AC"),
        ("thread_big_stack", "AC"),
        ("lru_cache_deep_recursion", "AC"),
    ],
)
def test_idiom_verdicts(run, idiom, verdict):
    code = (differential.IDIOMS / f"{idiom}.py").read_text()
    result = run(code, differential.IDIOM_TESTS.inputs, differential.IDIOM_TESTS.outputs)
    assert [v.value for v in result.verdicts] == [verdict, verdict], result.feedback
