"""The library: `bench.measure` and `bench.measure_many`, the CLI's own engine (RunSpec -> prepare -> the
coordinator) called from Python.

    import bench
    record = bench.measure("mobileone_s0")                                 # arm64-emu, int8: exact instructions
    record = bench.measure(net, input_size=(1, 3, 224, 224), name="w32")   # a torch.nn.Module, exported and cached
    records = bench.measure_many(nets, input_size=(1, 3, 224, 224), jobs=2, store="search.sqlite")
    records = bench.measure_many(nets, input_size=(1, 3, 224, 224), ray="auto")   # on a Ray cluster

A model is a zoo name, a model file path (.onnx, .tflite, .mlpackage, .keras, .h5, a SavedModel folder), a
torch.nn.Module (with `input_size`) or a Keras model. An in-memory model is exported once and cached by its
content (architecture and weights), like every artifact. Records are the same typed records the CLI stores; they
are stored only when `store` is given. Bad input raises the CLI's typed errors (bench.core.errors), whose message
is the one line the CLI would print.

`jobs` (this machine's cores) and `ray` (a Ray cluster's address, or "auto") apply to counting targets
(arm64-emu): their counts are exact, so running several at once changes nothing; timed targets refuse them.

Defaults differ from `bench run`'s on purpose. The CLI's `bench run` measures this machine's CPU (target host,
ONNX fp32): the paper's measure, with nothing to set up. The library is called in loops over candidate networks
(a search, an ablation), where what decides is a figure that repeats exactly whatever else the machine does and
runs side by side (`jobs`, `ray`): the emulated phone CPU's instruction count (arm64-emu) of the int8 model a phone
would run. Pass target="host", precision=None for the CLI's choice.
"""

from __future__ import annotations

import os
from typing import Iterable

from bench.core.errors import BenchError, InputDataError, first_line
from bench.core.record import Record

DEFAULT_TARGET = "arm64-emu"  # exact counts (see above: not the CLI's host)
DEFAULT_PRECISION = "int8"  # what a phone runs
ERROR_POLICIES = ("raise", "return")


def measure(model, target: str = DEFAULT_TARGET, precision: str | None = DEFAULT_PRECISION, *,
            name: str | None = None, **request) -> Record:
    """Measure one model on one target; the record (stored in `store` when one is given).

    `request` takes measure_many's keywords (format, resolution, input_size, protocol, runs, warmup, repeats,
    threads, representative_dir, input_kind, phones, store, progress) and the target's own flags (`bench targets
    --options`, e.g. count_runs=3). `phones` (arm64-emu): also predict these phones' CPU milliseconds from the count
    (record.predictions; see `bench phones`)."""
    records = measure_many([model], target, precision, names=[name] if name else None, **request)
    if len(records) != 1:
        raise BenchError(f"{len(records)} devices were given; bench.measure measures on one, use "
                         "bench.measure_many for several")
    return records[0]


def measure_many(models: Iterable, target: str = DEFAULT_TARGET, precision: str | None = DEFAULT_PRECISION, *,
                 names: Iterable[str] | None = None, format: str | None = None, resolution: int | None = None,
                 input_size: tuple | None = None, protocol: str | None = None, runs: int | None = None,
                 warmup: int | None = None, repeats: int | None = None, threads: int = 1,
                 representative_dir: str | None = None, input_kind: str = "tensor", phones: Iterable[str] = (),
                 jobs: int = 1, ray: str | None = None, store=None, errors: str = "raise", progress=None,
                 **target_options) -> list:
    """Measure several models, one record each in the order given (one per device for a target that fans out).

    `names` name in-memory models in the records (default: the class name, or a Keras model's name); `input_size`
    applies to every torch.nn.Module. `jobs`: this many exports and measurements at once on this machine; `ray`:
    on the Ray cluster at that address instead. `errors="return"` puts a model's typed error in its place in the
    list and goes on with the others; "raise" (default) raises the first, after the cells under way have finished
    (and been stored). `progress` is called with one line of text at each step."""
    from bench.pipeline import Cell, Hooks
    from bench.pipeline.parallel import side_by_side

    if errors not in ERROR_POLICIES:
        raise BenchError(f"errors must be one of {', '.join(ERROR_POLICIES)} (got {errors!r})")
    if "calibration_dir" in target_options:  # the keyword's name before 0.2.0; a target option never had it
        raise InputDataError("calibration_dir is called representative_dir since bench 0.2.0 (int8's representative "
                             "images)")
    models = _listed(models)
    labels = list(names) if names is not None else [None] * len(models)
    if len(labels) != len(models):
        raise BenchError(f"{len(labels)} names for {len(models)} models")
    slots = _cells(models, labels, errors, target=target, precision=precision, format=format,
                   resolution=resolution, input_size=input_size, protocol=protocol, runs=runs, warmup=warmup,
                   repeats=repeats, threads=threads, representative_dir=representative_dir, input_kind=input_kind,
                   phones=tuple(phones), options=target_options)
    cells = [c for c in slots if isinstance(c, Cell)]
    notify = progress or (lambda line: None)
    hooks = Hooks(notify=notify, finished=lambda cell, record: notify(f"measured {cell.label()}: {record.shown()}"))
    workers = side_by_side(cells, jobs=jobs, ray=ray, notify=notify)
    result = _run(cells, store, hooks, workers, errors) if cells else None
    return [slot if not isinstance(slot, Cell) else result.outcome(slot) for slot in slots]


def _listed(models) -> list:
    """The models as a list; one model given bare (a name, a path, a network) is refused, not iterated."""
    if isinstance(models, (str, bytes, os.PathLike)) or hasattr(models, "forward") or hasattr(models, "predict"):
        raise BenchError(f"measure_many takes a list of models, not one model ({_shown(models)}): pass "
                         f"[{_shown(models)}], or use bench.measure for one")
    try:
        return list(models)
    except TypeError:
        raise BenchError(f"measure_many takes a list of models, not a {type(models).__name__}") from None


def _shown(model) -> str:
    return repr(os.fspath(model)) if isinstance(model, (str, os.PathLike)) else type(model).__name__


def _run(cells, store, hooks, workers, errors: str):
    """The coordinator's run, where a store that SQLite cannot open or write is a typed error naming it."""
    import sqlite3

    from bench.pipeline import run_cells

    try:
        return run_cells(cells, store, hooks, workers=workers, keep_going=errors == "return",
                         write_store=store is not None)
    except sqlite3.Error as exc:
        raise InputDataError(f"cannot write the store {store}: {first_line(exc)}") from None


def _cells(models: list, labels: list, errors: str, *, protocol, runs, warmup, repeats, input_size, options,
           **common) -> list:
    """One cell per model (per device), or the model's typed error in its place when errors="return"."""
    from bench.core.protocols import protocol_for
    from bench.pipeline import Cell, RunSpec, prepare

    slots = []
    for model, label in zip(models, labels):
        spec = RunSpec(model=model, name=label, options=dict(options),
                       input_size=None if isinstance(model, (str, os.PathLike)) else input_size, **common)
        try:
            slots += [Cell(deployment, protocol_for(deployment.target, protocol, warmup=warmup, runs=runs,
                                                    repeats=repeats))
                      for deployment in prepare(spec)]
        except BenchError as exc:
            if errors == "raise":
                raise
            slots.append(exc)
    return slots
