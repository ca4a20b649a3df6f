"""Plots (matplotlib, Agg). Each function reads a tidy table or records and writes one PNG.

Every figure is drawn at the size the report shows it (about 1100 px wide): fonts of 8-10 pt at 110 dpi, one panel
per target where points would otherwise pile up, and point labels moved apart so none overlap.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

DPI = 110
MAX_SESSIONS_SHOWN = 12  # per configuration in the distribution panels; the newest are kept
COLUMN_IN = 1.7  # inches between two columns of the rank chart


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def panel_label(frame):
    """Target, plus format/precision where the table has them: fp32 and int8 on one target are different machines."""
    label = frame["target"].astype(str)
    if {"format", "precision"} <= set(frame.columns):
        label = label + " " + frame["format"].astype(str) + "/" + frame["precision"].astype(str)
    if "units" in frame.columns:
        label = label + frame["units"].fillna("").astype(str).map(lambda u: f" [{u}]" if u else "")
    return label


def one_point_per_model(frame):
    """Latest row per (panel, model): repeated sessions must not stack up as separate points."""
    from bench.analysis.correlation import normalise_table

    frame = normalise_table(frame)  # flops from macs where only macs are given
    frame["panel"] = panel_label(frame)
    return frame.groupby(["panel", "model"], as_index=False, sort=True).last()


def latency_scatter(frame, path: Path, *, log: bool = False) -> Path:
    """Latency vs GFLOPs and vs params, one row of two panels per target, every point named, Spearman rho and n in
    each panel's title (MobileOne Fig. 2)."""
    from scipy.stats import spearmanr

    plt = _pyplot()
    frame = one_point_per_model(frame)
    panels = sorted(frame["panel"].unique())
    fig, axes = plt.subplots(len(panels), 2, figsize=(11, 4.6 * len(panels)), squeeze=False)
    to_label = []
    for row, panel in zip(axes, panels):
        group = frame[frame["panel"] == panel].dropna(subset=["latency_ms"])
        for ax, column, label, scale in ((row[0], "GFLOPs", "GFLOPs (2 x MACs)", 1e9),
                                         (row[1], "params", "params (M)", 1e6)):
            x = group["flops" if column == "GFLOPs" else column].astype(float) / scale
            y = group["latency_ms"].astype(float)
            ax.scatter(x, y, s=24, color="tab:blue", zorder=3)
            if log:
                _log_axes(ax)
            ax.margins(0.12)
            valid = len(group) >= 3 and x.nunique() > 1 and y.nunique() > 1
            rho = f"Spearman rho = {spearmanr(x, y).statistic:.2f}" if valid else "rho needs 3+ distinct models"
            ax.set_title(f"{panel}\nlatency vs {column}: {rho}, n = {len(group)}", fontsize=10)
            ax.set_xlabel(label, fontsize=9)
            ax.set_ylabel("latency (ms)", fontsize=9)
            ax.tick_params(labelsize=8)
            ax.grid(alpha=0.3)
            to_label.append((ax, x.to_numpy(), y.to_numpy(), [str(m) for m in group["model"]]))
    fig.tight_layout()  # before labelling: the layout moves the axes, and labels are placed in display space
    fig.canvas.draw()
    for ax, x, y, names in to_label:
        _label_points(fig, ax, x, y, names, draw=False)
    return _save(fig, path)


def _label_points(fig, ax, xs, ys, names, fontsize: float = 7.5, draw: bool = True) -> None:
    """Name each point without covering another label or point, inside the axes: try beside it (right, then left),
    then a little higher or lower with a leader line; if nothing is free, the last try stays rather than drop it."""
    from matplotlib.text import Text

    if draw:  # fixes the axes limits, so display coordinates are final (once per figure is enough)
        fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    points = ax.transData.transform(np.column_stack([xs, ys])) if len(xs) else np.empty((0, 2))
    placed = [_box_around(px, py, 3) for px, py in points]
    frame = ax.get_window_extent(renderer)
    steps = (0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 6, -6)
    for i in np.argsort(ys):
        near_right = points[i][0] > frame.x1 - 0.3 * frame.width
        sides = ((-5, "right"), (5, "left")) if near_right else ((5, "left"), (-5, "right"))
        tries = [(side, step) for step in steps for side in sides]
        for n, ((dx, ha), step) in enumerate(tries):
            text = ax.annotate(names[i], (xs[i], ys[i]), fontsize=fontsize, xytext=(dx, -3 + 7 * step),
                               textcoords="offset points", ha=ha, va="bottom", zorder=4,
                               arrowprops=dict(arrowstyle="-", lw=0.6, color="0.35") if step else None)
            text.update_positions(renderer)
            box = Text.get_window_extent(text, renderer)  # the words only, not the leader line
            inside = frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            if inside and not any(box.overlaps(other) for other in placed):
                break
            if n < len(tries) - 1:
                text.remove()
        placed.append(box)


def _log_axes(ax, x: bool = True) -> None:
    """Log scales with plain numbers on the ticks (0.5, 2, 20), not 2 x 10^1."""
    from matplotlib.ticker import FuncFormatter, LogLocator

    axes = (ax.xaxis, ax.yaxis) if x else (ax.yaxis,)
    if x:
        ax.set_xscale("log")  # first: setting a scale resets the axis' locators and formatters
    ax.set_yscale("log")
    for axis in axes:
        axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def _box_around(x: float, y: float, radius: float):
    from matplotlib.transforms import Bbox

    return Bbox([[x - radius, y - radius], [x + radius, y + radius]])


def rank_chart(frame, path: Path, counted=None) -> Path:
    """Models ranked by GMACs, by params and by latency on each target (and by instructions on counting targets),
    side by side: where the lines cross, the targets (or the proxies) order the models differently. Rank 1
    (fastest, smallest) at the top."""
    plt = _pyplot()
    ranks = rank_table(frame, counted)
    columns = list(ranks.columns)
    n_models = len(ranks)
    label_in = 0.062 * max(len(str(m)) for m in ranks.index) + 0.15  # a model name at 8 pt, in inches
    pad = 0.25 + label_in / COLUMN_IN  # in column units: room for the names left of the first column and right
    fig, ax = plt.subplots(figsize=(COLUMN_IN * (len(columns) - 1) + 2 * (label_in + 0.3) + 1.0,
                                    max(3.0, 0.36 * n_models + 1.9)))
    colors = plt.get_cmap("tab10").colors
    for k, (model, row) in enumerate(ranks.iterrows()):
        color, style = colors[k % 10], ("-", "--", ":")[k // 10 % 3]  # 30 distinct lines before one repeats
        xs = [i for i, c in enumerate(columns) if row[c] == row[c]]
        ys = [row[columns[i]] for i in xs]
        ax.plot(xs, ys, style, marker="o", color=color, lw=1.6, ms=5)
        if xs:
            ax.annotate(model, (xs[0], ys[0]), xytext=(-8, 0), textcoords="offset points", ha="right", va="center",
                        fontsize=8, color=color)
            ax.annotate(model, (xs[-1], ys[-1]), xytext=(8, 0), textcoords="offset points", ha="left",
                        va="center", fontsize=8, color=color)
    wrapped = ["\n".join(textwrap.wrap(c, 18, break_on_hyphens=False)) for c in columns]
    ax.set_xticks(range(len(columns)), wrapped, fontsize=8)
    ax.set_xlim(-pad, len(columns) - 1 + pad)
    ax.set_ylim(n_models + 0.5, 0.5)
    ax.set_yticks(range(1, n_models + 1))
    ax.tick_params(axis="y", labelsize=8)
    ax.set_ylabel("rank (1 = fewest / fastest)", fontsize=9)
    ax.set_title("model ranks: by MACs, by params, by latency (or instructions) on each target", fontsize=10)
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return _save(fig, path)


def rank_table(frame, counted=None):
    """Rank of each model (rows) by GMACs, by params, by latency per target and by count per counting target
    (columns; `counted` has model, panel, count); NaN where not measured."""
    import pandas as pd

    frame = one_point_per_model(frame)
    facts = frame.groupby("model").agg({"flops": "first", "params": "first"})
    # Ties broken by order ("first") so two models never share a row of the chart.
    columns = {"GMACs": facts["flops"].rank(method="first"), "params": facts["params"].rank(method="first")}
    for panel, group in frame.groupby("panel", sort=True):
        columns[f"latency {panel}"] = group.set_index("model")["latency_ms"].rank(method="first")
    if counted is not None and len(counted):
        for panel, group in counted.groupby("panel", sort=True):
            columns[f"instructions {panel}"] = group.set_index("model")["count"].rank(method="first")
    table = pd.DataFrame(columns)
    last = table.columns[-1]
    return table.sort_values([last, "GMACs"])


def accuracy_vs_latency(frame, path: Path) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5.5))
    for target, group in frame.groupby("target"):
        ax.scatter(group["latency_ms"], group["accuracy"], label=str(target), s=24)
    ax.margins(0.12)
    ax.set_xlabel("latency (ms)")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _label_points(fig, ax, frame["latency_ms"].to_numpy(float), frame["accuracy"].to_numpy(float),
                  [str(m) for m in frame["model"]])
    return _save(fig, path)


def sample_distributions(records, path: Path) -> Path | None:
    """Raw per-run latencies, one panel per configuration, one violin per session (oldest left): noise, warm-up
    tails, outliers and drift between sessions that a single number hides. None when no record has raw samples."""
    from bench.report.tables import compute_units

    plt = _pyplot()
    groups: dict[str, list] = {}
    for r in sorted((r for r in records if r.samples_ns), key=lambda r: r.timestamp):
        units = compute_units(r)
        key = (f"{r.model} {r.resolution}px\n{r.target} {r.format}/{r.precision}" + (f" [{units}]" if units else "")
               + f", {r.protocol}" + (f", {r.threads} threads" if r.threads != 1 else ""))
        groups.setdefault(key, []).append(r)
    if not groups:
        return None
    cols = min(3, len(groups))
    rows = -(-len(groups) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.7 * cols + 0.4, 3.4 * rows), squeeze=False)
    for ax, (key, sessions) in zip(axes.flat, groups.items()):
        shown = sessions[-MAX_SESSIONS_SHOWN:]
        data = [r.pooled_ms() for r in shown]
        ax.violinplot(data, showmedians=True, showextrema=True, widths=0.8)
        low, high = min(d.min() for d in data), max(d.max() for d in data)
        if high > 3 * low:  # a long tail would flatten every violin on a linear axis
            _log_axes(ax, x=False)
        ticks = _session_ticks([r.timestamp for r in shown])
        ax.set_xticks(range(1, len(shown) + 1), ticks, fontsize=7, rotation=90 if len(shown) > 4 else 0)
        more = f" (newest {len(shown)} of {len(sessions)})" if len(sessions) > len(shown) else ""
        ax.set_title(key + more, fontsize=8.5)
        ax.set_ylabel("per-run latency (ms)", fontsize=8)
        ax.tick_params(axis="y", labelsize=7.5)
        ax.grid(alpha=0.3, axis="y")
    for ax in list(axes.flat)[len(groups):]:
        ax.set_visible(False)
    fig.suptitle("raw samples per configuration, one violin per session (labelled with its time, UTC)", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def _session_ticks(timestamps: list[str]) -> list[str]:
    """ISO timestamps as short tick labels: '13:40:05' within one day, else '11-23 13:40'."""
    if len({t[:10] for t in timestamps}) == 1:
        return [t[11:19] for t in timestamps]
    return [f"{t[5:10]} {t[11:16]}" for t in timestamps]


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
    fig.savefig(path, dpi=DPI)
    _pyplot().close(fig)
    return path


def proxy_heatmap(matrix, path: Path, *, counts=None,
                  title: str = "Spearman rho of published latency with each proxy") -> Path:
    """Device columns (rows, with n) x proxies: Spearman's rho as colour and number; blank where not computable.
    `counts` (same shape): a cell whose proxy has fewer models than its row says how many."""
    plt = _pyplot()
    values = matrix.to_numpy(dtype=float)
    n = counts.to_numpy(dtype=float) if counts is not None else np.full(values.shape, np.nan)
    row_n = np.nanmax(np.where(np.isnan(n), -1, n), axis=1)
    fig, ax = plt.subplots(figsize=(10, 0.32 * len(matrix) + 1.6), dpi=DPI)
    image = ax.imshow(np.ma.masked_invalid(values), cmap="RdYlGn", vmin=-1, vmax=1, aspect="auto")
    ax.set_xticks(range(len(matrix.columns)), [textwrap.fill(str(c), 12) for c in matrix.columns], fontsize=9)
    ax.xaxis.tick_top()
    ax.set_yticks(range(len(matrix.index)), matrix.index, fontsize=8)
    for (i, j), v in np.ndenumerate(values):
        fewer = not np.isnan(n[i, j]) and n[i, j] < row_n[i]
        text = "-" if np.isnan(v) else f"{v:.2f}" + (f" (n={int(n[i, j])})" if fewer else "")
        ax.text(j, i, text, ha="center", va="center", fontsize=8)
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02, label="Spearman rho")
    ax.set_title(title, fontsize=10, pad=28)
    fig.tight_layout()  # the column names are long: keep them inside the figure
    return _save(fig, path)
