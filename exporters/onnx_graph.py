"""Per-layer facts of an exported graph: MACs, weight bytes, activation bytes.

Counting from the artifact gives params and MACs for models we did not build (a user's .onnx), and the per-layer
table is what the roofline model sums over. Only layers that multiply-accumulate carry MACs (Conv, ConvTranspose,
Gemm, MatMul), matching how torch's FlopCounterMode counts the zoo models.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.core.errors import ArtifactError


@dataclass
class Layer:
    name: str
    op: str
    macs: int
    weight_bytes: int
    activation_bytes: int  # inputs read + outputs written, excluding weights

    @property
    def bytes(self) -> int:
        return self.weight_bytes + self.activation_bytes

    @property
    def intensity(self) -> float:
        """Operational intensity in MACs per byte moved."""
        return self.macs / self.bytes if self.bytes else 0.0


_ONNX_ITEMSIZE = {1: 4, 2: 1, 3: 1, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2}
_FLOAT_TYPES = {1, 10, 11, 16}


def _load_onnx(path: Path):
    try:
        import onnx
        from onnx import shape_inference
    except ImportError as exc:  # pragma: no cover - the onnx extra is missing
        raise ArtifactError(f"reading {path.name} needs the onnx package ({exc}); pip install '.[onnx]'") from None
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
        return shape_inference.infer_shapes(model, data_prop=True)
    except Exception as exc:  # onnx raises many unrelated types for a bad file
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArtifactError(f"{path} is not a valid ONNX model: {first_line[:200]}") from None


def onnx_layers(path: str | Path) -> tuple[list[Layer], dict]:
    """Layers of an ONNX graph with shapes inferred, plus graph facts (params, input shape, precision)."""
    layers, facts, _ = _read_graph(Path(path))
    return layers, facts


def traffic(path: Path):
    """Memory traffic of the graph (the convention: exporters/graph_traffic.py). The per-layer bytes are the
    roofline's; Constant nodes are data, so their outputs count once with the initializers and not as operators."""
    from exporters.graph_traffic import Traffic

    layers, _, constant_bytes = _read_graph(Path(path))
    ops = [layer for layer in layers if layer.op != "Constant"]
    return Traffic(activation_bytes=sum(layer.activation_bytes for layer in ops), weight_bytes=constant_bytes,
                   ops=len(ops))


def _read_graph(path: Path) -> tuple[list[Layer], dict, int]:
    """Layers, graph facts, and the bytes of all constants (initializers and Constant nodes' tensors) counted once.
    An operator's constant inputs are its weight bytes, its other inputs and its outputs its activation bytes."""
    model = _load_onnx(path)
    graph = model.graph
    inits = {t.name: t for t in graph.initializer}
    shapes: dict[str, tuple[tuple[int, ...], int]] = {}
    for vi in list(graph.input) + list(graph.value_info) + list(graph.output):
        tt = vi.type.tensor_type
        dims = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in tt.shape.dim)
        shapes[vi.name] = (dims, tt.elem_type)
    for t in graph.initializer:
        shapes[t.name] = (tuple(t.dims), t.data_type)

    def nbytes(name: str) -> int:
        if name not in shapes:
            return 0
        dims, dtype = shapes[name]
        return int(np.prod(dims, dtype=np.int64)) * _ONNX_ITEMSIZE.get(dtype, 4)

    constants = set(inits) | {out for node in graph.node if node.op_type == "Constant" for out in node.output}
    layers = []
    for i, node in enumerate(graph.node):
        macs = _onnx_node_macs(node, shapes)
        weights = sum(nbytes(n) for n in node.input if n in constants)
        acts = sum(nbytes(n) for n in node.input if n and n not in constants) + sum(nbytes(n) for n in node.output)
        layers.append(Layer(node.name or f"{node.op_type}_{i}", node.op_type, macs, weights, acts))

    params = sum(int(np.prod(t.dims, dtype=np.int64)) for t in graph.initializer if t.data_type in _FLOAT_TYPES)
    real_inputs = [vi for vi in graph.input if vi.name not in inits]
    in_dims, in_type = shapes[real_inputs[0].name] if real_inputs else ((), 1)
    facts = {
        "params": int(params),
        "macs": int(sum(layer.macs for layer in layers)),
        "input_shape": list(in_dims),
        "precision": {10: "fp16", 3: "int8", 2: "int8"}.get(in_type, "fp32"),
    }
    return layers, facts, sum(nbytes(name) for name in constants)


def _onnx_node_macs(node, shapes) -> int:
    def dims(name):
        return shapes.get(name, ((), 0))[0]

    op = node.op_type
    if op in ("Conv", "ConvTranspose") and len(node.input) >= 2:
        w = dims(node.input[1])
        out = dims(node.output[0])
        if not w or not out:
            return 0
        kernel = int(np.prod(w[2:], dtype=np.int64))
        if op == "Conv":  # weight (Cout, Cin/groups, kh, kw): each output element takes Cin/groups * kh * kw MACs
            return int(np.prod(out, dtype=np.int64)) * w[1] * kernel
        inp = dims(node.input[0])  # weight (Cin, Cout/groups, kh, kw): each input element feeds Cout/groups * k
        return int(np.prod(inp, dtype=np.int64)) * w[1] * kernel if inp else 0
    if op in ("Gemm", "MatMul"):
        a = dims(node.input[0])
        out = dims(node.output[0])
        if not a or not out:
            return 0
        k = a[0] if op == "Gemm" and any(a.name == "transA" and a.i for a in node.attribute) else a[-1]
        return int(np.prod(out, dtype=np.int64)) * k
    return 0


def describe_onnx(path: Path) -> dict:
    """Params, MACs, input resolution and precision of an .onnx file (raises ArtifactError if unreadable)."""
    _, facts = onnx_layers(path)
    shape = facts["input_shape"]
    if len(shape) != 4:
        raise ArtifactError(f"{path.name}: expected one NCHW image input, found input shape {shape}")
    return {**facts, "resolution": int(shape[-1])}
