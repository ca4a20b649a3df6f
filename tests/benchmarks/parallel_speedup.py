"""Side by side on this machine and on a local Ray cluster: wall time of emulated int8 measurements, serial vs
`jobs=2` vs `ray=ADDRESS`, and their counts.

    .venv/bin/python tests/benchmarks/parallel_speedup.py [--models 6] [--rounds 3] [--no-export] [--no-ray]

Candidates: a width x depth x kernel grid of MobileNet-like networks (what an architecture search measures), int8
on arm64-emu, through bench.measure_many, the CLI's engine.
1. export (cold caches): the candidates exported one after another, then 2 at a time;
2. measure (artifacts cached): serial, jobs=2 and a local Ray cluster (tests/ray_cluster.py: a head and a worker
   node of 1 CPU each on this machine) in turn, for a few rounds, so other load on the machine hits each alike.
Prints each wall time, the median speed-up against serial (goals on 2 cores: jobs=2 >= 1.7x, Ray >= 1.6x) and how
many candidates' counts are identical to the first serial run's, byte for byte (a difference is printed with its
size).
Everything runs in this session (the Ray nodes too), so the kernel's autogroup scheduling shares the CPUs among
them alike; on a machine shared with other sessions, --autogroup-nice -10 (root) keeps theirs from taking a core.
Needs the arm64-emu set-up and, for the Ray runs, Ray (pip install -e ".[cluster]").
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
        cells = [Cell(deployment, get_protocol("mobileone")) for net, name in zip(nets, names)
                 for deployment in prepare(RunSpec(model=net, target="arm64-emu", precision="int8", input_size=size,
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
    parser.add_argument("--rounds", type=int, default=3, help="rounds of serial / jobs=2 / Ray, alternated")
    parser.add_argument("--no-export", action="store_true", help="skip part 1")
    parser.add_argument("--no-ray", action="store_true", help="skip Ray")
    parser.add_argument("--autogroup-nice", type=int, default=None,
                        help="on a shared machine: this session's CPU weight against other sessions' (Linux "
                             "autogroups; e.g. -10, root), since nice alone acts only within a session")
    args = parser.parse_args()
    autogroup = Path("/proc/self/autogroup")
    before = autogroup.read_text().split()[-1] if autogroup.exists() else None
    if args.autogroup_nice is not None:
        autogroup.write_text(str(args.autogroup_nice))
        print(f"this session's autogroup: {autogroup.read_text().strip()} (put back to nice {before} at the end)")
    try:
        run(args)
    finally:
        if args.autogroup_nice is not None:
            autogroup.write_text(before)


def run(args) -> None:
    import bench
    from devices.arm64_emu.emulator import find_setup
    from tests.ray_cluster import LocalCluster, ray_available, short_root

    find_setup()
    size = (1, 3, args.resolution, args.resolution)
    grid = GRID[: args.models]
    nets = [candidate(*g) for g in grid]
    names = [f"cand_w{w}_d{d}_k{k}" for w, d, k in grid]
    root = short_root()
    print(f"{len(nets)} candidates at {args.resolution} px, int8 on arm64-emu; {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.2f}")
    cluster = None
    try:
        if not args.no_export:
            export_phase(root, nets, names, size)
        os.environ["BENCH_CACHE"] = str(root / "cache-x1")  # part 1's serial exports, or:
        bench.measure_many(nets, input_size=size, names=names, jobs=2)  # exports (not timed) when part 1 was skipped
        if not args.no_ray and ray_available():
            cluster, _ = timed("start the local Ray cluster (2 nodes x 1 CPU)",
                               lambda: LocalCluster(root).start(workers=1, cpus=1))
        elif not args.no_ray:
            print("Ray is not installed: its runs are skipped (pip install -e '.[cluster]' -c constraints.txt)")
        measure_rounds(args.rounds, nets, names, size, cluster)
    finally:
        if cluster is not None:
            import ray

            ray.shutdown()
            for node in reversed(cluster.nodes):
                node.kill()
        shutil.rmtree(root, ignore_errors=True)
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


def measure_rounds(rounds: int, nets, names, size, cluster) -> None:
    """Serial, jobs=2 and Ray alternated, so the machine's other load hits each alike; the median ratio."""
    import statistics

    import bench

    ways = {"serial": {}, "jobs=2": {"jobs": 2}}
    if cluster is not None:
        ways["ray"] = {"ray": cluster.address}
    walls = {way: [] for way in ways}
    print(f"measure {len(nets)} cached candidates, {rounds} rounds of {', '.join(ways)}:")
    reference = None
    for r in range(rounds):
        for way, kwargs in ways.items():
            records, wall = timed(f"round {r + 1}: {way}", lambda: bench.measure_many(
                nets, input_size=size, names=names, **kwargs))
            walls[way].append(wall)
            reference = reference or records
            print(f"    {compare(reference, records)}")
    for way in list(ways)[1:]:
        ratios = [s / w for s, w in zip(walls["serial"], walls[way])]
        goal = "1.7x" if way == "jobs=2" else "1.6x"
        print(f"  {way}: speed-up {statistics.median(ratios):.2f}x median (rounds: "
              f"{', '.join(f'{x:.2f}' for x in ratios)}; goal >= {goal})")
    for name, s in zip(names, reference):
        print(f"    {name:<18} {s.count:>13,} instructions, {s.macs / 1e6:7.1f} M MACs")


if __name__ == "__main__":
    main()
