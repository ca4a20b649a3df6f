"""`bench import benchmark-model LOG`: one run of a benchmark_model log measured elsewhere, as a record.

The record holds what the log says (threads, delegate, delegation, version, flags) and is marked imported; the
importing machine's facts are left out, since it measured nothing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from bench.core.errors import InputDataError
from bench.core.measurement import Measurement
from bench.core.outcome import Timing
from bench.core.protocols import protocol_for
from bench.core.record import Record, build_record
from devices.android.benchmark_log import BenchmarkLog, parse
from exporters.source import imported_subject

RUNTIME = "tflite-benchmark_model"


def read_log(path) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise InputDataError(f"no file at {path}")
    return p.read_bytes()


def check_protocol(parsed: BenchmarkLog, protocol, source: str) -> None:
    if parsed.measured.min_ms is None and protocol.from_summaries is not None and protocol.name != "mnv4":
        raise InputDataError(f"{source}: this log gives only an average ({parsed.format}), no per-run minimum; "
                             "import it with --protocol mnv4 (mean-based)")
    if protocol.from_summaries is None:
        raise InputDataError(f"{source}: protocol {protocol.name} needs per-run samples, which benchmark_model does "
                             "not print; use --protocol mobileone or mnv4")


def import_benchmark_log(path, *, model: str, target: str, protocol: str | None = None, precision: str = "fp32",
                         resolution: int = 224, run: int | None = None) -> Record:
    """The Record of run `run` (1-based; needed when the log holds several runs) of the benchmark_model log at
    `path`. Raises InputDataError (one line) for empty, binary, cut or garbled logs and for failed runs."""
    from devices import get_target

    if run is not None and run < 1:
        raise InputDataError(f"--run {run}: a log's runs are numbered from 1")
    place = get_target(target)
    place.check_record("tflite", precision, resolution, counted=False)  # what a run on `place` would accept
    target_name = place.name
    chosen = protocol_for(place, protocol)  # by default the target's own (mnv4 on Android phones)
    subject = imported_subject(model, resolution, "tflite", precision)
    data = read_log(path)
    source = str(path)
    parsed = parse(data.decode("utf-8", "surrogateescape"), source=source, run=run)
    if failure := parsed.failure():
        raise InputDataError(f"{source}: benchmark_model reported a failure in this run ({failure[:120]}); "
                             "a failed run is not a result")
    check_protocol(parsed, chosen, source)
    threads = parsed.threads
    measurement = Measurement(
        runtime=RUNTIME, runtime_version=parsed.version or "unknown (not printed in the log)",
        outcome=Timing(repeat_summaries=[parsed.measured.summary()]), device={},
        options={"delegate": parsed.delegate, "threads": threads, "flags": parsed.flags, "params": parsed.params},
        ran={"warmup": parsed.warmup.count if parsed.warmup else 0, "runs": parsed.measured.count, "repeats": 1},
        extra={"imported_from": Path(path).name,
               "log_sha256": hashlib.sha256(data).hexdigest(), "threads_in_log": threads is not None,
               "delegation": parsed.delegation, "partially_delegated": parsed.delegation.get("graph") == "partial",
               "op_profiling": parsed.op_profiling, "init_ms": parsed.init_ms,
               "first_inference_ms": parsed.first_inference_ms, "memory": parsed.memory,
               "log_format": parsed.format, "benchmark_log": parsed.to_json()},
    )
    return build_record(subject, target_name, chosen, measurement, threads=threads if threads is not None else 0)
