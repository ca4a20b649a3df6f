"""The arithmetic of a prediction: least squares in log space, leave-one-out, rank correlation, error summary.

The model is log(ms / instructions) = X @ beta, where X's first column is 1 and the others are features of the
emulated figures. With no features it is one scale per phone: beta[0] = mean(log(ms / instructions)), the
geometric mean of milliseconds per instruction. Errors are relative, |predicted - measured| / measured.
"""

from __future__ import annotations

import numpy as np


def fit(design: np.ndarray, log_ratio: np.ndarray) -> np.ndarray:
    """Least-squares coefficients of log(ms / instructions) on the design matrix."""
    beta, *_ = np.linalg.lstsq(np.asarray(design, float), np.asarray(log_ratio, float), rcond=None)
    return beta


def loo_log_ratio(design: np.ndarray, log_ratio: np.ndarray) -> np.ndarray:
    """Each row's log(ms / instructions) as predicted by a fit on all the other rows."""
    design, log_ratio = np.asarray(design, float), np.asarray(log_ratio, float)
    out = np.empty(len(log_ratio))
    for i in range(len(log_ratio)):
        keep = np.arange(len(log_ratio)) != i
        out[i] = design[i] @ fit(design[keep], log_ratio[keep])
    return out


def relative_errors(predicted, measured) -> np.ndarray:
    predicted, measured = np.asarray(predicted, float), np.asarray(measured, float)
    return np.abs(predicted - measured) / measured


def spearman(a, b) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic)


def error_summary(errors) -> dict:
    e = np.asarray(errors, float)
    return {"mean": float(e.mean()), "median": float(np.median(e)), "max": float(e.max())}


def ratio_band(predicted, measured) -> tuple[float, float]:
    """The smallest and largest measured / predicted over the leave-one-out predictions: a prediction's band."""
    r = np.asarray(measured, float) / np.asarray(predicted, float)
    return float(r.min()), float(r.max())
