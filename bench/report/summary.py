"""`bench report`: a directory with the tidy CSV, the plots, a Markdown summary and a single-file HTML page."""

from __future__ import annotations

import base64
import html
from pathlib import Path

from bench.analysis.correlation import correlations, records_table
from bench.core.errors import InputDataError
from bench.report import plots
from bench.report.tables import write_csv


def correlation_markdown(results) -> str:
    lines = ["| target | protocol | n | Spearman rho FLOPs (95% CI) | p | Spearman rho params (95% CI) | p | Kendall tau FLOPs / params |",
             "|---|---|---:|---|---:|---|---:|---|"]
    for c in results:
        lines.append(
            f"| {c.target} | {c.protocol} | {c.n} | {c.rho_flops:.3f} ({c.ci_flops[0]:.2f}, {c.ci_flops[1]:.2f}) | "
            f"{c.p_flops:.2g} | {c.rho_params:.3f} ({c.ci_params[0]:.2f}, {c.ci_params[1]:.2f}) | {c.p_params:.2g} | "
            f"{c.tau_flops:.3f} / {c.tau_params:.3f} |"
        )
    return "\n".join(lines) + "\n"


def write_report(records, out_dir: Path, title: str = "Latency report") -> dict[str, Path]:
    if not records:
        raise InputDataError("no records match; nothing to report (check --target/--model/--protocol)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    frame = records_table(records)
    written = {"csv": out_dir / "results.csv"}
    write_csv(records, written["csv"])
    written["scatter"] = plots.latency_scatter(frame, out_dir / "latency_vs_flops_params.png")
    written["scatter_log"] = plots.latency_scatter(frame, out_dir / "latency_vs_flops_params_log.png", log=True)
    written["samples"] = plots.sample_distributions(records, out_dir / "sample_distributions.png")
    if "accuracy" in frame.columns and frame["accuracy"].notna().any():
        written["accuracy"] = plots.accuracy_vs_latency(frame.dropna(subset=["accuracy"]), out_dir / "accuracy_vs_latency.png")
    try:
        corr_md = correlation_markdown(correlations(frame))
    except InputDataError as exc:
        corr_md = f"Rank correlation not computed: {exc}.\n"
    table = frame[["model", "resolution", "target", "format", "precision", "protocol", "latency_ms", "params", "macs"]]
    table = table.assign(params_m=(table["params"] / 1e6).round(2), gmacs=(table["macs"] / 1e9).round(3),
                         latency_ms=table["latency_ms"].round(3)).drop(columns=["params", "macs"])
    md = [f"# {title}", "", f"{len(records)} measurements.", "", "## Rank correlation of latency (Table 1a)", "",
          corr_md, "## Measurements", "", table.to_markdown(index=False), "", "## Plots", ""]
    md += [f"![{key}]({p.name})" for key, p in written.items() if p.suffix == ".png"]
    written["markdown"] = out_dir / "summary.md"
    written["markdown"].write_text("\n".join(md) + "\n")
    written["html"] = out_dir / "report.html"
    written["html"].write_text(_html(title, corr_md, table, [p for p in written.values() if p.suffix == ".png"]))
    return written


def _html(title: str, corr_md: str, table, images: list[Path]) -> str:
    figures = "\n".join(
        f'<figure><img alt="{html.escape(p.stem)}" src="data:image/png;base64,{base64.b64encode(p.read_bytes()).decode()}">'
        f"<figcaption>{html.escape(p.stem)}</figcaption></figure>"
        for p in images
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
        "padding:3px 8px}img{max-width:100%}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><h2>Rank correlation</h2><pre>{html.escape(corr_md)}</pre>"
        f"<h2>Measurements</h2>{table.to_html(index=False)}<h2>Plots</h2>{figures}</body></html>\n"
    )
