"""Which features a calibration uses: the ones asked for or, by default, by a rule stated before looking at any
table: the count alone, unless the fit set has at least FEATURE_MIN_ROWS models and one single feature lowers both
the leave-one-out mean and max error by a fifth or more (then the best such feature). Choosing freely among features
on the same leave-one-out errors would flatter them; a rule this strict keeps that small. Few rows fit few
parameters."""

from __future__ import annotations

from bench.core.errors import BenchError
from bench.prediction import features as feat
from bench.prediction.fitting import fit_calibration, models_needed, require_models

FEATURE_MIN_ROWS = 10
REQUIRED_GAIN = 0.8  # a feature must bring both the mean and the max leave-one-out error to 80% or less
SINGLE_FEATURES = ("log_count", *(f"{c}_share" for c in feat.MIX_CLASSES if c != "other"),
                   "bytes_per_instruction", "load_bytes_per_instruction", "store_bytes_per_instruction")


def candidates(rows) -> list[tuple[str, ...]]:
    """Single features the rows have the figures for, when there are enough rows to judge one."""
    if len(rows) < max(FEATURE_MIN_ROWS, models_needed(1)):
        return []
    have = {"count"} | {need for need in ("instruction_mix", "memory_bytes", "cache")
                        if all(getattr(r.figures, need) for r in rows)}
    return [(name,) for name in SINGLE_FEATURES if feat.needs((name,)) <= have]


def fit_best(rows, phone: str, precision: str, *, threads: int = 1, features=None, **fit_args):
    """The calibration with `features`, or with the count alone unless one feature clearly earns its place."""
    rows = list(rows)
    require_models(rows, phone)
    if features is not None:
        return fit_calibration(rows, phone, precision, threads=threads, features=tuple(features), **fit_args)
    best = base = fit_calibration(rows, phone, precision, threads=threads, features=(), **fit_args)
    for names in candidates(rows):
        try:
            fit = fit_calibration(rows, phone, precision, threads=threads, features=names, **fit_args)
        except (BenchError, ValueError):
            continue  # e.g. a singular design for this feature: the others stand
        if fit.loo["mean"] <= REQUIRED_GAIN * base.loo["mean"] and fit.loo["max"] <= REQUIRED_GAIN * base.loo["max"] \
                and fit.loo["mean"] < best.loo["mean"]:
            best = fit
    return best
