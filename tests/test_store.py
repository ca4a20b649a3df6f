import json
import multiprocessing
import sqlite3

import pytest

from bench.core.errors import InputDataError
from bench.core.outcome import Timing
from bench.core.record import Record, derive_statistics
from bench.store.database import SCHEMA_VERSION, Store, open_existing
from tests.conftest import REPO, run_bench, sigkill_after_records


def _record(model="m", samples=((3_000_000, 2_000_000, 4_000_000),)):
    r = Record(model=model, resolution=224, format="onnx", precision="fp32", target="host", runtime="onnxruntime",
               runtime_version="1", threads=1, protocol="mobileone", warmup=0, runs=3, repeats=1,
               outcome=Timing(samples_ns=[list(s) for s in samples]))
    return derive_statistics(r)


def test_record_statistics_come_from_samples():
    r = _record()
    assert r.latency_ms == 2.0 and r.min_ms == 2.0 and r.max_ms == 4.0 and r.median_ms == 3.0 and r.n_samples == 3


def test_round_trip(store_path):
    with Store(store_path) as s:
        s.add(_record("a"))
        s.add(_record("b"))
    with open_existing(store_path) as s:
        got = s.records(model="b")
    assert len(got) == 1 and got[0].model == "b" and got[0].samples_ns == [[3_000_000, 2_000_000, 4_000_000]]


def test_open_existing_rejects_missing_and_foreign_files(tmp_path):
    with pytest.raises(InputDataError, match="no store at"):
        open_existing(tmp_path / "nope.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database")
    with pytest.raises(InputDataError, match="not a SQLite store"):
        open_existing(junk)


def _writer(path, tag, n):
    with Store(path) as s:
        for i in range(n):
            s.add(_record(f"{tag}-{i}"))


def test_concurrent_writers_do_not_corrupt(store_path):
    procs = [multiprocessing.Process(target=_writer, args=(store_path, t, 40)) for t in "ab"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with open_existing(store_path) as s:
        assert s.count() == 80
    assert sqlite3.connect(store_path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_sigkill_mid_run_keeps_every_finished_record(store_path, artifact_cache):
    # Four measurements of a real model; kill the process once at least one is committed.
    args = ["run", "--store", store_path, "--runs", "300", "--warmup", "5"]
    for _ in range(4):
        args += ["--model", "mobileone_s0"]
    sigkill_after_records(args, store_path, at_least=1)
    db = sqlite3.connect(store_path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = db.execute("SELECT record_json FROM records").fetchall()
    assert 1 <= len(rows) < 4
    for (payload,) in rows:
        record = json.loads(payload)
        assert len(record["samples_ns"]) == 1 and len(record["samples_ns"][0]) == 300
        assert record["latency_ms"] == min(record["samples_ns"][0]) / 1e6


def _open_and_add(path, tag):
    with Store(path) as s:
        s.add(_record(tag))


def test_several_processes_creating_one_new_store_at_once(tmp_path):
    path = tmp_path / "new.sqlite"
    procs = [multiprocessing.Process(target=_open_and_add, args=(path, f"p{i}")) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with open_existing(path) as s:
        assert s.count() == 4


# ---------------------------------------------------------------- schema versions
FIXTURE = REPO / "tests" / "data" / "store" / "bench-0.1.0.sqlite"


def _fixture_copy(tmp_path):
    import shutil

    path = tmp_path / "old.sqlite"
    shutil.copy(FIXTURE, path)
    return path


def test_a_store_written_by_bench_0_1_0_reads_the_same_after_migration(tmp_path):
    """The fixture was written by bench 0.1.0 (a real host run, host-litert int8, imported Android and iOS results,
    the CI baseline's arm64-emu counts); beside it, what 0.1.0 read from it."""
    expected = json.loads((FIXTURE.parent / "bench-0.1.0.records.json").read_text())
    path = _fixture_copy(tmp_path)
    with open_existing(path) as store:  # read as it is, not migrated
        assert store.version() == 1 and _as_0_1_0_read_them(store.records()) == expected
    with Store(path) as store:  # opened for writing: brought forward to the current schema
        assert store.version() == SCHEMA_VERSION
        rows = store._db.execute("SELECT unit, count, latency_ms FROM records ORDER BY timestamp, rowid").fetchall()
        assert _as_0_1_0_read_them(store.records()) == expected
    assert [(u, c) for u, c, _ in rows] == [(r["unit"], r["count"]) for r in expected]
    assert {u for u, _, _ in rows} == {"ms", "instructions"}
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


ADDED_SINCE_0_1_0 = {"predictions": [], "memory_traffic": None}  # keys later releases add, with what an old record reads as


def _as_0_1_0_read_them(records) -> list[dict]:
    """Every key 0.1.0 wrote, with its value; the keys added since hold their defaults."""
    read = [r.to_dict() for r in records]
    for d in read:
        assert {k: d.pop(k) for k in ADDED_SINCE_0_1_0} == ADDED_SINCE_0_1_0
    return read


def test_a_new_store_states_its_schema_version(store_path):
    with Store(store_path) as s:
        s.add(_record())
    db = sqlite3.connect(store_path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("SELECT unit, count FROM records").fetchall() == [("ms", None)]


def test_a_store_from_a_newer_bench_is_refused_in_one_line(tmp_path):
    path = _fixture_copy(tmp_path)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    for args in (("results", "--store", path), ("compare", path, path)):
        done = run_bench(*args)
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert done.returncode != 0 and len(lines) == 1, done.stderr
        assert f"store {path} was written by a newer bench (store schema {SCHEMA_VERSION + 1}" in lines[0]
    with pytest.raises(InputDataError, match="newer bench"):
        Store(path)


def test_a_failed_migration_leaves_the_old_store_as_it_was(tmp_path, monkeypatch):
    import bench.store.database as store_module

    path = _fixture_copy(tmp_path)
    broken = {**store_module.MIGRATIONS, 1: store_module.MIGRATIONS[1] + "\nUPDATE no_such_table SET x = 1;"}
    monkeypatch.setattr(store_module, "MIGRATIONS", broken)
    with pytest.raises(InputDataError):
        Store(path)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == 0
    assert "unit" not in [c[1] for c in db.execute("PRAGMA table_info(records)")]
