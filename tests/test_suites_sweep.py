"""Ablation suites (MobileOne Tables 1b and 3) and resumable sweeps."""

import json
import signal
import sqlite3
import subprocess
import time

import pytest

from bench.zoo import create_model, list_models
from bench.zoo.ablation_nets import layer_plan
from bench.zoo.counting import count_params_macs
from tests.conftest import BENCH, REPO, run_bench, sigkill_after_records


def test_plain_net_macs_by_hand():
    # 30 layers of 3x3 convs at 112,112 | 56 x4 | 28 x8 | 14 x12 | 7 x4, widths 16/32/64/128/256, + FC 256->1000
    assert len(layer_plan()) == 30
    by_hand = (
        112 * 112 * 16 * 9 * (3 + 16)
        + 56 * 56 * 32 * 9 * (16 + 3 * 32)
        + 28 * 28 * 64 * 9 * (32 + 7 * 64)
        + 14 * 14 * 128 * 9 * (64 + 11 * 128)
        + 7 * 7 * 256 * 9 * (128 + 3 * 256)
        + 256 * 1000
    )
    _, macs = count_params_macs(create_model("ablation_relu"), 224)
    assert macs == by_hand == 786_012_160


def test_variants_differ_only_where_the_paper_says():
    macs = {e.name: count_params_macs(create_model(e.name), 224)[1] for e in list_models("ablation_*")}
    for same in ("ablation_gelu", "ablation_hswish", "ablation_skip"):
        assert macs[same] == macs["ablation_relu"]  # elementwise changes add no MACs
    for extra in ("ablation_se_relu", "ablation_dyrelu_a", "ablation_dyrelu_b", "ablation_dyshiftmax", "ablation_se"):
        assert 0 < macs[extra] - macs["ablation_relu"] < 0.01 * macs["ablation_relu"]  # small FCs only


@pytest.mark.slow
@pytest.mark.parametrize("suite, count", [("mobileone-activations", 7), ("mobileone-blocks", 3)])
def test_suite_runs_on_host_litert(suite, count, store_path, artifact_cache):
    result = run_bench("run", "--suite", suite, "--target", "host-litert", "--runs", "3", "--warmup", "1",
                       "--store", store_path, "--json", timeout=1800)
    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == count
    assert all(r["target"] == "host-litert" and r["format"] == "tflite" and r["n_samples"] == 3 for r in records)
    assert all(r["parity"]["rel_l2"] < 1e-3 for r in records)
    table = run_bench("run", "--suite", suite, "--target", "host-litert", "--runs", "3", "--warmup", "1",
                      "--store", store_path)
    assert "x ablation_relu" in table.stdout and "ablation_relu" in table.stdout


def test_unknown_suite_is_one_line(store_path):
    result = run_bench("run", "--suite", "mobileone-everything", "--store", store_path)
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1
    assert "unknown suite 'mobileone-everything'" in result.stderr and "mobileone-activations" in result.stderr


SWEEP = """models = ["mobileone_s0", "mobilenetv4_conv_small", "mobilenetv2_100"]
protocols = ["mobileone", "mnv4"]
runs = {runs}
warmup = 2
repeats = 2

[[targets]]
name = "host"
"""


def test_sweep_sigkilled_and_resumed_ends_with_one_record_per_cell(tmp_path, artifact_cache):
    config = tmp_path / "sweep.toml"
    config.write_text(SWEEP.format(runs=150))
    store = tmp_path / "sweep.sqlite"
    sigkill_after_records(["sweep", config, "--store", store], store, at_least=2)
    before = sqlite3.connect(store).execute("SELECT COUNT(*) FROM records").fetchone()[0]
    assert 2 <= before < 6
    resumed = run_bench("sweep", config, "--store", store)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{6 - before} measured, {before} already in the store" in resumed.stderr
    rows = sqlite3.connect(store).execute("SELECT model, protocol, COUNT(*) FROM records GROUP BY model, protocol").fetchall()
    assert len(rows) == 6 and all(n == 1 for *_, n in rows)
    again = run_bench("sweep", config, "--store", store)
    assert "0 measured, 6 already in the store" in again.stderr


def test_sweep_ctrl_c_stops_after_current_measurement(tmp_path, artifact_cache):
    config = tmp_path / "sweep.toml"
    config.write_text(SWEEP.format(runs=150))
    store = tmp_path / "sweep.sqlite"
    proc = subprocess.Popen([*BENCH, "sweep", str(config), "--store", str(store)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600
    while time.time() < deadline and not store.exists():
        time.sleep(0.05)
    time.sleep(1.0)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, err
    assert "interrupted: rerun the same command to finish" in err and "Traceback" not in err
    n = sqlite3.connect(store).execute("SELECT COUNT(*) FROM records").fetchone()[0]
    assert 1 <= n < 6


@pytest.mark.parametrize(
    "body, fragment",
    [
        ('models = ["mobileone_s0"]\n\n[[targets]]\nname = "host"\nformats = ["coreml/fp16"]\n',
         ":5: target host cannot run coreml/fp16"),
        ('runs = 5\nmodels = ["mobileone_s0", "mobileone_s7"]\n', ":2: unknown model 'mobileone_s7'"),
        ('models = ["mobileone_s0"]\n\n[[targets]]\nname = "pixel99"\n', ":4: unknown target 'pixel99'"),
        ('models = ["mobileone_s0"]\nprotocol = ["mnv4"]\n', ":2: unknown key 'protocol'"),
    ],
)
def test_bad_sweep_entry_reported_with_its_line_before_running(body, fragment, tmp_path):
    config = tmp_path / "bad.toml"
    config.write_text(body)
    store = tmp_path / "s.sqlite"
    result = run_bench("sweep", config, "--store", store)
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert fragment in result.stderr
    assert not store.exists()
