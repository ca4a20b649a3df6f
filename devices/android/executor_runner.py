"""ExecuTorch's `executor_runner` on an Android phone, driven the way ExecuTorch's own
`devtools/scripts/benchmark_android.sh` drives it; the facts about the tool, from its source
(examples/portable/executor_runner/executor_runner.cpp, runtime/platform/default/android.cpp):

- Built with the NDK (arm64-v8a, `-DEXECUTORCH_BUILD_XNNPACK=ON`): the manylinux wheel's libraries link glibc and do
  not run on Android, so the user brings this binary (`--executor-runner PATH` or $BENCH_EXECUTOR_RUNNER).
- Flags: `--model_path=`, `--num_executions=N` (runs in one process), `--cpu_threads=N` (1: no threadpool),
  `--print_output=none` (no output tensor dump).
- Each execution is timed around `Method::execute()` alone (inputs are prepared before the clock starts) and logged
  as `Iteration i of N: X ms` (%f, so microsecond resolution); the end is `Model executed successfully N time(s) in
  X ms.`. On Android ET_LOG goes to logcat (tag ExecuTorch), not stdout: the log is read with
  `logcat -d -s ExecuTorch:I` after `logcat -c`, as ExecuTorch's script does.
- A failed load or execution ends in ET_CHECK: abort, a non-zero exit, the reason in logcat.
- logcat is a ring buffer (256 KiB for the main log by default, smaller on some phones): 1,100 iteration lines of
  about 90 bytes fit; a buffer that dropped some is caught by the count check below and refused, never averaged.

Unlike that script, which warms up in a separate invocation, the warm-up runs in the measured process: one
invocation runs warmup + runs executions and the first `warmup` are dropped.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from bench.core.config import setting
from bench.core.errors import DeviceError

RUNNER_ENV = "BENCH_EXECUTOR_RUNNER"
DEVICE_DIR = "/data/local/tmp/bench"
REMOTE_RUNNER = f"{DEVICE_DIR}/executor_runner"
LOGCAT_CLEAR = "logcat -c"
LOGCAT_READ = "logcat -d -s ExecuTorch:I"
_ITERATION = re.compile(r"Iteration (\d+) of (\d+): ([0-9.]+) ms")
_LOADED = re.compile(r"Model loaded in ([0-9.]+) ms")
_DONE = re.compile(r"Model executed successfully (\d+) time\(s\) in ([0-9.]+) ms")


def local_runner(path: str | None) -> Path:
    chosen = path or setting("android", "executor_runner", env=RUNNER_ENV)
    if not chosen:
        raise DeviceError(f"no executor_runner for Android; pass --executor-runner PATH or set ${RUNNER_ENV} (build "
                          "it with the NDK as ExecuTorch's devtools/scripts/benchmark_android.sh does: README, "
                          "ExecuTorch section)")
    p = Path(chosen)
    if not p.is_file():
        raise DeviceError(f"executor_runner binary {p} does not exist")
    return p


def runner_command(model: str, *, executions: int, threads: int, mask: str | None) -> str:
    args = [REMOTE_RUNNER, f"--model_path={model}", f"--cpu_threads={threads}", "--print_output=none",
            f"--num_executions={executions}"]
    return (f"taskset {mask} " if mask else "") + " ".join(shlex.quote(a) for a in args)


def iterations_ms(log: str, executions: int, source: str) -> list[float]:
    """Each execution's milliseconds, in order; anything but exactly 1..N of N is an error, never a result."""
    found = [(int(i), int(n), float(ms)) for i, n, ms in _ITERATION.findall(log)]
    if [i for i, _, _ in found] != list(range(1, executions + 1)) or any(n != executions for _, n, _ in found):
        raise DeviceError(f"{source}: executor_runner logged {len(found)} of {executions} iterations "
                          f"(last words: {last_words(log)})")
    if not _DONE.search(log):
        raise DeviceError(f"{source}: executor_runner did not log its end line (last words: {last_words(log)})")
    return [ms for _, _, ms in found]


def load_ms(log: str) -> float | None:
    found = _LOADED.search(log)
    return float(found.group(1)) if found else None


def last_words(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "nothing in logcat"
