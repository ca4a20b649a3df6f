"""The one result record. Every exporter of results (table, JSON, CSV, reports, compare) reads only this.

Identity (what ran), place (where), method (how) and outcome (a Timing or a Count, bench/core/outcome.py).
One builder, `build_record`, turns what a target or an importer measured into a Record; statistics are derived from
the raw part of the outcome, never re-measured.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt
import hashlib
import json
import uuid
from dataclasses import dataclass, field

from bench.core.measurement import Measurement
from bench.core.outcome import (COUNT_TOLERANCE, NS_PER_MS, OUTCOME_FIELDS, Count, Outcome, Timing,
                                outcome_from_fields)
from bench.core.protocols import Protocol, get_protocol
from bench.core.version import __version__, git_commit

__all__ = ["COUNT_TOLERANCE", "NS_PER_MS", "Count", "Record", "Subject", "Timing", "build_record",
           "derive_statistics", "flat_row", "settings_key"]


SUBJECT = {"subject": True}  # metadata of the fields that say what ran (Subject)


@dataclass
class Record:
    # identity
    model: str = field(metadata=SUBJECT)
    resolution: int = field(metadata=SUBJECT)
    format: str = field(metadata=SUBJECT)
    precision: str = field(metadata=SUBJECT)
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
    params: int | None = field(default=None, metadata=SUBJECT)
    macs: int | None = field(default=None, metadata=SUBJECT)
    memory_traffic: int | None = field(default=None, metadata=SUBJECT)  # bytes one inference moves (graph_traffic)
    input_kind: str = field(default="tensor", metadata=SUBJECT)
    artifact_path: str = field(default="", metadata=SUBJECT)
    artifact_hash: str = field(default="", metadata=SUBJECT)
    artifact_bytes: int | None = field(default=None, metadata=SUBJECT)
    export_s: float | None = field(default=None, metadata=SUBJECT)
    parity: dict = field(default_factory=dict, metadata=SUBJECT)
    artifact_facts: dict = field(default_factory=dict, metadata=SUBJECT)  # e.g. Core ML spec facts
    options: dict = field(default_factory=dict)  # runner flags as run: delegate, affinity, ...
    requested_options: dict = field(default_factory=dict)  # what the user asked for (part of the cell's identity)
    device: dict = field(default_factory=dict)  # facts of the machine that ran it
    host: dict = field(default_factory=dict)  # facts of the machine that drove it
    # outcome: a Timing (raw samples, the protocol's statistic) or a Count (exact per-inference figures)
    outcome: Outcome = field(default_factory=Timing)
    extra: dict = field(default_factory=dict)  # init time, memory, thermal state, op profile, ...
    # Phone milliseconds predicted from a count (bench/prediction), one per phone asked for: each labelled
    # "predicted", with its calibration and error band; never a measured time.
    predictions: list[dict] = field(default_factory=list)
    # context
    git_commit: str | None = None
    bench_version: str = ""
    timestamp: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def flops(self) -> int | None:
        return None if self.macs is None else 2 * self.macs

    @property
    def figure(self) -> float | int | None:
        """The statistic in the outcome's own unit: milliseconds for a timing, the count for a counting record.
        Ratios between records (ablation suites, reports) use this, and only between records of one unit."""
        return self.outcome.figure

    def shown(self) -> str:
        """The statistic with its unit: "4.780 ms" or "45,069,949 instructions"."""
        return self.outcome.shown()

    def pooled_ms(self):
        return self.outcome.pooled_ms() if isinstance(self.outcome, Timing) else Timing().pooled_ms()

    def settings_key(self) -> str:
        # A target that chose its own counts (a farm, a counting emulator) keeps what was asked in extra["asked"]:
        # the cell is what was asked for, so a sweep finds it again.
        asked = (self.extra or {}).get("asked") or {}
        return settings_key(self.artifact_hash, self.target, self.threads, self.protocol,
                            asked.get("warmup", self.warmup), asked.get("runs", self.runs),
                            asked.get("repeats", self.repeats), self.requested_options)

    def to_dict(self) -> dict:
        """Flat and stable: the outcome's fields sit beside the others, as every earlier release wrote them."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "outcome"}
        d = copy.deepcopy({**d, **self.outcome.fields()})
        d["flops"] = self.flops
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Record":
        names = {f.name for f in dataclasses.fields(cls)} - {"outcome"}
        return cls(**{k: v for k, v in d.items() if k in names}, outcome=outcome_from_fields(d))

    def summary(self) -> dict:
        """The fields `--json` promises, plus the rest of the scalars."""
        d = self.to_dict()
        d.pop("samples_ns")
        return d


def _outcome_view(name: str):
    # Read-only views, so a reader asks `record.latency_ms` without knowing which outcome it holds: a Count has no
    # milliseconds (None) and a Timing no count.
    empty = Timing().fields()[name]
    return property(lambda self: self.outcome.fields().get(name, empty), doc=f"the outcome's {name}")


for _name in OUTCOME_FIELDS:
    setattr(Record, _name, _outcome_view(_name))


def _subject_field(f: dataclasses.Field) -> tuple:
    default = {"default": f.default} if f.default is not dataclasses.MISSING else {}
    if f.default_factory is not dataclasses.MISSING:
        default = {"default_factory": f.default_factory}
    return f.name, f.type, field(**default)


# What ran: the model's identity and facts (an exported artifact, a user's file, or what an import names). Its fields
# are the Record's marked SUBJECT, declared there once; build_record copies them into the record.
Subject = dataclasses.make_dataclass("Subject", [_subject_field(f) for f in dataclasses.fields(Record)
                                                 if f.metadata.get("subject")], frozen=True)
Subject.__module__ = __name__  # pickled by reference, like a class written here


def settings_key(artifact_hash, target, threads, protocol, warmup, runs, repeats, requested_options) -> str:
    """What makes two measurements the same cell: the artifact, where and how it ran (not outcome, not time).
    Known before measuring, so a sweep can skip cells the store already holds."""
    key = [artifact_hash, target, int(threads), protocol, int(warmup), int(runs), int(repeats), requested_options or {}]
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:32]


def derive_statistics(record: Record) -> Record:
    """Fill the statistics from the raw samples (or per-repeat summaries), or from the exact counts, under the
    record's protocol."""
    record.outcome = record.outcome.derive(get_protocol(record.protocol))
    return record


def build_record(subject: Subject, target: str, protocol: Protocol, measurement: Measurement, *, threads: int,
                 requested_options: dict | None = None, host: dict | None = None) -> Record:
    """The one way a Record is made: from what ran (subject), where (target), how (protocol) and what was found
    (measurement). `host` is the driving machine's facts; None for an import, which measured nothing here."""
    ran = measurement.ran
    asked = {"warmup": protocol.warmup, "runs": protocol.runs, "repeats": protocol.repeats}
    record = Record(
        **dataclasses.asdict(subject),
        target=target, runtime=measurement.runtime, runtime_version=measurement.runtime_version,
        threads=threads, protocol=protocol.name,
        # A target that chooses its own counts (a device farm, a counting emulator, a log) says what it really ran.
        warmup=ran.get("warmup", protocol.warmup), runs=ran.get("runs", protocol.runs),
        repeats=ran.get("repeats", protocol.repeats),
        options=measurement.options, requested_options=dict(requested_options or {}), device=measurement.device,
        host=host or {}, outcome=measurement.outcome.derive(protocol),
        extra={**({"imported": True} if host is None else {}), **measurement.extra,
               **({"asked": asked} if ran and host is not None else {})},
        git_commit=git_commit() if host is not None else None, bench_version=__version__,
    )
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
    for p in record.predictions:  # a column per phone, named as predicted, beside the count it came from
        row[f"predicted_ms.{p['phone']}"] = p["predicted_ms"]
    return row
