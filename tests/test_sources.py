"""A model argument is classified once (exporters/source.py) into a typed source; options that do not apply to it
are refused in one line; imports check precision like runs; an unwritable store is refused before any export."""

import json

import pytest

from bench.core.errors import ArtifactError, BenchError, UnknownChoice, UnsupportedFormat
from tests.conftest import REPO, run_bench

ANDROID_LOG = REPO / "tests" / "data" / "android" / "android_gpu_delegate.txt"


def tiny_onnx(path, side=40):
    """A real ONNX model (one 3x3 convolution), written with onnx's own helpers."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.random.default_rng(0).standard_normal((8, 3, 3, 3)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("Conv", ["input", "w"], ["output"], pads=[1, 1, 1, 1])], "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, side, side])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 8, side, side])], [weight])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    return path


def _one_error_line(done) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode != 0 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    return lines[0]


def test_each_kind_of_model_argument_is_one_typed_source(tmp_path):
    from exporters.source import KerasZooModel, ModelFile, TensorFlowModel, ZooModel, resolve_source

    assert isinstance(resolve_source("mobileone_s0"), ZooModel)
    assert isinstance(resolve_source("keras/mobilenet_v2"), KerasZooModel)
    model = resolve_source(tiny_onnx(tmp_path / "tiny.onnx"))
    assert isinstance(model, ModelFile) and (model.format, model.described["precision"]) == ("onnx", "fp32")
    assert model.described["resolution"] == 40 and model.described["macs"] == 8 * 3 * 9 * 40 * 40
    coreml = resolve_source(REPO / "tests" / "data" / "ios" / "tiny_conv.mlpackage")
    assert isinstance(coreml, ModelFile) and coreml.format == "coreml"
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "saved_model.pb").write_bytes(b"")
    assert isinstance(resolve_source(saved), TensorFlowModel)
    with pytest.raises(ArtifactError, match="does not exist"):
        resolve_source(tmp_path / "absent.onnx")
    with pytest.raises(ArtifactError, match="does not exist"):
        resolve_source(tmp_path / "absent.keras")
    with pytest.raises(UnknownChoice, match="unknown model 'mobileone_s00'; did you mean mobileone_s0"):
        resolve_source("mobileone_s00")
    with pytest.raises(BenchError, match="input_size applies to a torch.nn.Module"):
        resolve_source("mobileone_s0", input_size=(1, 3, 224, 224))


def test_the_zoo_entry_is_looked_up_once_per_run(monkeypatch):
    """Decide once: classification, format choice, the export request and the dry-run plan share one lookup."""
    import bench.zoo
    import bench.zoo.registry as registry
    from bench.pipeline import Cell, plan_cells, prepare
    from bench.core.protocols import get_protocol

    calls = []
    real = registry.get_entry
    monkeypatch.setattr(bench.zoo, "get_entry", lambda name: calls.append(name) or real(name))
    deployments = prepare(__import__("bench.pipeline", fromlist=["RunSpec"]).RunSpec(model="mobileone_s0",
                                                                                     target="host-litert",
                                                                                     precision="int8"))
    plan_cells([Cell(deployments[0], get_protocol("mobileone"))])
    assert calls == ["mobileone_s0"]
    deployment = deployments[0]
    assert (deployment.format, deployment.precision, deployment.choice.resolution) == ("tflite", "int8", 224)


@pytest.mark.parametrize("flags, fragment", [
    (["--precision", "int8"], "--precision int8 does not apply to the model file tiny.onnx, which is onnx/fp32"),
    (["--format", "tflite"], "--format tflite does not apply to the model file tiny.onnx"),
    (["--resolution", "96"], "--resolution 96 does not apply to the model file tiny.onnx, which is onnx/fp32 at 40 px"),
    (["--calibration-dir", "."], "--calibration-dir does not apply to the model file tiny.onnx"),
    (["--input", "image"], "--input image does not apply to the model file tiny.onnx"),
])
def test_options_that_do_not_apply_to_a_model_file_are_refused(flags, fragment, tmp_path):
    model = tiny_onnx(tmp_path / "tiny.onnx")
    store = tmp_path / "s.sqlite"
    line = _one_error_line(run_bench("run", "--model", model, *flags, "--store", store))
    assert fragment in line and not store.exists()


def test_options_that_agree_with_a_model_file_are_accepted(tmp_path):
    model = tiny_onnx(tmp_path / "tiny.onnx")
    done = run_bench("run", "--model", model, "--format", "onnx", "--precision", "fp32", "--resolution", "40",
                     "--dry-run")
    assert done.returncode == 0 and "onnxruntime runs" in done.stdout, done.stderr


def test_a_zoo_model_refuses_what_its_target_cannot_run_once_and_in_one_line(tmp_path):
    line = _one_error_line(run_bench("run", "--model", "mobileone_s0", "--target", "host-litert", "--precision",
                                     "int4", "--store", tmp_path / "s.sqlite"))
    assert "target host-litert cannot run tflite/int4; it runs: tflite/fp32, tflite/fp16, tflite/int8" in line
    line = _one_error_line(run_bench("run", "--model", "keras/mobilenet_v2", "--format", "onnx", "--dry-run"))
    assert "Keras zoo model keras/mobilenet_v2 converts to tflite only, not onnx" in line


def test_imports_check_the_precision_like_a_run(tmp_path):
    store = tmp_path / "s.sqlite"
    line = _one_error_line(run_bench("import", "benchmark-model", ANDROID_LOG, "--model", "m", "--target", "pixel7",
                                     "--precision", "int4", "--store", store))
    # the run's own check, word for word (issue 29: one check for what a record claims, wherever it comes from)
    ran = _one_error_line(run_bench("run", "--model", "mobileone_s0", "--target", "pixel7", "--precision", "int4",
                                    "--dry-run"))
    assert "target pixel7 cannot run tflite/int4; it runs: tflite/fp32" in line and line == ran
    assert not store.exists()
    done = run_bench("import", "benchmark-model", ANDROID_LOG, "--model", "m", "--target", "pixel7", "--precision",
                     "fp16", "--store", store, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["precision"] == "fp16"


def test_an_unwritable_store_is_refused_before_anything_is_exported(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    cache = tmp_path / "cache"
    cache.mkdir()
    done = run_bench("run", "--model", "mobileone_s0", "--store", blocker / "bench.sqlite",
                     env={"BENCH_CACHE": str(cache)})
    assert f"cannot write the store {blocker / 'bench.sqlite'}: {blocker} is a file" in _one_error_line(done)
    assert not any(cache.iterdir())  # nothing exported
    line = _one_error_line(run_bench("import", "benchmark-model", ANDROID_LOG, "--model", "m", "--target", "pixel7",
                                     "--store", tmp_path))
    assert f"store {tmp_path} is a directory" in line


def test_a_module_needs_a_square_rgb_input_size():
    torch = pytest.importorskip("torch")
    from exporters.source import TorchModule, resolve_source

    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    source = resolve_source(net, input_size=(1, 3, 64, 64), name="tiny")
    assert isinstance(source, TorchModule) and source.name == "tiny"
    twin = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
    twin.load_state_dict(net.state_dict())
    assert resolve_source(twin, input_size=(1, 3, 64, 64)).content_key() == source.content_key()
    with torch.no_grad():
        twin[0].bias.add_(1.0)
    assert resolve_source(twin, input_size=(1, 3, 64, 64)).content_key() != source.content_key()
    with pytest.raises(BenchError, match="needs input_size"):
        resolve_source(net)
    with pytest.raises(BenchError, match=r"input_size must be \(1, 3, N, N\)"):
        resolve_source(net, input_size=(1, 3, 64, 32))
    with pytest.raises(UnsupportedFormat, match="resolution 96 does not apply to module tiny"):
        from exporters.source import Wanted
        from devices import get_target

        source.choose(Wanted(resolution=96), get_target("host"))
