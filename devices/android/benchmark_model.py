"""Running TFLite's benchmark_model on a phone: the flags for each delegate and protocol, the push, one invocation
read whole (exit code, stderr, the tool's own error line), and the time bound of each invocation."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

from bench.core.config import setting
from bench.core.errors import DeviceError, InputDataError, UnsupportedFormat
from bench.core.hashing import content_hash
from devices.android.adb import Adb
from devices.android.benchmark_log import BenchmarkLog, parse

DEVICE_DIR = "/data/local/tmp/bench"
REMOTE_BINARY = f"{DEVICE_DIR}/benchmark_model"
BINARY_ENV = "BENCH_BENCHMARK_MODEL"
MAX_SECS = 100000  # benchmark_model stops after 150 s by default; runs must be counted, not timed
DELEGATES = ("xnnpack", "cpu", "gpu", "nnapi")
HEXAGON_GONE = ("the hexagon delegate is not offered: TFLite deprecated it, it runs only on Hexagon 680-690 DSPs "
                "(Snapdragon 820-855) and needs Qualcomm's libhexagon_nn_skel libraries; use nnapi or gpu "
                "(android_runner/README.md)")
PROBE_BASE_S, PROBE_S_PER_MB = 120.0, 10.0  # one run: loading, delegate set-up (GPU kernels compile) and first run
PROFILE_RUNS = 100  # the op-profile invocation averages per-operator times over these runs


def delegate_flags(delegate: str, accelerator: str | None = None, precision: str = "fp32") -> list[str]:
    """The flags that select one delegate; every record stores them. fp16 on XNNPACK forces fp16 arithmetic:
    without it XNNPACK runs fp16 weights in fp32."""
    if delegate == "xnnpack":
        return ["--use_xnnpack=true"] + (["--xnnpack_force_fp16=true"] if precision == "fp16" else [])
    if delegate == "cpu":  # TFLite's built-in kernels, no delegate
        return ["--use_xnnpack=false"]
    if delegate == "gpu":
        return ["--use_gpu=true", "--gpu_precision_loss_allowed=true"]
    if delegate == "nnapi":
        return ["--use_nnapi=true"] + ([f"--nnapi_accelerator_name={accelerator}"] if accelerator else [])
    if delegate == "hexagon":
        raise UnsupportedFormat(HEXAGON_GONE)
    raise UnsupportedFormat(f"unknown delegate '{delegate}'; known: {', '.join(DELEGATES)}")


def benchmark_args(graph: str, *, runs: int, warmup: int, threads: int, delegate: str,
                   accelerator: str | None = None, precision: str = "fp32", op_profile: bool = False,
                   require_full_delegation: bool = False) -> list[str]:
    """Exact run counts: no minimum seconds for either phase and a ceiling far beyond any real run."""
    args = [
        f"--graph={graph}",
        f"--num_runs={runs}",
        f"--warmup_runs={warmup}",
        "--min_secs=0",
        "--warmup_min_secs=0",
        f"--max_secs={MAX_SECS}",
        f"--num_threads={threads}",
        *delegate_flags(delegate, accelerator, precision),
    ]
    if require_full_delegation:
        args.append("--require_full_delegation=true")
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


# ---------------------------------------------------------------- pushing


def check_command(remote: str) -> str:
    q = shlex.quote(remote)
    return f"if [ -f {q} ]; then stat -c %s {q}; sha256sum {q}; fi"


def push_commands(remote: str, executable: bool) -> list[str]:
    """The shell commands around a push (mkdir before, chmod after); the push itself is `adb push`."""
    return [f"mkdir -p {shlex.quote(os.path.dirname(remote))}"] + (
        [f"chmod 755 {shlex.quote(remote)}"] if executable else [])


def push_if_changed(adb: Adb, local: Path, remote: str, executable: bool = False) -> bool:
    """Push unless the device already has a file of the same size and sha256. Returns whether it pushed."""
    out = adb.shell(check_command(remote), check=False).split()
    if len(out) >= 2 and out[0] == str(os.path.getsize(local)) and out[1] == content_hash(local):
        return False
    mkdir, *chmod = push_commands(remote, executable)
    adb.shell(mkdir)
    adb.push(str(local), remote)
    for command in chmod:
        adb.shell(command)
    return True


# ---------------------------------------------------------------- one invocation


def error_line(text: str) -> str:
    """benchmark_model's own reason: the first specific error line, else its last words."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and "__BENCH_RC=" not in ln]
    specific = [ln for ln in lines if re.search(r"ERROR|FATAL|[Ff]ailed|not found|[Pp]ermission denied|"
                                                r"can't execute|Segmentation fault|Aborted", ln)
                and "Benchmarking failed" not in ln]
    general = [ln for ln in lines if "Benchmarking failed" in ln]
    return (specific or general or lines or ["no output"])[0][:200]


def run_benchmark(adb: Adb, command: str, *, runs: int | None, timeout: float, source: str) -> BenchmarkLog:
    """One invocation; a failed run (non-zero exit, a failure line, a miscount) is an error, never a result."""
    result = adb.run(command, timeout=timeout)
    text = result.stderr + "\n" + result.stdout  # the runtime logs to stderr first; the tool's lines follow
    if result.rc != 0:
        raise DeviceError(f"{source}: benchmark_model failed (exit code {result.rc}): {error_line(text)}")
    try:
        log = parse(text, source=source, one_run=True)
    except InputDataError as exc:
        raise DeviceError(f"{exc} (exit code 0; last words: {error_line(text)})") from None
    if failure := log.failure():
        raise DeviceError(f"{source}: benchmark_model reported a failure: {failure[:200]}")
    if runs is not None and log.measured.count != runs:
        raise DeviceError(f"{source}: benchmark_model ran {log.measured.count} runs, asked for {runs} "
                          "(an old build that ignores --min_secs/--max_secs?); refusing a miscounted result")
    return log


def probe_timeout(model_bytes: int) -> float:
    return PROBE_BASE_S + PROBE_S_PER_MB * model_bytes / 1e6


def timed_timeout(probe: BenchmarkLog, runs: int, warmup: int) -> float:
    """Bound of one timed invocation from the probe: set-up twice over, and every run (warm-up included) three
    times as slow as the slower of the probe's first inference and its run."""
    per_run_ms = max(v for v in (probe.first_inference_ms, probe.measured.avg_ms, probe.measured.max_ms, 1.0)
                     if v is not None)
    return 60.0 + 2 * (probe.init_ms or 0.0) / 1000 + 3 * (runs + warmup) * per_run_ms / 1000
