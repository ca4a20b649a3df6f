"""The coordinator: preflight every job, resolve every artifact, ready, then measure and store cell by cell.

Phones (jobs whose target fans out over devices) are measured by one worker each, in parallel; each record is
committed the moment it is measured, so nothing finished is lost to a later failure or Ctrl-C.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from bench.core.record import Record, settings_key
from bench.pipeline.artifacts import planned_artifact, resolve_artifact
from bench.pipeline.records import record_of
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


def cell_key(cell: Cell) -> str:
    p, job = cell.protocol, cell.job
    return settings_key(cell.artifact.sha256, job.target.name, job.spec.threads, p.name, p.warmup, p.runs, p.repeats,
                        job.options)


def measure_cell(cell: Cell, progress=None) -> Record:
    job = cell.job
    measurement = job.target.measure(cell.artifact, cell.protocol, threads=job.spec.threads, options=dict(job.options),
                                     progress=progress or _quiet)
    return record_of(cell.artifact, job.target, cell.protocol, measurement, job.spec.threads, job.options)


def prepare_cells(cells: list[Cell], hooks: Hooks, *, force_export: bool = False) -> None:
    """Preflight (devices there), export (or find) every artifact, then the targets' last checks: all before the
    first measurement, so a missing phone or a failed export costs no measuring time."""
    seen = set()
    for cell in cells:
        key = (cell.job.target.name, repr(sorted(cell.job.options.items())))
        if key not in seen:
            seen.add(key)
            cell.job.target.preflight(cell.job.options)
    for cell in cells:
        if cell.artifact is None:
            cell.artifact = resolve_artifact(cell.job, force=force_export, notify=hooks.notify)
    for cell in cells:
        cell.job.target.ready(cell.artifact, cell.job.options)


def run_cells(cells: list[Cell], store_path, hooks: Hooks | None = None, *, skip_stored: bool = False,
              pause_s: float = 0.0) -> RunResult:
    from bench.store import Store, check_writable

    check_writable(store_path)  # before anything is exported or measured
    hooks = hooks or Hooks()
    prepare_cells(cells, hooks)
    result = RunResult()
    if skip_stored:
        with Store(store_path) as store:
            todo = []
            for cell in cells:
                if store.has_cell(cell_key(cell)):
                    result.skipped += 1
                    hooks.skipped(cell)
                else:
                    todo.append(cell)
        cells = todo
    groups: dict = {}
    for cell in cells:
        groups.setdefault(cell.job.worker, []).append(cell)

    def worker(group: list[Cell]) -> None:
        with Store(store_path) as store:  # one connection per worker
            for i, cell in enumerate(group):
                if hooks.stop_requested():
                    result.remaining += len(group) - i
                    result.interrupted = True
                    return
                if i and pause_s > 0:
                    time.sleep(pause_s)
                record = measure_cell(cell, hooks.started(cell))
                store.add(record)
                result.measured.append(record)
                hooks.finished(cell, record)

    try:
        _run_groups(worker, groups, hooks)
    except KeyboardInterrupt:  # farm jobs and the like keep running elsewhere: say how to collect them
        for target in {id(c.job.target): c.job.target for c in cells}.values():
            for line in target.interrupted():
                hooks.notify(line)
        raise
    return result


def _run_groups(worker, groups: dict, hooks: Hooks) -> None:
    if len(groups) <= 1:
        for group in groups.values():
            worker(group)
    else:
        with ThreadPoolExecutor(max_workers=len(groups)) as pool:
            futures = [pool.submit(worker, group) for group in groups.values()]
            errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:  # every worker finished (its records are stored); report the first failure, name the others
            if len(errors) > 1:
                hooks.notify(f"{len(errors)} workers failed: " + "; ".join(str(e) for e in errors))
            raise errors[0]


def plan_cells(cells: list[Cell]) -> list[str]:
    """`--dry-run`: every command each cell would issue, with no side effects (nothing exported or measured)."""
    lines = []
    for cell in cells:
        job = cell.job
        artifact = cell.artifact or planned_artifact(job)
        lines.append(f"# {cell.label()}")
        if not getattr(artifact, "sha256", ""):
            lines.append(f"# export {artifact.model} to {artifact.format}/{artifact.precision} -> {artifact.path}")
        lines += job.target.plan(artifact, cell.protocol, threads=job.spec.threads, options=dict(job.options))
    return lines
