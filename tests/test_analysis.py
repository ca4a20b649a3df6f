"""Correlation against scipy on a real public table, the roofline on a hand-computable graph, notebooks.
(Reports from a store of real measurements: tests/test_report.py.)"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import kendalltau, spearmanr

from bench.analysis.correlation import BOOTSTRAP_RESAMPLES, bootstrap_spearman_ci, correlations
from exporters.onnx_graph import onnx_layers
from bench.analysis.roofline import predict_ms, sweep
from bench.core.errors import InputDataError
from tests.conftest import REPO, run_bench

TABLE = REPO / "notebooks" / "data" / "timm_cpu_i7_12700h.csv"


def test_spearman_matches_scipy_on_public_table():
    frame = pd.read_csv(TABLE)
    [result] = correlations(frame)
    assert result.n == len(frame) == 21
    assert result.rho_flops == pytest.approx(spearmanr(2 * frame["macs"], frame["latency_ms"]).statistic)
    assert result.p_flops == pytest.approx(spearmanr(frame["macs"], frame["latency_ms"]).pvalue)
    assert result.rho_params == pytest.approx(spearmanr(frame["params"], frame["latency_ms"]).statistic)
    assert result.tau_params == pytest.approx(kendalltau(frame["params"], frame["latency_ms"]).statistic)
    assert result.ci_flops[0] <= result.rho_flops <= result.ci_flops[1]


def test_bootstrap_ci_matches_a_scipy_loop():
    """The vectorised bootstrap gives what spearmanr on each resample gives (same resamples, same seed)."""
    frame = pd.read_csv(TABLE)
    x, y = frame["macs"].to_numpy(float), frame["latency_ms"].to_numpy(float)
    idx = np.random.default_rng(0).integers(0, len(x), (BOOTSTRAP_RESAMPLES, len(x)))
    values = [spearmanr(x[i], y[i]).statistic for i in idx if np.ptp(x[i]) and np.ptp(y[i])]
    assert bootstrap_spearman_ci(x, y) == pytest.approx(tuple(np.quantile(values, [0.025, 0.975])), abs=1e-12)


def test_analyze_cli_json_on_csv_groups_by_target(tmp_path):
    frame = pd.read_csv(TABLE)
    two = pd.concat([frame, frame.assign(target="other", latency_ms=frame["latency_ms"][::-1].values)])
    path = tmp_path / "two.csv"
    two.to_csv(path, index=False)
    result = run_bench("analyze", "--csv", path, "--json")
    assert result.returncode == 0, result.stderr
    rows = {r["target"]: r for r in json.loads(result.stdout)}
    for key in ("target", "n", "rho_flops", "p_flops", "rho_params", "p_params"):
        assert key in rows["other"]
    assert rows["other"]["rho_flops"] == pytest.approx(
        spearmanr(frame["macs"], frame["latency_ms"][::-1].values).statistic)


def test_every_proxy_a_table_holds_is_ranked_with_n_and_intervals(tmp_path):
    """Memory traffic, op count and instructions beside FLOPs and params; a proxy with fewer than 3 values is left out."""
    frame = pd.read_csv(TABLE)
    rng = np.random.default_rng(3)
    frame["memory_traffic"] = frame["latency_ms"] * 1e6 + rng.normal(0, 1e6, len(frame))
    frame["graph_ops"] = rng.integers(50, 400, len(frame))
    frame["instructions"] = [None] * (len(frame) - 2) + [1, 2]  # two values: not enough to rank
    frame["flops"] = 2 * frame["macs"]
    path = tmp_path / "proxies.csv"
    frame.to_csv(path, index=False)
    result = run_bench("analyze", "--csv", path, "--json")
    assert result.returncode == 0, result.stderr
    [row] = json.loads(result.stdout)
    proxies = {p["proxy"]: p for p in row["proxies"]}
    assert list(proxies) == ["flops", "params", "memory_traffic", "graph_ops"]
    for name, p in proxies.items():
        assert p["n"] == 21 and p["rho"] == pytest.approx(spearmanr(frame[name], frame["latency_ms"]).statistic)
        assert p["tau"] == pytest.approx(kendalltau(frame[name], frame["latency_ms"]).statistic)
        assert p["ci"][0] <= p["rho"] <= p["ci"][1] and p["ci_fisher"][0] <= p["rho"] <= p["ci_fisher"][1]
    assert proxies["flops"]["rho"] == row["rho_flops"]
    shown = run_bench("analyze", "--csv", path)
    assert "memory traffic" in shown.stdout and "op count" in shown.stdout and "Fisher" in shown.stdout


def test_records_table_carries_traffic_and_the_emulated_count():
    from bench.analysis.correlation import records_table
    from bench.core.outcome import Count, Timing
    from bench.core.record import Record

    def record(model, outcome, target="host", **facts):
        return Record(model=model, resolution=224, format="onnx", precision="fp32", target=target, runtime="ort",
                      runtime_version="1", threads=1, protocol="median", warmup=1, runs=3, repeats=1, params=10,
                      macs=20, outcome=outcome, **facts)

    timed = record("a", Timing(samples_ns=[[1_000_000]], latency_ms=1.0), memory_traffic=123,
                   artifact_facts={"graph_traffic": {"graph_ops": 7}})
    counted = record("a", Count(counts=[999], count=999), target="arm64-emu")
    [row] = records_table([timed, counted]).to_dict("records")
    assert (row["memory_traffic"], row["graph_ops"], row["instructions"]) == (123, 7, 999)


@pytest.mark.parametrize(
    "frame, message",
    [
        (pd.DataFrame({"model": ["a", "b"], "latency_ms": [1, 2], "params": [1, 2], "macs": [1, 2]}), "at least 3"),
        (pd.DataFrame({"model": list("abc"), "latency_ms": [1, 2, 3], "params": [5, 5, 5], "macs": [1, 2, 3]}),
         "params is constant"),
        (pd.DataFrame({"model": list("abc"), "latency_ms": [1, None, 3], "params": [1, 2, 3], "macs": [1, 2, 3]}),
         "missing values for b"),
        (pd.DataFrame({"model": list("abc"), "latency_ms": [1, 2, 3], "params": [1, 2, 3]}), "flops or macs"),
    ],
)
def test_degenerate_tables_give_a_clear_message(frame, message):
    with pytest.raises(InputDataError, match=message):
        correlations(frame)


def test_analyze_cli_rejects_malformed_csv(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("model,latency_ms\na,1\n")
    result = run_bench("analyze", "--csv", bad)
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1
    assert "lacks columns" in result.stderr


@pytest.fixture
def tiny_onnx(tmp_path):
    """x(1,2,4,4) -> Conv(3 filters of 2x3x3, pad 1) -> Relu -> Flatten -> Gemm(48 -> 5)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((3, 2, 3, 3), np.float32), "w")
    g = numpy_helper.from_array(np.ones((5, 48), np.float32), "g")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Flatten", ["r"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "g"], ["y"], transB=1, name="fc"),
    ]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], [w, g])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = tmp_path / "tiny.onnx"
    onnx.save(model, path)
    return path


def test_graph_counts_and_roofline_by_hand(tiny_onnx):
    layers, facts = onnx_layers(tiny_onnx)
    conv, relu, _, fc = layers
    # conv: 3*4*4 outputs x (2*3*3) MACs = 864; weights 54 floats; activations in 32 + out 48 floats
    assert (conv.macs, conv.weight_bytes, conv.activation_bytes) == (864, 216, 320)
    # gemm: 5 outputs x 48 = 240 MACs; weights 240 floats; activations in 48 + out 5 floats
    assert (fc.macs, fc.weight_bytes, fc.activation_bytes) == (240, 960, 212)
    assert relu.macs == 0 and facts["macs"] == 1104 and facts["params"] == 54 + 240
    # peak 1 GMAC/s; ridge 2 MACs/byte -> bandwidth 0.5 GB/s.
    # conv: max(864 ns, 536 B / 0.5 = 1072 ns) = 1072 ns; gemm: max(240 ns, 1172 B / 0.5 = 2344 ns); relu skipped.
    point = predict_ms(layers, ridge_point=2.0, peak_gmacs=1.0)
    assert point.latency_ms == pytest.approx((1072 + 2344) * 1e-6)
    assert point.memory_bound_layers == 2
    assert predict_ms(layers, 0.0, 1.0).latency_ms == pytest.approx(1104 * 1e-6)  # RP 0: compute only
    curve = sweep(layers, [0, 1, 10, 100], 1.0)
    assert [p.latency_ms for p in curve] == sorted(p.latency_ms for p in curve)


def test_zoo_graph_counts_match_torch(artifact_cache):
    exported = json.loads(run_bench("export", "--model", "mobileone_s0", "--json").stdout)
    _, facts = onnx_layers(exported["path"])
    assert facts["macs"] == exported["macs"]
    assert facts["params"] == pytest.approx(exported["params"], rel=0.001)


def test_roofline_cli(artifact_cache, tmp_path):
    png = tmp_path / "roof.png"
    result = run_bench("roofline", "--model", "mobileone_s0", "--ridge-points", "0,50,500", "--json", "--plot", png)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    curve = out["models"][0]["curve"]
    assert [p["ridge_point"] for p in curve] == [0, 50, 500]
    assert curve[0]["latency_ms"] == pytest.approx(out["models"][0]["macs"] / 100e9 * 1e3)
    assert png.stat().st_size > 1000


@pytest.mark.parametrize("notebook", ["table1a_flops_params_correlation.ipynb", "roofline_sweep.ipynb",
                                      "table1a_across_hardware.ipynb"])
def test_notebooks_execute(notebook, tmp_path, artifact_cache):
    import shutil

    import nbformat
    from nbclient import NotebookClient

    work = tmp_path / "nb"
    shutil.copytree(REPO / "notebooks", work)
    nb = nbformat.read(work / notebook, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    assert any(p.suffix == ".png" and p.stat().st_size > 1000 for p in work.iterdir())
    # Committed with outputs, so they read on GitHub, and those outputs are what the code gives today.
    committed = nbformat.read(REPO / "notebooks" / notebook, as_version=4)
    assert _outputs(committed, "image/png") and len(_outputs(committed, "image/png")) == len(_outputs(nb, "image/png"))
    assert _outputs(committed, "text/html") == _outputs(nb, "text/html")  # the tables


def _outputs(nb, mime: str) -> list:
    return [o["data"][mime] for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if mime in o.get("data", {})]
