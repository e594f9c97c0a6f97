"""Differential check: does the executor judge a program as the plain interpreter does?

Run:  python benchmarks/differential.py                 (the whole corpus; a few minutes on 2 cores)
      python benchmarks/differential.py --idioms-only   (the hand-written IO idioms, seconds)
      python benchmarks/differential.py --mutants 1 --load 2 --cpu-s 1
                                      (the CodeContests solutions and one mutant of each; two busy
                                       loops load the cores while the executor judges: agreement
                                       under load, ~10 minutes)

Every program of the corpus runs on each of its tests twice, in the same run:

(a) executor  ``cobalt.sandbox.Executor`` with its default limits, on whatever tier the machine
              gives (bwrap here); the program's stdout is taken from the executor's own judging
              step, so the full path (sandbox, zygote, fork, parent) is what is compared;
(b) plain     ``subprocess.run([sys.executable, prog.py], stdin=<input file>)``, as a contestant
              runs ``python3 prog.py < input``.

For each test the two must agree on the exit-status class (``ok``, ``exit N``, ``signal``,
``timeout``), on stdout byte for byte, and on the verdict under the same comparator. A
disagreement is listed with its likely cause.

Corpus: (1) ``tests/fixtures/sandbox/idioms/*.py``, hand-written variants of the IO idioms real
contest solutions use (see the README there); (2) real solutions from the shared data folder
(``$COBALT_SHARED_DATA``, default ``/work/shared/data``): the accepted Python 3 solution of each of
the 300 CodeContests problems (10 tests each), every stdin solution of the APPS train rows and of
the TACO row, on their tests; (3) with ``--mutants N``, N mutants of each CodeContests solution
(an integer constant off by one, a comparison or an arithmetic operator swapped), which fail in
every way a model's program fails: wrong answers, crashes, infinite loops, slow runs near the limit.

``--load N`` keeps N busy loops running (``while True: pass``, stopped at the end) while the executor
judges, as another job on the machine would; the plain runs, the reference, run on the quiet machine
before, so that what is measured is whether load changes the executor's verdicts
(``--load-reference`` loads both sides, so that each side's noise adds up). Both sides are judged on
the program's own CPU time: the plain run is killed only at the longest wall time the executor
allows a test (its limit stretched by the time the test waited for a CPU), and its interpreter's
start and the program's imports, which the executor's zygote did before the test began, are
subtracted (:func:`startup_cpu_s`).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import contextlib
import functools
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cobalt.records import ExecRequest, Tests  # noqa: E402
from cobalt.sandbox import Executor, SandboxConfig  # noqa: E402
from cobalt.sandbox import executor as executor_module  # noqa: E402
from cobalt.sandbox.compare import get_comparator  # noqa: E402
from cobalt.sandbox.config import Limits, default_workers  # noqa: E402
from cobalt.sandbox.zygote import NO_PREIMPORT, imported_modules  # noqa: E402

IDIOMS = ROOT / "tests" / "fixtures" / "sandbox" / "idioms"
IDIOM_TESTS = Tests(inputs=["3\n1 2 3\n", "2\n10 20"], outputs=["6\n", "30\n"])
SHARED = Path(os.environ.get("COBALT_SHARED_DATA", "/work/shared/data"))
CORES = default_workers()
# A contestant's shell: no PYTHONUNBUFFERED and friends from this process (they change what a program
# that ends with os._exit prints).
SANDBOX_STACK = 512 << 20  # the stack the zygote gives a test (cobalt/sandbox/zygote.py, apply_limits)
PLAIN_ENV = {name: value for name, value in os.environ.items() if not name.startswith("PYTHON")}


@dataclass
class Case:
    """One program and the tests it runs on."""

    name: str
    code: str
    tests: Tests


@dataclass
class Run:
    """How one test went: exit-status class, stdout, verdict, seconds used."""

    status: str
    stdout: bytes
    verdict: str
    seconds: float


@dataclass
class Disagreement:
    case: str
    test: int
    executor: Run
    plain: Run
    cause: str


@dataclass
class Report:
    tests: int = 0
    programs: int = 0
    agreeing_programs: int = 0
    disagreements: list[Disagreement] = field(default_factory=list)


# --- the corpus --------------------------------------------------------------------------------


def idiom_cases() -> list[Case]:
    """The hand-written IO idioms, each on the two standard idiom tests."""
    return [Case(f"idiom/{path.stem}", path.read_text(), IDIOM_TESTS) for path in sorted(IDIOMS.glob("*.py"))]


def codecontests_cases(archive: Path) -> Iterator[Case]:
    """The accepted ``main.py`` of each CodeContests-300 problem on its (up to) 10 tests."""
    files: dict[str, dict[str, str]] = {}
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if member.isfile() and (member.name.endswith("main.py") or "/tests/" in member.name):
                problem = member.name.split("/")[3]
                text = tar.extractfile(member).read().decode("utf-8")  # type: ignore[union-attr]
                files.setdefault(problem, {})[member.name.rsplit("/", 1)[1]] = text
    for problem, found in sorted(files.items()):
        numbers = sorted(int(name[6:-4]) for name in found if name.startswith("input_"))
        tests = Tests(
            inputs=[found[f"input_{i}.txt"] for i in numbers], outputs=[found[f"output_{i}.txt"] for i in numbers]
        )
        if "main.py" in found:
            yield Case(f"codecontests/{problem}", found["main.py"], tests)


def taco_style_cases(path: Path, prefix: str, id_key: str) -> Iterator[Case]:
    """Every solution of every stdin problem of an APPS/TACO-format file (``solutions`` and ``input_output``
    stored as JSON strings); call-based problems are skipped (a plain interpreter cannot run them)."""
    for line in path.read_text().splitlines():
        row = json.loads(line)
        io = json.loads(row["input_output"])
        if io.get("fn_name") or not io.get("inputs"):
            continue
        outputs = [o if isinstance(o, str) else "\n".join(map(str, o)) for o in io["outputs"]]
        tests = Tests(inputs=io["inputs"], outputs=outputs)
        for number, code in enumerate(json.loads(row["solutions"])):
            yield Case(f"{prefix}/{row.get(id_key)}#{number}", code, tests)


def real_cases() -> list[Case]:
    """Every real solution the shared data folder holds (empty when it is not there)."""
    cases: list[Case] = []
    if (SHARED / "codecontests300_with_solutions.tar.gz").is_file():
        cases += codecontests_cases(SHARED / "codecontests300_with_solutions.tar.gz")
    if (SHARED / "real-rows" / "apps_train5.jsonl").is_file():
        cases += taco_style_cases(SHARED / "real-rows" / "apps_train5.jsonl", "apps", "problem_id")
    for path in sorted((SHARED / "real-rows").glob("taco_*.jsonl")):
        cases += taco_style_cases(path, "taco", "url")
    return cases


# --- mutants -----------------------------------------------------------------------------------

SWAPPED_OPERATORS: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
}


def mutation_sites(tree: ast.AST) -> list[int]:
    """Positions (in ``ast.walk`` order) of the nodes :func:`mutate` can change."""
    sites = []
    for position, node in enumerate(ast.walk(tree)):
        integer = isinstance(node, ast.Constant) and type(node.value) is int
        operator = isinstance(node, ast.Compare) or (isinstance(node, ast.BinOp) and type(node.op) in SWAPPED_OPERATORS)
        if integer or operator:
            sites.append(position)
    return sites


def mutate(code: str, site: int) -> str | None:
    """``code`` with one change at ``site``: an integer constant plus one, or the first comparison or an
    arithmetic operator swapped for its neighbour (``<`` for ``<=``, ``==`` for ``!=``, ``+`` for ``-``)."""
    tree = ast.parse(code)
    node = list(ast.walk(tree))[site]
    if isinstance(node, ast.Constant):
        node.value += 1
    elif isinstance(node, ast.Compare):
        swapped = SWAPPED_OPERATORS.get(type(node.ops[0]))
        if swapped is None:
            return None
        node.ops[0] = swapped()
    else:
        node.op = SWAPPED_OPERATORS[type(node.op)]()  # type: ignore[attr-defined]
    mutant = ast.unparse(tree)
    return mutant if mutant != ast.unparse(ast.parse(code)) else None


def mutant_cases(cases: list[Case], per_program: int, seed: int = 0) -> list[Case]:
    """``per_program`` mutants of each case, at sites drawn with a fixed seed (the same corpus each run)."""
    rng = random.Random(seed)
    found = []
    for case in cases:
        try:
            sites = mutation_sites(ast.parse(case.code))
        except SyntaxError:
            continue
        for number, site in enumerate(rng.sample(sites, min(per_program, len(sites)))):
            code = mutate(case.code, site)
            if code is not None:
                found.append(Case(f"{case.name}~mutant{number}", code, case.tests))
    return found


@contextlib.contextmanager
def busy_loops(count: int) -> Iterator[None]:
    """``count`` processes spinning on the CPU (another job on the machine) until the block ends."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


# --- running both ways -------------------------------------------------------------------------


def status_of_returncode(returncode: int) -> str:
    if returncode < 0:
        return "signal"
    return "ok" if returncode == 0 else f"exit {returncode}"


def raise_stack_limit() -> None:
    """Give a plain run the sandbox's stack (``ulimit -s 524288``), as the reference's prelude raises it."""
    hard = resource.getrlimit(resource.RLIMIT_STACK)[1]
    want = SANDBOX_STACK if hard == resource.RLIM_INFINITY else min(SANDBOX_STACK, hard)
    resource.setrlimit(resource.RLIMIT_STACK, (want, hard))


def plain_limits(memory_mb: int, big_stack: bool) -> None:
    """A judge's memory limit for the plain run (``ulimit -v``, as the executor's ``RLIMIT_AS``; without it a
    mutant that allocates without bound runs on to its wall limit instead of failing), and with
    ``big_stack`` the sandbox's stack."""
    limit = memory_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    if big_stack:
        raise_stack_limit()


def plain_run(
    code_path: Path, stdin: str, limits: Limits, big_stack: bool = False, startup_s: float = 0.0
) -> tuple[str, bytes, float]:
    """``python3 prog.py < input`` under the executor's memory limit: the exit-status class, stdout and
    the program's own CPU seconds (``big_stack``: with the sandbox's stack limit instead of the shell's).

    A time-out is judged on CPU time, the program's own need (killed only at the longest wall time
    the executor allows a test), so that a busy machine does not turn a slow plain run into a
    disagreement. ``startup_s`` (:func:`startup_cpu_s`) is the interpreter's start and the program's
    imports, which the executor's zygote has done before a test starts: subtracted, so that both
    sides judge the same CPU time.
    """
    with tempfile.TemporaryFile() as stdin_file, tempfile.TemporaryFile() as stdout_file:
        stdin_file.write(stdin.encode("utf-8", "surrogateescape"))
        stdin_file.seek(0)
        process = subprocess.Popen(
            [sys.executable, str(code_path)],
            stdin=stdin_file,
            stdout=stdout_file,
            stderr=subprocess.DEVNULL,
            cwd=code_path.parent,
            env=PLAIN_ENV,
            preexec_fn=functools.partial(plain_limits, limits.memory_mb, big_stack),
        )
        killed = threading.Event()
        timer = threading.Timer(limits.longest_wall_s, lambda: (killed.set(), process.kill()))
        timer.start()
        try:
            _, wait_status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        process.returncode = os.waitstatus_to_exitcode(wait_status)
        cpu_s = max(0.0, usage.ru_utime + usage.ru_stime - startup_s)
        stdout_file.seek(0)
        stdout = stdout_file.read()
    if cpu_s > limits.cpu_s or killed.is_set():
        return "timeout", stdout, cpu_s
    return status_of_returncode(process.returncode), stdout, cpu_s


STARTUP_RUNS = 3


def startup_cpu_s(code: str, folder: str, limits: Limits | None = None) -> float:
    """CPU seconds ``python3`` spends before ``code``'s first statement: starting the interpreter and
    importing the modules ``code`` imports, which the executor's zygote has done before a test's clock
    starts (median of :data:`STARTUP_RUNS` plain runs of a program made of those imports only, in the
    same conditions as the plain runs). 0 for a program that does not compile."""
    try:
        modules = sorted(imported_modules(compile(code, "prog.py", "exec")) - NO_PREIMPORT)
    except (SyntaxError, ValueError):
        return 0.0
    lines = [f"try:\n    import {name}\nexcept BaseException:\n    pass\n" for name in modules]
    with tempfile.NamedTemporaryFile("w", suffix=".py", dir=folder, delete=False) as script:
        script.write("".join(lines))
    limits = limits or Limits()
    return statistics.median(plain_run(Path(script.name), "", limits)[2] for _ in range(STARTUP_RUNS))


def verdict_of(status: str, stdout: bytes, expected: str, test_input: str, comparator: str) -> str:
    """The verdict a judge gives this exit status and output under ``comparator``."""
    if status == "timeout":
        return "TLE"
    if status != "ok":
        return "RE"
    output = stdout.decode("utf-8", "replace")
    return "AC" if get_comparator(comparator)(output, expected, test_input) else "WA"


def run_plain(cases: list[Case], config: SandboxConfig, comparator: str) -> dict[tuple[int, int], Run]:
    """Every test of every case with the plain interpreter, ``CORES`` at a time."""
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for number, case in enumerate(cases):
            path = Path(folder) / str(number) / "prog.py"
            path.parent.mkdir()
            path.write_text(case.code)
            paths.append(path)
        jobs = [(c, t) for c, case in enumerate(cases) for t in range(len(case.tests))]
        with ThreadPoolExecutor(CORES) as pool:
            startups = list(pool.map(lambda case: startup_cpu_s(case.code, folder, config.limits), cases))

        def one(job: tuple[int, int]) -> Run:
            c, t = job
            tests = cases[c].tests
            status, stdout, seconds = plain_run(paths[c], tests.inputs[t], config.limits, startup_s=startups[c])
            return Run(
                status, stdout, verdict_of(status, stdout, tests.outputs[t], tests.inputs[t], comparator), seconds
            )

        with ThreadPoolExecutor(CORES) as pool:
            return dict(zip(jobs, pool.map(one, jobs)))


def executor_status(raw: executor_module.RawRun | None, verdict: str) -> str:
    """The exit-status class of an executor run (a time-limit verdict, SIGXCPU included, is ``timeout``)."""
    if raw is None:  # compile error or a run the executor never started: Python exits 1 on a SyntaxError
        return "exit 1" if verdict == "CE" else verdict
    if verdict == "TLE":
        return "timeout"
    if raw.signal:
        return "signal"
    return status_of_returncode(raw.exit_code)


def run_executor(cases: list[Case], config: SandboxConfig, comparator: str) -> dict[tuple[int, int], Run]:
    """Every case through the executor; stdout is recorded where the executor judges it."""
    raws: dict[tuple[str | None, int], executor_module.RawRun] = {}
    original = executor_module._ProgramRun._judge

    def recording_judge(self, index, raw):  # type: ignore[no-untyped-def]
        raws[(self.request.id, index)] = raw
        return original(self, index, raw)

    async def main() -> list:
        async with Executor(config) as executor:
            requests = [
                ExecRequest(id=str(c), code=case.code, tests=case.tests, comparator=comparator)
                for c, case in enumerate(cases)
            ]
            return await executor.run_all(requests)

    executor_module._ProgramRun._judge = recording_judge  # type: ignore[method-assign]
    try:
        results = asyncio.run(main())
    finally:
        executor_module._ProgramRun._judge = original  # type: ignore[method-assign]
    runs = {}
    for c, result in enumerate(results):
        for t, outcome in enumerate(result.per_test):
            raw = raws.get((str(c), t))
            verdict = str(outcome.verdict.value if hasattr(outcome.verdict, "value") else outcome.verdict)
            status = executor_status(raw, verdict)
            stdout = raw.stdout if raw is not None else b""
            runs[(c, t)] = Run(status, stdout, verdict, raw.cpu_s if raw is not None else 0.0)
    return runs


STACK_CAUSE = "stack (deliberate): the sandbox's 512 MiB stack; with it the plain run agrees"


def agrees_with_big_stack(case: Case, test: int, executor: Run, config: SandboxConfig, comparator: str) -> bool:
    """Whether the plain run, given the sandbox's stack limit, does what the executor did."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "prog.py"
        path.write_text(case.code)
        status, stdout, _ = plain_run(path, case.tests.inputs[test], config.limits, big_stack=True)
    return status == executor.status and stdout == executor.stdout


def cause_of(case: Case, test: int, executor: Run, plain: Run, config: SandboxConfig, comparator: str) -> str:
    """The likely cause of a disagreement, for the report."""
    if plain.status == "signal" and agrees_with_big_stack(case, test, executor, config, comparator):
        return STACK_CAUSE  # deep C recursion overflows the shell's 8 MiB stack
    near = 0.5 * config.limits.cpu_s
    if "timeout" in (executor.status, plain.status) or max(executor.seconds, plain.seconds) > near:
        return "timing: CPU time near the limit (it varies by a few per cent between runs, on either side)"
    if executor.verdict == "MLE":
        return "memory: the sandbox's address-space limit (the plain run has none)"
    if executor.status != plain.status:
        return f"exit status: {executor.status} in the sandbox, {plain.status} outside"
    return "stdout differs"


def normalized_verdict(verdict: str) -> str:
    """The executor's limit verdicts in the plain run's terms (MLE/OLE/CE are runtime failures outside)."""
    return {"MLE": "RE", "OLE": "RE", "CE": "RE"}.get(verdict, verdict)


def compare_runs(
    cases: list[Case], config: SandboxConfig, comparator: str = "lines", load: int = 0, load_reference: bool = False
) -> Report:
    """Run every case both ways and collect the tests where they disagree. ``load`` busy loops run while
    the executor judges; with ``load_reference`` also while the plain interpreter does (otherwise the
    reference verdicts come from a quiet machine, the judge's verdict a loaded one must reproduce)."""
    with busy_loops(load if load_reference else 0):
        plain = run_plain(cases, config, comparator)
    with busy_loops(load):
        sandboxed = run_executor(cases, config, comparator)
    report = Report(programs=len(cases))
    for c, case in enumerate(cases):
        agree = True
        for t in range(len(case.tests)):
            ours, theirs = sandboxed[(c, t)], plain[(c, t)]
            report.tests += 1
            both_timed_out = ours.status == theirs.status == "timeout"  # what a killed run printed is moot
            same = both_timed_out or (
                ours.status == theirs.status
                and ours.stdout == theirs.stdout
                and normalized_verdict(ours.verdict) == theirs.verdict
            )
            if not same:
                agree = False
                report.disagreements.append(
                    Disagreement(case.name, t, ours, theirs, cause_of(case, t, ours, theirs, config, comparator))
                )
        report.agreeing_programs += agree
    return report


def render(title: str, report: Report) -> str:
    agreeing_tests = report.tests - len(report.disagreements)
    lines = [
        f"| {title} | {report.programs} | {report.agreeing_programs} | {report.tests} | {agreeing_tests} |",
    ]
    return "\n".join(lines)


def describe(disagreement: Disagreement) -> str:
    ours, theirs = disagreement.executor, disagreement.plain
    return (
        f"  {disagreement.case} test {disagreement.test}: executor {ours.status}/{ours.verdict} "
        f"stdout {ours.stdout[:60]!r}; plain {theirs.status}/{theirs.verdict} stdout {theirs.stdout[:60]!r}"
        f" -- {disagreement.cause}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idioms-only", action="store_true", help="only the hand-written idiom corpus")
    parser.add_argument("--comparator", default="lines", help="the comparator both verdicts use")
    parser.add_argument("--mutants", type=int, default=0, help="mutants of each CodeContests solution to add")
    parser.add_argument("--load", type=int, default=0, help="busy loops running while the executor judges")
    parser.add_argument(
        "--load-reference",
        action="store_true",
        help="with --load: the plain runs too run under load (by default they run on the quiet machine)",
    )
    parser.add_argument("--cpu-s", type=float, default=Limits().cpu_s, help="CPU seconds per test (default 4)")
    parser.add_argument("--only-mutated", action="store_true", help="with --mutants: CodeContests and its mutants only")
    parser.add_argument("--limit", type=int, help="only the first N CodeContests problems (and their mutants)")
    args = parser.parse_args()
    config = SandboxConfig(cache_size=0, limits=Limits(cpu_s=args.cpu_s))
    corpora = {"IO idioms (hand-written)": idiom_cases()}
    if not args.idioms_only:
        real = real_cases()
        contests = [c for c in real if c.name.startswith("codecontests/")][: args.limit]
        corpora["CodeContests-300 accepted"] = contests
        corpora["APPS + TACO rows (all stdin solutions)"] = [c for c in real if not c.name.startswith("codecontests/")]
        if args.mutants:
            corpora[f"CodeContests-300 mutants ({args.mutants} each)"] = mutant_cases(contests, args.mutants)
            if args.only_mutated:
                corpora = {k: v for k, v in corpora.items() if k.startswith("CodeContests")}
    print(
        f"{CORES} cores, python {sys.version.split()[0]}, comparator {args.comparator}, cpu {args.cpu_s:g} s per test,"
        f" {args.load} busy loops{' on both sides' if args.load_reference else ' while the executor judges'},"
        f" load average before {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    rows, all_disagreements, causes = [], [], Counter()
    for title, cases in corpora.items():
        if not cases:
            continue
        started = time.monotonic()
        report = compare_runs(cases, config, args.comparator, args.load, args.load_reference)
        print(f"measured {title} in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
        rows.append(render(title, report))
        all_disagreements += report.disagreements
        causes.update(d.cause for d in report.disagreements)
    print("| corpus | programs | programs agreeing on every test | tests | tests agreeing |")
    print("|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    print(f"\n{len(all_disagreements)} disagreements")
    for cause, count in causes.most_common():
        print(f"  {count:5d}  {cause}")
    for disagreement in all_disagreements:
        print(describe(disagreement))


if __name__ == "__main__":
    main()
