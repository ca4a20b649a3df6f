"""What the user asked for (RunSpec) and the same request checked once and resolved (Deployment)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.core.errors import BenchError
from bench.core.options import check_resolution
from bench.core.protocols import Protocol


@dataclass
class RunSpec:
    model: object  # a zoo name, a path to a model file or TensorFlow model, or a torch.nn.Module
    target: str = "host"
    format: str | None = None  # default: the target's
    precision: str | None = None
    resolution: int | None = None
    threads: int = 1
    input_kind: str = "tensor"
    representative_dir: str | None = None  # int8's representative images (the CLI's --calibration-dir)
    options: dict = field(default_factory=dict)  # target options as given (validated by the target in `prepare`)
    input_size: tuple | None = None  # a torch.nn.Module's input shape
    name: str | None = None  # what a module is called in records
    phones: tuple[str, ...] = ()  # predict these phones' milliseconds from an exact count (--phone)


@dataclass
class Deployment:
    """A model as it will be deployed on one target: a RunSpec checked once into the model's source, what it will run
    as (format, precision), the target object and its typed options."""

    spec: RunSpec
    source: object  # exporters.source.Source
    choice: object  # exporters.source.Choice
    target: object  # devices.registry.Target
    options: dict
    calibrations: tuple = ()  # --phone: each phone's calibration, looked up once (bench/prediction/lookup.py)

    @property
    def format(self) -> str:
        return self.choice.format

    @property
    def precision(self) -> str:
        return self.choice.precision

    @property
    def lane(self):
        """Deployments in the same lane run one after another; different lanes (phones) run in parallel."""
        fan_out = getattr(self.target, "fan_out", None)
        return (self.target.name, self.options.get(fan_out)) if fan_out else None

    def where(self) -> str:
        fan_out = getattr(self.target, "fan_out", None)
        value = self.options.get(fan_out) if fan_out else None
        return self.target.name + (f" {value}" if value else "")


@dataclass
class Cell:
    """One measurement to make: a deployment and the protocol to measure it with."""

    deployment: Deployment
    protocol: Protocol
    artifact: object = None  # bench.artifact.cache.Artifact once resolved

    def label(self) -> str:
        d = self.deployment
        return f"{d.source.name} on {d.where()} ({d.format}/{d.precision}, {self.protocol.name})"


def prepare(spec: RunSpec) -> list[Deployment]:
    """Every cheap check (names, formats, files, target options) before anything is exported or measured: the model
    is classified once into its source, which checks the format, precision and resolution asked for.

    A target that fans out over several devices (`fan_out`, e.g. serial) gives one deployment per device."""
    from bench.prediction.lookup import calibrations_for_run
    from devices import get_target
    from exporters.source import Wanted, resolve_source

    target = get_target(spec.target)
    options = target.resolve_options(spec.options)
    if spec.threads < 1:
        raise BenchError(f"--threads must be at least 1 (got {spec.threads})")
    target.check_threads(spec.threads)  # more threads than the machine's cores would time each other
    check_resolution(spec.resolution)  # before an export could try to allocate it
    source = resolve_source(spec.model, input_size=spec.input_size, name=spec.name)
    choice = source.choose(Wanted(spec.format, spec.precision, spec.resolution, spec.representative_dir,
                                  spec.input_kind), target)
    target.check_options(choice.format, choice.precision, options)
    calibrations = calibrations_for_run(spec.phones, target, choice.format, choice.precision, spec.threads, options)
    return [Deployment(spec, source, choice, target, one, calibrations) for one in _fan_out(target, options)]


def prepare_export(spec: RunSpec) -> Deployment:
    """`bench export`: the same classification and checks as a run, for one format and no target."""
    from exporters.source import Wanted, export_only, resolve_source

    check_resolution(spec.resolution)
    source = resolve_source(spec.model, input_size=spec.input_size, name=spec.name)
    fmt = spec.format or source.export_format  # onnx for a torch model, tflite for a TensorFlow one
    place = export_only(fmt)
    choice = source.choose(Wanted(fmt, spec.precision, spec.resolution, spec.representative_dir, spec.input_kind),
                           place)
    return Deployment(spec, source, choice, place, {})


def _fan_out(target, options: dict) -> list[dict]:
    key = getattr(target, "fan_out", None)
    values = options.get(key) if key else None
    if not isinstance(values, list):
        return [options]
    if not values:
        return [{k: v for k, v in options.items() if k != key}]
    return [{**options, key: value} for value in dict.fromkeys(values)]

