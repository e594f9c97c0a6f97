"""Soak: tens of thousands of test runs of mixed programs at full concurrency on the ray backend.

Run:  python benchmarks/soak.py                  (24,000 test runs, about 3 minutes on 2 cores)
      python benchmarks/soak.py --programs 200   (a shorter run)

Every program has 20 tests; its kind decides what it does on them: correct, wrong, one time-out
(a CPU loop on one test), memory bombs bounded by the sandbox's memory limit (one huge allocation,
one list grown until the limit stops it), crashes (an exception, ``os.abort``, ``sys.exit(3)``,
SIGKILL to itself). Each result must carry exactly the verdicts its kind predicts, in order.

Reported: test runs per second, p50/p99 latency of a program (from the moment it is dispatched
to an actor), verdict counts, and what is left behind: processes carrying the sandbox's marker,
per-sandbox cgroups, and ``cobalt-*`` folders in /tmp, counted before and after (after the pool and
Ray are shut down).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cobalt.records import ExecRequest, Tests  # noqa: E402
from cobalt.sandbox import Limits, SandboxConfig, make_executor  # noqa: E402
from cobalt.sandbox.config import default_workers  # noqa: E402

SANDBOX_MARKER = b"in-sandbox supervisor"  # a phrase of the zygote's source, in every sandbox process
TESTS = 20
LIMITS = Limits(cpu_s=0.5, wall_s=1.5, memory_mb=128)
HEADER = "a, b = map(int, input().split())\n"
# kind -> (program body after reading a and b, verdict of each test by a = 0..19)
KINDS: dict[str, tuple[str, list[str]]] = {
    "correct": ("print(a + b)\n", ["AC"] * TESTS),
    "wrong": ("print(a - b)\n", ["WA"] * TESTS),
    "timeout": ("if a == 3:\n    while True:\n        pass\nprint(a + b)\n", ["AC"] * 3 + ["TLE"] + ["AC"] * 16),
    "huge_allocation": ("if a == 5:\n    x = bytearray(1 << 40)\nprint(a + b)\n", ["AC"] * 5 + ["MLE"] + ["AC"] * 14),
    "growing_list": (
        "if a == 7:\n    xs = []\n    while True:\n        xs.append(bytearray(1 << 20))\nprint(a + b)\n",
        ["AC"] * 7 + ["MLE"] + ["AC"] * 12,
    ),
    "exception": ("print(a + b if a != 9 else 1 // 0)\n", ["AC"] * 9 + ["RE"] + ["AC"] * 10),
    "abort": ("import os\nif a == 11:\n    os.abort()\nprint(a + b)\n", ["AC"] * 11 + ["RE"] + ["AC"] * 8),
    "exit_code": ("import sys\nif a == 13:\n    sys.exit(3)\nprint(a + b)\n", ["AC"] * 13 + ["RE"] + ["AC"] * 6),
    "kill_self": (
        "import os, signal\nif a == 15:\n    os.kill(os.getpid(), signal.SIGKILL)\nprint(a + b)\n",
        ["AC"] * 15 + ["RE"] + ["AC"] * 4,
    ),
}
SUITE = Tests(inputs=[f"{a} {a + 1}\n" for a in range(TESTS)], outputs=[f"{2 * a + 1}\n" for a in range(TESTS)])


def requests(count: int) -> list[tuple[ExecRequest, list[str]]]:
    """``count`` programs cycling through the kinds, each made unique (no cache hit, no shared run)."""
    kinds = sorted(KINDS)
    made = []
    for number in range(count):
        body, verdicts = KINDS[kinds[number % len(kinds)]]
        made.append((ExecRequest(id=str(number), code=f"{HEADER}{body}# {number}\n", tests=SUITE), verdicts))
    return made


def leftovers() -> dict[str, int]:
    """Processes carrying the sandbox's marker, per-sandbox cgroups, and cobalt-* folders in /tmp."""
    processes = 0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                processes += SANDBOX_MARKER in (entry / "cmdline").read_bytes()
            except OSError:
                pass
    cgroups = 0
    for parent in (
        Path("/sys/fs/cgroup/pids/cobalt"),
        Path("/sys/fs/cgroup/memory/cobalt"),
        Path("/sys/fs/cgroup/cobalt"),
    ):
        if parent.is_dir():
            cgroups += sum(1 for child in parent.iterdir() if child.is_dir())
    tmp = sum(1 for child in Path("/tmp").iterdir() if child.name.startswith("cobalt-"))
    return {"sandbox processes": processes, "sandbox cgroups": cgroups, "cobalt-* in /tmp": tmp}


async def soak(
    config: SandboxConfig, batch: list[tuple[ExecRequest, list[str]]]
) -> tuple[float, list[float], Counter, list[str]]:
    latencies: list[float] = []
    verdicts: Counter = Counter()
    wrong: list[str] = []
    async with make_executor(config) as executor:
        gate = asyncio.Semaphore(executor.default_in_flight())  # full concurrency, nothing queued in an actor

        async def one(request: ExecRequest, expected: list[str]) -> None:
            async with gate:
                started = time.perf_counter()
                result = await executor.run_request(request)
                latencies.append(time.perf_counter() - started)
            got = [v.value for v in result.verdicts]
            verdicts.update(got)
            if got != expected:
                wrong.append(f"program {request.id}: {got} != {expected}")

        started = time.perf_counter()
        await asyncio.gather(*(one(request, expected) for request, expected in batch))
        seconds = time.perf_counter() - started
        print(f"pool: {executor.stats}", file=sys.stderr)
    return seconds, latencies, verdicts, wrong


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--programs", type=int, default=1200, help="programs of 20 tests (default 1200: 24,000 runs)")
    parser.add_argument("--actors", type=int, default=default_workers(), help="actors of one worker (default: cores)")
    args = parser.parse_args()

    import ray

    before = leftovers()
    load = os.getloadavg()[0]
    ray.init(num_cpus=args.actors, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        config = SandboxConfig(backend="ray", workers=1, ray_actors=args.actors, limits=LIMITS, cache_size=0)
        batch = requests(args.programs)
        seconds, latencies, verdicts, wrong = asyncio.run(soak(config, batch))
    finally:
        ray.shutdown()
    time.sleep(2)  # bwrap's --die-with-parent and the cgroups' removal finish
    after = leftovers()

    runs = args.programs * TESTS
    print(
        f"{default_workers()} cores, {args.actors} actors x 1 worker, Ray {ray.__version__}, load {load:.2f} at start\n"
    )
    print("| test runs | programs | seconds | test runs/s | p50 ms per program | p99 ms per program | wrong verdicts |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    p50, p99 = (1000 * percentile(latencies, q) for q in (50, 99))
    row = [f"{runs:,}", f"{args.programs:,}", f"{seconds:.0f}", f"{runs / seconds:.0f}", f"{p50:.0f}", f"{p99:.0f}"]
    print("| " + " | ".join([*row, str(len(wrong))]) + " |")
    print("\n| verdict | tests |\n|---|---:|")
    for verdict, count in sorted(verdicts.items()):
        print(f"| {verdict} | {count:,} |")
    print("\n| left behind | before | after |\n|---|---:|---:|")
    for name in before:
        print(f"| {name} | {before[name]} | {after[name]} |")
    for line in wrong[:20]:
        print(line)
    if wrong or any(after[name] > before[name] for name in before):
        sys.exit(1)


if __name__ == "__main__":
    main()
