"""Harness overhead on ExecuTorch: the harness's minimum latency against a bare ExecuTorch loop, alternated in one
process (the check tests/benchmarks/harness_overhead.py makes for ONNX Runtime).

    python tests/benchmarks/executorch_overhead.py [--model mobileone_s0] [--precision fp32] [--rounds 40] [--runs 100]

Both sides use the same loaded method and the same input list; the bare side is the smallest loop that can time one
ExecuTorch inference (`Method.execute`, as ExecuTorch's runtime docs call it). The ratio min(harness) / min(bare)
should be at most 1.02.
"""

from __future__ import annotations

import argparse

from bench.artifact.cache import ensure_artifact
from bench.zoo import get_entry
from devices.affinity import pinned
from devices.executorch_host import ExecuTorchSession
from exporters.registry import ExportRequest
from harness_overhead import alternated, print_ratio  # beside this script, whose folder a script run puts on sys.path


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
    with pinned(1):
        session = ExecuTorchSession(artifact.path, threads=1)
        harness_min, bare_min = alternated(session, session.method.execute, session.inputs, args.rounds, args.runs)
    print(f"model {args.model} pte/{args.precision}: {args.rounds} alternating rounds of {args.runs} runs, "
          f"threadpool {session.threads} thread(s), pinned")
    print_ratio(harness_min, bare_min)


if __name__ == "__main__":
    main()
