"""Memory traffic of the deployed graph: by hand on a tiny ONNX graph, then on real exports in every format."""

import numpy as np
import pytest

from bench.core.record import Subject
from exporters.graph_traffic import READERS, graph_traffic, traffic_if_known


@pytest.fixture
def shared_weight_onnx(tmp_path):
    """x(1,2,4,4) -> Conv(w) -> Relu -> Conv(w again) -> y: one weight read by two operators, and a Constant."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((2, 2, 3, 3), np.float32), "w")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["a"], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Relu", ["a"], ["r"], name="relu"),
        helper.make_node("Constant", [], ["k"], value=numpy_helper.from_array(np.full((1, 2, 4, 4), 2, np.float32))),
        helper.make_node("Mul", ["r", "k"], ["m"], name="scale"),
        helper.make_node("Conv", ["m", "w"], ["y"], pads=[1, 1, 1, 1], name="conv2"),
    ]
    graph = helper.make_graph(nodes, "reused", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 4, 4])], [w])
    path = tmp_path / "shared.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_onnx_traffic_by_hand(shared_weight_onnx):
    t = graph_traffic(shared_weight_onnx, "onnx")
    tensor = 2 * 4 * 4 * 4  # every activation here is (1, 2, 4, 4) float32: 128 bytes
    # conv1 x->a, relu a->r, mul r(+k, a constant)->m, conv2 m->y: reads and writes of non-constant tensors
    assert t.activation_bytes == 2 * tensor + 2 * tensor + 2 * tensor + 2 * tensor
    # the weight once although two convolutions read it, plus the Constant's tensor once
    assert t.weight_bytes == 2 * 2 * 3 * 3 * 4 + tensor
    assert t.ops == 4 and t.total_bytes == t.activation_bytes + t.weight_bytes


def test_unknown_format_has_no_traffic(shared_weight_onnx):
    assert traffic_if_known(shared_weight_onnx, "pte") is None  # no reader yet: an export never fails for it
    assert set(READERS) == {"onnx", "tflite", "coreml"}


@pytest.mark.slow
@pytest.mark.parametrize("fmt, precision, weight_itemsize", [("onnx", "fp32", 4), ("tflite", "fp32", 4),
                                                              ("coreml", "fp16", 2)])
def test_real_export_carries_its_traffic_into_the_record(fmt, precision, weight_itemsize, artifact_cache):
    from bench.artifact.cache import ensure_artifact
    from bench.zoo import get_entry
    from exporters.registry import ExportRequest

    entry = get_entry("mobileone_s0")
    artifact = ensure_artifact(ExportRequest("mobileone_s0", entry.resolution, fmt, precision))
    t = graph_traffic(artifact.path, fmt)
    assert artifact.memory_traffic == t.total_bytes and artifact.facts["graph_traffic"]["graph_ops"] == t.ops
    # weights once, at the stored dtype: the params (BatchNorm folded away) times the item size, within 2%
    assert t.weight_bytes == pytest.approx(artifact.params * weight_itemsize, rel=0.02)
    # the input alone is read once and the logits written once: activations are at least that
    assert t.activation_bytes > 3 * entry.resolution ** 2 * weight_itemsize
    assert 10 < t.ops < 500
    subject = artifact.subject()
    assert isinstance(subject, Subject) and subject.memory_traffic == t.total_bytes
