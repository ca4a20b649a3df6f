"""The coordinator: preflight every deployment, resolve every artifact, ready, then measure and store cell by cell.

Phones (deployments whose target fans out over devices) are measured in a lane each, in parallel; each record is
committed the moment it is measured, so nothing finished is lost to a later failure or Ctrl-C. Cells of a counting
target may instead go to workers that export and measure side by side, here or on a Ray cluster
(bench/pipeline/parallel.py); their records come back here, and only this process writes the store.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from bench.core.errors import BenchError
from bench.core.record import Record, settings_key
from bench.pipeline.artifacts import planned_artifact, resolve_artifact
from bench.pipeline.orders import export_orders
from bench.pipeline.records import measure_cell
from bench.pipeline.spec import Cell


def _quiet(*_args, **_kwargs):
    return None


@dataclass
class Hooks:
    """How the coordinator talks to whoever called it (a CLI progress bar, a test, nothing)."""

    notify: Callable[[str], None] = _quiet  # one line of progress text
    started: Callable[[Cell], Callable[[int], None]] = lambda cell: _quiet  # returns the per-run progress callback
    finished: Callable[[Cell, Record], None] = _quiet
    skipped: Callable[[Cell], None] = _quiet
    stop_requested: Callable[[], bool] = lambda: False  # checked before each cell (Ctrl-C in a sweep)


@dataclass
class RunResult:
    measured: list[Record] = field(default_factory=list)
    skipped: int = 0
    remaining: int = 0
    interrupted: bool = False
    failed: list[tuple[Cell, BaseException]] = field(default_factory=list)  # kept going past them (keep_going)
    outcomes: dict = field(default_factory=dict)  # id(cell) -> its Record or error, for callers that map back

    def outcome(self, cell: Cell):
        return self.outcomes.get(id(cell))


def cell_key(cell: Cell) -> str:
    p, deployment = cell.protocol, cell.deployment
    return settings_key(cell.artifact.sha256, deployment.target.name, deployment.spec.threads, p.name, p.warmup,
                        p.runs, p.repeats, deployment.options)


def prepare_cells(cells: list[Cell], hooks: Hooks, *, workers=None,
                  keep_going: bool = False) -> list[tuple[Cell, BaseException]]:
    """Preflight (devices there), export (or find) every artifact, then the targets' last checks: all before the
    first measurement, so a missing phone or a failed export costs no measuring time.

    `workers` (bench/pipeline/parallel.py) export side by side; on a cluster the nodes preflight and ready
    themselves. With `keep_going`, cells whose export failed are returned with the error instead of raising it."""
    remote = getattr(workers, "remote", False)
    seen = set()
    for cell in cells:
        key = (cell.deployment.target.name, repr(sorted(cell.deployment.options.items())))
        if key not in seen and not remote:
            seen.add(key)
            cell.deployment.target.preflight(cell.deployment.options)
    failed = _export(cells, hooks, workers, keep_going)
    if failed and not keep_going:
        raise failed[0][1]
    for cell in cells:
        if cell.artifact is not None and not remote:
            cell.deployment.target.ready(cell.artifact, cell.deployment.options)
    return failed


def _export(cells: list[Cell], hooks: Hooks, workers, keep_going: bool) -> list:
    failed = []
    if workers is None:
        for cell in cells:
            try:
                if cell.artifact is None:
                    cell.artifact = resolve_artifact(cell.deployment, notify=hooks.notify)
            except BenchError as exc:
                if not keep_going:
                    raise
                failed.append((cell, exc))
        return failed
    orders = export_orders(cells, hooks.notify)
    if orders:
        hooks.notify(f"exporting {len(orders)} artifact(s) on {workers.describe()}...")
    for order, outcome in workers.export(orders):
        if isinstance(outcome, BaseException):
            failed += [(cell, outcome) for cell in order.cells]
        else:
            for cell in order.cells:
                cell.artifact = outcome
    return failed


def run_cells(cells: list[Cell], store_path, hooks: Hooks | None = None, *, skip_stored: bool = False,
              pause_s: float = 0.0, workers=None, keep_going: bool = False, write_store: bool = True) -> RunResult:
    """Measure `cells` and store each record as it comes: by the coordinator's lanes (one per phone, one for the
    rest) or, given `workers`, side by side. `keep_going` measures past a failed cell (its error in
    `failed`); otherwise the first error is raised once what was under way has finished and been stored.
    `write_store=False` stores nothing (bench.measure without a store)."""
    from bench.core.options import check_counts
    from bench.store.database import check_writable

    for cell in cells:  # sizes before anything is exported or allocated
        check_counts(cell.protocol.warmup, cell.protocol.runs, cell.protocol.repeats)
    if write_store:
        check_writable(store_path)  # before anything is exported or measured
    hooks = hooks or Hooks()
    result = RunResult()
    for cell, error in prepare_cells(cells, hooks, workers=workers, keep_going=keep_going):
        result.failed.append((cell, error))
        result.outcomes[id(cell)] = error
    cells = [c for c in cells if id(c) not in result.outcomes]
    with _open_store(store_path, write_store) as store:
        if skip_stored:
            cells = _unstored(cells, store, result, hooks)
        try:
            if workers is None:
                _measure_in_lanes(cells, store_path, write_store, result, hooks, pause_s, keep_going)
            else:
                _measure_side_by_side(cells, store, result, hooks, workers, keep_going)
        except KeyboardInterrupt:  # farm jobs and the like keep running elsewhere: say how to collect them
            for target in {id(c.deployment.target): c.deployment.target for c in cells}.values():
                for line in target.interrupted():
                    hooks.notify(line)
            raise
    return result


def _unstored(cells: list[Cell], store, result: RunResult, hooks: Hooks) -> list[Cell]:
    todo = []
    for cell in cells:
        if store.has_cell(cell_key(cell)):
            result.skipped += 1
            hooks.skipped(cell)
        else:
            todo.append(cell)
    return todo


class _NoStore:
    """bench.measure without a store: records are returned, not kept."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def add(self, record: Record) -> None:
        pass

    def has_cell(self, key: str) -> bool:
        return False


def _open_store(store_path, write_store: bool):
    from bench.store.database import Store

    return Store(store_path) if write_store else _NoStore()


def _measure_in_lanes(cells, store_path, write_store, result: RunResult, hooks: Hooks, pause_s: float,
                      keep_going: bool) -> None:
    """One lane per phone, in parallel; everything else in one lane, one after another."""
    lanes: dict = {}
    for cell in cells:
        lanes.setdefault(cell.deployment.lane, []).append(cell)

    def measure_lane(group: list[Cell]) -> None:
        with _open_store(store_path, write_store) as store:  # one connection per lane
            for i, cell in enumerate(group):
                if hooks.stop_requested():
                    result.remaining += len(group) - i
                    result.interrupted = True
                    return
                if i and pause_s > 0:
                    time.sleep(pause_s)
                try:
                    record = measure_cell(cell, hooks.started(cell))
                except BenchError as exc:
                    if not keep_going:
                        raise
                    result.failed.append((cell, exc))
                    result.outcomes[id(cell)] = exc
                    continue
                _keep(store, result, hooks, cell, record)

    _run_lanes(measure_lane, lanes, hooks)


def _keep(store, result: RunResult, hooks: Hooks, cell: Cell, record: Record) -> None:
    store.add(record)
    result.measured.append(record)
    result.outcomes[id(cell)] = record
    hooks.finished(cell, record)


def _measure_side_by_side(cells, store, result: RunResult, hooks: Hooks, workers, keep_going: bool) -> None:
    """Workers measure; this thread alone stores, each record as it arrives and each cell at most once. The first
    error stops new cells (unless keep_going) and is raised once those under way are stored."""
    from bench.store.database import StoreWriteError

    errors: list[BaseException] = []
    answered: dict[int, object] = {}
    unstored: list[Record] = []  # measured by cells under way after the store failed: kept, never dropped
    stop = lambda: hooks.stop_requested() or bool(errors and not keep_going) or _store_failure(errors)  # noqa: E731
    for index, cell, outcome in workers.measure(cells, hooks.started, stop):
        if index in answered:  # a retried cell answered twice: the first answer is the one kept
            continue
        answered[index] = outcome
        if not isinstance(outcome, BaseException):
            if _store_failure(errors):
                unstored.append(outcome)
                continue
            try:
                _keep(store, result, hooks, cell, outcome)
            except StoreWriteError as exc:  # its record is in exc's recovery file; later ones go to another
                errors.insert(0, exc)
        elif not hooks.stop_requested():  # a guest killed by the Ctrl-C that stopped a sweep is no failure
            errors.append(outcome)
            result.failed.append((cell, outcome))
            result.outcomes[id(cell)] = outcome
    if hooks.stop_requested():
        result.remaining += sum(1 for i in range(len(cells)) if not isinstance(answered.get(i), Record)) - len(errors)
        result.interrupted = result.remaining > 0
    by_order = {id(r): i for i, r in answered.items()}
    result.measured.sort(key=lambda r: by_order.get(id(r), -1))
    if unstored:
        _keep_unstored(unstored, store, hooks)
    if _store_failure(errors):
        raise errors[0]
    if errors and not keep_going:
        if len(errors) > 1:
            hooks.notify(f"{len(errors)} cells failed: " + "; ".join(str(e) for e in errors))
        raise errors[0]


def _store_failure(errors: list[BaseException]) -> bool:
    from bench.store.database import StoreWriteError

    return bool(errors) and isinstance(errors[0], StoreWriteError)


def _keep_unstored(records: list[Record], store, hooks: Hooks) -> None:
    """Records that arrived after the store failed: one more recovery file, named in one line."""
    from bench.store.recovery import keep

    kept = keep(records, store.path)
    where = f"kept in {kept}; store them later with `bench import record {kept}`" if kept else \
        "printed on stdout as JSON (no recovery file could be written)"
    hooks.notify(f"{len(records)} more record(s) measured after the store failed are {where}")


def _run_lanes(measure_lane, lanes: dict, hooks: Hooks) -> None:
    if len(lanes) <= 1:
        for group in lanes.values():
            measure_lane(group)
    else:
        with ThreadPoolExecutor(max_workers=len(lanes)) as pool:
            futures = [pool.submit(measure_lane, group) for group in lanes.values()]
            errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:  # every lane finished (its records are stored); report the first failure, name the others
            if len(errors) > 1:
                hooks.notify(f"{len(errors)} lanes failed: " + "; ".join(str(e) for e in errors))
            raise errors[0]


def plan_cells(cells: list[Cell]) -> list[str]:
    """`--dry-run`: every command each cell would issue, with no side effects (nothing exported or measured)."""
    lines = []
    for cell in cells:
        deployment = cell.deployment
        artifact = cell.artifact or planned_artifact(deployment)
        lines.append(f"# {cell.label()}")
        if not getattr(artifact, "sha256", ""):
            lines.append(f"# export {artifact.model} to {artifact.format}/{artifact.precision} -> {artifact.path}")
        lines += deployment.target.plan(artifact, cell.protocol, threads=deployment.spec.threads,
                                        options=dict(deployment.options))
    return lines
