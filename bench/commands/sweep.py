"""`bench sweep CONFIG.toml`: a resumable grid, measured by the same coordinator as `bench run`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from bench.commands import ui
from bench.commands.run import JOBS_HELP, RAY_HELP


def sweep(
    config: Path = typer.Argument(..., help="Sweep config (TOML); see `bench.pipeline.sweep` for the format."),
    store: Optional[Path] = typer.Option(None, help="SQLite store (default: $BENCH_STORE or results/bench.sqlite)."),
    force: bool = typer.Option(False, help="Measure cells the store already has."),
    report_name: Optional[str] = typer.Option(None, "--report", help="Write the report results/reports/NAME after."),
    as_json: bool = typer.Option(False, "--json", help="Print each new record as one JSON object."),
    jobs: int = typer.Option(1, "--jobs", "-j", help=JOBS_HELP),
    ray: Optional[str] = typer.Option(None, "--ray", help=RAY_HELP),
):
    """Measure a grid of models x targets x formats x protocols; resumable, Ctrl-C stops after the current cell."""
    from bench.output import write
    from bench.pipeline.parallel import side_by_side
    from bench.store.database import check_writable, default_store_path
    from bench.pipeline.sweep import load_plan, run_sweep

    plan = load_plan(config)  # every cell validated before anything runs
    if report_name:
        from bench.core.places import writable_dir

        writable_dir(Path("results") / "reports" / report_name, "the report folder (--report)")
    workers = side_by_side(plan.cells, jobs=jobs, ray=ray, notify=ui.notify)  # a timed target refuses them, now
    store_path = check_writable(store or default_store_path())  # before the progress bar, exports and measuring
    with ui.progress_bar(elapsed=True) as bar:
        overall = bar.add_task("sweep", total=len(plan.cells))
        hooks = ui.bar_hooks(bar)
        hooks.skipped = lambda cell: bar.update(overall, advance=1, description=f"skipped {cell.label()}")

        def finished(cell, record):
            bar.update(overall, advance=1, description=f"measured {cell.label()}")
            if as_json:
                ui.print_json(record.summary())

        hooks.finished = finished
        outcome = run_sweep(plan, store_path, hooks, force=force, workers=workers)
    if not as_json:
        ui.write_out(write("table", outcome.measured))
    print(f"{len(outcome.measured)} measured, {outcome.skipped} already in the store, {outcome.remaining} left"
          + (" (interrupted: rerun the same command to finish)" if outcome.interrupted else ""), file=sys.stderr)
    if report_name:
        _report(store_path, report_name)
    if outcome.interrupted:
        raise typer.Exit(130)


def _report(store_path: Path, name: str) -> None:
    from bench.report.summary import write_report
    from bench.store.database import open_existing

    with open_existing(store_path) as s:
        records = s.records()
    if records:
        written = write_report(records, Path("results") / "reports" / name, title=f"Sweep {name}")
        ui.stderr_console().print(f"report: {written['markdown'].parent}")
