"""Table 1a across published hardware: the shipped tables are cited and wide enough, the rankings follow scipy on
the cited rows, rows that are not the same network stay out, and the shipped twin figures are what an export here
gives."""

import csv
import json
import re

import pytest
from scipy.stats import kendalltau, spearmanr

from bench.analysis import published_devices as pub
from bench.analysis.correlation import fisher_ci
from tests.conftest import run_bench


def test_every_row_cites_a_source_and_the_tables_are_wide_enough():
    rows = pub.read_device_rows()
    own = [r for r in rows if r.row_id in {x["row_id"] for x in csv.DictReader(open(pub.DEVICES_CSV))}]
    cited = set(re.findall(r"^## (\S+)", pub.SOURCES_MD.read_text(), flags=re.M))
    assert {r.source for r in own} <= cited
    assert len({r.row_id for r in rows}) == len(rows)
    columns = {r.column for r in rows}
    assert len(columns) >= 8 and len({r.source for r in rows}) >= 5
    hardware = {r.hardware for r in rows}
    assert {"CPU", "GPU", "NPU", "EdgeTPU", "Neural Engine (Core ML)"} <= hardware
    assert all(r.latency_ms > 0 for r in rows) and all(r.resolution for r in rows if r.ranked)


def test_rows_that_are_not_the_same_network_stay_out_of_rankings():
    rows = [r for r in pub.read_device_rows() if r.column == "coral-dev-board"]
    left_out = {r.model_published for r in rows if not r.ranked}
    assert {"ResNet-50 V1 (299x299)", "Inception v1 (224x224)"} <= left_out
    figures = {(r.twin, r.resolution, "tflite", "int8"): {"macs": 1, "params": 1, "memory_traffic": 1, "graph_ops": 1}
               for r in rows if r.twin}
    frame = pub.column_frame(rows, figures)
    assert not set(frame["published"]) & left_out and len(frame) == sum(r.ranked for r in rows)


def test_column_ranking_is_scipy_on_the_cited_rows():
    """Synthetic figures for the real Dev Board rows: rho, tau, n and the Fisher interval are scipy's on them."""
    rows = [r for r in pub.read_device_rows() if r.column == "coral-dev-board"]
    ranked = [r for r in rows if r.ranked]
    figures = {(r.twin, r.resolution, "tflite", "int8"): {"macs": 10 * i + 1, "params": (i * 7) % 5 + i,
                                                          "memory_traffic": i * i, "graph_ops": 3}
               for i, r in enumerate(ranked)}
    [result] = pub.analyse(rows, figures, ["coral-dev-board"])
    latency = [r.latency_ms for r in ranked]
    by_proxy = {p.proxy: p for p in result.ranks}
    assert "graph_ops" not in by_proxy  # constant: no rank correlation
    flops = by_proxy["flops"]
    assert flops.n == len(ranked) == result.n
    assert flops.rho == pytest.approx(spearmanr([10 * i + 1 for i in range(len(ranked))], latency).statistic)
    assert flops.tau == pytest.approx(kendalltau([10 * i + 1 for i in range(len(ranked))], latency).statistic)
    assert flops.ci_fisher == pytest.approx(fisher_ci(flops.rho, flops.n))
    assert flops.ci_fisher[0] < flops.rho < flops.ci_fisher[1]
    assert any("left out" in note for note in result.limits)


def test_fisher_interval_by_hand():
    import math

    low, high = fisher_ci(0.5, 13)  # z = atanh(0.5), se = sqrt(1.06 / 10)
    z, se = math.atanh(0.5), math.sqrt(1.06 / 10)
    assert (low, high) == pytest.approx((math.tanh(z - 1.959964 * se), math.tanh(z + 1.959964 * se)))
    assert all(math.isnan(v) for v in fisher_ci(0.9, 3))


def test_shipped_figures_cover_the_columns_and_rank_them():
    results = pub.analyse()
    said = [c for c in results if c.n >= pub.MIN_TO_SAY]
    assert len(said) >= 8 and len({s for c in said for s in c.sources}) >= 4
    assert all(c.limits for c in results if c.n < pub.MIN_TO_SAY)
    assert any("mixed" in note for c in results for note in c.limits)


def test_a_column_is_ranked_on_its_deployed_graph_or_wholly_on_onnx():
    """Core ML columns on Core ML fp16, TFLite ones on TFLite at int8 or fp32 as they ran, the rest on ONNX fp32; a
    column missing one twin in its own graph is ranked wholly on ONNX fp32 and says so: no ranking mixes graphs."""
    assert pub.deployed_graph("Core ML", "as shipped") == ("coreml", "fp16")
    assert pub.deployed_graph("TFLite (2019), 1 thread(s)", "fp32") == pub.deployed_graph("TFLite", "float") == \
        pub.deployed_graph("TFLite GPU delegate", "fp16 (default)") == ("tflite", "fp32")
    assert pub.deployed_graph("TFLite + Edge TPU", "int8 (Edge TPU)") == pub.deployed_graph("TFLite", "int8 (w8a8)") \
        == ("tflite", "int8")
    assert pub.deployed_graph("QNN (DLC)", "float") == pub.deployed_graph("ONNX Runtime", "int8 (w8a8)") == \
        ("onnx", "fp32")
    rows = [r for r in pub.read_device_rows() if r.column == "iphone12pro-coreml-modelbench"]
    ranked = [r for r in rows if r.ranked]
    def figures(graph, traffic):
        return {(r.twin, r.resolution, *graph): {"macs": i + 1, "params": 1, "memory_traffic": traffic(i),
                                                 "graph_ops": 1} for i, r in enumerate(ranked)}

    onnx, coreml = figures(("onnx", "fp32"), lambda i: i + 1), figures(("coreml", "fp16"), lambda i: -i)
    [whole] = pub.analyse(rows, {**onnx, **coreml})
    assert whole.graph == "coreml fp16" and not any("ONNX" in note for note in whole.limits)
    assert pub.column_frame(rows, {**onnx, **coreml})["memory_traffic"].max() <= 0
    [asked] = pub.analyse(rows, {**onnx, **coreml}, on_onnx=True)  # --onnx-graph: one graph for every column
    assert asked.graph == "onnx fp32" and not any("ONNX" in note for note in asked.limits)
    assert next(r.rho for r in asked.ranks if r.proxy == "memory_traffic") == \
        -next(r.rho for r in whole.ranks if r.proxy == "memory_traffic")
    del coreml[(ranked[0].twin, ranked[0].resolution, "coreml", "fp16")]
    [fallen] = pub.analyse(rows, {**onnx, **coreml})
    assert fallen.graph == "onnx fp32" and fallen.n == whole.n
    assert "counted on onnx fp32, not coreml fp16: 1 twin(s) have no coreml fp16 figures" in "; ".join(fallen.limits)
    assert pub.column_frame(rows, {**onnx, **coreml})["memory_traffic"].min() >= 1


def test_an_int8_column_missing_an_int8_twin_is_ranked_on_its_format_at_fp32():
    """The Coral boards' int8 TFLite column, where ai-edge-quantizer refuses VGG at int8: ranked on TFLite fp32 (the
    format it ran, one precision for the whole column), not on ONNX, and it says so."""
    rows = [r for r in pub.read_device_rows() if r.column == "coral-dev-board"]
    ranked = [r for r in rows if r.ranked]
    fp32 = {(r.twin, r.resolution, "tflite", "fp32"): {"macs": i + 1, "params": 1, "memory_traffic": i + 1,
                                                       "graph_ops": 1} for i, r in enumerate(ranked)}
    int8 = {(r.twin, r.resolution, "tflite", "int8"): {"macs": i + 1, "params": 1, "memory_traffic": 1,
                                                       "graph_ops": 1} for i, r in enumerate(ranked[1:])}
    [result] = pub.analyse(rows, {**fp32, **int8})
    assert result.graph == "tflite fp32" and result.n == len(ranked)
    said = "; ".join(result.limits)
    assert "counted on tflite fp32, not tflite int8: 1 twin(s) have no tflite int8 figures" in said


def test_unknown_column_is_one_line(tmp_path):
    result = run_bench("analyze", "--published", "--column", "iphone99")
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1
    assert "unknown device column 'iphone99'" in result.stderr and "coral-dev-board" in result.stderr


@pytest.mark.slow
def test_shipped_figures_are_what_an_export_here_gives(tmp_path, artifact_cache):
    """Re-measure two small twins from scratch (real exports, each in its column's graph: Core ML fp16 for the
    iPhone, TFLite int8 for the MobileNetV4 paper's Pixel 6 int8 CPU column) and compare with the shipped rows; the
    rest of each column comes from the shipped file, so the command exports only those two."""
    shipped = pub.read_figures()
    again = {("mobileone_s0", 224, "coreml", "fp16"), ("mobilenetv2_100", 224, "tflite", "int8")}
    figures = tmp_path / "figures.csv"
    pub.write_figures({k: v for k, v in shipped.items() if k not in again}, figures)
    png = tmp_path / "heat.png"
    result = run_bench("analyze", "--published", "--measure", "--figures", figures, "--column",
                       "iphone12pro-coreml-modelbench", "--column", "mnv4-pixel6-cpu-int8", "--json", "--plot", png)
    assert result.returncode == 0, result.stderr
    measured = pub.read_figures(figures)
    for key in again:
        assert measured[key] == shipped[key]
    out = {c["column"]: c for c in json.loads(result.stdout)}
    assert out["iphone12pro-coreml-modelbench"]["n"] == 12 and png.stat().st_size > 5000
    assert out["iphone12pro-coreml-modelbench"]["graph"] == "coreml fp16"
    assert out["mnv4-pixel6-cpu-int8"]["graph"] == "tflite int8"
    traffic = next(p for p in out["mnv4-pixel6-cpu-int8"]["proxies"] if p["proxy"] == "memory_traffic")
    assert traffic["n"] == out["mnv4-pixel6-cpu-int8"]["n"] == 10 and -1 <= traffic["rho"] <= 1
