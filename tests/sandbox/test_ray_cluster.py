"""The ``ray`` backend on a cluster of several nodes: Ray's own multi-node test helper
(``ray.cluster_utils.Cluster``) starts a head and two worker raylets on this machine, on the
loopback address, once for the module. Joining a running cluster by its address (and leaving it
running), actors spread over the nodes, and a whole node lost in the middle of a batch; each at the
level a user works (``make_executor``, ``SyncExecutor``), with real programs and real verdicts."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from cobalt.records import ExecRequest, Tests, Verdict
from cobalt.sandbox import Limits, SandboxConfig, SyncExecutor, make_executor, ray_pool

ray = pytest.importorskip("ray")
from ray.cluster_utils import Cluster  # noqa: E402  (only once Ray is known to be installed)

LOOPBACK = "127.0.0.1"
# Each node: loopback only, no dashboard, the helper's small object store; a worker node has one CPU.
NODE_ARGS = {"node_ip_address": LOOPBACK, "include_dashboard": False}
LIMITS = Limits(cpu_s=2.0, wall_s=6.0, memory_mb=512)
# Two one-worker actors: one per worker node, since each node has a single CPU.
CONFIG = SandboxConfig(backend="ray", workers=1, ray_actors=2, limits=LIMITS, cache_size=0)


@pytest.fixture(scope="module")
def cluster():
    """A head of no CPUs and two worker nodes of one CPU each, for the whole module.

    Every node listens on the loopback address only. Ray rewrites a loopback address given to
    ``ray.init(address=...)`` into the machine's network address, where such a cluster does not
    listen, unless it runs as a single-machine cluster (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``,
    Ray's default on macOS and Windows): the module sets that switch, which Ray reads when it
    resolves an address.

    The helper also points ``/tmp/ray/ray_current_cluster`` (where a plain ``ray.init()`` of any
    process on this machine looks for a cluster to join) at this cluster: the file is put back as it
    was, so that no other Ray user on the machine joins it by accident.
    """
    if ray.is_initialized():  # a connection left by another module: this module's executors join by address
        ray.shutdown()
    address_file = Path(ray._common.utils.get_ray_address_file(None))
    before = address_file.read_text() if address_file.exists() else None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ray._private.ray_constants, "ENABLE_RAY_CLUSTER", False)
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, **NODE_ARGS})
        try:
            _restore(address_file, before)
            for _ in range(2):
                cluster.add_node(num_cpus=1, **NODE_ARGS)
            cluster.wait_for_nodes()
            yield cluster
        finally:
            ray.shutdown()
            cluster.shutdown()
            _restore(address_file, before)


@pytest.fixture(autouse=True)
def disconnected(cluster):
    """Every test starts and ends with this process not connected to Ray."""
    assert not ray.is_initialized()
    yield
    ray.shutdown()


def _restore(path: Path, text: str | None) -> None:
    if text is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(text)


def _connect(cluster) -> None:
    ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)


def _worker_node_ids(cluster) -> set[str]:
    return {node.node_id for node in cluster.worker_nodes}


def _alive_node_ids() -> set[str]:
    return {node["NodeID"] for node in ray.nodes() if node["Alive"]}


def _request(name: str, code: str, inputs: list[str], outputs: list[str]) -> ExecRequest:
    return ExecRequest(id=name, code=code, tests=Tests(inputs=inputs, outputs=outputs))


# --- joining a running cluster --------------------------------------------------------------------


def test_an_executor_joins_a_running_cluster_by_address_and_leaves_it_running(cluster):
    requests = [
        _request("correct", "print(int(input()) * 2)\n", ["2\n", "5\n"], ["4\n", "10\n"]),
        _request("wrong", "print(int(input()) * 3)\n", ["2\n", "0\n"], ["4\n", "0\n"]),
        _request("timeout", "while True:\n    pass\n", ["1\n"], ["1\n"]),
    ]
    with SyncExecutor(CONFIG.model_copy(update={"ray_address": cluster.address})) as executor:
        assert ray.is_initialized()  # the executor connected this process ...
        assert _alive_node_ids() == {cluster.head_node.node_id} | _worker_node_ids(cluster)  # ... to that cluster
        results = executor.run_all(requests)
        assert {member.node for member in executor.executor.members} <= _worker_node_ids(cluster)
    assert [[v.value for v in r.verdicts] for r in results] == [["AC", "AC"], ["WA", "AC"], ["TLE"]]
    assert all(r.sandbox_errors == 0 and r.tier == "bwrap" for r in results)

    # Closing the executor ended the connection it opened, not the cluster, which it did not start.
    assert not ray.is_initialized()
    assert cluster.remaining_processes_alive()
    _connect(cluster)
    assert _alive_node_ids() == {cluster.head_node.node_id} | _worker_node_ids(cluster)
    assert ray.get(ray.remote(num_cpus=1)(lambda: "usable").remote(), timeout=60) == "usable"


def test_actors_spread_over_the_nodes_and_the_callers_connection_is_left_alone(cluster):
    _connect(cluster)  # the caller joined the cluster itself: the executor uses that connection
    with SyncExecutor(CONFIG) as executor:
        nodes = [member.node for member in executor.executor.members]
        result = executor.run("print(input())\n", Tests(inputs=["7\n"], outputs=["7\n"]))
    assert result.verdicts == [Verdict.ACCEPTED], result.feedback
    assert len(set(nodes)) == 2 and set(nodes) == _worker_node_ids(cluster)  # one actor on each node
    assert ray.is_initialized()  # still connected: the executor did not open this connection
    # Its actors were killed with it: both worker nodes' CPUs are free again for the caller's work.
    deadline = time.monotonic() + 30
    while ray.available_resources().get("CPU", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ray.available_resources().get("CPU", 0) == 2
    assert ray.get(ray.remote(num_cpus=1)(lambda: "usable").remote(), timeout=60) == "usable"


# --- a node lost in the middle of a batch ---------------------------------------------------------

BUSY = "n = int(input())\nx = 0\nfor i in range(9_000_000):\n    x += i\nprint(n)  # {i}\n"  # ~0.5 s of CPU


def _busy_request(i: int) -> ExecRequest:
    return ExecRequest(id=f"r{i}", code=BUSY.format(i=i), tests=Tests(inputs=[f"{i}\n"], outputs=[f"{i}\n"]))


async def _until(condition, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_a_node_lost_mid_batch_fails_only_its_calls_which_finish_on_the_surviving_node(cluster, monkeypatch):
    count = 12
    config = CONFIG.model_copy(update={"ray_address": cluster.address})

    async def main():
        async with make_executor(config) as pool:
            # A replacement that no node can take is given up on after READY_TIMEOUT_S (120 s): shortened
            # once the pool is up, so that the test sees the pool drop the member and take it back later.
            monkeypatch.setattr(ray_pool, "READY_TIMEOUT_S", 5.0)
            victim, survivor = pool.members
            node = next(n for n in cluster.worker_nodes if n.node_id == victim.node)
            batch = asyncio.ensure_future(pool.run_all([_busy_request(i) for i in range(count)]))
            # The victim's second program has just started (its first is done): it runs for ~0.5 s more.
            await _until(lambda: victim.served >= 1 and victim.outstanding == 1, 60)
            await asyncio.to_thread(cluster.remove_node, node)  # the node's raylet and every process on it
            results, stats = await batch, dict(pool.stats)
            # The lost actor (restarted by Ray or replaced by the pool) could be placed nowhere: the
            # head has no CPU and the surviving node's one is taken. The batch finished on the survivor.
            assert [m for m in pool.members if m.healthy] == [survivor]
            await _until(lambda: victim not in pool.members, 60)  # its replacement found no room in time

            # Once a node joins again, the pending replacement starts there and takes programs again.
            added = cluster.add_node(num_cpus=1, **NODE_ARGS)  # in the main thread: it sets signal handlers
            await _until(lambda: victim in pool.members and victim.healthy, 60)
            assert victim.node == added.node_id
            served = victim.served
            again = await pool.run_all([_busy_request(i) for i in range(count, count + 4)])
            assert victim.served > served
            return results, stats, again

    results, stats, again = asyncio.run(main())
    assert [r.id for r in results] == [f"r{i}" for i in range(count)]  # none lost, none duplicated
    for result in results + again:
        assert result.verdicts == [Verdict.ACCEPTED], result.feedback
        assert result.sandbox_errors == 0
    # The program in flight on the lost node failed as a fault of the actor, not of the program, and
    # was sent again; each program completed exactly once.
    assert stats["actor_faults"] == 1 and stats["redispatched"] >= 1
    assert stats["programs"] == count and stats["dispatched"] == count + stats["redispatched"]
