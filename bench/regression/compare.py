"""`bench compare`: match two sets of records and decide, per row, slower / faster / no change / not comparable.

Timed rows decide on milliseconds (U test on raw samples); counting rows (arm64-emu, unit "instructions") decide on
exact counts by a plain threshold, and are shown with their unit, never as milliseconds."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from bench.regression.decision import (DEFAULT_COUNT_THRESHOLD, NOT_COMPARABLE, SLOWER, Decision, compare_counts,
                                       compare_samples)
from bench.core.errors import InputDataError
from bench.core.record import NS_PER_MS, Record

MATCH_KEY = ("model", "resolution", "format", "precision", "target", "protocol")


@dataclass
class Row:
    model: str
    resolution: int
    format: str
    precision: str
    target: str
    protocol: str
    baseline_ms: float | None
    current_ms: float | None
    ratio: float | None
    p_value: float | None
    verdict: str
    test: str = ""
    reason: str = ""
    extra: dict = field(default_factory=dict)
    unit: str = "ms"  # "instructions" for a counting row: then baseline_count/current_count hold the figures
    baseline_count: int | None = None
    current_count: int | None = None

    def to_dict(self) -> dict:
        d = asdict(self)
        d["change_pct"] = None if self.ratio is None else round(100 * (self.ratio - 1), 3)
        return d


def load_records(source: str | Path) -> list[Record]:
    """Records from a store (.sqlite), a CSV from `bench results --csv`, or a result JSON (object or list)."""
    path = Path(source)
    if not path.exists():
        raise InputDataError(f"{path} does not exist; give a store (.sqlite), a CSV or a result JSON")
    with open(path, "rb") as f:
        head = f.read(16)
    if head.startswith(b"SQLite format 3"):
        from bench.store import open_existing

        with open_existing(path) as store:
            return store.records()
    text = path.read_text(errors="replace")
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        return _records_from_json(path, stripped)
    return _records_from_csv(path)


def _records_from_json(path: Path, text: str) -> list[Record]:
    try:
        if text.startswith("["):
            items = json.loads(text)
        else:  # one object, or JSON lines as `bench run --json` prints for several models
            items = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise InputDataError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    records = []
    for i, item in enumerate(items):
        missing = [k for k in (*MATCH_KEY, _figure_field(item)) if k not in item]
        if missing:
            raise InputDataError(f"{path}: record {i} lacks {', '.join(missing)}")
        records.append(Record.from_dict({**_defaults(), **item}))
    return records


def _figure_field(item: dict) -> str:
    return "latency_ms" if item.get("unit", "ms") == "ms" else "count"


def _defaults() -> dict:
    return {"runtime": "", "runtime_version": "", "threads": 1, "warmup": 0, "runs": 0, "repeats": 1}


def _records_from_csv(path: Path) -> list[Record]:
    from bench.core.csvfile import read_csv

    frame = read_csv(path, required=MATCH_KEY, expected="a CSV written by `bench results --csv`")
    if "latency_ms" not in frame.columns and "count" not in frame.columns:
        raise InputDataError(f"{path}: CSV lacks columns latency_ms (or count); expected a CSV written by "
                             "`bench results --csv`")
    records = []
    for _, row in frame.iterrows():
        d = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        device = {k.split(".", 1)[1]: v for k, v in d.items() if k.startswith("device.")}
        samples = []
        if isinstance(d.get("samples_ms"), str) and d["samples_ms"]:
            samples = [[int(round(float(x) * NS_PER_MS)) for x in d["samples_ms"].split(";")]]
        base = {k: d[k] for k in d if "." not in k and k != "samples_ms"}
        base["resolution"] = int(base["resolution"])
        if isinstance(base.get("counts"), str):  # flat_row writes lists as JSON
            base["counts"] = json.loads(base["counts"])
        if base.get("count") is not None:
            base["count"] = int(base["count"])
        for key in ("parity", "artifact_facts", "options", "host", "protocol_extra", "extra"):
            base.pop(key, None)
        records.append(Record.from_dict({**_defaults(), **base, "device": device, "samples_ns": samples}))
    return records


def _key(r: Record) -> tuple:
    return tuple(getattr(r, k) for k in MATCH_KEY)


def _latest(records: list[Record]) -> dict[tuple, Record]:
    by_key: dict[tuple, Record] = {}
    for r in sorted(records, key=lambda r: r.timestamp):
        by_key[_key(r)] = r
    return by_key


def _incomparable(a: Record, b: Record) -> str:
    reasons = []
    cpu_a, cpu_b = a.device.get("cpu") or a.device.get("model"), b.device.get("cpu") or b.device.get("model")
    if cpu_a and cpu_b and cpu_a != cpu_b:
        reasons.append(f"different CPU/device ({cpu_a} vs {cpu_b})")
    if a.runtime_version and b.runtime_version and str(a.runtime_version) != str(b.runtime_version):
        reasons.append(f"different runtime version ({a.runtime} {a.runtime_version} vs {b.runtime_version})")
    if a.threads and b.threads and int(a.threads) != int(b.threads):
        reasons.append(f"different threads ({a.threads} vs {b.threads})")
    if a.unit != b.unit:
        reasons.append(f"different units ({a.unit} vs {b.unit})")
    elif a.unit != "ms":
        reasons.extend(_different_setup(a, b))
    return "; ".join(reasons)


def _different_setup(a: Record, b: Record) -> list[str]:
    """Counts are exact only within one set-up (emulator, plugin, guest Python, runtime builds)."""
    setup_a, setup_b = a.device.get("setup") or {}, b.device.get("setup") or {}
    differing = sorted(k for k in set(setup_a) | set(setup_b) if setup_a.get(k) != setup_b.get(k))
    if not differing:
        return []
    shown = ", ".join(f"{k} {setup_a.get(k)} vs {setup_b.get(k)}" for k in differing[:3])
    return [f"different set-up ({shown})"]


def _pooled_ms(r: Record):
    return r.pooled_ms() if r.samples_ns else None


def _figures(b: Record | None, c: Record | None) -> dict:
    unit = (b or c).unit
    return {"baseline_ms": b and b.latency_ms, "current_ms": c and c.latency_ms, "unit": unit,
            "baseline_count": b and b.count, "current_count": c and c.count}


def _decide(b: Record, c: Record, threshold: float, alpha: float, count_threshold: float) -> Decision:
    if b.unit != "ms" and b.unit == c.unit:
        return compare_counts(b.count, c.count, threshold=count_threshold)
    if b.unit != c.unit:
        return Decision(float("nan"), None, NOT_COMPARABLE, "")
    return compare_samples(b.latency_ms, c.latency_ms, _pooled_ms(b), _pooled_ms(c), threshold=threshold, alpha=alpha)


def compare_records(baseline: list[Record], current: list[Record], *, threshold: float, alpha: float,
                    count_threshold: float = DEFAULT_COUNT_THRESHOLD) -> list[Row]:
    base, cur = _latest(baseline), _latest(current)
    rows = []
    for key in sorted(set(base) | set(cur), key=lambda k: tuple(str(x) for x in k)):
        b, c = base.get(key), cur.get(key)
        ident = dict(zip(MATCH_KEY, key))
        if b is None or c is None:
            rows.append(Row(**ident, **_figures(b, c), ratio=None, p_value=None, verdict=NOT_COMPARABLE,
                            reason="only in baseline" if c is None else "only in current"))
            continue
        decision = _decide(b, c, threshold, alpha, count_threshold)
        reason = _incomparable(b, c)
        ratio = None if decision.ratio != decision.ratio else decision.ratio  # NaN: units differ
        rows.append(Row(**ident, **_figures(b, c), ratio=ratio, p_value=decision.p_value,
                        verdict=NOT_COMPARABLE if reason else decision.verdict, test=decision.test, reason=reason))
    return rows


def any_slower(rows: list[Row], *, units: tuple[str, ...] | None = None) -> bool:
    """Any row slower; with `units`, only rows measured in those units count (e.g. ("instructions",) gates CI on
    the emulated-ARM counts while timed host rows stay report-only)."""
    return any(r.verdict == SLOWER and (units is None or r.unit in units) for r in rows)


_ICON = {"slower": ":red_circle: slower", "faster": ":green_circle: faster", "no change": "no change",
         "not comparable": ":grey_question: not comparable"}


def markdown(rows: list[Row], title: str = "Latency comparison", note: str = "") -> str:
    lines = [f"### {title}", ""]
    if note:
        lines += [note, ""]
    lines += ["| model | res | target | format | protocol | baseline | current | change | p | verdict |",
              "|---|---:|---|---|---|---:|---:|---:|---:|---|"]
    for r in rows:
        change = "-" if r.ratio is None else f"{100 * (r.ratio - 1):+.1f}%"
        p = "-" if r.p_value is None or np.isnan(r.p_value) else f"{r.p_value:.2g}"
        verdict = _ICON.get(r.verdict, r.verdict) + (f" ({r.reason})" if r.reason else "")
        lines.append(
            f"| {r.model} | {r.resolution} | {r.target} | {r.format}/{r.precision} | {r.protocol} | "
            f"{_shown(r, r.baseline_ms, r.baseline_count)} | {_shown(r, r.current_ms, r.current_count)} | "
            f"{change} | {p} | {verdict} |"
        )
    slower = sum(r.verdict == SLOWER for r in rows)
    lines += ["", f"{slower} slower, {sum(r.verdict == 'faster' for r in rows)} faster, "
                  f"{sum(r.verdict == 'no change' for r in rows)} unchanged, "
                  f"{sum(r.verdict == NOT_COMPARABLE for r in rows)} not comparable."]
    return "\n".join(lines) + "\n"


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def _shown(row: Row, ms, count) -> str:
    """A figure with its unit: "4.780 ms" or "102,512,345 instructions"."""
    if row.unit == "ms":
        return "-" if ms is None else f"{_fmt(ms)} ms"
    return "-" if count is None else f"{int(count):,} {row.unit}"


def junit(rows: list[Row], suite: str = "bench.regression.compare") -> str:
    failures = sum(r.verdict == SLOWER for r in rows)
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>',
             f'<testsuite name={quoteattr(suite)} tests="{len(rows)}" failures="{failures}">']
    for r in rows:
        name = f"{r.model}[{r.resolution}] {r.target} {r.format}/{r.precision} {r.protocol}"
        parts.append(f"  <testcase classname={quoteattr(suite)} name={quoteattr(name)}>")
        message = f"{r.verdict}: ratio {r.ratio if r.ratio is None else round(r.ratio, 4)}, p {r.p_value}"
        if r.verdict == SLOWER:
            parts.append(f"    <failure message={quoteattr(message)}/>")
        elif r.verdict == NOT_COMPARABLE:
            parts.append(f"    <skipped message={quoteattr(r.reason or NOT_COMPARABLE)}/>")
        else:
            parts.append(f"    <system-out>{message}</system-out>")
        parts.append("  </testcase>")
    parts.append("</testsuite>")
    return "\n".join(parts) + "\n"
