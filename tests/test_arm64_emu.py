"""arm64-emu: counts through the real qemu-aarch64 + plugin + aarch64 LiteRT, and the count rules around them.

The emulated runs need the set-up (devices/arm64_emu/setup.sh, built by .ci/run); without it they skip. The model is
a two-layer conv net converted here with TensorFlow (a few seconds), so each guest run is start-up plus a tiny net.
"""

import shutil
from dataclasses import replace

import pytest

from bench.core.errors import ArtifactError, BenchError, DeviceError
from bench.core.protocols import get_protocol
from bench.core.record import Record, derive_statistics
from bench.regression.compare import any_slower, compare_records, markdown
from bench.regression.decision import NO_CHANGE, NOT_COMPARABLE, SLOWER
from devices.arm64_emu import emulator
from devices.arm64_emu.target import Arm64EmuTarget
from tests.conftest import REPO, run_bench


def _setup_or_skip():
    try:
        return emulator.find_setup()
    except BenchError as exc:
        pytest.skip(f"arm64-emu set-up absent ({exc})")


class _Artifact:
    """What measure() reads of an artifact: its path."""

    def __init__(self, path):
        self.path = path


# Two convolutions converted by TensorFlow in a subprocess: tensorflow never enters the test process (beside torch's
# triton it has crashed here).
_MAKE_TFLITE = """
import sys, tensorflow as tf
channels, out = int(sys.argv[1]), sys.argv[2]
model = tf.keras.Sequential([tf.keras.Input((32, 32, 3), batch_size=1),
                             tf.keras.layers.Conv2D(channels, 3, activation="relu"), tf.keras.layers.Conv2D(channels, 3)])
open(out, "wb").write(tf.lite.TFLiteConverter.from_keras_model(model).convert())
"""


def _conv_tflite(path, channels: int):
    import importlib.util
    import subprocess
    import sys

    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("tensorflow is not installed (the tiny test models are made with it)")
    done = subprocess.run([sys.executable, "-c", _MAKE_TFLITE, str(channels), str(path)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return path


@pytest.fixture(scope="module")
def tiny_tflite(tmp_path_factory):
    _setup_or_skip()
    return _conv_tflite(tmp_path_factory.mktemp("tiny") / "tiny.tflite", 8)


def _measure(path, **options):
    target = Arm64EmuTarget()
    resolved = target.resolve_options(options)
    return target.measure(_Artifact(path), get_protocol("mobileone"), threads=1, options=resolved,
                          progress=lambda n: None)


def test_counts_are_exact_and_repeat_across_processes(tiny_tflite):
    first = _measure(tiny_tflite, count_runs=3)
    second = _measure(tiny_tflite, count_runs=1)
    assert first.unit == "instructions" and len(first.counts) == 3
    assert all(isinstance(c, int) and c > 10_000 for c in first.counts)
    assert max(first.counts) - min(first.counts) <= 1e-4 * min(first.counts)
    assert abs(second.counts[0] - first.counts[0]) <= 1e-4 * first.counts[0]
    setup = first.device["setup"]
    assert setup["qemu"].startswith("qemu-aarch64 version") and setup["litert"] == "1.4.0"
    assert setup["sysroot_python"].startswith("3.11") and "count.c" in setup["plugin"]
    assert first.counting["warmup"] == 1 and first.counting["protocol_not_applied"] == "mobileone"


def test_a_wider_model_executes_more_instructions(tiny_tflite, tmp_path):
    path = _conv_tflite(tmp_path / "wide.tflite", 32)
    assert _measure(path, count_runs=1).counts[0] > 2 * _measure(tiny_tflite, count_runs=1).counts[0]


def test_a_file_litert_cannot_load_is_one_clear_error(tmp_path):
    _setup_or_skip()
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"TFL3" + b"\x00" * 64)
    with pytest.raises(ArtifactError, match=r"LiteRT \(aarch64\) cannot load"):
        _measure(bad)


def test_a_plugin_that_fails_to_load_is_one_clear_error(tiny_tflite, tmp_path, monkeypatch):
    setup = _setup_or_skip()
    fake = tmp_path / "root"
    shutil.copytree(setup.root / "plugins", fake / "plugins")
    (fake / "plugins" / "libcount.so").write_bytes(b"not a shared object")
    for name in ("sysroot", "site"):
        (fake / name).symlink_to(setup.root / name)
    shutil.copy(setup.root / "versions.json", fake / "versions.json")
    monkeypatch.setenv(emulator.ROOT_ENV, str(fake))
    with pytest.raises(DeviceError, match="qemu could not load its plugin"):
        _measure(tiny_tflite)


def test_without_the_setup_preflight_says_how_to_build_it(monkeypatch, tmp_path):
    monkeypatch.setenv(emulator.ROOT_ENV, str(tmp_path / "absent"))
    with pytest.raises(BenchError, match=r"setup\.sh") as info:
        Arm64EmuTarget().preflight({})
    assert "\n" not in str(info.value)


def test_cli_without_the_setup_prints_one_line_and_stores_nothing(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(b"TFL3")
    store = tmp_path / "s.sqlite"
    done = run_bench("run", "--model", model, "--target", "emulated-arm64", "--store", store,
                     env={emulator.ROOT_ENV: str(tmp_path / "absent")}, cwd=REPO)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode != 0 and len(lines) == 1 and "setup.sh" in lines[0], done.stderr
    assert not store.exists()


def _count_record(count: int, **changes) -> Record:
    record = Record(model="m", resolution=224, format="tflite", precision="fp32", target="arm64-emu",
                    runtime="litert-aarch64", runtime_version="1.4.0", threads=1, protocol="mobileone", warmup=1,
                    runs=2, repeats=1, unit="instructions", counts=[count, count + 3],
                    device={"cpu": "cortex-a76 (qemu-aarch64, emulated)", "setup": {"qemu": "7.2", "litert": "1.4.0"}})
    return derive_statistics(replace(record, **changes))


def test_counting_record_has_a_count_and_no_milliseconds():
    record = _count_record(102_500_000)
    assert record.count == 102_500_000 and record.latency_ms is None and record.min_ms is None
    assert record.protocol_extra["deterministic"] and record.n_samples == 2


def test_compare_decides_counts_on_the_threshold_and_shows_the_unit():
    base = [_count_record(100_000_000)]
    rows = compare_records(base, [_count_record(100_600_000)], threshold=0.05, alpha=0.01)
    assert rows[0].verdict == SLOWER and rows[0].unit == "instructions" and any_slower(rows, units=("instructions",))
    assert compare_records(base, [_count_record(100_400_000)], threshold=0.05, alpha=0.01)[0].verdict == NO_CHANGE
    loose = compare_records(base, [_count_record(100_600_000)], threshold=0.05, alpha=0.01, count_threshold=0.01)
    assert loose[0].verdict == NO_CHANGE
    text = markdown(rows)
    assert "100,600,000 instructions" in text and " ms" not in text


def test_counts_from_another_setup_are_not_comparable():
    other = _count_record(100_000_000, device={"cpu": "cortex-a76 (qemu-aarch64, emulated)",
                                               "setup": {"qemu": "8.2", "litert": "1.4.0"}})
    rows = compare_records([_count_record(100_000_000)], [other], threshold=0.05, alpha=0.01)
    assert rows[0].verdict == NOT_COMPARABLE and "set-up" in rows[0].reason


def test_ci_gate_on_counts_ignores_slower_timed_rows():
    timed = Record(model="m", resolution=224, format="tflite", precision="fp32", target="host-litert",
                   runtime="litert", runtime_version="2.3.0", threads=1, protocol="mobileone", warmup=1, runs=3,
                   repeats=1, samples_ns=[[5_000_000] * 50])
    slow = replace(timed, samples_ns=[[6_000_000] * 50])
    rows = compare_records([derive_statistics(timed)], [derive_statistics(slow)], threshold=0.05, alpha=0.01)
    assert any_slower(rows) and not any_slower(rows, units=("instructions",))


def test_a_guest_crash_is_one_clear_error(tmp_path):
    setup = _setup_or_skip()
    crash = ["qemu-aarch64", "-L", str(setup.root / "sysroot"), str(setup.python), "-c",
             "import ctypes; ctypes.string_at(0)"]  # a NULL read in the emulated process: SIGSEGV
    with pytest.raises(DeviceError, match=r"guest crashed \(signal 11\)"):
        emulator.run_guest(crash, emulator.guest_env(setup), tmp_path / "m.tflite")
