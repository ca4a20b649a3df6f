"""Core ML MLProgram (FP16 compute, iOS 16+) via coremltools' torch.jit.trace path.

The trace path gives a float16 input with no cast op; the MobileNetV4 paper feeds float16 MultiArrays to keep
input copies out of the timing. `--input image` gives a BGR image input as Apple's ModelBench feeds (a BGRA pixel
buffer). After saving, the spec is read back and its facts checked. Prediction cannot run off Apple platforms.

`describe` (a user's `--model x.mlpackage`, e.g. on a Mac with the core install) needs no coremltools: it reads the
package itself (`read_package`: Manifest.json, the spec's protobuf fields it needs, the weight blobs' headers), and
every export checks that reader against coremltools' own.
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
        facts = read_package(path)
        return {"precision": facts["precision"], "resolution": facts["resolution"], "coreml_inputs": facts["inputs"]}

    def export(self, model, request, out_path, context) -> dict:
        import torch

        with converter_output_captured():
            ct = import_coremltools()
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
        problems += _reader_disagreements(facts, read_package(out_path))
        if problems:
            raise ExportError(f"Core ML package {out_path.name} failed its spec check: {'; '.join(problems)}")
        # No Core ML runtime off Apple platforms: the spec check stands in for numeric parity here.
        return {"parity": {"checked": "spec", "numeric": "not run (Core ML predicts only on Apple platforms)"},
                "coreml_spec": facts}


def _reader_disagreements(coremltools_facts: dict, ours: dict) -> list[str]:
    """describe() reads packages without coremltools; every export proves that reader right on the fresh package."""
    first = ours["inputs"][0] if ours["inputs"] else {}
    theirs = (coremltools_facts["spec_version"], coremltools_facts["input_name"], coremltools_facts["input_type"],
              list(coremltools_facts["input_shape"]), coremltools_facts["precision"])
    mine = (ours["spec_version"], first.get("name"), first.get("type"), first.get("shape"), ours["precision"])
    return [] if theirs == mine else [f"the package reader says {mine}, coremltools says {theirs}"]


def import_coremltools():
    """coremltools imports tensorflow whenever it is installed, to offer TensorFlow converters bench never calls
    (it converts TensorFlow models with TensorFlow's own converter, in a subprocess). Loading it here cost about 8 s
    and 650 MB per process (`import torch; import coremltools` with and without it), so tensorflow is hidden while
    coremltools loads (it then records "no TensorFlow" and never asks again). The two no longer crash together
    (setup.py: TensorFlow loads with RTLD_LOCAL), so this is about cost only."""
    import sys

    if "coremltools" in sys.modules:
        return sys.modules["coremltools"]
    hide = "tensorflow" not in sys.modules
    if hide:
        sys.modules["tensorflow"] = None  # makes `import tensorflow` raise ImportError
    try:
        import coremltools
    finally:
        if hide and sys.modules.get("tensorflow", False) is None:
            del sys.modules["tensorflow"]
    return coremltools


def read_spec_facts(path) -> dict:
    """Model type, spec version, input type/shape and the dtype most weight bytes are stored in."""
    with converter_output_captured():
        try:
            ct = import_coremltools()
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


# ---------------------------------------------------------------- reading a package without coremltools
# Field numbers from coremltools' Model.proto / FeatureTypes.proto (coremltools 9.0's generated descriptors):
# Model{specificationVersion=1, description=2, mlProgram=502}; ModelDescription{input=1};
# FeatureDescription{name=1, type=3}; FeatureType{imageType=4, multiArrayType=5};
# ArrayFeatureType{shape=1 (repeated int64), dataType=2}; ImageFeatureType{width=1, height=2}.
# Weight blobs (coremltools mlmodel/src/MILBlob/Blob/StorageFormat.hpp): a 64-byte header (uint32 count, uint32
# version 2), then per blob 64-byte metadata (uint32 sentinel 0xDEADBEEF, uint32 dtype, uint64 size, uint64 offset).
ARRAY_DTYPES = {65552: "float16", 65568: "float32", 65600: "float64", 131104: "int32", 131080: "int8"}
BLOB_DTYPES = {1: "float16", 2: "float32", 3: "uint8", 4: "int8", 5: "bfloat16"}
BLOB_SENTINEL = 0xDEADBEEF


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if i >= len(buf) or shift > 63:
            raise ValueError("truncated varint")
        byte = buf[i]
        value |= (byte & 0x7F) << shift
        i, shift = i + 1, shift + 7
        if not byte & 0x80:
            return value, i


def _fields(buf: bytes) -> dict[int, list]:
    """Protobuf wire format -> {field number: [values]}: ints for varints, bytes for length-delimited fields."""
    out: dict[int, list] = {}
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 2:
            size, i = _varint(buf, i)
            value, i = buf[i:i + size], i + size
            if i > len(buf):
                raise ValueError("truncated field")
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            value, i = int.from_bytes(buf[i:i + width], "little"), i + width
        else:
            raise ValueError(f"unsupported wire type {wire}")
        out.setdefault(number, []).append(value)
    return out


def _packed_ints(values: list) -> list[int]:
    ints = []
    for v in values:  # repeated int64: packed (bytes) or one varint per element
        if isinstance(v, bytes):
            i = 0
            while i < len(v):
                n, i = _varint(v, i)
                ints.append(n)
        else:
            ints.append(v)
    return ints


def _input_facts(raw: bytes) -> dict:
    feature = _fields(raw)
    name = feature.get(1, [b""])[0].decode(errors="replace")
    kind = _fields(feature.get(3, [b""])[0])
    if 4 in kind:
        image = _fields(kind[4][0])
        height, width = image.get(2, [0])[0], image.get(1, [0])[0]
        return {"name": name, "type": "image", "shape": [1, 3, height, width]}
    if 5 in kind:
        array = _fields(kind[5][0])
        dtype = array.get(2, [0])[0]
        return {"name": name, "type": ARRAY_DTYPES.get(dtype, str(dtype)), "shape": _packed_ints(array.get(1, []))}
    return {"name": name, "type": "other", "shape": []}


def _blob_bytes(weights_dir: Path) -> dict[str, int]:
    by_dtype: dict[str, int] = {}
    for blob in sorted(weights_dir.glob("*.bin")) if weights_dir.is_dir() else []:
        data = blob.read_bytes()
        count = int.from_bytes(data[0:4], "little")
        offset = 64
        for _ in range(count):
            sentinel, dtype = (int.from_bytes(data[offset + k:offset + k + 4], "little") for k in (0, 4))
            size, start = (int.from_bytes(data[offset + k:offset + k + 8], "little") for k in (8, 16))
            if sentinel != BLOB_SENTINEL or start + size > len(data):
                raise ValueError(f"{blob.name}: blob metadata at {offset} is not valid")
            name = BLOB_DTYPES.get(dtype, f"dtype {dtype}")
            by_dtype[name] = by_dtype.get(name, 0) + size
            offset = (start + size + 63) // 64 * 64
    return by_dtype


def read_package(path) -> dict:
    """Spec version, model type, every input (name, type, shape), weight bytes by dtype, precision and resolution,
    read from the .mlpackage's own files. Raises ArtifactError when it is not a readable package."""
    import json

    root = Path(path)
    try:
        manifest = json.loads((root / "Manifest.json").read_text())
        items = manifest["itemInfoEntries"]
        model_file = root / "Data" / items[manifest["rootModelIdentifier"]]["path"]
        spec = _fields(model_file.read_bytes())
        inputs = [_input_facts(raw) for raw in _fields(spec.get(2, [b""])[0]).get(1, [])]
        weights = {}
        for item in items.values():
            if item.get("name") == "weights":
                for dtype, size in _blob_bytes(root / "Data" / item["path"]).items():
                    weights[dtype] = weights.get(dtype, 0) + size
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ArtifactError(f"{root} is not a readable Core ML package ({exc})") from None
    if not inputs:
        raise ArtifactError(f"{root} declares no inputs")
    main = next((i for i in inputs if len(i["shape"]) == 4), inputs[0])
    weight_dtype = max(weights, key=weights.get) if weights else "unknown"
    return {
        "spec_version": spec.get(1, [0])[0],
        "model_type": "mlProgram" if 502 in spec else "not an ML program",
        "inputs": inputs,
        "weight_bytes_by_dtype": weights,
        "precision": "fp16" if weight_dtype == "float16" else weight_dtype,
        "resolution": main["shape"][-1] if main["shape"] else None,
    }


# ---------------------------------------------------------------- graph facts: memory traffic of the ML program
_MIL_ITEMSIZE = {1: 1, 10: 2, 11: 4, 12: 8, 13: 2, 21: 1, 22: 2, 23: 4, 24: 8, 31: 1, 32: 2, 33: 4, 34: 8}


def traffic(path):
    """Memory traffic of the ML program's main function (the convention: exporters/graph_traffic.py): const ops
    are the weights, each counted once; every other op reads its non-const inputs and writes its outputs."""
    from exporters.graph_traffic import Traffic

    with converter_output_captured():
        try:
            spec = import_coremltools().utils.load_spec(str(path))
        except ImportError as exc:
            raise ArtifactError(f"reading {Path(path).name} needs coremltools ({exc}); pip install '.[coreml]'") from None
        except Exception as exc:
            raise ArtifactError(f"{path} is not a readable Core ML package ({str(exc).strip()[:200]})") from None
    if spec.WhichOneof("Type") != "mlProgram":
        raise ArtifactError(f"{Path(path).name} is not an ML program; memory traffic is read from ML programs only")
    function = spec.mlProgram.functions["main"]
    operations = function.block_specializations[function.opset].operations
    sizes = {i.name: _mil_bytes(i.type) for i in function.inputs}
    constants, activations, ops = set(), 0, 0
    for op in operations:
        for out in op.outputs:
            sizes[out.name] = _mil_bytes(out.type)
        if op.type == "const":
            constants.update(out.name for out in op.outputs)
            continue
        ops += 1
        names = [a.name for arg in op.inputs.values() for a in arg.arguments if a.name]
        activations += sum(sizes.get(n, 0) for n in names if n not in constants)
        activations += sum(sizes[out.name] for out in op.outputs)
    return Traffic(activation_bytes=activations, weight_bytes=sum(sizes[n] for n in constants), ops=ops)


def _mil_bytes(value_type) -> int:
    if value_type.WhichOneof("type") != "tensorType":
        return 0
    tensor = value_type.tensorType
    count = 1
    for dim in tensor.dimensions:
        count *= dim.constant.size if dim.WhichOneof("dimension") == "constant" else 1
    return count * _MIL_ITEMSIZE.get(tensor.dataType, 4)
