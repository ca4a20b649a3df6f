"""Predicting a phone's CPU milliseconds from arm64-emu figures, judged on published real-phone tables.

    .venv/bin/python tests/benchmarks/phone_prediction.py                       # the committed emulated.csv
    .venv/bin/python tests/benchmarks/phone_prediction.py --emulated my.csv     # figures measured elsewhere
    .venv/bin/python tests/benchmarks/phone_prediction.py --measure --store S   # count every twin again, then
        --write-emulated                                                        # rebuild emulated.csv from S
    .venv/bin/python tests/benchmarks/phone_prediction.py --measure --store S --cpu cortex-a710 --table mnv4
        --write-emulated                        # add counts on another emulated CPU (ISA) for the side-by-side line
    .venv/bin/bench calibrate --published         # refit the shipped calibrations (the product's own command)

For every published table (bench/prediction/published/*.csv) and each (phone, precision, threads) in it, prints
side by side the Spearman rho and the leave-one-out relative error (mean, median, max) of: the prediction with each
feature set (the bare instruction count with one scale per phone first), host-litert latency with one scale, and
MACs with one scale; then the same leave-one-out errors per model family; then each calibration applied with no
refit to the other tables of the same phone and precision (held-back tables). Errors are never measured on rows
the model was fitted to: every figure here is leave-one-out or held-back.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.prediction import least_squares as fm  # noqa: E402
from bench.prediction import published as pub  # noqa: E402
from bench.prediction.features import MIX_CLASSES, needs  # noqa: E402
from bench.prediction.features import row as feature_row  # noqa: E402
from bench.prediction.fitting import MIN_MODELS, predict  # noqa: E402
from devices.arm64_emu.target import DEFAULT_CPU  # noqa: E402

FEATURE_SETS = [(), ("log_count",), ("simd_fp_share",), ("load_share",), ("store_share",), ("branch_share",),
                ("bytes_per_instruction",), ("load_bytes_per_instruction",), ("store_bytes_per_instruction",),
                ("simd_fp_share", "load_share"), ("l1d_mpki",), ("l2_mpki",)]
MIN_ROWS = MIN_MODELS


def one_scale_loo(x, ms) -> np.ndarray:
    """Leave-one-out predictions of ms = s * x, s fitted in log space."""
    x, ms = np.asarray(x, float), np.asarray(ms, float)
    return x * np.exp(fm.loo_log_ratio(np.ones((len(x), 1)), np.log(ms / x)))


def feature_loo(rows, names) -> np.ndarray | None:
    if any(not _has(e.figures, need) for _, e in rows for need in needs(names)):
        return None
    counts = np.array([e.figures.count for _, e in rows], float)
    ms = np.array([p.latency_ms for p, _ in rows])
    design = np.array([feature_row(names, e.figures) for _, e in rows])
    if len(rows) < len(names) + 1 + 3:
        return None
    return counts * np.exp(fm.loo_log_ratio(design, np.log(ms / counts)))


def _has(figures, need: str) -> bool:
    return bool(getattr(figures, need))


def stats_line(label: str, loo, ms, kind: str = "LOO error") -> str:
    s = fm.error_summary(fm.relative_errors(loo, ms))
    return (f"  {label:34s} rho {fm.spearman(loo, ms):+.3f}   {kind} mean {100 * s['mean']:5.1f}%  "
            f"median {100 * s['median']:5.1f}%  max {100 * s['max']:5.1f}%")


def predictors(rows, emulated, other_cpus):
    """(label, leave-one-out predictions) for every predictor that has its figures for all rows."""
    ms = [p.latency_ms for p, _ in rows]
    out = []
    for names in FEATURE_SETS:
        loo = feature_loo(rows, names)
        if loo is not None:
            out.append(("arm64-emu count" + (" + " + " + ".join(names) if names else " (one scale)"), loo))
    for cpu, figures in sorted(other_cpus.items()):
        counted = [figures.get((p.twin, p.resolution, p.precision)) for p, _ in rows]
        if all(counted):
            out.append((f"count on {cpu} (one scale)", one_scale_loo([e.figures.count for e in counted], ms)))
    tf_padded = [emulated.get((p.twin_tf_padding, p.resolution, p.precision)) for p, _ in rows]
    if any(tf_padded):
        counts = [(t or e).figures.count for t, (_, e) in zip(tf_padded, rows)]
        out.append((f"count, TF-padding twins ({sum(map(bool, tf_padded))})", one_scale_loo(counts, ms)))
    host = [e.host_litert_ms for _, e in rows]
    if all(h for h in host):
        out.append(("host-litert ms (one scale)", one_scale_loo(host, ms)))
    out.append(("MACs (one scale)", one_scale_loo([e.macs for _, e in rows], ms)))
    return out


def report_table(key, rows, emulated, other_cpus) -> None:
    table, phone, precision, threads = key
    families = sorted({p.family for p, _ in rows})
    print(f"\n{table}: {phone} CPU, {precision}, {threads} thread(s), {len(rows)} models, "
          f"{len(families)} families ({', '.join(families)})")
    ms = np.array([p.latency_ms for p, _ in rows])
    preds = predictors(rows, emulated, other_cpus)
    for label, loo in preds:
        print(stats_line(label, loo, ms))
    report_cache(rows)
    report_families(rows, preds[0][1], ms)


def report_cache(rows) -> None:
    """Simulated cache misses, on the models of the table that have them (--cache-sim is slow: not all do)."""
    subset = [(p, e) for p, e in rows if e.figures.cache]
    if len(subset) < MIN_ROWS or len(subset) == len(rows):
        return
    ms = np.array([p.latency_ms for p, _ in subset])
    print(f"  on the {len(subset)} models with simulated cache misses (--cache-sim):")
    for names in ((), ("l1d_mpki",), ("l2_mpki",)):
        print(stats_line("  count" + "".join(" + " + n for n in names), feature_loo(subset, names), ms))


def report_families(rows, loo, ms) -> None:
    by = defaultdict(list)
    for i, (p, _) in enumerate(rows):
        by[p.family].append(i)
    for fam, idx in sorted(by.items()):
        e = fm.relative_errors(loo[idx], ms[idx])
        rho = f"rho {fm.spearman(loo[idx], ms[idx]):+.3f}" if len(idx) >= 3 else "rho   n/a "
        print(f"    family {fam:22s} n={len(idx):2d}  {rho}  LOO error (count, one scale) mean "
              f"{100 * e.mean():5.1f}%  median {100 * np.median(e):5.1f}%  max {100 * e.max():5.1f}%")


def calibration_from(key, rows, names=()):
    """The calibration fitted on this table with `names` (None: the features the default rule chooses)."""
    return pub.table_calibration(key, rows, names)


def report_combined(groups, emulated, other_cpus) -> None:
    """Every table of one phone, precision and thread count pooled (different runtime versions: a harder test)."""
    pooled = defaultdict(list)
    for key, rows in groups.items():
        pooled[("all tables",) + key[1:]] += rows
    for key, rows in sorted(pooled.items()):
        if len({p.table for p, _ in rows}) > 1 and len(rows) >= MIN_ROWS:
            report_table(key, rows, emulated, other_cpus)


def report_held_back(groups) -> None:
    """A calibration from one table applied, with no refit, to another table of the same phone and precision."""
    by_phone = defaultdict(list)
    for key, rows in groups.items():
        by_phone[key[1:]].append(key)
    print("\nHeld-back tables (fitted on one table, applied with no refit to another of the same phone):")
    for keys in by_phone.values():
        for fit_key in keys:
            if len(groups[fit_key]) < MIN_ROWS:
                continue
            cal = calibration_from(fit_key, groups[fit_key], chosen_features(fit_key, groups[fit_key]))
            for test_key in keys:
                if test_key == fit_key:
                    continue
                rows = groups[test_key]
                pred = [predict(cal, e.figures.count, e.figures.instruction_mix, e.figures.cache,
                                memory_bytes=e.figures.memory_bytes).ms for _, e in rows]
                ms = [p.latency_ms for p, _ in rows]
                print(f"  fit {fit_key[0]} (count{''.join(', ' + f for f in cal.features)}) -> {test_key[0]} "
                      f"({test_key[1]}, {test_key[2]}, {len(rows)} models):"
                      f"{stats_line('', pred, ms, 'held-back error')[36:]}")


def report_twins(pairs) -> None:
    off = [(p, e) for p, e in pairs if p.published_macs_m and abs(e.macs / 1e6 / p.published_macs_m - 1) > 0.05]
    seen = set()
    for p, e in off:
        if (p.twin, p.resolution) not in seen:
            seen.add((p.twin, p.resolution))
            print(f"  twin check: {p.twin}@{p.resolution} has {e.macs / 1e6:.0f} M MACs, "
                  f"{p.model_published} is published at {p.published_macs_m:g} M")
    print(f"Twin MACs check: {len(seen)} twin(s) differ from the published MACs by more than 5%")


def chosen_features(key, rows) -> tuple:
    """The features `bench calibrate` would choose for this table (bench/prediction/feature_choice.py: the count alone unless
    one feature lowers both the leave-one-out mean and max by a fifth, on at least 10 models)."""
    return calibration_from(key, rows, None).features


def run(args) -> None:
    emulated = pub.read_emulated(args.emulated)
    other_cpus = {cpu: pub.read_emulated(args.emulated, cpu)
                  for cpu in pub.emulated_cpus(args.emulated) - {DEFAULT_CPU}}
    pairs = pub.paired(pub.read_published(), emulated)
    unmatched = [p for p in pub.read_published() if p.twin and p not in {q for q, _ in pairs}]
    print(f"{len(pairs)} published rows paired with emulated figures; {len(unmatched)} twins not measured yet")
    report_twins(pairs)
    groups = pub.published_tables(pairs)
    for key, rows in sorted(groups.items()):
        if len(rows) >= MIN_ROWS:
            report_table(key, rows, emulated, other_cpus)
        else:
            print(f"\n{key[0]}: {key[1]}, {key[2]}: {len(rows)} models (fewer than {MIN_ROWS}: no fit)")
    report_combined(groups, emulated, other_cpus)
    report_held_back(groups)


# --- measuring the twins (through this project's CLI) and writing emulated.csv ---

def cells(table: str | None = None):
    seen = []
    for p in pub.read_published():
        for twin in (p.twin, p.twin_tf_padding):
            if twin and (table is None or p.table == table) and (twin, p.resolution, p.precision) not in seen:
                seen.append((twin, p.resolution, p.precision))
    return seen


def measure(args) -> None:
    """Count (and, on the default CPU, time on host-litert) every twin, through this project's CLI."""
    py = args.python or sys.executable
    other_cpu = args.cpu != DEFAULT_CPU
    for model, res, precision in cells(args.table):
        if model.endswith("+same"):
            if not other_cpu:
                count_tf_padded(model, res, precision, args.store[0])
            continue
        runs = [("arm64-emu", ["--cpu", args.cpu] + (["--cache-sim"] if args.cache_sim else []))]
        if not other_cpu:
            runs.append(("host-litert", ["--runs", "100", "--warmup", "10"]))
        for target, extra in runs:
            cmd = [py, "-m", "bench.cli", "run", "--model", model, "--resolution", str(res), "--target", target,
                   "--precision", precision, "--json", "--store", args.store[0], *extra]
            done = subprocess.run(cmd, cwd=args.bench_root, capture_output=True, text=True)
            print(f"{'ok  ' if done.returncode == 0 else 'FAIL'} {model}@{res} {precision} {target}", flush=True)


def count_tf_padded(name: str, res: int, precision: str, store_path: str) -> None:
    """timm's network with TF "same" padding, exported and counted by this checkout's pipeline (a torch module
    has no CLI name), stored as name+same."""
    import timm

    import devices.arm64_emu.target  # noqa: F401  (registers arm64-emu)
    from bench.core.errors import BenchError
    from bench.core.protocols import get_protocol
    from bench.pipeline.coordinator import Hooks, measure_cell, prepare_cells
    from bench.pipeline.spec import Cell, RunSpec, prepare
    from bench.store.database import Store

    module = timm.create_model(name.removesuffix("+same"), pretrained=False, pad_type="same").eval()
    spec = RunSpec(model=module, target="arm64-emu", format="tflite", precision=precision, resolution=res,
                   input_size=(1, 3, res, res), name=name)
    cell = Cell(prepare(spec)[0], get_protocol("mobileone"))
    try:
        prepare_cells([cell], Hooks())
        record = measure_cell(cell)
    except BenchError as exc:
        print(f"FAIL {name}@{res} {precision} arm64-emu: {exc}", flush=True)
        return
    with Store(store_path) as store:
        store.add(record)
    print(f"ok   {name}@{res} {precision} arm64-emu", flush=True)


def latest_records(store_paths) -> dict:
    """The newest record per (model, resolution, precision, target, emulated CPU or None) over the stores, read as
    the flat JSON every release writes."""
    import sqlite3

    records = []
    for path in store_paths:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            records += [json.loads(text) for (text,) in db.execute("SELECT record_json FROM records")]
    latest = {}
    for r in sorted(records, key=lambda r: r["timestamp"]):
        cpu = ((r.get("device") or {}).get("setup") or {}).get("cpu")
        latest[(r["model"], r["resolution"], r["precision"], r["target"], cpu)] = r
    return latest


def emulated_row(rec: dict, host: dict | None) -> dict:
    extra = rec.get("extra") or {}
    mix = extra.get("instruction_mix") or {}
    memory = extra.get("memory_bytes") or {}
    cache = (extra.get("cache") or {}).get("per_inference") or {}
    setup = (rec.get("device") or {}).get("setup", {})
    return {"model": rec["model"], "resolution": rec["resolution"], "precision": rec["precision"],
            "count": rec["count"], **{f"mix_{c}": mix.get(c, "") for c in MIX_CLASSES},
            "bytes_load": memory.get("load", ""), "bytes_store": memory.get("store", ""),
            **{c: cache.get(c, "") for c in pub.CACHE_FIELDS}, "macs": rec["macs"],
            "host_litert_ms": round(host["latency_ms"], 4) if host and host.get("latency_ms") else "",
            "setup": json.dumps(setup, sort_keys=True),
            "record_id": rec["id"]}


def write_emulated(args) -> None:
    """Rows of --emulated updated from the stores' newest records: a (model, resolution, precision, CPU) the stores
    hold is replaced, every other row is kept, so counts on another CPU can be added to the committed figures."""
    latest = latest_records(args.store)
    fresh = [emulated_row(rec, latest.get((m, res, prec, "host-litert", None)) if cpu == DEFAULT_CPU else None)
             for (m, res, prec, target, cpu), rec in latest.items() if target == "arm64-emu" and rec.get("count")]
    by_key = {}
    if Path(args.emulated).exists():
        with open(args.emulated, newline="") as fh:
            by_key = {_row_key(r): r for r in csv.DictReader(fh)}
    by_key.update({_row_key(r): r for r in fresh})
    rows = sorted(by_key.values(), key=lambda r: (pub.setup_cpu(r["setup"]) != DEFAULT_CPU, r["model"],
                                                  int(r["resolution"]), r["precision"]))
    columns = list(dict.fromkeys(k for r in [*by_key.values(), *fresh] for k in r))
    with open(args.emulated, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, restval="")
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {len(rows)} rows to {args.emulated} ({len(fresh)} from the stores)")


def _row_key(row: dict) -> tuple:
    return row["model"], int(row["resolution"]), row["precision"], pub.setup_cpu(row["setup"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emulated", default=str(pub.EMULATED_CSV), help="the emulated figures CSV")
    parser.add_argument("--store", action="append", help="a store of arm64-emu and host-litert records of the "
                        "twins (several: the newest record of each cell wins); --measure writes to the first")
    parser.add_argument("--measure", action="store_true", help="measure every twin into --store first")
    parser.add_argument("--cache-sim", action="store_true", help="with --measure: also simulate cache misses")
    parser.add_argument("--cpu", default=DEFAULT_CPU, help="with --measure: the emulated CPU to count on (another "
                        "than the default only counts, for the side-by-side line; no host-litert, no TF-padding twins)")
    parser.add_argument("--table", help="with --measure: only the twins of this published table (e.g. mnv4)")
    parser.add_argument("--bench-root", default=str(ROOT), help="the checkout whose CLI measures")
    parser.add_argument("--python", help="the Python that runs the CLI (default: this one)")
    parser.add_argument("--write-emulated", action="store_true", help="rebuild --emulated from --store")
    args = parser.parse_args()
    if (args.measure or args.write_emulated) and not args.store:
        parser.error("--measure and --write-emulated need --store")
    if args.measure:
        measure(args)
    if args.write_emulated:
        write_emulated(args)
    run(args)


if __name__ == "__main__":
    main()
