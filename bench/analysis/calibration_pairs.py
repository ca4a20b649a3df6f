"""`bench calibrate`: a phone's own CPU runs in a store, paired with arm64-emu counts of the same models.

A phone run is a timed record of that phone (its target or its device names it: `pixel6`, an `android --serial` run
whose device model is "Pixel 6", an imported benchmark_model log, an AI Hub job on "Samsung Galaxy S23") that ran on
the CPU (XNNPACK or TFLite's own kernels; AI Hub's cpu compute unit). A count is an arm64-emu record of the same
format and precision. They pair by artifact (the same file's hash) or, for runs without one (imported logs), by
model and resolution. The newest record of each side is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.core.errors import BenchError
from bench.core.outcome import Count, Timing
from bench.core.record import Record
from bench.prediction.calibration import default_cpu

CPU_DELEGATES = (None, "", "xnnpack", "cpu")
CPU_UNITS = (None, "", "cpu")
COUNTING_TARGET = "arm64-emu"


@dataclass
class Pairs:
    rows: list = field(default_factory=list)  # bench.prediction.FitRow
    unpaired: list[str] = field(default_factory=list)  # phone runs without a count, and why
    measured_runtime: str = ""
    emulated_runtime: str = ""
    emulator_setup: dict = field(default_factory=dict)


def names_of(record: Record) -> list[str]:
    """What a record calls its phone: the target, an AI Hub shortcut's phone, the device model or name."""
    target = record.target
    names = [target, target.removeprefix("aihub-")]
    return names + [str(record.device.get(k)) for k in ("model", "name") if record.device.get(k)]


def is_phone_run(record: Record, phone) -> bool:
    return any(phone.is_called(name) for name in names_of(record))


def ran_on_cpu(record: Record) -> bool:
    options = record.options or {}
    return options.get("delegate") in CPU_DELEGATES and options.get("compute_unit") in CPU_UNITS \
        and options.get("compute_units") in CPU_UNITS


def _newest(records: list[Record], key) -> dict:
    newest = {}
    for r in sorted(records, key=lambda r: r.timestamp):
        newest[key(r)] = r
    return newest


def phone_runs(records: list[Record], phone, precision: str, fmt: str) -> list[Record]:
    runs = [r for r in records if isinstance(r.outcome, Timing) and r.latency_ms and r.precision == precision
            and r.format == fmt and is_phone_run(r, phone) and ran_on_cpu(r)]
    return list(_newest(runs, lambda r: (r.model, r.resolution)).values())


def counts(records: list[Record], precision: str, fmt: str, cpu: str) -> list[Record]:
    """arm64-emu counts on the emulated `cpu` only: another CPU model runs other kernels, so its counts never mix
    (a count that names no CPU was counted on arm64-emu's default)."""
    return [r for r in records if isinstance(r.outcome, Count) and r.target == COUNTING_TARGET and r.count
            and r.precision == precision and r.format == fmt
            and (((r.device or {}).get("setup") or {}).get("cpu") or default_cpu()) == cpu]


def pair(records: list[Record], phone, precision: str, fmt: str = "tflite", threads: int = 1,
         cpu: str | None = None) -> Pairs:
    """Every phone run of `phone` (at `threads`, or threads unknown) with a count of the same model on `cpu`."""
    from bench.prediction import Figures, FitRow

    cpu = cpu or default_cpu()
    runs = [r for r in phone_runs(records, phone, precision, fmt) if r.threads in (threads, 0)]
    if not runs:
        raise BenchError(f"the store holds no {fmt}/{precision} CPU runs of {phone.key} at {threads} thread(s); run "
                         f"`bench run --target {phone.key} --precision {precision}` or import benchmark_model logs "
                         f"with `bench import benchmark-model LOG --target {phone.key}`")
    counted = counts(records, precision, fmt, cpu)
    by_hash = _newest([c for c in counted if c.artifact_hash], lambda r: r.artifact_hash)
    by_model = _newest(counted, lambda r: (r.model, r.resolution))
    found = Pairs()
    for run in runs:
        count = by_hash.get(run.artifact_hash) if run.artifact_hash else None
        count = count or by_model.get((run.model, run.resolution))
        if count is None:
            found.unpaired.append(f"{run.model}@{run.resolution} (no arm64-emu count on {cpu})")
            continue
        found.rows.append(FitRow(run.model, Figures.from_extra(count.count, count.extra), float(run.latency_ms),
                                 run.resolution, source=f"record {run.id} ({run.protocol}) / count {count.id}"))
        found.measured_runtime = f"{run.runtime} {run.runtime_version}".strip()
        found.emulated_runtime = f"{count.runtime} {count.runtime_version}".strip()
        found.emulator_setup = dict(count.device.get("setup") or {})
    return found
