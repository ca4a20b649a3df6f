"""One measurement end to end: model -> artifact -> target -> samples -> record -> store."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench import __version__
from bench.artifact import Artifact, artifact_from_file, ensure_artifact
from bench.core.errors import ArtifactError
from bench.core.protocols import Protocol
from bench.core.record import Record, derive_statistics


@dataclass
class RunSpec:
    model: str  # a zoo name or a path to a model file
    target: str = "host"
    format: str | None = None  # default: the target's
    precision: str | None = None
    resolution: int | None = None
    threads: int = 1
    input_kind: str = "tensor"
    calibration_dir: str | None = None
    options: dict = field(default_factory=dict)


def is_model_path(model: str) -> bool:
    from exporters.registry import exporter_for_suffix

    return exporter_for_suffix(Path(model).suffix) is not None or Path(model).exists()


def resolve_format(spec: RunSpec, target) -> tuple[str, str]:
    fmt = spec.format or target.default_format
    precision = spec.precision or (target.default_precision if fmt == target.default_format else None)
    if precision is None:
        from exporters import get_exporter

        precision = (target.supports.get(fmt) or get_exporter(fmt).precisions)[0]
    return fmt, precision


def validate(spec: RunSpec) -> None:
    """Cheap checks (names, formats, files) so a bad request fails before anything is exported or measured."""
    from devices import get_target

    target = get_target(spec.target)
    if is_model_path(spec.model):
        if not Path(spec.model).exists():
            raise ArtifactError(f"model file {spec.model} does not exist")
        return
    from bench.zoo import get_entry

    get_entry(spec.model)
    fmt, precision = resolve_format(spec, target)
    target.check(fmt, precision)
    target.check_options(fmt, precision, spec.options)


def resolve_artifact(spec: RunSpec, target, *, force: bool = False, notify=None) -> Artifact:
    """The artifact the target will run: the user's file, or a zoo model exported (or found in the cache)."""
    if is_model_path(spec.model):
        artifact = artifact_from_file(spec.model)
        target.check(artifact.format, artifact.precision)
        return artifact
    from bench.zoo import get_entry
    from exporters.registry import ExportRequest
    from exporters.tflite_export import calibration_source

    entry = get_entry(spec.model)  # unknown model: a clear error before anything heavy
    fmt, precision = resolve_format(spec, target)
    target.check(fmt, precision)
    if spec.resolution is not None and spec.resolution < 32:
        raise ArtifactError(f"--resolution {spec.resolution} is too small; use 32 or more")
    request = ExportRequest(
        model=entry.name,
        resolution=spec.resolution or entry.resolution,
        format=fmt,
        precision=precision,
        input_kind=spec.input_kind,
        calibration=calibration_source(spec.calibration_dir) if precision == "int8" else "none",
    )
    return ensure_artifact(request, force=force, notify=notify)


def build_record(artifact: Artifact, target, protocol: Protocol, measurement, threads: int,
                 requested_options: dict | None = None) -> Record:
    from devices.hostinfo import git_commit, host_facts

    record = Record(
        model=artifact.model,
        resolution=artifact.resolution,
        format=artifact.format,
        precision=artifact.precision,
        target=target.name,
        runtime=measurement.runtime,
        runtime_version=measurement.runtime_version,
        threads=threads,
        protocol=protocol.name,
        warmup=protocol.warmup,
        runs=protocol.runs,
        repeats=protocol.repeats,
        params=artifact.params,
        macs=artifact.macs,
        input_kind=artifact.input_kind,
        artifact_path=str(artifact.path),
        artifact_hash=artifact.sha256,
        artifact_bytes=artifact.size_bytes,
        export_s=artifact.export_s,
        parity=artifact.parity,
        artifact_facts=artifact.facts,
        options=measurement.options,
        requested_options=dict(requested_options or {}),
        device=measurement.device,
        host=host_facts(),
        samples_ns=measurement.samples_ns,
        repeat_summaries=measurement.repeat_summaries,
        extra=measurement.extra,
        git_commit=git_commit(),
        bench_version=__version__,
    )
    return derive_statistics(record)


def measure(spec: RunSpec, protocol: Protocol, *, progress=None, artifact: Artifact | None = None) -> Record:
    from devices import get_target

    target = get_target(spec.target)
    artifact = artifact or resolve_artifact(spec, target)
    measurement = target.measure(
        artifact, protocol, threads=spec.threads, options=dict(spec.options), progress=progress or (lambda n: None)
    )
    return build_record(artifact, target, protocol, measurement, spec.threads, spec.options)
