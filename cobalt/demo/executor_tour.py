"""A small end-to-end tour of the executor on bundled problems (``cobalt demo --executor``).

Each problem comes with a correct program and typical model mistakes (a wrong operator, an
off-by-one, a crash, an endless loop, a memory blow-up). The tour runs all of them in the sandbox,
prints one row per program, the feedback a model would receive for one failure, and throughput.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

from cobalt.records import ExecRequest, Tests


@dataclass(frozen=True)
class DemoProblem:
    """A bundled problem: its tests, and programs labelled by what they get right or wrong."""

    name: str
    tests: Tests
    programs: dict[str, str]


def _problems() -> list[DemoProblem]:
    pairs = [(3, 4), (10, -2), (0, 0), (123456789, 987654321)]
    sum_tests = Tests(inputs=[f"{a} {b}\n" for a, b in pairs], outputs=[f"{a + b}\n" for a, b in pairs])
    arrays = [[3, 1, 2], [5], [9, 9, 1, 0], [-1, -5, 4, 4, 2]]
    max_tests = Tests(
        inputs=[f"{len(a)}\n{' '.join(map(str, a))}\n" for a in arrays], outputs=[f"{max(a)}\n" for a in arrays]
    )
    words = [["apple", "Banana", "cherry"], ["z"], ["b", "a"]]
    call_tests = Tests(
        inputs=[json.dumps(w) for w in words],
        outputs=[json.dumps(sorted(w, key=str.lower)) for w in words],
        fn_name="sort_words",
    )
    return [
        DemoProblem(
            "sum of two numbers",
            sum_tests,
            {
                "correct": "a, b = map(int, input().split())\nprint(a + b)\n",
                "wrong operator": "a, b = map(int, input().split())\nprint(a - b)\n",
                "crashes": "a, b = input().split()\nprint(int(a) + int(b) / 0)\n",
            },
        ),
        DemoProblem(
            "maximum of a list",
            max_tests,
            {
                "correct": "n = int(input())\nprint(max(map(int, input().split())))\n",
                "off by one": "n = int(input())\nxs = list(map(int, input().split()))\nprint(max(xs[1:] or [0]))\n",
                "endless loop": "n = int(input())\nwhile n:\n    pass\n",
                "memory blow-up": "n = int(input())\nxs = [0] * (10 ** 10)\n",
            },
        ),
        DemoProblem(
            "sort words ignoring case (call-based)",
            call_tests,
            {
                "correct": "def sort_words(words):\n    return sorted(words, key=str.lower)\n",
                "case-sensitive": "def sort_words(words):\n    return sorted(words)\n",
                "returns a set": "def sort_words(words):\n    return set(words)\n",
            },
        ),
    ]


async def run_tour(config=None, *, timeout_s: float = 1.0) -> str:
    """Run every demo program; return the report as text."""
    from cobalt.sandbox import Executor, Limits, SandboxConfig

    config = config or SandboxConfig(limits=Limits(cpu_s=timeout_s, memory_mb=512))
    problems = _problems()
    requests = [
        ExecRequest(id=f"{problem.name} / {label}", code=code, tests=problem.tests)
        for problem in problems
        for label, code in problem.programs.items()
    ]
    async with Executor(config) as executor:
        started = time.perf_counter()
        results = await executor.run_all(requests)
        seconds = time.perf_counter() - started
        tier = executor.isolation.describe()
    width = max(len(r.id or "") for r in results)
    lines = [f"sandbox: {tier}", "", f"{'program':{width}}  pass rate  verdicts"]
    for result in results:
        lines.append(f"{result.id:{width}}  {result.pass_rate:9.2f}  {' '.join(map(str, result.verdicts))}")
    example = next(r for r in results if r.id and r.id.endswith("off by one"))
    tests = sum(len(r.verdicts) for r in results)
    lines += [
        "",
        f"feedback a model receives for '{example.id}':",
        "  " + example.feedback.replace("\n", "\n  "),
        "",
        f"{len(results)} programs, {tests} tests in {seconds:.2f} s (limits: {timeout_s:g} s CPU per test).",
    ]
    return "\n".join(lines)


def main() -> None:
    """Run the tour and print its report."""
    print(asyncio.run(run_tour()))
