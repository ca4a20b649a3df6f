"""Does a cycle model of the phone's core beat the bare instruction count? Judged leave-one-out on the MobileNetV4
paper's phone tables (bench/prediction/published/mnv4_table.csv).

    apt-get install llvm-19                                   # llvm-mc and llvm-mca 19 (Debian bookworm)
    .venv/bin/python tests/benchmarks/cycle_model.py          # exports and counts the twins first where needed

One inference of each twin on arm64-emu (cortex-a76, the CPU the shipped calibrations were counted on) is profiled
block by block (block_profile.c, compiled here against the set-up's qemu); each block's instructions go through
llvm-mca with a core's scheduling model, which gives the block's cycles per execution (the block run as a loop of
100 iterations); the inference's cycles are the sum over blocks of executions x cycles. Neoverse V1 derives from
Cortex-X1 (the Pixel 6's big core), V2 from Cortex-X3 (the Galaxy S23's), N1 from Cortex-A76. Printed per phone:
the leave-one-out error of the count and of each model's cycles, one scale each (for cycles that scale is a clock:
the clock it implies is printed beside the phone's), with the table's twins and with the TF-padding twins of the
TF-origin rows. Every error is leave-one-out.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import phone_prediction  # noqa: E402
from bench.prediction import least_squares as fm  # noqa: E402
from devices.arm64_emu.target import DEFAULT_CPU  # noqa: E402
from bench.prediction import published as pub  # noqa: E402
from bench.prediction.phones import phone as find_phone  # noqa: E402

SCHEDULING_MODELS = ("neoverse-v1", "neoverse-v2", "neoverse-n1")
# What the disassembler must accept: the guest's cortex-a76 kernels (dotprod, fp16) and everything around them.
ATTRS = "+v8.2a,+dotprod,+fullfp16,+rcpc,+crypto,+lse,+rdm"
PRECISION = "int8"


def llvm_tool(name: str) -> str:
    found = shutil.which(f"{name}-19")
    if not found:
        raise SystemExit(f"{name}-19 not found: install Debian's llvm-19 (apt-get install llvm-19)")
    return found


def build_plugin(setup, folder: Path) -> Path:
    plugin = folder / "libblock_profile.so"
    glib = subprocess.run(["pkg-config", "--cflags", "--libs", "glib-2.0"], capture_output=True, text=True,
                          check=True).stdout.split()
    subprocess.run(["gcc", "-O2", "-Wall", "-Wno-unused-parameter", "-shared", "-fPIC",
                    f"-I{setup.root / 'qemu' / 'include'}", "-o", str(plugin),
                    str(Path(__file__).with_name("block_profile.c")), *glib], check=True)
    return plugin


def artifacts(store: str, cells) -> dict:
    """(model, resolution) -> artifact path and count, exporting and counting through the project's CLI first."""
    have = {(m, r): rec for (m, r, p, t, cpu), rec in phone_prediction.latest_records([store]).items()
            if t == "arm64-emu" and p == PRECISION and cpu == DEFAULT_CPU} if Path(store).exists() else {}
    for model, res in cells:
        if (model, res) in have:
            continue
        if model.endswith("+same"):
            phone_prediction.count_tf_padded(model, res, PRECISION, store)
        else:
            subprocess.run([sys.executable, "-m", "bench.cli", "run", "--model", model, "--resolution", str(res),
                            "--target", "arm64-emu", "--precision", PRECISION, "--store", store], cwd=ROOT,
                           check=True, capture_output=True)
    return {(m, r): (Path(rec["artifact_path"]), rec["count"])
            for (m, r, p, t, cpu), rec in phone_prediction.latest_records([store]).items()
            if t == "arm64-emu" and p == PRECISION and cpu == DEFAULT_CPU}


def block_profile(setup, plugin: Path, model: Path) -> Counter:
    """Executions of each block (its encodings) in one inference, after one warm-up."""
    from devices.arm64_emu.emulator import run_guest
    from devices.arm64_emu.repeatable import guest_command, guest_env, guest_run, model_format

    with tempfile.TemporaryDirectory(prefix="bench-blocks-") as tmp:
        out = Path(tmp) / "blocks.txt"
        with guest_run(model) as (folder, clock):
            command = guest_command(setup, ["-plugin", f"{plugin},out={out}"], model_format(model), clock,
                                    warmup=1, runs=1, threads=1, cpu=DEFAULT_CPU)
            run_guest(command, guest_env(setup.root / "site"), model, cwd=folder)
        lines = out.read_text().splitlines()
    executions = Counter()
    for line in lines[:-1]:
        fields = line.split()
        executions[tuple(fields[2:])] += int(fields[1])
    return executions


def disassemble(encodings: tuple[str, ...]) -> list[str]:
    text = " ".join(f"0x{b:02x}" for word in encodings for b in int(word, 16).to_bytes(4, "little"))
    done = subprocess.run([llvm_tool("llvm-mc"), "--disassemble", "-triple=aarch64", f"-mattr={ATTRS}"], input=text,
                          capture_output=True, text=True, check=True)
    return [line for line in done.stdout.splitlines() if line.startswith("\t") and not line.startswith("\t.")]


def cycles(executions: Counter, asm: dict, scheduling_model: str, folder: Path) -> float:
    """Sum over blocks of executions x llvm-mca cycles per iteration of the block."""
    keys = list(executions)
    source = folder / f"blocks-{scheduling_model}.s"
    source.write_text("".join(f"# LLVM-MCA-BEGIN b{i}\n" + "\n".join(asm[k]) + f"\n# LLVM-MCA-END b{i}\n"
                              for i, k in enumerate(keys)))
    done = subprocess.run([llvm_tool("llvm-mca"), "-mtriple=aarch64", f"-mcpu={scheduling_model}", f"-mattr={ATTRS}",
                           "-iterations=100", "-resource-pressure=false", "-instruction-info=false", str(source)],
                          capture_output=True, text=True, check=True)
    per_block = {int(m[0]): int(m[2]) / int(m[1]) for m in re.findall(
        r"Code Region - b(\d+)\n\nIterations:\s+(\d+)\nInstructions:\s+\d+\nTotal Cycles:\s+(\d+)", done.stdout)}
    if len(per_block) != len(keys):
        raise SystemExit(f"llvm-mca reported {len(per_block)} of {len(keys)} blocks")
    return sum(executions[k] * per_block[i] for i, k in enumerate(keys))


def report(phone_key: str, rows, figures: dict, label: str) -> None:
    ms = np.array([r.latency_ms for r in rows])
    phone = find_phone(phone_key)
    print(f"\n{phone_key} ({phone.fact('big_core')}, {phone.fact('clock_ghz')} GHz), {len(rows)} models, {label}:")
    for name in ("count", *SCHEDULING_MODELS):
        x = np.array([figures[r][name] for r in rows])
        loo = phone_prediction.one_scale_loo(x, ms)
        e = fm.relative_errors(loo, ms)
        clock = f"  implied clock {np.exp(np.mean(np.log(x / ms))) / 1e6:.2f} GHz" if name != "count" else ""
        print(f"  {name:12s} rho {fm.spearman(loo, ms):+.3f}  LOO error mean {100 * e.mean():5.1f}%  "
              f"max {100 * e.max():5.1f}%{clock}")
        print("     " + "  ".join(f"{r.model_published} {100 * (p / m - 1):+.0f}%" for r, p, m in zip(rows, loo, ms)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default=str(Path(tempfile.gettempdir()) / "bench-cycle-model.sqlite"),
                        help="a store for the twins' counts (reused: its artifacts are not exported again)")
    args = parser.parse_args()
    from devices.arm64_emu.emulator import find_setup

    setup = find_setup()
    rows = [r for r in pub.read_published() if r.table == "mnv4" and r.twin]
    twin_sets = {"the table's twins": {r: r.twin for r in rows},
                 "TF-padding twins for TF-origin rows": {r: r.twin_tf_padding or r.twin for r in rows}}
    cells = sorted({(t, r.resolution) for twins in twin_sets.values() for r, t in twins.items()})
    found = artifacts(args.store, cells)
    figures = {}
    with tempfile.TemporaryDirectory(prefix="bench-cycle-model-") as tmp:
        plugin = build_plugin(setup, Path(tmp))
        for model, res in cells:
            path, count = found[(model, res)]
            executions = block_profile(setup, plugin, path)
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                asm = dict(zip(executions, pool.map(disassemble, executions)))
            figures[(model, res)] = {"count": count, **{s: cycles(executions, asm, s, Path(tmp))
                                                        for s in SCHEDULING_MODELS}}
            profiled = sum(n * len(k) for k, n in executions.items())
            print(f"{model}@{res}: {count:,} instructions counted, {profiled:,} in {len(executions)} profiled blocks; "
                  + ", ".join(f"{s} {figures[(model, res)][s]:,.0f} cycles" for s in SCHEDULING_MODELS), flush=True)
    for label, twins in twin_sets.items():
        for phone_key in sorted({r.phone for r in rows}):
            mine = [r for r in rows if r.phone == phone_key]
            report(phone_key, mine, {r: figures[(twins[r], r.resolution)] for r in mine}, label)


if __name__ == "__main__":
    main()
