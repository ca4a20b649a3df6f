"""Side by side: cells of a counting target measured several at a time, on this machine (`--jobs N`) or on a Ray
cluster (`--ray ADDRESS`, bench/pipeline/ray_tasks.py).

Only a target whose figure is exact (`Target.exact`: a count, e.g. arm64-emu's instructions) runs side by side: a
count is the same whatever else the machine does, while timed targets would time each other. Phones already run one
lane per device (the coordinator's lanes).

Workers do two things for the coordinator, which alone writes the store:
- export: each distinct artifact once (an export order, bench/pipeline/orders.py). Torch exports are CPU-bound
  Python, so they run in export worker processes of their own (bench/pipeline/export_worker.py), each writing the
  content-addressed cache atomically (bench/artifact/entry.py stages and renames).
- measure: each cell, handed back as it finishes. Here a thread per cell suffices: the guest is the emulator's own
  process, and the thread only waits on it.
"""

from __future__ import annotations

import os
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from bench.core.errors import BenchError
from bench.pipeline.orders import ExportOrder, export_order, outcome_of
from bench.pipeline.records import measure_cell
from bench.pipeline.spec import Cell


def side_by_side(cells: list[Cell], *, jobs: int = 1, ray: str | None = None, notify=None):
    """The workers that measure `cells` side by side, or None for the coordinator's own lanes (jobs 1, no --ray).
    A timed target among the cells is refused in one line."""
    if jobs < 1:
        raise BenchError(f"--jobs must be at least 1 (got {jobs})")
    if ray and jobs > 1:
        raise BenchError("give --jobs or --ray, not both: on a cluster its CPUs decide how many cells run at once")
    if jobs == 1 and not ray:
        return None
    flag = "--ray" if ray else f"--jobs {jobs}"
    timed = next((c.deployment.target for c in cells if not c.deployment.target.exact), None)
    if timed is not None:
        raise BenchError(f"{flag} applies to counting targets only ({', '.join(exact_targets())}): target "
                         f"{timed.name} times its runs, and runs side by side would time each other; run it without "
                         f"{flag.split()[0]}")
    if ray:
        from bench.pipeline.ray_tasks import RayWorkers

        return RayWorkers(ray, notify=notify)
    cores = os.cpu_count() or 1
    if jobs > cores:
        if notify:
            notify(f"--jobs {jobs} is more than this machine's {cores} cores: running {cores} at once")
        jobs = cores
    return LocalWorkers(jobs)


def exact_targets() -> list[str]:
    from devices import list_targets

    return [t.name for t in list_targets() if t.exact]


# ------------------------------------------------------------------------------------------------ local workers

class LocalWorkers:
    """`--jobs N` on this machine: N exports at a time (this process and N-1 workers), then N measurements."""

    remote = False

    def __init__(self, jobs: int):
        self.jobs = jobs

    def describe(self) -> str:
        return f"{self.jobs} processes"

    def close(self) -> None:
        pass

    def export(self, orders: list[ExportOrder]):
        """(order, Artifact or error) as each finishes. This process and N-1 worker processes
        (bench/pipeline/export_worker.py) take orders from one queue: the caller has imported what its own models
        need, and a worker spends seconds importing the exporters before its first export. Orders that cannot
        travel are exported here first."""
        import queue
        import threading

        from bench.pipeline.export_worker import payload

        payloads = {id(o): payload(o.spec) for o in orders}
        todo: queue.Queue = queue.Queue()
        for order in (o for o in orders if payloads[id(o)] is not None):
            todo.put(order)
        answers: queue.Queue = queue.Queue()
        threads = max(1, (os.cpu_count() or 1) // self.jobs)
        travelling, stop, live = todo.qsize(), threading.Event(), []
        drivers = [threading.Thread(target=_drive_worker, args=(todo, answers, payloads, threads, stop, live),
                                    daemon=True) for _ in range(min(self.jobs - 1, travelling))]
        for driver in drivers:
            driver.start()
        try:
            for order in (o for o in orders if payloads[id(o)] is None):  # while the workers work
                yield order, _export_here(order)
            while (order := _next(todo)) is not None:  # then this process takes from the queue too
                answers.put((order, _export_here(order)))
            for _ in range(travelling):
                yield answers.get()
        finally:  # done, or Ctrl-C: no new order is taken, and the worker processes are stopped
            stop.set()
            for worker in live:
                worker.interrupt()
            for driver in drivers:
                driver.join()

    def measure(self, cells: list[Cell], started, stop):
        """(index, cell, Record or error) as each finishes; no new cell once `stop()` says so."""
        queue = iter(enumerate(cells))
        with ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="bench-measure") as pool:
            pending: dict = {}
            while True:
                while len(pending) < self.jobs and not stop():
                    item = next(queue, None)
                    if item is None:
                        break
                    index, cell = item
                    pending[pool.submit(measure_cell, cell, started(cell))] = (index, cell)
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    index, cell = pending.pop(future)
                    yield index, cell, _result(future)


def _drive_worker(todo, answers, payloads: dict, threads: int, stop, live: list) -> None:
    """One worker process fed orders until none are left or `stop` is set; one that dies is replaced for the next
    order. Its process is stopped at the end (`live` lists it, so the caller can kill it sooner)."""
    from bench.core.errors import ExportError
    from bench.pipeline.export_worker import WorkerProcess

    worker = None
    try:
        while not stop.is_set() and (order := _next(todo)) is not None:
            if worker is None or worker.exit_status() is not None:
                worker = WorkerProcess(threads)
                live.append(worker)
            answer = worker.export(payloads[id(order)])
            if answer is None:
                answer = ExportError(f"the export worker died (exit {worker.exit_status()}) exporting "
                                     f"{order.label()}: {worker.last_words()}")
            answers.put((order, outcome_of(answer)))
    finally:
        if worker is not None:
            worker.stop()


def _next(todo):
    import queue

    try:
        return todo.get_nowait()
    except queue.Empty:
        return None


def _export_here(order: ExportOrder):
    return outcome_of(export_order(order.spec))


def _result(future):
    error = future.exception()
    return error if error is not None else outcome_of(future.result())
