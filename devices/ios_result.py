"""The iOS app's result JSON (schema: ios_app/README.md) -> the same Record as every other target.

The host recomputes every protocol statistic from the raw per-run nanoseconds, so any protocol works whatever the
app was asked for.
"""

from __future__ import annotations

import json

from bench import __version__
from bench.core.errors import InputDataError
from bench.core.protocols import get_protocol
from bench.core.record import Record, derive_statistics

SCHEMA_VERSION = 1
REQUIRED = {
    "schema_version": int, "model_file": str, "compute_units": str, "protocol": str, "warmup": int, "runs": int,
    "rounds": int, "samples_ns": list, "load_s": (int, float), "first_prediction_ms": (int, float),
    "device": dict, "thermal_state_start": str, "thermal_state_end": str, "started_at": str,
}
COMPUTE_UNITS = {"all", "cpuOnly", "cpuAndGPU", "cpuAndNeuralEngine"}
THERMAL_STATES = {"nominal", "fair", "serious", "critical", "unknown"}


def validate_result(data: dict, source: str = "result JSON") -> dict:
    problems = []
    for key, kind in REQUIRED.items():
        if key not in data:
            problems.append(f"missing {key}")
        elif not isinstance(data[key], kind) or isinstance(data[key], bool):
            problems.append(f"{key} has the wrong type")
    if problems:
        raise InputDataError(f"{source}: not a bench iOS result ({'; '.join(problems)})")
    if data["schema_version"] != SCHEMA_VERSION:
        raise InputDataError(f"{source}: schema_version {data['schema_version']}, this bench reads {SCHEMA_VERSION}")
    rounds = data["samples_ns"]
    if len(rounds) != data["rounds"] or any(not isinstance(r, list) or len(r) != data["runs"] for r in rounds):
        raise InputDataError(f"{source}: samples_ns does not hold {data['rounds']} rounds of {data['runs']} runs")
    if any(not isinstance(v, int) or v <= 0 for r in rounds for v in r):
        raise InputDataError(f"{source}: samples_ns must be positive integer nanoseconds")
    if data["compute_units"] not in COMPUTE_UNITS:
        raise InputDataError(f"{source}: compute_units {data['compute_units']!r}; known: {', '.join(sorted(COMPUTE_UNITS))}")
    for key in ("thermal_state_start", "thermal_state_end"):
        if data[key] not in THERMAL_STATES:
            raise InputDataError(f"{source}: {key} {data[key]!r}; known: {', '.join(sorted(THERMAL_STATES))}")
    for key in ("model", "system_name", "system_version"):
        if not isinstance(data["device"].get(key), str):
            raise InputDataError(f"{source}: device.{key} missing")
    return data


def record_from_result(text: str, *, model: str, target: str, protocol: str | None = None, resolution: int = 224,
                       source: str = "result JSON", artifact=None) -> Record:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputDataError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise InputDataError(f"{source}: expected a JSON object")
    validate_result(data, source)
    chosen = get_protocol(protocol or data["protocol"])
    from devices.hostinfo import host_facts

    record = Record(
        model=model, resolution=resolution, format="coreml", precision="fp16", target=target, runtime="coreml",
        runtime_version=f"{data['device']['system_name']} {data['device']['system_version']}", threads=0,
        protocol=chosen.name, warmup=data["warmup"], runs=data["runs"], repeats=data["rounds"],
        samples_ns=data["samples_ns"], device=dict(data["device"]), options={"compute_units": data["compute_units"]},
        host=host_facts(), bench_version=__version__,
        extra={"compile_s": data.get("compile_s"), "load_s": data["load_s"],
               "first_prediction_ms": data["first_prediction_ms"], "thermal_state_start": data["thermal_state_start"],
               "thermal_state_end": data["thermal_state_end"], "started_at": data["started_at"],
               "app_version": data.get("app_version"), "app_summary": data.get("summary")},
    )
    if artifact is not None:
        record.params, record.macs = artifact.params, artifact.macs
        record.artifact_path, record.artifact_hash = str(artifact.path), artifact.sha256
        record.artifact_bytes, record.export_s = artifact.size_bytes, artifact.export_s
        record.parity, record.artifact_facts, record.input_kind = artifact.parity, artifact.facts, artifact.input_kind
    return derive_statistics(record)
