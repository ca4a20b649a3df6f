"""Measurement protocols: how many runs to take, and the statistic reported. Pure functions of raw samples.

A protocol's samples are a list of repeats, each a sequence of per-run latencies (any unit; the result has the
same unit). Tools that print only per-repeat summaries (TFLite's benchmark_model) use `from_summaries`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from bench.core.errors import BenchError, UnknownChoice

Repeats = Sequence[Sequence[float]]


def minimum(repeats: Repeats) -> dict:
    """MobileOne: the minimum over all runs filters out interference from other processes."""
    return {"statistic": float(min(np.min(r) for r in repeats))}


def median_of_means(repeats: Repeats) -> dict:
    """MobileNetV4 (appendix B): the median over repeats of each repeat's mean."""
    means = [float(np.mean(r)) for r in repeats]
    return {"statistic": float(np.median(means)), "repeat_means": means}


def trimmed_rounds(repeats: Repeats, trim_fraction: float = 0.2) -> dict:
    """Apple's ModelBench: per round drop the lowest and highest 20% (10 of 50), average the rest;
    report the mean of the round means and the low/high of the kept values."""
    round_means, lows, highs = [], [], []
    for r in repeats:
        values = np.sort(np.asarray(r, dtype=float))
        cut = int(round(len(values) * trim_fraction))
        kept = values[cut : len(values) - cut] if len(values) > 2 * cut else values
        round_means.append(float(kept.mean()))
        lows.append(float(kept[0]))
        highs.append(float(kept[-1]))
    return {"statistic": float(np.mean(round_means)), "low": min(lows), "high": max(highs), "round_means": round_means}


def _min_from_summaries(summaries: Sequence[dict]) -> dict:
    return {"statistic": float(min(s["min"] for s in summaries))}


def _median_of_means_from_summaries(summaries: Sequence[dict]) -> dict:
    means = [float(s["mean"]) for s in summaries]
    return {"statistic": float(np.median(means)), "repeat_means": means}


@dataclass(frozen=True)
class Protocol:
    name: str
    description: str
    warmup: int
    runs: int  # timed runs per repeat
    repeats: int
    summarize: Callable[[Repeats], dict] = dataclasses.field(repr=False, compare=False)
    from_summaries: Callable[[Sequence[dict]], dict] | None = dataclasses.field(default=None, repr=False, compare=False)

    def with_overrides(self, *, warmup: int | None = None, runs: int | None = None, repeats: int | None = None):
        changed = dataclasses.replace(
            self,
            warmup=self.warmup if warmup is None else warmup,
            runs=self.runs if runs is None else runs,
            repeats=self.repeats if repeats is None else repeats,
        )
        if changed.runs < 1:
            raise BenchError(f"--runs must be at least 1 (got {changed.runs})")
        if changed.repeats < 1:
            raise BenchError(f"--repeats must be at least 1 (got {changed.repeats})")
        if changed.warmup < 0:
            raise BenchError(f"--warmup must be 0 or more (got {changed.warmup})")
        return changed

    def statistic(self, repeats: Repeats) -> dict:
        if not repeats or any(len(r) == 0 for r in repeats):
            raise BenchError(f"protocol {self.name}: no samples to summarise")
        return self.summarize(repeats)

    def statistic_from_summaries(self, summaries: Sequence[dict]) -> dict:
        if self.from_summaries is None:
            raise BenchError(
                f"protocol {self.name} needs raw per-run samples, which this tool does not give; "
                f"use one of: {', '.join(p.name for p in PROTOCOLS.values() if p.from_summaries)}"
            )
        return self.from_summaries(summaries)


PROTOCOLS: dict[str, Protocol] = {
    p.name: p
    for p in (
        Protocol("mobileone", "min of 1000 runs (MobileOne paper)", 100, 1000, 1, minimum, _min_from_summaries),
        Protocol(
            "mnv4",
            "median of 5 means of 1000 runs (MobileNetV4, appendix B)",
            100,
            1000,
            5,
            median_of_means,
            _median_of_means_from_summaries,
        ),
        Protocol(
            "modelbench",
            "20 rounds of 50 runs, trimmed mean of 30 per round (Apple ModelBench)",
            10,
            50,
            20,
            trimmed_rounds,
        ),
    )
}
DEFAULT_PROTOCOL = "mobileone"


def get_protocol(name: str) -> Protocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise UnknownChoice("protocol", name, PROTOCOLS) from None


def protocol_for(target, name: str | None = None, **overrides) -> Protocol:
    """The protocol asked for, else the target's own (the way papers measured on that kind of device)."""
    return get_protocol(name or getattr(target, "default_protocol", DEFAULT_PROTOCOL)).with_overrides(**overrides)


def describe(samples: Repeats) -> dict:
    """Plain descriptive statistics over all runs pooled."""
    pooled = np.concatenate([np.asarray(r, dtype=float) for r in samples])
    return {
        "min": float(pooled.min()),
        "max": float(pooled.max()),
        "mean": float(pooled.mean()),
        "median": float(np.median(pooled)),
        "stddev": float(pooled.std(ddof=1)) if len(pooled) > 1 else 0.0,
        "n": int(len(pooled)),
    }
