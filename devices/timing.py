"""The timing loop shared by in-process runners: a monotonic ns clock around the inference call alone."""

from __future__ import annotations

import time
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
