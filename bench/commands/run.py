"""`bench run`: measure models (or a suite) on a target; store one record per measurement.

Flags a target declares (`bench targets --options`) come after the common ones and are validated by that target.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from bench.commands import ui
from bench.core.errors import BenchError

JOBS_HELP = ("Export and measure this many at once on this machine (counting targets: arm64-emu; at most its "
             "cores). Counts are the same as one at a time.")
RAY_HELP = ("Export and measure on the Ray cluster at this address ('auto': the one this machine belongs to); "
            "counting targets only; needs the cluster extra.")
TARGET_FLAGS_HELP = "Target options (e.g. --serial, --delegate, --compute-units) follow; `bench targets --options` lists them."


def run(
    ctx: typer.Context,
    model: List[str] = typer.Option([], "--model", "-m", help="Zoo model name or model file (.onnx, .tflite, .mlpackage); repeatable."),
    target: str = typer.Option("host", "--target", "-t", help="Where to run (see `bench targets`)."),
    fmt: Optional[str] = typer.Option(None, "--format", "-f", help="onnx, coreml, tflite or pte (default: the target's)."),
    precision: Optional[str] = typer.Option(None, "--precision", "-p", help="fp32, fp16 or int8."),
    protocol: Optional[str] = typer.Option(None, help="mobileone (min of 1000), mnv4 (median of 5 means), modelbench (default: the target's: mnv4 on Android phones, mobileone elsewhere)."),
    runs: Optional[int] = typer.Option(None, help="Timed runs per repeat (protocol default otherwise)."),
    warmup: Optional[int] = typer.Option(None, help="Warm-up runs (protocol default otherwise)."),
    repeats: Optional[int] = typer.Option(None, help="Repeats of the timed runs (protocol default otherwise)."),
    threads: int = typer.Option(1, help="CPU threads (1 is the mobile-like setting)."),
    resolution: Optional[int] = typer.Option(None, help="Input resolution (default: the model's paper resolution)."),
    input_kind: str = typer.Option("tensor", "--input", help="Core ML input: tensor (float16) or image."),
    representative_dir: Optional[Path] = typer.Option(None, "--calibration-dir", help="Representative images for INT8 quantization (default: synthetic)."),
    suite: Optional[str] = typer.Option(None, help="Run a named suite (see `bench models --suite`): ci, mobileone-activations, ..."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print every command the run would issue, in order; run nothing."),
    store: Optional[Path] = typer.Option(None, help="SQLite store (default: $BENCH_STORE or results/bench.sqlite)."),
    as_json: bool = typer.Option(False, "--json", help="Print each record as one JSON object on stdout."),
    phone: List[str] = typer.Option([], "--phone", help="With arm64-emu: also predict this phone's CPU milliseconds from the count, labelled predicted (see `bench phones`); repeatable."),
    jobs: int = typer.Option(1, "--jobs", "-j", help=JOBS_HELP),
    ray: Optional[str] = typer.Option(None, "--ray", help=RAY_HELP),
):
    """Measure models on a target and store one record per measurement."""
    from bench.core.options import check_counts
    from bench.core.protocols import protocol_for
    from bench.pipeline import Cell, plan_cells, prepare
    from bench.pipeline.parallel import side_by_side
    from bench.store.database import check_writable

    if input_kind not in ("tensor", "image"):
        raise BenchError(f"unknown --input '{input_kind}'; known: image, tensor")
    _check_input_kind(input_kind, target, suite, model)
    specs = _specs(model, target, fmt, precision, suite, list(ctx.args), resolution=resolution, threads=threads,
                   input_kind=input_kind, representative_dir=str(representative_dir) if representative_dir else None,
                   phones=tuple(phone))
    if not dry_run:
        check_writable(store)
    cells = [Cell(deployment, protocol_for(deployment.target, protocol, warmup=warmup, runs=runs, repeats=repeats))
             for spec in specs for deployment in prepare(spec)]
    for cell in cells:  # sizes before anything is exported or allocated
        check_counts(cell.protocol.warmup, cell.protocol.runs, cell.protocol.repeats)
    workers = side_by_side(cells, jobs=jobs, ray=ray, notify=ui.notify)  # a timed target refuses them, now
    if dry_run:
        ui.write_out("\n".join(plan_cells(cells)))
        return
    _measure(cells, store, workers, as_json=as_json, suite=suite)


def _check_input_kind(input_kind: str, target: str, suite: str | None, models) -> None:
    """--input image is an input of some formats (Core ML): on a target that runs none of them, say that, not that
    the target cannot run the format it would have needed. A model file answers for itself (its source check names
    the file)."""
    if input_kind == "tensor" or suite or any(Path(m).exists() for m in models or ()):
        return
    from devices import get_target
    from exporters.registry import list_exporters

    place = get_target(target)
    takes = [e.format for e in list_exporters() if input_kind in e.input_kinds]
    if not any(f in place.supports for f in takes):
        raise BenchError(f"--input {input_kind} is an input of {', '.join(takes)} models only; target {place.name} "
                         f"runs {', '.join(place.supports)}, which take tensors (drop --input, or use an iPhone "
                         "target)")


def _measure(cells, store, workers, *, as_json: bool, suite: str | None) -> None:
    """Measure and store the cells with a progress bar; a table of what was measured (or JSON lines as it goes)."""
    from bench.pipeline import run_cells

    with ui.progress_bar() as bar:
        finished = (lambda cell, record: ui.print_json(record.summary())) if as_json else (lambda cell, record: None)
        try:
            outcome = run_cells(cells, store, ui.bar_hooks(bar, finished=finished), workers=workers)
        finally:
            if workers is not None:
                workers.close()
    if not as_json:
        from bench.output import write
        from bench.zoo.suites import REFERENCE_MODEL

        ui.write_out(write("table", outcome.measured, relative_to=REFERENCE_MODEL.get(suite)))


def _specs(models, target, fmt, precision, suite, extra_args, **common):
    from bench.pipeline import RunSpec

    if suite:
        from bench.zoo.suites import suite_cells

        places = [(c.model, c.target, c.format, c.precision) for c in suite_cells(suite, target, fmt, precision)]
    elif models:
        places = [(m, target, fmt, precision) for m in models]
    else:
        raise BenchError("no model given; pass --model NAME (see `bench models`) or --suite NAME")
    return [RunSpec(model=m, target=t, format=f, precision=p, options=_target_flags(t, extra_args), **common)
            for m, t, f, p in places]


def _target_flags(target_name: str, extra_args: list[str]) -> dict:
    """The flags `bench run` does not define itself, parsed against what this target declares."""
    from bench.core.options import parse_flags
    from devices import get_target

    target = get_target(target_name)
    return parse_flags(target.name, target.options, extra_args)
