"""Tables of records: one row per configuration (the answer), one row per session (the evidence), the tidy CSV.

A configuration is what a reader compares: model, resolution, format, precision, target, protocol, threads and the
compute units / delegate the run asked for. Each `bench run` of it is one session (one record). The configuration
row shows the latest session's figure, how many sessions there are and their spread (min-max across sessions), so
twenty runs of one model read as one row, not twenty.

Timed records (unit "ms") and counting records (e.g. unit "instructions", `record.count` the figure) are grouped
apart: `by_unit` splits a table so a count is never put under a milliseconds heading.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from bench.core.record import NS_PER_MS, Record, flat_row

CONFIG_COLUMNS = ("model", "resolution", "target", "format", "precision", "protocol", "threads", "units")
# Where the run's compute units / delegate live, most specific first (iOS compute units, AI Hub, Android delegate).
UNIT_OPTION_KEYS = ("compute_units", "compute_unit", "delegate")
UNIT_LABELS = {"ms": "ms", "instructions": "instructions per inference"}


def compute_units(record: Record) -> str:
    """The compute units / delegate of a run as the user asked for it (else as it ran), e.g. "gpu", "nnapi:edgetpu",
    "all"; an emulated CPU model the user chose is part of it too ("xnnpack, cpu cortex-a55")."""
    requested, ran = record.requested_options or {}, record.options or {}
    label = ""
    for source in (requested, ran):
        key = next((k for k in UNIT_OPTION_KEYS if source.get(k)), None)
        if key:
            accelerator = source.get("accelerator")
            label = f"{source[key]}:{accelerator}" if accelerator else str(source[key])
            break
    if requested.get("cpu"):
        label = f"{label}, cpu {requested['cpu']}" if label else f"cpu {requested['cpu']}"
    return label


def delegation(record: Record) -> str:
    """What a reader must know beside the figure: partial delegation (below) and a run kept throttled."""
    from bench.report.device_state import throttled_flag

    return "; ".join(note for note in (_partial(record), throttled_flag(record)) if note)


def _partial(record: Record) -> str:
    """"partial ..." when the record says only part of the graph ran on the delegate / compute unit, else "".

    Android (benchmark_model's "partially executed by the delegate w/ N delegate kernels"): `extra["delegation"]`
    {"graph": "partial", "delegate_kernels": N} and `extra["partially_delegated"]`. AI Hub: `extra["placement"]`
    {"requested": "NPU", "layers": {"NPU": n, "CPU": m}, "status": "partial" | "unknown"}.
    """
    extra = record.extra or {}
    facts = extra.get("delegation")
    if extra.get("partially_delegated") or (isinstance(facts, dict) and facts.get("graph") == "partial"):
        kernels = facts.get("delegate_kernels") if isinstance(facts, dict) else None
        return f"partial ({kernels} delegate kernels)" if kernels else "partial"
    placement = extra.get("placement")
    if isinstance(placement, dict) and placement.get("status") in ("partial", "unknown"):
        layers = {unit: n for unit, n in (placement.get("layers") or {}).items() if n}
        where = ", ".join(f"{unit} {n}" for unit, n in sorted(layers.items(), key=lambda kv: -kv[1]))
        if placement["status"] == "unknown":
            return "placement unknown"
        return f"partial ({where} layers)" if where else "partial"
    return ""


def figure(record: Record) -> float | None:
    """The protocol's statistic in the record's own unit: latency_ms for timed runs, count for counting ones."""
    value = record.figure
    return None if value is None else float(value)


def _identity(record: Record) -> dict:
    return {"model": record.model, "resolution": record.resolution, "target": record.target,
            "format": record.format, "precision": record.precision, "protocol": record.protocol,
            "threads": record.threads, "units": compute_units(record)}


def session_table(records: list[Record]):
    """One row per record (session), oldest first: identity, when, the figure in its unit, and how it was run."""
    import pandas as pd

    rows = []
    for r in sorted(records, key=lambda r: r.timestamp):
        rows.append({**_identity(r), "unit": r.unit, "timestamp": r.timestamp, "value": figure(r),
                     "delegation": delegation(r), "runs": r.runs, "repeats": r.repeats, "warmup": r.warmup,
                     "n_samples": r.n_samples, "runtime": f"{r.runtime} {r.runtime_version}".strip(),
                     "cpu": (r.device or {}).get("cpu", ""), "id": r.id})
    columns = [*CONFIG_COLUMNS, "unit", "timestamp", "value", "delegation", "runs", "repeats", "warmup", "n_samples",
               "runtime", "cpu", "id"]
    return pd.DataFrame(rows, columns=columns)


def configuration_table(records: list[Record]):
    """One row per configuration and unit: latest value, number of sessions, min and max across sessions.

    `spread_pct` is (max - min) / min of the sessions' figures in percent (0 for one session); `delegation` says
    "partial ..." when any session of the configuration ran only partly on its delegate / compute unit.
    """
    import pandas as pd

    sessions = session_table(records)
    keys = [*CONFIG_COLUMNS, "unit"]
    rows = []
    for key, group in sessions.groupby(keys, sort=False, dropna=False):
        values = group["value"].dropna().astype(float)
        low, high = (values.min(), values.max()) if len(values) else (np.nan, np.nan)
        partial = sorted({d for d in group["delegation"] if d})
        rows.append({**dict(zip(keys, key)), "latest": group["value"].iloc[-1], "sessions": len(group),
                     "min": low, "max": high, "spread_pct": 100 * (high - low) / low if low else np.nan,
                     "delegation": "; ".join(partial), "last_run": group["timestamp"].iloc[-1]})
    columns = [*keys, "latest", "sessions", "min", "max", "spread_pct", "delegation", "last_run"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values(["unit", "target", "format", "precision", "model"], kind="stable", ignore_index=True)


def latest_per_configuration(records: list[Record]) -> list[Record]:
    """The newest record of each configuration (and unit), in the configuration table's order of first sight."""
    latest: dict[tuple, Record] = {}
    for r in sorted(records, key=lambda r: r.timestamp):
        latest[(*_identity(r).values(), r.unit)] = r
    return list(latest.values())


def by_unit(frame) -> list[tuple[str, object]]:
    """Split a configuration or session table by unit: [(heading, table)], the unit in the value columns' names
    ("latest (ms)", "latest (instructions per inference)") and the unit column dropped. Timed tables come first."""
    out = []
    units = sorted(frame["unit"].unique(), key=lambda u: (u != "ms", u)) if len(frame) else []
    for unit in units:
        label = UNIT_LABELS.get(unit, unit)
        part = frame[frame["unit"] == unit].drop(columns=["unit"])
        renames = {c: f"{c} ({label})" for c in ("latest", "min", "max", "value") if c in part.columns}
        out.append((label, part.rename(columns=renames).reset_index(drop=True)))
    return out


def results_tables(records: list[Record], every_session: bool = False) -> list[tuple[str, object]]:
    """What `bench results` shows: [(unit heading, display-ready table)], timed first and counts apart; one row per
    configuration, or one per session with `every_session` (`--all`)."""
    frame = session_table(records).drop(columns=["id"]) if every_session else configuration_table(records)
    return [(heading, display(table)) for heading, table in by_unit(frame)]


def display(frame, digits: int = 3):
    """A table as a reader sees it: figures rounded, empty option columns dropped, counts as integers."""
    frame = frame.copy()
    for column in frame.columns:
        if column.startswith(("latest", "min", "max", "value")) and "instructions" in column:
            frame[column] = frame[column].map(lambda v: "" if v != v else f"{int(v):,}")
        elif column.startswith(("latest", "min", "max", "value")):
            frame[column] = frame[column].astype(float).round(digits)
    if "spread_pct" in frame.columns:
        frame["spread_pct"] = frame["spread_pct"].astype(float).round(1)
        frame = frame.rename(columns={"spread_pct": "spread %"})
    for column in ("last_run", "timestamp"):  # '2026-11-23T13:33:35+00:00' -> '2026-11-23 13:33:35' (UTC)
        if column in frame.columns:
            frame[column] = frame[column].astype(str).str.slice(0, 19).str.replace("T", " ")
    for column in ("units", "delegation"):
        if column in frame.columns and not frame[column].astype(bool).any():
            frame = frame.drop(columns=[column])
    return frame


def records_frame(records: list[Record], with_samples: bool = False):
    import pandas as pd

    rows = []
    for r in records:
        row = flat_row(r)
        row["flops"] = r.flops
        row["units"] = compute_units(r)
        row["delegation"] = delegation(r)
        if with_samples:
            row["samples_ms"] = ";".join(
                f"{v:.6f}" for rep in r.samples_ns for v in np.asarray(rep, dtype=float) / NS_PER_MS
            )
        rows.append(row)
    return pd.DataFrame(rows)


def write_csv(records: list[Record], path: Path, with_samples: bool = False) -> None:
    """The tidy CSV: one row per record (session), every scalar and flattened fact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = records_frame(records, with_samples)
    frame.to_csv(path, index=False, quoting=csv.QUOTE_MINIMAL)
