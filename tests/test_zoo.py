"""The zoo: every model builds, is reparameterized, has sane BatchNorm statistics and exports to ONNX with parity."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from bench.artifact.cache import ensure_artifact
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


def test_batchnorm_statistics_are_settled():
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


# ---------------------------------------------------------------- any timm name, keras entries


def test_any_timm_name_is_an_entry_at_timms_pretrained_resolution():
    entry = get_entry("mobilenetv2_140")
    assert (entry.resolution, entry.source, entry.family, entry.curated) == (224, "timm:mobilenetv2_140",
                                                                            "mobilenetv2", False)
    assert get_entry("efficientnet_b3").resolution == 288  # timm's pretrained config, not a default 224
    assert get_entry("mobilenetv2_100.ra_in1k").source == "timm:mobilenetv2_100.ra_in1k"  # a pretrained tag
    assert get_entry("mobilenetv4_conv_large").curated  # curated names keep their entries


def test_a_misspelled_name_suggests_the_closest_timm_names():
    from bench.core.errors import UnknownChoice

    with pytest.raises(UnknownChoice) as caught:
        get_entry("mobilenetv2_14")
    message = str(caught.value)
    assert "did you mean mobilenetv2_140" in message and "bench models --all" in message and "\n" not in message


def test_list_models_lists_the_curated_zoo_and_all_of_timm_on_request():
    curated = {e.name for e in list_models("mobilenetv2*")}
    everything = [e.name for e in list_models("mobilenetv2*", all=True)]
    assert curated == {"mobilenetv2_100"}
    assert {"mobilenetv2_035", "mobilenetv2_140", "mobilenetv2_100"} <= set(everything)
    assert len(everything) == len(set(everything))  # a curated name is not listed twice
    assert {e.name for e in list_models("keras/*")} == {"keras/mobilenet_v2", "keras/mobilenet_v3_large",
                                                        "keras/efficientnet_b0"}


def test_curated_names_and_listings_do_not_import_timm_or_tensorflow():
    code = ("import sys; from bench.zoo import get_entry, list_models; get_entry('mobileone_s0'); "
            "get_entry('keras/mobilenet_v2'); list_models(); "
            "print([m for m in ('timm', 'torch', 'tensorflow', 'keras') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr


def test_a_keras_entry_is_not_a_torch_model():
    from bench.core.errors import UnsupportedFormat

    with pytest.raises(UnsupportedFormat, match="converts to tflite only"):
        create_model("keras/mobilenet_v3_large")


def test_a_timm_name_exports_at_the_requested_resolution(artifact_cache):
    artifact = ensure_artifact(ExportRequest("mobilenetv2_035", 96, "onnx", "fp32"))
    assert artifact.resolution == 96 and artifact.parity["rel_l2"] < 1e-3
    assert artifact.params == pytest.approx(1.68e6, rel=0.02)  # timm's mobilenetv2_035 (BatchNorm unfolded)


def test_a_model_that_cannot_run_at_the_resolution_fails_in_one_line(artifact_cache):
    from bench.core.errors import ExportError

    with pytest.raises(ExportError, match=r"vit_tiny_patch16_224 does not run at 96x96: ") as caught:
        ensure_artifact(ExportRequest("vit_tiny_patch16_224", 96, "onnx", "fp32"))
    assert "\n" not in str(caught.value)
    assert not any(artifact_cache.glob("vit_tiny_patch16_224-*"))


@pytest.mark.slow
def test_zero_initialised_branches_are_restored_so_converters_keep_them(artifact_cache):
    """timm zero-initialises each ResNet block's last BatchNorm scale (a training trick). Left so, the branch adds
    nothing and the TFLite converter folds it away: ResNet-50's export kept 5 of its 53 convolutions and still
    matched PyTorch. Prepared, the file holds every convolution and every parameter torch counts."""
    from ai_edge_litert.interpreter import Interpreter

    from exporters.tflite_graph import describe_tflite

    model = create_model("resnet18", 64)
    assert all(torch.count_nonzero(m.weight) for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    artifact = ensure_artifact(ExportRequest("resnet18", 64, "tflite", "fp32"))
    ops = [op["op_name"] for op in Interpreter(model_path=str(artifact.path))._get_ops_details()]
    assert ops.count("CONV_2D") == 20  # stem, 16 in the eight blocks, 3 shortcut projections
    assert describe_tflite(artifact.path)["params"] == pytest.approx(artifact.params, rel=0.02)
