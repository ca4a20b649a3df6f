"""Harness overhead on ExecuTorch: the harness's minimum latency against a bare ExecuTorch loop, alternated in one
process (the check tests/benchmarks/harness_overhead.py makes for ONNX Runtime).

    python tests/benchmarks/executorch_overhead.py [--model mobileone_s0] [--precision fp32] [--rounds 40] [--runs 100]

Both sides use the same loaded method and the same input list; the bare side is the smallest loop that can time one
ExecuTorch inference (`Method.execute`, as ExecuTorch's runtime docs call it). The ratio min(harness) / min(bare)
should be at most 1.02.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench.artifact.cache import ensure_artifact
from bench.core.protocols import get_protocol
from bench.zoo import get_entry
from devices.affinity import pinned
from devices.executorch_host import ExecuTorchSession
from devices.timing import measure_repeats
from exporters.registry import ExportRequest


def bare_loop(session, runs: int) -> list[int]:
    execute, inputs, clock = session.method.execute, session.inputs, time.perf_counter_ns
    out = []
    for _ in range(runs):
        t0 = clock()
        execute(inputs)
        out.append(clock() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mobileone_s0")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "int8"))
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()

    entry = get_entry(args.model)
    representative = "synthetic" if args.precision == "int8" else "none"
    artifact = ensure_artifact(ExportRequest(entry.name, entry.resolution, "pte", args.precision,
                                             representative=representative))
    protocol = get_protocol("mobileone").with_overrides(runs=args.runs, warmup=0)
    harness_min, bare_min = [], []
    with pinned(1):
        session = ExecuTorchSession(artifact.path, threads=1)
        bare_loop(session, 100)  # warm-up for both
        for _ in range(args.rounds):
            harness = measure_repeats(session.call, protocol, progress=lambda n: None)[0]
            bare = bare_loop(session, args.runs)
            harness_min.append(min(harness))
            bare_min.append(min(bare))
    h, b = min(harness_min) / 1e6, min(bare_min) / 1e6
    print(f"model {args.model} pte/{args.precision}: {args.rounds} alternating rounds of {args.runs} runs, "
          f"threadpool {session.threads} thread(s), pinned")
    print(f"harness min {h:.4f} ms, bare loop min {b:.4f} ms")
    print(f"per-round median of mins: harness {np.median(harness_min) / 1e6:.4f} ms, "
          f"bare {np.median(bare_min) / 1e6:.4f} ms")
    print(f"ratio harness/bare (min) = {h / b:.4f}  (goal <= 1.02)")


if __name__ == "__main__":
    main()
