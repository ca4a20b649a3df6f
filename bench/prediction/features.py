"""Features of one inference's emulated figures, the columns of the prediction's design matrix.

Every feature is a plain number from exact, deterministic figures of a record: the instruction count, the
instruction mix a translation-time plugin counts (record.extra["instruction_mix"]: simd_fp, integer, load, store,
branch, other, summing to the count), the bytes loads and stores name in their encodings
(record.extra["memory_bytes"]: load, store) and the simulated cache misses (record.extra["cache"]["per_inference"]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.core.errors import BenchError

MIX_CLASSES = ("simd_fp", "integer", "load", "store", "branch", "other")


@dataclass(frozen=True)
class Figures:
    """What a count record says about one inference."""

    count: int
    instruction_mix: dict | None = None
    cache: dict | None = None  # per-inference misses: l1d_misses, l2_misses, ...
    memory_bytes: dict | None = None  # bytes loaded and stored per inference: load, store

    @classmethod
    def from_extra(cls, count: int, extra: dict | None) -> "Figures":
        extra = extra or {}
        cache = extra.get("cache")
        if isinstance(cache, dict) and "per_inference" in cache:
            cache = cache["per_inference"]
        return cls(int(count), extra.get("instruction_mix"), cache, extra.get("memory_bytes"))


def _share(name: str):
    return lambda f: _mix(f)[name] / f.count


def _per_kilo(name: str):
    return lambda f: 1000.0 * _cache(f)[name] / f.count


def _mix(f: Figures) -> dict:
    if not f.instruction_mix:
        raise MissingFigures("instruction_mix")
    return f.instruction_mix


def _cache(f: Figures) -> dict:
    if not f.cache:
        raise MissingFigures("cache")
    return f.cache


def _bytes_per_instruction(*names: str):
    return lambda f: sum(_memory(f)[n] for n in names) / f.count


def _memory(f: Figures) -> dict:
    if not f.memory_bytes:
        raise MissingFigures("memory_bytes")
    return f.memory_bytes


# name -> (what it needs, how it is computed)
FEATURES = {
    "log_count": ("count", lambda f: math.log(f.count)),
    **{f"{c}_share": ("instruction_mix", _share(c)) for c in MIX_CLASSES},
    "bytes_per_instruction": ("memory_bytes", _bytes_per_instruction("load", "store")),
    "load_bytes_per_instruction": ("memory_bytes", _bytes_per_instruction("load")),
    "store_bytes_per_instruction": ("memory_bytes", _bytes_per_instruction("store")),
    "l1d_mpki": ("cache", _per_kilo("l1d_misses")),
    "l2_mpki": ("cache", _per_kilo("l2_misses")),
}


class MissingFigures(BenchError):
    def __init__(self, what: str):
        hint = {"instruction_mix": "an arm64-emu run whose emulator counts instruction classes",
                "memory_bytes": "an arm64-emu run whose emulator counts bytes loaded and stored",
                "cache": "an arm64-emu run with --cache-sim"}[what]
        super().__init__(f"this prediction needs the record's {what}, which it lacks; it comes from {hint}")
        self.what = what


def check_names(names) -> None:
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise BenchError(f"unknown prediction feature(s) {', '.join(unknown)}; known: {', '.join(FEATURES)}")


def needs(names) -> set[str]:
    """What figures a feature set needs beyond the count."""
    return {FEATURES[n][0] for n in names} - {"count"}


def row(names, figures: Figures) -> list[float]:
    """One design-matrix row: 1, then each feature."""
    return [1.0] + [FEATURES[n][1](figures) for n in names]
