"""Android runner at its boundary: the benchmark_model parser, the exact commands sent, and the transport driven by
the real adb client against a device-side stand-in (tests/adb_standin.py). The stand-in's replies are real recorded
benchmark_model outputs; they are checked here and never reach a record or a report."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from bench.core.errors import DeviceError, InputDataError
from bench.core.protocols import get_protocol
from devices import get_target
from devices.android.adb import Adb, DeviceLost, choose_serial, list_devices
from devices.android.benchmark_log import parse
from devices.android.benchmark_model import benchmark_args, benchmark_command, delegate_flags
from devices.android.phone import fastest_cores_mask
from tests.adb_standin import FakePhone, StandIn, free_port
from tests.conftest import REPO, run_bench

FIXTURES = REPO.parent / "shared" / "fixtures" / "benchmark_model"
GPU_LOG = (FIXTURES / "android_gpu_delegate.txt").read_text()
DESKTOP_LOG = (FIXTURES / "desktop_xnnpack_info_prefix.txt").read_text()


# ------------------------------------------------------------------ parser


def test_parses_android_gpu_fixture():
    log = parse(GPU_LOG)
    m = log.measured
    assert (m.count, m.min_ms, m.max_ms, m.avg_ms, m.std_ms) == (50, 113.737, 124.776, 119.375, 1.948)
    assert log.warmup.count == 4 and log.init_ms == 870.557 and log.first_inference_ms == 130.565


def test_parses_desktop_fixture_with_info_prefix():
    log = parse(DESKTOP_LOG)
    assert log.measured.count == 74 and log.measured.avg_ms == pytest.approx(13.5202) and log.init_ms == 12.75
    assert log.requested_runs == 50  # the count differs from --num_runs: min_secs was not zeroed


def test_logcat_prefix_percentiles_scientific_and_memory():
    text = "\n".join(
        "05-31 10:31:13.022 21767 21767 I tflite  : " + line
        for line in [
            "Running benchmark for at least 10 iterations and at least 0 seconds but terminate if exceeding 100000 seconds.",
            "count=10 first=3100 curr=2950 min=2900 max=3100 avg=2.95034e+03 std=50",
            "Running benchmark for at least 1000 iterations and at least 0 seconds but terminate if exceeding 100000 seconds.",
            "count=1000 first=2950 curr=2940 min=2800 max=4100 avg=2.95034e+03 std=61 p5=2850 median=2940 p95=3050",
            "Inference timings in us: Init: 15000, First inference: 3100, Warmup (avg): 2950.34, Inference (avg): 2950.34",
            "Memory footprint delta from the start of the tool (MB): init=3.2 overall=9.75",
        ]
    )
    log = parse(text)
    m = log.measured
    assert m.count == 1000 and m.avg_ms == pytest.approx(2.95034) and m.p5_ms == 2.85 and m.median_ms == 2.94
    assert m.p95_ms == 3.05 and log.memory == {"delta_init_mb": 3.2, "delta_overall_mb": 9.75}
    assert log.init_ms == 15.0 and log.first_inference_ms == 3.1


def test_all_same_line_and_peak_memory():
    log = parse("count=5 curr=1500(all same)\ncount=50 curr=1200(all same)\n"
                "Peak memory footprint (MB): init=1.5 overall=20.25\n")
    assert log.measured.count == 50 and log.measured.min_ms == log.measured.max_ms == 1.2
    assert log.measured.std_ms == 0.0 and log.memory == {"peak_init_mb": 1.5, "peak_overall_mb": 20.25}


def test_2018_average_format():
    log = parse("Initialized session in 5.1ms\nAverage inference timings in us: Warmup: 167254, Init: 5074, "
                "Inference: 160965\n")
    assert log.format == "2018-average" and log.measured.avg_ms == 160.965 and log.init_ms == 5.074
    assert log.measured.min_ms is None


def test_op_profile_timings_are_not_phases():
    text = GPU_LOG.split("Inference timings")[0] + (
        "Inference timings in us: Init: 1, First inference: 2, Warmup (avg): 3, Inference (avg): 4\n"
        "Operator-wise Profiling Info for Regular Benchmark Runs:\n"
        "============================== Run Order ==============================\n"
        "\t [node type]\t [first]\t [avg ms]\n"
        "Timings (microseconds): count=50 first=1 curr=1 min=1 max=1 avg=1 std=0\n")
    log = parse(text)
    assert log.measured.count == 50 and log.measured.min_ms == 113.737 and len(log.op_profile) >= 3


@pytest.mark.parametrize("text", [
    GPU_LOG.split("Running benchmark for at least 50")[0],  # crashed after warm-up
    "STARTING!\nLoaded model x.tflite\nSegmentation fault\n",
    "",
])
def test_log_that_stops_early_is_an_error(text):
    with pytest.raises(InputDataError):
        parse(text)


def test_import_cli_stores_a_real_log(tmp_path):
    store = tmp_path / "s.sqlite"
    result = run_bench("import", "benchmark-model", FIXTURES / "desktop_xnnpack_info_prefix.txt",
                       "--model", "mobilenet_v1", "--target", "android", "--store", store, "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    for key in ("count", "min_ms", "avg_ms", "max_ms", "std_ms", "init_ms", "first_inference_ms"):
        assert key in out
    assert out["count"] == 74 and out["latency_ms"] == out["min_ms"] == 13.105
    bad = run_bench("import", "benchmark-model", REPO / "README.md", "--model", "x", "--target", "android",
                    "--store", store)
    assert bad.returncode != 0 and "no benchmark_model timings found" in bad.stderr


# ------------------------------------------------------------------ commands


def test_exact_flags_per_delegate():
    assert delegate_flags("xnnpack") == ["--use_xnnpack=true"]
    assert delegate_flags("cpu") == ["--use_xnnpack=false"]
    assert delegate_flags("gpu") == ["--use_gpu=true", "--gpu_precision_loss_allowed=true"]
    assert delegate_flags("nnapi", "google-edgetpu") == ["--use_nnapi=true", "--nnapi_accelerator_name=google-edgetpu"]
    assert delegate_flags("hexagon") == ["--use_hexagon=true"]


def test_exact_argv_for_protocol_counts():
    p = get_protocol("mnv4")
    args = benchmark_args("/data/local/tmp/bench/m.tflite", runs=p.runs, warmup=p.warmup, threads=1,
                          delegate="xnnpack", op_profile=True)
    assert args == ["--graph=/data/local/tmp/bench/m.tflite", "--num_runs=1000", "--warmup_runs=100",
                    "--min_secs=0", "--warmup_min_secs=0", "--max_secs=100000", "--num_threads=1",
                    "--use_xnnpack=true", "--enable_op_profiling=true"]
    assert benchmark_command("/data/local/tmp/bench/benchmark_model", args[:2], "c0") == (
        "taskset c0 /data/local/tmp/bench/benchmark_model --graph=/data/local/tmp/bench/m.tflite --num_runs=1000")


def test_fastest_cores_mask():
    freqs = [1803000] * 4 + [2348000] * 2 + [2850000] * 2
    assert fastest_cores_mask(freqs, 1) == ("80", [7])
    assert fastest_cores_mask(freqs, 2) == ("c0", [6, 7])
    assert fastest_cores_mask(freqs, 4) == ("f0", [4, 5, 6, 7])


# ------------------------------------------------------------------ real adb, no device


def test_no_device_with_real_adb(tmp_path):
    env = {"ADB_SERVER_SOCKET": f"tcp:127.0.0.1:{free_port()}", "BENCH_BENCHMARK_MODEL": str(tmp_path / "bm")}
    try:
        result = run_bench("run", "--model", "mobileone_s0", "--target", "pixel7", "--store", tmp_path / "s.sqlite",
                           env=env, timeout=120)
        assert result.returncode == 4
        lines = result.stderr.strip().splitlines()
        assert lines == [l for l in lines if l.startswith("bench: error:")] and len(lines) == 1, result.stderr
        assert "no Android device attached for target pixel7" in lines[0] and "adb devices" in lines[0]
    finally:
        subprocess.run(["adb", "kill-server"], env={**os.environ, **env}, capture_output=True, timeout=30)


# ------------------------------------------------------------------ transport against the stand-in


@pytest.fixture
def binary(tmp_path):
    path = tmp_path / "benchmark_model"
    path.write_bytes(b"\x7fELF" + os.urandom(4096))  # any bytes: the stand-in checks it was pushed and chmod'ed
    return path


@pytest.fixture
def tflite_artifact(artifact_cache):
    from bench.artifact import ensure_artifact
    from exporters.registry import ExportRequest

    return ensure_artifact(ExportRequest("mobileone_s0", 224, "tflite", "fp32"))


def _with_env(standin, monkeypatch):
    for k, v in standin.env.items():
        monkeypatch.setenv(k, v)


def test_devices_facts_and_serial_choice(monkeypatch):
    with StandIn([FakePhone("PX7A"), FakePhone("PX6B", model="Pixel 6")]) as s:
        _with_env(s, monkeypatch)
        devices = list_devices()
        assert [(d.serial, d.state, d.model) for d in devices] == [("PX7A", "device", "Pixel 7"),
                                                                   ("PX6B", "device", "Pixel 6")]
        with pytest.raises(DeviceError, match="2 devices attached .* choose one with --serial"):
            choose_serial(None, devices, "pixel7")
        assert choose_serial("PX6B", devices, "pixel6") == "PX6B"
        with pytest.raises(DeviceError, match="no device with serial NOPE"):
            choose_serial("NOPE", devices, "pixel6")


def test_measure_pushes_once_and_sends_exact_commands(monkeypatch, binary, tflite_artifact):
    phone = FakePhone("PX7A", benchmark_output=GPU_LOG, thermal_statuses=[2, 0])
    with StandIn([phone]) as s:
        _with_env(s, monkeypatch)
        target = get_target("pixel7")
        protocol = get_protocol("mnv4").with_overrides(runs=50, warmup=4, repeats=2)
        options = {"benchmark_model": str(binary), "delegate": "gpu", "cooldown_s": 5, "retry_wait_s": 0.1}
        done = []
        m = target.measure(tflite_artifact, protocol, threads=2, options=options, progress=done.append)
        assert done == [50, 50] and len(m.repeat_summaries) == 2
        assert m.repeat_summaries[0]["min"] == 113.737 and m.repeat_summaries[0]["count"] == 50
        assert m.device["model"] == "Pixel 7" and m.device["soc"] == "Tensor G2" and m.device["affinity_cores"] == [6, 7]
        assert m.extra["hygiene"][0]["thermal_status"] == 0 and m.extra["hygiene"][0]["cooldown_waited_s"] > 0
        assert m.extra["hygiene"][0]["battery"]["level"] == 87
        remote_model = f"/data/local/tmp/bench/{tflite_artifact.sha256[:16]}.tflite"
        assert phone.benchmarks[0]["argv"] == ["/data/local/tmp/bench/benchmark_model", f"--graph={remote_model}",
                                               "--num_runs=50", "--warmup_runs=4", "--min_secs=0",
                                               "--warmup_min_secs=0", "--max_secs=100000", "--num_threads=2",
                                               "--use_gpu=true", "--gpu_precision_loss_allowed=true"]
        assert any(c.startswith("taskset c0 ") for c in phone.commands)
        assert phone.files[remote_model] == Path(tflite_artifact.path).read_bytes()
        assert sorted(phone.pushes) == sorted(["/data/local/tmp/bench/benchmark_model", remote_model])
        # A second measurement finds identical files on the phone and pushes nothing.
        target.measure(tflite_artifact, protocol, threads=2, options=options, progress=lambda n: None)
        assert len(phone.pushes) == 2


def test_count_mismatch_is_refused(monkeypatch, binary, tflite_artifact):
    with StandIn([FakePhone("PX7A", benchmark_output=DESKTOP_LOG)]) as s:  # count=74 for 50 asked
        _with_env(s, monkeypatch)
        protocol = get_protocol("mobileone").with_overrides(runs=50, warmup=1)
        with pytest.raises(DeviceError, match="ran 74 runs, asked for 50"):
            get_target("pixel7").measure(tflite_artifact, protocol, threads=1,
                                         options={"benchmark_model": str(binary)}, progress=lambda n: None)


def test_wrong_phone_for_target(monkeypatch, binary, tflite_artifact):
    with StandIn([FakePhone("PX6B", model="Pixel 6", benchmark_output=GPU_LOG)]) as s:
        _with_env(s, monkeypatch)
        with pytest.raises(DeviceError, match="is a Pixel 6, not a Pixel 7"):
            get_target("pixel7").measure(tflite_artifact, get_protocol("mobileone"), threads=1,
                                         options={"benchmark_model": str(binary)}, progress=lambda n: None)


def test_device_lost_mid_run_is_retried_once_then_clear_error(monkeypatch, binary, tflite_artifact):
    phone = FakePhone("PX7A", benchmark_output=GPU_LOG, lose_after_benchmarks=1)
    with StandIn([phone]) as s:
        _with_env(s, monkeypatch)
        protocol = get_protocol("mnv4").with_overrides(runs=50, warmup=4, repeats=3)
        with pytest.raises(DeviceLost, match="PX7A lost mid-run .*not found.*finished measurements are stored"):
            get_target("pixel7").measure(tflite_artifact, protocol, threads=1,
                                         options={"benchmark_model": str(binary), "retry_wait_s": 0.1},
                                         progress=lambda n: None)
        lost_at = next(i for i, r in enumerate(s.requests) if "benchmark_model" in r and i > 0)
        transports = [r for r in s.requests[lost_at:] if r.startswith("host:tport:serial:PX7A")]
        assert len(transports) >= 2  # the retry asked again before giving up


def test_cli_keeps_finished_records_when_a_phone_is_lost(tmp_path, binary, tflite_artifact):
    store = tmp_path / "s.sqlite"
    phone = FakePhone("PX7A", benchmark_output=GPU_LOG, lose_after_benchmarks=0)
    with StandIn([phone]) as s:
        host = run_bench("run", "--model", "mobileone_s0", "--runs", "20", "--warmup", "2", "--store", store, env=s.env)
        assert host.returncode == 0, host.stderr
        lost = run_bench("run", "--model", "mobileone_s0", "--target", "pixel7", "--precision", "fp32", "--runs", "50",
                         "--benchmark-model", binary, "--store", store, env=s.env)
    assert lost.returncode == 4 and "lost mid-run" in lost.stderr and "Traceback" not in lost.stderr
    listed = json.loads(run_bench("results", "--store", store, "--json").stdout)
    assert [r["target"] for r in listed] == ["host"]


def test_several_phones_get_one_worker_each(tmp_path, binary, tflite_artifact):
    # Both phones are Pixel 6s asked to be pixel7s: each worker reads its phone's facts, then stops before any
    # benchmark, so nothing a stand-in says can reach a record. What is checked: each phone was driven.
    phones = [FakePhone("PX6A", model="Pixel 6", benchmark_output=GPU_LOG),
              FakePhone("PX6B", model="Pixel 6", benchmark_output=GPU_LOG)]
    store = tmp_path / "s.sqlite"
    with StandIn(phones) as s:
        result = run_bench("run", "--model", "mobileone_s0", "--target", "pixel7", "--precision", "fp32",
                           "--serial", "PX6A", "--serial", "PX6B", "--runs", "50", "--benchmark-model", binary,
                           "--store", store, env=s.env)
    assert result.returncode == 4 and "not a Pixel 7" in result.stderr, result.stderr
    assert all(any(c.startswith("getprop ro.product.model") for c in p.commands) for p in phones), (
        result.stderr, [p.commands for p in phones], s.requests)
    assert not any(p.benchmarks for p in phones)
