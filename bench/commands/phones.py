"""`bench phones` (the phones whose CPU milliseconds arm64-emu counts can predict, and their calibrations) and
`bench calibrate` (a user's own phone, fitted from real runs in a store)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from bench.commands import ui


def phones(as_json: bool = typer.Option(False, "--json")):
    """List phones: CPU core, clock, caches, and each calibration (fit set, rho, leave-one-out error)."""
    from bench.prediction import list_phones
    from bench.prediction.calibration import shipped, user

    calibrations = [(c, "shipped") for c in shipped()] + [(c, "yours") for c in user()]
    rows = []
    for p in list_phones():
        mine = [_calibration_row(c, origin) for c, origin in calibrations if c.phone == p.key]
        rows.append({"phone": p.key, "name": p.name, "cpu": p.summary(), "calibrations": mine})
    if as_json:
        ui.print_json(rows)
        return
    ui.print_table("phones", _phones_rows(rows))
    ui.stderr_console().print("a phone without a calibration: fit one from your runs with `bench calibrate --phone "
                              "NAME --from STORE`; predictions: `bench run --target arm64-emu --phone NAME`")


def _calibration_row(c, origin: str) -> dict:
    return {"id": c.id, "origin": origin, "precision": c.precision, "threads": c.threads, "models": c.models,
            "features": list(c.features), "rho": c.rho, "loo_rho": c.loo_rho, "loo_mean": c.loo["mean"],
            "loo_max": c.loo["max"], "measured_runtime": c.measured_runtime, "emulated_runtime": c.emulated_runtime,
            "emulated_cpu": c.cpu}


def _phones_rows(rows: list[dict]) -> list[dict]:
    flat = []
    for row in rows:
        fitted = [f"{c['precision']} {c['threads']}t: {c['models']} models, LOO {100 * c['loo_mean']:.1f}% mean / "
                  f"{100 * c['loo_max']:.1f}% max, rho {c['loo_rho']:.3f}, {c['emulated_cpu']} counts ({c['origin']})"
                  for c in row["calibrations"]]
        flat.append({"phone": row["phone"], "name": row["name"], "cpu (big core, clock, caches)": row["cpu"],
                     "calibrations": "; ".join(fitted) or "none (bench calibrate)"})
    return flat


def calibrate(
    phone: Optional[str] = typer.Option(None, "--phone", help="The phone to fit (see `bench phones`)."),
    from_store: Optional[Path] = typer.Option(None, "--from", help="A store holding the phone's CPU runs and arm64-emu counts of the same models."),
    precision: str = typer.Option("int8", "--precision", "-p", help="fp32, fp16 or int8."),
    fmt: str = typer.Option("tflite", "--format", "-f", help="tflite (LiteRT counts) or onnx (ONNX Runtime counts)."),
    threads: int = typer.Option(1, help="Threads of the phone runs to fit."),
    cpu: Optional[str] = typer.Option(None, help="The emulated CPU model whose arm64-emu counts to pair (`bench run --target arm64-emu --cpu`; default: its default)."),
    features: Optional[str] = typer.Option(None, help="Comma-separated prediction features beyond the count (default: the fewest that the fit set supports best)."),
    save: bool = typer.Option(True, help="Save the calibration for `--phone` (in the user's data directory, or $BENCH_CALIBRATIONS)."),
    published: bool = typer.Option(False, "--published", help="Instead: refit the shipped calibrations from the published phone tables (bench/prediction/published) and the committed arm64-emu counts (emulated.csv), into --out."),
    out: Optional[Path] = typer.Option(None, "--out", help="With --published: the folder to write (default: the shipped one, bench/prediction/calibrations)."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Fit a phone's calibration from its real CPU runs and arm64-emu counts of the same models; print rho and
    leave-one-out error; save it for `bench run --target arm64-emu --phone NAME`. With --published, refit the
    shipped calibrations instead."""
    from bench.analysis.calibration_pairs import pair
    from bench.core.errors import BenchError
    from bench.prediction import phone as find_phone, save_calibration
    from bench.prediction.calibration import default_cpu
    from bench.prediction.feature_choice import fit_best
    from bench.store.database import open_existing

    if published:
        return _refit_published(out, as_json)
    if phone is None or from_store is None:
        raise BenchError("bench calibrate needs --phone NAME and --from STORE (or --published, to refit the shipped "
                         "calibrations)")
    found, cpu = find_phone(phone), cpu or default_cpu()
    _check_calibrate(precision, fmt, cpu, save)
    with open_existing(from_store, flag="--from") as store:
        pairs = pair(store.records(), found, precision, fmt, threads, cpu)
    for line in pairs.unpaired:
        ui.notify(f"not paired: {line}")
    chosen = None if features is None else tuple(f.strip() for f in features.split(",") if f.strip())
    calibration = fit_best(pairs.rows, found.key, precision, threads=threads, features=chosen,
                           measured_runtime=pairs.measured_runtime, emulated_runtime=pairs.emulated_runtime,
                           emulator_setup=pairs.emulator_setup, notes=f"fitted by bench calibrate from {from_store}")
    path = save_calibration(calibration) if save else None
    summary = {**_calibration_row(calibration, "yours"), "saved": str(path) if path else None,
               "fit_set": list(calibration.fit_set)}
    if as_json:
        ui.print_json(summary)
        return
    rows = [{"model": r["model"], "measured ms": f"{r['measured_ms']:.3f}", "leave-one-out ms": f"{r['loo_ms']:.3f}",
             "error": f"{100 * (r['loo_ms'] / r['measured_ms'] - 1):+.1f}%"} for r in calibration.fit_set]
    ui.print_table(f"{calibration.phone} {calibration.precision}, {calibration.threads} thread(s): "
                   f"{calibration.models} models", rows)
    ui.write_out(_fit_text(calibration, path))


def _refit_published(out: Optional[Path], as_json: bool) -> None:
    from bench.prediction import save_calibration
    from bench.prediction.calibration import SHIPPED_DIR
    from bench.prediction.published import published_calibrations

    written = []
    for calibration in published_calibrations():
        written.append({**_calibration_row(calibration, "shipped"),
                        "saved": str(save_calibration(calibration, out or SHIPPED_DIR))})
    if as_json:
        ui.print_json(written)
        return
    ui.write_out("\n".join(f"wrote {w['saved']}: {w['models']} models, LOO {100 * w['loo_mean']:.1f}% mean / "
                            f"{100 * w['loo_max']:.1f}% max" for w in written))


def _check_calibrate(precision: str, fmt: str, cpu: str, save: bool) -> None:
    """What calibrate pairs must be something arm64-emu counts (its formats, precisions and --cpu models), and the
    calibrations folder writable, before anything is read or fitted."""
    from bench.core.errors import BenchError
    from devices import get_target

    counting = get_target("arm64-emu")
    if fmt not in counting.supports:
        raise BenchError(f"--format {fmt}: bench calibrate pairs arm64-emu counts, which come in "
                         f"{', '.join(counting.supports)}")
    if precision not in counting.supports[fmt]:
        raise BenchError(f"--precision {precision}: arm64-emu counts {fmt} at {', '.join(counting.supports[fmt])}; "
                         "bench calibrate fits one of those")
    counting.resolve_options({"cpu": cpu})  # an unknown --cpu is named with the ones arm64-emu emulates
    if save:
        import os

        from bench.core.places import writable_dir
        from bench.prediction.calibration import USER_ENV, user_dir

        what = f"the calibrations folder (${USER_ENV})" if os.environ.get(USER_ENV) else "the calibrations folder"
        writable_dir(user_dir(), what)


def _fit_text(c, path) -> str:
    lines = [f"features: count{''.join(', ' + f for f in c.features)}; Spearman rho (leave-one-out) "
             f"{c.loo_rho:.3f}; leave-one-out error mean {100 * c.loo['mean']:.1f}%, median "
             f"{100 * c.loo['median']:.1f}%, max {100 * c.loo['max']:.1f}%; band x{c.band[0]:.2f}-x{c.band[1]:.2f}",
             f"measured runtime: {c.measured_runtime}; counts: {c.emulated_runtime} on {c.cpu}"]
    lines.append(f"saved {path}; `bench run --target arm64-emu --phone {c.phone}` uses it" if path else "not saved")
    return "\n".join(lines)
