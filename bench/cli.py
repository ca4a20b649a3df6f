"""The `bench` command line. The one place where typed errors become one line on stderr.

Only light modules are imported at the top: torch, coremltools and LiteRT load inside the commands that use them.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import List, Optional

import click
import typer

try:  # typer >= 0.29 vendors its own click; its exceptions are not click's
    from typer._click import exceptions as _typer_click_exceptions
except ImportError:  # pragma: no cover - older typer uses click itself
    _typer_click_exceptions = click.exceptions


def _either(name: str, *extra) -> tuple:
    """The exception class `name` from click and from typer's vendored click, whichever exist."""
    found = {getattr(m, name) for m in (click.exceptions, _typer_click_exceptions) if hasattr(m, name)}
    return tuple(found | set(extra))


_EXIT = _either("Exit", typer.Exit)
_NO_ARGS = _either("NoArgsIsHelpError")
_USAGE = _either("ClickException")
_ABORT = _either("Abort", typer.Abort, KeyboardInterrupt)

from bench.core.errors import BenchError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="On-device latency benchmarking for mobile vision models.",
)
import_app = typer.Typer(help="Store measurements taken elsewhere.", no_args_is_help=True)
app.add_typer(import_app, name="import")


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def _stdout_console():
    from rich.console import Console

    # Piped output (CI logs, files) gets a wide table instead of rich's 80-column default.
    return Console(width=None if sys.stdout.isatty() else 200)


def _print_json(obj) -> None:
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()


# ---------------------------------------------------------------- run


def _progress_bar(json_mode: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=_stderr_console(),
        transient=True,
    )


def _records_table(records, relative_to: str | None = None):
    from rich.table import Table

    table = Table(title="latency (ms)")
    columns = ["model", "res", "target", "format", "protocol", "latency", "min", "median", "mean", "std", "n",
               "params (M)", "MACs (G)"]
    reference = {}
    if relative_to:
        columns.append(f"x {relative_to}")
        reference = {(r.target, r.format, r.precision): r.latency_ms for r in records if r.model == relative_to}
    for column in columns:
        table.add_column(column, justify="left" if column in ("model", "target", "format", "protocol") else "right")
    for r in records:
        relative = []
        if relative_to:
            ref = reference.get((r.target, r.format, r.precision))
            relative = [f"{r.latency_ms / ref:.2f}" if ref else "-"]
        table.add_row(
            r.model,
            str(r.resolution),
            r.target,
            f"{r.format}/{r.precision}",
            r.protocol,
            _ms(r.latency_ms),
            _ms(r.min_ms),
            _ms(r.median_ms),
            _ms(r.mean_ms),
            _ms(r.stddev_ms),
            str(r.n_samples),
            f"{r.params / 1e6:.2f}" if r.params else "-",
            f"{r.macs / 1e9:.3f}" if r.macs else "-",
            *relative,
        )
    return table


def _ms(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def measure_and_store(specs, protocol, store_path, json_mode: bool, on_record=None):
    """Measure each spec in turn and commit each record as it finishes (nothing measured is lost)."""
    from bench.pipeline import measure, resolve_artifact
    from bench.store import Store
    from devices import get_target

    from bench.pipeline import validate

    err = _stderr_console()
    for spec in specs:  # every bad name or impossible format is reported before anything runs
        validate(spec)
    for spec in specs:  # then that every device is there, still before any export
        get_target(spec.target).preflight(spec.options)
    notify = lambda message: err.print(f"[dim]{message}[/dim]", highlight=False)  # noqa: E731
    artifacts = [resolve_artifact(spec, get_target(spec.target), notify=notify) for spec in specs]
    for spec, artifact in zip(specs, artifacts):
        get_target(spec.target).ready(artifact, spec.options)
    by_serial: dict = {}
    for spec, artifact in zip(specs, artifacts):
        by_serial.setdefault(spec.options.get("serial"), []).append((spec, artifact))
    records = []

    def worker(jobs, bar):
        # One store connection per worker: each record is committed the moment it is measured.
        with Store(store_path) as store:
            for spec, artifact in jobs:
                where = spec.target + (f" {spec.options['serial']}" if spec.options.get("serial") else "")
                task = bar.add_task(f"{artifact.model} on {where}", total=protocol.runs * protocol.repeats)
                record = measure(spec, protocol, artifact=artifact, progress=lambda n: bar.advance(task, n))
                store.add(record)
                records.append(record)
                if json_mode:
                    _print_json(record.summary())
                if on_record:
                    on_record(record)

    with _progress_bar(json_mode) as bar:
        if len(by_serial) == 1:
            worker(next(iter(by_serial.values())), bar)
        else:  # several phones: one worker per phone, in parallel
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=len(by_serial)) as pool:
                for future in [pool.submit(worker, jobs, bar) for jobs in by_serial.values()]:
                    future.result()
    return records


@app.command()
def run(
    model: List[str] = typer.Option([], "--model", "-m", help="Zoo model name or model file (.onnx, .tflite); repeatable."),
    target: str = typer.Option("host", "--target", "-t", help="Where to run (see `bench targets`)."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="onnx, coreml or tflite (default: the target's)."),
    precision: Optional[str] = typer.Option(None, "--precision", "-p", help="fp32, fp16 or int8."),
    protocol: str = typer.Option("mobileone", help="mobileone (min of 1000), mnv4 (median of 5 means), modelbench."),
    runs: Optional[int] = typer.Option(None, help="Timed runs per repeat (protocol default otherwise)."),
    warmup: Optional[int] = typer.Option(None, help="Warm-up runs (protocol default otherwise)."),
    repeats: Optional[int] = typer.Option(None, help="Repeats of the timed runs (protocol default otherwise)."),
    threads: int = typer.Option(1, help="CPU threads (1 is the mobile-like setting)."),
    resolution: Optional[int] = typer.Option(None, help="Input resolution (default: the model's paper resolution)."),
    input_kind: str = typer.Option("tensor", "--input", help="Core ML input: tensor (float16) or image."),
    calibration_dir: Optional[Path] = typer.Option(None, help="Images to calibrate INT8 with (default: synthetic)."),
    suite: Optional[str] = typer.Option(None, help="Run a named suite: ci, mobileone-activations, mobileone-blocks."),
    serial: Optional[List[str]] = typer.Option(None, "--serial", help="Android: device serial; repeat for several phones (measured in parallel)."),
    delegate: Optional[str] = typer.Option(None, help="Android: xnnpack (default), cpu, gpu, nnapi or hexagon."),
    accelerator: Optional[str] = typer.Option(None, help="Android NNAPI accelerator name (default per target, e.g. google-edgetpu)."),
    benchmark_model: Optional[Path] = typer.Option(None, help="Android: the benchmark_model binary to push (or $BENCH_BENCHMARK_MODEL)."),
    op_profile: bool = typer.Option(False, help="Android: per-operator profile (--enable_op_profiling)."),
    cooldown_s: Optional[float] = typer.Option(None, help="Android: wait up to this long for thermal status 'none' before each invocation."),
    pause_s: Optional[float] = typer.Option(None, help="Android: pause between invocations."),
    udid: Optional[str] = typer.Option(None, help="iOS: device UDID (target ios)."),
    store: Optional[Path] = typer.Option(None, help="SQLite store (default: $BENCH_STORE or results/bench.sqlite)."),
    as_json: bool = typer.Option(False, "--json", help="Print each record as one JSON object on stdout."),
):
    """Measure models on a target and store one record per measurement."""
    from bench.pipeline import RunSpec
    from bench.core.protocols import get_protocol

    chosen = get_protocol(protocol).with_overrides(warmup=warmup, runs=runs, repeats=repeats)
    if threads < 1:
        raise BenchError(f"--threads must be at least 1 (got {threads})")
    if input_kind not in ("tensor", "image"):
        raise BenchError(f"unknown --input '{input_kind}'; known: image, tensor")
    device_options = {k: v for k, v in dict(
        delegate=delegate, accelerator=accelerator, benchmark_model=str(benchmark_model) if benchmark_model else None,
        op_profile=op_profile or None, cooldown_s=cooldown_s, pause_s=pause_s, udid=udid).items() if v is not None}
    common = dict(resolution=resolution, threads=threads, input_kind=input_kind,
                  calibration_dir=str(calibration_dir) if calibration_dir else None)
    if suite:
        from bench.suites import REFERENCE_MODEL, suite_cells

        cells = suite_cells(suite, target, fmt, precision)
        pairs = [(c.model, c.target, c.format, c.precision) for c in cells]
    elif model:
        pairs = [(m, target, fmt, precision) for m in model]
    else:
        raise BenchError("no model given; pass --model NAME (see `bench models`) or --suite NAME")
    specs = [RunSpec(model=m, target=t, format=f, precision=p, options={**device_options, "serial": s}, **common)
             for s in (serial or [None]) for m, t, f, p in pairs]
    for spec in specs:
        if spec.options.get("serial") is None:
            spec.options.pop("serial")
    records = measure_and_store(specs, chosen, store, as_json)
    if not as_json:
        reference = REFERENCE_MODEL.get(suite) if suite else None
        _stdout_console().print(_records_table(records, relative_to=reference))


@import_app.command("benchmark-model")
def import_benchmark_model(
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
    from bench.store import Store

    record, parsed = import_benchmark_log(logfile, model=model, target=target, protocol=protocol,
                                          precision=precision, resolution=resolution)
    with Store(store) as s:
        s.add(record)
    if as_json:
        _print_json({**parsed.to_json(), "id": record.id, "latency_ms": record.latency_ms})
    else:
        _stdout_console().print(_records_table([record]))


@import_app.command("ios-result")
def import_ios_result(
    result_file: Path = typer.Argument(..., help="A result JSON written by the iOS app."),
    model: str = typer.Option(..., "--model", "-m"),
    target: str = typer.Option(..., "--target", "-t"),
    protocol: str = typer.Option("mobileone"),
    resolution: int = typer.Option(224),
    store: Optional[Path] = typer.Option(None),
    as_json: bool = typer.Option(False, "--json"),
):
    """Store a result JSON copied off an iPhone by hand."""
    from bench.importers import import_ios_result as load
    from bench.store import Store

    record = load(result_file, model=model, target=target, protocol=protocol, resolution=resolution)
    with Store(store) as s:
        s.add(record)
    if as_json:
        _print_json(record.summary())
    else:
        _stdout_console().print(_records_table([record]))


# ---------------------------------------------------------------- export


@app.command()
def export(
    model: str = typer.Option(..., "--model", "-m", help="Zoo model name."),
    fmt: str = typer.Option("onnx", "--format", "-f", help="onnx, coreml or tflite."),
    precision: Optional[str] = typer.Option(None, "--precision", "-p", help="fp32, fp16 or int8."),
    resolution: Optional[int] = typer.Option(None, help="Input resolution (default: the paper's)."),
    input_kind: str = typer.Option("tensor", "--input", help="Core ML input: tensor (float16) or image."),
    calibration_dir: Optional[Path] = typer.Option(None, help="Images to calibrate INT8 with (default: synthetic)."),
    out: Optional[Path] = typer.Option(None, help="Also copy the artifact into this directory."),
    force: bool = typer.Option(False, help="Export again even when the cache has it."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object on stdout."),
):
    """Export a zoo model (cached by content) and check it against PyTorch."""
    import shutil

    from bench.artifact import ensure_artifact
    from bench.zoo import get_entry
    from exporters import get_exporter
    from exporters.registry import ExportRequest
    from exporters.tflite_export import calibration_source

    entry = get_entry(model)
    exporter = get_exporter(fmt)
    precision = precision or exporter.precisions[0]
    request = ExportRequest(
        model=entry.name,
        resolution=resolution or entry.resolution,
        format=fmt,
        precision=precision,
        input_kind=input_kind,
        calibration=calibration_source(str(calibration_dir) if calibration_dir else None)
        if precision == "int8"
        else "none",
    )
    exporter.check(request)
    notify = lambda message: _stderr_console().print(f"[dim]{message}[/dim]", highlight=False)  # noqa: E731
    artifact = ensure_artifact(request, force=force, notify=notify)
    path = artifact.path
    if out:
        out.mkdir(parents=True, exist_ok=True)
        dest = out / artifact.path.name
        if dest.exists():
            shutil.rmtree(dest) if dest.is_dir() else dest.unlink()
        (shutil.copytree if path.is_dir() else shutil.copy2)(path, dest)
        path = dest
    summary = {**artifact.to_json(), "path": str(path)}
    if as_json:
        _print_json(summary)
    else:
        console = _stdout_console()
        console.print(f"{'cached' if artifact.cached else 'exported'} {path}")
        console.print(f"  {artifact.size_bytes / 1e6:.2f} MB, export {artifact.export_s} s, sha256 {artifact.sha256[:16]}")
        console.print(f"  parity: {json.dumps(artifact.parity)}")


# ---------------------------------------------------------------- listings


@app.command()
def models(
    pattern: str = typer.Argument("*", help="Glob over model names."),
    suite: Optional[str] = typer.Option(None, help="Only models of this suite."),
    as_json: bool = typer.Option(False, "--json"),
):
    """List the model zoo."""
    from bench.zoo import list_models
    from bench.zoo.registry import list_suites

    if suite and suite not in list_suites():
        from bench.core.errors import UnknownChoice

        raise UnknownChoice("suite", suite, list_suites())
    entries = list_models(pattern, suite=suite)
    if as_json:
        _print_json([{"name": e.name, "resolution": e.resolution, "family": e.family, "source": e.source,
                      "suites": list(e.suites)} for e in entries])
        return
    from rich.table import Table

    table = Table(title="models")
    for c in ("name", "resolution", "family", "source", "suites"):
        table.add_column(c)
    for e in entries:
        table.add_row(e.name, str(e.resolution), e.family, e.source, ", ".join(e.suites))
    _stdout_console().print(table)


@app.command()
def targets(as_json: bool = typer.Option(False, "--json")):
    """List targets and the formats/precisions each runs."""
    from devices import list_targets

    found = list_targets()
    if as_json:
        _print_json([{"name": t.name, "aliases": list(t.aliases), "kind": t.kind, "runtime": t.runtime,
                      "runs": t.pairs(), "description": t.description} for t in found])
        return
    from rich.table import Table

    table = Table(title="targets")
    for c in ("name", "aliases", "runtime", "runs", "description"):
        table.add_column(c)
    for t in found:
        table.add_row(t.name, ", ".join(t.aliases), t.runtime, ", ".join(t.pairs()), t.description)
    _stdout_console().print(table)


@app.command()
def results(
    store: Optional[Path] = typer.Option(None, help="SQLite store (default: $BENCH_STORE or results/bench.sqlite)."),
    model: Optional[List[str]] = typer.Option(None, "--model", "-m"),
    target: Optional[List[str]] = typer.Option(None, "--target", "-t"),
    protocol: Optional[str] = typer.Option(None),
    csv: Optional[Path] = typer.Option(None, "--csv", help="Write a tidy CSV, one row per record."),
    samples: bool = typer.Option(False, help="Include raw samples: a ';'-separated ms column in --csv, samples_ns in --json."),
    as_json: bool = typer.Option(False, "--json"),
):
    """List stored records."""
    from bench.store import default_store_path, open_existing

    with open_existing(store or default_store_path()) as s:
        found = s.records(model=model, target=target, protocol=protocol)
    if csv:
        from bench.report.tables import write_csv

        write_csv(found, csv, with_samples=samples)
        _stderr_console().print(f"wrote {len(found)} records to {csv}")
    if as_json:
        _print_json([r.to_dict() if samples else r.summary() for r in found])
    elif not csv:
        _stdout_console().print(_records_table(found))


@app.command()
def sweep(
    config: Path = typer.Argument(..., help="Sweep config (TOML); see `bench.sweep` for the format."),
    store: Optional[Path] = typer.Option(None, help="SQLite store (default: $BENCH_STORE or results/bench.sqlite)."),
    force: bool = typer.Option(False, help="Measure cells the store already has."),
    report_name: Optional[str] = typer.Option(None, "--report", help="Write the report results/reports/NAME after."),
    as_json: bool = typer.Option(False, "--json", help="Print each new record as one JSON object."),
):
    """Measure a grid of models x targets x formats x protocols; resumable, Ctrl-C stops after the current cell."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    from bench.store import Store
    from bench.sweep import load_plan, run_sweep

    plan = load_plan(config)  # every cell validated before anything runs
    err = _stderr_console()
    notify = lambda message: err.print(f"[dim]{message}[/dim]", highlight=False)  # noqa: E731
    with Store(store) as s, Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                     TimeElapsedColumn(), TimeRemainingColumn(), console=err) as bar:
        task = bar.add_task("sweep", total=len(plan.cells))

        def advance(cell, skipped):
            bar.update(task, advance=1, description=f"{'skipped' if skipped else 'measured'} {cell.label()}")

        outcome = run_sweep(plan, s, force=force, notify=notify, progress=advance,
                            on_record=(lambda r: _print_json(r.summary())) if as_json else None)
        records = s.records() if report_name else None
    if not as_json:
        _stdout_console().print(_records_table(outcome.measured))
    print(f"{len(outcome.measured)} measured, {outcome.skipped} already in the store, {outcome.remaining} left"
          + (" (interrupted: rerun the same command to finish)" if outcome.interrupted else ""), file=sys.stderr)
    if report_name and records:
        from bench.report.summary import write_report

        written = write_report(records, Path("results") / "reports" / report_name, title=f"Sweep {report_name}")
        err.print(f"report: {written['markdown'].parent}")
    if outcome.interrupted:
        raise typer.Exit(130)


# ---------------------------------------------------------------- analysis and reports


@app.command()
def analyze(
    store: Optional[Path] = typer.Option(None, help="SQLite store (default: $BENCH_STORE or results/bench.sqlite)."),
    csv: Optional[Path] = typer.Option(None, "--csv", help="A table with model, latency_ms, params, flops or macs [, target]."),
    target: Optional[List[str]] = typer.Option(None, "--target", "-t"),
    protocol: Optional[str] = typer.Option(None),
    as_json: bool = typer.Option(False, "--json"),
):
    """Spearman (and Kendall) rank correlation of latency with FLOPs and with params, per target (Table 1a)."""
    from bench.analysis.correlation import correlations, records_table

    if csv:
        import pandas as pd

        if not csv.is_file():
            raise BenchError(f"no CSV at {csv}")
        try:
            frame = pd.read_csv(csv)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise BenchError(f"{csv} is not a readable CSV ({str(exc).splitlines()[0]})") from None
        if target and "target" in frame.columns:
            frame = frame[frame["target"].isin(target)]
    else:
        from bench.store import default_store_path, open_existing

        with open_existing(store or default_store_path()) as s:
            frame = records_table(s.records(target=target, protocol=protocol))
        if frame.empty:
            raise BenchError("no stored records match; run `bench run` first or pass --csv")
    results = correlations(frame)
    if as_json:
        _print_json([r.to_dict() for r in results])
        return
    from rich.table import Table

    table = Table(title="Spearman rank correlation of latency (MobileOne Table 1a)")
    for c in ("target", "protocol", "n", "rho FLOPs [95% CI]", "p", "rho params [95% CI]", "p ", "tau FLOPs/params"):
        table.add_column(c)
    for r in results:
        table.add_row(r.target, r.protocol, str(r.n),
                      f"{r.rho_flops:.3f} [{r.ci_flops[0]:.2f}, {r.ci_flops[1]:.2f}]", f"{r.p_flops:.2g}",
                      f"{r.rho_params:.3f} [{r.ci_params[0]:.2f}, {r.ci_params[1]:.2f}]", f"{r.p_params:.2g}",
                      f"{r.tau_flops:.3f} / {r.tau_params:.3f}")
    _stdout_console().print(table)


@app.command()
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
    from exporters.onnx_graph import onnx_layers
    from bench.analysis.roofline import DEFAULT_RIDGE_POINTS, layer_table, rank_agreement, sweep
    from bench.pipeline import RunSpec, resolve_artifact, validate
    from devices import get_target

    try:
        points = [float(x) for x in ridge_points.split(",")] if ridge_points else list(DEFAULT_RIDGE_POINTS)
    except ValueError:
        raise BenchError(f"--ridge-points must be comma-separated numbers (got {ridge_points!r})") from None
    if any(p < 0 for p in points) or peak_gmacs <= 0:
        raise BenchError("ridge points must be >= 0 and --peak-gmacs > 0")
    host = get_target("host")
    notify = lambda message: _stderr_console().print(f"[dim]{message}[/dim]", highlight=False)  # noqa: E731
    curves, per_model = {}, []
    for m in model:
        spec = RunSpec(model=m, target="host", format="onnx", precision="fp32", resolution=resolution)
        validate(spec)
        artifact = resolve_artifact(spec, host, notify=notify)
        found, facts = onnx_layers(artifact.path)
        curve = sweep(found, points, peak_gmacs)
        curves[artifact.model] = curve
        entry = {"model": artifact.model, "resolution": artifact.resolution, "macs": facts["macs"],
                 "params": facts["params"], "curve": [vars(p) for p in curve]}
        if layers:
            entry["layers"] = layer_table(found)
        per_model.append(entry)
    agreement = None
    if target:
        from bench.store import default_store_path, open_existing

        with open_existing(store or default_store_path()) as s:
            measured = {}
            for r in s.records(target=get_target(target).name, model=list(curves)):
                measured[r.model] = min(measured.get(r.model, float("inf")), r.latency_ms)
        agreement = [{"ridge_point": p, **rank_agreement({m: c[i].latency_ms for m, c in curves.items()}, measured)}
                     for i, p in enumerate(points)]
    if plot:
        from bench.report.plots import roofline_curves

        roofline_curves(curves, plot)
    if as_json:
        _print_json({"peak_gmacs": peak_gmacs, "models": per_model, "rank_agreement": agreement})
        return
    from rich.table import Table

    table = Table(title=f"roofline latency (ms) at peak {peak_gmacs:g} GMAC/s")
    table.add_column("ridge point")
    for m in curves:
        table.add_column(m, justify="right")
    if agreement:
        table.add_column(f"rho vs {target}", justify="right")
    for i, p in enumerate(points):
        cells = [f"{curves[m][i].latency_ms:.3f}" for m in curves]
        if agreement:
            rho = agreement[i]["rho"]
            cells.append("-" if rho is None else f"{rho:.3f}")
        table.add_row(f"{p:g}", *cells)
    _stdout_console().print(table)


@app.command()
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
    from bench.store import default_store_path, open_existing

    with open_existing(store or default_store_path()) as s:
        records = s.records(target=target, model=model, protocol=protocol)
    written = write_report(records, out or Path("results") / "reports" / name, title=f"Latency report: {name}")
    for key, path in written.items():
        sys.stdout.write(f"{key}: {path}\n")


# ---------------------------------------------------------------- regression checks


@app.command()
def compare(
    baseline: Path = typer.Argument(..., help="Baseline: a store (.sqlite), a `bench results --csv` CSV or a result JSON."),
    current: Path = typer.Argument(..., help="Current: same kinds as the baseline."),
    threshold: float = typer.Option(0.05, help="Relative change that counts (0.05 = 5%)."),
    alpha: float = typer.Option(0.01, help="Significance level of the Mann-Whitney U test on raw samples."),
    markdown_out: Optional[Path] = typer.Option(None, "--markdown", help="Write a Markdown summary (PR comment)."),
    junit_out: Optional[Path] = typer.Option(None, "--junit", help="Write a JUnit XML report."),
    report_only: bool = typer.Option(False, help="Always exit 0 (report, do not gate)."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as a JSON list."),
):
    """Compare two sets of measurements; exit 1 when any row is slower."""
    from bench.regression.compare import any_slower, compare_records, junit, load_records, markdown

    if threshold <= 0 or not 0 < alpha < 1:
        raise BenchError(f"--threshold must be > 0 and --alpha in (0, 1) (got {threshold}, {alpha})")
    rows = compare_records(load_records(baseline), load_records(current), threshold=threshold, alpha=alpha)
    summary = markdown(rows, note=f"threshold {threshold:.0%}, alpha {alpha}, Mann-Whitney U on raw samples")
    if markdown_out:
        markdown_out.write_text(summary)
    if junit_out:
        junit_out.write_text(junit(rows))
    if as_json:
        _print_json([r.to_dict() for r in rows])
    else:
        sys.stdout.write(summary)
    if any_slower(rows) and not report_only:
        raise typer.Exit(1)


@app.command()
def ab(
    baseline: str = typer.Option(..., "--baseline", "-a", help="Zoo model or model file."),
    candidate: str = typer.Option(..., "--candidate", "-b", help="Zoo model or model file."),
    target: str = typer.Option("host", "--target", "-t", help="host or host-litert."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f"),
    precision: Optional[str] = typer.Option(None, "--precision", "-p"),
    rounds: int = typer.Option(20, help="Alternating rounds."),
    runs: int = typer.Option(100, help="Timed runs per model per round."),
    warmup: int = typer.Option(50, help="Warm-up runs per model before the first round."),
    threads: int = typer.Option(1),
    baseline_resolution: Optional[int] = typer.Option(None, help="Resolution of the baseline (zoo models)."),
    candidate_resolution: Optional[int] = typer.Option(None, help="Resolution of the candidate (zoo models)."),
    threshold: float = typer.Option(0.05, help="Relative change that counts."),
    markdown_out: Optional[Path] = typer.Option(None, "--markdown", help="Write a Markdown summary."),
    as_json: bool = typer.Option(False, "--json"),
):
    """A/B: measure baseline and candidate alternately in one process; exit 1 when the candidate is slower."""
    from bench.regression.ab import run_ab
    from bench.pipeline import RunSpec

    a = RunSpec(model=baseline, target=target, format=fmt, precision=precision, threads=threads,
                resolution=baseline_resolution)
    b = RunSpec(model=candidate, target=target, format=fmt, precision=precision, threads=threads,
                resolution=candidate_resolution)
    notify = lambda message: _stderr_console().print(f"[dim]{message}[/dim]", highlight=False)  # noqa: E731
    with _progress_bar(as_json) as bar:
        task = bar.add_task("A/B rounds", total=rounds)
        result = run_ab(a, b, rounds=rounds, runs=runs, warmup=warmup, threshold=threshold, notify=notify,
                        progress=lambda n: bar.advance(task, n))
    row = result.row()
    text = (
        f"{candidate} vs {baseline} on {result.target}: ratio {row['ratio']:.4f} "
        f"(95% CI {row['ci_low']:.4f}-{row['ci_high']:.4f}), medians {row['candidate_median_ms']:.3f} ms vs "
        f"{row['baseline_median_ms']:.3f} ms, {rounds} rounds x {runs} runs: {row['verdict']}"
    )
    if markdown_out:
        markdown_out.write_text(f"### A/B latency\n\n{text}\n")
    if as_json:
        _print_json([row])
    else:
        sys.stdout.write(text + "\n")
    if row["verdict"] == "slower":
        raise typer.Exit(1)


# ---------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> None:
    command = typer.main.get_command(app)
    try:
        rc = command.main(args=argv, prog_name="bench", standalone_mode=False)
    except _EXIT as exc:
        sys.exit(exc.exit_code)
    except _NO_ARGS as exc:
        print(exc.ctx.get_help() if exc.ctx else str(exc), file=sys.stderr)
        sys.exit(2)
    except _USAGE as exc:
        where = f" (see `{exc.ctx.command_path} --help`)" if getattr(exc, "ctx", None) else ""
        print(f"bench: error: {exc.format_message()}{where}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except _ABORT:
        print("bench: interrupted; finished measurements are stored", file=sys.stderr)
        sys.exit(130)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug: one line unless asked for the traceback
        if os.environ.get("BENCH_DEBUG"):
            raise
        print(f"bench: internal error: {type(exc).__name__}: {exc} (set BENCH_DEBUG=1 for a traceback)", file=sys.stderr)
        sys.exit(70)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
