"""Rank correlation of latency with each proxy (MobileOne paper, Table 1a, widened to every proxy we count).

Input is a tidy table with columns model, latency_ms, params and flops or macs (FLOPs = 2 x MACs; rank statistics
do not care, but the labels must be right), and optionally target and protocol to group by. The other proxies
(PROXIES: memory traffic, operator count, the emulated instruction count) are ranked where a column holds them for
at least MIN_MODELS models. Each rho comes with two 95% intervals: the bootstrap percentile interval (models
resampled) and the Fisher z interval with Fieller's variance 1.06 / (n - 3) for Spearman's rho.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from bench.core.errors import InputDataError

BOOTSTRAP_RESAMPLES = 2000
MIN_MODELS = 3
# proxy column -> what a reader calls it; a lower value should mean a faster model
PROXIES = {"flops": "FLOPs", "params": "params", "memory_traffic": "memory traffic", "graph_ops": "op count",
           "instructions": "emulated instructions"}


@dataclass
class ProxyRank:
    """How well one proxy ranks latency over the n models that have both."""

    proxy: str
    n: int
    rho: float
    p: float
    ci: tuple[float, float]  # bootstrap percentile 95%
    ci_fisher: tuple[float, float]  # Fisher z 95%, variance 1.06 / (n - 3); NaN for n <= 3
    tau: float

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ci"], d["ci_fisher"] = list(self.ci), list(self.ci_fisher)
        return d


def fisher_ci(rho: float, n: int, z_crit: float = 1.959964) -> tuple[float, float]:
    """95% interval of Spearman's rho by Fisher's z with Fieller, Hartley and Pearson's variance 1.06 / (n - 3)."""
    if n <= 3 or not np.isfinite(rho):
        return (float("nan"), float("nan"))
    z, half = np.arctanh(np.clip(rho, -0.999999, 0.999999)), z_crit * np.sqrt(1.06 / (n - 3))
    return (float(np.tanh(z - half)), float(np.tanh(z + half)))


def rank_proxy(proxy: str, values, latency) -> ProxyRank:
    from scipy.stats import kendalltau, spearmanr

    values, latency = np.asarray(values, float), np.asarray(latency, float)
    sp = spearmanr(values, latency)
    rho = float(sp.statistic)
    return ProxyRank(proxy=proxy, n=len(values), rho=rho, p=float(sp.pvalue),
                     ci=bootstrap_spearman_ci(values, latency), ci_fisher=fisher_ci(rho, len(values)),
                     tau=float(kendalltau(values, latency).statistic))


def rank_proxies(group, proxies=tuple(PROXIES)) -> list[ProxyRank]:
    """Every proxy column of `group` (one row per model, with latency_ms) that has at least MIN_MODELS values and
    is not constant over them, ranked against latency; proxies without enough values are left out."""
    ranks = []
    for proxy in proxies:
        if proxy not in group.columns:
            continue
        have = group[[proxy, "latency_ms"]].apply(lambda c: c.astype(float)).dropna()
        if len(have) >= MIN_MODELS and have[proxy].nunique() > 1 and have["latency_ms"].nunique() > 1:
            ranks.append(rank_proxy(proxy, have[proxy], have["latency_ms"]))
    return ranks


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
    proxies: list[ProxyRank] = field(default_factory=list)  # every proxy the table holds, FLOPs and params first

    def to_dict(self) -> dict:
        d = asdict(self)
        d["ci_flops"], d["ci_params"] = list(self.ci_flops), list(self.ci_params)
        d["proxies"] = [p.to_dict() for p in self.proxies]
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
    frame = normalise_table(frame)
    results = []
    extra = [p for p in PROXIES if p not in ("flops", "params") and p in frame.columns]
    for (target, protocol), group in frame.groupby(["target", "protocol"], sort=True):
        group = group.groupby("model", as_index=False).agg(
            {"latency_ms": "min", "params": "first", "flops": "first", **{p: "first" for p in extra}})
        where = f"target {target}" + (f", protocol {protocol}" if protocol != "-" else "")
        bad = group[["latency_ms", "params", "flops"]].isna().any(axis=1)
        if bad.any():
            raise InputDataError(f"{where}: missing values for {', '.join(group.loc[bad, 'model'])}")
        if len(group) < MIN_MODELS:
            raise InputDataError(f"{where}: {len(group)} model(s); rank correlation needs at least {MIN_MODELS}")
        for column in ("latency_ms", "flops", "params"):
            if group[column].nunique() < 2:
                raise InputDataError(f"{where}: column {column} is constant, so it has no rank correlation")
        ranks = rank_proxies(group)
        row = {}
        for r in ranks[:2]:  # flops, params: checked present and varying above
            row.update({f"rho_{r.proxy}": r.rho, f"p_{r.proxy}": r.p, f"ci_{r.proxy}": r.ci, f"tau_{r.proxy}": r.tau})
        results.append(Correlation(target=target, protocol=protocol, n=len(group), proxies=ranks, **row))
    if not results:
        raise InputDataError("no measurements to correlate")
    return results


def records_table(records):
    """The tidy table of stored timed records that correlation, plots and reports read. Records of counting targets
    (unit other than ms: instructions, ...) are left out as rows: they have no latency to rank; an emulated
    instruction count becomes the `instructions` proxy of the timed rows of the same model and resolution."""
    import pandas as pd

    from bench.core.outcome import Count, Timing

    counted = {(r.model, r.resolution): r.outcome.count for r in records
               if isinstance(r.outcome, Count) and r.outcome.unit == "instructions" and r.outcome.count is not None}
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
            **_graph_proxies(r),
            "instructions": counted.get((r.model, r.resolution)),
            **({"accuracy": r.extra["accuracy"]} if "accuracy" in r.extra else {}),
        }
        for r in records
    ]
    return pd.DataFrame(rows, columns=COLUMNS + (["accuracy"] if any("accuracy" in row for row in rows) else []))


def _graph_proxies(record) -> dict:
    """Memory traffic and operator count of the graph the record ran (None where the format has no reader)."""
    facts = (record.artifact_facts or {}).get("graph_traffic") or {}
    return {"memory_traffic": record.memory_traffic, "graph_ops": facts.get("graph_ops")}


COLUMNS = ["model", "resolution", "target", "format", "precision", "protocol", "latency_ms", "params", "macs", "flops",
           "memory_traffic", "graph_ops", "instructions"]


def predicted_table(records):
    """Phone milliseconds predicted from counts, in the same table, each on its own target labelled "predicted" (so
    a correlation or a plot never pools them with measured times)."""
    import pandas as pd

    rows = [{"model": r.model, "resolution": r.resolution, "target": f"{p['phone']} (predicted from {r.target})",
             "format": r.format, "precision": r.precision, "protocol": "predicted", "latency_ms": p["predicted_ms"],
             "params": r.params, "macs": r.macs, "flops": r.flops, **_graph_proxies(r), "instructions": None}
            for r in records for p in r.predictions]
    return pd.DataFrame(rows, columns=COLUMNS)
