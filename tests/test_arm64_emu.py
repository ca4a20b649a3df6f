"""arm64-emu: counts through the real qemu-aarch64 + plugin + aarch64 LiteRT / ONNX Runtime, and the count rules
around them.

The emulated runs need the set-up (devices/arm64_emu/setup.sh, built by .ci/run); without it they skip. The models
are two-layer conv nets made here (the .tflite by TensorFlow in a subprocess, the .onnx with onnx's helper), so each
guest run is start-up plus a tiny net.
"""

import json
import shutil
from dataclasses import replace

import pytest

from bench.core.errors import ArtifactError, BenchError, DeviceError
from bench.core.protocols import get_protocol
from bench.core.outcome import Count, Timing
from bench.core.record import Record, derive_statistics
from bench.regression.compare import any_slower, compare_records, markdown
from bench.regression.decision import NO_CHANGE, NOT_COMPARABLE, SLOWER
from devices.arm64_emu import emulator, repeatable
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
    assert second.counts[0] == first.counts[0]
    setup = first.device["setup"]
    assert setup["qemu"].startswith("qemu-aarch64 version 10.") and setup["litert"] == "1.4.0"
    assert setup["sysroot_python"].startswith("3.11") and "count.c" in setup["plugin"] and "onnxruntime" not in setup
    assert setup["guest_clock"] == f"libfaketime {emulator.find_setup().versions['libfaketime']}, stopped"
    assert first.runtime == "litert-aarch64" and first.runtime_version == "1.4.0"
    assert first.counting["warmup"] == 1 and first.counting["protocol_not_applied"] == "mobileone"


def test_an_armv9_cpu_model_shows_the_guest_i8mm_and_counts_exactly(tiny_tflite):
    """--cpu cortex-a710: the guest's runtimes see the ISA of Cortex-X2/X3 (i8mm, bf16, SVE2), and the set-up (which
    keys comparability) names that CPU."""
    first, second = _measure(tiny_tflite, cpu="cortex-a710", count_runs=1), _measure(tiny_tflite, cpu="cortex-a710",
                                                                                     count_runs=1)
    features = first.extra["guest_cpu"]["features"].split()
    assert {"i8mm", "bf16", "sve2", "asimddp"} <= set(features)
    assert "i8mm" not in _measure(tiny_tflite, count_runs=1).extra["guest_cpu"]["features"].split()
    assert first.device["setup"]["cpu"] == "cortex-a710" and first.counts == second.counts


def test_the_instruction_mix_sums_to_the_count_and_repeats(tiny_tflite):
    first, second = _measure(tiny_tflite, count_runs=1), _measure(tiny_tflite, count_runs=1)
    mix = first.extra["instruction_mix"]
    assert set(mix) == {"simd_fp", "integer", "load", "store", "branch", "other"}
    assert sum(mix.values()) == first.counts[0] and all(isinstance(n, int) and n >= 0 for n in mix.values())
    assert mix["simd_fp"] > 0 and mix["load"] > 0 and mix["store"] > 0 and mix["branch"] > 0
    memory = first.extra["memory_bytes"]
    assert memory["load"] > mix["load"] and memory["store"] > mix["store"]  # NEON kernels move vectors, not bytes
    assert second.extra["instruction_mix"] == mix and second.extra["memory_bytes"] == memory


# Hand-encoded AArch64 instructions (checked against a disassembler), the class the Arm ARM puts each in, and the
# bytes each loads and stores (x1 points at a 64-byte aligned buffer).
KNOWN_INSTRUCTIONS = {
    0x4E22CC20: ("simd_fp", 0, 0),  # fmla v0.4s, v1.4s, v2.4s
    0x1E222820: ("simd_fp", 0, 0),  # fadd s0, s1, s2
    0x4E829420: ("simd_fp", 0, 0),  # sdot v0.4s, v1.16b, v2.16b
    0x91000400: ("integer", 0, 0),  # add x0, x0, #1
    0x9B020C20: ("integer", 0, 0),  # madd x0, x1, x2, x3
    0xEB00001F: ("integer", 0, 0),  # cmp x0, x0
    0xF9400029: ("load", 8, 0),  # ldr x9, [x1]
    0xB9800029: ("load", 4, 0),  # ldrsw x9, [x1]
    0xA9402829: ("load", 16, 0),  # ldp x9, x10, [x1]
    0x4C407820: ("load", 16, 0),  # ld1 {v0.4s}, [x1]
    0x4C40A020: ("load", 32, 0),  # ld1 {v0.16b, v1.16b}, [x1]
    0x4D40C820: ("load", 4, 0),  # ld1r {v0.4s}, [x1]
    0x0D409020: ("load", 4, 0),  # ld1 {v0.s}[1], [x1]
    0x3DC00020: ("load", 16, 0),  # ldr q0, [x1]
    0xF9800020: ("load", 0, 0),  # prfm pldl1keep, [x1]
    0xF829002A: ("load", 8, 8),  # ldadd x9, x10, [x1] (read-modify-write: a load, bytes both ways)
    0xF9000429: ("store", 0, 8),  # str x9, [x1, #8]
    0xA9002829: ("store", 0, 16),  # stp x9, x10, [x1]
    0x4C007820: ("store", 0, 16),  # st1 {v0.4s}, [x1]
    0x3D800020: ("store", 0, 16),  # str q0, [x1]
    0x14000001: ("branch", 0, 0),  # b .+4
    0x54000020: ("branch", 0, 0),  # b.eq .+4 (taken: cmp x0, x0 set Z)
    0xD503201F: ("other", 0, 0),  # nop
    0xD50B7421: ("other", 0, 64),  # dc zva, x1 (zeroes the 64-byte block)
}

# Runs the instructions above once (x0 = 1) and skips them (x0 = 2: tbnz x0, #1 jumps to the ret), through the same
# ctypes call with one-digit ints both times, so the difference between the two bracketed calls is those
# instructions alone.
_KNOWN_GUEST = """
import ctypes, mmap, struct, sys
words = [int(w) for w in sys.argv[1].split(",")]
code = [0x37080000 | ((len(words) + 1) << 5)] + words + [0xD65F03C0]
buf = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
buf.write(struct.pack(f"<{len(code)}I", *code))
fn = ctypes.CFUNCTYPE(None, ctypes.c_long, ctypes.c_void_p)(ctypes.addressof(ctypes.c_char.from_buffer(buf)))
data = ctypes.create_string_buffer(512)
aligned = ctypes.c_void_p((ctypes.addressof(data) + 63) & ~63)
mark = ctypes.CDLL(None).syscall
mark.restype, mark.argtypes = ctypes.c_long, [ctypes.c_long, ctypes.c_long]
fn(2, aligned); fn(1, aligned)
mark(0x4D42, 10); fn(1, aligned); mark(0x4D42, 11)
mark(0x4D42, 12); fn(2, aligned); mark(0x4D42, 13)
"""


def test_the_plugin_puts_known_instructions_in_their_classes_and_counts_their_bytes(tmp_path):
    setup = _setup_or_skip()
    out = tmp_path / "markers.txt"
    words = ",".join(str(w) for w in KNOWN_INSTRUCTIONS)
    command = [str(setup.qemu), "-cpu", "cortex-a76", "-L", str(setup.root / "sysroot"), "-plugin",
               f"{setup.plugin('count')},out={out}", str(setup.python), "-c", _KNOWN_GUEST, words]
    emulator.run_guest(command, repeatable.guest_env(setup.root / "site"), tmp_path / "known")
    markers = emulator.read_markers(out)
    ran = [b - a for a, b in zip(markers[10], markers[11])]
    skipped = [b - a for a, b in zip(markers[12], markers[13])]
    fields = ("total", *emulator.MIX_CLASSES, "load_bytes", "store_bytes")
    difference = dict(zip(fields, (r - s for r, s in zip(ran, skipped))))
    known = KNOWN_INSTRUCTIONS.values()
    expected = {name: sum(k[0] == name for k in known) for name in emulator.MIX_CLASSES}
    assert difference == {"total": len(KNOWN_INSTRUCTIONS), **expected, "load_bytes": sum(k[1] for k in known),
                          "store_bytes": sum(k[2] for k in known)}


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
    for name in ("qemu", "sysroot", "site"):
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
    model = _conv_onnx(tmp_path / "m.onnx", 4)
    store = tmp_path / "s.sqlite"
    done = run_bench("run", "--model", model, "--target", "emulated-arm64", "--store", store,
                     env={emulator.ROOT_ENV: str(tmp_path / "absent")}, cwd=REPO)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode != 0 and len(lines) == 1 and "setup.sh" in lines[0], done.stderr
    assert not store.exists()


def _count_record(count: int, **changes) -> Record:
    record = Record(model="m", resolution=224, format="tflite", precision="fp32", target="arm64-emu",
                    runtime="litert-aarch64", runtime_version="1.4.0", threads=1, protocol="mobileone", warmup=1,
                    runs=2, repeats=1, outcome=Count(counts=[count, count + 3]),
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
                   repeats=1, outcome=Timing(samples_ns=[[5_000_000] * 50]))
    slow = replace(timed, outcome=Timing(samples_ns=[[6_000_000] * 50]))
    rows = compare_records([derive_statistics(timed)], [derive_statistics(slow)], threshold=0.05, alpha=0.01)
    assert any_slower(rows) and not any_slower(rows, units=("instructions",))


def test_a_guest_crash_is_one_clear_error(tmp_path):
    setup = _setup_or_skip()
    crash = [str(setup.qemu), "-L", str(setup.root / "sysroot"), str(setup.python), "-c",
             "import ctypes; ctypes.string_at(0)"]  # a NULL read in the emulated process: SIGSEGV
    with pytest.raises(DeviceError, match=r"guest crashed \(signal 11\)"):
        emulator.run_guest(crash, repeatable.guest_env(setup.root / "site"), tmp_path / "m.tflite")


def _conv_onnx(path, channels: int):
    """Two 3x3 convolutions with a ReLU between, on a 1x3x32x32 input, written with onnx's helper."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)
               for name, shape in (("w1", (channels, 3, 3, 3)), ("w2", (channels, channels, 3, 3)))]
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
         helper.make_node("Conv", ["r", "w2"], ["y"])], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, channels, 28, 28])], initializer=weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory):
    """32 channels: about 3.5 M instructions an inference, so ONNX Runtime's own run-to-run bookkeeping (a few dozen
    instructions of Python and C++) stays well inside the 0.01% that counts must repeat to."""
    _setup_or_skip()
    return _conv_onnx(tmp_path_factory.mktemp("tiny") / "tiny.onnx", 32)


def test_onnx_runtime_counts_are_exact_and_carry_their_runtime(tiny_onnx, tmp_path):
    first = _measure(tiny_onnx, count_runs=3)
    again = _measure(tiny_onnx, count_runs=1)
    assert all(c > 1_000_000 for c in first.counts) and max(first.counts) - min(first.counts) <= 1e-4 * first.counts[0]
    assert again.counts[0] == first.counts[0]
    assert first.runtime == "onnxruntime-aarch64" and first.runtime_version == "1.32.0"
    assert first.options["delegate"] == "CPUExecutionProvider" and first.device["setup"]["onnxruntime"] == "1.32.0"
    assert "litert" not in first.device["setup"] and sum(first.extra["instruction_mix"].values()) == first.counts[0]
    wide = _measure(_conv_onnx(tmp_path / "wide.onnx", 64), count_runs=1)
    assert wide.counts[0] > 2 * first.counts[0]


def test_cli_runs_an_onnx_file_on_arm64_emu_and_stores_one_record(tiny_onnx, tmp_path):
    store = tmp_path / "s.sqlite"
    done = run_bench("run", "--model", tiny_onnx, "--target", "arm64-emu", "--store", store, cwd=REPO)
    assert done.returncode == 0, done.stderr
    [record] = json.loads(run_bench("results", "--store", store, "--json").stdout)
    assert record["format"] == "onnx" and record["runtime"] == "onnxruntime-aarch64" and record["count"] > 10_000
    assert record["unit"] == "instructions" and sum(record["extra"]["instruction_mix"].values()) == record["count"]


def test_a_file_onnx_runtime_cannot_load_is_one_clear_error(tmp_path):
    _setup_or_skip()
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07" + b"\xff" * 64)
    with pytest.raises(ArtifactError, match=r"ONNX Runtime \(aarch64\) cannot load"):
        _measure(_Artifact(bad).path)


# Counts the given models in a process of its own (the test starts it with another folder, environment and temp
# folder); one JSON line: per model, everything of the measurement that must repeat.
_COUNT_IN_A_PROCESS = """
import json, sys
from pathlib import Path
from bench.core.protocols import get_protocol
from devices.arm64_emu.target import Arm64EmuTarget

target = Arm64EmuTarget()
options = target.resolve_options({"count_runs": 2})
rows = []
for path in sys.argv[1:]:
    artifact = type("Artifact", (), {"path": Path(path)})()
    m = target.measure(artifact, get_protocol("mobileone"), threads=1, options=options, progress=lambda n: None)
    rows.append({"counts": m.counts, "mix": m.extra["instruction_mix"], "memory": m.extra["memory_bytes"],
                 "overhead": m.extra["marker_overhead_instructions"]})
print(json.dumps(rows))
"""


def _repeatable_part(measurement) -> dict:
    return {"counts": measurement.counts, "mix": measurement.extra["instruction_mix"],
            "memory": measurement.extra["memory_bytes"], "overhead": measurement.extra["marker_overhead_instructions"]}


def _start_counting(models, where, *, padding: int):
    """A process counting `models` from the folder `where`, with its own temp folder and an environment `padding`
    characters longer (an extra variable and a longer PATH): what differs between processes in real use."""
    import os
    import subprocess
    import sys

    (where / "tmp").mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(where / "tmp"), "BENCH_TEST_PADDING": "x" * padding,
           "PATH": os.environ.get("PATH", "") + ":/" + "p" * padding}
    return subprocess.Popen([sys.executable, "-c", _COUNT_IN_A_PROCESS, *map(str, models)], cwd=where, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_counts_mix_and_bytes_repeat_exactly_in_processes_started_differently(tiny_tflite, tiny_onnx, tmp_path):
    """The same artifacts counted here and in two processes at once, each from another folder, temp folder, model
    path and environment size: every count, class, byte and the marker pair's cost agree exactly (before the guest's
    view was fixed, a longer path or PATH moved LiteRT counts by 3 to 16 instructions, ONNX Runtime's by hundreds)."""
    import shutil as sh

    serial = [_repeatable_part(_measure(path, count_runs=2)) for path in (tiny_tflite, tiny_onnx)]
    long_folder = tmp_path / ("a-much-longer-folder-name-" + "y" * 60)
    long_folder.mkdir()
    copies = [sh.copy(tiny_tflite, long_folder / "a-model-file-with-a-long-name.tflite"),
              sh.copy(tiny_onnx, long_folder / "another-long-name.onnx")]
    started = [_start_counting(copies, tmp_path / "p1", padding=3000),
               _start_counting([tiny_tflite, tiny_onnx], tmp_path / ("p2-" + "z" * 40), padding=7)]
    for process in started:
        out, err = process.communicate(timeout=900)
        assert process.returncode == 0, err[-2000:]
        assert json.loads(out.splitlines()[-1]) == serial


def test_ab_with_a_phone_shows_its_predicted_change_beside_the_count_verdict(tiny_tflite, tmp_path):
    """`bench ab --phone`: the verdict is the count's; the phone's predicted milliseconds ride along, labelled."""
    import re

    wide = _conv_tflite(tmp_path / "wide.tflite", 32)
    done = run_bench("ab", "--baseline", tiny_tflite, "--candidate", wide, "--target", "arm64-emu", "--phone",
                     "pixel1", "--store", tmp_path / "ab.sqlite", cwd=REPO)
    assert done.returncode == 1, done.stderr  # the wider net is slower: the count gate says so
    line = done.stdout.strip().splitlines()[-1]
    ratio = float(re.search(r"ratio ([0-9.]+)", line).group(1))
    predicted = re.search(r"predicted pixel1 ([0-9.]+) vs ([0-9.]+) ms \(([+-][0-9.]+)%, not measured\)", line)
    assert "slower" in line and predicted, line
    # pixel1's fp32 calibration scales the count alone: the predicted change is the count's
    assert float(predicted.group(3)) == pytest.approx(100 * (ratio - 1), abs=0.1)
