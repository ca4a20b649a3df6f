"""What the user asked for (RunSpec) and the same request checked once and resolved (Job)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.core.errors import ArtifactError
from bench.core.protocols import Protocol


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
    options: dict = field(default_factory=dict)  # target options as given (validated by the target in `prepare`)


@dataclass
class Job:
    """A RunSpec checked once: the target object, the format it will run, typed options with defaults."""

    spec: RunSpec
    target: object  # devices.registry.Target
    format: str | None  # None for a model file (its suffix decides)
    precision: str | None
    options: dict

    @property
    def worker(self):
        """Jobs with the same worker key run one after another; different keys (phones) run in parallel."""
        fan_out = getattr(self.target, "fan_out", None)
        return (self.target.name, self.options.get(fan_out)) if fan_out else None

    def where(self) -> str:
        fan_out = getattr(self.target, "fan_out", None)
        value = self.options.get(fan_out) if fan_out else None
        return self.target.name + (f" {value}" if value else "")


@dataclass
class Cell:
    """One measurement to make: a job and the protocol to measure it with."""

    job: Job
    protocol: Protocol
    artifact: object = None  # bench.artifact.Artifact once resolved

    def label(self) -> str:
        pair = f"{self.job.format}/{self.job.precision}" if self.job.format else "file"
        return f"{self.job.spec.model} on {self.job.where()} ({pair}, {self.protocol.name})"


def _is_tf_source(model: str) -> bool:
    from bench.artifact import is_tf_source

    return is_tf_source(model)


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


def prepare(spec: RunSpec) -> list[Job]:
    """Every cheap check (names, formats, files, target options) before anything is exported or measured.

    A target that fans out over several devices (`fan_out`, e.g. serial) gives one job per device."""
    from devices import get_target

    target = get_target(spec.target)
    options = target.resolve_options(spec.options)
    if spec.threads < 1:
        from bench.core.errors import BenchError

        raise BenchError(f"--threads must be at least 1 (got {spec.threads})")
    fmt = precision = None
    if _is_tf_source(spec.model):  # converted to TFLite by TensorFlow's own converter
        if not Path(spec.model).exists():
            raise ArtifactError(f"model {spec.model} does not exist")
        fmt, precision = "tflite", spec.precision or "fp32"
        if spec.format not in (None, "tflite"):
            raise ArtifactError(f"TensorFlow models convert to tflite only, not {spec.format}")
        target.check(fmt, precision)
    elif is_model_path(spec.model):
        if not Path(spec.model).exists():
            raise ArtifactError(f"model file {spec.model} does not exist")
    else:
        from bench.zoo import get_entry

        get_entry(spec.model)
        if spec.resolution is not None and spec.resolution < 32:
            raise ArtifactError(f"--resolution {spec.resolution} is too small; use 32 or more")
        fmt, precision = resolve_format(spec, target)
        target.check(fmt, precision)
        target.check_options(fmt, precision, options)
    return [Job(spec, target, fmt, precision, one) for one in _fan_out(target, options)]


def _fan_out(target, options: dict) -> list[dict]:
    key = getattr(target, "fan_out", None)
    values = options.get(key) if key else None
    if not isinstance(values, list):
        return [options]
    if not values:
        return [{k: v for k, v in options.items() if k != key}]
    return [{**options, key: value} for value in dict.fromkeys(values)]


def with_model(spec: RunSpec, model: str, **changes) -> RunSpec:
    return replace(spec, model=model, **changes)
