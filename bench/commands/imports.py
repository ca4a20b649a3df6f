"""`bench import ...`: store measurements taken elsewhere (a benchmark_model log, an iOS result, an AI Hub job)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bench.commands import ui


STORE = typer.Option(None, help="SQLite store (default: $BENCH_STORE or results/bench.sqlite).")
AS_JSON = typer.Option(False, "--json")


def _store_and_show(store, as_json: bool, make_record) -> None:
    """Every import's one shape: the store checked before anything is read, then the record made (and checked by
    the target it names, as a run is), stored and shown."""
    from bench.output import write
    from bench.store.database import Store, check_writable

    check_writable(store)
    record = make_record()
    with Store(store) as s:
        s.add(record)
    ui.write_out(write("json", [record]) if as_json else write("table", [record]))


def benchmark_model(
    logfile: Path = typer.Argument(..., help="A benchmark_model log (stdout, adb shell or logcat)."),
    model: str = typer.Option(..., "--model", "-m", help="Name to store the model under."),
    target: str = typer.Option(..., "--target", "-t", help="Where it was measured (see `bench targets`)."),
    protocol: Optional[str] = typer.Option(None, help="mobileone (min of the runs) or mnv4 (median of means); default: the target's (mnv4 on Android phones)."),
    precision: str = typer.Option("fp32", help="Precision of the model that was run."),
    resolution: int = typer.Option(224),
    run: Optional[int] = typer.Option(None, "--run", help="Which run of a log that holds several (1-based); without it such a log is refused with the count."),
    store: Optional[Path] = STORE,
    as_json: bool = AS_JSON,
):
    """Store a benchmark_model log measured elsewhere (what the log says: threads, delegate, delegation)."""
    from devices.android.importer import import_benchmark_log

    _store_and_show(store, as_json, lambda: import_benchmark_log(
        logfile, model=model, target=target, protocol=protocol, precision=precision, resolution=resolution, run=run))


def ios_result(
    result_file: Path = typer.Argument(..., help="A result JSON written by the iOS app."),
    model: str = typer.Option(..., "--model", "-m"),
    target: str = typer.Option(..., "--target", "-t"),
    protocol: Optional[str] = typer.Option(None, help="Store under this protocol (default: the one the app ran; another is recomputed from the raw samples)."),
    resolution: int = typer.Option(224),
    store: Optional[Path] = STORE,
    as_json: bool = AS_JSON,
):
    """Store a result JSON copied off an iPhone by hand."""
    from devices import get_target
    from devices.ios_result import import_ios_result

    def made():
        get_target(target).check_record("coreml", "fp16", resolution, counted=False)  # what the app runs
        record, note = import_ios_result(result_file, model=model, target=target, protocol=protocol,
                                         resolution=resolution)
        if note:
            ui.notify(note)
        return record

    _store_and_show(store, as_json, made)


def aihub(
    job_id: str = typer.Argument(..., help="An AI Hub profile job id (printed by `bench run --target aihub`, or any job)."),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Name to store it under (default: from the job name)."),
    precision: Optional[str] = typer.Option(None, "--precision", "-p"),
    target: Optional[str] = typer.Option(None, "--target", "-t", help="aihub or a shortcut (default: by the device)."),
    protocol: str = typer.Option("mobileone"),
    allow_partial: bool = typer.Option(False, help="Store a run only partly placed on the requested compute unit."),
    client_profile: Optional[str] = typer.Option(None, help="qai-hub client profile (~/.qai_hub/NAME.ini)."),
    store: Optional[Path] = STORE,
    as_json: bool = AS_JSON,
):
    """Collect an AI Hub profile job (one interrupted by Ctrl-C, or run outside bench) into the store."""
    from devices.aihub.importer import import_job

    _store_and_show(store, as_json, lambda: import_job(job_id, model=model, precision=precision, target=target,
                                                       protocol=protocol, allow_partial=allow_partial,
                                                       client_profile=client_profile))


def record(
    recovery_file: Path = typer.Argument(..., help="A recovery file named by a run whose store could not be written."),
    store: Optional[Path] = STORE,
):
    """Store the measurements a failed store write kept in a recovery file (records already stored are skipped)."""
    from bench.core.outcome import Count
    from bench.store.database import Store, check_writable
    from bench.store.recovery import read
    from devices import get_target

    path = check_writable(store)
    records = read(recovery_file)
    for r in records:  # the same check as an import: a hand-edited file stores nothing a run would refuse
        get_target(r.target).check_record(r.format, r.precision, r.resolution, counted=isinstance(r.outcome, Count))
    with Store(path) as s:
        new = [r for r in records if not s.has_id(r.id)]
        s.add_all(new)
    ui.notify(f"stored {len(new)} record(s) from {recovery_file} in {path}"
              + (f" ({len(records) - len(new)} already there)" if len(new) < len(records) else "")
              + "; the file may be deleted")
