"""Android runner at its boundary: the benchmark_model parser on real logs (tests/data/android, sources in SOURCES.md),
the import, the exact commands sent, and the transport driven by the real adb client against a device-side stand-in
(tests/adb_standin.py) speaking both adb shell protocols. The stand-in's replies are real recorded benchmark_model
outputs; they are checked here and never reach a stored record or a report."""

import json
import os
import shlex
import shutil
import sqlite3
import struct
import subprocess
from pathlib import Path

import pytest

from bench.artifact.cache import Artifact
from bench.core.errors import DeviceError, InputDataError, UnsupportedFormat
from bench.core.hashing import content_hash
from bench.core.protocols import get_protocol
from devices import get_target
from devices.android.adb import Adb, CommandTimeout, DeviceLost, choose_serial, list_devices
from devices.android.benchmark_log import SeveralRuns, count_runs, parse
from devices.android.benchmark_model import benchmark_args, benchmark_command, delegate_flags, timed_timeout
from devices.android.device_state import Throttled, before, clock_command, parse_clocks, readings, throttling
from devices.android.elf import check_abi, check_android_build, read_executable
from devices.android.importer import import_benchmark_log
from devices.android.phone import fastest_cores_mask, parse_cpu_list
from tests.adb_standin import FakePhone, StandIn, free_port
from tests.conftest import run_bench

DATA = Path(__file__).parent / "data" / "android"
GPU_LOG = (DATA / "android_gpu_delegate.txt").read_text()
DESKTOP_LOG = (DATA / "desktop_xnnpack_info_prefix.txt").read_text()
needs_adb = pytest.mark.skipif(shutil.which("adb") is None,
                               reason="the adb client is not installed (Debian: apt-get install adb); CI installs it")


def real(name: str) -> str:
    return (DATA / name).read_text()


# ------------------------------------------------------------------ parser, on real logs


def test_parses_android_gpu_fixture():
    log = parse(GPU_LOG)
    m = log.measured
    assert (m.count, m.min_ms, m.max_ms, m.avg_ms, m.std_ms) == (50, 113.737, 124.776, 119.375, 1.948)
    assert log.warmup.count == 4 and log.init_ms == 870.557 and log.first_inference_ms == 130.565
    assert log.threads == 4 and log.delegate == "gpu" and log.op_profiling  # --enable_op_profiling=true was given
    assert log.delegation == {"gpu_kernels": 1, "delegate": "GPU", "graph": "complete"}


def test_parses_desktop_fixture_with_info_prefix():
    log = parse(DESKTOP_LOG)
    assert log.measured.count == 74 and log.measured.avg_ms == pytest.approx(13.5202) and log.init_ms == 12.75
    assert log.requested_runs == 50  # the count exceeds --num_runs: min_secs was not zeroed
    assert log.delegate == "xnnpack" and log.threads is None  # XNNPACK by default; threads not printed


def test_count1_warmup_line_without_min_max():
    log = parse(real("imx8_nnapi_count1_warmup.txt"))
    assert log.warmup.count == 1 and log.warmup.min_ms == log.warmup.max_ms == log.warmup.avg_ms == 11403.859
    assert log.measured.count == 260 and log.measured.min_ms == 3.7 and log.measured.avg_ms == pytest.approx(3.75687)
    assert log.delegate == "nnapi" and log.delegation["graph"] == "complete"
    assert log.memory == {"peak_init_mb": 0.0, "peak_overall_mb": 15.3438}


def test_log_with_several_runs_needs_a_choice():
    text = real("qualcomm_rb1_cpu_then_gpu_percentiles.txt")
    assert count_runs(text) == 2
    with pytest.raises(SeveralRuns, match=r"holds 2 benchmark_model runs; choose one with --run N \(1 to 2\)"):
        parse(text, source="rb1.txt")
    cpu, gpu = parse(text, run=1), parse(text, run=2)
    assert (cpu.measured.min_ms, cpu.delegate) == (105.416, "xnnpack")
    assert cpu.flags == {"graph": "mobilenet_quant_v1_224.tflite", "use_gpu": "false"}
    assert (gpu.measured.p5_ms, gpu.measured.median_ms, gpu.measured.p95_ms) == (112.107, 115.35, 116.62)
    assert gpu.delegate == "gpu" and gpu.memory["delta_overall_mb"] == 132.816 and gpu.run == 2
    with pytest.raises(InputDataError, match="--run 3 is not one of 1 to 2"):
        parse(text, run=3)


def test_summary_only_logs_and_partial_delegation():
    text = real("summary_only_partial_delegation.txt")
    assert count_runs(text) == 4
    nnapi = parse(text, run=3)
    assert nnapi.format == "summary-average" and nnapi.measured.min_ms is None
    assert nnapi.measured.avg_ms == 53.9745 and nnapi.warmup.avg_ms == 75.055 and nnapi.first_inference_ms == 207.213
    assert nnapi.threads == 4 and nnapi.delegate == "nnapi"
    assert nnapi.delegation == {"delegate": "NNAPI", "graph": "partial", "delegate_kernels": 11}
    assert parse(text, run=4).delegation["delegate_kernels"] == 2


def test_2019_log_average_line_and_a_run_cut_mid_number():
    text = real("android_2019_two_runs_truncated.txt")
    first = parse(text, run=1)
    assert first.measured.count == 15 and first.measured.min_ms == 66.699 and first.warmup.count == 7
    with pytest.raises(InputDataError) as cut:  # "max=3760": the post was cut in the middle of max=3760x
        parse(text, source="yuens.txt", run=2)
    assert "yuens.txt (run 2 of 2), line 33:" in str(cut.value) and "count=25" in str(cut.value)


def test_op_profile_after_the_summary_and_duplicate_flags_line():
    log = parse(real("android_op_profiling_duplicate_flags.txt"))
    assert log.measured.count == 50 and log.measured.min_ms == 32.641 and log.threads == 4
    assert log.op_profiling and log.op_profile[0] == "Profiling Info for Benchmark Initialization:"


def test_failed_run_log_names_the_tools_error():
    with pytest.raises(InputDataError, match="failed before timing anything: Failed to apply XNNPACK delegate"):
        parse(real("xnnpack_delegate_failed.txt"), source="x.txt")


def test_android_studio_and_adb_logcat_prefixes():
    lines = GPU_LOG.splitlines()[7:]  # the tool's output, without the adb command line
    studio = "\n".join(f"2023-06-14 10:55:21.084 18088-18088 tflite  org.tensorflow.lite.benchmark  I  {ln}"
                       for ln in lines)
    threadtime = "\n".join(f"05-31 10:31:13.022 21767 21767 I tflite  : {ln}" for ln in lines)
    for text in (studio, threadtime):
        log = parse(text)
        assert (log.measured.count, log.measured.min_ms, log.init_ms, log.threads) == (50, 113.737, 870.557, 4)
        assert log.delegation["graph"] == "complete"


def test_utf16_and_colored_logs(tmp_path):
    powershell = tmp_path / "ps.txt"  # PowerShell's `adb shell ... > log.txt` writes UTF-16LE with a BOM
    powershell.write_bytes(GPU_LOG.encode("utf-16"))
    assert import_benchmark_log(powershell, model="m", target="android").min_ms == 113.737
    colored = "\n".join(f"\x1b[32m05-31 10:31:13.022 21767 21767 I tflite  : {ln}\x1b[0m"
                        for ln in GPU_LOG.splitlines())
    assert parse(colored).measured.min_ms == 113.737


def test_all_same_line_and_2018_average():
    log = parse("count=5 curr=1500(all same)\ncount=50 curr=1200(all same)\n"
                "Peak memory footprint (MB): init=1.5 overall=20.25\n")
    assert log.measured.count == 50 and log.measured.min_ms == log.measured.max_ms == 1.2
    old = parse("Initialized session in 5.1ms\nAverage inference timings in us: Warmup: 167254, Init: 5074, "
                "Inference: 160965\n")
    assert old.format == "2018-average" and old.measured.avg_ms == 160.965 and old.measured.min_ms is None
    # the 2019 line (real, android_2019_two_runs_truncated.txt) when a post keeps only the summary
    summary_2019 = [ln for ln in real("android_2019_two_runs_truncated.txt").splitlines() if "Average" in ln][0]
    summary = parse(summary_2019)
    assert summary.measured.avg_ms == 66.7676 and summary.warmup.avg_ms == pytest.approx(76.6059)


def test_2019_summary_imports_under_mnv4_only(tmp_path):
    log = tmp_path / "summary2019.txt"
    log.write_text(real("android_2019_two_runs_truncated.txt").split("echo '[INFO]")[0].split("Running")[0] +
                   [ln for ln in real("android_2019_two_runs_truncated.txt").splitlines() if "Average" in ln][0])
    with pytest.raises(InputDataError, match="only an average \\(2018-average\\), no per-run minimum"):
        import_benchmark_log(log, model="m", target="android", protocol="mobileone")
    assert import_benchmark_log(log, model="m", target="android", protocol="mnv4").latency_ms == 66.7676
    default = import_benchmark_log(log, model="m", target="android")  # Android's own protocol: mnv4
    assert default.protocol == "mnv4" and default.latency_ms == 66.7676


@pytest.mark.parametrize("text, says", [
    ("", "is empty"),
    ("   \n\n", "is empty"),
    (GPU_LOG.split("Running benchmark for at least 50")[0], "stops before the measured phase finished"),
    (GPU_LOG.replace("min=113737", "min=1.1.1"), "line 29: 'min=1.1.1' is not a number"),
    (GPU_LOG.replace("max=124776 avg=119375 std=1948", "max=12477"), "line 29: count line is incomplete"),
    (GPU_LOG.replace("max=124776", "max=12477"), "line 29: count line is not consistent"),
    (GPU_LOG.replace("count=50 first", "count=40 first"), "ran 40 runs, fewer than the 50"),
    (GPU_LOG.replace("Inference (avg): 119375", "Inference (avg): 1193x5"), "is not a number"),
    ("STARTING!\nLoaded model x.tflite\nSegmentation fault\n", "failed before timing anything: Segmentation fault"),
    ("hello\nworld\n", "no benchmark_model timings found"),
])
def test_bad_logs_are_one_clear_error(text, says):
    with pytest.raises(InputDataError) as err:
        parse(text, source="log.txt")
    assert says in str(err.value) and str(err.value).startswith("log.txt") and "\n" not in str(err.value)


def test_binary_input_is_refused():
    with pytest.raises(InputDataError, match="is binary data, not a benchmark_model log"):
        parse(b"\x7fELF\x02\x01\x01\x00" + os.urandom(2000), source="bm")  # type: ignore[arg-type]


# ------------------------------------------------------------------ import


def test_import_records_what_the_log_says(tmp_path):
    record = import_benchmark_log(DATA / "qualcomm_rb1_cpu_then_gpu_percentiles.txt", model="mobilenet_v1_q",
                                  target="android", run=2, protocol="mobileone")
    assert record.latency_ms == record.min_ms == 111.842 and record.runs == 50 and record.warmup == 5
    assert record.options["delegate"] == "gpu" and record.threads == 0 and not record.extra["threads_in_log"]
    assert record.host == {} and record.device == {} and record.extra["imported"] is True
    assert record.runtime_version == "unknown (not printed in the log)" and record.extra["log_format"] == "count-lines"
    threads = import_benchmark_log(DATA / "android_gpu_delegate.txt", model="m", target="pixel7")
    assert threads.threads == 4 and threads.extra["op_profiling"] is True and threads.target == "pixel7"


def test_import_summary_only_needs_a_mean_protocol():
    path = DATA / "summary_only_partial_delegation.txt"
    with pytest.raises(InputDataError, match="only an average .* --protocol mnv4"):
        import_benchmark_log(path, model="m", target="android", run=3, protocol="mobileone")
    record = import_benchmark_log(path, model="m", target="android", run=3, protocol="mnv4")
    assert record.latency_ms == record.mean_ms == 53.9745 and record.min_ms is None
    assert record.extra["partially_delegated"] and record.extra["delegation"]["delegate_kernels"] == 11
    assert record.options["delegate"] == "nnapi" and record.threads == 4


def test_import_refuses_a_failed_run(tmp_path):
    failed = tmp_path / "failed.txt"
    failed.write_text(GPU_LOG.split("Note: as t")[0] + "Benchmarking failed.\n")
    with pytest.raises(InputDataError, match="reported a failure in this run .*Benchmarking failed"):
        import_benchmark_log(failed, model="m", target="android")


def test_import_cli_stores_a_real_log(tmp_path):
    store = tmp_path / "s.sqlite"
    result = run_bench("import", "benchmark-model", DATA / "desktop_xnnpack_info_prefix.txt", "--model", "mobilenet_v1",
                       "--target", "android", "--protocol", "mobileone", "--store", store, "--json")
    assert result.returncode == 0, result.stderr
    [stored] = json.loads(run_bench("results", "--store", store, "--json").stdout)
    assert stored["latency_ms"] == stored["min_ms"] == 13.105 and stored["runs"] == 74 and stored["target"] == "android"
    by_default = run_bench("import", "benchmark-model", DATA / "desktop_xnnpack_info_prefix.txt", "--model",
                           "mobilenet_v1", "--target", "android", "--store", store, "--json")
    record = json.loads(by_default.stdout)  # Android's own protocol: the mean of the run, as MobileNetV4 measured
    assert record["protocol"] == "mnv4" and record["latency_ms"] == record["mean_ms"] == 13.5202


@pytest.mark.parametrize("content, says", [
    (b"", "is empty"),
    (b"\x00\x01\x02binary\xff" * 100, "is binary data"),
    (GPU_LOG.split("count=50")[0].encode(), "stops before the measured phase"),
    (GPU_LOG.replace("avg=119375", "avg=11x9375").encode(), "is not a number"),
])
def test_import_cli_bad_logs_one_line_nothing_stored(tmp_path, content, says):
    log, store = tmp_path / "log.txt", tmp_path / "s.sqlite"
    log.write_bytes(content)
    result = run_bench("import", "benchmark-model", log, "--model", "m", "--target", "android", "--store", store)
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1 and says in lines[0] and "Traceback" not in result.stderr
    assert not store.exists() or sqlite3.connect(store).execute("SELECT COUNT(*) FROM records").fetchone()[0] == 0


# ------------------------------------------------------------------ commands


def test_exact_flags_per_delegate():
    assert delegate_flags("xnnpack") == ["--use_xnnpack=true"]
    assert delegate_flags("xnnpack", precision="fp16") == ["--use_xnnpack=true", "--xnnpack_force_fp16=true"]
    assert delegate_flags("cpu") == ["--use_xnnpack=false"]
    assert delegate_flags("gpu") == ["--use_gpu=true", "--gpu_precision_loss_allowed=true"]
    assert delegate_flags("nnapi", "google-edgetpu") == ["--use_nnapi=true", "--nnapi_accelerator_name=google-edgetpu"]
    with pytest.raises(UnsupportedFormat, match="hexagon delegate is not offered"):
        delegate_flags("hexagon")
    assert all("hexagon" not in t.delegates for t in map(get_target, ("samsung-s23", "android", "pixel7")))


def test_exact_argv_for_protocol_counts():
    p = get_protocol("mnv4")
    args = benchmark_args("/data/local/tmp/bench/m.tflite", runs=p.runs, warmup=p.warmup, threads=1,
                          delegate="xnnpack", require_full_delegation=True)
    assert args == ["--graph=/data/local/tmp/bench/m.tflite", "--num_runs=1000", "--warmup_runs=100",
                    "--min_secs=0", "--warmup_min_secs=0", "--max_secs=100000", "--num_threads=1",
                    "--use_xnnpack=true", "--require_full_delegation=true"]
    assert benchmark_command("/data/local/tmp/bench/benchmark_model", args[:2], "c0") == (
        "taskset c0 /data/local/tmp/bench/benchmark_model --graph=/data/local/tmp/bench/m.tflite --num_runs=1000")


def test_mask_from_real_core_ids():
    freqs = [1803000] * 4 + [2348000] * 2 + [2850000] * 2
    assert fastest_cores_mask(freqs, 2) == ("c0", [6, 7])
    # cpu4 offline and gone from cpufreq: ids stay ids, nothing shifts
    gaps = {0: 1803000, 1: 1803000, 2: 1803000, 3: 1803000, 5: 2348000, 6: 2850000, 7: 2850000}
    assert fastest_cores_mask(gaps, 3, parse_cpu_list("0-3,5-7")) == ("e0", [5, 6, 7])
    # cpu5 offline but still listed by cpufreq: it is not chosen
    assert fastest_cores_mask(freqs, 4, parse_cpu_list("0-4,6-7")) == ("d8", [3, 4, 6, 7])


def test_timeout_bound_from_the_probe():
    probe = parse(real("imx8_nnapi_count1_warmup.txt"))  # first inference 11.4 s (NNAPI compiles), runs 3.8 ms
    assert timed_timeout(probe, 1000, 100) == pytest.approx(60 + 2 * 0.013386 + 3 * 1100 * 11.403859)
    quick = parse(DESKTOP_LOG)
    assert timed_timeout(quick, 1000, 100) == pytest.approx(60 + 2 * 0.01275 + 3 * 1100 * 0.015765)  # the measured max


# ------------------------------------------------------------------ the binary's ABI, the throttling rule

NIGHTLY_AARCH64 = ("https://storage.googleapis.com/tensorflow-nightly-public/prod/tensorflow/release/lite/tools/"
                   "nightly/latest/android_aarch64_benchmark_model")


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="reads the host's own /bin/true as an x86-64 executable")
def test_a_real_host_executable_is_refused_as_a_linux_build():
    true = read_executable(Path("/bin/true"))
    assert (true.machine, true.abis) == ("x86-64", ("x86_64",)) and true.interpreter.startswith("/lib")
    with pytest.raises(DeviceError) as err:
        check_android_build(true)
    assert str(err.value) == (f"the benchmark_model binary /bin/true is a Linux build (its loader is "
                              f"{true.interpreter}), not an Android one; download the android_aarch64 binary from "
                              f"{NIGHTLY_AARCH64}")


@pytest.mark.skipif(shutil.which("readelf") is None, reason="binutils' readelf is not installed; CI installs it")
@pytest.mark.parametrize("machine, bits, interpreter, called", [
    (183, 64, "/system/bin/linker64", "AArch64"), (40, 32, "/system/bin/linker", "ARM"), (62, 64, None, "X86-64")])
def test_handmade_elf_agrees_with_readelf(tmp_path, machine, bits, interpreter, called):
    path = android_elf(tmp_path / "bm", machine, bits, interpreter)
    said = subprocess.run(["readelf", "-h", "-l", str(path)], capture_output=True, text=True, timeout=30)
    assert said.returncode == 0 and f"ELF{bits}" in said.stdout and called in said.stdout, said.stdout
    assert (f"[Requesting program interpreter: {interpreter}]" in said.stdout) == bool(interpreter)
    assert read_executable(path).interpreter == interpreter
    check_android_build(read_executable(path))  # Android's loader, or none (static): accepted


def test_abi_check_names_the_binary_the_phone_and_the_download(tmp_path):
    arm32 = read_executable(android_elf(tmp_path / "arm", 40, 32, "/system/bin/linker"))
    check_abi(arm32, ["arm64-v8a", "armeabi-v7a", "armeabi"], "android (serial FA1)")  # a 2016 Pixel runs it
    with pytest.raises(DeviceError) as err:
        check_abi(arm32, ["arm64-v8a"], "pixel7 (serial PX7A)")  # a Pixel 7 runs 64-bit code only
    assert str(err.value) == (f"the benchmark_model binary {tmp_path / 'arm'} is 32-bit ARM; pixel7 (serial PX7A) "
                              f"runs arm64-v8a; download the android_aarch64 binary from {NIGHTLY_AARCH64}")
    x86 = read_executable(android_elf(tmp_path / "x86", 62, 64))
    check_abi(x86, ["x86_64", "x86"], "android (serial emulator-5554)")
    with pytest.raises(DeviceError, match=r"x86 is x86-64; android \(serial A\) runs arm64-v8a, armeabi-v7a; "
                                          r"download the android_aarch64 binary"):
        check_abi(x86, ["arm64-v8a", "armeabi-v7a"], "android (serial A)")
    with pytest.raises(DeviceError, match=r"runs armeabi-v7a, armeabi; download the android_arm binary from "
                                          r"\S+/android_arm_benchmark_model$"):
        check_abi(read_executable(android_elf(tmp_path / "a64")), ["armeabi-v7a", "armeabi"], "android (serial B)")


@pytest.mark.parametrize("content, says", [
    (b"#!/bin/sh\necho hi\n", "is not an ELF executable"),
    (b"\x7fELF\x02\x02\x01" + bytes(80), "is not a little-endian 32- or 64-bit ELF file"),
])
def test_not_an_android_executable_is_one_line(tmp_path, content, says):
    path = tmp_path / "bm"
    path.write_bytes(content)
    with pytest.raises(DeviceError, match=says):
        read_executable(path)
    with pytest.raises(DeviceError, match=r"ELF machine 8 \(32-bit\), which no Android ABI runs"):
        read_executable(android_elf(tmp_path / "mips", 8, 32, "/system/bin/linker"))


PX7_CLOCKS = ("cpu7 scaling_governor sched_pixel\ncpu7 scaling_cur_freq 2850000\ncpu7 scaling_max_freq 1826000\n"
              "cpu7 cpuinfo_max_freq 2850000\n")


def test_clock_reads_and_the_throttling_rule():
    capped = parse_clocks(PX7_CLOCKS, [7])
    assert capped == {7: {"governor": "sched_pixel", "cur_khz": 2850000, "max_khz": 1826000,
                          "cpuinfo_max_khz": 2850000}}
    [entry] = readings(3, "after", 0, capped)
    assert entry["throttled"] == "core 7 capped at 1.83 of 2.85 GHz"
    assert throttling([entry]) == "core 7 capped at 1.83 of 2.85 GHz after invocation 3"
    free = parse_clocks(PX7_CLOCKS.replace("1826000", "2850000").replace("cur_freq 2850000", "cur_freq 500000"), [7])
    assert throttling(readings(1, "before", 0, free)) is None  # an idle core's low frequency is not judged
    assert throttling(readings(1, "before", 1, free)) == "thermal status 1 (light) before invocation 1"
    powersave = parse_clocks(PX7_CLOCKS.replace("sched_pixel", "powersave").replace("1826000", "2850000"), [7])
    assert throttling(readings(2, "after", 0, powersave)) == "core 7 on the powersave governor after invocation 2"
    hidden = parse_clocks("cpu7 scaling_governor unreadable\ncpu7 scaling_max_freq unreadable\n"
                          "cpu7 cpuinfo_max_freq 2850000\n", [7])
    assert hidden[7] == {"governor": None, "cur_khz": None, "max_khz": None, "cpuinfo_max_khz": 2850000,
                         "unreadable": ["scaling_governor", "scaling_cur_freq", "scaling_max_freq"]}
    assert throttling(readings(1, "after", None, hidden)) is None  # unknown is not throttled
    assert "for c in 6 7;" in clock_command([6, 7]) and "for c in <cores>;" in clock_command(None)


# ------------------------------------------------------------------ real adb, no device


@needs_adb
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


def android_elf(path: Path, machine: int = 183, bits: int = 64, interpreter: str | None = "/system/bin/linker64",
                pad: int = 4096) -> Path:
    """A dynamically linked ELF executable's header and PT_INTERP, by the gABI layout (readelf agrees: see
    test_handmade_elf_agrees_with_readelf), then random bytes: the stand-in only stores it, nothing runs it."""
    interp = (interpreter.encode() + b"\0") if interpreter else b""
    ident = b"\x7fELF" + bytes([bits // 32, 1, 1, 0]) + bytes(8)
    if bits == 64:
        header = ident + struct.pack("<HHIQQQIHHHHHH", 3, machine, 1, 0, 64 if interp else 0, 0, 0, 64, 56,
                                     1 if interp else 0, 64, 0, 0)
        phdr = struct.pack("<IIQQQQQQ", 3, 4, 120, 0, 0, len(interp), len(interp), 1) if interp else b""
    else:
        header = ident + struct.pack("<HHIIIIIHHHHHH", 3, machine, 1, 0, 52 if interp else 0, 0, 0, 52, 32,
                                     1 if interp else 0, 40, 0, 0)
        phdr = struct.pack("<IIIIIIII", 3, 84, 0, 0, len(interp), len(interp), 4, 1) if interp else b""
    path.write_bytes(header + phdr + interp + os.urandom(pad))
    return path


@pytest.fixture
def binary(tmp_path):
    return android_elf(tmp_path / "benchmark_model")  # an Android AArch64 build, as the nightly android_aarch64 one


def model_file(tmp_path, precision="fp32") -> Artifact:
    """A model file for the stand-in to receive (it never runs it); nothing measured on it is stored."""
    path = tmp_path / f"m_{precision}.tflite"
    path.write_bytes(b"TFL3" + os.urandom(3000))
    return Artifact(path=path, format="tflite", precision=precision, model="m", resolution=224,
                    sha256=content_hash(path), size_bytes=path.stat().st_size)


@pytest.fixture
def standin_env(monkeypatch):
    def use(standin):
        for k, v in standin.env.items():
            monkeypatch.setenv(k, v)
    return use


def measure(target, artifact, binary, protocol=None, threads=1, **options):
    t = get_target(target)
    opts = t.resolve_options({"benchmark_model": str(binary), "cooldown_s": 5, "retry_wait_s": 0.1, **options})
    protocol = protocol or get_protocol("mnv4").with_overrides(runs=50, warmup=4, repeats=2)
    return t.measure(artifact, protocol, threads=threads, options=opts, progress=lambda n: None)


@needs_adb
def test_devices_facts_and_serial_choice(standin_env):
    with StandIn([FakePhone("PX7A"), FakePhone("PX6B", model="Pixel 6")]) as s:
        standin_env(s)
        devices = list_devices()
        assert [(d.serial, d.state, d.model) for d in devices] == [("PX7A", "device", "Pixel 7"),
                                                                   ("PX6B", "device", "Pixel 6")]
        with pytest.raises(DeviceError, match="2 devices attached .* choose one with --serial"):
            choose_serial(None, devices, "pixel7")
        assert choose_serial("PX6B", devices, "pixel6") == "PX6B"


@needs_adb
@pytest.mark.parametrize("v2", [True, False])
def test_shell_protocols_through_the_real_client(standin_env, v2):
    phone = FakePhone("PX7A", shell_v2=v2)
    with StandIn([phone]) as s:
        standin_env(s)
        adb = Adb("PX7A", retry_wait_s=0.1)
        result = adb.run("getprop ro.product.model")
        assert (result.stdout, result.rc, result.protocol) == ("Pixel 7\n", 0, "shell_v2" if v2 else "legacy")
        missing = adb.run("frobnicate --now")
        assert missing.rc == 127 and "frobnicate: not found" in (missing.stderr if v2 else missing.stdout)
        services = [r for r in s.requests if "getprop" in r]
        assert services[0].startswith("shell,v2,") == v2 and services[0].startswith("shell:") != v2


@needs_adb
def test_measure_pushes_once_and_sends_exactly_the_plan(standin_env, binary, tmp_path):
    phone = FakePhone("PX7A", benchmark_output=GPU_LOG, core_max_khz={0: 1803000, 1: 1803000, 2: 1803000,
                      3: 1803000, 5: 2348000, 6: 2850000, 7: 2850000}, online="0-3,5-7")
    artifact = model_file(tmp_path)
    with StandIn([phone]) as s:
        standin_env(s)
        target, protocol = get_target("pixel7"), get_protocol("mnv4").with_overrides(runs=50, warmup=4, repeats=2)
        options = target.resolve_options({"benchmark_model": str(binary), "delegate": "gpu", "cooldown_s": 5,
                                          "op_profile": True})
        plan = target.plan(artifact, protocol, threads=3, options=options)
        assert s.requests == []  # the dry run touched nothing
        m = target.measure(artifact, protocol, threads=3, options=options, progress=lambda n: None)
        shell = [shlex.split(ln)[4].replace("<mask>", "e0").replace("<cores>", "5 6 7")
                 for ln in plan if ln.startswith("adb ") and " shell " in ln]
        assert phone.bodies == shell  # one source of argv: measure sent exactly the plan's shell lines
        pushes = [shlex.split(ln)[5] for ln in plan if ln.startswith("adb ") and " push " in ln]
        assert phone.pushes == pushes and phone.modes[pushes[0]] == "755"
        assert m.device["affinity_cores"] == [5, 6, 7] and m.options["taskset_mask"] == "e0"
        timed = [b for b in phone.benchmarks if b["flags"]["num_runs"] == "50" and b["flags"]["warmup_runs"] == "4"]
        assert len(timed) == 2 and all("enable_op_profiling" not in b["flags"] for b in timed)
        assert phone.benchmarks[0]["flags"]["num_runs"] == "1"  # the probe comes first
        assert phone.benchmarks[-1]["flags"]["enable_op_profiling"] == "true"  # profiling is its own invocation
        assert "not the latency" in m.extra["op_profile_run"]["note"] and len(m.repeat_summaries) == 2
        assert m.options["shell_protocol"] == "shell_v2" and m.options["delegation"] == "complete"
        # A second measurement finds identical files on the phone and pushes nothing.
        target.measure(artifact, protocol, threads=3, options=options, progress=lambda n: None)
        assert len(phone.pushes) == 2


@needs_adb
def test_fp16_on_xnnpack_forces_fp16_arithmetic(standin_env, binary, tmp_path):
    phone = FakePhone("PX7A", benchmark_output=DESKTOP_LOG.replace("count=74", "count=50"))
    with StandIn([phone]) as s:
        standin_env(s)
        m = measure("pixel7", model_file(tmp_path, "fp16"), binary)
    assert all(b["flags"].get("xnnpack_force_fp16") == "true" for b in phone.benchmarks)
    assert m.options["xnnpack_force_fp16"] and m.options["arithmetic"] == "fp16" and m.device["fp16_arithmetic"]


@needs_adb
@pytest.mark.parametrize("v2", [True, False])
def test_run_that_printed_stats_then_failed_is_refused(standin_env, binary, tmp_path, v2):
    output = GPU_LOG.split("Note: as t")[0] + "Benchmarking failed.\n"
    phone = FakePhone("PX7A", benchmark_output=output, benchmark_rc=1, shell_v2=v2)
    with StandIn([phone]) as s:
        standin_env(s)
        with pytest.raises(DeviceError, match=r"probe: benchmark_model failed \(exit code 1\): Benchmarking failed"):
            measure("pixel7", model_file(tmp_path), binary)


@needs_adb
def test_delegate_error_line_reaches_the_user(standin_env, binary, tmp_path):
    # the real GPU log up to the delegate, then the error the issue quotes (stderr on a shell_v2 phone)
    output = GPU_LOG.split("INFO: Created TensorFlow Lite delegate for GPU.")[0] + (
        "ERROR: Failed to apply GPU delegate.\nBenchmarking failed.\n")
    phone = FakePhone("PX7A", benchmark_output=output, benchmark_rc=1)
    with StandIn([phone]) as s:
        standin_env(s)
        with pytest.raises(DeviceError, match=r"exit code 1\): ERROR: Failed to apply GPU delegate"):
            measure("pixel7", model_file(tmp_path), binary, delegate="gpu")


@needs_adb
def test_real_failed_log_exit_code_and_crash(standin_env, binary, tmp_path):
    phone = FakePhone("PX7A", benchmark_output=real("xnnpack_delegate_failed.txt"), benchmark_rc=1)
    crash = FakePhone("PX7B", benchmark_output=GPU_LOG.split("count=50")[0], benchmark_rc=139)
    with StandIn([phone, crash]) as s:
        standin_env(s)
        with pytest.raises(DeviceError, match=r"exit code 1\): Failed to apply XNNPACK delegate"):
            measure("pixel7", model_file(tmp_path), binary, serial="PX7A")
        with pytest.raises(DeviceError, match=r"exit code 139\)"):
            measure("pixel7", model_file(tmp_path), binary, serial="PX7B")


@needs_adb
def test_partial_delegation_is_recorded_and_full_delegation_can_be_required(standin_env, binary, tmp_path):
    partial = GPU_LOG.replace("will be completely executed by the delegate.",
                              "will be partially executed by the delegate w/ 3 delegate kernels.")
    phone = FakePhone("PX7A", benchmark_output=partial)
    with StandIn([phone]) as s:
        standin_env(s)
        m = measure("pixel7", model_file(tmp_path), binary, delegate="gpu", require_full_delegation=True)
    assert m.options["delegation"] == "partial (3 delegate kernels, the rest on the CPU)"
    assert m.extra["partially_delegated"] and m.options["require_full_delegation"]
    assert all(b["flags"]["require_full_delegation"] == "true" for b in phone.benchmarks)


@needs_adb
def test_legacy_shell_phone_is_measured_with_the_marker(standin_env, binary, tmp_path):
    phone = FakePhone("OLD1", model="Nexus 5", shell_v2=False, benchmark_output=GPU_LOG)
    with StandIn([phone]) as s:
        standin_env(s)
        m = measure("android", model_file(tmp_path), binary)
    assert m.options["shell_protocol"] == "legacy" and m.repeat_summaries[0]["min"] == 113.737
    assert not any(r.startswith("shell,v2") for r in s.requests)


@needs_adb
def test_count_mismatch_is_refused(standin_env, binary, tmp_path):
    with StandIn([FakePhone("PX7A", benchmark_output=DESKTOP_LOG)]) as s:  # count=74 for 50 asked
        standin_env(s)
        with pytest.raises(DeviceError, match="ran 74 runs, asked for 50"):
            measure("pixel7", model_file(tmp_path), binary)


@needs_adb
@pytest.mark.parametrize("model", ["Pixel 7 Pro", "Pixel 7a", "Pixel 6"])
def test_exact_phone_model_per_target(standin_env, binary, tmp_path, model):
    phone = FakePhone("PX", model=model, benchmark_output=GPU_LOG)
    with StandIn([phone]) as s:
        standin_env(s)
        with pytest.raises(DeviceError, match=f"is a {model}, not a Pixel 7"):
            measure("pixel7", model_file(tmp_path), binary)
    assert not phone.benchmarks and not phone.pushes


@needs_adb
def test_command_timeout_is_one_error_not_a_rerun(standin_env):
    phone = FakePhone("PX7A", sleep_s=4)
    with StandIn([phone]) as s:
        standin_env(s)
        with pytest.raises(CommandTimeout, match="did not finish within 1 s; it was not re-run"):
            Adb("PX7A", retry_wait_s=0.1).run("getprop ro.product.model", timeout=1)
    assert phone.bodies == ["getprop ro.product.model"]


@needs_adb
def test_device_lost_mid_run_is_retried_once_then_clear_error(standin_env, binary, tmp_path):
    phone = FakePhone("PX7A", benchmark_output=GPU_LOG, lose_after_benchmarks=1)
    with StandIn([phone]) as s:
        standin_env(s)
        with pytest.raises(DeviceLost, match="PX7A lost mid-run .*not found.*finished measurements are stored"):
            measure("pixel7", model_file(tmp_path), binary)
        lost_at = next(i for i, r in enumerate(s.requests) if "num_runs=50" in r)
        transports = [r for r in s.requests[lost_at:] if r.startswith("host:tport:serial:PX7A")]
        assert len(transports) == 1  # retried once (the phone was gone), then the error


@needs_adb
def test_unthrottled_run_stores_each_reading_and_the_facts_of_the_key(standin_env, binary, tmp_path):
    phone = FakePhone("PX7A", benchmark_output=GPU_LOG)
    with StandIn([phone]) as s:
        standin_env(s)
        m = measure("pixel7", model_file(tmp_path), binary, threads=2)
    state = m.extra["device_state"]
    assert [(e["invocation"], e["when"], e["core"]) for e in state] == [
        (i, when, core) for i in (1, 2) for when in ("before", "after") for core in (6, 7)]
    assert all(e["governor"] == "sched_pixel" and e["max_khz"] == e["cpuinfo_max_khz"] == 2850000
               and e["thermal_status"] == 0 and e["throttled"] is None for e in state)
    assert "throttled" not in m.extra
    assert (m.device["serial"], m.device["model"], m.device["fingerprint"], m.device["abilist"]) == (
        "PX7A", "Pixel 7", "google/PX7A/test", ["arm64-v8a"])
    assert (m.options["delegate"], m.options["compute_unit"], m.options["threads"]) == ("xnnpack", "cpu", 2)


@needs_adb
def test_a_core_capped_after_an_invocation_refuses_the_run(standin_env, binary, tmp_path):
    protocol = get_protocol("mnv4").with_overrides(runs=50, warmup=4, repeats=3)
    phone = FakePhone("PX7A", benchmark_output=GPU_LOG, cap_after_benchmarks=3)  # after the probe and 2 invocations
    with StandIn([phone]) as s:
        standin_env(s)
        with pytest.raises(Throttled) as err:
            measure("pixel7", model_file(tmp_path), binary, protocol=protocol)
    assert str(err.value) == ("PX7A (pixel7): core 7 capped at 1.83 of 2.85 GHz after invocation 2; not stored: "
                              "pass --allow-throttled to keep it, flagged")
    assert len(phone.benchmarks) == 3  # invocation 3 never ran


@needs_adb
def test_allow_throttled_keeps_the_run_flagged(standin_env, binary, tmp_path):
    protocol = get_protocol("mnv4").with_overrides(runs=50, warmup=4, repeats=3)
    phone = FakePhone("PX7A", benchmark_output=GPU_LOG, cap_after_benchmarks=3)
    with StandIn([phone]) as s:
        standin_env(s)
        m = measure("pixel7", model_file(tmp_path), binary, protocol=protocol, allow_throttled=True, cooldown_s=0)
    assert m.extra["throttled"] == ("core 7 capped at 1.83 of 2.85 GHz after invocation 2 "
                                    "(and 2 more throttled readings)")
    flagged = [(e["invocation"], e["when"], e["max_khz"]) for e in m.extra["device_state"] if e["throttled"]]
    assert flagged == [(2, "after", 1826000), (3, "before", 1826000), (3, "after", 1826000)]
    assert len(m.repeat_summaries) == 3


@needs_adb
def test_a_hot_phone_is_refused_before_the_invocation_after_the_cooldown(standin_env, binary, tmp_path):
    phone = FakePhone("PX7A", benchmark_output=GPU_LOG, thermal_statuses=[2])
    with StandIn([phone]) as s:
        standin_env(s)
        with pytest.raises(Throttled, match=r"^PX7A \(pixel7\): thermal status 2 \(moderate\) before invocation 1 "
                                            r"\(still, after waiting 0\.[0-9]+ s of --cooldown-s 0\.3\); not stored"):
            measure("pixel7", model_file(tmp_path), binary, cooldown_s=0.3)
    assert len(phone.benchmarks) == 1  # the probe only
    cooling = FakePhone("PX7A", thermal_statuses=[3, 3, 0])
    with StandIn([cooling]) as s:
        standin_env(s)
        check, entries = before(Adb("PX7A", retry_wait_s=0.1), [7], 1, cooldown_s=30, poll_s=0.1)
    assert check["thermal"] == "none" and 0.15 < check["cooldown_waited_s"] < 10 and entries[0]["throttled"] is None
    assert cooling.bodies.count("dumpsys thermalservice") == 3 and cooling.bodies.count(clock_command([7])) == 3


@needs_adb
def test_unreadable_clocks_and_no_thermal_service_are_stored_as_unknown(standin_env, binary, tmp_path):
    phone = FakePhone("OLD9", model="Pixel 3", benchmark_output=GPU_LOG, thermal_service=False,
                      unreadable=("scaling_governor", "scaling_max_freq"))
    with StandIn([phone]) as s:
        standin_env(s)
        m = measure("android", model_file(tmp_path), binary)
    first = m.extra["device_state"][0]
    assert (first["governor"], first["max_khz"], first["cpuinfo_max_khz"], first["thermal_status"]) == (
        None, None, 2850000, None)
    assert first["unreadable"] == ["scaling_governor", "scaling_max_freq"] and first["throttled"] is None
    assert "throttled" not in m.extra and m.extra["hygiene"][0]["thermal"] == "unknown"


@needs_adb
def test_abi_mismatch_is_refused_before_any_push(standin_env, tmp_path):
    arm32 = android_elf(tmp_path / "android_arm_benchmark_model", 40, 32, "/system/bin/linker")
    pixel7 = FakePhone("PX7A")
    pixel1 = FakePhone("FA1", model="Pixel", abilist="arm64-v8a,armeabi-v7a,armeabi", benchmark_output=GPU_LOG)
    with StandIn([pixel7, pixel1]) as s:
        standin_env(s)
        with pytest.raises(DeviceError) as err:
            measure("pixel7", model_file(tmp_path), arm32, serial="PX7A")
        kept = measure("android", model_file(tmp_path), arm32, serial="FA1")
    assert str(err.value) == (f"the benchmark_model binary {arm32} is 32-bit ARM; pixel7 (serial PX7A) runs "
                              f"arm64-v8a; download the android_aarch64 binary from {NIGHTLY_AARCH64}")
    assert "getprop ro.product.cpu.abilist" in pixel7.bodies and not pixel7.pushes and not pixel7.benchmarks
    assert kept.device["abilist"] == ["arm64-v8a", "armeabi-v7a", "armeabi"] and pixel1.pushes


# ------------------------------------------------------------------ the CLI, end to end


@pytest.fixture(scope="module")
def tflite_model(tmp_path_factory):
    """One real small export for the CLI tests (resolution 64 keeps it quick)."""
    from bench.artifact.cache import ensure_artifact
    from exporters.registry import ExportRequest

    os.environ.setdefault("BENCH_CACHE", str(tmp_path_factory.mktemp("artifacts")))
    return ensure_artifact(ExportRequest("mobileone_s0", 64, "tflite", "fp32")).path


@needs_adb
def test_cli_failed_run_is_not_stored(tmp_path, binary, tflite_model):
    store = tmp_path / "s.sqlite"
    output = GPU_LOG.split("Note: as t")[0] + "Benchmarking failed.\n"
    with StandIn([FakePhone("PX7A", benchmark_output=output, benchmark_rc=1)]) as s:
        result = run_bench("run", "--model", tflite_model, "--target", "pixel7", "--runs", "50", "--warmup", "4",
                           "--benchmark-model", binary, "--store", store, env=s.env)
        subprocess.run(["adb", "kill-server"], env={**os.environ, **s.env}, capture_output=True, timeout=30)
    # (LiteRT itself prints an INFO line when the model file is described; the error is one line)
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("bench: error:")]
    assert result.returncode == 4 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "probe: benchmark_model failed (exit code 1): Benchmarking failed." in lines[0]
    assert json.loads(run_bench("results", "--store", store, "--json").stdout or "[]") == []


@needs_adb
def test_cli_keeps_finished_records_when_a_phone_is_lost(tmp_path, binary, tflite_model):
    store = tmp_path / "s.sqlite"
    phone = FakePhone("PX7A", benchmark_output=GPU_LOG, lose_after_benchmarks=0)
    with StandIn([phone]) as s:
        host = run_bench("run", "--model", tflite_model, "--target", "host-litert", "--runs", "20", "--warmup", "2",
                         "--store", store, env=s.env)
        assert host.returncode == 0, host.stderr
        lost = run_bench("run", "--model", tflite_model, "--target", "pixel7", "--runs", "50",
                         "--benchmark-model", binary, "--store", store, env=s.env)
        subprocess.run(["adb", "kill-server"], env={**os.environ, **s.env}, capture_output=True, timeout=30)
    assert lost.returncode == 4 and "lost mid-run" in lost.stderr and "Traceback" not in lost.stderr
    listed = json.loads(run_bench("results", "--store", store, "--json").stdout)
    assert [r["target"] for r in listed] == ["host-litert"]


def test_cli_dry_run_prints_the_adb_commands(tmp_path, binary, tflite_model):
    env = {"ADB_SERVER_SOCKET": f"tcp:127.0.0.1:{free_port()}"}  # nothing listens: a dry run must not need adb
    result = run_bench("run", "--model", tflite_model, "--target", "pixel7", "--dry-run", "--op-profile",
                       "--benchmark-model", binary, "--serial", "PX7A", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"adb -s PX7A push {binary} /data/local/tmp/bench/benchmark_model" in lines
    timed = [ln for ln in lines if "--num_runs=1000" in ln]
    assert lines[0].endswith("(tflite/fp32, mnv4)")  # Android's own protocol: 5 invocations of 1000 runs
    assert timed == 5 * [f"adb -s PX7A shell 'taskset <mask> /data/local/tmp/bench/benchmark_model "
                         f"--graph=/data/local/tmp/bench/{content_hash(Path(tflite_model))[:16]}.tflite "
                         "--num_runs=1000 --warmup_runs=100 --min_secs=0 --warmup_min_secs=0 --max_secs=100000 "
                         "--num_threads=1 --use_xnnpack=true'"]
    assert any("--enable_op_profiling=true" in ln for ln in lines)
    assert "adb -s PX7A shell 'getprop ro.product.cpu.abilist'" in lines
    clocks = f"adb -s PX7A shell {shlex.quote(clock_command(None))}"
    assert lines.count(clocks) == 2 * len(timed) and any("<cores>: the ids of those cores" in ln for ln in lines)
    first = lines.index(timed[0])
    assert lines[first - 3:first + 4] == [
        "adb -s PX7A shell 'dumpsys battery'", "adb -s PX7A shell 'dumpsys thermalservice'", clocks, timed[0],
        lines[first + 1], clocks, "adb -s PX7A shell 'dumpsys thermalservice'"]


@needs_adb
def test_cli_throttled_run_is_refused_or_kept_flagged_and_reported(tmp_path, binary, tflite_model):
    from bench.core.record import Record
    from bench.report.device_state import device_state_markdown, state_rows, throttled_flag

    store = tmp_path / "s.sqlite"
    args = ("run", "--model", tflite_model, "--target", "pixel7", "--runs", "50", "--warmup", "4", "--repeats", "2",
            "--benchmark-model", binary, "--store", store, "--cooldown-s", "0")
    results = []
    for more in ((), ("--allow-throttled",)):  # each on a phone that heats after the probe and one invocation
        with StandIn([FakePhone("PX7A", benchmark_output=GPU_LOG, cap_after_benchmarks=2)]) as s:
            results.append(run_bench(*args, *more, env=s.env))
            subprocess.run(["adb", "kill-server"], env={**os.environ, **s.env}, capture_output=True, timeout=30)
    refused, kept = results
    lines = [ln for ln in refused.stderr.splitlines() if ln.startswith("bench: error:")]
    assert refused.returncode == 4 and len(lines) == 1 and "Traceback" not in refused.stderr, refused.stderr
    assert lines[0].endswith("PX7A (pixel7): core 7 capped at 1.83 of 2.85 GHz after invocation 1; not stored: "
                             "pass --allow-throttled to keep it, flagged")
    assert kept.returncode == 0, kept.stderr
    [stored] = json.loads(run_bench("results", "--store", store, "--json").stdout)
    record = Record.from_dict(stored)
    assert throttled_flag(record) == ("throttled: core 7 capped at 1.83 of 2.85 GHz after invocation 1 "
                                      "(and 2 more throttled readings)")
    rows = state_rows(record)
    assert [(r["invocation"], r["when"], r["ceiling MHz"], r["throttled"]) for r in rows] == [
        (1, "before", "2850", ""), (1, "after", "1826", "core 7 capped at 1.83 of 2.85 GHz"),
        (2, "before", "1826", "core 7 capped at 1.83 of 2.85 GHz"),
        (2, "after", "1826", "core 7 capped at 1.83 of 2.85 GHz")]
    report = device_state_markdown([record])
    assert report.startswith("## Device state: clocks and thermal status around each invocation")
    assert "Flagged, kept with --allow-throttled: core 7 capped" in report and "Build: `google/PX7A/test`." in report
    assert all(str(v) in report for v in rows[1].values())


@needs_adb
def test_cli_linux_build_is_refused_before_the_phone(tmp_path, tflite_model):
    linux = android_elf(tmp_path / "linux_aarch64_benchmark_model", interpreter="/lib/ld-linux-aarch64.so.1")
    phone = FakePhone("PX7A", benchmark_output=GPU_LOG)
    with StandIn([phone]) as s:
        result = run_bench("run", "--model", tflite_model, "--target", "pixel7", "--benchmark-model", linux,
                           "--store", tmp_path / "s.sqlite", env=s.env)
        subprocess.run(["adb", "kill-server"], env={**os.environ, **s.env}, capture_output=True, timeout=30)
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("bench: error:")]
    assert result.returncode == 4 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert lines[0].endswith(f"{linux} is a Linux build (its loader is /lib/ld-linux-aarch64.so.1), not an Android "
                             f"one; download the android_aarch64 binary from {NIGHTLY_AARCH64}")
    assert not phone.bodies and not phone.pushes
