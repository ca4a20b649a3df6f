"""`bench analyze`, `bench roofline`, `bench report`: what the stored numbers say."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from bench.commands import ui
from bench.core.errors import BenchError


def _stored(store, **filters):
    from bench.store.database import default_store_path, open_existing

    with open_existing(store or default_store_path()) as s:
        return s.records(**filters)


def analyze(
    store: Optional[Path] = typer.Option(None, help="SQLite store (default: $BENCH_STORE or results/bench.sqlite)."),
    csv: Optional[Path] = typer.Option(None, "--csv", help="A table with model, latency_ms, params, flops or macs [, target]."),
    target: Optional[List[str]] = typer.Option(None, "--target", "-t"),
    protocol: Optional[str] = typer.Option(None),
    as_json: bool = typer.Option(False, "--json"),
):
    """Spearman (and Kendall) rank correlation of latency with every proxy, per target (Table 1a): FLOPs, params,
    memory traffic, op count, the emulated instruction count where one exists; n and 95% intervals beside each."""
    from bench.analysis.correlation import correlations, predicted_table, records_table

    if csv:
        from bench.core.csvfile import read_csv

        frame = read_csv(csv)
        if target and "target" in frame.columns:
            frame = frame[frame["target"].isin(target)]
    else:
        import pandas as pd

        stored = _stored(store, target=target, protocol=protocol)
        frame = pd.concat([t for t in (records_table(stored), predicted_table(stored)) if len(t)] or
                          [records_table([])], ignore_index=True)
        if frame.empty:
            raise BenchError("no stored records match; run `bench run` first or pass --csv")
    results = correlations(frame)
    if as_json:
        ui.print_json([r.to_dict() for r in results])
        return
    from bench.report.summary import proxy_frame

    ui.print_table("Spearman rank correlation of latency with each proxy (MobileOne Table 1a)",
                   proxy_frame(results).to_dict("records"))


def roofline(
    model: List[str] = typer.Option(..., "--model", "-m", help="Zoo model or .onnx file; repeatable."),
    ridge_points: Optional[str] = typer.Option(None, help="Comma-separated MACs/byte (default 0,20,...,500)."),
    peak_gmacs: float = typer.Option(100.0, help="Peak MAC rate in GMAC/s."),
    resolution: Optional[int] = typer.Option(None),
    target: Optional[str] = typer.Option(None, help="Correlate predictions with this target's stored latencies."),
    store: Optional[Path] = typer.Option(None),
    plot: Optional[Path] = typer.Option(None, help="Write the sweep curves as a PNG."),
    layers: bool = typer.Option(False, help="With --json: include the per-layer table."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Roofline latency per model over a ridge-point sweep (MobileNetV4, section 3)."""
    from bench.analysis.roofline import (DEFAULT_RIDGE_POINTS, agreement_over_sweep, layer_table, measured_minimum,
                                         sweep)
    from bench.pipeline import RunSpec, prepare, resolve_artifact
    from exporters.onnx_graph import onnx_layers

    points = _ridge_points(ridge_points, DEFAULT_RIDGE_POINTS)
    if peak_gmacs <= 0:
        raise BenchError("ridge points must be >= 0 and --peak-gmacs > 0")
    curves, per_model = {}, []
    for m in model:
        [job] = prepare(RunSpec(model=m, target="host", format="onnx", precision="fp32", resolution=resolution))
        artifact = resolve_artifact(job, notify=ui.notify)
        found, facts = onnx_layers(artifact.path)
        curves[artifact.model] = sweep(found, points, peak_gmacs)
        per_model.append({"model": artifact.model, "resolution": artifact.resolution, "macs": facts["macs"],
                          "params": facts["params"], "curve": [vars(p) for p in curves[artifact.model]],
                          **({"layers": layer_table(found)} if layers else {})})
    agreement = None
    if target:
        from devices import get_target

        measured = measured_minimum(_stored(store, target=get_target(target).name, model=list(curves)))
        agreement = agreement_over_sweep(curves, points, measured)
    if plot:
        from bench.report.plots import roofline_curves

        roofline_curves(curves, plot)
    if as_json:
        ui.print_json({"peak_gmacs": peak_gmacs, "models": per_model, "rank_agreement": agreement})
        return
    _roofline_table(curves, points, agreement, target, peak_gmacs)


def _ridge_points(text: str | None, default) -> list[float]:
    try:
        points = [float(x) for x in text.split(",")] if text else list(default)
    except ValueError:
        raise BenchError(f"--ridge-points must be comma-separated numbers (got {text!r})") from None
    if any(p < 0 for p in points):
        raise BenchError("ridge points must be >= 0 and --peak-gmacs > 0")
    return points


def _roofline_table(curves, points, agreement, target, peak_gmacs) -> None:
    rows = []
    for i, p in enumerate(points):
        row = {"ridge point": f"{p:g}", **{m: f"{curves[m][i].latency_ms:.3f}" for m in curves}}
        if agreement:
            rho = agreement[i]["rho"]
            row[f"rho vs {target}"] = "-" if rho is None else f"{rho:.3f}"
        rows.append(row)
    ui.print_table(f"roofline latency (ms) at peak {peak_gmacs:g} GMAC/s", rows)


def report(
    store: Optional[Path] = typer.Option(None, help="SQLite store (default: $BENCH_STORE or results/bench.sqlite)."),
    out: Optional[Path] = typer.Option(None, help="Directory (default results/reports/NAME)."),
    name: str = typer.Option("latest", help="Report name."),
    target: Optional[List[str]] = typer.Option(None, "--target", "-t"),
    model: Optional[List[str]] = typer.Option(None, "--model", "-m"),
    protocol: Optional[str] = typer.Option(None),
):
    """Write a report: tidy CSV, plots (PNG), Markdown summary and a single-file HTML page."""
    from bench.report.summary import write_report

    records = _stored(store, target=target, model=model, protocol=protocol)
    written = write_report(records, out or Path("results") / "reports" / name, title=f"Latency report: {name}")
    for key, path in written.items():
        sys.stdout.write(f"{key}: {path}\n")
