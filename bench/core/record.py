"""The one result record. Every exporter of results (table, JSON, CSV, reports, compare) reads only this.

Identity (what ran), place (where), method (how) and outcome (raw samples and statistics derived from them).
Statistics are recomputed from the stored samples by `derive_statistics`, never re-measured.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import json
import uuid
from dataclasses import dataclass, field

import numpy as np

from bench.core.protocols import describe, get_protocol

NS_PER_MS = 1e6


@dataclass
class Record:
    # identity
    model: str
    resolution: int
    format: str
    precision: str
    # place
    target: str
    runtime: str
    runtime_version: str
    threads: int
    # method
    protocol: str
    warmup: int
    runs: int
    repeats: int
    # model facts
    params: int | None = None
    macs: int | None = None
    input_kind: str = "tensor"
    artifact_path: str = ""
    artifact_hash: str = ""
    artifact_bytes: int | None = None
    export_s: float | None = None
    parity: dict = field(default_factory=dict)
    artifact_facts: dict = field(default_factory=dict)  # e.g. Core ML spec facts
    options: dict = field(default_factory=dict)  # runner flags as run: delegate, affinity, ...
    requested_options: dict = field(default_factory=dict)  # what the user asked for (part of the cell's identity)
    device: dict = field(default_factory=dict)  # facts of the machine that ran it
    host: dict = field(default_factory=dict)  # facts of the machine that drove it
    # outcome: raw per-run samples in ns per repeat, or per-repeat summaries (ms) when a tool gives no raw runs
    samples_ns: list[list[int]] = field(default_factory=list)
    repeat_summaries: list[dict] = field(default_factory=list)
    latency_ms: float | None = None
    min_ms: float | None = None
    mean_ms: float | None = None
    median_ms: float | None = None
    max_ms: float | None = None
    stddev_ms: float | None = None
    n_samples: int = 0
    protocol_extra: dict = field(default_factory=dict)
    # Counting targets (arm64-emu) measure an exact figure per inference instead of a time: `unit` names it
    # ("instructions"), `counts` holds the exact per-inference integers, `count` the statistic; latency_ms stays None.
    unit: str = "ms"
    counts: list[int] = field(default_factory=list)
    count: int | None = None
    extra: dict = field(default_factory=dict)  # init time, memory, thermal state, op profile, ...
    # context
    git_commit: str | None = None
    bench_version: str = ""
    timestamp: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def flops(self) -> int | None:
        return None if self.macs is None else 2 * self.macs

    def pooled_ms(self) -> np.ndarray:
        """Every raw sample of every repeat, in milliseconds."""
        if not self.samples_ns:
            return np.zeros(0)
        return np.concatenate([np.asarray(r, dtype=float) for r in self.samples_ns]) / NS_PER_MS

    def settings_key(self) -> str:
        # A target that chose its own counts (a farm, a counting emulator) keeps what was asked in extra["asked"]:
        # the cell is what was asked for, so a sweep finds it again.
        asked = (self.extra or {}).get("asked") or {}
        return settings_key(self.artifact_hash, self.target, self.threads, self.protocol,
                            asked.get("warmup", self.warmup), asked.get("runs", self.runs),
                            asked.get("repeats", self.repeats), self.requested_options)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["flops"] = self.flops
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Record":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})

    def summary(self) -> dict:
        """The fields `--json` promises, plus the rest of the scalars."""
        d = self.to_dict()
        d.pop("samples_ns")
        return d


def settings_key(artifact_hash, target, threads, protocol, warmup, runs, repeats, requested_options) -> str:
    """What makes two measurements the same cell: the artifact, where and how it ran (not outcome, not time).
    Known before measuring, so a sweep can skip cells the store already holds."""
    key = [artifact_hash, target, int(threads), protocol, int(warmup), int(runs), int(repeats), requested_options or {}]
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]


COUNT_TOLERANCE = 1e-4  # counts of one artifact on one set-up agree to 0.01%; a wider spread is not a count


def is_counting(record: Record) -> bool:
    return record.unit != "ms"


def figure(record: Record) -> float | None:
    """The record's statistic in its own unit: milliseconds for a timing, the count for a counting record.
    Ratios between records (ablation suites, reports) use this, and only between records of one unit."""
    return record.latency_ms if record.unit == "ms" else record.count


def derive_count_statistics(record: Record) -> Record:
    """A count is deterministic: the first counted inference is the figure, the others only check that.
    Times stay None, so a count is never read as milliseconds."""
    if not record.counts:
        raise ValueError(f"counting record of {record.model} has no counts")
    counts = [int(c) for c in record.counts]
    record.count = counts[0]
    record.latency_ms = record.min_ms = record.mean_ms = record.median_ms = record.max_ms = record.stddev_ms = None
    record.n_samples = len(counts)
    spread = (max(counts) - min(counts)) / min(counts) if min(counts) else 0.0
    record.protocol_extra = {"statistic": f"{record.unit} of the first counted inference", "unit": record.unit,
                             "relative_spread": spread, "deterministic": spread <= COUNT_TOLERANCE,
                             "min": min(counts), "max": max(counts)}
    return record


def derive_statistics(record: Record) -> Record:
    """Fill the statistic and descriptive figures from the raw samples (or per-repeat summaries), or from the
    exact counts of a counting record."""
    if is_counting(record):
        return derive_count_statistics(record)
    protocol = get_protocol(record.protocol)
    if record.samples_ns:
        repeats_ms = [np.asarray(r, dtype=float) / NS_PER_MS for r in record.samples_ns]
        result = protocol.statistic(repeats_ms)
        desc = describe(repeats_ms)
        record.min_ms, record.max_ms = desc["min"], desc["max"]
        record.mean_ms, record.median_ms, record.stddev_ms = desc["mean"], desc["median"], desc["stddev"]
        record.n_samples = desc["n"]
    else:
        result = protocol.statistic_from_summaries(record.repeat_summaries)
        s = record.repeat_summaries
        counts = [int(x.get("count") or 0) for x in s]
        record.n_samples = sum(counts)
        mins, maxes = [x.get("min") for x in s], [x.get("max") for x in s]
        record.min_ms = float(min(mins)) if None not in mins else None  # old logs give averages only
        record.max_ms = float(max(maxes)) if None not in maxes else None
        weights = counts if sum(counts) else [1] * len(s)
        record.mean_ms = float(sum(x["mean"] * w for x, w in zip(s, weights)) / sum(weights))
        medians = [x.get("median") for x in s]
        record.median_ms = float(np.median(medians)) if all(m is not None for m in medians) else None
        stds = [x.get("std") for x in s]
        record.stddev_ms = float(np.sqrt(np.mean(np.square(stds)))) if all(v is not None for v in stds) else None
    record.latency_ms = result.pop("statistic")
    record.protocol_extra = result
    return record


def flat_row(record: Record) -> dict:
    """One tidy CSV row: scalars as they are, nested facts flattened with a prefix, raw samples left out."""
    row = {}
    for key, value in record.summary().items():
        if key == "repeat_summaries":
            continue
        if isinstance(value, dict):
            for k, v in value.items():
                row[f"{key}.{k}"] = json.dumps(v) if isinstance(v, (dict, list)) else v
        elif isinstance(value, list):
            row[key] = json.dumps(value)
        else:
            row[key] = value
    return row
