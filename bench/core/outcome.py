"""What a measurement found: a Timing (milliseconds from raw per-run samples) or a Count (an exact figure per
inference, e.g. instructions on the emulated ARM CPU). Two types, so no reader branches on a unit string.

A target hands back the raw part (samples or counts); `derive(protocol)` fills the statistics, always from the raw
part, so they can be recomputed from a store under any protocol and never re-measured.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np

from bench.core.protocols import Protocol, describe

NS_PER_MS = 1e6
COUNT_TOLERANCE = 1e-4  # counts of one artifact on one set-up agree to 0.01%; a wider spread is not a count


@dataclass
class Timing:
    """Raw per-run samples in ns per repeat, or per-repeat summaries in ms when a tool prints no raw runs
    (benchmark_model); the protocol's statistic and descriptive figures derived from them."""

    samples_ns: list[list[int]] = field(default_factory=list)
    repeat_summaries: list[dict] = field(default_factory=list)
    latency_ms: float | None = None  # the protocol's statistic
    min_ms: float | None = None
    mean_ms: float | None = None
    median_ms: float | None = None
    max_ms: float | None = None
    stddev_ms: float | None = None
    n_samples: int = 0
    protocol_extra: dict = field(default_factory=dict)
    unit: ClassVar[str] = "ms"

    @property
    def figure(self) -> float | None:
        return self.latency_ms

    def shown(self) -> str:
        return "-" if self.latency_ms is None else f"{self.latency_ms:.3f} ms"

    def pooled_ms(self) -> np.ndarray:
        """Every raw sample of every repeat, in milliseconds."""
        if not self.samples_ns:
            return np.zeros(0)
        return np.concatenate([np.asarray(r, dtype=float) for r in self.samples_ns]) / NS_PER_MS

    def derive(self, protocol: Protocol) -> "Timing":
        if self.samples_ns:
            return self._from_samples(protocol)
        return self._from_summaries(protocol)

    def _from_samples(self, protocol: Protocol) -> "Timing":
        repeats_ms = [np.asarray(r, dtype=float) / NS_PER_MS for r in self.samples_ns]
        result = protocol.statistic(repeats_ms)
        desc = describe(repeats_ms)
        return replace(self, latency_ms=result.pop("statistic"), min_ms=desc["min"], max_ms=desc["max"],
                       mean_ms=desc["mean"], median_ms=desc["median"], stddev_ms=desc["stddev"], n_samples=desc["n"],
                       protocol_extra=result)

    def _from_summaries(self, protocol: Protocol) -> "Timing":
        s = self.repeat_summaries
        result = protocol.statistic_from_summaries(s)
        counts = [int(x.get("count") or 0) for x in s]
        mins, maxes = [x.get("min") for x in s], [x.get("max") for x in s]
        weights = counts if sum(counts) else [1] * len(s)
        medians, stds = [x.get("median") for x in s], [x.get("std") for x in s]
        return replace(
            self, latency_ms=result.pop("statistic"), protocol_extra=result, n_samples=sum(counts),
            min_ms=float(min(mins)) if None not in mins else None,  # old logs give averages only
            max_ms=float(max(maxes)) if None not in maxes else None,
            mean_ms=float(sum(x["mean"] * w for x, w in zip(s, weights)) / sum(weights)),
            median_ms=float(np.median(medians)) if None not in medians else None,
            stddev_ms=float(np.sqrt(np.mean(np.square(stds)))) if None not in stds else None)

    def fields(self) -> dict:
        """The flat fields a record's JSON and CSV carry (the same keys for both outcomes)."""
        return {"samples_ns": self.samples_ns, "repeat_summaries": self.repeat_summaries,
                "latency_ms": self.latency_ms, "min_ms": self.min_ms, "mean_ms": self.mean_ms,
                "median_ms": self.median_ms, "max_ms": self.max_ms, "stddev_ms": self.stddev_ms,
                "n_samples": self.n_samples, "protocol_extra": self.protocol_extra, "unit": self.unit, "counts": [],
                "count": None}


@dataclass
class Count:
    """Exact figures per inference (deterministic): the first counted inference is the figure, the others only
    check that they agree. No milliseconds: a count is never read as a time."""

    unit: str = "instructions"
    counts: list[int] = field(default_factory=list)
    count: int | None = None
    n_samples: int = 0
    protocol_extra: dict = field(default_factory=dict)

    @property
    def figure(self) -> int | None:
        return self.count

    def shown(self) -> str:
        return "-" if self.count is None else f"{int(self.count):,} {self.unit}"

    def derive(self, protocol: Protocol | None = None) -> "Count":
        if not self.counts:
            raise ValueError(f"a count in {self.unit} has no counted inferences")
        counts = [int(c) for c in self.counts]
        spread = (max(counts) - min(counts)) / min(counts) if min(counts) else 0.0
        return replace(self, counts=counts, count=counts[0], n_samples=len(counts), protocol_extra={
            "statistic": f"{self.unit} of the first counted inference", "unit": self.unit, "relative_spread": spread,
            "deterministic": spread <= COUNT_TOLERANCE, "min": min(counts), "max": max(counts)})

    def fields(self) -> dict:
        return {"samples_ns": [], "repeat_summaries": [], "latency_ms": None, "min_ms": None, "mean_ms": None,
                "median_ms": None, "max_ms": None, "stddev_ms": None, "n_samples": self.n_samples,
                "protocol_extra": self.protocol_extra, "unit": self.unit, "counts": self.counts, "count": self.count}


Outcome = Timing | Count
OUTCOME_FIELDS = tuple(Timing().fields())


def outcome_from_fields(d: dict) -> Outcome:
    """The one place a flat record (JSON, CSV, an older store) is told apart: by its unit."""
    unit = d.get("unit") or "ms"
    if unit == Timing.unit:
        return Timing(samples_ns=d.get("samples_ns") or [], repeat_summaries=d.get("repeat_summaries") or [],
                      latency_ms=d.get("latency_ms"), min_ms=d.get("min_ms"), mean_ms=d.get("mean_ms"),
                      median_ms=d.get("median_ms"), max_ms=d.get("max_ms"), stddev_ms=d.get("stddev_ms"),
                      n_samples=int(d.get("n_samples") or 0), protocol_extra=d.get("protocol_extra") or {})
    count = d.get("count")
    return Count(unit=unit, counts=[int(c) for c in d.get("counts") or []],
                 count=None if count is None else int(count), n_samples=int(d.get("n_samples") or 0),
                 protocol_extra=d.get("protocol_extra") or {})
