"""Harness overhead: the harness's minimum latency against a bare ONNX Runtime loop, alternated in one process.

    python tests/benchmarks/harness_overhead.py [--model mobileone_s0] [--rounds 40] [--runs 100]

Both sides use the same session and the same bound inputs; the bare side is the smallest loop that can time one
inference. The ratio min(harness) / min(bare) should be at most 1.02.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench.artifact.cache import ensure_artifact
from bench.core.protocols import get_protocol
from bench.zoo import get_entry
from devices.affinity import pinned
from devices.host import OnnxRuntimeSession
from devices.timing import measure_repeats
from exporters.registry import ExportRequest


def bare_loop(step, argument, runs: int) -> list[int]:
    """The smallest loop that can time one inference, `step(argument)`: nanoseconds per run."""
    clock = time.perf_counter_ns
    out = []
    for _ in range(runs):
        t0 = clock()
        step(argument)
        out.append(clock() - t0)
    return out


def alternated(session, step, argument, rounds: int, runs: int) -> tuple[list[int], list[int]]:
    """Each round's minimum of the harness and of the bare loop on the same session, alternated so the machine's
    other load hits both alike."""
    protocol = get_protocol("mobileone").with_overrides(runs=runs, warmup=0)
    harness_min, bare_min = [], []
    bare_loop(step, argument, 100)  # warm-up for both
    for _ in range(rounds):
        harness_min.append(min(measure_repeats(session.call, protocol, progress=lambda n: None)[0]))
        bare_min.append(min(bare_loop(step, argument, runs)))
    return harness_min, bare_min


def print_ratio(harness_min: list[int], bare_min: list[int]) -> None:
    h, b = min(harness_min) / 1e6, min(bare_min) / 1e6
    print(f"harness min {h:.4f} ms, bare loop min {b:.4f} ms")
    print(f"per-round median of mins: harness {np.median(harness_min) / 1e6:.4f} ms, "
          f"bare {np.median(bare_min) / 1e6:.4f} ms")
    print(f"ratio harness/bare (min) = {h / b:.4f}  (goal <= 1.02)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mobileone_s0")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()

    entry = get_entry(args.model)
    artifact = ensure_artifact(ExportRequest(entry.name, entry.resolution, "onnx", "fp32"))
    with pinned(1):
        session = OnnxRuntimeSession(artifact.path, threads=1)
        harness_min, bare_min = alternated(session, session.session.run_with_iobinding, session.binding,
                                           args.rounds, args.runs)
    print(f"model {args.model}: {args.rounds} alternating rounds of {args.runs} runs, 1 thread, pinned")
    print_ratio(harness_min, bare_min)


if __name__ == "__main__":
    main()
