"""Fit a calibration from paired rows (a phone's milliseconds, the emulated figures of the same model) and predict.

Rule: predicted ms = instructions x exp(b0 + sum_k b_k x feature_k), b fitted by least squares on
log(measured ms / instructions); with no features, one scale per phone. A calibration states its leave-one-out
error, so its quality is never judged on rows it was fitted to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from bench.core.errors import BenchError
from bench.prediction import features as feat
from bench.prediction import least_squares
from bench.prediction.calibration import Calibration
from bench.prediction.phones import phone as find_phone

MIN_MODELS = 5  # the fewest models any calibration is fitted on
SPARE_ROWS = 3  # rows beyond the fitted parameters, so leave-one-out still has something to judge


class NotEnoughModels(BenchError):
    """Fewer paired models than a calibration needs."""


def models_needed(features: int = 0) -> int:
    """How many models a fit with this many features needs: MIN_MODELS, or its parameters and SPARE_ROWS beyond."""
    return max(MIN_MODELS, features + 1 + SPARE_ROWS)


def require_models(rows, phone_key: str, features=()) -> None:
    """One line when there are fewer paired models than a fit with `features` needs."""
    need = models_needed(len(tuple(features)))
    if len(rows) < need:
        raise NotEnoughModels(f"calibrating {phone_key} needs at least {need} models measured on the phone and "
                              f"counted on arm64-emu; got {len(rows)}")


@dataclass(frozen=True)
class FitRow:
    """One model measured on the phone and counted on arm64-emu."""

    model: str
    figures: feat.Figures
    measured_ms: float
    resolution: int | None = None
    source: str = ""  # where the milliseconds come from: a published row id, a store record id


@dataclass(frozen=True)
class Prediction:
    ms: float
    low_ms: float
    high_ms: float
    calibration_id: str
    phone: str
    precision: str
    threads: int
    runtime: str  # what the calibration's phone measurements ran
    emulated_runtime: str
    loo_mean_error: float
    setup_differs: tuple[str, ...] = field(default=())  # emulator set-up keys that differ from the calibration's

    def to_dict(self) -> dict:
        return {"predicted_ms": self.ms, "low_ms": self.low_ms, "high_ms": self.high_ms,
                "calibration": self.calibration_id, "phone": self.phone, "precision": self.precision,
                "threads": self.threads, "runtime": self.runtime, "emulated_runtime": self.emulated_runtime,
                "loo_mean_error": self.loo_mean_error, "setup_differs": list(self.setup_differs)}


def _check_rows(rows: list[FitRow], phone_key: str, names: tuple[str, ...]) -> None:
    keys = [(r.model, r.resolution) for r in rows]
    if len(set(keys)) != len(keys):
        twice = sorted({f"{m}@{res}" if res else m for m, res in keys if keys.count((m, res)) > 1})
        raise BenchError(f"one row per model to calibrate {phone_key}; given more than once: {', '.join(twice)}")
    require_models(rows, phone_key, names)
    bad = [r.model for r in rows if not (r.measured_ms > 0 and r.figures.count > 0)]
    if bad:
        raise BenchError(f"rows without a positive time and count: {', '.join(bad)}")


def fit_calibration(rows, phone: str, precision: str, *, threads: int = 1, features=(), measured_runtime: str,
                    emulated_runtime: str, emulator_setup: dict | None = None, cal_id: str | None = None,
                    notes: str = "", fitted: str | None = None) -> Calibration:
    """Fit, judge by leave-one-out, and return the calibration (not saved: see save_calibration). `fitted` is when
    (default: now); the calibrations refitted from the published tables leave it empty, so a refit is the same
    file."""
    rows, names = list(rows), tuple(features)
    key = find_phone(phone).key
    feat.check_names(names)
    _check_rows(rows, key, names)
    design = np.array([feat.row(names, r.figures) for r in rows])
    counts = np.array([r.figures.count for r in rows], float)
    measured = np.array([r.measured_ms for r in rows], float)
    log_ratio = np.log(measured / counts)
    beta = least_squares.fit(design, log_ratio)
    fitted_ms = counts * np.exp(design @ beta)
    loo = counts * np.exp(least_squares.loo_log_ratio(design, log_ratio))
    fit_set = tuple(_fit_entry(r, f, lo) for r, f, lo in zip(rows, fitted_ms, loo))
    errors = least_squares.error_summary(least_squares.relative_errors(loo, measured))
    return Calibration(
        id=cal_id or f"{key}-{precision}-{threads}t-user", phone=key, precision=precision, threads=threads,
        measured_runtime=measured_runtime, emulated_runtime=emulated_runtime, emulator_setup=emulator_setup or {},
        features=names, coefficients=tuple(_digits(b) for b in beta), fit_set=fit_set,
        rho=_digits(least_squares.spearman(fitted_ms, measured)),
        loo_rho=_digits(least_squares.spearman(loo, measured)), loo={k: _digits(v) for k, v in errors.items()},
        band=tuple(_digits(b) for b in least_squares.ratio_band(loo, measured)),
        fitted=datetime.now(timezone.utc).isoformat(timespec="seconds") if fitted is None else fitted, notes=notes)


def _digits(value) -> float:
    """A fitted figure to 12 significant digits: least squares on another BLAS differs in the last bits, and a
    calibration refitted from the same rows must be the same file."""
    return float(f"{float(value):.12g}")


def _fit_entry(r: FitRow, fitted: float, loo: float) -> dict:
    return {"model": r.model, "resolution": r.resolution, "count": r.figures.count,
            "instruction_mix": r.figures.instruction_mix, "memory_bytes": r.figures.memory_bytes,
            "cache": r.figures.cache, "measured_ms": r.measured_ms,
            "fitted_ms": round(float(fitted), 4), "loo_ms": round(float(loo), 4), "source": r.source}


def predict(calibration: Calibration, count: int, instruction_mix: dict | None = None, cache: dict | None = None,
            setup: dict | None = None, memory_bytes: dict | None = None) -> Prediction:
    """The phone's milliseconds for one inference with these emulated figures, with the calibration's band."""
    figures = feat.Figures(int(count), instruction_mix, cache, memory_bytes)
    x = np.array(feat.row(calibration.features, figures))
    ms = figures.count * math.exp(float(x @ np.array(calibration.coefficients)))
    low, high = calibration.band
    differs = tuple(sorted(k for k in (setup or {}) if k in calibration.emulator_setup
                           and setup[k] != calibration.emulator_setup[k]))
    return Prediction(ms=ms, low_ms=ms * low, high_ms=ms * high, calibration_id=calibration.id,
                      phone=calibration.phone, precision=calibration.precision, threads=calibration.threads,
                      runtime=calibration.measured_runtime, emulated_runtime=calibration.emulated_runtime,
                      loo_mean_error=calibration.loo["mean"], setup_differs=differs)
