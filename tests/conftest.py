import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BENCH = [sys.executable, "-m", "bench.cli"]


@pytest.fixture(scope="session")
def artifact_cache(tmp_path_factory):
    """One artifact cache for the whole session: each real export is done once."""
    path = tmp_path_factory.mktemp("artifacts")
    os.environ["BENCH_CACHE"] = str(path)
    return path


@pytest.fixture
def store_path(tmp_path):
    return tmp_path / "bench.sqlite"


def run_bench(*args, env=None, timeout=900, cwd=None):
    """Run the real CLI in a subprocess, as a user would."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [*BENCH, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=full_env, cwd=cwd or REPO
    )


def sigkill_after_records(args, store, at_least: int, timeout: float = 600) -> None:
    """Start `bench ARGS`, SIGKILL it once `store` holds `at_least` committed records (asserting it was still
    running then)."""
    import signal
    import sqlite3
    import time

    proc = subprocess.Popen([*BENCH, *map(str, args)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if store.exists():
            try:
                count = sqlite3.connect(store, timeout=5).execute("SELECT COUNT(*) FROM records").fetchone()[0]
            except sqlite3.OperationalError:
                count = 0
            if count >= at_least:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "bench finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)


@pytest.fixture(autouse=True)
def tensorflow_stays_out_of_this_process():
    """tensorflow costs a torch process about 0.7 GB and 10 s (and, before setup.py's .pth, crashed triton): bench
    converts TensorFlow models in a subprocess, and a test that pulls tensorflow into the test process is named here,
    at the test that did it."""
    yield
    assert "tensorflow" not in sys.modules, "this test imported tensorflow into the test process"
