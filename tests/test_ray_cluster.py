"""`--ray`: a real local Ray cluster (tests/ray_cluster.py: a head and a worker node, one CPU each, each with its
own artifact cache), a sweep of small models through it, a worker node killed mid-sweep, Ctrl-C, and a node that
cannot run the target. The cluster is stopped at the end.

Needs Ray (`pip install -e ".[cluster]"`) and the arm64-emu set-up; each test skips with the reason otherwise.
Counts are compared with the coordinator's own serial run, byte for byte.
"""

import json
import os
import signal
import subprocess
import time

import pytest

from bench.core.errors import BenchError
from tests.conftest import BENCH, REPO
from tests.ray_cluster import local_cluster, ray_available
from tests.test_parallel import _int8_files, _stored, same_counts
from tests.tiny_nets import INPUT_SIZE, names, tiny_nets

pytestmark = pytest.mark.slow


def _setup_or_skip():
    from devices.arm64_emu.emulator import find_setup

    if not ray_available():
        pytest.skip("Ray is not installed (pip install -e '.[cluster]' -c constraints.txt)")
    try:
        find_setup()
    except BenchError as exc:
        pytest.skip(f"arm64-emu set-up absent ({exc})")


@pytest.fixture(scope="module")
def cluster():
    _setup_or_skip()
    started = local_cluster(workers=1, cpus=1)
    yield started
    import ray

    ray.shutdown()
    started.stop()


def _nodes_alive(address: str) -> int:
    import ray

    from bench.pipeline.ray_tasks import connect

    connect(address)
    return sum(1 for node in ray.nodes() if node["Alive"])


def test_a_sweep_of_modules_through_the_cluster(cluster, monkeypatch, tmp_path):
    """Modules exported on the nodes (into their own caches), the artifacts copied into the coordinator's cache,
    measured on both nodes, every record stored once by the coordinator; the counts of a serial run here. A
    rerun exports nothing: the coordinator's cache has every artifact."""
    import bench
    from bench.store.database import Store

    monkeypatch.setenv("BENCH_CACHE", str(cluster.coordinator_cache))
    store = tmp_path / "cluster.sqlite"
    lines = []
    records = bench.measure_many(tiny_nets(4), input_size=INPUT_SIZE, names=names(4), ray=cluster.address,
                                 store=store, progress=lines.append)
    assert [r.model for r in records] == names(4)
    assert f"exporting 4 artifact(s) on the Ray cluster at {cluster.address} (2 CPUs)..." in lines
    assert len({r.host["ray_node"] for r in records}) == 2  # both nodes measured
    with Store(store) as s:
        stored = s.records()
    assert sorted(r.id for r in stored) == sorted(r.id for r in records)
    assert len({r.settings_key() for r in stored}) == 4
    exported_on_nodes = [p for node in cluster.nodes for p in node.cache.glob("tiny_w*-tflite-int8-*")]
    assert len(exported_on_nodes) >= 4
    here = {p.name for p in cluster.coordinator_cache.glob("tiny_w*-tflite-int8-*")}
    assert {os.path.basename(os.path.dirname(r.artifact_path)) for r in records} <= here

    lines.clear()
    serial = bench.measure_many(tiny_nets(4), input_size=INPUT_SIZE, names=names(4), progress=lines.append)
    assert not any(line.startswith("exporting") for line in lines), lines
    assert [r.artifact_hash for r in serial] == [r.artifact_hash for r in records]
    for s, c in zip(serial, records):
        assert same_counts(c, s), (s.model, s.counts, c.counts)


def test_a_worker_node_killed_mid_sweep_loses_nothing_and_stores_nothing_twice(cluster, tmp_path):
    """`bench sweep --ray`: the worker node is killed (every process of it, as if its machine died) once the head
    has stored a record while the worker node runs a guest (qemu-aarch64); the cell it was running is run again
    on the head, and every cell is stored once."""
    files = _int8_files(tmp_path, 6)
    config = tmp_path / "sweep.toml"
    config.write_text(f"models = {json.dumps([str(f) for f in files])}\n[[targets]]\nname = \"arm64-emu\"\n")
    store = tmp_path / "killed.sqlite"
    proc = subprocess.Popen([*BENCH, "sweep", str(config), "--ray", cluster.address, "--store", str(store)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    worker = cluster.nodes[1]
    head_id = _head_node_id(cluster.address)
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if any(r["host"].get("ray_node") == head_id for r in _stored(store)) and worker.runs("qemu-aarch64"):
            break
        time.sleep(0.05)
    assert proc.poll() is None, f"the sweep finished before a node could be killed: {proc.communicate()[1][-2000:]}"
    before = len(_stored(store))
    worker.kill()  # mid-measurement: its guest was running a moment ago
    out, err = proc.communicate(timeout=900)
    assert proc.returncode == 0, err[-3000:]
    rows = _stored(store)
    assert before < 6 and len(rows) == 6, err[-2000:]
    assert len({r["key"] for r in rows}) == 6 and {r["model"] for r in rows} == set(names(6))
    assert "6 measured, 0 already in the store, 0 left" in err
    deadline = time.time() + 120  # the head marks a node dead after missed health checks
    while _nodes_alive(cluster.address) != 1 and time.time() < deadline:
        time.sleep(1)
    assert _nodes_alive(cluster.address) == 1
    cluster.nodes.append(cluster._node("n2", [f"--address={cluster.address}"], 1, None))  # for the next tests
    cluster.nodes.remove(worker)


def _head_node_id(address: str) -> str:
    import ray

    from bench.pipeline.ray_tasks import connect

    connect(address)
    return next(n["NodeID"] for n in ray.nodes() if n["Alive"] and "node:__internal_head__" in n["Resources"])


def test_ctrl_c_stops_the_cluster_sweep_cleanly_and_a_rerun_finishes_it(cluster, tmp_path):
    """First Ctrl-C: no new cell is sent, the ones under way finish and are stored, exit 130. The rerun sends only
    the rest; every cell once."""
    files = _int8_files(tmp_path, 6)
    config = tmp_path / "sweep.toml"
    config.write_text(f"models = {json.dumps([str(f) for f in files])}\n[[targets]]\nname = \"arm64-emu\"\n")
    store = tmp_path / "stopped.sqlite"
    args = [*BENCH, "sweep", str(config), "--ray", cluster.address, "--store", str(store)]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None and not _stored(store):
        time.sleep(0.05)
    assert proc.poll() is None, f"the sweep finished before it could be stopped: {proc.communicate()[1][-2000:]}"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, err[-2000:]
    first = _stored(store)
    assert 1 <= len(first) < 6 and "interrupted: rerun the same command to finish" in err
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"{6 - len(first)} measured, {len(first)} already in the store, 0 left" in done.stderr
    rows = _stored(store)
    assert len(rows) == 6 and len({r["key"] for r in rows}) == 6


def test_a_node_that_cannot_run_the_target_says_so_in_one_line(tmp_path, monkeypatch):
    """A cluster whose only CPU is on a node without the arm64-emu set-up, told not to build it
    (BENCH_NODE_SETUP=0): the measurement fails with one line naming the node and what is missing; nothing is
    stored."""
    _setup_or_skip()
    import bench

    bare = local_cluster(workers=0, cpus=1, env={"BENCH_ARM64_ROOT": str(tmp_path / "no-setup"),
                                                 "BENCH_NODE_SETUP": "0"})
    try:
        monkeypatch.setenv("BENCH_CACHE", str(bare.coordinator_cache))
        files = _int8_files(tmp_path, 1)
        store = tmp_path / "bare.sqlite"
        with pytest.raises(BenchError) as raised:
            bench.measure_many(files, ray=bare.address, store=store)
        message = str(raised.value)
        assert message.startswith("on node ") and "the arm64-emu set-up is missing" in message
        assert message.endswith("this node does not set targets up itself (BENCH_NODE_SETUP=0)")
        assert "\n" not in message and not _stored(store)
    finally:
        import ray

        ray.shutdown()
        bare.stop()
