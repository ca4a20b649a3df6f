"""The iOS app's result JSON (schema: ios_app/README.md) -> the same Record as every other target.

Every field is checked before anything is built: a malformed one is one line naming the file and the field. The host
recomputes every protocol statistic from the raw per-run nanoseconds, so a file can be read under any protocol;
by default under the one the app says it ran.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from bench.core.errors import InputDataError
from bench.core.measurement import Measurement
from bench.core.outcome import Timing
from bench.core.protocols import PROTOCOLS, get_protocol
from bench.core.record import Record, build_record
from exporters.source import imported_subject

SCHEMA_VERSION = 1
UINT64_MAX = 2**64 - 1  # the app stores samples as UInt64
# The app's compute-unit names (MLComputeUnits cases) -> --compute-units as typed (devices/ios.py COMPUTE_UNITS).
COMPUTE_UNITS = {"all": "all", "cpuOnly": "cpu", "cpuAndGPU": "cpu-gpu", "cpuAndNeuralEngine": "cpu-ne"}
THERMAL_STATES = {"nominal", "fair", "serious", "critical", "unknown"}
STRINGS = ("model_file", "started_at")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _counts(data: dict) -> list[str]:
    problems = []
    if data.get("schema_version") != SCHEMA_VERSION:
        problems.append(f"schema_version {data.get('schema_version')!r} (this bench reads {SCHEMA_VERSION})")
    for key, least in (("warmup", 0), ("runs", 1), ("rounds", 1)):
        if not _is_int(data.get(key)) or data[key] < least:
            problems.append(f"{key} must be an integer of at least {least} (got {data.get(key)!r})")
    return problems


def _samples(data: dict) -> list[str]:
    rounds = data.get("samples_ns")
    if not isinstance(rounds, list):
        return ["samples_ns missing or not a list of rounds"]
    problems = []
    runs, n_rounds = data.get("runs"), data.get("rounds")
    if _is_int(runs) and _is_int(n_rounds) and (
            len(rounds) != n_rounds or any(not isinstance(r, list) or len(r) != runs for r in rounds)):
        problems.append(f"samples_ns does not hold {n_rounds} rounds of {runs} runs")
    values = [v for r in rounds if isinstance(r, list) for v in r]
    if any(not isinstance(r, list) for r in rounds) or any(not _is_int(v) or not 0 < v <= UINT64_MAX for v in values):
        problems.append("samples_ns must hold positive integer nanoseconds (UInt64), no booleans or fractions")
    return problems


def _timings(data: dict) -> list[str]:
    problems = []
    for key in ("load_s", "first_prediction_ms"):
        if not _is_number(data.get(key)) or data[key] < 0:
            problems.append(f"{key} must be a finite number of 0 or more (got {data.get(key)!r})")
    compile_s = data.get("compile_s")
    if compile_s is not None and (not _is_number(compile_s) or compile_s < 0):
        problems.append(f"compile_s must be null or a finite number of 0 or more (got {compile_s!r})")
    return problems


def _labels(data: dict) -> list[str]:
    problems = [f"{key} must be a string" for key in STRINGS if not isinstance(data.get(key), str)]
    if data.get("protocol") not in PROTOCOLS:
        problems.append(f"protocol {data.get('protocol')!r}; known: {', '.join(sorted(PROTOCOLS))}")
    if data.get("compute_units") not in COMPUTE_UNITS:
        problems.append(f"compute_units {data.get('compute_units')!r}; known: {', '.join(sorted(COMPUTE_UNITS))}")
    for key in ("thermal_state_start", "thermal_state_end"):
        if data.get(key) not in THERMAL_STATES:
            problems.append(f"{key} {data.get(key)!r}; known: {', '.join(sorted(THERMAL_STATES))}")
    device = data.get("device")
    if not isinstance(device, dict):
        problems.append("device missing or not an object")
    else:
        problems += [f"device.{k} must be a string" for k in ("model", "system_name", "system_version")
                     if not isinstance(device.get(k), str)]
    if "app_version" in data and not isinstance(data["app_version"], str):
        problems.append("app_version must be a string")
    return problems


def validate_result(data, source: str = "result JSON") -> dict:
    """Every problem of the file in one line, naming the file and each bad field; the data when it is sound."""
    if not isinstance(data, dict):
        raise InputDataError(f"{source}: expected a JSON object (a result written by the iOS app)")
    problems = _counts(data) + _samples(data) + _timings(data) + _labels(data)
    if problems:
        raise InputDataError(f"{source}: not a valid bench iOS result: {'; '.join(problems)}")
    return data


def _parse(text: str, source: str) -> dict:
    def no_constants(name):  # NaN / Infinity are not JSON; name them as the field's problem, not a crash
        return float(name.replace("Infinity", "inf"))

    try:
        data = json.loads(text, parse_constant=no_constants)
    except json.JSONDecodeError as exc:
        raise InputDataError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    return validate_result(data, source)


def measurement_from_result(text: str, *, source: str = "result JSON") -> tuple[Measurement, dict]:
    """A validated result as the Measurement a run hands back (the one shape both `measure` and the import use),
    and the result's counts (protocol, warmup, runs, rounds, compute units) as the app ran them."""
    data = _parse(text, source)
    ran = {k: data[k] for k in ("protocol", "warmup", "runs", "rounds", "compute_units")}
    measurement = Measurement(
        runtime="coreml", runtime_version=f"{data['device']['system_name']} {data['device']['system_version']}",
        outcome=Timing(samples_ns=data["samples_ns"]), device=dict(data["device"]),
        ran={"warmup": data["warmup"], "runs": data["runs"], "repeats": data["rounds"]},
        options={"compute_units": COMPUTE_UNITS[data["compute_units"]]},
        extra={"compile_s": data.get("compile_s"), "load_s": data["load_s"],
               "first_prediction_ms": data["first_prediction_ms"], "thermal_state_start": data["thermal_state_start"],
               "thermal_state_end": data["thermal_state_end"], "started_at": data["started_at"],
               "app_version": data.get("app_version"), "app_protocol": data["protocol"],
               "app_compute_units": data["compute_units"], "app_summary": data.get("summary")},
    )
    return measurement, ran


def record_from_result(text: str, *, model: str, target: str, protocol: str | None = None, resolution: int = 224,
                       source: str = "result JSON") -> Record:
    """An imported result as a record (no artifact, no host: it was measured elsewhere); `protocol` None means the
    protocol the app ran, another one is recomputed from the raw samples."""
    m, ran = measurement_from_result(text, source=source)
    subject = imported_subject(model, resolution, "coreml", "fp16")
    return build_record(subject, target, get_protocol(protocol or ran["protocol"]), m, threads=0)


def import_ios_result(path, *, model: str, target: str, protocol: str | None = None,
                      resolution: int = 224) -> tuple[Record, str | None]:
    """`bench import ios-result`: the record (not stored) and a note for the user, or None.

    protocol None: the protocol the file says the app ran. A different one is recomputed from the raw samples and
    the note says so. Raises InputDataError (one line naming the file and field) and stores nothing on bad input."""
    from devices import get_target

    target_name = get_target(target).name
    chosen = get_protocol(protocol).name if protocol else None
    p = Path(path)
    if not p.is_file():
        raise InputDataError(f"no file at {p}")
    text = p.read_text(errors="replace")
    record = record_from_result(text, model=model, target=target_name, protocol=chosen, resolution=resolution,
                                source=str(p))
    record.extra["imported_from"] = str(p.resolve())
    app_protocol = record.extra["app_protocol"]
    note = None
    if chosen and chosen != app_protocol:
        note = (f"{p.name}: the app ran protocol {app_protocol}; stored as {chosen}, recomputed from its "
                f"{record.n_samples} raw samples ({record.repeats} x {record.runs})")
    return record, note
