"""`bench compare`: match two sets of records and decide, per row, slower / faster / no change / not comparable /
not enough samples.

A row is a model, resolution, format, precision, target and protocol measured in one configuration: every field that
changes what ran (threads, delegate, compute units, input kind, emulated CPU, the phone's serial and build
fingerprint) is part of the key. A baseline and a current record that differ only there are paired and reported
"not comparable", naming the field. Timed rows decide on milliseconds (U test on raw samples); counting rows
(arm64-emu instructions) decide on exact counts by a plain threshold, and are shown with their unit, never as
milliseconds."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

from bench.core.errors import InputDataError
from bench.core.outcome import Count, Timing
from bench.core.record import NS_PER_MS, Record
from bench.regression.decision import (DEFAULT_COUNT_THRESHOLD, NOT_COMPARABLE, NOT_ENOUGH, SLOWER, Decision,
                                       compare_counts, compare_samples, compare_summaries)

MATCH_KEY = ("model", "resolution", "format", "precision", "target", "protocol")
# What ran beyond the row's identity; two records that differ in one of these measured different things.
CONFIGURATION = {
    "threads": lambda r: int(r.threads) if r.threads else None,
    "delegate": lambda r: r.options.get("delegate"),
    "accelerator": lambda r: r.options.get("accelerator"),
    "compute units": lambda r: r.options.get("compute_units") or r.options.get("compute_unit"),
    "input kind": lambda r: r.input_kind if r.input_kind != "tensor" else None,
    "emulated CPU": lambda r: r.options.get("cpu") if isinstance(r.options.get("cpu"), str) else None,
    "serial": lambda r: r.device.get("serial"),
    "build fingerprint": lambda r: r.device.get("fingerprint"),
}


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
    baseline_shown: str = "-"  # the figure with its unit: "4.780 ms" or "102,512,345 instructions"
    current_shown: str = "-"
    # For counts: each phone predicted on both sides, its predicted milliseconds and change (the verdict stays on the
    # exact count): [{"phone", "baseline_ms", "current_ms", "change_pct"}]
    predicted: list = field(default_factory=list)

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
        from bench.store.database import open_existing

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


def _figure_field(item: dict) -> str:  # the flat JSON's figure key, by its unit
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
        device, options = ({k.split(".", 1)[1]: v for k, v in d.items() if k.startswith(prefix)}
                           for prefix in ("device.", "options."))
        samples = []
        if isinstance(d.get("samples_ms"), str) and d["samples_ms"]:
            samples = [[int(round(float(x) * NS_PER_MS)) for x in d["samples_ms"].split(";")]]
        base = {k: d[k] for k in d if "." not in k and k != "samples_ms"}
        base["resolution"] = int(base["resolution"])
        for key in ("counts", "predictions"):  # flat_row writes lists as JSON
            if isinstance(base.get(key), str):
                base[key] = json.loads(base[key])
        if base.get("count") is not None:
            base["count"] = int(base["count"])
        for key in ("parity", "artifact_facts", "options", "host", "protocol_extra", "extra"):
            base.pop(key, None)
        records.append(Record.from_dict({**_defaults(), **base, "device": device, "options": options,
                                         "samples_ns": samples}))
    return records


def _identity(r: Record) -> tuple:
    return tuple(getattr(r, k) for k in MATCH_KEY)


def configuration(r: Record) -> tuple:
    return tuple((name, read(r)) for name, read in CONFIGURATION.items())


def _latest(records: list[Record]) -> dict[tuple, Record]:
    by_key: dict[tuple, Record] = {}
    for r in sorted(records, key=lambda r: r.timestamp):
        by_key[(_identity(r), configuration(r))] = r
    return by_key


def _pairs(base: dict, cur: dict) -> list[tuple[Record | None, Record | None]]:
    """Same identity and configuration first; then leftovers of one identity paired across configurations (to be
    reported not comparable, naming the field), then the unpaired ones alone."""
    pairs = [(base[k], cur[k]) for k in base if k in cur]
    left_b = [k for k in base if k not in cur]
    left_c = [k for k in cur if k not in base]
    for kb in list(left_b):
        kc = next((k for k in left_c if k[0] == kb[0]), None)
        if kc is not None:
            pairs.append((base[kb], cur[kc]))
            left_b.remove(kb)
            left_c.remove(kc)
    pairs += [(base[k], None) for k in left_b] + [(None, cur[k]) for k in left_c]
    return sorted(pairs, key=lambda p: tuple(str(x) for x in _identity(p[0] or p[1])))


def _incomparable(a: Record, b: Record) -> str:
    reasons = [f"different {name} ({va} vs {vb})"
               for (name, va), (_, vb) in zip(configuration(a), configuration(b)) if va != vb]
    cpu_a, cpu_b = a.device.get("cpu") or a.device.get("model"), b.device.get("cpu") or b.device.get("model")
    if cpu_a and cpu_b and cpu_a != cpu_b:
        reasons.append(f"different CPU/device ({cpu_a} vs {cpu_b})")
    if a.runtime_version and b.runtime_version and str(a.runtime_version) != str(b.runtime_version):
        reasons.append(f"different runtime version ({a.runtime} {a.runtime_version} vs {b.runtime_version})")
    if a.unit != b.unit:
        reasons.append(f"different units ({a.unit} vs {b.unit})")
    elif isinstance(a.outcome, Count):
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


def _figures(b: Record | None, c: Record | None) -> dict:
    unit = (b or c).unit
    return {"baseline_ms": b and b.latency_ms, "current_ms": c and c.latency_ms, "unit": unit,
            "baseline_count": b and b.count, "current_count": c and c.count,
            "baseline_shown": b.shown() if b else "-", "current_shown": c.shown() if c else "-",
            "predicted": predicted_change(b, c) if b and c else []}


def predicted_change(b: Record, c: Record) -> list[dict]:
    """The predicted milliseconds of each phone both records were predicted for (the same calibration)."""
    current = {(p["phone"], p["calibration"]): p for p in c.predictions}
    changes = []
    for p in b.predictions:
        q = current.get((p["phone"], p["calibration"]))
        if q:
            changes.append({"phone": p["phone"], "baseline_ms": p["predicted_ms"], "current_ms": q["predicted_ms"],
                            "change_pct": round(100 * (q["predicted_ms"] / p["predicted_ms"] - 1), 3)})
    return changes


def _decide_timings(b: Timing, c: Timing, threshold: float, alpha: float, count_threshold: float) -> Decision:
    if b.samples_ns and c.samples_ns:
        return compare_samples(b.latency_ms, c.latency_ms, b.pooled_ms(), c.pooled_ms(), threshold=threshold,
                               alpha=alpha)
    if len(b.repeat_summaries) == 1 and len(c.repeat_summaries) == 1:
        return compare_summaries(b.latency_ms, c.latency_ms, b.repeat_summaries[0], c.repeat_summaries[0],
                                 threshold=threshold, alpha=alpha)
    return compare_samples(b.latency_ms, c.latency_ms, threshold=threshold, alpha=alpha)  # not enough samples


def _decide_counts(b: Count, c: Count, threshold: float, alpha: float, count_threshold: float) -> Decision:
    return compare_counts(b.count, c.count, threshold=count_threshold)


DECIDERS = {Timing: _decide_timings, Count: _decide_counts}


def _decide(b: Record, c: Record, threshold: float, alpha: float, count_threshold: float) -> Decision:
    if type(b.outcome) is not type(c.outcome) or b.unit != c.unit:
        return Decision(float("nan"), None, NOT_COMPARABLE, "")
    return DECIDERS[type(b.outcome)](b.outcome, c.outcome, threshold, alpha, count_threshold)


def compare_records(baseline: list[Record], current: list[Record], *, threshold: float, alpha: float,
                    count_threshold: float = DEFAULT_COUNT_THRESHOLD) -> list[Row]:
    rows = []
    for b, c in _pairs(_latest(baseline), _latest(current)):
        ident = dict(zip(MATCH_KEY, _identity(b or c)))
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


def ungated(rows: list[Row]) -> list[Row]:
    """Counting rows of the baseline the gate could not decide: not comparable (another emulator set-up, another
    configuration) or gone from the current run. A gate that skipped them would pass without checking anything."""
    return [r for r in rows if r.unit != Timing.unit and r.verdict == NOT_COMPARABLE and r.reason != "only in current"]


def any_slower(rows: list[Row], *, units: tuple[str, ...] | None = None) -> bool:
    """Any row slower; with `units`, only rows measured in those units count (e.g. ("instructions",) gates CI on
    the emulated-ARM counts while timed host rows stay report-only)."""
    return any(r.verdict == SLOWER and (units is None or r.unit in units) for r in rows)


_ICON = {"slower": ":red_circle: slower", "faster": ":green_circle: faster", "no change": "no change",
         "not comparable": ":grey_question: not comparable", NOT_ENOUGH: ":grey_question: not enough samples"}


def markdown(rows: list[Row], title: str = "Latency comparison", note: str = "") -> str:
    lines = [f"### {title}", ""]
    if note:
        lines += [note, ""]
    predicted = any(r.predicted for r in rows)
    lines += ["| model | res | target | format | protocol | baseline | current | change | p | verdict |" +
              (" predicted phone ms (not measured) |" if predicted else ""),
              "|---|---:|---|---|---|---:|---:|---:|---:|---|" + ("---|" if predicted else "")]
    for r in rows:
        change = "-" if r.ratio is None else f"{100 * (r.ratio - 1):+.1f}%"
        p = "-" if r.p_value is None or np.isnan(r.p_value) else f"{r.p_value:.2g}"
        verdict = _ICON.get(r.verdict, r.verdict) + (f" ({r.reason})" if r.reason else "")
        lines.append(
            f"| {r.model} | {r.resolution} | {r.target} | {r.format}/{r.precision} | {r.protocol} | "
            f"{r.baseline_shown} | {r.current_shown} | "
            f"{change} | {p} | {verdict} |" + (f" {_predicted_cell(r)} |" if predicted else "")
        )
    slower = sum(r.verdict == SLOWER for r in rows)
    lines += ["", f"{slower} slower, {sum(r.verdict == 'faster' for r in rows)} faster, "
                  f"{sum(r.verdict == 'no change' for r in rows)} unchanged, "
                  f"{sum(r.verdict == NOT_COMPARABLE for r in rows)} not comparable, "
                  f"{sum(r.verdict == NOT_ENOUGH for r in rows)} with not enough samples."]
    return "\n".join(lines) + "\n"


def _predicted_cell(row: Row) -> str:
    return "; ".join(f"{p['phone']} {p['baseline_ms']:.3f} -> {p['current_ms']:.3f} ({p['change_pct']:+.1f}%)"
                     for p in row.predicted) or "-"


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
        elif r.verdict in (NOT_COMPARABLE, NOT_ENOUGH):
            parts.append(f"    <skipped message={quoteattr(r.reason or r.test or r.verdict)}/>")
        else:
            parts.append(f"    <system-out>{message}</system-out>")
        parts.append("  </testcase>")
    parts.append("</testsuite>")
    return "\n".join(parts) + "\n"
