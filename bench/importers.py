"""Measurements taken elsewhere (a benchmark_model log, an iOS result JSON) turned into records."""

from __future__ import annotations

from pathlib import Path

from bench import __version__
from bench.core.errors import InputDataError
from bench.core.protocols import get_protocol
from bench.core.record import Record, derive_statistics


def _read(path: Path) -> str:
    if not Path(path).is_file():
        raise InputDataError(f"no file at {path}")
    return Path(path).read_text(errors="replace")


def import_benchmark_log(path, *, model, target, protocol, precision, resolution):
    from devices import get_target
    from devices.android.benchmark_log import parse
    from devices.hostinfo import host_facts

    target_name = get_target(target).name
    chosen = get_protocol(protocol)
    parsed = parse(_read(path), source=str(path))
    if parsed.measured.min_ms is None and chosen.name == "mobileone":
        raise InputDataError(f"{path}: this log format gives no per-run minimum; import it with --protocol mnv4")
    record = Record(
        model=model, resolution=resolution, format="tflite", precision=precision, target=target_name,
        runtime="tflite-benchmark_model", runtime_version="unknown (imported log)", threads=0,
        protocol=chosen.name, warmup=parsed.warmup.count if parsed.warmup else 0, runs=parsed.measured.count,
        repeats=1, repeat_summaries=[parsed.measured.summary()], host=host_facts(), bench_version=__version__,
        extra={"imported_from": str(Path(path).resolve()), "init_ms": parsed.init_ms,
               "first_inference_ms": parsed.first_inference_ms, "memory": parsed.memory,
               "log_format": parsed.format},
    )
    return derive_statistics(record), parsed


def import_ios_result(path, *, model, target, protocol, resolution):
    from devices import get_target
    from devices.ios_result import record_from_result

    text = _read(path)
    return record_from_result(text, model=model, target=get_target(target).name, protocol=protocol,
                              resolution=resolution, source=str(path))
