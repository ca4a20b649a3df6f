"""Rank correlation of latency with FLOPs and with params (MobileOne paper, Table 1a).

Input is a tidy table with columns model, latency_ms, params and flops or macs (FLOPs = 2 x MACs; rank statistics
do not care, but the labels must be right), and optionally target and protocol to group by.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from bench.core.errors import InputDataError

BOOTSTRAP_RESAMPLES = 2000
MIN_MODELS = 3


@dataclass
class Correlation:
    target: str
    protocol: str
    n: int
    rho_flops: float
    p_flops: float
    ci_flops: tuple[float, float]
    tau_flops: float
    rho_params: float
    p_params: float
    ci_params: tuple[float, float]
    tau_params: float

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ci_flops"], d["ci_params"] = list(self.ci_flops), list(self.ci_params)
        return d


def bootstrap_spearman_ci(x, y, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> tuple[float, float]:
    """Percentile 95% CI of Spearman's rho, resampling models with replacement.

    All resamples at once: Spearman's rho is Pearson's r of the average ranks, so one rankdata over the (resamples,
    n) array and a row-wise correlation give what scipy's spearmanr gives per resample, some hundred times faster."""
    from scipy.stats import rankdata

    x, y = np.asarray(x, float), np.asarray(y, float)
    idx = np.random.default_rng(seed).integers(0, len(x), (resamples, len(x)))
    rx, ry = rankdata(x[idx], axis=1), rankdata(y[idx], axis=1)
    keep = (np.ptp(rx, axis=1) > 0) & (np.ptp(ry, axis=1) > 0)  # a constant resample has no rank correlation
    if not keep.any():
        return (float("nan"), float("nan"))
    rx, ry = rx[keep] - rx[keep].mean(axis=1, keepdims=True), ry[keep] - ry[keep].mean(axis=1, keepdims=True)
    values = (rx * ry).sum(axis=1) / np.sqrt((rx * rx).sum(axis=1) * (ry * ry).sum(axis=1))
    low, high = np.quantile(values, [0.025, 0.975])
    return (float(low), float(high))


def normalise_table(frame):
    """Check and complete a latency table: flops from macs (or the reverse), one group column per key."""
    frame = frame.copy()
    missing = [c for c in ("model", "latency_ms", "params") if c not in frame.columns]
    if "flops" not in frame.columns and "macs" not in frame.columns:
        missing.append("flops or macs")
    if missing:
        raise InputDataError(f"table lacks columns: {', '.join(missing)} (need model, latency_ms, params, flops or macs)")
    if "flops" not in frame.columns:
        frame["flops"] = 2 * frame["macs"].astype(float)
    if "macs" not in frame.columns:
        frame["macs"] = frame["flops"].astype(float) / 2
    for column in ("target", "protocol"):
        if column not in frame.columns:
            frame[column] = "-"
        frame[column] = frame[column].fillna("-").astype(str)
    for column in ("latency_ms", "params", "flops"):
        try:
            frame[column] = frame[column].astype(float)
        except ValueError:
            raise InputDataError(f"column {column} has non-numeric values") from None
    return frame


def correlations(frame) -> list[Correlation]:
    from scipy.stats import kendalltau, spearmanr

    frame = normalise_table(frame)
    results = []
    for (target, protocol), group in frame.groupby(["target", "protocol"], sort=True):
        group = group.groupby("model", as_index=False).agg({"latency_ms": "min", "params": "first", "flops": "first"})
        where = f"target {target}" + (f", protocol {protocol}" if protocol != "-" else "")
        bad = group[["latency_ms", "params", "flops"]].isna().any(axis=1)
        if bad.any():
            raise InputDataError(f"{where}: missing values for {', '.join(group.loc[bad, 'model'])}")
        if len(group) < MIN_MODELS:
            raise InputDataError(f"{where}: {len(group)} model(s); rank correlation needs at least {MIN_MODELS}")
        for column in ("latency_ms", "flops", "params"):
            if group[column].nunique() < 2:
                raise InputDataError(f"{where}: column {column} is constant, so it has no rank correlation")
        lat = group["latency_ms"].to_numpy()
        row = {}
        for name in ("flops", "params"):
            values = group[name].to_numpy()
            sp = spearmanr(values, lat)
            row[f"rho_{name}"], row[f"p_{name}"] = float(sp.statistic), float(sp.pvalue)
            row[f"ci_{name}"] = bootstrap_spearman_ci(values, lat)
            row[f"tau_{name}"] = float(kendalltau(values, lat).statistic)
        results.append(Correlation(target=target, protocol=protocol, n=len(group), **row))
    if not results:
        raise InputDataError("no measurements to correlate")
    return results


def records_table(records):
    """The tidy table of stored timed records that correlation, plots and reports read. Records of counting targets
    (unit other than ms: instructions, ...) are left out: they have no latency to rank."""
    import pandas as pd

    from bench.core.outcome import Timing

    records = [r for r in records if isinstance(r.outcome, Timing)]
    rows = [
        {
            "model": r.model,
            "resolution": r.resolution,
            "target": r.target,
            "format": r.format,
            "precision": r.precision,
            "protocol": r.protocol,
            "latency_ms": r.latency_ms,
            "params": r.params,
            "macs": r.macs,
            "flops": r.flops,
            **({"accuracy": r.extra["accuracy"]} if "accuracy" in r.extra else {}),
        }
        for r in records
    ]
    return pd.DataFrame(rows, columns=COLUMNS + (["accuracy"] if any("accuracy" in row for row in rows) else []))


COLUMNS = ["model", "resolution", "target", "format", "precision", "protocol", "latency_ms", "params", "macs", "flops"]


def predicted_table(records):
    """Phone milliseconds predicted from counts, in the same table, each on its own target labelled "predicted" (so
    a correlation or a plot never pools them with measured times)."""
    import pandas as pd

    rows = [{"model": r.model, "resolution": r.resolution, "target": f"{p['phone']} (predicted from {r.target})",
             "format": r.format, "precision": r.precision, "protocol": "predicted", "latency_ms": p["predicted_ms"],
             "params": r.params, "macs": r.macs, "flops": r.flops}
            for r in records for p in r.predictions]
    return pd.DataFrame(rows, columns=COLUMNS)
