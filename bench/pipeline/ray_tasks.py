"""`--ray ADDRESS`: cells of a counting target exported and measured as Ray tasks on an existing Ray cluster.

What runs where:
- Export tasks (zoo models, torch modules) run on any node, into that node's own artifact cache, and send the
  artifact back; the coordinator keeps a copy in its cache under the same entry, so a rerun finds it and skips
  what the store already holds. TensorFlow/Keras sources and model files are converted or read here (their file is
  here), then shipped like the rest.
- Measure tasks receive the artifact (through Ray's object store, fetched only by a node that lacks it), set the
  target up on their node if it is missing (its set-up script, run once per node under a lock, or one line saying
  why it cannot), measure and return the measurement. The coordinator builds each record and alone writes the
  store, each cell at most once.
- A node lost mid-run: Ray runs its tasks again elsewhere (`max_retries`: a worker that died is a system failure;
  errors the task itself reports are answers, never retried). Ctrl-C cancels the outstanding tasks (a running
  one gets KeyboardInterrupt, which stops its guest process) and stores nothing half-made.

Every node needs this repository and its environment (the same code and versions: `pip install -e ".[all,cluster]"
-c constraints.txt` on each). An artifact exported on a node whose tools differ from this machine's lands in
another cache entry, and is refused in one line.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from bench.artifact import entry as entries
from bench.core.errors import BenchError, DeviceError, first_line
from bench.pipeline.artifacts import export_request
from bench.pipeline.orders import ExportOrder, error_reply, export_order, outcome_of
from exporters.source import KerasZooModel, TorchModule, ZooModel

RETRIES = 3  # runs of a task whose worker or node died, elsewhere
CONNECT_TIMEOUT_S = 5
WAIT_S = 10  # how often an idle coordinator checks that the cluster still has CPUs
INSTALL_HINT = "pip install -e '.[cluster]' -c constraints.txt"
NODE_HINT = "every node needs this repository and its environment: pip install -e '.[all,cluster]' -c constraints.txt"
_connected: dict = {}  # the address this process is connected to: a later run reuses the connection


def connect(address: str):
    """Ray, connected to the cluster at `address` ("auto": the one this machine belongs to); one line if not."""
    try:
        import ray
    except ImportError:
        raise BenchError(f"--ray needs Ray, an optional extra: {INSTALL_HINT}") from None
    if ray.is_initialized():
        if _connected.get("address") == address:
            return ray
        ray.shutdown()
    try:
        _check_reachable(address)
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
    except (ConnectionError, ValueError, RuntimeError, OSError) as exc:
        raise DeviceError(f"cannot reach the Ray cluster at {address}: {first_line(exc)} (start one with `ray start "
                          "--head`, or give its address)") from None
    _connected.update(address=address)
    return ray


def _check_reachable(address: str) -> None:
    """ray.init retries an unreachable GCS address for minutes: a HOST:PORT that refuses a TCP connection is
    refused here, in seconds ("auto" finds no cluster quickly by itself, unless RAY_ADDRESS names one)."""
    import socket

    if address == "auto":
        address = os.environ.get("RAY_ADDRESS", "")
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if host and port.isdigit():
        with socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S):
            pass


class RayWorkers:
    """The cluster's CPUs, one task per export or cell; as many in flight as the cluster has CPUs."""

    remote = True

    def __init__(self, address: str, notify=None):
        self.address = address
        self.ray = connect(address)
        self.notify = notify or (lambda line: None)

    def describe(self) -> str:
        return f"the Ray cluster at {self.address} ({self.cpus()} CPUs)"

    def close(self) -> None:
        """Disconnect (the cluster goes on). A command does it before it returns, so a late Ctrl-C cannot land
        in Ray's own shutdown at exit; bench.measure_many keeps the connection for the next call."""
        self.ray.shutdown()
        _connected.clear()

    def cpus(self) -> int:
        return int(self.ray.cluster_resources().get("CPU", 0))

    # ------------------------------------------------------------------------------------------------ export
    def export(self, orders: list[ExportOrder]):
        """(order, Artifact or error) as each finishes; zoo models and modules on the cluster, the rest here."""
        ray = self.ray
        remote = ray.remote(num_cpus=1, max_retries=RETRIES)(export_on_node)
        cluster = [o for o in orders if isinstance(o.deployment.source, (ZooModel, KerasZooModel, TorchModule))]
        pending = {remote.remote(o.spec): o for o in cluster}
        try:
            for order in (o for o in orders if o not in cluster):
                yield order, outcome_of(export_order(order.spec))
            for ref, order in self._as_done(pending):
                yield order, self._adopted(order, ref)
        except BaseException:
            self._cancel(pending)
            raise

    def _adopted(self, order: ExportOrder, ref):
        reply = self._get(ref, order.label())
        if isinstance(reply, BaseException) or isinstance(reply := outcome_of(reply), BaseException):
            return reply
        meta, entry, data = reply
        _, here = _cache_entry(order)
        if here is not None and entry != here:
            return BenchError(f"a Ray node exported {order.label()} as cache entry {entry}, this machine would make "
                              f"{here}: its tools differ from this machine's; {NODE_HINT}")
        return entries.adopt(meta, entry, data)

    # ------------------------------------------------------------------------------------------------ measure
    def measure(self, cells, started, stop):
        """(index, cell, Record or error) as each finishes; no new cell once `stop()` says so."""
        ray = self.ray
        remote = ray.remote(num_cpus=1, max_retries=RETRIES)(measure_on_node)
        shipped: dict = {}  # artifact hash -> object ref of its bytes, put once
        queue = iter(enumerate(cells))
        pending: dict = {}
        try:
            while True:
                while len(pending) < max(1, self.cpus()) and not stop():
                    item = next(queue, None)
                    if item is None:
                        break
                    index, cell = item
                    ref = remote.remote(_order(cell), [_shipped(ray, shipped, cell.artifact)])
                    pending[ref] = (index, cell, started(cell))
                if not pending:
                    return
                for ref, (index, cell, progress) in self._as_done(pending, first_only=True):
                    progress(cell.protocol.runs * cell.protocol.repeats)
                    yield index, cell, self._record(cell, self._get(ref, cell.label()))
        except BaseException:
            self._cancel(pending)
            raise

    def _record(self, cell, reply):
        from bench.pipeline.records import cell_record

        if isinstance(reply, BaseException) or isinstance(reply := outcome_of(reply), BaseException):
            return reply
        measurement, host = reply
        record = cell_record(cell, measurement)
        record.host = host  # the node that drove it, not this machine
        return record

    # ------------------------------------------------------------------------------------------------ plumbing
    def _as_done(self, pending: dict, first_only: bool = False):
        """(ref, what it was for) as tasks finish, removed from `pending`; one line if the cluster has no CPU
        left to run what is still waiting."""
        while pending:
            ready, _ = self.ray.wait(list(pending), num_returns=1, timeout=WAIT_S)
            if not ready:
                if self.cpus() == 0:
                    raise DeviceError(f"the Ray cluster at {self.address} has no CPU left (its nodes were lost); "
                                      f"{len(pending)} task(s) cannot run; finished records are stored")
                continue
            yield ready[0], pending.pop(ready[0])
            if first_only:
                return

    def _get(self, ref, label: str):
        """A task's reply, or its failure as one typed line."""
        ray = self.ray
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause if exc.cause is not None else exc
            line = (str(cause).strip().splitlines() or [type(cause).__name__])[-1][:200]
            hint = f"; {NODE_HINT}" if "No module named" in line else ""
            return DeviceError(f"{label} failed on a Ray node: {line}{hint}")
        except (ray.exceptions.RayError, OSError) as exc:  # lost after its retries, cancelled, ...
            return DeviceError(f"{label} was lost on the Ray cluster after {RETRIES} retries: {first_line(exc)}")

    def _cancel(self, pending: dict) -> None:
        """Ctrl-C or a failure here: stop what the cluster still runs for us (a running task gets
        KeyboardInterrupt: its guest process is stopped with it)."""
        for ref in list(pending):
            try:
                self.ray.cancel(ref)
            except Exception:  # already finished or gone: nothing to cancel
                pass
        if pending:
            self.notify(f"cancelled {len(pending)} task(s) on the Ray cluster")
        pending.clear()


def _cache_entry(order: ExportOrder):
    """This machine's cache entry name for what the order exports (None for a source it has no entry rule for)."""
    from bench.artifact.cache import cache_entry

    found, path = cache_entry(export_request(order.deployment))
    return found, path.parent.name


def _order(cell) -> dict:
    """What a node needs to measure a cell: plain values (its own target object is made there)."""
    deployment, p, artifact = cell.deployment, cell.protocol, cell.artifact
    return {"target": deployment.target.name, "options": dict(deployment.options), "threads": deployment.spec.threads,
            "protocol": {"name": p.name, "warmup": p.warmup, "runs": p.runs, "repeats": p.repeats},
            "artifact": artifact.to_json(), "entry": entries.entry_name(artifact), "label": cell.label()}


def _shipped(ray, shipped: dict, artifact):
    if artifact.sha256 not in shipped:
        shipped[artifact.sha256] = ray.put(Path(artifact.path).read_bytes())
    return shipped[artifact.sha256]


# ---------------------------------------------------------------------------------------------- on the node

def export_on_node(spec):
    """A Ray task: export on this node (into its own cache); the artifact's facts, cache entry name and bytes."""
    artifact = export_order(spec)
    if isinstance(artifact, tuple):
        return artifact
    return artifact.to_json(), artifact.path.parent.name, Path(artifact.path).read_bytes()


def measure_on_node(order: dict, data_box: list):
    """A Ray task: the artifact in this node's cache, the target set up, one measurement; (measurement, host
    facts), or a typed error as (error, class name, message). `data_box` holds the bytes' object ref unresolved,
    so a node that already has the artifact never fetches it."""
    from bench.core.protocols import get_protocol
    from bench.pipeline.node_setup import node_setup
    from devices import get_target

    try:
        target = get_target(order["target"])
        node_setup(target, order["options"])
        artifact = _node_artifact(order["artifact"], order["entry"], data_box)
        target.ready(artifact, order["options"])
        p = order["protocol"]
        protocol = get_protocol(p["name"]).with_overrides(warmup=p["warmup"], runs=p["runs"], repeats=p["repeats"])
        measurement = target.measure(artifact, protocol, threads=order["threads"], options=dict(order["options"]),
                                     progress=lambda n: None)
    except BenchError as exc:
        return error_reply(exc, message=f"on node {_node_name()}: {exc}")
    return measurement, _node_facts()


def _node_artifact(meta: dict, entry: str, data_box: list):
    """The artifact in this node's cache (where its own export put it, or an earlier copy); fetched from the object
    store only when missing."""
    import ray

    return entries.cached_copy(entry, meta["sha256"]) or entries.adopt(meta, entry, ray.get(data_box[0]))


def _node_name() -> str:
    import platform

    return platform.node()


def _node_facts() -> dict:
    import ray

    from devices.hostinfo import host_facts

    return {**host_facts(), "ray_node": ray.get_runtime_context().get_node_id()}
