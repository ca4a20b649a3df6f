"""Predicting a phone's CPU milliseconds from arm64-emu figures, judged on published real-phone tables.

    .venv/bin/python tests/benchmarks/phone_prediction.py                       # the committed emulated.csv
    .venv/bin/python tests/benchmarks/phone_prediction.py --emulated my.csv     # figures measured elsewhere
    .venv/bin/python tests/benchmarks/phone_prediction.py --measure --store S   # count every twin again, then
        --write-emulated                                                        # rebuild emulated.csv from S
    .venv/bin/python tests/benchmarks/phone_prediction.py --write-calibrations  # refit the shipped calibrations

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

from bench.prediction import fit as fm  # noqa: E402
from bench.prediction import published as pub  # noqa: E402
from bench.prediction.calibration import SHIPPED_DIR, save_calibration  # noqa: E402
from bench.prediction.features import MIX_CLASSES, needs  # noqa: E402
from bench.prediction.features import row as feature_row  # noqa: E402
from bench.prediction.model import FitRow, fit_calibration, predict  # noqa: E402

FEATURE_SETS = [(), ("log_count",), ("simd_fp_share",), ("load_share",), ("store_share",), ("branch_share",),
                ("simd_fp_share", "load_share"), ("l1d_mpki",), ("l2_mpki",)]
MIN_ROWS = 5


def group_tables(pairs):
    groups = defaultdict(list)
    for p, e in pairs:
        groups[(p.table, p.phone, p.precision, p.threads)].append((p, e))
    return groups


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


def stats_line(label: str, loo, ms) -> str:
    s = fm.error_summary(fm.relative_errors(loo, ms))
    return (f"  {label:34s} rho {fm.spearman(loo, ms):+.3f}   LOO error mean {100 * s['mean']:5.1f}%  "
            f"median {100 * s['median']:5.1f}%  max {100 * s['max']:5.1f}%")


def predictors(rows):
    """(label, leave-one-out predictions) for every predictor that has its figures for all rows."""
    ms = [p.latency_ms for p, _ in rows]
    out = []
    for names in FEATURE_SETS:
        loo = feature_loo(rows, names)
        if loo is not None:
            out.append(("arm64-emu count" + (" + " + " + ".join(names) if names else " (one scale)"), loo))
    host = [e.host_litert_ms for _, e in rows]
    if all(h for h in host):
        out.append(("host-litert ms (one scale)", one_scale_loo(host, ms)))
    out.append(("MACs (one scale)", one_scale_loo([e.macs for _, e in rows], ms)))
    return out


def report_table(key, rows) -> None:
    table, phone, precision, threads = key
    families = sorted({p.family for p, _ in rows})
    print(f"\n{table}: {phone} CPU, {precision}, {threads} thread(s), {len(rows)} models, "
          f"{len(families)} families ({', '.join(families)})")
    ms = np.array([p.latency_ms for p, _ in rows])
    preds = predictors(rows)
    for label, loo in preds:
        print(stats_line(label, loo, ms))
    report_families(rows, preds[0][1], ms)


def report_families(rows, loo, ms) -> None:
    by = defaultdict(list)
    for i, (p, _) in enumerate(rows):
        by[p.family].append(i)
    for fam, idx in sorted(by.items()):
        e = fm.relative_errors(loo[idx], ms[idx])
        rho = f"rho {fm.spearman(loo[idx], ms[idx]):+.3f}" if len(idx) >= 3 else "rho   n/a "
        print(f"    family {fam:22s} n={len(idx):2d}  {rho}  LOO error (count, one scale) mean "
              f"{100 * e.mean():5.1f}%  median {100 * np.median(e):5.1f}%  max {100 * e.max():5.1f}%")


def calibration_from(key, rows, names=(), cal_id=None):
    table, phone, precision, threads = key
    fit_rows = [FitRow(p.twin, e.figures, p.latency_ms, p.resolution, p.row_id) for p, e in rows]
    setups = sorted({e.setup for _, e in rows})
    return fit_calibration(fit_rows, phone, precision, threads=threads, features=names,
                           measured_runtime=f"{rows[0][0].runtime}, as in source {rows[0][0].source}",
                           emulated_runtime="litert-aarch64 1.4.0", emulator_setup={"setup": "; ".join(setups)},
                           cal_id=cal_id or f"{phone}-{precision}-{threads}t-{table}",
                           notes=f"fitted on table {table} ({len(rows)} models); figures from "
                                 f"bench/prediction/emulated.csv")


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
            cal = calibration_from(fit_key, groups[fit_key])
            for test_key in keys:
                if test_key == fit_key:
                    continue
                rows = groups[test_key]
                pred = [predict(cal, e.figures.count).ms for _, e in rows]
                ms = [p.latency_ms for p, _ in rows]
                print(f"  fit {fit_key[0]} -> {test_key[0]} ({test_key[1]}, {test_key[2]}, {len(rows)} models):"
                      f"{stats_line('', pred, ms)[36:]}")


def report_twins(pairs) -> None:
    off = [(p, e) for p, e in pairs if p.published_macs_m and abs(e.macs / 1e6 / p.published_macs_m - 1) > 0.05]
    seen = set()
    for p, e in off:
        if (p.twin, p.resolution) not in seen:
            seen.add((p.twin, p.resolution))
            print(f"  twin check: {p.twin}@{p.resolution} has {e.macs / 1e6:.0f} M MACs, "
                  f"{p.model_published} is published at {p.published_macs_m:g} M")
    print(f"Twin MACs check: {len(seen)} twin(s) differ from the published MACs by more than 5%")


def write_calibrations(groups) -> None:
    for key, rows in sorted(groups.items()):
        if len(rows) < MIN_ROWS:
            continue
        cal = calibration_from(key, rows)
        path = save_calibration(cal, SHIPPED_DIR)
        print(f"wrote {path.relative_to(ROOT)}: rho {cal.rho:+.3f}, LOO mean {100 * cal.loo['mean']:.1f}%, "
              f"max {100 * cal.loo['max']:.1f}%")


def run(args) -> None:
    pairs = pub.paired(pub.read_published(), pub.read_emulated(args.emulated))
    unmatched = [p for p in pub.read_published() if p.twin and p not in {q for q, _ in pairs}]
    print(f"{len(pairs)} published rows paired with emulated figures; {len(unmatched)} twins not measured yet")
    report_twins(pairs)
    groups = {k: v for k, v in group_tables(pairs).items()}
    for key, rows in sorted(groups.items()):
        if len(rows) >= MIN_ROWS:
            report_table(key, rows)
        else:
            print(f"\n{key[0]}: {key[1]}, {key[2]}: {len(rows)} models (fewer than {MIN_ROWS}: no fit)")
    report_held_back(groups)
    if args.write_calibrations:
        write_calibrations(groups)


# --- measuring the twins (through this project's CLI) and writing emulated.csv ---

def cells():
    seen = []
    for p in pub.read_published():
        if p.twin and (p.twin, p.resolution, p.precision) not in seen:
            seen.append((p.twin, p.resolution, p.precision))
    return seen


def measure(args) -> None:
    py = args.python or sys.executable
    for model, res, precision in cells():
        for target, extra in (("arm64-emu", []), ("host-litert", ["--runs", "100", "--warmup", "10"])):
            cmd = [py, "-m", "bench.cli", "run", "--model", model, "--resolution", str(res), "--target", target,
                   "--precision", precision, "--json", "--store", args.store, *extra]
            if target == "arm64-emu" and args.cache_sim:
                cmd += ["--cache-sim"]
            done = subprocess.run(cmd, cwd=args.bench_root, capture_output=True, text=True)
            print(f"{'ok  ' if done.returncode == 0 else 'FAIL'} {model}@{res} {precision} {target}", flush=True)


def latest_records(store_path: str) -> dict:
    """The newest record per (model, resolution, precision, target), read as the flat JSON every release writes."""
    import sqlite3

    latest = {}
    with sqlite3.connect(f"file:{store_path}?mode=ro", uri=True) as db:
        for (text,) in db.execute("SELECT record_json FROM records ORDER BY timestamp"):
            r = json.loads(text)
            latest[(r["model"], r["resolution"], r["precision"], r["target"])] = r
    return latest


def emulated_row(rec: dict, host: dict | None) -> dict:
    extra = rec.get("extra") or {}
    mix = extra.get("instruction_mix") or {}
    cache = (extra.get("cache") or {}).get("per_inference") or {}
    setup = (rec.get("device") or {}).get("setup", {})
    return {"model": rec["model"], "resolution": rec["resolution"], "precision": rec["precision"],
            "count": rec["count"], **{f"mix_{c}": mix.get(c, "") for c in MIX_CLASSES},
            **{c: cache.get(c, "") for c in pub.CACHE_FIELDS}, "macs": rec["macs"],
            "host_litert_ms": round(host["latency_ms"], 4) if host and host.get("latency_ms") else "",
            "setup": "; ".join(f"{k} {setup.get(k)}" for k in ("qemu", "plugin", "litert", "cpu")),
            "record_id": rec["id"]}


def write_emulated(args) -> None:
    latest = latest_records(args.store)
    rows = [emulated_row(rec, latest.get((m, res, prec, "host-litert")))
            for (m, res, prec, target), rec in latest.items() if target == "arm64-emu" and rec.get("count")]
    rows.sort(key=lambda r: (r["model"], r["resolution"], r["precision"]))
    with open(args.emulated, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {len(rows)} rows to {args.emulated}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emulated", default=str(pub.EMULATED_CSV), help="the emulated figures CSV")
    parser.add_argument("--store", help="a store of arm64-emu and host-litert records of the twins")
    parser.add_argument("--measure", action="store_true", help="measure every twin into --store first")
    parser.add_argument("--cache-sim", action="store_true", help="with --measure: also simulate cache misses")
    parser.add_argument("--bench-root", default=str(ROOT), help="the checkout whose CLI measures")
    parser.add_argument("--python", help="the Python that runs the CLI (default: this one)")
    parser.add_argument("--write-emulated", action="store_true", help="rebuild --emulated from --store")
    parser.add_argument("--write-calibrations", action="store_true", help="refit the shipped calibrations")
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
