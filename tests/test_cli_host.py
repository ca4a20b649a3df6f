"""`bench run` end to end on this machine's CPU with real models, real exports and real ONNX Runtime sessions."""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO, run_bench


def _one_error_line(result, *fragments):
    assert result.returncode != 0
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def test_help_does_not_import_torch():
    code = (
        "import sys; from bench.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        "heavy = [m for m in ('torch', 'coremltools', 'ai_edge_litert', 'onnxruntime', 'timm') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr


def test_run_json_end_to_end(store_path, artifact_cache):
    result = run_bench("run", "--model", "mobileone_s0", "--runs", "30", "--warmup", "3", "--store", store_path, "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)  # stdout is exactly one JSON object
    for key in ("model", "target", "format", "precision", "protocol", "resolution", "params", "macs", "latency_ms",
                "min_ms", "mean_ms", "median_ms", "n_samples", "runtime", "runtime_version"):
        assert key in record, key
    assert record["model"] == "mobileone_s0" and record["target"] == "host" and record["format"] == "onnx"
    assert record["n_samples"] == 30 and record["latency_ms"] == record["min_ms"] > 0
    assert abs(record["params"] - 2.08e6) < 0.01e6 and abs(record["macs"] - 0.275e9) < 0.002e9
    assert record["parity"]["rel_l2"] < 1e-3
    assert record["device"]["pinned_cores"] and record["options"]["threads"] == 1

    listed = run_bench("results", "--store", store_path, "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)[0]["id"] == record["id"]
    from bench.commands.stored import stored_records
    from bench.output import write

    table = write("table", stored_records(store_path))  # `bench run`'s table: the graph's proxies beside the figure
    assert "traffic (MB)" in table and f"{record['memory_traffic'] / 1e6:.1f}" in table and record["memory_traffic"] > 0
    csv_path = store_path.parent / "out.csv"
    assert run_bench("results", "--store", store_path, "--csv", csv_path).returncode == 0
    import pandas as pd

    frame = pd.read_csv(csv_path)
    assert list(frame["model"]) == ["mobileone_s0"] and frame["latency_ms"][0] == pytest.approx(record["latency_ms"])


def test_mnv4_protocol_and_onnx_file_as_model(store_path, artifact_cache):
    exported = run_bench("export", "--model", "mobilenetv4_conv_small", "--json")
    assert exported.returncode == 0, exported.stderr
    path = json.loads(exported.stdout)["path"]
    result = run_bench("run", "--model", path, "--protocol", "mnv4", "--runs", "10", "--repeats", "3", "--warmup", "2",
                       "--store", store_path, "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["protocol"] == "mnv4" and record["n_samples"] == 30 and len(record["protocol_extra"]["repeat_means"]) == 3
    assert record["macs"] > 0.18e9 and record["resolution"] == 224  # counted from the graph


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["run", "--model", "mobileone_s9"], ["unknown model 'mobileone_s9'", "mobileone_s0", "bench models"]),
        (["run", "--model", "mobileone_s0", "--target", "iphone21"], ["unknown target 'iphone21'", "host", "bench targets"]),
        (["run", "--model", "mobileone_s0", "--runs", "0"], ["--runs must be at least 1"]),
        (["run", "--model", "mobileone_s0", "--runs", "abc"], ["--runs", "valid integer"]),
        (["run", "--model", "mobileone_s0", "--protocol", "fast"], ["unknown protocol 'fast'", "mobileone"]),
        (["run", "--model", "/nonexistent/model.onnx"], ["does not exist"]),
        (["run", "--model", "mobileone_s0", "--format", "coreml"], ["target host cannot run coreml/fp16", "onnx/fp32"]),
        (["run"], ["no model given"]),
    ],
)
def test_bad_input_is_one_line(args, fragments, store_path):
    _one_error_line(run_bench(*args, "--store", store_path), *fragments)


def test_corrupt_onnx_is_one_line(tmp_path, store_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x08\x07garbage that is not a protobuf" * 10)
    _one_error_line(run_bench("run", "--model", bad, "--store", store_path), "broken.onnx", "not a valid ONNX model")


def test_results_without_store_is_one_line(tmp_path):
    _one_error_line(run_bench("results", "--store", tmp_path / "none.sqlite"), "no store at")


def test_listings():
    models = run_bench("models", "--json")
    names = {m["name"] for m in json.loads(models.stdout)}
    assert {"mobileone_s0", "mobileone_s4", "mobilenetv4_hybrid_large", "fastvit_t8", "mobilevit_s"} <= names
    targets = {t["name"]: t for t in json.loads(run_bench("targets", "--json").stdout)}
    assert "onnx/fp32" in targets["host"]["runs"] and "cpu" in targets["host"]["aliases"]
