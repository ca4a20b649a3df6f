"""Side by side on this machine and on a local Ray cluster: wall time of emulated int8 measurements, serial vs
`jobs=2` vs `ray=ADDRESS`, and their counts.

    .venv/bin/python tests/benchmarks/parallel_speedup.py [--models 6] [--resolution 224] [--no-export] [--no-ray]

Candidates: a width x depth x kernel grid of MobileNet-like networks (what an architecture search measures), int8
on arm64-emu, through bench.measure_many, the CLI's engine.
1. export (cold caches): the candidates exported one after another, then in 2 worker processes;
2. measure (artifacts cached): serial, then jobs=2;
3. the same through a local Ray cluster (tests/ray_cluster.py: a head and a worker node of 1 CPU each on this
   machine, started before and stopped after): a first run (the nodes' workers import bench and get the
   artifacts) and a second.
Prints each wall time, the speed-up against serial (goals: jobs=2 >= 1.7x, Ray >= 1.6x on 2 cores) and how many
candidates' counts are identical to the serial run's, byte for byte (a difference is printed with its size).
Needs the arm64-emu set-up and, for part 3, Ray (pip install -e ".[cluster]").
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

GRID = [(w, d, k) for w in (48, 64, 96) for d in (4, 8) for k in (3, 5)]


def candidate(width: int, depth: int, kernel: int):
    """Stem, `depth` depthwise-separable blocks of `kernel`, classifier; fixed seed."""
    import torch
    from torch import nn

    torch.manual_seed(width * 100 + depth * 10 + kernel)
    layers = [nn.Conv2d(3, width, 3, stride=2, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
    for i in range(depth):
        stride = 2 if i in (1, 3, 5) else 1
        layers += [nn.Conv2d(width, width, kernel, stride=stride, padding=kernel // 2, groups=width),
                   nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, width, 1), nn.BatchNorm2d(width), nn.ReLU()]
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 1000)]
    return nn.Sequential(*layers).eval()


def timed(label: str, run):
    started = time.perf_counter()
    out = run()
    wall = time.perf_counter() - started
    print(f"  {label:<34} {wall:7.1f} s", flush=True)
    return out, wall


def export_phase(root: Path, nets, names, size) -> None:
    from bench.core.protocols import get_protocol
    from bench.pipeline import Cell, Hooks, RunSpec, prepare
    from bench.pipeline.coordinator import prepare_cells
    from bench.pipeline.parallel import LocalWorkers

    def export(cache: str, workers):
        os.environ["BENCH_CACHE"] = str(root / cache)
        cells = [Cell(job, get_protocol("mobileone")) for net, name in zip(nets, names)
                 for job in prepare(RunSpec(model=net, target="arm64-emu", precision="int8", input_size=size,
                                            name=name))]
        prepare_cells(cells, Hooks(), workers=workers)
        return [c.artifact.sha256 for c in cells]

    print(f"export of {len(nets)} int8 candidates (cold caches):")
    serial, t1 = timed("one after another", lambda: export("cache-x1", None))
    side, t2 = timed("2 worker processes", lambda: export("cache-x2", LocalWorkers(2)))
    print(f"  speed-up {t1 / t2:.2f}x; artifacts identical: {serial == side}")


def compare(reference, records) -> str:
    same = sum(r.counts == s.counts for r, s in zip(records, reference))
    worst = max(abs(r.count - s.count) for r, s in zip(records, reference))
    return f"counts identical byte for byte: {same}/{len(records)}" + (f" (largest difference {worst} "
                                                                       "instructions)" if worst else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, default=6)
    parser.add_argument("--resolution", type=int, default=224)
    parser.add_argument("--no-export", action="store_true", help="skip part 1")
    parser.add_argument("--no-ray", action="store_true", help="skip part 3")
    args = parser.parse_args()

    import bench
    from devices.arm64_emu.emulator import find_setup
    from tests.ray_cluster import local_cluster, ray_available, short_root

    find_setup()
    size = (1, 3, args.resolution, args.resolution)
    grid = GRID[: args.models]
    nets = [candidate(*g) for g in grid]
    names = [f"cand_w{w}_d{d}_k{k}" for w, d, k in grid]
    root = short_root()
    print(f"{len(nets)} candidates at {args.resolution} px, int8 on arm64-emu; {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.2f}")
    try:
        if not args.no_export:
            export_phase(root, nets, names, size)
        os.environ["BENCH_CACHE"] = str(root / "cache-x1")  # part 1's serial exports, or:
        bench.measure_many(nets, input_size=size, names=names, jobs=2)  # exports (not timed) when part 1 was skipped
        print(f"measure {len(nets)} cached candidates:")
        serial, t1 = timed("serial", lambda: bench.measure_many(nets, input_size=size, names=names))
        side, t2 = timed("jobs=2", lambda: bench.measure_many(nets, input_size=size, names=names, jobs=2))
        print(f"  speed-up {t1 / t2:.2f}x (goal >= 1.7x); {compare(serial, side)}")
        for name, s in zip(names, serial):
            print(f"    {name:<18} {s.count:>13,} instructions, {s.macs / 1e6:7.1f} M MACs")
        if not args.no_ray and ray_available():
            ray_phase(root, nets, names, size, serial, t1)
        elif not args.no_ray:
            print("Ray is not installed: part 3 skipped (pip install -e '.[cluster]' -c constraints.txt)")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


def ray_phase(root: Path, nets, names, size, serial, serial_s: float) -> None:
    import bench
    from tests.ray_cluster import LocalCluster

    cluster, t0 = timed("start the local Ray cluster", lambda: LocalCluster(root).start(workers=1, cpus=1))
    try:
        print(f"through the Ray cluster at {cluster.address} (2 nodes x 1 CPU):")
        for attempt in ("first run", "second run"):
            records, wall = timed(attempt, lambda: bench.measure_many(nets, input_size=size, names=names,
                                                                      ray=cluster.address))
            print(f"  speed-up {serial_s / wall:.2f}x against serial (goal >= 1.6x); {compare(serial, records)}; "
                  f"nodes used: {len({r.host['ray_node'] for r in records})}")
    finally:
        import ray

        ray.shutdown()
        for node in reversed(cluster.nodes):
            node.kill()


if __name__ == "__main__":
    main()
