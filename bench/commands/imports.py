"""`bench import ...`: store measurements taken elsewhere (a benchmark_model log, an iOS result JSON)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bench.commands import ui


def _store_and_show(record, store, as_json: bool, shown=None) -> None:
    from bench.output import write
    from bench.store import Store

    with Store(store) as s:
        s.add(record)
    if as_json:
        ui.print_json(shown if shown is not None else record.summary())
    else:
        ui.write_out(write("table", [record]))


def benchmark_model(
    logfile: Path = typer.Argument(..., help="A benchmark_model log (stdout, adb shell or logcat)."),
    model: str = typer.Option(..., "--model", "-m", help="Name to store the model under."),
    target: str = typer.Option(..., "--target", "-t", help="Where it was measured (see `bench targets`)."),
    protocol: str = typer.Option("mobileone", help="mobileone (min of the runs) or mnv4 (median of means)."),
    precision: str = typer.Option("fp32", help="Precision of the model that was run."),
    resolution: int = typer.Option(224),
    store: Optional[Path] = typer.Option(None),
    as_json: bool = typer.Option(False, "--json"),
):
    """Store a benchmark_model log measured elsewhere."""
    from bench.importers import import_benchmark_log

    record, parsed = import_benchmark_log(logfile, model=model, target=target, protocol=protocol,
                                          precision=precision, resolution=resolution)
    _store_and_show(record, store, as_json, {**parsed.to_json(), "id": record.id, "latency_ms": record.latency_ms})


def ios_result(
    result_file: Path = typer.Argument(..., help="A result JSON written by the iOS app."),
    model: str = typer.Option(..., "--model", "-m"),
    target: str = typer.Option(..., "--target", "-t"),
    protocol: str = typer.Option("mobileone"),
    resolution: int = typer.Option(224),
    store: Optional[Path] = typer.Option(None),
    as_json: bool = typer.Option(False, "--json"),
):
    """Store a result JSON copied off an iPhone by hand."""
    from bench.importers import import_ios_result

    record = import_ios_result(result_file, model=model, target=target, protocol=protocol, resolution=resolution)
    _store_and_show(record, store, as_json)
