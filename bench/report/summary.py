"""`bench report`: a directory with the tidy CSV, the plots, a Markdown summary and a single-file HTML page.

The answer comes first: what was measured and the headline figure per model and target, then the rank correlation
of latency with FLOPs and params, the ranks across targets, the plots, and every session in an appendix. The
sections are built once as blocks (heading, text, table, image) and written twice, as Markdown and as HTML.
"""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

from bench.analysis.correlation import MIN_MODELS, correlations, records_table
from bench.core.errors import InputDataError
from bench.core.outcome import Count, Timing
from bench.report import plots
from bench.report.device_state import device_state_blocks
from bench.report.tables import (by_unit, compute_units, configuration_table, delegation, display,
                                 latest_per_configuration, session_table, write_csv)

# Small zoo models to suggest when a target has too few models for a rank correlation.
SUGGESTED_MODELS = ("mobileone_s0", "mobilenetv4_conv_small", "mobilenetv2_100", "mobilenetv3_large_100",
                    "efficientnet_b0")


def proxy_frame(results):
    """One row per target and proxy: every proxy the records hold (FLOPs, params, memory traffic, op count, the
    emulated instruction count), with n, both 95% intervals and Kendall's tau."""
    import pandas as pd

    from bench.analysis.correlation import PROXIES

    return pd.DataFrame([{
        "target": c.target, "protocol": c.protocol, "proxy": PROXIES[r.proxy], "n": r.n,
        "Spearman rho (bootstrap 95% CI)": f"{r.rho:.3f} ({r.ci[0]:.2f}, {r.ci[1]:.2f})",
        "Fisher z 95% CI": "-" if r.n <= 3 else f"({r.ci_fisher[0]:.2f}, {r.ci_fisher[1]:.2f})",
        "p": f"{r.p:.2g}", "Kendall tau": f"{r.tau:.3f}",
    } for c in results for r in c.proxies])


def correlation_frame(results):
    import pandas as pd

    return pd.DataFrame([{
        "target": c.target, "protocol": c.protocol, "n": c.n,
        "Spearman rho FLOPs (95% CI)": f"{c.rho_flops:.3f} ({c.ci_flops[0]:.2f}, {c.ci_flops[1]:.2f})",
        "p FLOPs": f"{c.p_flops:.2g}",
        "Spearman rho params (95% CI)": f"{c.rho_params:.3f} ({c.ci_params[0]:.2f}, {c.ci_params[1]:.2f})",
        "p params": f"{c.p_params:.2g}", "Kendall tau FLOPs / params": f"{c.tau_flops:.3f} / {c.tau_params:.3f}",
    } for c in results])


def write_report(records, out_dir: Path, title: str = "Latency report") -> dict[str, Path]:
    """Write results.csv (one row per session), configurations.csv, the PNG plots, summary.md and report.html."""
    if not records:
        raise InputDataError("no records match; nothing to report (check --target/--model/--protocol)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {"csv": out_dir / "results.csv", "configurations_csv": out_dir / "configurations.csv"}
    write_csv(records, written["csv"])
    configuration_table(records).to_csv(written["configurations_csv"], index=False)
    timed = latest_frame(records)
    images = write_plots(records, timed, out_dir)
    written.update(images)
    blocks = report_blocks(records, timed, images, title)
    written["markdown"] = out_dir / "summary.md"
    written["markdown"].write_text(to_markdown(blocks))
    written["html"] = out_dir / "report.html"
    written["html"].write_text(to_html(blocks, title))
    return written


def latest_frame(records):
    """The latest timed session of each configuration as a tidy table (model facts included), the input of the
    correlation, the scatter and the rank chart. Counting records are left out: they have no latency."""
    latest = [r for r in latest_per_configuration(records) if isinstance(r.outcome, Timing) and r.latency_ms is not None]
    frame = records_table(latest)
    if len(frame):
        frame["units"] = [compute_units(r) for r in latest]
        frame["threads"] = [r.threads for r in latest]
        if frame["protocol"].nunique() > 1:  # a min and a median of one model are not one point
            frame["target"] = frame["target"] + " (" + frame["protocol"] + ")"
    return frame


def with_predicted(timed, records):
    """The timed table and, on targets of their own labelled "predicted", the phone milliseconds predicted from the
    latest counts (for the rank correlation: a prediction is ranked as its own column, never pooled with times)."""
    import pandas as pd

    from bench.analysis.correlation import predicted_table

    predicted = predicted_table([r for r in latest_per_configuration(records) if isinstance(r.outcome, Count)])
    return pd.concat([timed, predicted], ignore_index=True) if len(predicted) else timed


def runtime_blocks(records) -> list[tuple]:
    """Two runtimes counted on the same emulated CPU (LiteRT and ONNX Runtime, arm64-emu): instructions per inference
    of the same model, resolution and precision side by side, and which runtime needs fewer."""
    import pandas as pd

    by_model: dict = {}
    for r in latest_per_configuration(records):
        if isinstance(r.outcome, Count) and r.unit == "instructions":
            by_model.setdefault((r.model, r.resolution, r.precision, r.target), {})[r.runtime] = r
    rows = []
    for (model, resolution, precision, target), runtimes in sorted(by_model.items()):
        if len(runtimes) < 2:
            continue
        counts = {name: r.count for name, r in runtimes.items()}
        fewest = min(counts, key=counts.get)
        rows.append({"model": model, "res": resolution, "precision": precision, "counted on": target,
                     **{f"{name} ({r.runtime_version})": f"{r.count:,}" for name, r in sorted(runtimes.items())},
                     "fewer instructions": fewest,
                     "others / fewest": ", ".join(f"{name} x{c / counts[fewest]:.2f}" for name, c in
                                                  sorted(counts.items()) if name != fewest)})
    if not rows:
        return []
    return [("h2", "Runtimes side by side on the emulated CPU"),
            ("p", "Instructions per inference of the same model, resolution and precision under each runtime's "
                  "aarch64 build on the same emulated core: which runtime executes this model in fewer instructions "
                  "on a phone's CPU. Exact counts, not times."),
            ("table", pd.DataFrame(rows))]


def prediction_blocks(records) -> list[tuple]:
    """Phone milliseconds predicted from the latest counts, with their calibration and error band: not measured."""
    import pandas as pd

    rows = [{"model": r.model, "res": r.resolution, "counted on": f"{r.target} {r.format}/{r.precision}",
             "count": r.shown(), "phone": p["phone"], "predicted ms": round(p["predicted_ms"], 3),
             "band ms": f"{p['low_ms']:.2f}-{p['high_ms']:.2f}", "calibration": p["calibration"],
             "leave-one-out error": f"{100 * p['loo_mean_error']:.1f}%",
             "fitted on": f"{p['runtime']}; counts of {p['emulated_runtime']}",
             "set-up differs": ", ".join(p.get("setup_differs") or []) or "-"}
            for r in latest_per_configuration(records) if isinstance(r.outcome, Count) for p in r.predictions]
    if not rows:
        return []
    return [("h2", "Predicted phone milliseconds (from exact counts, not measured)"),
            ("p", "Each figure is the phone's CPU time predicted from the emulated count through a calibration fitted "
                  "on real measurements of that phone (`bench phones`); the band is the calibration's spread of "
                  "measured / predicted in leave-one-out, and it holds for the runtime the calibration names."),
            ("table", pd.DataFrame(rows))]


def counted_frame(records):
    """The latest session of each counting configuration (arm64-emu): model, panel, count; ranked beside latency."""
    import pandas as pd

    latest = [r for r in latest_per_configuration(records) if isinstance(r.outcome, Count) and r.count is not None]
    frame = pd.DataFrame([{"model": r.model, "target": r.target, "format": r.format, "precision": r.precision,
                           "units": compute_units(r), "count": r.count} for r in latest],
                         columns=["model", "target", "format", "precision", "units", "count"])
    frame["panel"] = plots.panel_label(frame) if len(frame) else []
    return frame


def write_plots(records, timed, out_dir: Path) -> dict[str, Path]:
    images = {}
    with_facts = timed.dropna(subset=["params", "macs"]) if len(timed) else timed
    if len(with_facts):
        images["scatter"] = plots.latency_scatter(with_facts, out_dir / "latency_vs_flops_params.png")
        images["scatter_log"] = plots.latency_scatter(with_facts, out_dir / "latency_vs_flops_params_log.png",
                                                      log=True)
        if with_facts["model"].nunique() > 1:
            images["ranks"] = plots.rank_chart(with_facts, out_dir / "model_ranks.png", counted_frame(records))
    samples = plots.sample_distributions(records, out_dir / "sample_distributions.png")
    if samples:
        images["samples"] = samples
    if "accuracy" in timed.columns and timed["accuracy"].notna().any():
        images["accuracy"] = plots.accuracy_vs_latency(timed.dropna(subset=["accuracy"]),
                                                       out_dir / "accuracy_vs_latency.png")
    heatmap = published_heatmap(out_dir)
    if heatmap:
        images["published"] = heatmap
    return images


def report_blocks(records, timed, images: dict[str, Path], title: str) -> list[tuple]:
    blocks = [("h1", title)]
    blocks += measured_blocks(records)
    blocks += headline_blocks(records)
    blocks += correlation_blocks(with_predicted(timed, records))
    blocks += rank_blocks(timed, images, counted_frame(records))
    blocks += proxy_blocks(with_predicted(timed, records))
    blocks += published_blocks(images.get("published"))
    blocks += runtime_blocks(records)
    blocks += prediction_blocks(records)
    blocks += device_state_blocks(records)
    blocks += [("h2", "Plots")]
    captions = {"scatter": "Latency vs GFLOPs and params, latest session of each model (MobileOne Fig. 2)",
                "scatter_log": "The same on log axes",
                "samples": "Raw per-run latencies, one panel per configuration, one violin per session",
                "accuracy": "Accuracy vs latency"}
    blocks += [("image", images[key], caption) for key, caption in captions.items() if key in images]
    blocks += [("h2", "Appendix: every session"),
               ("p", "One row per `bench run` measurement (session), oldest first; `results.csv` has every field.")]
    for heading, table in by_unit(session_table(records)):
        blocks += [("h3", f"Sessions, {heading}"), ("table", display(table.drop(columns=["id"])))]
    return blocks


def published_heatmap(out_dir: Path) -> Path | None:
    from bench.analysis import published_devices as pub
    from bench.report.plots import proxy_heatmap

    results = [c for c in pub.analyse() if c.ranks]
    if not results:
        return None
    return proxy_heatmap(pub.matrix(results), out_dir / "proxies_by_published_hardware.png",
                         counts=pub.matrix(results, "n"))


def published_blocks(heatmap: Path | None) -> list[tuple]:
    """Table 1a across published hardware (bench analyze --published): which proxy ranks the published latencies of
    each device column best, from this harness's figures of the twins, with the column's limits and the heatmap."""
    from bench.analysis import published_devices as pub

    results = [c for c in pub.analyse() if c.ranks]
    if not results:
        return []
    blocks = [("h2", "Which proxy to trust on which hardware (published device tables)"),
              ("p", "Spearman's rho of published latencies (phones' NPU, GPU, Neural Engine, EdgeTPU and CPU; "
                    "bench/analysis/published/SOURCES.md) with each proxy, counted here on each row's timm twin "
                    "(FLOPs, params; memory traffic and op count of the graph the column's runtime deploys: Core ML "
                    "fp16, TFLite int8 or fp32 as the column ran, else ONNX fp32). Rank correlations only: no accelerator latency is "
                    "predicted. `bench analyze --published` gives the intervals."),
              ("table", _published_table(results))]
    if heatmap is not None:
        blocks.append(("image", heatmap, "Spearman rho of published latency with each proxy, per device column (n)"))
    return blocks


def _published_table(results):
    import pandas as pd

    from bench.analysis import published_devices as pub

    return pd.DataFrame([{"device column": c.column, "hardware": c.hardware, "graph": c.graph, "n": c.n,
                          "best proxy (rho)": pub.best_proxy(c), "limits": "; ".join(c.limits) or "-"}
                         for c in results])


def measured_blocks(records) -> list[tuple]:
    from bench.core.protocols import PROTOCOLS

    sessions = session_table(records)
    models, targets = sorted(sessions["model"].unique()), sorted(sessions["target"].unique())
    n_configs = len(configuration_table(records))
    text = (f"{len(records)} sessions of {n_configs} configurations: {len(models)} model(s) "
            f"({', '.join(models)}) on {len(targets)} target(s) ({', '.join(targets)}), "
            f"from {_when(sessions['timestamp'].min())} to {_when(sessions['timestamp'].max())} UTC. "
            "Each session is one `bench run` "
            "measurement; its figure is the protocol's statistic over that session's raw samples.")
    protocols = []
    for name, group in sessions.groupby("protocol"):
        known = PROTOCOLS.get(name)
        done = ", ".join(sorted({f"{w} warm-up, {n} runs x {k}" for w, n, k in
                                 zip(group["warmup"], group["runs"], group["repeats"])}))
        protocols.append(f"`{name}`: {known.description if known else 'as recorded'}; these sessions ran {done}.")
    places = sessions.groupby(["target", "runtime", "cpu"], dropna=False).size().reset_index(name="sessions")
    return [("h2", "What was measured"), ("p", text), ("ul", protocols), ("table", places)]


def _when(timestamp: str) -> str:
    return timestamp[:19].replace("T", " ")


def headline_blocks(records) -> list[tuple]:
    """The protocol's statistic per model (rows) and target (columns), latest session; spread in the next table."""
    blocks = [("h2", "Headline")]
    for heading, table in by_unit(configuration_table(records)):
        value = next(c for c in table.columns if c.startswith("latest"))
        column = table["target"] + " " + table["format"] + "/" + table["precision"]
        column += table["units"].map(lambda u: f" [{u}]" if u else "")
        column += table["threads"].map(lambda t: f" {t} threads" if t != 1 else "")
        if table["protocol"].nunique() > 1:
            column += " (" + table["protocol"] + ")"
        shown = display(table)[value].map(lambda v: "" if v != v else str(v))  # NaN: a session without a figure
        shown += table["delegation"].map(lambda d: f", {d}" if d else "")  # never silently the delegate's number
        pivot = (table.assign(configuration=column, model=table["model"] + " " + table["resolution"].astype(str) + "px",
                              shown=shown)
                 .pivot_table(index="model", columns="configuration", values="shown", aggfunc="first")
                 .fillna("").reset_index())
        pivot.columns.name = None
        note = ("The protocol's statistic of the latest session, in ms (lower is faster); the number of sessions "
                "and their spread are in the next table." if heading == "ms" else
                f"The latest session's figure, in {heading}: an exact count, not a time.")
        title = "Latency (ms)" if heading == "ms" else f"Counts ({heading})"
        blocks += [("h3", title), ("p", note), ("table", pivot)]
    for heading, table in by_unit(configuration_table(records)):
        blocks += [("h3", f"Configurations ({heading})"),
                   ("p", "One row per configuration: the latest session's figure, the number of sessions and the "
                         "min-max of the figure across them (spread % = (max - min) / min).")]
        blocks += [("table", display(table))]
    return blocks


def correlation_blocks(timed) -> list[tuple]:
    """Spearman / Kendall per target that has 3+ models; for the others, the commands that would give them 3."""
    blocks = [("h2", "Rank correlation of latency with FLOPs and params (Table 1a)")]
    if not len(timed):
        return blocks + [("p", "No timed measurements: counting targets have no latency to correlate.")]
    frame = timed.assign(target=plots.panel_label(timed))
    models = frame.groupby("target")["model"].nunique()
    enough = frame[frame["target"].isin(models[models >= MIN_MODELS].index)]
    if len(enough):
        try:
            blocks.append(("table", correlation_frame(correlations(enough))))
        except InputDataError as exc:  # e.g. a model without params, or a constant column
            blocks.append(("p", f"Not computed: {exc}."))
    if (models < MIN_MODELS).any():
        blocks.append(("p", what_to_run(timed)))
    return blocks


def proxy_blocks(timed) -> list[tuple]:
    """Every proxy the records hold, per target with 3+ models: FLOPs and params again beside the memory traffic and
    op count of the deployed graph and the emulated instruction count where the same model was counted."""
    if not len(timed):
        return []
    frame = timed.assign(target=plots.panel_label(timed))
    models = frame.groupby("target")["model"].nunique()
    enough = frame[frame["target"].isin(models[models >= MIN_MODELS].index)]
    try:
        table = proxy_frame(correlations(enough)) if len(enough) else None
    except InputDataError:  # said once already, under the rank correlation
        return []
    if table is None or not len(table):
        return []
    return [("h2", "Every proxy, per target"),
            ("p", "Spearman's rho of latency with each proxy the records hold, with n, the bootstrap and the Fisher z "
                  "95% intervals and Kendall's tau. Memory traffic and op count are read from the deployed graph "
                  "(exporters/graph_traffic.py); the instruction count is the emulated CPU's, where one exists."),
            ("table", table)]


def what_to_run(timed) -> str:
    """The commands that give every target at least three models, so the rank correlation can be computed."""
    commands = []
    for (target, fmt, precision), group in timed.groupby(["target", "format", "precision"]):
        have = set(group["model"])
        if len(have) >= MIN_MODELS:
            continue
        more = [m for m in SUGGESTED_MODELS if m not in have][: MIN_MODELS - len(have)]
        flags = " ".join(f"--model {m}" for m in more)
        commands.append(f"`bench run {flags} --target {target.split(' (')[0]} --format {fmt} --precision {precision}`")
    return (f"Rank correlation needs at least {MIN_MODELS} models per target. To get it, measure more models (any from "
            "`bench models`), e.g. " + "; ".join(commands) + ", then make the report again.")


def rank_blocks(timed, images, counted=None) -> list[tuple]:
    if "ranks" not in images:
        return []
    ranks = plots.rank_table(timed, counted).reset_index().rename(columns={"index": "model"})
    return [("h2", "Model ranks: by MACs, by params, by latency (or instructions) on each target"),
            ("p", "Rank 1 is the fewest MACs / params or the fastest. Where the orders differ, the proxy or the "
                  "other target ranks the models differently."),
            ("table", ranks.astype({c: "Int64" for c in ranks.columns if c != "model"})),
            ("image", images["ranks"], "Model ranks side by side")]


# ---------------------------------------------------------------- writers: the same blocks as Markdown and HTML


def to_markdown(blocks) -> str:
    out = []
    for kind, *body in blocks:
        if kind in ("h1", "h2", "h3"):
            out += ["#" * int(kind[1]) + " " + body[0], ""]
        elif kind == "p":
            out += [body[0], ""]
        elif kind == "ul":
            out += [f"- {item}" for item in body[0]] + [""]
        elif kind == "table":
            out += [body[0].to_markdown(index=False), ""]
        elif kind == "image":
            out += [f"![{body[1]}]({body[0].name})", "", f"*{body[1]}*", ""]
    return "\n".join(out)


def _inline(text: str) -> str:
    """Escape, then turn `code` into <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def to_html(blocks, title: str) -> str:
    """One self-contained page: images inlined as data: URIs, no scripts, no external styles or fonts."""
    parts = []
    for kind, *body in blocks:
        if kind in ("h1", "h2", "h3"):
            parts.append(f"<{kind}>{_inline(body[0])}</{kind}>")
        elif kind == "p":
            parts.append(f"<p>{_inline(body[0])}</p>")
        elif kind == "ul":
            parts.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in body[0]) + "</ul>")
        elif kind == "table":
            parts.append('<div class="wide">' + body[0].to_html(index=False, na_rep="", border=0) + "</div>")
        elif kind == "image":
            data = base64.b64encode(Path(body[0]).read_bytes()).decode()
            parts.append(f'<figure><img alt="{html.escape(body[1])}" src="data:image/png;base64,{data}">'
                         f"<figcaption>{html.escape(body[1])}</figcaption></figure>")
    style = ("body{font-family:sans-serif;margin:2em auto;max-width:1320px;padding:0 1em}"
             "table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:90%}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;white-space:nowrap}th{background:#f3f3f3}"
             "td:first-child{text-align:left}.wide{overflow-x:auto}"
             "img{max-width:100%}figure{margin:1em 0}figcaption{color:#555;font-size:90%}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")
