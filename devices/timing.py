"""The timing loop shared by in-process runners: a monotonic ns clock around the inference call alone."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

PROGRESS_EVERY = 50  # runs between progress updates, outside the timed region


def warm_up(call: Callable[[], object], runs: int) -> None:
    for _ in range(runs):
        call()


def timed_runs(call: Callable[[], object], runs: int, progress: Callable[[int], None] | None = None) -> list[int]:
    clock = time.perf_counter_ns
    samples = np.empty(runs, dtype=np.int64)
    done = 0
    while done < runs:
        chunk_end = min(runs, done + PROGRESS_EVERY)
        for i in range(done, chunk_end):
            start = clock()
            call()
            samples[i] = clock() - start
        if progress is not None:
            progress(chunk_end - done)
        done = chunk_end
    return samples.tolist()


def measure_repeats(call, protocol, progress=None) -> list[list[int]]:
    """Warm up once, then `protocol.repeats` blocks of `protocol.runs` timed runs."""
    warm_up(call, protocol.warmup)
    return [timed_runs(call, protocol.runs, progress) for _ in range(protocol.repeats)]


# One timed measurement at a time on this machine: two in-process timings on one CPU time each other (alone 3.8 ms,
# side by side 8.0 and 4.8 ms). The lock is an flock on a file in the temporary folder, shared by every user, so
# it is released by the kernel when its holder dies (even by SIGKILL); a second run waits for it, saying so.
LOCK_NAME = "mobile-latency-bench-timed.lock"


def lock_path() -> Path:
    return Path(os.environ.get("BENCH_TIMED_LOCK") or Path(tempfile.gettempdir()) / LOCK_NAME)


@contextlib.contextmanager
def timed_alone(notify: Callable[[str], None]):
    """Hold the machine's timing lock while the body times; yields the seconds waited for it. Where the lock file
    cannot be opened at all (a read-only temporary folder), the body runs unlocked and the wait is None."""
    import fcntl  # POSIX only, like the affinity pinning beside it

    path = lock_path()
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        try:
            fd = os.open(path, os.O_RDONLY)  # another user's lock file: flock needs only a descriptor
        except OSError:
            yield None
            return
    try:
        start = time.monotonic()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            notify(f"waiting for another timed measurement on this machine to finish{holder} (lock {path})")
            fcntl.flock(fd, fcntl.LOCK_EX)
        waited = time.monotonic() - start
        _write_holder(fd)
        try:
            yield round(waited, 3)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 64, 0).decode(errors="replace").strip()
    except OSError:
        return ""
    return f" (process {text})" if text.isdigit() else ""


def _write_holder(fd: int) -> None:
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
    except OSError:  # a read-only descriptor: the lock holds all the same
        pass


def machine_load() -> dict:
    """What else the machine was doing: the 1-minute load average and the runnable tasks (from /proc/loadavg,
    where there is one; this process counts as one of them)."""
    facts: dict = {}
    if hasattr(os, "getloadavg"):
        facts["loadavg_1m"] = round(os.getloadavg()[0], 2)
    try:
        running = Path("/proc/loadavg").read_text().split()[3].split("/")[0]
        facts["runnable_tasks"] = int(running)
    except (OSError, IndexError, ValueError):
        pass
    return facts


def load_note(before: dict, after: dict, threads: int, cores: int | None) -> str | None:
    """A sentence when the machine was busier than this measurement alone makes it, else None."""
    cores = cores or 1
    busiest = max(before.get("loadavg_1m", 0.0), after.get("loadavg_1m", 0.0))
    others = max(before.get("runnable_tasks", 1), after.get("runnable_tasks", 1)) - 1  # minus this process
    if busiest > cores or others + threads > cores:
        return (f"the machine was busy while timing: load average up to {busiest:g} on {cores} cores, "
                f"{others} other runnable task(s); the figure may be slower than the machine alone gives")
    return None
