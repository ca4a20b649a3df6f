"""Core ML MLProgram (FP16 compute, iOS 16+) via coremltools' torch.jit.trace path.

The trace path gives a float16 input with no cast op; the MobileNetV4 paper feeds float16 MultiArrays to keep
input copies out of the timing. `--input image` gives a BGR image input as Apple's ModelBench feeds (a BGRA pixel
buffer). After saving, the spec is read back and its facts checked. Prediction cannot run off Apple platforms.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.core.errors import ArtifactError, ExportError
from exporters.quiet import converter_output_captured
from exporters.registry import Exporter, register_exporter
from exporters.versions import package_versions

INPUT_NAME = "input"
OUTPUT_NAME = "output"
MIN_SPEC_VERSION = 7  # Core ML 6 / iOS 16: float16 multiarray inputs


@register_exporter
class CoremlExporter(Exporter):
    format = "coreml"
    precisions = ("fp16",)
    input_kinds = ("tensor", "image")
    suffix = ".mlpackage"
    version = "1"

    def tool_versions(self) -> dict:
        return package_versions("torch", "coremltools")

    def describe(self, path):
        facts = read_spec_facts(path)
        return {"precision": facts.get("precision", "fp16"), "resolution": facts["input_shape"][-1]}

    def export(self, model, request, out_path, context) -> dict:
        import torch

        with converter_output_captured():
            import coremltools as ct

            example = torch.from_numpy(context["input"])
            traced = torch.jit.trace(model.eval(), example)
            shape = tuple(example.shape)
            if request.input_kind == "image":
                inputs = [ct.ImageType(name=INPUT_NAME, shape=shape, color_layout=ct.colorlayout.BGR, scale=1 / 255.0)]
            else:
                inputs = [ct.TensorType(name=INPUT_NAME, shape=shape, dtype=np.float16)]
            mlmodel = ct.convert(
                traced,
                inputs=inputs,
                outputs=[ct.TensorType(name=OUTPUT_NAME, dtype=np.float16)],
                convert_to="mlprogram",
                compute_precision=ct.precision.FLOAT16,
                minimum_deployment_target=ct.target.iOS16,
            )
            mlmodel.save(str(out_path))
        facts = read_spec_facts(out_path)
        expected = "image" if request.input_kind == "image" else "float16"
        problems = []
        if facts["model_type"] != "mlProgram":
            problems.append(f"model type {facts['model_type']}, expected mlProgram")
        if facts["input_type"] != expected:
            problems.append(f"input type {facts['input_type']}, expected {expected}")
        if list(facts["input_shape"]) != list(shape):
            problems.append(f"input shape {facts['input_shape']}, expected {list(shape)}")
        if facts["weight_dtype"] != "float16":
            problems.append(f"weights stored as {facts['weight_dtype']}, expected float16")
        if facts["spec_version"] < MIN_SPEC_VERSION:
            problems.append(f"spec version {facts['spec_version']} is below iOS 16's {MIN_SPEC_VERSION}")
        if problems:
            raise ExportError(f"Core ML package {out_path.name} failed its spec check: {'; '.join(problems)}")
        # No Core ML runtime off Apple platforms: the spec check stands in for numeric parity here.
        return {"parity": {"checked": "spec", "numeric": "not run (Core ML predicts only on Apple platforms)"},
                "coreml_spec": facts}


def read_spec_facts(path) -> dict:
    """Model type, spec version, input type/shape and the dtype most weight bytes are stored in."""
    with converter_output_captured():
        try:
            import coremltools as ct
        except ImportError as exc:
            raise ArtifactError(f"reading {Path(path).name} needs coremltools ({exc}); pip install '.[coreml]'") from None
        try:
            spec = ct.utils.load_spec(str(path))
        except Exception as exc:
            raise ArtifactError(f"{path} is not a readable Core ML package ({str(exc).strip()[:200]})") from None
    model_type = spec.WhichOneof("Type")
    first = spec.description.input[0]
    kind = first.type.WhichOneof("Type")
    if kind == "imageType":
        input_type = "image"
        img = first.type.imageType
        input_shape = [1, 3, int(img.height), int(img.width)]
    else:
        array = first.type.multiArrayType
        input_type = {65552: "float16", 65568: "float32", 131104: "int32"}.get(array.dataType, str(array.dataType))
        input_shape = [int(d) for d in array.shape]
    bytes_by_dtype: dict[str, int] = {}
    if model_type == "mlProgram":
        for function in spec.mlProgram.functions.values():
            for block in function.block_specializations.values():
                for op in block.operations:
                    if op.type != "const":
                        continue
                    for value in op.attributes.values():
                        tensor = value.type.tensorType
                        count = int(np.prod([d.constant.size for d in tensor.dimensions])) if tensor.dimensions else 1
                        if count < 16:  # scalars and small shape constants say nothing about weight storage
                            continue
                        dtype = {10: "float16", 13: "float32", 12: "bfloat16"}.get(tensor.dataType, str(tensor.dataType))
                        bytes_by_dtype[dtype] = bytes_by_dtype.get(dtype, 0) + count
    weight_dtype = max(bytes_by_dtype, key=bytes_by_dtype.get) if bytes_by_dtype else "unknown"
    return {
        "model_type": model_type,
        "spec_version": int(spec.specificationVersion),
        "input_name": first.name,
        "input_type": input_type,
        "input_shape": input_shape,
        "output_name": spec.description.output[0].name,
        "weight_dtype": weight_dtype,
        "weight_elements_by_dtype": bytes_by_dtype,
        "precision": "fp16" if weight_dtype == "float16" else weight_dtype,
    }
