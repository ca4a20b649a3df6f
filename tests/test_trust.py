"""Trust (issue 29), one regression test per class, through the real CLI: what a record claims is checked wherever it
comes from; a measurement is never lost (a real full disk after measuring); a store is bench's or refused untouched;
timed figures are taken one at a time and note the load they saw; empty answers say so."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import BENCH, REPO, run_bench
from tests.test_trust_sweep import IOS, LOG, tiny_onnx


def _one_error_line(result, *fragments) -> str:
    assert result.returncode != 0, result.stdout + result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def tiny(tmp_path):
    return tiny_onnx(tmp_path / "tiny.onnx")


@pytest.fixture
def lock(tmp_path):
    """A timing lock of this test's own, so runs of other sessions on this machine do not queue behind it."""
    return {"BENCH_TIMED_LOCK": str(tmp_path / "timed.lock")}


def _count(store: Path) -> int:
    return sqlite3.connect(store).execute("SELECT COUNT(*) FROM records").fetchone()[0]


# 1. what a record claims -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, fragments", [
    (["ios-result", IOS, "-t", "pixel7"], ["target pixel7 cannot run coreml/fp16"]),
    (["benchmark-model", LOG, "-t", "iphone12"], ["target iphone12 cannot run tflite/fp32"]),
    (["benchmark-model", LOG, "-t", "host"], ["target host cannot run tflite/fp32"]),
    (["benchmark-model", LOG, "-t", "arm64-emu"], ["arm64-emu counts instructions", "never times"]),
    (["benchmark-model", LOG, "-t", "pixel7", "--resolution", "0"], ["--resolution 0 is too small"]),
    (["benchmark-model", LOG, "-t", "pixel7", "--run", "0"], ["--run 0", "numbered from 1"]),
])
def test_an_import_stores_only_what_a_run_would_accept(args, fragments, store_path):
    with_store = ["import", *args, "-m", "m", "--store", store_path]
    _one_error_line(run_bench(*with_store), *fragments)
    assert not store_path.exists()
    # the same place through `bench run` is refused with the same check's words
    if "cannot run" in fragments[0]:
        target = args[args.index("-t") + 1]
        fmt = fragments[0].split("cannot run ")[1].split("/")[0]
        _one_error_line(run_bench("run", "--model", "mobileone_s0", "-t", target, "-f", fmt, "--dry-run"),
                        fragments[0])


# 3. a measurement is never lost ------------------------------------------------------------------------------------

def _mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("making a small full filesystem needs root (mount -t tmpfs)")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True,
                          text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")


def _fill(folder: Path) -> None:
    """Write until the filesystem says it is full (ENOSPC): a real full disk, not a mocked error."""
    with open(folder / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            assert exc.errno == 28, exc  # ENOSPC


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small"
    _mount_tmpfs(mount, "4m")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_store_that_fills_after_measuring_keeps_the_record_for_later(small_disk, tiny, tmp_path, lock,
                                                                        artifact_cache):
    store = small_disk / "bench.sqlite"
    first = run_bench("run", "--model", tiny, "--runs", "20", "--warmup", "2", "--store", store, env=lock)
    assert first.returncode == 0, first.stderr
    state = tmp_path / "state"
    env = {**os.environ, **lock, "XDG_STATE_HOME": str(state)}
    proc = subprocess.Popen([*BENCH, "run", "--model", str(tiny), "--runs", "400000", "--warmup", "2", "--store",
                             str(store), "--json"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    lock_file = Path(lock["BENCH_TIMED_LOCK"])
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:  # the lock names its holder once timing has begun
        if lock_file.exists() and lock_file.read_text().strip() == str(proc.pid):
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before the disk could be filled"
    _fill(small_disk)
    out, err = proc.communicate(timeout=600)
    line = _one_error_line(subprocess.CompletedProcess(proc.args, proc.returncode, out, err),
                           "could not store the measurement", "bench import record")
    assert proc.returncode == 6
    kept = Path(re.search(r"kept in (\S+);", line).group(1))
    assert kept.is_file() and str(kept).startswith(str(state))
    assert _count(store) == 1  # the first run's record, whole; the second is not half-stored

    refused = run_bench("import", "record", kept, "--store", store)  # still full: refused before writing
    _one_error_line(refused, "free")
    (small_disk / "filler").unlink()
    stored = run_bench("import", "record", kept, "--store", store)
    assert stored.returncode == 0, stored.stderr
    assert _count(store) == 2
    record = json.loads(run_bench("results", "--store", store, "--json", "--samples").stdout)[-1]
    assert record["n_samples"] == 400000 and record["model"] == "tiny"
    again = run_bench("import", "record", kept, "--store", store)  # a second time stores nothing twice
    assert again.returncode == 0 and "already there" in again.stderr and _count(store) == 2


def test_a_full_disk_is_refused_before_measuring(small_disk, tiny, artifact_cache):
    _fill(small_disk)
    result = run_bench("run", "--model", tiny, "--store", small_disk / "bench.sqlite")
    _one_error_line(result, str(small_disk / "bench.sqlite"), "KiB free")
    assert not (small_disk / "bench.sqlite").exists()


@pytest.mark.parametrize("command, flag", [
    (["export", "--model", "mobileone_s0", "--format", "onnx"], "--out"),
    (["report"], "--out"),
    (["results"], "--csv"),
    (["compare", "{store}", "{store}"], "--markdown"),
    (["compare", "{store}", "{store}"], "--junit"),
])
def test_an_unwritable_output_is_refused_before_any_work(command, flag, tmp_path, tiny, lock, artifact_cache):
    store = tmp_path / "s.sqlite"
    assert run_bench("run", "--model", tiny, "--runs", "5", "--store", store, env=lock).returncode == 0
    cached = sorted(p.name for p in Path(artifact_cache).iterdir())
    args = [a.replace("{store}", str(store)) for a in command]
    if command[0] in ("report", "results"):
        args += ["--store", str(store)]
    started = time.monotonic()
    _one_error_line(run_bench(*args, flag, "/dev/null/nowhere/x"), "/dev/null")
    assert time.monotonic() - started < 60  # no export was made first
    assert sorted(p.name for p in Path(artifact_cache).iterdir()) == cached


# 4. a store is bench's or it is refused ----------------------------------------------------------------------------

def test_someone_elses_sqlite_file_is_refused_by_every_command_and_left_as_it_was(tmp_path, tiny, lock):
    theirs = tmp_path / "theirs.sqlite"
    db = sqlite3.connect(theirs)
    db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    db.commit()
    db.close()
    before = _digest(theirs)
    for args in (["run", "--model", tiny, "--store", theirs], ["results", "--store", theirs],
                 ["report", "--store", theirs, "--out", tmp_path / "r"], ["compare", theirs, theirs],
                 ["import", "benchmark-model", LOG, "-m", "m", "-t", "pixel7", "--store", theirs]):
        _one_error_line(run_bench(*args, env=lock), str(theirs), "not a store written by bench")
    assert _digest(theirs) == before
    assert sqlite3.connect(theirs).execute("PRAGMA user_version").fetchone()[0] == 0


def test_a_store_on_a_read_only_mount_can_still_be_listed(tmp_path, tiny, lock):
    mount = tmp_path / "ro"
    _mount_tmpfs(mount, "8m")
    try:
        store = mount / "bench.sqlite"
        assert run_bench("run", "--model", tiny, "--runs", "5", "--store", store, env=lock).returncode == 0
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        listed = run_bench("results", "--store", store, "--json")
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout)[0]["model"] == "tiny"
        _one_error_line(run_bench("run", "--model", tiny, "--store", store, env=lock), "read-only")
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


# 5. timed figures protected ----------------------------------------------------------------------------------------

def test_two_timed_runs_take_turns_and_say_so(tmp_path, tiny, lock, artifact_cache):
    store = tmp_path / "s.sqlite"
    args = [*BENCH, "run", "--model", str(tiny), "--runs", "100000", "--warmup", "2", "--store", str(store), "--json"]
    env = {**os.environ, **lock}
    first = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock_file = Path(lock["BENCH_TIMED_LOCK"])
    deadline = time.time() + 300
    while time.time() < deadline and not (lock_file.exists() and lock_file.read_text().strip() == str(first.pid)):
        time.sleep(0.02)
    second = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    out, err = first.communicate(timeout=600)
    assert first.returncode == 0 and second.returncode == 0, err + second.stderr
    assert f"waiting for another timed measurement on this machine to finish (process {first.pid})" in second.stderr
    records = json.loads(run_bench("results", "--store", store, "--json", "--all").stdout)
    waits = sorted(r["extra"]["machine_load"]["lock_waited_s"] for r in records)
    assert waits[0] < 0.5 < waits[1]  # the second waited for the first instead of timing beside it
    for r in records:
        load = r["extra"]["machine_load"]
        assert {"loadavg_1m", "runnable_tasks"} <= set(load["before"]) and set(load["before"]) == set(load["after"])


def test_threads_above_the_cores_and_sizes_no_machine_holds_are_refused_before_work(store_path, tiny):
    cores = len(os.sched_getaffinity(0))
    _one_error_line(run_bench("run", "--model", tiny, "--threads", cores + 1, "--store", store_path),
                    f"--threads {cores + 1}", f"{cores} cores")
    _one_error_line(run_bench("run", "--model", "mobileone_s0", "--resolution", "100000", "--store", store_path),
                    "--resolution 100000", "at most 4096")
    _one_error_line(run_bench("run", "--model", tiny, "--runs", "1000000000000", "--store", store_path), "--runs")
    assert not store_path.exists()


# 6. empty answers say so -------------------------------------------------------------------------------------------

def test_empty_answers_say_what_was_looked_for(tmp_path, tiny, lock):
    store = tmp_path / "s.sqlite"
    empty = run_bench("results", "--store", store)
    _one_error_line(empty, "no store at")
    assert run_bench("run", "--model", tiny, "--runs", "5", "--store", store, env=lock).returncode == 0
    by_alias = run_bench("results", "--store", store, "--target", "cpu", "--json")
    assert by_alias.returncode == 0 and json.loads(by_alias.stdout)[0]["target"] == "host"
    line = _one_error_line(run_bench("results", "--store", store, "--target", "pixel6"), "target pixel6", "host")
    assert run_bench("results", "--store", store, "--target", "pixel6").returncode == 1, line
    _one_error_line(run_bench("results", "--store", store, "--target", "iphone21"), "unknown target 'iphone21'")
    _one_error_line(run_bench("models", "--all", "zzz_no_net*"), "no model matches 'zzz_no_net*'")
    ci = run_bench("models", "--suite", "ci", "--json")
    assert ci.returncode == 0 and {"mobileone_s0", "mobilenetv4_conv_small"} <= {m["name"] for m in json.loads(ci.stdout)}
    fresh = tmp_path / "fresh.sqlite"
    from bench.store.database import Store

    Store(fresh).close()
    _one_error_line(run_bench("compare", fresh, store), "baseline", "holds no records")
    nothing = run_bench("results", "--store", fresh)
    assert nothing.returncode == 0 and "holds no records yet" in nothing.stderr


def test_side_by_side_records_after_a_store_failure_are_kept_too(small_disk, tmp_path, monkeypatch):
    """--jobs/--ray: the coordinator stores what the workers send back; once the store fails (a real full disk), the
    failing record and every one still arriving from cells under way go to recovery files, none dropped, and no new
    cell starts."""
    from bench.pipeline.coordinator import Hooks, RunResult, _measure_side_by_side
    from bench.store.database import Store, StoreWriteError
    from bench.store.recovery import read
    from tests.test_store import _record

    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    records = [_record(f"m{i}") for i in range(4)]
    asked_to_stop = []

    class Workers:  # stands in for the worker pool only: the records are the test's, never a report's
        def measure(self, cells, started, stop):
            for i, record in enumerate(records):
                if i == 1:
                    _fill(small_disk)
                yield i, cells[i], record
                asked_to_stop.append(stop())

    notes = []
    with Store(small_disk / "bench.sqlite") as store:
        with pytest.raises(StoreWriteError) as failed:
            _measure_side_by_side(list(range(4)), store, RunResult(), Hooks(notify=notes.append), Workers(), False)
    kept = [r.model for r in read(failed.value.recovery)] + \
        [r.model for r in read(re.search(r"kept in (\S+);", notes[-1]).group(1))]
    assert kept == ["m1", "m2", "m3"] and asked_to_stop == [False, True, True, True]
