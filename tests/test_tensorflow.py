"""TensorFlow / Keras models in: converted by TensorFlow's own converter (in a subprocess), checked against the
TensorFlow model, counted from the converted graph, cached by content, and measured on host-litert.

The test models are built here, by a TensorFlow subprocess (tensorflow never enters this process: beside torch
it has crashed), and are small enough that each conversion is a few seconds of TensorFlow start-up and work.
"""

import importlib.util
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from bench.artifact.cache import artifact_from_tf_source, ensure_artifact
from bench.core.errors import ArtifactError, ExportError, UnsupportedFormat
from bench.core.protocols import get_protocol
from exporters.registry import ExportRequest

REPO_DATA = __import__("pathlib").Path(__file__).resolve().parent / "data"

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None,
                       reason="tensorflow not installed: pip install -e '.[tf]' -c constraints.txt"),
    pytest.mark.skipif(importlib.util.find_spec("ai_edge_litert") is None, reason="ai-edge-litert not installed"),
]

# small: conv 3x3 (12) + BN + ReLU, depthwise 3x3, pointwise (16), global pool, dense (10); biases random so the
# converter cannot drop or share them, and over 8 wide (the graph counter takes integer tensors of 8 or fewer
# elements for shapes). After BN folding: (27*12 + 12) + (9*12 + 12) + (12*16 + 16) + (16*10 + 10).
SMALL_PARAMS = 834


def small_macs(side: int) -> int:  # side: the feature map after the stride-2 stem
    return side * side * 12 * (27 + 9 + 16) + 16 * 10
MAKE_MODELS = textwrap.dedent("""
    import sys, keras
    out = sys.argv[1]
    keras.utils.set_random_seed(0)
    L = keras.layers
    bias = dict(bias_initializer="random_normal")

    def small(shape):
        inp = keras.Input(shape=shape)
        x = L.ReLU()(L.BatchNormalization()(L.Conv2D(12, 3, strides=2, padding="same", **bias)(inp)))
        x = L.Conv2D(16, 1, **bias)(L.DepthwiseConv2D(3, padding="same", **bias)(x))
        return keras.Model(inp, L.Dense(10, **bias)(L.GlobalAveragePooling2D()(x)))

    small((32, 32, 3)).save(out + "/small.keras")
    small((32, 32, 3)).save(out + "/legacy.h5")  # Keras 3 still writes (and loads) the legacy HDF5 format
    small((None, None, 3)).save(out + "/open_size.keras")
    a, b = keras.Input(shape=(8, 8, 3)), keras.Input(shape=(8, 8, 3))
    keras.Model([a, b], L.Dense(3)(L.Flatten()(L.Add()([a, b])))).save(out + "/two_inputs.keras")
    inp = keras.Input(shape=(16, 16, 3))
    x = L.Lambda(keras.ops.sin)(L.Conv2D(4, 3)(inp))  # SIN has a float TFLite kernel and no int8 one
    keras.Model(inp, L.Dense(3)(L.GlobalAveragePooling2D()(x))).export(out + "/sin_saved_model", verbose=False)
""")


@pytest.fixture(scope="module")
def tf_models(tmp_path_factory):
    out = tmp_path_factory.mktemp("tf_models")
    done = subprocess.run([sys.executable, "-c", MAKE_MODELS, str(out)], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "KERAS_BACKEND": "tensorflow"})
    assert done.returncode == 0, done.stderr[-3000:]
    (out / "corrupt.keras").write_bytes(b"PK\x03\x04 truncated")
    (out / "not_a_saved_model").mkdir()
    (out / "not_a_saved_model" / "weights.bin").write_bytes(b"\0" * 16)
    return out


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("tf_cache")


def _measure(artifact, runs=20):
    from devices import get_target

    protocol = get_protocol("mobileone").with_overrides(warmup=3, runs=runs)
    return get_target("host-litert").measure(artifact, protocol, threads=1, options={}, progress=lambda n: None)


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_small_keras_model_converts_and_runs_on_host_litert(precision, tf_models, cache):
    artifact = artifact_from_tf_source(tf_models / "small.keras", precision=precision, root=cache)
    assert (artifact.format, artifact.precision, artifact.model, artifact.resolution) == ("tflite", precision,
                                                                                          "small", 32)
    assert artifact.params == SMALL_PARAMS and artifact.macs == small_macs(16)  # counted from the converted graph
    assert artifact.facts["converter"] == "from_keras_model" and artifact.facts["input_shape"] == [1, 32, 32, 3]
    parity = artifact.parity
    if precision == "fp32":
        assert parity["rel_l2"] < 1e-3 and parity["reference"] == "TensorFlow fp32"
    elif precision == "fp16":
        assert parity["cosine"] >= 0.95 and 0 < parity["rel_l2"] < 0.05  # float16 weights: a small real error
    else:
        assert parity["cosine"] >= 0.85 and parity["top5_overlap"] >= 0.6 and parity["inputs"] == 5
        assert artifact.facts["io_dtypes"] == {"input": "int8", "output": "int8"}
    measurement = _measure(artifact)
    samples = [s for repeat in measurement.samples_ns for s in repeat]
    assert measurement.runtime == "litert" and len(samples) == 20 and min(samples) > 0
    assert "tensorflow" not in sys.modules  # the conversion ran in its own process


def test_a_converted_model_is_cached_by_content(tf_models, cache, tmp_path):
    first = artifact_from_tf_source(tf_models / "small.keras", precision="fp32", root=cache)
    again = artifact_from_tf_source(tf_models / "small.keras", precision="fp32", root=cache)
    assert again.cached and again.path == first.path and again.sha256 == first.sha256
    # The same bytes under another name and place are the same entry, recorded under their own name.
    copy = tmp_path / "renamed.keras"
    copy.write_bytes((tf_models / "small.keras").read_bytes())
    renamed = artifact_from_tf_source(copy, precision="fp32", root=cache)
    assert renamed.cached and renamed.sha256 == first.sha256 and renamed.model == "renamed"


def test_an_open_input_size_takes_the_resolution(tf_models, cache):
    artifact = artifact_from_tf_source(tf_models / "open_size.keras", precision="fp32", resolution=40, root=cache)
    assert artifact.resolution == 40 and artifact.facts["input_shape"] == [1, 40, 40, 3]
    assert artifact.macs == small_macs(20)


def test_legacy_h5_converts(tf_models, cache):
    artifact = artifact_from_tf_source(tf_models / "legacy.h5", precision="fp32", root=cache)
    assert (artifact.model, artifact.params, artifact.macs) == ("legacy", SMALL_PARAMS, small_macs(16))
    assert artifact.parity["rel_l2"] < 1e-3


def test_int8_quantizes_on_a_directory_of_representative_images(tf_models, cache, tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(3):  # of another size than the model's input: they are resized
        Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(tmp_path / f"{i}.png")
    artifact = artifact_from_tf_source(tf_models / "small.keras", precision="int8", representative_dir=tmp_path,
                                       root=cache)
    assert artifact.facts["representative_data"] == {"source": "dir", "images": 3}
    assert artifact.parity["cosine"] >= 0.85 and artifact.parity["inputs"] == 4  # 3 images + the fixed input
    synthetic = artifact_from_tf_source(tf_models / "small.keras", precision="int8", root=cache)
    assert synthetic.key != artifact.key


def test_saved_model_converts_with_its_batch_pinned_to_one(tf_models, cache):
    artifact = artifact_from_tf_source(tf_models / "sin_saved_model", precision="fp32", root=cache)
    assert artifact.model == "sin_saved_model" and artifact.resolution == 16
    assert artifact.facts["input_shape"] == [1, 16, 16, 3] and artifact.parity["rel_l2"] < 1e-3
    assert _measure(artifact, runs=5).samples_ns


@pytest.mark.parametrize("name, kwargs, error, message", [
    ("not_a_saved_model", {}, ArtifactError, "not a TensorFlow SavedModel (no saved_model.pb in it)"),
    ("missing.keras", {}, ArtifactError, "does not exist"),
    ("corrupt.keras", {}, ArtifactError, "corrupt.keras is not a valid .keras file (not a zip archive)"),
    ("open_size.keras", {}, ArtifactError, "input shape (None, None, None, 3) leaves height/width open; "
                                           "give --resolution"),
    ("small.keras", {"resolution": 48}, ArtifactError, "input is fixed at 32x32; --resolution 48 cannot change it"),
    ("two_inputs.keras", {}, ArtifactError, "the model has 2 inputs and 1 outputs"),
    ("sin_saved_model", {"precision": "int8"}, ExportError, "op SIN cannot be int8-quantized"),
])
def test_bad_sources_fail_in_one_line_and_cache_nothing(name, kwargs, error, message, tf_models, tmp_path):
    root = tmp_path / "cache"
    with pytest.raises(error) as caught:
        artifact_from_tf_source(tf_models / name, root=root, **kwargs)
    text = str(caught.value)
    assert message in text and "\n" not in text
    assert not root.exists() or not any(root.iterdir())  # no entry, no staging folder left behind


def test_tensorflow_models_are_told_from_the_rest_once(tf_models, tmp_path):
    from exporters.source import KerasZooModel, ModelFile, TensorFlowModel, resolve_source

    assert isinstance(resolve_source(tf_models / "small.keras"), TensorFlowModel)
    assert isinstance(resolve_source(tf_models / "sin_saved_model"), TensorFlowModel)
    assert isinstance(resolve_source("keras/mobilenet_v2"), KerasZooModel)
    with pytest.raises(ArtifactError, match="absent.h5 does not exist"):
        resolve_source(tmp_path / "absent.h5")
    with pytest.raises(ArtifactError, match="not a TensorFlow SavedModel"):
        resolve_source(tf_models / "not_a_saved_model")
    (tmp_path / "model.mlpackage").mkdir()  # a Core ML package is a directory too: read as Core ML, not TensorFlow
    with pytest.raises(ArtifactError) as caught:
        resolve_source(tmp_path / "model.mlpackage")
    assert "TensorFlow" not in str(caught.value)
    with pytest.raises(ArtifactError, match="model file .*model.onnx does not exist"):
        resolve_source("model.onnx")
    assert not isinstance(resolve_source(REPO_DATA / "ios" / "tiny_conv.mlpackage"), TensorFlowModel)
    assert isinstance(resolve_source(REPO_DATA / "ios" / "tiny_conv.mlpackage"), ModelFile)


def test_precision_and_format_are_checked_once_by_the_source(tf_models):
    from devices import get_target
    from exporters.source import Wanted, resolve_source

    with pytest.raises(UnsupportedFormat, match="target host-litert cannot run tflite/bf16"):
        resolve_source(tf_models / "small.keras").choose(Wanted(precision="bf16"), get_target("host-litert"))
    with pytest.raises(UnsupportedFormat, match="converts to tflite only, not onnx"):
        resolve_source("keras/mobilenet_v2").choose(Wanted(format="onnx"), get_target("host"))



# The timm versions of the same architectures and their MACs at 224 as the zoo counts them (PyTorch).
TIMM_TWINS = {
    "keras/mobilenet_v2": ("mobilenetv2_100", 300_774_272),
    "keras/mobilenet_v3_large": ("mobilenetv3_large_100", 216_589_760),
    "keras/efficientnet_b0": ("efficientnet_b0", 385_814_752),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(TIMM_TWINS))
def test_keras_zoo_entries_convert_and_run(name, cache):
    artifact = ensure_artifact(ExportRequest(name, 224, "tflite", "fp32", representative="none"), root=cache)
    assert artifact.resolution == 224 and artifact.parity["rel_l2"] < 1e-3
    _, timm_macs = TIMM_TWINS[name]
    assert artifact.macs == pytest.approx(timm_macs, rel=0.01)  # the same architecture, counted from the graph
    assert _measure(artifact, runs=5).samples_ns


@pytest.mark.slow
def test_keras_zoo_entry_quantizes_to_int8(cache):
    artifact = ensure_artifact(ExportRequest("keras/mobilenet_v3_large", 224, "tflite", "int8"), root=cache)
    assert artifact.facts["io_dtypes"] == {"input": "int8", "output": "int8"}
    assert artifact.parity["cosine"] >= 0.85 and artifact.facts["input_scale"] == "pixels 0..255"
    assert _measure(artifact, runs=5).samples_ns
