"""Plots (matplotlib, Agg). Each function reads a tidy table or records and writes one PNG."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def latency_scatter(frame, path: Path, *, log: bool = False) -> Path:
    """Latency vs FLOPs and vs params, one row of two panels per target, points labelled (MobileOne Fig. 2)."""
    from bench.analysis.correlation import normalise_table

    plt = _pyplot()
    frame = normalise_table(frame)  # flops from macs where only macs are given
    frame["panel"] = frame["target"].astype(str)
    if {"format", "precision"} <= set(frame.columns):  # fp32 and int8 on one target are different machines
        frame["panel"] += " " + frame["format"].astype(str) + "/" + frame["precision"].astype(str)
    targets = sorted(frame["panel"].unique())
    fig, axes = plt.subplots(len(targets), 2, figsize=(11, 4.2 * len(targets)), squeeze=False)
    for row, target in zip(axes, targets):
        group = frame[frame["panel"] == target]
        for ax, column, label in ((row[0], "flops", "GFLOPs (2 x MACs)"), (row[1], "params", "params (M)")):
            scale = 1e9 if column == "flops" else 1e6
            x, y = group[column].astype(float) / scale, group["latency_ms"].astype(float)
            ax.scatter(x, y, s=22)
            for xi, yi, name in zip(x, y, group["model"]):
                ax.annotate(str(name), (xi, yi), fontsize=7, xytext=(3, 3), textcoords="offset points")
            ax.set_xlabel(label)
            ax.set_ylabel("latency (ms)")
            ax.set_title(f"{target}: latency vs {column}")
            if log:
                ax.set_xscale("log")
                ax.set_yscale("log")
            ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def accuracy_vs_latency(frame, path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    for target, group in frame.groupby("target"):
        ax.scatter(group["latency_ms"], group["accuracy"], label=str(target), s=22)
        for _, r in group.iterrows():
            ax.annotate(str(r["model"]), (r["latency_ms"], r["accuracy"]), fontsize=7, xytext=(3, 3),
                        textcoords="offset points")
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("accuracy")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def sample_distributions(records, path: Path) -> Path:
    """Raw per-run latencies per measurement: shows noise, warm-up tails and outliers that a single number hides."""
    plt = _pyplot()
    with_samples = [r for r in records if r.samples_ns]
    fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(with_samples) + 2), 5))
    data = [np.concatenate([np.asarray(s, float) for s in r.samples_ns]) / 1e6 for r in with_samples]
    labels = [f"{r.model}\n{r.target} {r.format}/{r.precision}" for r in with_samples]
    if data:
        ax.violinplot(data, showmedians=True, showextrema=True)
        ax.set_xticks(range(1, len(labels) + 1), labels, rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("per-run latency (ms)")
    ax.set_title("distribution of raw samples")
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return _save(fig, path)


def roofline_curves(curves: dict[str, list], path: Path, *, normalise: bool = True) -> Path:
    """Predicted latency against ridge point, one curve per model (MobileNetV4, Fig. 3 style)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    for model, points in curves.items():
        rp = [p.ridge_point for p in points]
        lat = np.array([p.latency_ms for p in points])
        ax.plot(rp, lat / lat[0] if normalise and lat[0] else lat, label=model)
    ax.set_xlabel("ridge point (MACs / byte)")
    ax.set_ylabel("predicted latency relative to RP=0" if normalise else "predicted latency (ms)")
    ax.set_title("roofline latency across hardware")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)
    return path
