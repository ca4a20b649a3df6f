"""A sweep of bad inputs and odd places through the real CLI (issue 29): each case is what a new user might type.

Every case states the one outcome bench owes the user: an error is exactly one line on stderr naming the cause
(non-zero exit, no traceback, never "internal error"), and a store given to the command is left byte for byte as it
was; an answer is exit 0 with the figure or note asked for. Run it alone to count: `pytest tests/test_trust_sweep.py
-q` ("N passed, M failed" is the sweep's score).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, run_bench

DATA = REPO / "tests" / "data"
LOG = DATA / "android" / "desktop_xnnpack_info_prefix.txt"  # one run of benchmark_model (TFLite)
TWO_RUNS = DATA / "android" / "qualcomm_rb1_cpu_then_gpu_percentiles.txt"
IOS = DATA / "ios" / "matmul_mnv4.json"  # a Core ML result from the iPhone app
NOWHERE = "/dev/null/bench/x"  # a path under a file: nothing can be created there, even by root


def tiny_onnx(path: Path) -> Path:
    """One 3x3 convolution at 32 px: a real ONNX model that measures in well under a second."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = numpy_helper.from_array(np.random.default_rng(0).standard_normal((8, 3, 3, 3)).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])], "tiny",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 32, 32])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Files shared by the cases (each case copies the store it may touch)."""
    root = tmp_path_factory.mktemp("trust")
    tiny = tiny_onnx(root / "tiny.onnx")
    hosted = root / "hosted.sqlite"
    ran = run_bench("run", "--model", tiny, "--runs", "20", "--warmup", "2", "--store", hosted)
    assert ran.returncode == 0, ran.stderr
    imported = run_bench("import", "benchmark-model", LOG, "-m", "tiny", "-t", "pixel7", "--store", hosted)
    assert imported.returncode == 0, imported.stderr
    empty = root / "empty.sqlite"
    from bench.store.database import Store

    Store(empty).close()
    return {"root": root, "tiny": tiny, "hosted": hosted, "empty": empty}


def _sqlite(path: Path, *statements: str) -> Path:
    db = sqlite3.connect(path)
    for s in statements:
        db.execute(s)
    db.commit()
    db.close()
    return path


def _store_of(kind: str, made: dict, tmp: Path) -> Path | None:
    """The store a case hands bench (a fresh copy, so the case can check it is untouched)."""
    path = tmp / f"{kind}.sqlite"
    if kind == "none":
        return tmp / "new.sqlite"
    if kind in ("hosted", "empty"):
        shutil.copy(made[kind], path)
        return path
    if kind == "foreign":  # someone else's SQLite file
        return _sqlite(path, "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)", "INSERT INTO users VALUES (1, 'ann')")
    if kind == "other_records":  # a `records` table that is not bench's
        return _sqlite(path, "CREATE TABLE records (id INTEGER PRIMARY KEY, name TEXT)", "INSERT INTO records VALUES (1, 'x')")
    if kind == "other_records_v2":
        return _sqlite(path, "CREATE TABLE records (id INTEGER PRIMARY KEY, name TEXT)", "PRAGMA user_version = 2")
    if kind == "version_99":
        shutil.copy(made["hosted"], path)
        return _sqlite(path, "PRAGMA user_version = 99")
    if kind == "version_negative":
        shutil.copy(made["hosted"], path)
        return _sqlite(path, "PRAGMA user_version = -1")
    if kind == "version_without_table":
        return _sqlite(path, "PRAGMA user_version = 2")
    if kind == "corrupt":
        path.write_bytes(b"SQLite format 3\x00" + os.urandom(3000))
        return path
    if kind == "garbage":
        path.write_bytes(b"model,latency_ms\n" + os.urandom(500))
        return path
    raise ValueError(kind)


def _digest(path: Path | None) -> str | None:
    if path is None or not path.exists():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest() + "".join(
        s for s in ("-wal", "-shm") if Path(str(path) + s).exists())


ERROR, OK = "error", "ok"

# (id, store kind, args, expected, fragments (each must appear in the one error line, or in the output of an answer))
CASES = [
    # 1. what a record claims: an import stores only what a run would accept
    ("import-coreml-as-pixel7", "none", ["import", "ios-result", IOS, "-m", "x", "-t", "pixel7"], ERROR, ["pixel7", "coreml"]),
    ("import-coreml-as-host-litert", "none", ["import", "ios-result", IOS, "-m", "x", "-t", "host-litert"], ERROR, ["host-litert", "coreml"]),
    ("import-coreml-as-cpu-alias", "none", ["import", "ios-result", IOS, "-m", "x", "-t", "cpu"], ERROR, ["host", "coreml"]),
    ("import-coreml-as-arm64-emu", "none", ["import", "ios-result", IOS, "-m", "x", "-t", "arm64-emu"], ERROR, ["arm64-emu"]),
    ("import-tflite-as-iphone12", "none", ["import", "benchmark-model", LOG, "-m", "x", "-t", "iphone12"], ERROR, ["iphone12", "tflite"]),
    ("import-tflite-as-host", "none", ["import", "benchmark-model", LOG, "-m", "x", "-t", "host"], ERROR, ["host", "tflite"]),
    ("import-timing-as-arm64-emu", "none", ["import", "benchmark-model", LOG, "-m", "x", "-t", "arm64-emu"], ERROR, ["arm64-emu", "count"]),
    ("import-timing-as-emu-alias", "none", ["import", "benchmark-model", LOG, "-m", "x", "-t", "emulated-arm64"], ERROR, ["arm64-emu", "count"]),
    ("import-log-resolution-0", "none", ["import", "benchmark-model", LOG, "-m", "x", "-t", "pixel7", "--resolution", "0"], ERROR, ["--resolution 0"]),
    ("import-log-resolution-huge", "none", ["import", "benchmark-model", LOG, "-m", "x", "-t", "pixel7", "--resolution", "100000"], ERROR, ["--resolution 100000"]),
    ("import-ios-resolution-0", "none", ["import", "ios-result", IOS, "-m", "x", "-t", "iphone12", "--resolution", "0"], ERROR, ["--resolution 0"]),
    ("import-log-precision-int4", "none", ["import", "benchmark-model", LOG, "-m", "x", "-t", "pixel7", "--precision", "int4"], ERROR, ["int4"]),
    ("import-run-0", "none", ["import", "benchmark-model", TWO_RUNS, "-m", "x", "-t", "pixel7", "--run", "0"], ERROR, ["--run"]),
    ("import-run-negative", "none", ["import", "benchmark-model", TWO_RUNS, "-m", "x", "-t", "pixel7", "--run", "-1"], ERROR, ["--run"]),
    ("import-run-too-high", "none", ["import", "benchmark-model", TWO_RUNS, "-m", "x", "-t", "pixel7", "--run", "3"], ERROR, ["--run"]),
    ("import-tflite-alias-litert-ok", "none", ["import", "benchmark-model", LOG, "-m", "x", "-t", "litert"], OK, ["host-litert"]),
    ("import-into-foreign-store", "foreign", ["import", "benchmark-model", LOG, "-m", "x", "-t", "pixel7"], ERROR, ["not"]),
    # 3. every place a run will write, checked before the work
    ("run-store-under-a-file", None, ["run", "--model", "{tiny}", "--store", NOWHERE + ".sqlite"], ERROR, ["/dev/null"]),
    ("run-store-env-under-a-file", "env", ["run", "--model", "{tiny}"], ERROR, ["/dev/null"]),
    ("run-store-is-a-directory", None, ["run", "--model", "{tiny}", "--store", "{tmp}"], ERROR, ["directory"]),
    ("run-store-in-proc", None, ["run", "--model", "{tiny}", "--store", "/proc/bench.sqlite"], ERROR, ["/proc/bench.sqlite"]),
    ("results-csv-under-a-file", "hosted", ["results", "--csv", NOWHERE + ".csv"], ERROR, ["/dev/null"]),
    ("results-csv-is-a-directory", "hosted", ["results", "--csv", "{tmp}"], ERROR, ["directory"]),
    ("compare-markdown-under-a-file", "hosted", ["compare", "{store}", "{store}", "--markdown", NOWHERE + ".md"], ERROR, ["/dev/null"]),
    ("compare-junit-is-a-directory", "hosted", ["compare", "{store}", "{store}", "--junit", "{tmp}"], ERROR, ["directory"]),
    ("report-out-under-a-file", "hosted", ["report", "--out", NOWHERE], ERROR, ["/dev/null"]),
    ("report-out-is-a-file", "hosted", ["report", "--out", "{store}"], ERROR, ["not a directory"]),
    ("export-out-under-a-file", None, ["export", "--model", "{tiny}", "--out", NOWHERE], ERROR, ["/dev/null"]),
    ("export-out-is-a-file", None, ["export", "--model", "{tiny}", "--out", "{tiny}"], ERROR, ["not a directory"]),
    ("calibrate-calibrations-under-a-file", "hosted", ["calibrate", "--phone", "pixel6", "--from", "{store}"], ERROR, ["BENCH_CALIBRATIONS"]),
    ("ab-markdown-under-a-file", "none", ["ab", "-a", "{tiny}", "-b", "{tiny}", "--rounds", "2", "--runs", "5", "--warmup", "1", "--markdown", NOWHERE + ".md"], ERROR, ["/dev/null"]),
    ("sweep-into-foreign", "foreign", ["sweep", "{sweep}"], ERROR, ["not", "bench"]),
    ("import-record-not-a-recovery-file", "none", ["import", "record", IOS], ERROR, ["not a recovery file"]),
    ("import-record-missing", "none", ["import", "record", "{tmp}/none.json"], ERROR, ["no recovery file"]),
    ("sweep-store-under-a-file", None, ["sweep", "{sweep}", "--store", NOWHERE + ".sqlite"], ERROR, ["/dev/null"]),
    # 5. sizes no machine holds, threads it does not have
    ("run-resolution-huge", "none", ["run", "--model", "mobileone_s0", "--resolution", "100000"], ERROR, ["--resolution 100000"]),
    ("run-runs-huge", "none", ["run", "--model", "{tiny}", "--runs", "1000000000000"], ERROR, ["--runs"]),
    ("run-warmup-huge", "none", ["run", "--model", "{tiny}", "--warmup", "1000000000000"], ERROR, ["--warmup"]),
    ("run-repeats-huge", "none", ["run", "--model", "{tiny}", "--repeats", "1000000000", "--runs", "1000"], ERROR, ["--repeats"]),
    ("export-resolution-huge", None, ["export", "--model", "mobileone_s0", "--resolution", "100000"], ERROR, ["--resolution 100000"]),
    ("ab-runs-huge", "none", ["ab", "-a", "{tiny}", "-b", "{tiny}", "--runs", "1000000000000"], ERROR, ["--runs"]),
    ("ab-threads-above-cores", "none", ["ab", "-a", "{tiny}", "-b", "{tiny}", "--threads", "999"], ERROR, ["--threads 999"]),
    ("run-resolution-tiny", "none", ["run", "--model", "mobileone_s0", "--resolution", "8"], ERROR, ["--resolution 8"]),
    ("run-threads-above-cores", "none", ["run", "--model", "{tiny}", "--threads", "999"], ERROR, ["--threads 999", "core"]),
    # 4. a store is bench's or it is refused, untouched, by every command
    ("run-into-foreign", "foreign", ["run", "--model", "{tiny}"], ERROR, ["not", "bench"]),
    ("results-foreign", "foreign", ["results"], ERROR, ["not", "bench"]),
    ("report-foreign", "foreign", ["report", "--out", "{tmp}/r"], ERROR, ["not", "bench"]),
    ("compare-foreign", "foreign", ["compare", "{store}", "{hosted}"], ERROR, ["not", "bench"]),
    ("analyze-foreign", "foreign", ["analyze"], ERROR, ["not", "bench"]),
    ("calibrate-foreign", "foreign", ["calibrate", "--phone", "pixel6", "--from", "{store}"], ERROR, ["not", "bench"]),
    ("ab-into-foreign", "foreign", ["ab", "-a", "{tiny}", "-b", "{tiny}", "--rounds", "2", "--runs", "5"], ERROR, ["not", "bench"]),
    ("run-into-other-records", "other_records", ["run", "--model", "{tiny}"], ERROR, ["records"]),
    ("results-other-records", "other_records", ["results"], ERROR, ["records"]),
    ("run-into-other-records-v2", "other_records_v2", ["run", "--model", "{tiny}"], ERROR, ["records"]),
    ("results-other-records-v2", "other_records_v2", ["results"], ERROR, ["records"]),
    ("run-into-version-99", "version_99", ["run", "--model", "{tiny}"], ERROR, ["newer"]),
    ("results-version-99", "version_99", ["results"], ERROR, ["newer"]),
    ("run-into-version-negative", "version_negative", ["run", "--model", "{tiny}"], ERROR, ["version -1"]),
    ("results-version-negative", "version_negative", ["results"], ERROR, ["version -1"]),
    ("run-into-version-without-table", "version_without_table", ["run", "--model", "{tiny}"], ERROR, ["records"]),
    ("results-version-without-table", "version_without_table", ["results"], ERROR, ["records"]),
    ("results-corrupt", "corrupt", ["results"], ERROR, ["store"]),
    ("run-into-corrupt", "corrupt", ["run", "--model", "{tiny}"], ERROR, ["store"]),
    ("compare-corrupt-sqlite", "corrupt", ["compare", "{store}", "{hosted}"], ERROR, ["SQLite"]),
    ("compare-garbage-sqlite", "garbage", ["compare", "{store}", "{hosted}"], ERROR, ["SQLite"]),
    # 6. empty answers say so; every alias resolves
    ("results-empty-store", "empty", ["results"], OK, ["no records"]),
    ("results-no-such-model", "hosted", ["results", "--model", "nosuch"], ERROR, ["nosuch"]),
    ("results-unknown-target", "hosted", ["results", "--target", "iphone21"], ERROR, ["unknown target 'iphone21'"]),
    ("results-unknown-protocol", "hosted", ["results", "--protocol", "fast"], ERROR, ["unknown protocol 'fast'"]),
    ("results-target-without-rows", "hosted", ["results", "--target", "pixel6"], ERROR, ["pixel6"]),
    ("results-alias-cpu", "hosted", ["results", "--target", "cpu"], OK, ["tiny"]),
    ("results-alias-cpu-json", "hosted", ["results", "--target", "cpu", "--json"], OK, ['"host"']),
    ("results-alias-litert-no-rows", "hosted", ["results", "--target", "litert"], ERROR, ["host-litert"]),
    ("report-no-match", "hosted", ["report", "--target", "pixel6", "--out", "{tmp}/r"], ERROR, ["pixel6"]),
    ("report-alias-cpu", "hosted", ["report", "--target", "cpu", "--out", "{tmp}/r"], OK, ["markdown"]),
    ("report-unknown-target", "hosted", ["report", "--target", "iphone21", "--out", "{tmp}/r"], ERROR, ["iphone21"]),
    ("models-all-no-match", None, ["models", "--all", "zzzz_no_such_net*"], ERROR, ["zzzz_no_such_net*"]),
    ("models-no-match", None, ["models", "zzzz_no_such_net*"], ERROR, ["zzzz_no_such_net*"]),
    ("models-suite-ci", None, ["models", "--suite", "ci"], OK, ["mobileone_s0"]),
    ("models-suite-unknown", None, ["models", "--suite", "nosuite"], ERROR, ["unknown suite 'nosuite'"]),
    ("compare-empty-baseline", "empty", ["compare", "{store}", "{hosted}"], ERROR, ["no records"]),
    ("compare-empty-current", "empty", ["compare", "{hosted}", "{store}"], ERROR, ["no records"]),
    ("compare-missing", None, ["compare", "{tmp}/none.sqlite", "{hosted}"], ERROR, ["does not exist"]),
    ("run-alias-cpu", "none", ["run", "--model", "{tiny}", "--target", "cpu", "--runs", "5", "--json"], OK, ['"host"']),
    # wrong-cause lines
    ("run-input-image-on-host", "none", ["run", "--model", "mobileone_s0", "--input", "image"], ERROR, ["--input image", "host"]),
    ("calibrate-missing-store-names-from", None, ["calibrate", "--phone", "pixel6", "--from", "{tmp}/none.sqlite"], ERROR, ["--from"]),
    ("calibrate-precision-int4", "hosted", ["calibrate", "--phone", "pixel6", "--from", "{store}", "--precision", "int4"], ERROR, ["int4", "fp32"]),
    ("calibrate-unknown-cpu", "hosted", ["calibrate", "--phone", "pixel6", "--from", "{store}", "--cpu", "cortex-z9"], ERROR, ["cortex-z9"]),
    ("calibrate-format-coreml", "hosted", ["calibrate", "--phone", "pixel6", "--from", "{store}", "--format", "coreml"], ERROR, ["coreml"]),
    ("calibrate-unknown-phone", "hosted", ["calibrate", "--phone", "pixel99", "--from", "{store}"], ERROR, ["pixel99"]),
]

STORE_OPTION = {"results", "report", "run", "import", "analyze", "ab", "sweep"}


def _args(args, made, store, tmp):
    sweep = tmp / "sweep.toml"
    sweep.write_text(f'models = ["{made["tiny"]}"]\nruns = 5\n[[targets]]\nname = "host"\n')
    places = {"{tiny}": made["tiny"], "{tmp}": tmp, "{store}": store, "{hosted}": made["hosted"], "{sweep}": sweep}
    out = []
    for a in args:
        a = str(a)
        for key, value in places.items():
            a = a.replace(key, str(value))
        out.append(a)
    return out


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_case(case, made, tmp_path, artifact_cache):
    name, kind, args, expected, fragments = case
    env = {"BENCH_CALIBRATIONS": NOWHERE} if name.startswith("calibrate-calibrations") else {}
    store = None
    if kind == "env":
        env["BENCH_STORE"] = NOWHERE + ".sqlite"
    elif kind is not None:
        store = _store_of(kind, made, tmp_path)
    full = _args(args, made, store, tmp_path)
    if store is not None and full[0] in STORE_OPTION:
        full += ["--store", str(store)]
    before = _digest(store)
    result = run_bench(*full, env={**env, "BENCH_DEBUG": ""}, timeout=600)
    both = result.stdout + result.stderr
    assert "Traceback" not in both and "internal error" not in both, both[-2000:]
    if expected == ERROR:
        lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
        assert result.returncode != 0, both[-2000:]
        assert len(lines) == 1, result.stderr
        for fragment in fragments:
            assert fragment in lines[0], lines[0]
        if store is not None:
            assert _digest(store) == before, "the store changed"
    else:
        assert result.returncode == 0, both[-2000:]
        for fragment in fragments:
            assert fragment in both, both[-2000:]
