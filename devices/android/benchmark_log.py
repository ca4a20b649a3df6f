"""Parser for TFLite `benchmark_model` output, every format known to exist.

Handles lines with or without an `INFO: ` prefix and with a logcat prefix (benchmark APK); `count=` lines with or
without ` p5=.. median=.. p95=..`; averages in scientific notation; `count=N curr=X(all same)`; the 2018-era
`Average inference timings in us: Warmup: .., Init: .., Inference: ..`; both memory lines. Times in the log are in
microseconds; the parsed result is in milliseconds. A log that ends before the measured phase is an error.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from bench.core.errors import InputDataError

_LOGCAT = re.compile(r"^\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+\s+\d+\s+\d+\s+[VDIWEF]\s+[^:]*:\s?")
_LEVEL = re.compile(r"^(?:INFO|WARNING|ERROR|VERBOSE|DEBUG): ")
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_KV = re.compile(rf"(\w+)=({_NUMBER})")
_ALL_SAME = re.compile(rf"^count=(\d+) curr=({_NUMBER})\(all same\)")
_RUNNING = re.compile(r"Running benchmark for at least (\d+) iterations")
_INFERENCE_TIMINGS = re.compile(r"^Inference timings in us: (.*)$")
_AVERAGE_2018 = re.compile(r"^Average inference timings in us: (.*)$")
_INIT_SESSION = re.compile(rf"Initialized session in ({_NUMBER})\s*ms")
_MEMORY = re.compile(
    rf"^(Peak memory footprint|Memory footprint delta from the start of the tool) \(MB\): "
    rf"init=({_NUMBER}) overall=({_NUMBER})"
)
US_PER_MS = 1000.0


@dataclass
class PhaseStats:
    count: int
    min_ms: float | None = None
    max_ms: float | None = None
    avg_ms: float | None = None
    std_ms: float | None = None
    first_ms: float | None = None
    p5_ms: float | None = None
    median_ms: float | None = None
    p95_ms: float | None = None

    def summary(self) -> dict:
        """The per-repeat summary a record stores (protocols read min and mean)."""
        return {"count": self.count, "min": self.min_ms, "max": self.max_ms, "mean": self.avg_ms,
                "std": self.std_ms, "median": self.median_ms, "p5": self.p5_ms, "p95": self.p95_ms,
                "first": self.first_ms}


@dataclass
class BenchmarkLog:
    measured: PhaseStats
    warmup: PhaseStats | None = None
    init_ms: float | None = None
    first_inference_ms: float | None = None
    requested_runs: int | None = None
    memory: dict = field(default_factory=dict)
    op_profile: list[str] = field(default_factory=list)
    format: str = "count-lines"

    def to_json(self) -> dict:
        m = self.measured
        return {
            "count": m.count, "min_ms": m.min_ms, "avg_ms": m.avg_ms, "max_ms": m.max_ms, "std_ms": m.std_ms,
            "p5_ms": m.p5_ms, "median_ms": m.median_ms, "p95_ms": m.p95_ms, "init_ms": self.init_ms,
            "first_inference_ms": self.first_inference_ms, "memory": self.memory,
            "warmup": asdict(self.warmup) if self.warmup else None, "format": self.format,
        }


def strip_prefix(line: str) -> str:
    line = line.rstrip("\r\n")
    line = _LOGCAT.sub("", line)
    return _LEVEL.sub("", line).strip()


def _ms(values: dict, key: str):
    return float(values[key]) / US_PER_MS if key in values else None


def _phase(line: str) -> PhaseStats | None:
    same = _ALL_SAME.match(line)
    if same:
        value = float(same.group(2)) / US_PER_MS
        return PhaseStats(int(same.group(1)), value, value, value, 0.0, value, value, value, value)
    if not line.startswith("count="):
        return None  # "Timings (microseconds): count=..." lines of the op profile are not phases
    values = dict(_KV.findall(line))
    return PhaseStats(
        count=int(float(values["count"])),
        min_ms=_ms(values, "min"), max_ms=_ms(values, "max"), avg_ms=_ms(values, "avg"), std_ms=_ms(values, "std"),
        first_ms=_ms(values, "first"), p5_ms=_ms(values, "p5"), median_ms=_ms(values, "median"),
        p95_ms=_ms(values, "p95"),
    )


def _fields(text: str) -> dict[str, float]:
    out = {}
    for part in text.split(","):
        if ":" in part:
            key, _, value = part.partition(":")
            try:
                out[key.strip()] = float(value.strip())
            except ValueError:
                continue
    return out


def parse(text: str, source: str = "benchmark_model output") -> BenchmarkLog:
    phases: list[PhaseStats] = []
    running: list[int] = []
    timings: dict[str, float] = {}
    average_2018: dict[str, float] = {}
    init_ms = None
    memory: dict = {}
    op_profile: list[str] = []
    in_profile = False
    for raw in text.splitlines():
        line = strip_prefix(raw)
        if not line:
            continue
        if in_profile or "Operator-wise Profiling Info" in line or line.startswith("=============================="):
            in_profile = True
            op_profile.append(line)
            continue
        if m := _RUNNING.search(line):
            running.append(int(m.group(1)))
        elif phase := _phase(line):
            phases.append(phase)
        elif m := _INFERENCE_TIMINGS.match(line):
            timings = _fields(m.group(1))
        elif m := _AVERAGE_2018.match(line):
            average_2018 = _fields(m.group(1))
        elif m := _INIT_SESSION.search(line):
            init_ms = float(m.group(1))
        elif m := _MEMORY.match(line):
            kind = "peak" if line.startswith("Peak") else "delta"
            memory[f"{kind}_init_mb"], memory[f"{kind}_overall_mb"] = float(m.group(2)), float(m.group(3))

    if timings.get("Init") is not None:
        init_ms = timings["Init"] / US_PER_MS
    first = timings.get("First inference")
    # benchmark_model always runs a warm-up phase, then the measured one: a single count line without the closing
    # "Inference timings" line is a warm-up whose measured phase never finished.
    if len(phases) >= 2 or (phases and timings):
        measured = phases[-1]
        warmup = phases[-2] if len(phases) >= 2 else None
        return BenchmarkLog(
            measured=measured, warmup=warmup, init_ms=init_ms,
            first_inference_ms=first / US_PER_MS if first is not None else (warmup.first_ms if warmup else None),
            requested_runs=running[-1] if running else None, memory=memory, op_profile=op_profile,
        )
    if average_2018.get("Inference") is not None:
        measured = PhaseStats(count=0, avg_ms=average_2018["Inference"] / US_PER_MS)
        warm = average_2018.get("Warmup")
        return BenchmarkLog(
            measured=measured, warmup=PhaseStats(count=0, avg_ms=warm / US_PER_MS) if warm is not None else None,
            init_ms=average_2018["Init"] / US_PER_MS if "Init" in average_2018 else init_ms,
            memory=memory, op_profile=op_profile, format="2018-average",
        )
    if running or phases:
        raise InputDataError(f"{source}: log stops before the measured phase finished (crash?); no measured stats")
    raise InputDataError(f"{source}: no benchmark_model timings found (is this a benchmark_model log?)")
