"""`bench analyze`, `bench roofline`, `bench report`: what the stored numbers say."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from bench.commands import ui
from bench.core.errors import BenchError


def _stored(store, **filters):
    from bench.commands.stored import stored_records  # aliases resolved; an empty answer says what it looked for

    return stored_records(store, **filters)


def analyze(
    store: Optional[Path] = typer.Option(None, help="SQLite store (default: $BENCH_STORE or results/bench.sqlite)."),
    csv: Optional[Path] = typer.Option(None, "--csv", help="A table with model, latency_ms, params, flops or macs [, target]."),
    target: Optional[List[str]] = typer.Option(None, "--target", "-t"),
    protocol: Optional[str] = typer.Option(None),
    as_json: bool = typer.Option(False, "--json"),
    published: bool = typer.Option(False, "--published", help="Rank the proxies against the published device "
                                   "tables shipped with bench (phones' NPU, GPU, Neural Engine, EdgeTPU and CPU)."),
    column: Optional[List[str]] = typer.Option(None, "--column", "-c", help="With --published: only this device "
                                               "column (repeatable)."),
    measure: bool = typer.Option(False, help="With --published: export the twins that have no graph figures yet "
                                 "in their column's format (cached) and add their figures to --figures."),
    onnx_graph: bool = typer.Option(False, "--onnx-graph", help="With --published: count every column's proxies on "
                                    "the twins' ONNX fp32 graphs, not on the graph each column's runtime deploys."),
    figures: Optional[Path] = typer.Option(None, help="With --published: the twins' graph figures CSV (default: "
                                           "the one shipped with bench)."),
    plot: Optional[Path] = typer.Option(None, help="With --published: write the proxies x hardware heatmap (PNG)."),
):
    """Spearman (and Kendall) rank correlation of latency with every proxy, per target (Table 1a): FLOPs, params,
    memory traffic, op count, the emulated instruction count where one exists; n and 95% intervals beside each."""
    from bench.analysis.correlation import correlations

    if published:
        if csv:
            raise BenchError("--published ranks the shipped device tables; it takes no --csv")
        _published(column, measure, figures, plot, as_json, onnx_graph)
        return
    if column or measure or figures or plot or onnx_graph:
        raise BenchError("--column, --measure, --figures, --plot and --onnx-graph go with --published")
    results = correlations(_latency_frame(csv, store, target, protocol))
    if as_json:
        ui.print_json([r.to_dict() for r in results])
        return
    from bench.report.summary import proxy_frame

    ui.print_table("Spearman rank correlation of latency with each proxy (MobileOne Table 1a)",
                   proxy_frame(results).to_dict("records"))


def _latency_frame(csv, store, target, protocol):
    """The rows to correlate: a CSV the user brings, or the stored records (and their phone predictions)."""
    if csv:
        from bench.core.csvfile import read_csv

        frame = read_csv(csv)
        return frame[frame["target"].isin(target)] if target and "target" in frame.columns else frame
    import pandas as pd

    from bench.analysis.correlation import predicted_table, records_table

    stored = _stored(store, target=target, protocol=protocol)
    frame = pd.concat([t for t in (records_table(stored), predicted_table(stored)) if len(t)] or
                      [records_table([])], ignore_index=True)
    if frame.empty:
        raise BenchError("no stored records match; run `bench run` first or pass --csv")
    return frame


def _published(columns, measure: bool, figures_path, plot, as_json: bool, onnx_graph: bool) -> None:
    from bench.analysis import published_devices as pub

    figures_path = figures_path or pub.FIGURES_CSV
    rows = pub.read_device_rows()
    figures = pub.read_figures(figures_path)
    if measure:
        wanted = [r for r in rows if not columns or r.column in columns]
        figures = _measure_twins(wanted, figures, figures_path)
    results = pub.analyse(rows, figures, columns, on_onnx=onnx_graph)
    if plot:
        from bench.report.plots import proxy_heatmap

        proxy_heatmap(pub.matrix(results), plot, counts=pub.matrix(results, "n"))
    if as_json:
        ui.print_json([r.to_dict() for r in results])
        return
    table = pub.summary_frame(results)
    ui.print_table("Which proxy ranks published latency on which hardware (Spearman rho; our graph figures of "
                   "each row's timm twin)", table.to_dict("records"))
    ui.print_table("Per device column: the proxy that ranks best, and what limits it",
                   [{"column": r.column, "hardware": r.hardware, "graph": r.graph, "n": r.n,
                     "best proxy (rho)": pub.best_proxy(r), "limits": "; ".join(r.limits) or "-"} for r in results])
    sys.stdout.write("Rank correlations only: no accelerator latency is predicted. Proxies are counted on the graph "
                     "each column's runtime deploys (Core ML fp16, TFLite int8 or fp32 as the column ran, else ONNX fp32: "
                     "the graph column); "
                     "sources: bench/analysis/published/SOURCES.md.\n")


def _measure_twins(rows, figures: dict, path: Path) -> dict:
    """Export every twin without figures in its column's deployed graph (cached like any export) and write its row
    as soon as it is read, so an interrupted run keeps what it measured."""
    from bench.analysis import published_devices as pub
    from bench.pipeline import RunSpec, prepare_export, resolve_artifact

    for twin, resolution, fmt, precision in pub.twins(rows):
        if (twin, resolution, fmt, precision) in figures:
            continue
        try:
            spec = RunSpec(model=twin, format=fmt, precision=precision, resolution=resolution)
            artifact = resolve_artifact(prepare_export(spec), notify=ui.notify)
            figures[(twin, resolution, fmt, precision)] = pub.figures_of(twin, resolution, artifact)
        except Exception as exc:  # noqa: BLE001 - one twin the exporter cannot take must not cost the others
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
            ui.notify(f"{twin} at {resolution}px, {fmt} {precision}: no figures ({type(exc).__name__}: {reason})")
            continue
        pub.write_figures(figures, path)
    return figures


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
        [deployment] = prepare(RunSpec(model=m, target="host", format="onnx", precision="fp32", resolution=resolution))
        artifact = resolve_artifact(deployment, notify=ui.notify)
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
    from bench.core.places import writable_dir
    from bench.report.summary import write_report

    folder = writable_dir(out or Path("results") / "reports" / name, "the report folder")
    records = _stored(store, target=target, model=model, protocol=protocol)
    written = write_report(records, folder, title=f"Latency report: {name}")
    for key, path in written.items():
        sys.stdout.write(f"{key}: {path}\n")
