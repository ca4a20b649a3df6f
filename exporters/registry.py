"""Exporter registry. Formats and precisions are declared here so the CLI never switches on names."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from bench.errors import UnknownChoice, UnsupportedFormat

_EXPORTER_MODULES = ("exporters.onnx_export", "exporters.coreml_export", "exporters.tflite_export")


@dataclass(frozen=True)
class ExportRequest:
    model: str
    resolution: int
    format: str
    precision: str
    input_kind: str = "tensor"  # "tensor" or "image" (Core ML only)
    calibration: str = "synthetic"  # INT8 calibration source (a description that changes the cache key)


class Exporter:
    """Base class. Subclasses set `format`, `precisions`, `suffix`, and implement `export`."""

    format: str = ""
    precisions: tuple[str, ...] = ()
    input_kinds: tuple[str, ...] = ("tensor",)
    suffix: str = ""
    version: str = "1"  # bump when the exporter's output changes, so cached artifacts are rebuilt

    def tool_versions(self) -> dict:
        raise NotImplementedError

    def export(self, model, request: ExportRequest, out_path, context: dict) -> dict:
        """Write the artifact at `out_path`; return facts (parity, spec facts) for the record.

        `context` carries the fixed parity input and the torch reference output."""
        raise NotImplementedError

    def check(self, request: ExportRequest) -> None:
        if request.precision not in self.precisions:
            raise UnsupportedFormat(
                f"format {self.format} has no precision '{request.precision}'; "
                f"supported: {', '.join(self.precisions)}"
            )
        if request.input_kind not in self.input_kinds:
            raise UnsupportedFormat(
                f"format {self.format} has no input kind '{request.input_kind}'; "
                f"supported: {', '.join(self.input_kinds)}"
            )


_REGISTRY: dict[str, Exporter] = {}
_loaded = False


def register_exporter(cls):
    instance = cls()
    _REGISTRY[instance.format] = instance
    return cls


def _load() -> None:
    global _loaded
    if not _loaded:
        for module in _EXPORTER_MODULES:
            importlib.import_module(module)
        _loaded = True


def get_exporter(fmt: str) -> Exporter:
    _load()
    try:
        return _REGISTRY[fmt]
    except KeyError:
        raise UnknownChoice("format", fmt, _REGISTRY) from None


def list_exporters() -> list[Exporter]:
    _load()
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]
