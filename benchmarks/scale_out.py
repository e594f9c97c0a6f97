"""Scale-out: the local executor against the ``ray`` backend, and a model of a 640-core pool.

Run:  python benchmarks/scale_out.py        (about 3 minutes on 2 cores; starts and stops its own Ray)

Measured in one run, on this machine:

1. throughput (tests per second) of the same batch, ``trivial`` (a+b, 40 programs x 20 tests) and
   ``real`` (the 54 accepted CodeContests solutions of tests/fixtures, ~10 tests each), on the
   local executor (``workers`` = cores) and on the ray backend with 1, 2 and 4 actors of one
   worker each, and 1 actor of ``cores`` workers (the local executor's shape, behind Ray), with
   and without ``ray_prefetch`` (programs sent beyond the workers, whose sandboxes start early);
   Ray gets ``4`` logical CPUs so that 4 one-worker actors fit on 2 cores (oversubscribed);
2. the per-request overhead of the Ray path: the median latency of a one-test program sent one at
   a time, ray minus local, and the caller's CPU per request (what one driver spends dispatching);
3. a model of the 8B recipe's scoring step on a 10-node, 640-core pool: 128 prompts x 16 samples,
   up to 20 tests each (2,048 programs, 40,960 test runs), from the measured core-seconds per test
   of real programs through Ray (the pool-bound time) and the driver's CPU per request (the
   driver-bound time: one caller dispatches every request), against the time to generate the
   step's completions (assumptions: ``--gen-tokens`` per completion at ``--gen-tokens-per-s``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cobalt.records import ExecRequest, Tests  # noqa: E402
from cobalt.sandbox import SandboxConfig, make_executor  # noqa: E402
from cobalt.sandbox.config import default_workers  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "codecontests_sample.jsonl"
CORES = default_workers()
RAY_LOGICAL_CPUS = 4


@dataclass
class Throughput:
    label: str
    workload: str
    tests: int
    seconds: float
    driver_cpu_s: float

    @property
    def tests_per_s(self) -> float:
        return self.tests / self.seconds


def trivial_requests(programs: int = 40, tests: int = 20) -> list[ExecRequest]:
    inputs = [f"{i} {i + 1}\n" for i in range(tests)]
    outputs = [f"{2 * i + 1}\n" for i in range(tests)]
    return [
        ExecRequest(
            id=f"t{p}",
            code=f"a, b = map(int, input().split())\nprint(a + b)  # {p}\n",
            tests=Tests(inputs=inputs, outputs=outputs),
        )
        for p in range(programs)
    ]


def real_requests() -> list[ExecRequest]:
    rows = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    return [ExecRequest(id=row["id"], code=row["solution"], tests=Tests(**row["tests"])) for row in rows]


def driver_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def config_for(backend: str, workers: int, actors: int | None = None, prefetch: int = 0) -> SandboxConfig:
    return SandboxConfig(
        backend=backend,  # type: ignore[arg-type]
        workers=workers,
        ray_actors=actors,
        ray_prefetch=prefetch,
        cache_size=0,
    )


async def measure(label: str, config: SandboxConfig, workloads: dict[str, list[ExecRequest]]) -> list[Throughput]:
    found = []
    async with make_executor(config) as executor:
        await executor.run_all(trivial_requests(4, 2))  # warm: imports, first sandboxes
        for name, requests in workloads.items():
            cpu, started = driver_cpu_s(), time.perf_counter()
            results = await executor.run_all(requests)
            seconds, cpu = time.perf_counter() - started, driver_cpu_s() - cpu
            assert all(r.sandbox_errors == 0 for r in results)
            found.append(Throughput(label, name, sum(len(r.tests) for r in requests), seconds, cpu))
    return found


async def latency(config: SandboxConfig, count: int = 60) -> tuple[float, float]:
    """Median seconds of one one-test program sent alone, and the caller's CPU seconds per request."""
    tests = Tests(inputs=["1 2\n"], outputs=["3\n"])
    async with make_executor(config) as executor:
        await executor.run("print(3)  # warm\n", tests)
        times, cpu = [], driver_cpu_s()
        for i in range(count):
            started = time.perf_counter()
            await executor.run(f"a, b = map(int, input().split())\nprint(a + b)  # {i}\n", tests)
            times.append(time.perf_counter() - started)
        return statistics.median(times), (driver_cpu_s() - cpu) / count


def model_step(core_s_per_test: float, driver_s_per_request: float, args: argparse.Namespace) -> list[str]:
    """The scoring time of one step of the 8B recipe on the modelled pool, against generation."""
    programs = args.prompts * args.samples
    tests = programs * args.tests
    cores = args.nodes * args.cores_per_node
    pool_s = tests * core_s_per_test / cores
    driver_s = programs * driver_s_per_request  # one caller dispatches every request
    scoring_s = max(pool_s, driver_s)
    generation_s = programs * args.gen_tokens / args.gen_tokens_per_s
    return [
        f"| programs per step | {programs:,} ({args.prompts} prompts x {args.samples} samples) |",
        f"| test runs per step | {tests:,} (up to {args.tests} tests each) |",
        f"| pool | {args.nodes} nodes x {args.cores_per_node} cores = {cores} workers |",
        f"| measured cost | {1000 * core_s_per_test:.2f} core-ms per test (real programs through Ray, their "
        f"sandbox start spread over ~10 tests); driver {1000 * driver_s_per_request:.2f} ms CPU per request |",
        f"| pool-bound scoring time | {pool_s:.1f} s |",
        f"| driver-bound scoring time | {driver_s:.1f} s |",
        f"| **scoring per step** | **{scoring_s:.1f} s** |",
        f"| generation per step (assumed) | {generation_s:.0f} s ({programs:,} x {args.gen_tokens:,} tokens at "
        f"{args.gen_tokens_per_s:,.0f} tokens/s) |",
        f"| scoring / generation | {scoring_s / generation_s:.1%} |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--cores-per-node", type=int, default=64)
    parser.add_argument("--prompts", type=int, default=128)
    parser.add_argument("--samples", type=int, default=16)
    parser.add_argument("--tests", type=int, default=20)
    parser.add_argument("--gen-tokens", type=int, default=3000, help="mean completion tokens (paper-8b caps 6144)")
    parser.add_argument(
        "--gen-tokens-per-s",
        type=float,
        default=10_000,
        help="the step's generation throughput: vLLM, Qwen3-8B on the recipe's 4 GPUs, ~2,500 tokens/s each",
    )
    args = parser.parse_args()

    import ray

    ray.init(num_cpus=RAY_LOGICAL_CPUS, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        workloads = {"trivial": trivial_requests(), "real": real_requests()}
        shapes = [
            (f"local, {CORES} workers", config_for("local", CORES)),
            ("ray, 1 actor x 1 worker", config_for("ray", 1, 1)),
            ("ray, 2 actors x 1 worker", config_for("ray", 1, 2)),
            ("ray, 4 actors x 1 worker", config_for("ray", 1, 4)),
            (f"ray, 1 actor x {CORES} workers, prefetch {CORES}", config_for("ray", CORES, 1, CORES)),
            (f"ray, 1 actor x {CORES} workers", config_for("ray", CORES, 1)),
        ]
        load = os.getloadavg()[0]
        results: list[Throughput] = []
        for label, config in shapes:
            results += asyncio.run(measure(label, config, workloads))
            print(f"measured {label}", file=sys.stderr, flush=True)
        local_latency, local_cpu = asyncio.run(latency(config_for("local", CORES)))
        ray_latency, ray_cpu = asyncio.run(latency(config_for("ray", CORES, 1)))
    finally:
        ray.shutdown()

    print(f"{CORES} cores, Python {sys.version.split()[0]}, Ray {ray.__version__}, load average {load:.2f} at start\n")
    print("| backend | trivial tests/s | real tests/s | vs local (trivial) | vs local (real) |")
    print("|---|---:|---:|---:|---:|")
    by_label: dict[str, dict[str, Throughput]] = {}
    for result in results:
        by_label.setdefault(result.label, {})[result.workload] = result
    base = by_label[shapes[0][0]]
    for label, _ in shapes:
        row = by_label[label]
        trivial, real = row["trivial"], row["real"]
        ratios = [row[w].tests_per_s / base[w].tests_per_s for w in ("trivial", "real")]
        print(f"| {label} | {trivial.tests_per_s:.0f} | {real.tests_per_s:.0f} | {ratios[0]:.2f}x | {ratios[1]:.2f}x |")
    print("\n| per request (one test, sent alone) | local | ray | ray overhead |")
    print("|---|---:|---:|---:|")
    for name, ours, theirs in (
        ("median latency, ms", local_latency, ray_latency),
        ("caller's CPU, ms", local_cpu, ray_cpu),
    ):
        print(f"| {name} | {1000 * ours:.2f} | {1000 * theirs:.2f} | {1000 * (theirs - ours):+.2f} |")
    real_on_ray = by_label[shapes[-1][0]]["real"]
    per_test = real_on_ray.seconds * CORES / real_on_ray.tests
    print("\n| model: one step of the 8B recipe on a Ray pool | |")
    print("|---|---|")
    print("\n".join(model_step(per_test, ray_cpu, args)))


if __name__ == "__main__":
    main()
