"""`--jobs N` and measure_many(jobs=N): counting cells exported and measured side by side on this machine.

The measuring tests need the arm64-emu set-up (devices/arm64_emu/setup.sh, built by .ci/run) and skip without it.
Counts of a side-by-side run are compared with a serial run's, cell by cell, byte for byte: a guest's count does
not depend on what else runs (the emulator fixes the guest's environment, clock, random seed and model path).
"""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from bench.core.errors import BenchError
from tests.conftest import BENCH, REPO, run_bench
from tests.tiny_nets import INPUT_SIZE, names, tiny_nets


def _setup_or_skip():
    from devices.arm64_emu.emulator import find_setup

    try:
        find_setup()
    except BenchError as exc:
        pytest.skip(f"arm64-emu set-up absent ({exc})")


def _one_error_line(done) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode != 0 and len(lines) == 1, done.stderr
    return lines[0]


def same_counts(a, b) -> bool:
    """Byte for byte: the per-inference counts and the instruction mix, as JSON."""
    return (json.dumps(a.counts), json.dumps(a.extra["instruction_mix"], sort_keys=True)) == \
        (json.dumps(b.counts), json.dumps(b.extra["instruction_mix"], sort_keys=True))


def test_timed_targets_refuse_jobs_in_one_line(tmp_path):
    line = _one_error_line(run_bench("run", "--model", "mobileone_s0", "--target", "host", "--jobs", "2",
                                     "--store", tmp_path / "s.sqlite"))
    assert line == ("bench: error: --jobs 2 applies to counting targets only (arm64-emu): target host times its "
                    "runs, and runs side by side would time each other; run it without --jobs")
    config = tmp_path / "sweep.toml"
    config.write_text('models = ["mobileone_s0"]\n[[targets]]\nname = "arm64-emu"\n[[targets]]\nname = "host-litert"\n')
    line = _one_error_line(run_bench("sweep", config, "--jobs", "2", "--store", tmp_path / "s.sqlite"))
    assert "target host-litert times its runs" in line
    assert not (tmp_path / "s.sqlite").exists()  # refused before anything ran

    import bench

    with pytest.raises(BenchError, match="--ray applies to counting targets only .*target host-litert"):
        bench.measure_many(["mobileone_s0"], target="host-litert", precision="fp32", ray="auto")


def test_jobs_and_ray_are_checked_before_anything_runs(tmp_path):
    line = _one_error_line(run_bench("run", "--model", "mobileone_s0", "--target", "arm64-emu", "--jobs", "0"))
    assert line == "bench: error: --jobs must be at least 1 (got 0)"
    line = _one_error_line(run_bench("run", "--model", "mobileone_s0", "--target", "arm64-emu", "--jobs", "2",
                                     "--ray", "auto"))
    assert "give --jobs or --ray, not both" in line
    # Without Ray installed (hidden from this process): how to install it.
    code = ("import sys; sys.modules['ray'] = None\n"
            "from bench.cli import main\n"
            "main(['run', '--model', 'mobileone_s0', '--target', 'arm64-emu', '--ray', 'auto', '--dry-run'])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=REPO)
    assert _one_error_line(done) == ("bench: error: --ray needs Ray, an optional extra: "
                                     "pip install -e '.[cluster]' -c constraints.txt")


@pytest.mark.slow
def test_side_by_side_counts_match_a_serial_run(tmp_path, monkeypatch):
    """Serial and --jobs runs from separate caches: the same artifacts (exports in worker processes are the same
    bytes), the same counts, the records in the order given; more jobs than cores is capped and said."""
    _setup_or_skip()
    import bench

    nets = tiny_nets(3)
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "serial-cache"))
    serial = bench.measure_many(nets, input_size=INPUT_SIZE, names=names(3))
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "jobs-cache"))
    lines = []
    side = bench.measure_many(nets, input_size=INPUT_SIZE, names=names(3), jobs=64, progress=lines.append)
    cores = os.cpu_count()
    assert f"--jobs 64 is more than this machine's {cores} cores: running {cores} at once" in lines
    assert f"exporting 3 artifact(s) on {cores} processes..." in lines
    assert [r.model for r in side] == [r.model for r in serial] == names(3)
    assert [r.artifact_hash for r in side] == [r.artifact_hash for r in serial]
    for s, p in zip(serial, side):
        assert same_counts(p, s), (s.model, s.counts, p.counts)


def _int8_files(tmp_path, count: int) -> list:
    """Tiny int8 .tflite files, exported by bench (in its worker processes) and copied out of the cache."""
    from bench.pipeline import RunSpec, prepare
    from bench.pipeline.orders import export_orders
    from bench.pipeline.parallel import LocalWorkers
    from bench.pipeline.spec import Cell
    from bench.core.protocols import get_protocol

    cells = [Cell(deployment, get_protocol("mobileone")) for net, name in zip(tiny_nets(count), names(count))
             for deployment in prepare(RunSpec(model=net, target="arm64-emu", precision="int8", input_size=INPUT_SIZE,
                                        name=name))]
    files = []
    orders = export_orders(cells)
    for order, artifact in LocalWorkers(2).export(orders):
        assert not isinstance(artifact, BaseException), artifact
        order.cells[0].artifact = artifact
    for cell in cells:
        files.append(shutil.copy(cell.artifact.path, tmp_path / cell.artifact.path.name))
    return files


def _stored(store) -> list[dict]:
    if not store.exists():
        return []
    try:
        rows = sqlite3.connect(store, timeout=10).execute("SELECT settings_key, record_json FROM records").fetchall()
    except sqlite3.OperationalError:  # created, its table not yet
        return []
    return [{"key": key, **json.loads(record)} for key, record in rows]


@pytest.mark.slow
def test_a_sweep_with_jobs_stops_cleanly_on_ctrl_c_and_resumes_without_duplicates(tmp_path, artifact_cache):
    """Ctrl-C (SIGINT to the sweep's process group, as a terminal sends it) once a record is stored: exit 130,
    what finished is stored, nothing half-made; the rerun measures only the rest, and every cell is stored once,
    with the counts of a serial sweep."""
    _setup_or_skip()
    files = _int8_files(tmp_path, 6)
    config = tmp_path / "sweep.toml"
    config.write_text(f"models = {json.dumps([str(f) for f in files])}\n[[targets]]\nname = \"arm64-emu\"\n")
    store = tmp_path / "jobs.sqlite"
    args = [*BENCH, "sweep", str(config), "--jobs", "2", "--store", str(store)]
    proc = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None and not _stored(store):
        time.sleep(0.05)
    assert proc.poll() is None, f"the sweep finished before it could be interrupted: {proc.communicate()[1][-2000:]}"
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert "interrupted: rerun the same command to finish" in err
    first = _stored(store)
    assert 1 <= len(first) < 6

    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert f"{6 - len(first)} measured, {len(first)} already in the store, 0 left" in done.stderr
    rows = _stored(store)
    assert len(rows) == 6 and len({r["key"] for r in rows}) == 6
    assert {r["model"] for r in rows} == set(names(6))

    serial = tmp_path / "serial.sqlite"
    done = subprocess.run([*BENCH, "sweep", str(config), "--store", str(serial)], cwd=REPO, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    by_model = {r["model"]: r for r in _stored(serial)}
    for row in rows:
        twin = by_model[row["model"]]
        assert row["key"] == twin["key"]
        assert json.dumps(row["counts"]) == json.dumps(twin["counts"]), row["model"]
