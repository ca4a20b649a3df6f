"""Running TFLite's benchmark_model on a phone: the flags for each delegate and protocol, and the push."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from bench.core.config import setting
from bench.core.hashing import content_hash
from bench.core.errors import BenchError, DeviceError
from devices.android.adb import Adb
from devices.android.benchmark_log import BenchmarkLog, parse

DEVICE_DIR = "/data/local/tmp/bench"
BINARY_ENV = "BENCH_BENCHMARK_MODEL"
MAX_SECS = 100000  # benchmark_model stops after 150 s by default; runs must be counted, not timed
DELEGATES = ("xnnpack", "cpu", "gpu", "nnapi", "hexagon")


def delegate_flags(delegate: str, accelerator: str | None = None) -> list[str]:
    """The flags that select one delegate; every record stores them."""
    if delegate == "xnnpack":
        return ["--use_xnnpack=true"]
    if delegate == "cpu":  # TFLite's reference/optimized built-in kernels, no delegate
        return ["--use_xnnpack=false"]
    if delegate == "gpu":
        return ["--use_gpu=true", "--gpu_precision_loss_allowed=true"]
    if delegate == "nnapi":
        flags = ["--use_nnapi=true"]
        return flags + ([f"--nnapi_accelerator_name={accelerator}"] if accelerator else [])
    if delegate == "hexagon":
        return ["--use_hexagon=true"]
    raise BenchError(f"unknown delegate '{delegate}'; known: {', '.join(DELEGATES)}")


def benchmark_args(graph: str, *, runs: int, warmup: int, threads: int, delegate: str,
                   accelerator: str | None = None, op_profile: bool = False) -> list[str]:
    """Exact run counts: no minimum seconds for either phase and a ceiling far beyond any real run."""
    args = [
        f"--graph={graph}",
        f"--num_runs={runs}",
        f"--warmup_runs={warmup}",
        "--min_secs=0",
        "--warmup_min_secs=0",
        f"--max_secs={MAX_SECS}",
        f"--num_threads={threads}",
        *delegate_flags(delegate, accelerator),
    ]
    if op_profile:
        args.append("--enable_op_profiling=true")
    return args


def benchmark_command(binary: str, args: list[str], mask: str | None) -> str:
    prefix = f"taskset {mask} " if mask else ""
    return prefix + " ".join(shlex.quote(a) for a in [binary, *args])


def local_binary(path: str | None) -> Path:
    chosen = path or setting("android", "benchmark_model", env=BINARY_ENV)
    if not chosen:
        raise DeviceError(
            f"no benchmark_model binary for Android; pass --benchmark-model PATH, set ${BINARY_ENV} or "
            "[android] benchmark_model in the config (where to get one: android_runner/README.md)"
        )
    p = Path(chosen)
    if not p.is_file():
        raise DeviceError(f"benchmark_model binary {p} does not exist")
    return p


def push_if_changed(adb: Adb, local: Path, remote: str, executable: bool = False) -> bool:
    """Push unless the device already has a file of the same size and sha256. Returns whether it pushed."""
    size = os.path.getsize(local)
    out = adb.shell(f"if [ -f {shlex.quote(remote)} ]; then stat -c %s {shlex.quote(remote)}; "
                    f"sha256sum {shlex.quote(remote)}; fi", check=False)
    lines = out.split()
    if len(lines) >= 2 and lines[0] == str(size) and lines[1] == content_hash(local):
        return False
    adb.shell(f"mkdir -p {shlex.quote(os.path.dirname(remote))}")
    adb.push(str(local), remote)
    if executable:
        adb.shell(f"chmod 755 {shlex.quote(remote)}")
    return True


def run_benchmark(adb: Adb, command: str, runs: int, source: str) -> BenchmarkLog:
    out = adb.shell(command, timeout=max(600.0, runs * 2.0), check=False)
    log = parse(out, source=source)
    if log.measured.count != runs:
        raise DeviceError(f"{source}: benchmark_model ran {log.measured.count} runs, asked for {runs} "
                          "(an old build that ignores --min_secs/--max_secs?); refusing a miscounted result")
    return log
