"""Params, MACs and input facts of a .tflite file, read through the LiteRT interpreter's graph description."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench.core.errors import ArtifactError


def _interpreter(path: Path):
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as exc:  # pragma: no cover - the tflite extra is missing
        raise ArtifactError(f"reading {path.name} needs ai-edge-litert ({exc}); pip install '.[tflite]'") from None
    from exporters.quiet import converter_output_captured

    try:
        # LiteRT's native "Created ... delegate" line goes to the debug log, not the user's terminal. (Without the
        # default delegates the reference kernels add scratch tensors that would be counted as weights.)
        with converter_output_captured():
            interpreter = Interpreter(model_path=str(path))
            interpreter.allocate_tensors()
        return interpreter
    except (ValueError, RuntimeError) as exc:
        raise ArtifactError(f"{path} is not a valid TFLite model: {str(exc).strip().splitlines()[0][:200]}") from None


def _op_macs(op: dict, shapes: dict[int, tuple]) -> int:
    name, inputs, outputs = op["op_name"], list(op["inputs"]), list(op["outputs"])
    if not outputs or len(inputs) < 2:
        return 0
    out = int(np.prod(shapes.get(outputs[0], ()), dtype=np.int64))
    weight = shapes.get(inputs[1], ())
    if name == "CONV_2D" and len(weight) == 4:  # (O, kh, kw, I)
        return out * weight[1] * weight[2] * weight[3]
    if name == "DEPTHWISE_CONV_2D" and len(weight) == 4:  # (1, kh, kw, O)
        return out * weight[1] * weight[2]
    if name == "FULLY_CONNECTED" and len(weight) == 2:  # (O, K)
        return out * weight[1]
    if name == "BATCH_MATMUL":
        a = shapes.get(inputs[0], ())
        return out * a[-1] if a else 0
    return 0


def describe_tflite(path: Path) -> dict:
    interpreter = _interpreter(Path(path))
    tensors = interpreter.get_tensor_details()
    shapes = {t["index"]: tuple(int(d) for d in t["shape"]) for t in tensors}
    ops = interpreter._get_ops_details()  # the interpreter's only public view of the graph's operators
    produced = {i for op in ops for i in op["outputs"]}
    graph_inputs = {d["index"] for d in interpreter.get_input_details()}
    params = 0
    for t in tensors:
        if t["index"] in produced or t["index"] in graph_inputs:
            continue
        count = int(np.prod(shapes[t["index"]], dtype=np.int64))
        if np.issubdtype(np.dtype(t["dtype"]), np.integer) and count <= 8:
            continue  # shapes, axes, permutations: not parameters
        params += count
    detail = interpreter.get_input_details()[0]
    shape = [int(d) for d in detail["shape"]]
    if len(shape) != 4:
        raise ArtifactError(f"{Path(path).name}: expected one image input, found input shape {shape}")
    resolution = shape[2] if shape[1] == 3 else shape[1]
    dtypes = {str(np.dtype(t["dtype"])) for t in tensors}
    input_dtype = np.dtype(detail["dtype"])
    precision = "int8" if np.issubdtype(input_dtype, np.integer) else ("fp16" if "float16" in dtypes else "fp32")
    return {
        "params": params,
        "macs": int(sum(_op_macs(op, shapes) for op in ops)),
        "input_shape": shape,
        "resolution": resolution,
        "precision": precision,
    }


def traffic(path: Path):
    """Memory traffic of the graph (the convention: exporters/graph_traffic.py). A tensor no operator produces and
    that is not a graph input is a constant: counted once, and only if an operator reads it."""
    from exporters.graph_traffic import Traffic

    interpreter = _interpreter(Path(path))
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    ops = interpreter._get_ops_details()  # the interpreter's only public view of the graph's operators
    produced = {i for op in ops for i in op["outputs"]}
    graph_inputs = {d["index"] for d in interpreter.get_input_details()}

    def nbytes(index: int) -> int:
        t = tensors[index]
        return int(np.prod(t["shape"], dtype=np.int64)) * np.dtype(t["dtype"]).itemsize

    def constant(index: int) -> bool:
        return index not in produced and index not in graph_inputs

    activations, weights = 0, set()
    for op in ops:
        for i in op["inputs"]:
            if i < 0 or i not in tensors:  # an omitted optional input
                continue
            if constant(i):
                weights.add(i)
            else:
                activations += nbytes(i)
        activations += sum(nbytes(i) for i in op["outputs"] if i in tensors)
    return Traffic(activation_bytes=int(activations), weight_bytes=int(sum(nbytes(i) for i in weights)), ops=len(ops))
