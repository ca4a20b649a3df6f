"""Simulated cache misses per inference: qemu's contrib/plugins/cache.c with a stated geometry.

That plugin reports totals for the whole process at exit, so one inference is isolated by a difference of run
counts: (misses with 1 + N counted inferences - misses with 1) / N, both after the same warm-up. The simulation is
of the address stream only (no prefetcher, no timing); the figure is comparable across runs of one set-up.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench.core.errors import DeviceError
from devices.arm64_emu.emulator import Setup, run_guest
from devices.arm64_emu.repeatable import guest_command, guest_env, guest_run, model_format

# Cortex-A76 (Arm's TRM): 64 KiB 4-way L1 I and D, 64-byte lines; a 512 KiB 8-way private L2.
GEOMETRY = {"l1d_bytes": 65536, "l1d_assoc": 4, "l1i_bytes": 65536, "l1i_assoc": 4, "line_bytes": 64,
            "l2_bytes": 524288, "l2_assoc": 8, "evict": "lru"}
EXTRA_RUNS = 2


def plugin_args(setup: Setup, log: Path) -> list[str]:
    g = GEOMETRY
    args = (f"dcachesize={g['l1d_bytes']},dassoc={g['l1d_assoc']},dblksize={g['line_bytes']},"
            f"icachesize={g['l1i_bytes']},iassoc={g['l1i_assoc']},iblksize={g['line_bytes']},"
            f"l2cachesize={g['l2_bytes']},l2assoc={g['l2_assoc']},l2blksize={g['line_bytes']},"
            f"evict={g['evict']},limit=0")
    return ["-plugin", f"{setup.plugin('cache')},{args}", "-d", "plugin", "-D", str(log)]


def parse_totals(text: str) -> dict:
    """The plugin's table: a header line, then "0  <d acc> <d miss> <rate>% <i acc> <i miss> <rate>% <l2 ...>"."""
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] == "0" and len(fields) >= 10:
            return {"l1d_accesses": int(fields[1]), "l1d_misses": int(fields[2]), "l1i_accesses": int(fields[4]),
                    "l1i_misses": int(fields[5]), "l2_accesses": int(fields[7]), "l2_misses": int(fields[8])}
    raise DeviceError("the cache plugin wrote no totals; re-run the arm64-emu set-up script")


def _totals(setup: Setup, model: Path, *, warmup: int, runs: int, threads: int, cpu: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-arm64-cache-") as tmp:
        log = Path(tmp) / "cache.log"
        with guest_run(model) as (folder, clock):
            command = guest_command(setup, plugin_args(setup, log), model_format(model), clock, warmup=warmup,
                                    runs=runs, threads=threads, cpu=cpu)
            run_guest(command, guest_env(setup.root / "site"), model, cwd=folder)
        return parse_totals(log.read_text() if log.exists() else "")


def misses_per_inference(setup: Setup, model: Path, *, warmup: int, threads: int, cpu: str) -> dict:
    one = _totals(setup, model, warmup=warmup, runs=1, threads=threads, cpu=cpu)
    more = _totals(setup, model, warmup=warmup, runs=1 + EXTRA_RUNS, threads=threads, cpu=cpu)
    per = {k: (more[k] - one[k]) // EXTRA_RUNS for k in one}
    return {"per_inference": per, "geometry": GEOMETRY, "simulator": "qemu contrib/plugins/cache.c",
            "method": f"(totals with {1 + EXTRA_RUNS} counted inferences - totals with 1) / {EXTRA_RUNS}"}
