"""ONNX via torch.onnx.export(dynamo=True), checked against PyTorch on ONNX Runtime."""

from __future__ import annotations

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

        example = context["input"]
        with converter_output_captured():
            program = torch.onnx.export(
                model,
                (torch.from_numpy(example),),
                dynamo=True,
                opset_version=OPSET,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                verbose=False,
            )
            program.save(str(out_path), external_data=False)
        output = run_onnx(out_path, example)
        return {"parity": require_rel_l2(agreement(output, context["reference"]), FP32_REL_L2, "PyTorch fp32")}


def run_onnx(path, array):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: array})[0]
