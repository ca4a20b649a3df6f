"""Exporters: turn an inference-ready torch model into the file a runtime loads (ONNX, Core ML, TFLite).

One registry (`register_exporter`), one door (`get_exporter`). Each exporter imports its converter lazily.
"""

from exporters.registry import Exporter, get_exporter, list_exporters, register_exporter

__all__ = ["Exporter", "get_exporter", "list_exporters", "register_exporter"]
