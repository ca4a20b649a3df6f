"""arm64-emu as a regression gate: detection of small real changes, A/A false alarms, cost, and what it ranks.

    .venv/bin/python tests/benchmarks/arm64_detection.py [--trials 20] [--models mobileone_s0,mobilenetv4_conv_small]
    .venv/bin/python tests/benchmarks/arm64_detection.py --mix-cost-only [--mix-rounds 3]

Part 1: each trial measures mobileone_s0 at 224 px twice (A/A) and at 226 px (+1.8% MACs) and 225 px (+0.9%) once,
each in its own guest process, and decides with the count rule (bench.regression.decision.compare_counts, default
0.5% threshold). Prints detections out of trials, false alarms, and the wall time per measurement.
(MobileOne downsamples by 2 five times, so 225 and 226 px already round every feature map up: +11.2% MACs, not the
pixel ratio's +0.9% / +1.8%; the MACs printed are the graph's own.)
Part 2: for each model and precision, instructions per inference (arm64-emu) beside host-litert latency (min of 200
runs) and MACs, with the Spearman rank correlation between each pair, and where INT8 and FP32 order differently
between x86 timing and emulated ARM counts; then ONNX Runtime's fp32 count of the same model beside LiteRT's.
Part 3: the cost of the instruction mix: the same guest run with the count plugin's mix=off (one inline add of the
block's instruction count, what the plugin did before the mix) and with the mix, alternated, for a LiteRT and an
ONNX Runtime model; prints the ratio of median wall and CPU seconds per guest run, and that both count the same.
Needs the arm64-emu set-up (devices/arm64_emu/setup.sh); exports go to $BENCH_CACHE as usual.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.core.protocols import get_protocol  # noqa: E402
from bench.pipeline.coordinator import Hooks, measure_cell, prepare_cells  # noqa: E402
from bench.pipeline.records import measured  # noqa: E402
from bench.pipeline.spec import Cell, RunSpec, prepare  # noqa: E402
from bench.regression.decision import FASTER, SLOWER, compare_counts  # noqa: E402
from devices.arm64_emu.emulator import count_instructions, find_setup  # noqa: E402

import devices.arm64_emu.target  # noqa: E402,F401  (registers arm64-emu)

HOST_PROTOCOL = get_protocol("mobileone").with_overrides(warmup=20, runs=200)


def cell(model: str, target: str, precision: str, resolution: int, fmt: str = "tflite") -> Cell:
    deployment = prepare(RunSpec(model=model, target=target, format=fmt, precision=precision, resolution=resolution,
                                 options={"count_runs": 1} if target == "arm64-emu" else {}))[0]
    c = Cell(deployment, HOST_PROTOCOL)
    prepare_cells([c], Hooks(notify=lambda line: print(f"  {line}", flush=True)))
    return c


def count(c: Cell) -> tuple[int, float]:
    started = time.monotonic()
    m = measured(c)
    return m.counts[0], time.monotonic() - started


def detection(trials: int) -> None:
    cells = {res: cell("mobileone_s0", "arm64-emu", "fp32", res) for res in (224, 225, 226)}
    macs = {res: c.artifact.macs for res, c in cells.items()}
    hits, alarms, walls, spread = {225: 0, 226: 0}, 0, [], []
    for t in range(trials):
        base, w0 = count(cells[224])
        again, w1 = count(cells[224])
        walls += [w0, w1]
        spread.append(abs(again - base) / base)
        alarms += compare_counts(base, again).verdict in (SLOWER, FASTER)
        line = f"trial {t + 1}: 224px {base:,} / {again:,}"
        for res in (225, 226):
            n, w = count(cells[res])
            walls.append(w)
            hits[res] += compare_counts(base, n).verdict == SLOWER
            line += f"; {res}px {n:,} ({100 * (n / base - 1):+.2f}%)"
        print(line, flush=True)
    for res in (226, 225):
        print(f"224 vs {res} px (+{100 * (macs[res] / macs[224] - 1):.1f}% MACs): detected {hits[res]}/{trials}")
    print(f"A/A 224 vs 224 px: {alarms}/{trials} false alarms; largest A/A difference {100 * max(spread):.5f}%")
    print(f"wall time per measurement: mean {sum(walls) / len(walls):.1f} s, max {max(walls):.1f} s "
          f"({len(walls)} guest runs)")


def spearman(a, b) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def ranking(models: list[str], precisions: list[str], resolution: int) -> None:
    rows = []
    for model in models:
        for precision in precisions:
            emu = cell(model, "arm64-emu", precision, resolution)
            instructions, _ = count(emu)
            host = measure_cell(cell(model, "host-litert", precision, resolution))
            rows.append((model, precision, emu.artifact.macs, instructions, host.latency_ms))
            print(f"{model:28s} {precision:5s} MACs {emu.artifact.macs / 1e6:8.1f} M   instructions "
                  f"{instructions / 1e6:9.2f} M   host-litert {host.latency_ms:7.3f} ms", flush=True)
    macs, instr, ms = ([r[i] for r in rows] for i in (2, 3, 4))
    print(f"Spearman instructions vs MACs {spearman(instr, macs):+.3f}; host-litert ms vs MACs "
          f"{spearman(ms, macs):+.3f}; instructions vs host-litert ms {spearman(instr, ms):+.3f} ({len(rows)} rows)")
    by = {(r[0], r[1]): r for r in rows}
    for model in models:
        if (model, "fp32") in by and (model, "int8") in by:
            f, i = by[(model, "fp32")], by[(model, "int8")]
            emu_says, x86_says = i[3] < f[3], i[4] < f[4]
            note = "same order" if emu_says == x86_says else "ORDER DIFFERS"
            print(f"{model}: int8/fp32 instructions {i[3] / f[3]:.2f}, host-litert ms {i[4] / f[4]:.2f} ({note})")
    for model in models:
        onnx, _ = count(cell(model, "arm64-emu", "fp32", resolution, fmt="onnx"))
        if (model, "fp32") in by:
            litert = by[(model, "fp32")][3]
            print(f"{model} fp32: ONNX Runtime {onnx / 1e6:.2f} M instructions, LiteRT {litert / 1e6:.2f} M "
                  f"(ORT/LiteRT {onnx / litert:.2f})", flush=True)


def _guest_seconds(path: Path, mix: bool) -> tuple[float, float, int]:
    """Wall and CPU seconds of one guest run (warm-up 1, 2 counted), and its first count."""
    cpu_before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    result = count_instructions(find_setup(), path, warmup=1, runs=2, threads=1, cpu="cortex-a76", mix=mix)
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime)
    return time.monotonic() - started, cpu, result["counts"][0]


def mix_cost(model: str, rounds: int) -> None:
    for fmt in ("tflite", "onnx"):
        path = cell(model, "arm64-emu", "fp32", 224, fmt=fmt).artifact.path
        runs = {False: [], True: []}
        for _ in range(rounds):
            for mix in (False, True):  # alternated, so the machine's load hits both alike
                runs[mix].append(_guest_seconds(path, mix))
        wall, cpu = ({m: statistics.median(r[i] for r in runs[m]) for m in runs} for i in (0, 1))
        counts = {m: {r[2] for r in runs[m]} for m in runs}
        print(f"{model} {fmt}: count only {wall[False]:.1f} s wall / {cpu[False]:.1f} s CPU, with the mix "
              f"{wall[True]:.1f} s / {cpu[True]:.1f} s per guest run (median of {rounds}): mix/count-only wall "
              f"{wall[True] / wall[False]:.3f}, CPU {cpu[True] / cpu[False]:.3f}; counts {sorted(counts[False])} "
              f"vs {sorted(counts[True])}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--models", default="mobileone_s0,mobilenetv4_conv_small")
    parser.add_argument("--precisions", default="fp32,int8")
    parser.add_argument("--resolution", type=int, default=224)
    parser.add_argument("--skip-detection", action="store_true")
    parser.add_argument("--mix-cost-only", action="store_true")
    parser.add_argument("--mix-rounds", type=int, default=3)
    args = parser.parse_args()
    if not args.mix_cost_only:
        if not args.skip_detection:
            detection(args.trials)
        ranking(args.models.split(","), args.precisions.split(","), args.resolution)
    mix_cost("mobileone_s0", args.mix_rounds)


if __name__ == "__main__":
    main()
