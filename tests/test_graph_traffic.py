"""Memory traffic of the deployed graph: by hand on a tiny ONNX graph, then on real exports in every format."""

import subprocess
import sys

import numpy as np
import pytest

from bench.core.record import Subject
from exporters.graph_traffic import READERS, graph_traffic, traffic_if_known
from tests.conftest import REPO


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


def test_every_format_has_a_reader_and_an_unknown_one_has_no_traffic(shared_weight_onnx):
    from exporters.registry import EXPORTERS

    assert set(READERS) == set(EXPORTERS.names()) == {"onnx", "tflite", "coreml", "pte"}
    assert traffic_if_known(shared_weight_onnx, "mlir") is None  # a format with no reader: the export goes on
    assert traffic_if_known(shared_weight_onnx, "pte") is None  # a file the reader cannot follow: the same


def _conv_relu_erf():
    """x(1,3,4,4) -> Conv(3->2, 3x3, pad 1) -> ReLU -> erf: XNNPACK takes the convolution (ReLU fused into it) and
    leaves erf to ExecuTorch's portable kernel, so both halves of the .pte reader are exercised."""
    import torch

    class ConvReluErf(torch.nn.Module):
        def __init__(self):
            super().__init__()
            torch.manual_seed(0)
            self.conv = torch.nn.Conv2d(3, 2, 3, padding=1)

        def forward(self, x):
            return torch.erf(torch.relu(self.conv(x)))

    return ConvReluErf()


def test_pte_traffic_by_hand(tmp_path):
    pytest.importorskip("executorch", reason="the executorch extra is not installed")
    from bench.artifact.cache import ensure_artifact
    from bench.core.errors import ArtifactError
    from exporters.pte_file import read_graph
    from exporters.registry import ExportRequest

    artifact = ensure_artifact(ExportRequest("conv_relu_erf", 4, "pte", "fp32"), root=tmp_path,
                               build=_conv_relu_erf)
    t = graph_traffic(artifact.path, "pte")
    x, y = 3 * 4 * 4 * 4, 2 * 4 * 4 * 4  # the input (192 B) and every later activation (128 B), float32
    # XNNPACK: NCHW->NHWC transpose x->x', conv(+ReLU) x'->y', NHWC->NCHW transpose y'->y; then erf y->z outside it
    assert t.activation_bytes == 2 * x + (x + y) + 2 * y + 2 * y
    assert t.weight_bytes == 2 * 3 * 3 * 3 * 4 + 2 * 4  # the filter and the bias, once
    assert t.ops == 4 and artifact.memory_traffic == t.total_bytes
    assert {t.dtype for t in read_graph(artifact.path).tensors.values() if t.constant} == {"xnn_datatype_fp32"}
    reads_alone = ("import sys; from exporters.pte_file import describe_pte; from pathlib import Path; "
                   f"describe_pte(Path({str(artifact.path)!r})); assert 'torch' not in sys.modules")
    assert subprocess.run([sys.executable, "-c", reads_alone], cwd=REPO).returncode == 0  # no torch to read a .pte
    cut = tmp_path / "cut.pte"  # a truncated copy: refused by the reader, and no figure rather than a failed export
    cut.write_bytes(artifact.path.read_bytes()[:200])
    with pytest.raises(ArtifactError):
        graph_traffic(cut, "pte")
    assert traffic_if_known(cut, "pte") is None


def test_a_file_that_is_not_a_pte_is_refused_by_the_reader(tmp_path):
    from bench.core.errors import ArtifactError

    fake = tmp_path / "model.pte"
    fake.write_bytes(b"\x00" * 64)
    with pytest.raises(ArtifactError, match="not an ExecuTorch program"):
        graph_traffic(fake, "pte")


@pytest.mark.slow
@pytest.mark.parametrize("fmt, precision, weight_itemsize", [("onnx", "fp32", 4), ("tflite", "fp32", 4),
                                                              ("coreml", "fp16", 2), ("pte", "fp32", 4)])
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
