"""Memory traffic of a deployed graph, one function per format.

The convention, the same for every format: one inference reads each operator's non-constant inputs once and
writes each of its outputs once (activation bytes, at the dtype the file stores the tensor in), and reads every
constant tensor (weights, biases, lookup tables) once for the whole graph, however many operators use it. Nothing
is assumed about caches or fusion beyond what the file's graph already holds: a runtime that fuses operators or
keeps activations on chip moves less, so this is a property of the graph, comparable between models of one format.
`ops` counts the graph's operators, constants excluded (ONNX Constant nodes, Core ML const ops).

A format registers its reader here by module name (imported only when a file of that format is read); a new
runtime adds one line to READERS and one function `traffic(path) -> Traffic`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

READERS = {
    "onnx": "exporters.onnx_graph:traffic",
    "tflite": "exporters.tflite_graph:traffic",
    "coreml": "exporters.coreml_export:traffic",
    "pte": "exporters.pte_file:traffic",
}


@dataclass(frozen=True)
class Traffic:
    activation_bytes: int  # every operator's non-constant inputs read + outputs written
    weight_bytes: int  # every constant tensor, once
    ops: int  # operators, constants excluded

    @property
    def total_bytes(self) -> int:
        return self.activation_bytes + self.weight_bytes

    def to_dict(self) -> dict:
        return {"memory_traffic": self.total_bytes, "activation_bytes": self.activation_bytes,
                "weight_bytes": self.weight_bytes, "graph_ops": self.ops}


def formats() -> list[str]:
    return sorted(READERS)


def graph_traffic(path: str | Path, fmt: str) -> Traffic:
    """The memory traffic of the graph in `path` (a file of format `fmt`). Raises KeyError for a format with no
    reader and ArtifactError for a file that cannot be read."""
    module, name = READERS[fmt].split(":")
    return getattr(importlib.import_module(module), name)(Path(path))


def traffic_if_known(path: str | Path, fmt: str) -> Traffic | None:
    """The graph's traffic, or None for a format no reader knows yet or a graph the reader cannot follow: an
    export or a run never fails for want of this figure."""
    from bench.core.errors import ArtifactError

    if fmt not in READERS:
        return None
    try:
        return graph_traffic(path, fmt)
    except (ArtifactError, KeyError, ValueError):
        return None
