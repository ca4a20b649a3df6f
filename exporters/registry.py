"""Exporter registry. Formats and precisions are declared here so the CLI never switches on names."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bench.core.registry import Registry

EXPORTERS: Registry["Exporter"] = Registry(
    "format",
    modules=("exporters.onnx_export", "exporters.coreml_export", "exporters.tflite_export", "exporters.pte_export"),
)


@dataclass(frozen=True)
class ExportRequest:
    model: str
    resolution: int
    format: str
    precision: str
    input_kind: str = "tensor"  # "tensor" or "image" (Core ML only)
    representative: str = "synthetic"  # int8's representative data, described: "synthetic" or the images' content
    # Where the representative images are. Not part of the cache key: their content is, in `representative`.
    representative_dir: str | None = field(default=None, compare=False)
    content: str = ""  # an in-memory module's content hash (bench.measure); empty for zoo models


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

    def describe(self, path: Path) -> dict:
        """Facts of a file in this format, counted from its graph: params, macs, resolution, precision.
        Raises ArtifactError when the file cannot be read."""
        raise NotImplementedError


def register_exporter(cls):
    instance = cls()
    EXPORTERS.register(instance.format, instance)
    return cls


def get_exporter(fmt: str) -> Exporter:
    return EXPORTERS.get(fmt)


def list_exporters() -> list[Exporter]:
    return EXPORTERS.entries()


def exporter_for_suffix(suffix: str) -> Exporter | None:
    """The exporter whose artifacts end in `suffix` (.onnx, .tflite, .mlpackage), or None."""
    return next((e for e in EXPORTERS.entries() if e.suffix == suffix.lower()), None)


def known_suffixes() -> list[str]:
    return sorted(e.suffix for e in EXPORTERS.entries())
