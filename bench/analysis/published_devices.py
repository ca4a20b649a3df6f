"""Which proxy ranks latency on which hardware: Table 1a's question over published device tables.

A device column is one (source, device, runtime, precision, compute unit) table of published latencies
(published/devices.csv, each row citing published/SOURCES.md; plus the phone CPU tables that bench/prediction
already ships). Each row names its timm twin and resolution; a row whose twin is not the same network
(same_network = no) is kept for the record and left out of every ranking. The proxies of a twin are this harness's
own figures of the twin's graph (published/twin_figures.csv, written by `bench analyze --published --measure`):
FLOPs and params counted on the torch model, memory traffic and operator count of the graph the column's runtime
deploys (exporters/graph_traffic.py), and the emulated instruction count of bench/prediction/emulated.csv where the
twin was counted at the column's precision.

The deployed graph (`deployed_graph`) is Core ML fp16 for Core ML columns, TFLite int8 for int8 TFLite columns and
TFLite fp32 for the other TFLite ones, ONNX fp32 for the rest (ONNX Runtime's and QNN's, w8a8 included: no int8 ONNX
is exported here). Both the format and the precision move ranks, because what each converter fuses or leaves in
float differs by network: FastViT's ONNX graphs move 4.2-4.7x the bytes of their Core ML ones, MobileOne's 2.0x
(traffic's rho on the iPhone column: 0.87 on ONNX, 0.99 on Core ML); int8 quantization cuts a convolutional net's
TFLite bytes 4.0x but FastViT's 3.0x. A column whose twins do not all have figures in its graph is ranked on the
same format at fp32, else on ONNX fp32 (the one graph every twin has), and says so in its limits: one column never
mixes graphs.
Nothing here predicts an accelerator's latency; it says how well each proxy orders the published ones.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from bench.analysis.correlation import PROXIES, ProxyRank, rank_proxies
from bench.core.errors import InputDataError

PUBLISHED_DIR = Path(__file__).with_name("published")
DEVICES_CSV = PUBLISHED_DIR / "devices.csv"
FIGURES_CSV = PUBLISHED_DIR / "twin_figures.csv"
SOURCES_MD = PUBLISHED_DIR / "SOURCES.md"
FIGURE_FIELDS = ("twin", "resolution", "format", "precision", "params", "macs", "memory_traffic", "activation_bytes",
                 "weight_bytes", "graph_ops")
YARDSTICK = ("onnx", "fp32")  # the graph every twin has: the last fallback of a column missing twins in its own
# Below this many models a 95% interval of rho is wider than about +-0.6 around a moderate rho: shown, flagged.
MIN_TO_SAY = 8


@dataclass(frozen=True)
class DeviceRow:
    row_id: str
    column: str
    hardware: str  # CPU, GPU, NPU, EdgeTPU, Neural Engine (Core ML)
    device: str
    runtime: str
    precision: str
    model_published: str
    resolution: int | None
    twin: str
    same_network: bool
    latency_ms: float
    source: str

    @property
    def ranked(self) -> bool:
        return bool(self.twin) and self.same_network and self.resolution is not None


@dataclass
class ColumnResult:
    column: str
    hardware: str
    device: str
    runtime: str
    precision: str
    sources: list[str]
    rows: int  # published rows in the column
    left_out: int  # rows whose twin is not the same network (or has none)
    unmeasured: list[str]  # twins without graph figures yet
    graph: str = ""  # the format and precision the proxies were counted on, e.g. "coreml fp16"
    ranks: list[ProxyRank] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return max((r.n for r in self.ranks), default=0)

    def to_dict(self) -> dict:
        return {"column": self.column, "hardware": self.hardware, "device": self.device, "runtime": self.runtime,
                "precision": self.precision, "graph": self.graph, "sources": self.sources, "rows": self.rows,
                "left_out": self.left_out, "unmeasured": self.unmeasured, "n": self.n, "limits": self.limits,
                "proxies": [r.to_dict() for r in self.ranks]}


def _int(text: str) -> int | None:
    return int(text) if text not in ("", None) else None


def read_device_rows(path: Path = DEVICES_CSV) -> list[DeviceRow]:
    """This folder's accelerator and CPU tables, then bench/prediction's phone CPU tables as device columns."""
    with open(path, newline="") as f:
        rows = [DeviceRow(row_id=r["row_id"], column=r["column"], hardware=r["hardware"], device=r["device"],
                          runtime=r["runtime"], precision=r["precision"], model_published=r["model_published"],
                          resolution=_int(r["resolution"]), twin=r["twin"], same_network=r["same_network"] == "yes",
                          latency_ms=float(r["latency_ms"]), source=r["source"]) for r in csv.DictReader(f)]
    return rows + _prediction_rows()


def _prediction_rows() -> list[DeviceRow]:
    """The phone CPU tables of bench/prediction/published (cited in its SOURCES.md), one column per table, phone
    and precision; a row without a twin is not the same network as any we build."""
    from bench.prediction.published import read_published

    return [DeviceRow(row_id=r.row_id, column=f"{r.table}-{r.phone}-cpu-{r.precision}", hardware="CPU",
                      device=r.phone, runtime=f"{r.runtime}, {r.threads} thread(s)", precision=r.precision,
                      model_published=r.model_published, resolution=r.resolution, twin=r.twin,
                      same_network=bool(r.twin), latency_ms=r.latency_ms, source=r.source)
            for r in read_published()]


def deployed_graph(runtime: str, precision: str) -> tuple[str, str]:
    """The format and precision of the graph a column's runtime deploys (see the module's docstring)."""
    if runtime.startswith("Core ML"):
        return "coreml", "fp16"
    if "TFLite" in runtime:
        return "tflite", "int8" if precision.lower().startswith("int8") else "fp32"
    return YARDSTICK


def twins(rows: list[DeviceRow]) -> list[tuple[str, int, str, str]]:
    """Every (twin, resolution, format, precision) a ranking needs, in the order the tables first name them (this
    folder's tables before bench/prediction's)."""
    return list(dict.fromkeys((r.twin, r.resolution, *deployed_graph(r.runtime, r.precision)) for r in rows
                              if r.ranked))


FigureKey = tuple[str, int, str, str]  # twin, resolution, format, precision


def read_figures(path: Path = FIGURES_CSV) -> dict[FigureKey, dict]:
    if not Path(path).is_file():
        return {}
    with open(path, newline="") as f:
        return {(r["twin"], int(r["resolution"]), r["format"], r["precision"]):
                {k: (v if k in ("twin", "format", "precision") else int(v)) for k, v in r.items()}
                for r in csv.DictReader(f)}


def write_figures(figures: dict[FigureKey, dict], path: Path = FIGURES_CSV) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIGURE_FIELDS, lineterminator="\n")
        writer.writeheader()
        for key in sorted(figures):
            writer.writerow({k: figures[key][k] for k in FIGURE_FIELDS})


def figures_of(twin: str, resolution: int, artifact) -> dict:
    """One twin's row of twin_figures.csv: params and MACs the export counted, memory traffic and operator count
    read again from the exported graph (so a cached artifact gives what today's reader counts)."""
    from exporters.graph_traffic import graph_traffic

    if artifact.params is None or artifact.macs is None:
        raise InputDataError(f"{twin} at {resolution}px: the {artifact.format} artifact has no params or MACs")
    traffic = graph_traffic(artifact.path, artifact.format).to_dict()
    return {"twin": twin, "resolution": resolution, "format": artifact.format, "precision": artifact.precision,
            "params": artifact.params, "macs": artifact.macs,
            **{k: traffic[k] for k in ("memory_traffic", "activation_bytes", "weight_bytes", "graph_ops")}}


def _instructions(precision: str) -> dict[tuple[str, int], int]:
    """Emulated instruction counts of the twins at this precision (int8 or fp32 columns only)."""
    from bench.prediction.published import read_emulated

    kind = "int8" if "int8" in precision.lower() else ("fp32" if "fp32" in precision.lower() else None)
    if kind is None:
        return {}
    return {(model, res): e.figures.count for (model, res, prec), e in read_emulated().items() if prec == kind}


def column_graph(rows: list[DeviceRow], figures: dict, on_onnx: bool = False) -> tuple[str, str]:
    """The graph a column is ranked on: the first of its deployed graph, the same format at fp32, and ONNX fp32 in
    which every ranked twin has figures (ONNX fp32 alone when asked, `on_onnx`)."""
    own = deployed_graph(rows[0].runtime, rows[0].precision) if rows and not on_onnx else YARDSTICK
    for graph in dict.fromkeys((own, (own[0], "fp32"))):
        if all((r.twin, r.resolution, *graph) in figures for r in rows if r.ranked):
            return graph
    return YARDSTICK


def column_frame(rows: list[DeviceRow], figures: dict, graph: tuple[str, str] | None = None):
    """One row per ranked model of one column: its published latency and this harness's proxies of its twin, all
    counted on one graph (default: the column's, `column_graph`)."""
    import pandas as pd

    counts = _instructions(rows[0].precision) if rows else {}
    graph = graph or column_graph(rows, figures)
    out = []
    for r in rows:
        fig = figures.get((r.twin, r.resolution, *graph)) if r.ranked else None
        if fig is None:
            continue
        out.append({"model": f"{r.twin}@{r.resolution}", "published": r.model_published, "latency_ms": r.latency_ms,
                    "flops": 2 * fig["macs"], "params": fig["params"], "memory_traffic": fig["memory_traffic"],
                    "graph_ops": fig["graph_ops"], "instructions": counts.get((r.twin, r.resolution))})
    frame = pd.DataFrame(out, columns=["model", "published", "latency_ms", *PROXIES])
    # one latency per twin: a column that lists a network twice (two checkpoints) keeps the faster, as correlations do
    return frame.sort_values("latency_ms").drop_duplicates("model").reset_index(drop=True)


def analyse(rows: list[DeviceRow] | None = None, figures: dict | None = None,
            columns: list[str] | None = None, *, on_onnx: bool = False) -> list[ColumnResult]:
    """Rank every proxy against every device column (or the named ones), each on its deployed graph (or, `on_onnx`,
    every column on ONNX fp32)."""
    rows = read_device_rows() if rows is None else rows
    figures = read_figures() if figures is None else figures
    by_column: dict[str, list[DeviceRow]] = {}
    for r in rows:
        by_column.setdefault(r.column, []).append(r)
    if columns:
        unknown = [c for c in columns if c not in by_column]
        if unknown:
            raise InputDataError(f"unknown device column {unknown[0]!r}; known: {', '.join(sorted(by_column))}")
        by_column = {c: by_column[c] for c in columns}
    return [_column_result(name, col, figures, on_onnx) for name, col in by_column.items()]


def _column_result(name: str, rows: list[DeviceRow], figures: dict, on_onnx: bool) -> ColumnResult:
    first = rows[0]
    graph = column_graph(rows, figures, on_onnx)
    frame = column_frame(rows, figures, graph)
    result = ColumnResult(
        column=name, hardware=first.hardware, device=first.device, runtime=first.runtime, precision=first.precision,
        sources=sorted({r.source for r in rows}), rows=len(rows), left_out=sum(not r.ranked for r in rows),
        unmeasured=sorted({f"{r.twin}@{r.resolution}" for r in rows if r.ranked and (r.twin, r.resolution, *graph)
                           not in figures}),
        graph=" ".join(graph), ranks=rank_proxies(frame))
    result.limits = limits(result, missing_own=0 if on_onnx else _missing_own(rows, figures, graph))
    return result


def _missing_own(rows: list[DeviceRow], figures: dict, graph: tuple[str, str]) -> int:
    """How many ranked twins lack figures in the column's deployed graph, where it is ranked on another."""
    own = deployed_graph(rows[0].runtime, rows[0].precision)
    if graph == own:
        return 0
    return len({(r.twin, r.resolution) for r in rows if r.ranked and (r.twin, r.resolution, *own) not in figures})


def limits(result: ColumnResult, missing_own: int = 0) -> list[str]:
    """What keeps a column from saying much: too few models, pooled sources, rows left out, twins not measured, a
    graph that is not the one the column's runtime deploys."""
    notes = []
    if result.n < MIN_TO_SAY:
        notes.append(f"too small: {result.n} models (fewer than {MIN_TO_SAY}), the interval of rho is wide")
    if len(result.sources) > 1:
        notes.append(f"mixed: pools {len(result.sources)} sources ({', '.join(result.sources)})")
    if result.left_out:
        notes.append(f"{result.left_out} row(s) left out: no twin or not the same network")
    if result.unmeasured:
        notes.append(f"{len(result.unmeasured)} twin(s) without graph figures: run `bench analyze --published "
                     "--measure`")
    if missing_own:
        own = " ".join(deployed_graph(result.runtime, result.precision))
        notes.append(f"counted on {result.graph}, not {own}: {missing_own} twin(s) have no {own} figures (not "
                     "exported yet, or their export fails: `bench analyze --published --measure` says which)")
    return notes


def matrix(results: list[ColumnResult], value: str = "rho"):
    """Spearman's rho (or `value="n"`: the models behind it), columns x proxies, NaN where a proxy has too few
    values: the heatmap and the tables."""
    import pandas as pd

    return pd.DataFrame({PROXIES[p]: [next((getattr(r, value) for r in c.ranks if r.proxy == p), float("nan"))
                                      for c in results] for p in PROXIES},
                        index=[_label(c) for c in results])


def _label(c: ColumnResult) -> str:
    small = ", too small" if c.n < MIN_TO_SAY else ""
    mixed = ", mixed" if len(c.sources) > 1 else ""
    return f"{c.column} [{c.hardware}] (n={c.n}{small}{mixed})"


def summary_frame(results: list[ColumnResult]):
    """One row per column and proxy, with n and both intervals (the column's limits: `limits`)."""
    import pandas as pd

    return pd.DataFrame([{
        "column": c.column, "hardware": c.hardware, "proxy": PROXIES[r.proxy], "n": r.n, "rho": round(r.rho, 3),
        "bootstrap 95% CI": f"({r.ci[0]:.2f}, {r.ci[1]:.2f})",
        "Fisher z 95% CI": "-" if r.n <= 3 else f"({r.ci_fisher[0]:.2f}, {r.ci_fisher[1]:.2f})",
        "tau": round(r.tau, 3),
    } for c in results for r in c.ranks])


def best_proxy(result: ColumnResult) -> str:
    """The proxy with the highest rho in a column, or '-' where no proxy could be ranked."""
    if not result.ranks:
        return "-"
    top = max(result.ranks, key=lambda r: r.rho)
    return f"{PROXIES[top.proxy]} ({top.rho:.2f})"
