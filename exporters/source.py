"""What a model argument is, decided once (parse, don't validate).

A zoo name (PyTorch or Keras), a model file (.onnx, .tflite, .mlpackage), a TensorFlow model (SavedModel directory,
.keras, .h5) or an in-memory torch.nn.Module is classified here, once, into one typed Source. The source states which
formats and precisions it can become (from the exporter registry) and which of --format, --precision, --resolution,
--calibration-dir and --input apply to it; `choose` checks them all in one place and refuses, in one line, an option
that does not apply. Everything downstream takes the Source and the Choice and never re-asks.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from bench.core.errors import ArtifactError, BenchError, UnsupportedFormat, first_line
from bench.core.record import Subject

MIN_RESOLUTION = 32
TF_SUFFIXES = (".keras", ".h5")
TF_PRECISIONS = ("fp32", "fp16", "int8")  # TensorFlow's converter (exporters/tensorflow_export.py)


@dataclass(frozen=True)
class Wanted:
    """What the user asked for beside the model (None: not given)."""

    format: str | None = None
    precision: str | None = None
    resolution: int | None = None
    representative_dir: str | None = None  # --calibration-dir: int8's representative images
    input_kind: str = "tensor"


@dataclass(frozen=True)
class Choice:
    """What a source will run as: checked against the exporters; the target checks it can run it."""

    format: str
    precision: str
    resolution: int | None  # None: the model's own (a TensorFlow model with an open height/width decides)
    representative_dir: str | None = None
    input_kind: str = "tensor"


class Source:
    """Base class: a model to run, as classified from what the user gave."""

    name: str = ""
    kind: str = ""  # said in errors: "zoo model", "model file", ...
    export_format: str = "onnx"  # what `bench export` makes when no --format is given

    def offers(self) -> dict[str, tuple[str, ...]]:
        """format -> precisions this source can become."""
        raise NotImplementedError

    def choose(self, wanted: Wanted, target) -> Choice:
        raise NotImplementedError

    def _format_and_precision(self, wanted: Wanted, target, offers: dict | None = None) -> tuple[str, str]:
        """The target's default where the user gave none; checked against what this source offers."""
        offers = offers or self.offers()
        fmt = wanted.format or (target.default_format if target.default_format in offers else
                                next((f for f in target.supports if f in offers), next(iter(offers))))
        if fmt not in offers:
            from exporters.registry import get_exporter

            get_exporter(fmt)  # an unknown format: one line naming the known ones
            raise UnsupportedFormat(f"{self.kind} {self.name} cannot become {fmt}; it can become: "
                                    f"{', '.join(offers)}")
        precision = wanted.precision or (target.default_precision if fmt == target.default_format else
                                         (target.supports.get(fmt) or offers[fmt])[0])
        target.check(fmt, precision)  # the one precision check: names what the target (or exporter) runs
        return fmt, precision


def _checked_resolution(resolution: int | None) -> int | None:
    if resolution is not None and resolution < MIN_RESOLUTION:
        raise ArtifactError(f"--resolution {resolution} is too small; use {MIN_RESOLUTION} or more")
    return resolution


def _exporter_offers(input_kind: str) -> dict[str, tuple[str, ...]]:
    from exporters.registry import list_exporters

    offers = {e.format: e.precisions for e in list_exporters()}
    if input_kind != "tensor":
        kinds = {e.format: e.input_kinds for e in list_exporters()}
        offers = {f: p for f, p in offers.items() if input_kind in kinds[f]}
        if not offers:
            raise UnsupportedFormat(f"no format takes --input {input_kind}; known: tensor, image (Core ML)")
    return offers


@dataclass(frozen=True, eq=False)
class ZooModel(Source):
    """A PyTorch model of the zoo (curated, or any timm name): exported by this project's exporters."""

    entry: object  # bench.zoo.ZooEntry
    kind: str = "zoo model"

    @property
    def name(self) -> str:
        return self.entry.name

    def offers(self) -> dict[str, tuple[str, ...]]:
        return _exporter_offers("tensor")

    def choose(self, wanted: Wanted, target) -> Choice:
        resolution = _checked_resolution(wanted.resolution) or self.entry.resolution
        fmt, precision = self._format_and_precision(wanted, target, _exporter_offers(wanted.input_kind))
        return Choice(fmt, precision, resolution, wanted.representative_dir if precision == "int8" else None,
                      wanted.input_kind)


class _TensorFlowConverted(Source):
    """Converted by TensorFlow's own converter: tflite only, tensor inputs."""

    export_format = "tflite"

    def offers(self) -> dict[str, tuple[str, ...]]:
        return {"tflite": TF_PRECISIONS}

    def choose(self, wanted: Wanted, target) -> Choice:
        if wanted.input_kind != "tensor":
            raise UnsupportedFormat(f"--input {wanted.input_kind} does not apply to {self.kind} {self.name} "
                                    "(it converts to tflite, which takes tensors)")
        if wanted.format not in (None, "tflite"):
            raise UnsupportedFormat(f"{self.kind} {self.name} converts to tflite only, not {wanted.format} "
                                    "(TensorFlow's converter)")
        fmt, precision = self._format_and_precision(wanted, target)
        return Choice(fmt, precision, self._resolution(wanted),
                      wanted.representative_dir if precision == "int8" else None)

    def _resolution(self, wanted: Wanted) -> int | None:
        return _checked_resolution(wanted.resolution)


@dataclass(frozen=True, eq=False)
class KerasZooModel(_TensorFlowConverted):
    """A Keras application of the zoo (keras/...)."""

    entry: object
    kind: str = "Keras zoo model"

    @property
    def name(self) -> str:
        return self.entry.name

    def _resolution(self, wanted: Wanted) -> int | None:
        return _checked_resolution(wanted.resolution) or self.entry.resolution


@dataclass(frozen=True, eq=False)
class TensorFlowModel(_TensorFlowConverted):
    """A SavedModel directory, .keras or .h5 file the user gave."""

    path: Path
    tf_kind: str  # "saved_model" or "keras"
    kind: str = "TensorFlow model"

    @property
    def name(self) -> str:
        return self.path.stem if self.tf_kind == "keras" else self.path.name


@dataclass(frozen=True, eq=False)
class KerasModule(_TensorFlowConverted):
    """A Keras model handed over in Python (bench.measure): saved to a .keras file named by its content (config and
    weights; bench/pipeline/artifacts.py), then converted like a .keras file, by TensorFlow's converter in a
    subprocess."""

    model: object = field(repr=False)
    label: str
    content: str  # keras_content_key: the same network with the same weights is the same file, the same artifact
    kind: str = "Keras model"

    @property
    def name(self) -> str:
        return self.label


@dataclass(frozen=True, eq=False)
class ModelFile(Source):
    """A model file the user already has: its format, precision and resolution are the file's own."""

    path: Path
    format: str
    described: dict = field(default_factory=dict)  # the exporter's reading of the graph: precision, params, ...
    kind: str = "model file"

    @property
    def name(self) -> str:
        return self.path.name

    def offers(self) -> dict[str, tuple[str, ...]]:
        return {self.format: (self.described["precision"],)}

    def choose(self, wanted: Wanted, target) -> Choice:
        own = {"--format": self.format, "--precision": self.described["precision"],
               "--resolution": self.described.get("resolution")}
        asked = {"--format": wanted.format, "--precision": wanted.precision, "--resolution": wanted.resolution}
        for flag, value in asked.items():
            if value is not None and own[flag] and value != own[flag]:
                raise UnsupportedFormat(f"{flag} {value} does not apply to the model file {self.path.name}, which is "
                                        f"{self.format}/{own['--precision']} at {own['--resolution']} px; export a "
                                        "zoo model to choose these")
        if wanted.representative_dir:
            raise UnsupportedFormat(f"--calibration-dir does not apply to the model file {self.path.name}: it is "
                                    "already exported")
        if wanted.input_kind != "tensor":
            raise UnsupportedFormat(f"--input {wanted.input_kind} does not apply to the model file {self.path.name}")
        target.check(self.format, own["--precision"])
        return Choice(self.format, own["--precision"], own["--resolution"])


@dataclass(frozen=True, eq=False)
class TorchModule(Source):
    """A torch.nn.Module handed over in Python (bench.measure): exported like a zoo model, cached by content."""

    module: object = field(repr=False)
    input_size: tuple[int, ...]
    label: str
    kind: str = "module"

    @property
    def name(self) -> str:
        return self.label

    def offers(self) -> dict[str, tuple[str, ...]]:
        return _exporter_offers("tensor")

    def choose(self, wanted: Wanted, target) -> Choice:
        side = self.input_size[-1]
        if wanted.resolution is not None and wanted.resolution != side:
            raise UnsupportedFormat(f"resolution {wanted.resolution} does not apply to module {self.label}: its "
                                    f"input_size is {tuple(self.input_size)}")
        fmt, precision = self._format_and_precision(wanted, target, _exporter_offers(wanted.input_kind))
        return Choice(fmt, precision, side, wanted.representative_dir if precision == "int8" else None,
                      wanted.input_kind)

    def content_key(self) -> str:
        """The module's architecture and every parameter and buffer, hashed: the same network with the same weights
        is the same artifact, whatever its Python object."""
        import torch

        digest = hashlib.sha256()
        digest.update(f"{type(self.module).__module__}.{type(self.module).__qualname__}".encode())
        digest.update(repr(self.module).encode())
        digest.update(repr(tuple(self.input_size)).encode())
        with torch.no_grad():
            for name, tensor in self.module.state_dict().items():
                digest.update(name.encode())
                digest.update(str(tensor.dtype).encode() + repr(tuple(tensor.shape)).encode())
                digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()[:24]


def resolve_source(model, *, input_size=None, name: str | None = None) -> Source:
    """The one place a model argument is classified (a string or path, a torch.nn.Module or a Keras model)."""
    if isinstance(model, (str, os.PathLike)):
        if input_size is not None:
            raise BenchError(f"input_size applies to a torch.nn.Module, not to {model}")
        return _from_string(os.fspath(model))
    if _is_torch_module(model):
        return _module_source(model, input_size, name)
    if _is_keras_model(model):
        if input_size is not None:
            raise BenchError("input_size applies to a torch.nn.Module; a Keras model has its own input shape")
        return _keras_source(model, name)
    raise BenchError(f"cannot measure a {type(model).__name__}; give a zoo name, a model file path, a "
                     "torch.nn.Module with input_size or a Keras model")


def _from_string(model: str) -> Source:
    from exporters.registry import exporter_for_suffix

    path = Path(model)
    suffix_exporter = exporter_for_suffix(path.suffix)
    if path.suffix.lower() in TF_SUFFIXES or (path.is_dir() and suffix_exporter is None):
        from exporters.tensorflow_export import source_kind

        return TensorFlowModel(path.resolve(), source_kind(path.resolve()))
    if suffix_exporter is not None or path.exists():
        return _model_file(path, suffix_exporter)
    from bench.zoo import get_entry

    entry = get_entry(model)
    return KerasZooModel(entry) if entry.framework == "keras" else ZooModel(entry)


def _model_file(path: Path, exporter) -> ModelFile:
    from exporters.registry import known_suffixes

    if not path.exists():
        raise ArtifactError(f"model file {path} does not exist")
    if exporter is None:
        raise UnsupportedFormat(f"cannot tell the format of {path.name}; known suffixes: "
                                f"{', '.join(known_suffixes())}")
    return ModelFile(path.resolve(), exporter.format, exporter.describe(path))  # describe: ArtifactError if corrupt


def _is_torch_module(model) -> bool:
    import sys

    torch = sys.modules.get("torch")  # a module object exists only if torch was imported by its maker
    return torch is not None and isinstance(model, torch.nn.Module)


def _is_keras_model(model) -> bool:
    import sys

    keras = sys.modules.get("keras")  # imported by whoever built the model; never imported here
    return keras is not None and isinstance(model, keras.Model)


def keras_content_key(model) -> str:
    """The model's class, config and every weight, hashed (what makes two Keras models the same network)."""
    digest = hashlib.sha256(f"{type(model).__module__}.{type(model).__qualname__}".encode())
    try:
        digest.update(model.to_json().encode())
    except Exception as exc:  # a subclassed model without get_config: Keras cannot save it either
        raise ArtifactError(f"cannot describe the Keras model {model.name}: {first_line(exc)}; give a functional "
                            "or Sequential model, or one whose layers define get_config") from None
    for weight in model.weights:  # names are part of it: they are in the saved file and the converted graph
        value = weight.numpy()
        digest.update(f"{getattr(weight, 'path', weight.name)}:{value.dtype}:{value.shape}".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()[:24]


def _keras_source(model, name: str | None) -> KerasModule:
    return KerasModule(model, name or model.name, keras_content_key(model))


def _module_source(module, input_size, name: str | None) -> TorchModule:
    if input_size is None:
        raise BenchError("a torch.nn.Module needs input_size, e.g. input_size=(1, 3, 224, 224)")
    size = tuple(int(d) for d in input_size)
    if len(size) != 4 or size[0] != 1 or size[1] != 3 or size[2] != size[3]:
        raise BenchError(f"input_size must be (1, 3, N, N) (batch 1, RGB, square), not {size}")
    _checked_resolution(size[-1])
    return TorchModule(module, size, name or type(module).__name__)


@dataclass(frozen=True)
class ExportOnly:
    """The place `bench export` asks for: one format, the precisions its exporter makes (it runs nothing)."""

    default_format: str
    default_precision: str
    supports: dict

    def check(self, fmt: str, precision: str) -> None:
        if precision not in self.supports.get(fmt, ()):
            raise UnsupportedFormat(f"format {fmt} has no precision '{precision}'; supported: "
                                    f"{', '.join(self.supports.get(fmt, ()))}")


def export_only(fmt: str) -> ExportOnly:
    from exporters.registry import get_exporter

    precisions = get_exporter(fmt).precisions  # an unknown format: one line naming the known ones
    return ExportOnly(fmt, precisions[0], {fmt: precisions})


def imported_subject(model: str, resolution: int, fmt: str, precision: str, *,
                     unknown_precision: bool = False) -> Subject:
    """What an import (a log, a result file, a farm job) says ran, checked like a run's: the format is known and the
    precision is one it has."""
    if not (unknown_precision and precision == "unknown"):
        export_only(fmt).check(fmt, precision)
    if resolution < 0:
        raise BenchError(f"--resolution must be positive (got {resolution})")
    return Subject(model=model, resolution=resolution, format=fmt, precision=precision)
