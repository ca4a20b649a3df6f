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
