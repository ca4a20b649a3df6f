"""A real Ray cluster on this machine for the tests and the benchmark: a head node and worker nodes, each a
`ray start --block` process in its own process group (so one node can be killed alone), each with its own temp dir
and its own artifact cache, as separate machines would have.

Facts about `ray start` (Ray 2.60, checked here):
- `--node-ip-address 127.0.0.1` is replaced by the machine's reachable address (ray/_private/services.py
  resolve_ip_for_localhost); the nodes still run on this machine only.
- `--block` keeps the command in the foreground with the node's raylet, GCS (head) and agents as its children,
  in its process group; Ray's worker processes are the raylet's children in process groups of their own. `ray stop`
  would stop every Ray process of the machine, so a node is stopped by killing its own processes.
- "Ray runtime started." is printed once the node has joined.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

RAY = Path(sys.executable).with_name("ray")
START_TIMEOUT_S = 120


def ray_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("ray") is not None and RAY.exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Node:
    process: subprocess.Popen
    temp_dir: Path
    cache: Path
    log: Path

    def runs(self, program: str) -> bool:
        """Whether a process of this node (its workers' children included) runs `program` now."""
        import psutil

        try:
            family = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return False
        for proc in family:
            try:
                if any(program in part for part in proc.cmdline()[:4]):
                    return True
            except psutil.Error:
                continue
        return False

    def kill(self) -> None:
        """The node as if its machine died: every process of it, at once."""
        import psutil

        try:
            family = [psutil.Process(self.process.pid), *psutil.Process(self.process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            family = []
        for proc in family:
            try:
                proc.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(30)


@dataclass
class LocalCluster:
    root: Path
    address: str = ""
    nodes: list[Node] = field(default_factory=list)

    def start(self, workers: int = 1, cpus: int = 1, env: dict | None = None) -> "LocalCluster":
        port = _free_port()
        head = self._node("n0", ["--head", f"--port={port}", f"--ray-client-server-port={_free_port()}",
                                   "--include-dashboard=false"], cpus, env)
        self.address = f"127.0.0.1:{port}"
        self.nodes.append(head)
        for i in range(workers):
            self.nodes.append(self._node(f"n{i + 1}", [f"--address={self.address}"], cpus, env))
        return self

    @property
    def coordinator_cache(self) -> Path:
        """The coordinator's own artifact cache, apart from the nodes' ones, as on separate machines."""
        path = self.root / "cache-cc"
        path.mkdir(exist_ok=True)
        return path

    def _node(self, name: str, args: list[str], cpus: int, env: dict | None) -> Node:
        temp_dir, cache = self.root / name, self.root / f"cache-{name}"
        cache.mkdir(parents=True)
        log = self.root / f"{name}.log"
        node_env = {**os.environ, **(env or {}), "BENCH_CACHE": str(cache), "RAY_USAGE_STATS_ENABLED": "0"}
        cmd = [str(RAY), "start", "--block", "--node-ip-address=127.0.0.1", f"--num-cpus={cpus}",
               f"--temp-dir={temp_dir}", "--disable-usage-stats", *args]
        with open(log, "w") as out:
            # Its own process group (killed as one, and a terminal's Ctrl-C does not reach it), in this session:
            # with the kernel's autogroup scheduling a new session would get a CPU share of its own.
            process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=node_env, process_group=0)
        node = Node(process, temp_dir, cache, log)
        self._wait_started(node)
        return node

    def _wait_started(self, node: Node) -> None:
        deadline = time.time() + START_TIMEOUT_S
        while time.time() < deadline:
            if "Ray runtime started" in node.log.read_text(errors="replace"):
                return
            if node.process.poll() is not None:
                break
            time.sleep(0.5)
        tail = node.log.read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"ray start did not start a node:\n{tail}")

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.kill()
        self.nodes.clear()
        shutil.rmtree(self.root, ignore_errors=True)


def short_root() -> Path:
    """A folder for a cluster's temp dirs and caches: short, since Ray's socket paths must fit in 107 bytes."""
    return Path(tempfile.mkdtemp(prefix="bray-", dir="/tmp"))


def local_cluster(workers: int = 1, cpus: int = 1, env: dict | None = None, root: Path | None = None) -> LocalCluster:
    """A head and `workers` worker nodes of `cpus` CPUs each, under `root` (default: a new short_root()); stop()
    it when done (that removes the root)."""
    return LocalCluster(root or short_root()).start(workers, cpus, env)
