"""ONNX export: a model the dynamo exporter cannot convert is exported by the TorchScript exporter and says so;
a model neither can convert is refused in one line naming both reasons, and nothing is cached."""

import pytest

from bench.core.errors import ExportError
from exporters.registry import ExportRequest

torch = pytest.importorskip("torch")


def _tiny_beit():
    """timm's BEiT at toy size, with its relative position bias: that attention path's transpose + reshape is what
    torch 2.14's dynamo exporter fails to decompose ("Cannot view a tensor ... as ..."), as the full
    beit_base_patch16_224 twin does."""
    from timm.models.beit import Beit

    torch.manual_seed(0)
    return Beit(img_size=32, patch_size=16, embed_dim=64, depth=1, num_heads=2, num_classes=10, use_rel_pos_bias=True)


class Eigh(torch.nn.Module):
    """An eigendecomposition: neither ONNX exporter has a conversion for it."""

    def forward(self, x):
        m = x.flatten(1)[:, :9].reshape(1, 3, 3)
        return torch.linalg.eigh(m @ m.transpose(1, 2)).eigenvalues


def test_a_model_dynamo_cannot_convert_is_exported_by_torchscript_and_says_so(tmp_path):
    from bench.artifact.cache import ensure_artifact

    artifact = ensure_artifact(ExportRequest("tiny_beit", 32, "onnx", "fp32"), root=tmp_path, build=_tiny_beit)
    made_by = artifact.facts["onnx_exporter"]
    assert made_by["exporter"] == "torchscript" and "Cannot view a tensor" in made_by["dynamo_failed"]
    assert "\n" not in made_by["dynamo_failed"] and "\x1b" not in made_by["dynamo_failed"]
    assert artifact.parity["rel_l2"] <= 1e-3  # judged like any export
    assert artifact.memory_traffic > 0 and artifact.params > 0


def test_a_model_neither_exporter_converts_is_one_line_and_nothing_is_cached(tmp_path):
    from bench.artifact.cache import ensure_artifact

    with pytest.raises(ExportError) as refused:
        ensure_artifact(ExportRequest("eigh", 32, "onnx", "fp32"), root=tmp_path, build=Eigh)
    message = str(refused.value)
    assert message.startswith("torch.onnx cannot export eigh: the dynamo exporter failed (")
    assert "TorchScript exporter failed (" in message and "linalg_eigh" in message and "\n" not in message
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # no entry, no staging left behind
