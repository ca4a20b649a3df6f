"""The zoo: every model builds, is reparameterized, has sane BatchNorm statistics and exports to ONNX with parity."""

import numpy as np
import pytest
import torch

from bench.artifact import ensure_artifact
from bench.zoo import create_model, get_entry, list_models
from bench.zoo.counting import count_params_macs
from exporters.registry import ExportRequest

REQUIRED = [
    "mobileone_s0", "mobileone_s1", "mobileone_s2", "mobileone_s3", "mobileone_s4",
    "mobilenetv4_conv_small", "mobilenetv4_conv_medium", "mobilenetv4_conv_large",
    "mobilenetv4_hybrid_medium", "mobilenetv4_hybrid_large", "mobilenetv1_100", "mobilenetv2_100",
    "mobilenetv3_large_100", "efficientnet_b0", "fastvit_t8", "mobilevit_s",
]
PAPER_RESOLUTION = {"mobilenetv4_conv_small": 224, "mobilenetv4_conv_medium": 256, "mobilenetv4_conv_large": 384,
                    "mobilenetv4_hybrid_medium": 256, "mobilenetv4_hybrid_large": 384, "mobileone_s0": 224}


def test_zoo_lists_required_models_at_paper_resolutions():
    names = {e.name for e in list_models()}
    assert set(REQUIRED) <= names
    for name, res in PAPER_RESOLUTION.items():
        assert get_entry(name).resolution == res


def test_mobileone_s0_counts_are_the_inference_models():
    model = create_model("mobileone_s0")
    params, macs = count_params_macs(model, 224)
    assert params == pytest.approx(2.08e6, rel=0.01)  # paper 2.1 M; train-time would be 5.3 M
    assert macs == pytest.approx(0.275e9, rel=0.01)  # paper 275 M; train-time would be 1.09 G
    assert not any("rbr_" in name for name, _ in model.named_modules() if name.endswith("rbr_skip"))


def test_batchnorm_statistics_are_calibrated():
    model = create_model("mobilenetv4_conv_small")
    out = model(torch.randn(2, 3, 224, 224)).detach().numpy()
    assert np.all(np.isfinite(out)) and 1e-3 < out.std() < 1e3
    assert not np.allclose(out[0], out[1])  # different inputs give different outputs


@pytest.mark.slow
@pytest.mark.parametrize("name", REQUIRED)
def test_every_zoo_model_exports_to_onnx_with_parity(name, artifact_cache):
    entry = get_entry(name)
    artifact = ensure_artifact(ExportRequest(name, entry.resolution, "onnx", "fp32"))
    assert artifact.parity["rel_l2"] < 1e-3 and artifact.params > 1e6 and artifact.macs > 1e8
    # The graph counts agree with PyTorch's.
    from exporters.onnx_graph import onnx_layers

    _, facts = onnx_layers(artifact.path)
    assert facts["macs"] == pytest.approx(artifact.macs, rel=0.001)  # attention matmuls included on both sides
    assert facts["params"] == pytest.approx(artifact.params, rel=0.02)  # BatchNorm folding moves a few
