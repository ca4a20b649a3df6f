"""Decision quality of `bench ab`, measured: detection rate of a real slowdown and false-alarm rate of A/A.

    python tests/benchmarks/regression_detection.py [--trials 20] [--rounds 10] [--runs 30] [--threshold 0.05]

The slowdown is real: the same model at a slightly larger input (224 -> 230 px, 5.4% more MACs), exported and run
like any artifact. Each trial is a full A/B comparison (alternating rounds in one process). Prints, per target,
the measured ratio, detections out of N and false alarms out of N.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench.regression.ab import run_ab
from bench.pipeline import RunSpec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="mobileone_s0")
    parser.add_argument("--base-resolution", type=int, default=224)
    parser.add_argument("--slow-resolution", type=int, default=230)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--threshold", type=float, default=0.05)
    parser.add_argument("--targets", nargs="+", default=["host", "host-litert"])
    args = parser.parse_args()

    for target in args.targets:
        base = RunSpec(model=args.model, target=target, resolution=args.base_resolution)
        slow = RunSpec(model=args.model, target=target, resolution=args.slow_resolution)
        started = time.time()
        detected, alarms, ratios, aa_ratios = 0, 0, [], []
        for _ in range(args.trials):
            ab = run_ab(base, slow, rounds=args.rounds, runs=args.runs, warmup=10, threshold=args.threshold)
            aa = run_ab(base, base, rounds=args.rounds, runs=args.runs, warmup=10, threshold=args.threshold)
            detected += ab.decision.verdict == "slower"
            alarms += aa.decision.verdict != "no change"
            ratios.append(ab.decision.ratio)
            aa_ratios.append(aa.decision.ratio)
        macs_ratio = (args.slow_resolution / args.base_resolution) ** 2
        print(f"{target}: {args.model} {args.base_resolution}px vs {args.slow_resolution}px "
              f"(MACs x{macs_ratio:.3f}), {args.trials} trials of {args.rounds} rounds x {args.runs} runs, "
              f"threshold {args.threshold:.0%}, {time.time() - started:.0f} s")
        print(f"  A/B ratio median {np.median(ratios):.4f} (range {min(ratios):.4f}-{max(ratios):.4f}); "
              f"detected {detected}/{args.trials}")
        print(f"  A/A ratio median {np.median(aa_ratios):.4f} (range {min(aa_ratios):.4f}-{max(aa_ratios):.4f}); "
              f"false alarms {alarms}/{args.trials}")


if __name__ == "__main__":
    main()
