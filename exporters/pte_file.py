"""The deployed graph inside a .pte file, read from the file itself: the program and each XNNPACK payload. It
gives the file's memory traffic (exporters/graph_traffic.py) and, for a .pte the user brings, what the exporter
knows of its own: precision, resolution, params, MACs and the delegated share.

A .pte is a flatbuffer program (ExecuTorch's program.fbs) whose delegated parts are opaque payloads; the XNNPACK
payload is a header and a second flatbuffer (the XNNPACK backend's schema.fbs) naming every tensor XNNPACK runs
(dims, datatype, constant or not) and every node with the tensor ids it reads and writes. Both are decoded with
the flatc and the schemas that the executorch wheel ships, the same pair ExecuTorch's own serializer uses, so the
reader follows the file format of the installed ExecuTorch and needs no torch import.

The header layouts are ExecuTorch's (exir/_serialize/_program.py `_ExtendedHeader`, XNNPACK's `XNNHeader`): both
keep their magic 4 bytes in, where a flatbuffer keeps its file identifier.
"""

from __future__ import annotations

import json
import math
import re
import struct
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from bench.core.errors import ArtifactError

_INVALID_ID = 0xFFFFFFFF  # XNN_INVALID_VALUE_ID: an optional input (a bias) left out
_FLATC_TIMEOUT_S = 120

# Bytes per element, by the name each schema gives the type (int4 types pack two to a byte).
_PROGRAM_ITEMSIZE = {
    "BYTE": 1, "CHAR": 1, "SHORT": 2, "INT": 4, "LONG": 8, "HALF": 2, "FLOAT": 4, "DOUBLE": 8, "BOOL": 1,
    "QINT8": 1, "QUINT8": 1, "QINT32": 4, "BFLOAT16": 2, "QUINT4X2": 1, "QUINT2X4": 1, "BITS16": 2,
    "FLOAT8E5M2": 1, "FLOAT8E4M3FN": 1, "FLOAT8E5M2FNUZ": 1, "FLOAT8E4M3FNUZ": 1,
    "UINT16": 2, "UINT32": 4, "UINT64": 8,
}
_XNN_ITEMSIZE = {
    "xnn_datatype_fp32": 4, "xnn_datatype_fp16": 2, "xnn_datatype_qint8": 1, "xnn_datatype_quint8": 1,
    "xnn_datatype_qint32": 4, "xnn_datatype_qcint8": 1, "xnn_datatype_qcint32": 4, "xnn_datatype_qcint4": 0.5,
    "xnn_datatype_qdint8": 1, "xnn_datatype_qbint4": 0.5, "xnn_datatype_qpint8": 1, "xnn_datatype_int32": 4,
    "xnn_datatype_pfp32": 4, "xnn_datatype_bf16": 2,
}


@dataclass(frozen=True)
class Tensor:
    nbytes: int
    constant: bool
    elements: int = 0
    dtype: str = ""  # the schema's name of the element type (FLOAT, xnn_datatype_qcint8, ...)


@dataclass(frozen=True)
class Operator:
    """One operator of the deployed graph: the tensors it reads and writes (a key per tensor of its graph)."""

    tensors: tuple
    macs: int = 0  # convolutions, fully connected and batched matrix products inside XNNPACK; 0 elsewhere
    kernel: str | None = None  # the ExecuTorch kernel's name ("aten::erf.out"); None for an XNNPACK node


@dataclass
class DeployedGraph:
    operators: list  # Operator, in the order they run
    tensors: dict  # key -> Tensor
    constant_bytes: int  # every constant the file holds for the graph, once (XNNPACK's packed weights included)
    input_sizes: list = field(default_factory=list)  # each program input's sizes (NCHW for an image model)
    delegate_calls: int = 0


def traffic(path: Path):
    """Memory traffic of the deployed graph (the convention: exporters/graph_traffic.py): XNNPACK's nodes and the
    kernels left to ExecuTorch, each reading its non-constant tensors and writing its outputs once; constants once."""
    from exporters.graph_traffic import Traffic

    graph = read_graph(Path(path))
    activations = sum(graph.tensors[key].nbytes for op in graph.operators for key in op.tensors
                      if not graph.tensors[key].constant)
    return Traffic(activation_bytes=int(activations), weight_bytes=int(graph.constant_bytes),
                   ops=len(graph.operators))


_INT8_WEIGHTS = {"xnn_datatype_qcint8", "xnn_datatype_qint8", "CHAR", "QINT8"}
_FP16_WEIGHTS = {"xnn_datatype_fp16", "HALF"}


def describe_pte(path: Path) -> dict:
    """Params, MACs, input resolution and precision of a .pte, read from its graph as for the other formats: params
    are the constant tensors' elements (filters and biases; quantization scales are not tensors of the graph), MACs
    those of XNNPACK's convolutions, fully connected layers and batched products, precision the weights' type."""
    graph = read_graph(Path(path))
    if len(graph.input_sizes) != 1 or len(graph.input_sizes[0]) != 4:
        raise ArtifactError(f"{Path(path).name}: expected one NCHW image input, found inputs {graph.input_sizes}")
    shape = graph.input_sizes[0]
    constants = [t for t in graph.tensors.values() if t.constant]
    dtypes = {t.dtype for t in constants}
    precision = "int8" if dtypes & _INT8_WEIGHTS else ("fp16" if dtypes & _FP16_WEIGHTS else "fp32")
    return {"params": sum(t.elements for t in constants), "macs": sum(op.macs for op in graph.operators),
            "input_shape": shape, "resolution": shape[2] if shape[1] == 3 else shape[-1], "precision": precision,
            "facts": {"delegation": delegation_of(graph)}}


def delegation_of(graph: DeployedGraph) -> dict:
    """What share of a file's operators XNNPACK runs, in the shape of the exporter's delegation facts
    (exporters/pte_graph.py) so that tables flag a partly delegated file and --require-full-delegation refuses it.
    Counted here on the file: XNNPACK's nodes against the kernels ExecuTorch runs itself (named as the program
    names them, "aten::erf.out")."""
    delegated = sum(1 for op in graph.operators if op.kernel is None)
    left: dict = {}
    for op in graph.operators:
        if op.kernel is not None:
            left[op.kernel] = left.get(op.kernel, 0) + 1
    total = delegated + sum(left.values())
    return {"backend": "XnnpackBackend", "delegated_ops": delegated, "total_ops": total,
            "share": round(delegated / total, 4) if total else 0.0, "subgraphs": graph.delegate_calls,
            "graph": "full" if total and not left else "partial", "not_delegated": left,
            "counted_on": "the file: XNNPACK nodes and ExecuTorch kernels"}


def read_graph(path: Path) -> DeployedGraph:
    """The operators and tensors of a .pte: every KernelCall of the program, and every node of each XNNPACK
    payload in place of the DelegateCall that runs it. Raises ArtifactError for a file that is not a .pte this
    ExecuTorch reads, or one that holds a delegate other than XNNPACK (its payload is another backend's format)."""
    try:
        return _read_graph(path)
    except (IndexError, KeyError, TypeError, struct.error, subprocess.TimeoutExpired) as exc:
        raise ArtifactError(f"{path.name}: a .pte this reader cannot follow ({type(exc).__name__}: {exc})") from None


def _read_graph(path: Path) -> DeployedGraph:
    data = _read(path)
    program_size, segment_base = _extended_header(data, path)
    program = _decode(data[:program_size], _shipped("exir/_serialize/program.fbs"), path)
    graph = DeployedGraph(operators=[], tensors={}, constant_bytes=0)
    named_seen: set = set()
    for plan_index, plan in enumerate(program.get("execution_plan", [])):
        values = plan.get("values", [])
        if plan.get("name") == "forward":
            graph.input_sizes = [values[i]["val"].get("sizes", []) for i in plan.get("inputs", [])
                                 if values[i].get("val_type") == "Tensor"]
        for chain in plan.get("chains", []):
            for instruction in chain.get("instructions", []):
                kind, args = instruction.get("instr_args_type"), instruction.get("instr_args", {})
                if kind == "KernelCall":
                    graph.operators.append(_kernel_call(args, values, plan_index, graph,
                                                        _kernel_name(plan["operators"][args["op_index"]])))
                elif kind == "DelegateCall":
                    graph.delegate_calls += 1
                    delegate = plan["delegates"][args["delegate_index"]]
                    payload = _delegate_payload(delegate, program, data, segment_base, path)
                    _add_xnnpack(payload, (plan_index, args["delegate_index"]), graph, named_seen, path)
    graph.constant_bytes += _program_constant_bytes(program)
    return graph


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ArtifactError(f"cannot read {path.name}: {exc.strerror or exc}") from None


def _extended_header(data: bytes, path: Path) -> tuple[int, int]:
    """(program size, segment base offset); a file without the extended header is all program, no segments."""
    if len(data) < 8 or data[4:6] != b"ET":
        raise ArtifactError(f"{path.name} is not an ExecuTorch program (.pte): no 'ET' file identifier")
    if data[8:12] != b"eh00" or len(data) < 32:
        return len(data), 0
    program_size, segment_base = struct.unpack_from("<QQ", data, 16)
    if not 0 < program_size <= len(data) or segment_base > len(data):
        raise ArtifactError(f"{path.name}: its header says {program_size} program bytes in a file of {len(data)}")
    return program_size, segment_base


def _kernel_name(operator: dict) -> str:
    overload = operator.get("overload")
    return operator.get("name", "?") + (f".{overload}" if overload else "")


def _kernel_call(args: dict, values: list, plan_index: int, graph: DeployedGraph, name: str) -> Operator:
    """A kernel ExecuTorch runs itself: its arguments are its inputs and its out= tensors alike, so every tensor
    argument is one read or one write."""
    keys = []
    for index in args.get("args", []):
        for tensor_index in _tensor_indices(values, index):
            key = ("program", plan_index, tensor_index)
            graph.tensors.setdefault(key, _program_tensor(values[tensor_index]["val"]))
            keys.append(key)
    return Operator(tuple(dict.fromkeys(keys)), kernel=name)


def _tensor_indices(values: list, index: int) -> list[int]:
    value = values[index]
    if value.get("val_type") == "Tensor":
        return [index]
    if value.get("val_type") in ("TensorList", "OptionalTensorList"):
        return [i for i in value["val"].get("items", []) if i >= 0 and values[i].get("val_type") == "Tensor"]
    return []


def _program_tensor(tensor: dict) -> Tensor:
    elements = math.prod(tensor.get("sizes", []))
    itemsize = _PROGRAM_ITEMSIZE.get(tensor.get("scalar_type"))
    if itemsize is None:
        raise ArtifactError(f"a tensor of scalar type {tensor.get('scalar_type')} this reader does not know")
    # A constant lives in the program's constant data (data_buffer_idx > 0) or in an external file; an activation
    # is memory-planned or a graph input.
    constant = tensor.get("data_buffer_idx", 0) > 0 or bool(tensor.get("extra_tensor_info"))
    return Tensor(nbytes=elements * itemsize, constant=constant, elements=elements, dtype=tensor["scalar_type"])


def _program_constant_bytes(program: dict) -> int:
    """The program's own constants (weights of kernels not delegated): the constant segment's tensors, or the
    flatbuffer's inline constant buffers in an older layout."""
    segment = program.get("constant_segment") or {}
    offsets = segment.get("offsets") or []
    segments = program.get("segments") or []
    if len(offsets) > 1 and segment.get("segment_index", -1) < len(segments):
        return segments[segment["segment_index"]]["size"]
    return sum(len(buffer.get("storage", [])) for buffer in program.get("constant_buffer") or [])


def _delegate_payload(delegate: dict, program: dict, data: bytes, segment_base: int, path: Path) -> bytes:
    if delegate.get("id") != "XnnpackBackend":
        raise ArtifactError(f"{path.name} holds a {delegate.get('id')} delegate, whose graph this reader cannot read "
                            f"(it reads XNNPACK's)")
    where = delegate["processed"]
    if where.get("location") == "SEGMENT":
        segment = program["segments"][where["index"]]
        start = segment_base + segment["offset"]
        return data[start:start + segment["size"]]
    return bytes(program["backend_delegate_data"][where["index"]]["data"])


def _add_xnnpack(payload: bytes, delegate_key: tuple, graph: DeployedGraph, named_seen: set, path: Path) -> None:
    """Every node of one XNNPACK payload; a constant shared by name between payloads counts once."""
    if payload[4:8] != b"XH00" or len(payload) < 30:
        raise ArtifactError(f"{path.name}: an XNNPACK payload without its header")
    flatbuffer_offset, flatbuffer_size = struct.unpack_from("<II", payload, 10)
    xnn = _decode(payload[flatbuffer_offset:flatbuffer_offset + flatbuffer_size],
                  _shipped("backends/xnnpack/serialization/schema.fbs"), path)
    dims = {}
    for value in xnn.get("xvalues", []):
        tensor = value["xvalue_union"]
        tensor = tensor.get("tensor_value", tensor)  # a quantized tensor wraps its plain description
        elements = math.prod(tensor.get("dims", []))
        constant = tensor.get("constant_buffer_idx", 0) > 0
        dims[tensor["id_out"]] = tensor.get("dims", [])
        graph.tensors[("xnnpack", delegate_key, tensor["id_out"])] = Tensor(
            nbytes=math.ceil(elements * _xnn_itemsize(tensor["datatype"])), constant=constant,
            elements=elements if constant else 0, dtype=tensor["datatype"])
    for node in xnn.get("xnodes", []):
        fields = node["xnode_union"]
        ids = [v for k, v in fields.items() if k.endswith("_id") and isinstance(v, int) and v != _INVALID_ID]
        graph.operators.append(Operator(tuple(dict.fromkeys(("xnnpack", delegate_key, i) for i in ids)),
                                        macs=_xnn_macs(node["xnode_union_type"], fields, dims)))
    for entry in xnn.get("constant_data", [])[1:]:  # entry 0 is reserved for "not a constant"
        name = entry.get("named_key") or (delegate_key, entry.get("offset"))
        if name not in named_seen:
            named_seen.add(name)
            graph.constant_bytes += entry.get("size", 0)


def _xnn_macs(kind: str, node: dict, dims: dict) -> int:
    """Multiply-accumulates of one XNNPACK node, by the convention of the ONNX and TFLite readers (output elements
    times the products each takes; a transposed convolution: input elements times what each feeds)."""
    out = math.prod(dims.get(node.get("output_id"), []) or [0])
    if kind in ("XNNConv2d", "XNNDepthwiseConv2d"):  # a depthwise node has one input channel per group
        return out * node["kernel_height"] * node["kernel_width"] * node["group_input_channels"]
    if kind == "XNNConvTranspose2d":
        taken = math.prod(dims.get(node["input1_id"], []) or [0])
        return taken * node["kernel_height"] * node["kernel_width"] * node["group_output_channels"]
    if kind in ("XNNFullyConnected", "XNNBatchMatrixMultiply"):  # the shared dimension is the first input's last
        return out * (dims.get(node["input1_id"]) or [0])[-1]
    return 0


def _xnn_itemsize(datatype: str) -> float:
    if datatype not in _XNN_ITEMSIZE:
        raise ArtifactError(f"an XNNPACK tensor of datatype {datatype} this reader does not know")
    return _XNN_ITEMSIZE[datatype]


def _shipped(relative: str) -> Path:
    """A file the executorch wheel ships (a schema, its flatc)."""
    try:
        import executorch
    except ImportError:
        raise ArtifactError("reading a .pte needs ExecuTorch: pip install 'mobile-latency-bench[executorch]'") from None
    for root in executorch.__path__:
        if (Path(root) / relative).is_file():
            return Path(root) / relative
    raise ArtifactError(f"this ExecuTorch has no {relative} to read a .pte with")


def _flatc() -> Path:
    return _shipped("data/bin/flatc")


def _decode(flatbuffer: bytes, schema: Path, path: Path) -> dict:
    """A flatbuffer as a dict, by flatc's JSON output for `schema`."""
    with tempfile.TemporaryDirectory(prefix="bench-pte-") as scratch:
        binary = Path(scratch) / "data.bin"
        binary.write_bytes(flatbuffer)
        done = subprocess.run([str(_flatc()), "--json", "--strict-json", "--defaults-json", "--raw-binary",
                               "-o", scratch, str(schema), "--", str(binary)],
                              capture_output=True, text=True, timeout=_FLATC_TIMEOUT_S)
        out = Path(scratch) / "data.json"
        if done.returncode != 0 or not out.is_file():
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise ArtifactError(f"{path.name}: flatc cannot read it with {schema.name}: {tail[0][:200]}")
        return json.loads(_finite_json(out.read_text()))


def _finite_json(text: str) -> str:
    """flatc writes non-finite floats (an unbounded clamp's output_max) as inf/nan, which JSON spells otherwise."""
    text = re.sub(r"(?<![\w.])(-?)inf(?![\w])", r"\1Infinity", text)
    return re.sub(r"(?<![\w.])nan(?![\w])", "NaN", text)
