"""Pin the measuring process to fixed cores so the scheduler cannot migrate it mid-run."""

from __future__ import annotations

import contextlib
import os


@contextlib.contextmanager
def pinned(threads: int):
    """Pin to `threads` cores (the highest-numbered allowed: core 0 takes most interrupts). Yields the cores,
    or None where the OS has no affinity call. The previous affinity is restored afterwards."""
    if not hasattr(os, "sched_setaffinity"):
        yield None
        return
    before = os.sched_getaffinity(0)
    cores = sorted(before)[-max(1, threads):]
    try:
        os.sched_setaffinity(0, cores)
    except OSError:
        yield None
        return
    try:
        yield cores
    finally:
        os.sched_setaffinity(0, before)
