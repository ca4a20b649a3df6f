"""ONNX via torch.onnx.export(dynamo=True), checked against PyTorch on ONNX Runtime.

A model the dynamo exporter cannot convert (a decomposition bug: timm's BEiT attention in torch 2.14 fails "Cannot
view a tensor ... as ...") is exported again by torch's TorchScript exporter, which traces the same module; the
artifact's facts say which exporter made it and why, and the parity check judges it like any other. Only when both
fail is the export refused, in one line naming both reasons.
"""

from __future__ import annotations

import re

from bench.core.errors import ExportError, first_line
from exporters.quiet import converter_output_captured
from exporters.parity import FP32_REL_L2, agreement, require_rel_l2
from exporters.registry import Exporter, register_exporter
from exporters.versions import package_versions

INPUT_NAME = "input"
OUTPUT_NAME = "output"
OPSET = 18


@register_exporter
class OnnxExporter(Exporter):
    format = "onnx"
    precisions = ("fp32",)
    suffix = ".onnx"
    version = "1"

    def tool_versions(self) -> dict:
        return package_versions("torch", "onnx", "onnxscript", "onnxruntime")

    def describe(self, path):
        from exporters.onnx_graph import describe_onnx

        return describe_onnx(path)

    def export(self, model, request, out_path, context) -> dict:
        import torch

        example = (torch.from_numpy(context["input"]),)
        facts = {}
        with converter_output_captured():
            try:
                program = torch.onnx.export(model, example, dynamo=True, opset_version=OPSET, verbose=False,
                                            input_names=[INPUT_NAME], output_names=[OUTPUT_NAME])
                program.save(str(out_path), external_data=False)
            except torch.onnx.OnnxExporterError as exc:
                dynamo_failed = _reason(exc)
                _torchscript_export(model, example, out_path, request.model, dynamo_failed)
                facts["onnx_exporter"] = {"exporter": "torchscript", "dynamo_failed": dynamo_failed}
        output = run_onnx(out_path, context["input"])
        return {**facts,
                "parity": require_rel_l2(agreement(output, context["reference"]), FP32_REL_L2, "PyTorch fp32")}


def _torchscript_export(model, example, out_path, name: str, dynamo_failed: str) -> None:
    import torch

    try:
        torch.onnx.export(model, example, str(out_path), dynamo=False, opset_version=OPSET,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME])
    except Exception as exc:  # noqa: BLE001 - the last resort: any failure of the tracer is the refusal's reason
        raise ExportError(f"torch.onnx cannot export {name}: the dynamo exporter failed ({dynamo_failed}) and the "
                          f"TorchScript exporter failed ({first_line(exc)})") from None


def _reason(exc: BaseException) -> str:
    """The cause torch.onnx wraps in its multi-paragraph report ("## Exception summary"), as one line."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    summary = text.split("## Exception summary", 1)[-1] if "## Exception summary" in text else text
    return first_line(Exception(re.sub(r"^<class '[\w.]+'>: ", "", summary.strip())))


def run_onnx(path, array):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: array})[0]
