"""Parser for TFLite `benchmark_model` output, in every format seen in real logs (tests/data/android/SOURCES.md).

Lines may carry an `INFO: ` level, a logcat prefix (`adb logcat` threadtime or brief, Android Studio's
`2023-06-14 10:55:21.084 18088-18088 tflite  org.tensorflow.lite.benchmark  I  `) or markdown indentation.
Timings come as `count=` lines (`min/max/avg/std`, optionally `p5/median/p95`; `count=1 curr=X` for one run;
`count=N curr=X(all same)`), or only as a summary: `Inference timings in us: Init: .., First inference: ..,
Warmup (avg): .., Inference (avg): ..` or the 2018/2019 `Average inference timings in us: Warmup: .., Init: ..,
Inference|no stats: ..`. A log may hold several runs (several invocations pasted together).

Every count line is checked whole: numbers complete, min <= avg <= max, the measured count at least what the run
asked for. A log cut mid-line, garbled or binary is one InputDataError naming the file and the line. Times in the log
are microseconds; the parsed result is milliseconds.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from bench.core.errors import InputDataError

US_PER_MS = 1000.0
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_PREFIXES = (
    # Android Studio's logcat: date time pid-tid tag package level
    re.compile(r"^\d{4}-\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+\s+\d+-\d+\s+\S+\s+\S+\s+([VDIWEFA])\s+"),
    # adb logcat threadtime: date time pid tid level tag:
    re.compile(r"^(?:\d{4}-)?\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+\s+\d+\s+\d+\s+([VDIWEFA])\s+[^:]*?\s*:\s?"),
    # adb logcat brief / time: [date time] level/tag(pid):
    re.compile(r"^(?:\d\d-\d\d\s+\d\d:\d\d:\d\d\.\d+\s+)?([VDIWEFA])/[^(:]+\(\s*\d+\):\s?"),
    # absl / glog: I0614 10:55:21.084123   18088 benchmark_tflite_model.cc:123]
    re.compile(r"^([IWEF])\d{4}\s+\d\d:\d\d:\d\d\.\d+\s+\d+\s+[\w./-]+:\d+\]\s?"),
)
_QUOTE = re.compile(r"^(?:>\s?)+")  # a log quoted in an issue thread
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # colored logcat
_LEVEL = re.compile(r"^(INFO|WARNING|ERROR|VERBOSE|DEBUG|FATAL): ")
_ALL_SAME = re.compile(rf"^count=(\d+) curr=({_NUM})\(all same\)$")
_RUNNING = re.compile(r"Running benchmark for at least (\d+) iterations")
_SUMMARY = re.compile(r"^Inference timings in us: (.*)$")
_AVERAGE_OLD = re.compile(r"^Average inference timings in us: (.*)$")
_INIT_SESSION = re.compile(rf"^Initialized session in ({_NUM})\s*ms")
_MEMORY = re.compile(rf"^(Peak memory footprint|Memory footprint delta from the start of the tool) \(MB\): "
                     rf"init=({_NUM}) overall=({_NUM})")
_PEAK_PERIODIC = re.compile(rf"^Overall peak memory footprint \(MB\) via periodic monitoring: ({_NUM})")
_PARAM = re.compile(r"^([A-Za-z#][^:\[\]=]*?)\s*:\s*\[(.*)\]$")
_FLAG = re.compile(r"--(\w+)=(\S+)")
_APPLIED = re.compile(r"(?:Explicitly )?[Aa]pplied (\S+) delegate,? and the model graph will be (completely|partially)"
                      r" executed (?:by|w/) the delegate(?: w/ (\d+) delegate kernels)?")
_NOT_APPLIED = re.compile(r"Though (\S+) delegate is explicitly applied, the model graph will not be executed")
_GPU_KERNELS = re.compile(r"Created (\d+) GPU delegate kernels")
_REPLACING = re.compile(r"Replacing (\d+)(?: out of (\d+))? node\(s\) with delegate \((\w+)\) node, yielding (\d+)")
_VERSION = re.compile(r"^(?:The )?(?:TFLite|TensorFlow Lite|LiteRT)(?: runtime)? version:?\s*\[?([\w.+-]+)\]?", re.I)
_FAILURE = re.compile(r"Benchmarking failed|Failed to apply \S+ delegate|failed to prepare|Segmentation fault"
                      r"|^Aborted|^FATAL|Fatal signal|Failed to (?:allocate|invoke|construct)", re.I)
_PROFILE_START = ("Operator-wise Profiling Info", "Profiling Info for Benchmark", "==============================")
# Lines that belong to a run; after a run's summary line, one of these starts the next run.
_RUN_OPENERS = ("Loaded model", "Explicitly applied", "Initialized session", "Running benchmark", "count=",
                "Inference timings in us", "Average inference timings", "The input model file size")


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
    params: dict = field(default_factory=dict)  # "Num threads: [4]" lines, as printed
    flags: dict = field(default_factory=dict)  # --name=value of a command line in the log
    delegation: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    version: str | None = None
    run: int = 1  # which run of the log this is (1-based)
    runs_in_log: int = 1

    @property
    def threads(self) -> int | None:
        for value in (self.params.get("Num threads"), self.params.get("#threads used for CPU inference"),
                      self.flags.get("num_threads")):
            if value is not None and re.fullmatch(r"-?\d+", str(value)):
                return int(value)
        return None

    @property
    def delegate(self) -> str | None:
        """The delegate the log says ran: explicitly applied, asked for by a flag, or XNNPACK by default."""
        if self.delegation.get("delegate"):
            return self.delegation["delegate"].lower()
        for name in ("gpu", "nnapi", "hexagon", "xnnpack", "coreml"):
            asked = {self.params.get(f"Use {name}"), self.params.get(f"Use {name.upper()}"),
                     self.params.get(f"Use {name.capitalize()}"), self.flags.get(f"use_{name}")}
            if asked & {"1", "true"}:
                return name
        return "xnnpack" if self.delegation.get("xnnpack_created") else None

    @property
    def op_profiling(self) -> bool:
        return bool(self.op_profile) or self.params.get("Enable op profiling") == "1" or \
            self.flags.get("enable_op_profiling") == "true"

    def failure(self) -> str | None:
        return next((e for e in self.errors if _FAILURE.search(e)), None)

    def to_json(self) -> dict:
        m = self.measured
        return {
            "count": m.count, "min_ms": m.min_ms, "avg_ms": m.avg_ms, "max_ms": m.max_ms, "std_ms": m.std_ms,
            "p5_ms": m.p5_ms, "median_ms": m.median_ms, "p95_ms": m.p95_ms, "init_ms": self.init_ms,
            "first_inference_ms": self.first_inference_ms, "memory": self.memory,
            "warmup": asdict(self.warmup) if self.warmup else None, "format": self.format,
            "requested_runs": self.requested_runs, "threads": self.threads, "delegate": self.delegate,
            "delegation": self.delegation, "errors": self.errors, "version": self.version,
            "op_profiling": self.op_profiling, "run": self.run, "runs_in_log": self.runs_in_log,
        }


class SeveralRuns(InputDataError):
    def __init__(self, source: str, count: int):
        self.count = count
        super().__init__(f"{source} holds {count} benchmark_model runs; choose one with --run N (1 to {count})")


# ---------------------------------------------------------------- lines


def _decode(raw: bytes) -> str | None:
    """Text of a log saved as UTF-8 or as UTF-16 (PowerShell's `>` writes UTF-16LE); None for binary data."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", "replace")
    sample = raw[:65536]
    if len(sample) > 8 and sample[1::2].count(0) > 0.4 * len(sample[1::2]) and sample[0::2].count(0) == 0:
        return raw.decode("utf-16-le", "replace")
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13, 27))  # 27: ESC of colored output
    if b"\0" in sample or controls > len(sample) // 100:
        return None
    return raw.decode("utf-8-sig", "replace")


def check_text(data: bytes | str, source: str) -> str:
    """The log as text, or one clear error for empty or binary input."""
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    text = _decode(raw)
    if text is None:
        raise InputDataError(f"{source} is binary data, not a benchmark_model log (text output of the tool)")
    if not text.strip():
        raise InputDataError(f"{source} is empty; expected benchmark_model's output")
    return text


def strip_prefix(line: str) -> tuple[str, str]:
    """(level, text) without logcat / INFO: prefixes; level is '' when the line has none."""
    line = _QUOTE.sub("", _ANSI.sub("", line.rstrip("\r\n")).strip())
    level = ""
    for pattern in _PREFIXES:
        if m := pattern.match(line):
            level, line = m.group(1), line[m.end():]
            break
    if m := _LEVEL.match(line):
        level, line = level or m.group(1)[0], line[m.end():]
    return level, line.strip()


def _lines(text: str) -> list[tuple[int, str, str]]:
    """(line number, level, text), with shell continuation lines (ending in a backslash) joined."""
    out: list[tuple[int, str, str]] = []
    pending = None
    for number, raw in enumerate(text.splitlines(), 1):
        level, line = strip_prefix(raw)
        if pending is not None:
            pending = (pending[0], pending[1], pending[2] + " " + line)
        else:
            pending = (number, level, line)
        if not pending[2].endswith("\\"):
            out.append(pending)
            pending = None
        else:
            pending = (pending[0], pending[1], pending[2][:-1].rstrip())
    if pending is not None:
        out.append(pending)
    return [entry for entry in out if entry[2]]


def _is_command(line: str) -> bool:
    return bool(re.search(r"benchmark[_-]model\S*\s", line + " ")) and "--" in line


def _has_timings(segment) -> bool:
    return any(t.startswith("count=") or _SUMMARY.match(t) or _AVERAGE_OLD.match(t) or _RUNNING.search(t)
               for _, _, t in segment)


def split_runs(text: str) -> list[list[tuple[int, str, str]]]:
    """The log's runs: a run starts at STARTING! or a benchmark_model command line, or at run output that follows
    another run's summary line. Segments without timings (a banner, a failed start) are kept for their errors."""
    segments: list[list] = [[]]
    summarized = profiling = False
    for entry in _lines(text):
        line = entry[2]
        opens = line.startswith("STARTING!") or _is_command(line)
        follows = summarized and not profiling and line.startswith(_RUN_OPENERS)
        if (opens and _has_timings(segments[-1])) or follows:
            segments.append([])
            summarized = profiling = False
        elif opens:
            profiling = False
        if line.startswith(_PROFILE_START):
            profiling = True
        if _SUMMARY.match(line) or _AVERAGE_OLD.match(line):
            summarized = True
        segments[-1].append(entry)
    return segments


# ---------------------------------------------------------------- one run


def _number(value: str, where: str, key: str) -> float:
    if not re.fullmatch(_NUM, value):
        raise InputDataError(f"{where}: '{key}={value}' is not a number (garbled or cut line)")
    return float(value)


def _phase(line: str, where: str) -> PhaseStats:
    """A `count=` line, checked whole."""
    if same := _ALL_SAME.match(line):
        v = float(same.group(2)) / US_PER_MS
        return PhaseStats(int(same.group(1)), v, v, v, 0.0, v, v, v, v)
    if line == "count=0":  # a phase of zero runs (--warmup_runs=0)
        return PhaseStats(0)
    values = {}
    for token in line.split():
        key, eq, value = token.partition("=")
        if not eq or not re.fullmatch(r"\w+", key):
            raise InputDataError(f"{where}: garbled count line: {line[:100]!r}")
        values[key] = _number(value, where, key)
    count = values.pop("count")
    if count != int(count) or count < 1:
        raise InputDataError(f"{where}: count={count:g} is not a run count: {line[:100]!r}")
    if count == 1 and "min" not in values and "curr" in values:  # one run: newer builds print only curr (+ pcts)
        values = {**{k: values["curr"] for k in ("min", "max", "avg", "first")}, "std": 0.0, **values}
    missing = [k for k in ("min", "max", "avg", "std") if k not in values]
    pcts = [k for k in ("p5", "median", "p95") if k in values]
    if missing or 0 < len(pcts) < 3:
        absent = missing + [k for k in ("p5", "median", "p95") if pcts and k not in values]
        raise InputDataError(f"{where}: count line is incomplete (no {', '.join(absent)}; log cut mid-line?): "
                             f"{line[:100]!r}")
    _check_order(values, where, line)
    ms = {k: v / US_PER_MS for k, v in values.items()}
    return PhaseStats(int(count), ms["min"], ms["max"], ms["avg"], ms["std"], ms.get("first"), ms.get("p5"),
                      ms.get("median"), ms.get("p95"))


def _check_order(v: dict, where: str, line: str) -> None:
    slack = max(1.0, 1e-5 * abs(v["max"]))  # averages are printed to 6 significant digits
    inside = [v[k] for k in ("avg", "first", "curr", "p5", "median", "p95") if k in v]
    ordered = [v[k] for k in ("p5", "median", "p95") if k in v]
    if (min(v.values()) < 0 or v["min"] > v["max"] or any(x < v["min"] - slack or x > v["max"] + slack for x in inside)
            or ordered != sorted(ordered)):
        raise InputDataError(f"{where}: count line is not consistent (needs min <= avg <= max; log cut mid-number?): "
                             f"{line[:100]!r}")


def _fields(text: str, where: str) -> dict[str, float]:
    out = {}
    for part in text.split(","):
        key, colon, value = part.partition(":")
        if not colon or not value.strip():
            raise InputDataError(f"{where}: garbled summary line (cut short?): {text[:100]!r}")
        if value.strip().lower().lstrip("+-") in ("nan", "inf"):  # an empty phase's average (no warm-up runs)
            continue
        out[key.strip()] = _number(value.strip(), where, key.strip())
    return out


@dataclass
class _Run:
    phases: list = field(default_factory=list)  # (PhaseStats, where)
    running: list = field(default_factory=list)
    summary: dict = field(default_factory=dict)
    average_old: dict = field(default_factory=dict)
    init_ms: float | None = None
    memory: dict = field(default_factory=dict)
    op_profile: list = field(default_factory=list)
    params: dict = field(default_factory=dict)
    flags: dict = field(default_factory=dict)
    delegation: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)
    version: str | None = None


def _delegation(line: str, facts: dict) -> bool:
    if m := _APPLIED.search(line):
        facts.update(delegate=m.group(1), graph="complete" if m.group(2) == "completely" else "partial")
        if m.group(3):
            facts["delegate_kernels"] = int(m.group(3))
    elif m := _NOT_APPLIED.search(line):
        facts.update(delegate=m.group(1), graph="none", delegate_kernels=0)
    elif m := _GPU_KERNELS.search(line):
        facts["gpu_kernels"] = int(m.group(1))
    elif m := _REPLACING.search(line):
        facts.setdefault("replaced", []).append({"delegate": m.group(3), "nodes": int(m.group(1)),
                                                 "of_nodes": int(m.group(2)) if m.group(2) else None,
                                                 "partitions": int(m.group(4))})
    elif "Created TensorFlow Lite XNNPACK delegate for CPU" in line:
        facts["xnnpack_created"] = True
    else:
        return False
    return True


def _read_line(run: _Run, level: str, line: str, where: str) -> None:
    if level in ("E", "F") or _FAILURE.search(line):
        run.errors.append(line)
    if m := _RUNNING.search(line):
        run.running.append(int(m.group(1)))
    elif line.startswith("count="):
        run.phases.append((_phase(line, where), where))
    elif m := _SUMMARY.match(line):
        run.summary = _fields(m.group(1), where)
    elif m := _AVERAGE_OLD.match(line):
        run.average_old = _fields(m.group(1), where)
    elif m := _INIT_SESSION.match(line):
        run.init_ms = float(m.group(1))
    elif m := _MEMORY.match(line):
        kind = "peak" if line.startswith("Peak") else "delta"
        run.memory[f"{kind}_init_mb"], run.memory[f"{kind}_overall_mb"] = float(m.group(2)), float(m.group(3))
    elif m := _PEAK_PERIODIC.match(line):
        run.memory["peak_periodic_mb"] = float(m.group(1))
    elif _delegation(line, run.delegation):
        pass
    elif m := _VERSION.match(line):
        run.version = m.group(1)
    elif m := _PARAM.match(line):
        run.params[m.group(1).strip()] = m.group(2).strip()
    elif _is_command(line):
        run.flags.update(dict(_FLAG.findall(line)))


def _read_run(segment, source: str) -> _Run:
    run = _Run()
    profiling = False
    for number, level, line in segment:
        if line.startswith(_PROFILE_START):
            profiling = True
        elif profiling and line.startswith(("count=", "Running benchmark", "Inference timings", "Average inference")):
            profiling = False  # a profile table printed before the timings (no profile row starts like these)
        if profiling:
            run.op_profile.append(line)
            continue
        _read_line(run, level, line, f"{source}, line {number}")
    return run


def _from_count_lines(run: _Run, source: str) -> BenchmarkLog:
    (measured, where), warmup = run.phases[-1], (run.phases[-2][0] if len(run.phases) >= 2 else None)
    if measured.count == 0:
        raise InputDataError(f"{where}: the measured phase has no runs (count=0)")
    asked = run.running[len(run.phases) - 1] if len(run.running) >= len(run.phases) else None
    if asked is not None and measured.count < asked:
        raise InputDataError(f"{where}: the measured phase ran {measured.count} runs, fewer than the {asked} it "
                             "was asked for (log cut short, or stopped by --max_secs); no complete result")
    timings = run.summary
    first = timings.get("First inference")
    init = timings.get("Init")
    return BenchmarkLog(
        measured=measured, warmup=warmup,
        init_ms=init / US_PER_MS if init is not None else run.init_ms,
        first_inference_ms=first / US_PER_MS if first is not None else (
            warmup.first_ms if warmup and warmup.count else measured.first_ms),
        requested_runs=asked,
    )


def _from_summary(run: _Run, source: str) -> BenchmarkLog | None:
    """Summary-only logs (the benchmark APK's logcat line; 2018/2019 builds): averages, no min."""
    if "Inference (avg)" in run.summary:
        t = run.summary
        inference, warm, first, init = t["Inference (avg)"], t.get("Warmup (avg)"), t.get("First inference"), \
            t.get("Init")
        fmt = "summary-average"
    elif {"Inference", "no stats"} & set(run.average_old):
        t = run.average_old
        inference, warm, first, init = t.get("Inference", t.get("no stats")), t.get("Warmup"), None, t.get("Init")
        fmt = "2018-average"
    else:
        return None
    ms = (lambda v: v / US_PER_MS if v is not None else None)
    return BenchmarkLog(measured=PhaseStats(count=0, avg_ms=ms(inference)),
                        warmup=PhaseStats(count=0, avg_ms=ms(warm)) if warm is not None else None,
                        init_ms=ms(init) if init is not None else run.init_ms, first_inference_ms=ms(first),
                        format=fmt)


def _parse_run(segment, source: str) -> BenchmarkLog:
    run = _read_run(segment, source)
    if len(run.phases) >= 2 or (run.phases and (run.summary or run.average_old)):
        log = _from_count_lines(run, source)
    else:
        log = _from_summary(run, source)
    if log is None:
        failure = next((e for e in run.errors if _FAILURE.search(e)), None) or (run.errors[-1] if run.errors else None)
        if failure:
            raise InputDataError(f"{source}: benchmark_model failed before timing anything: {failure[:160]}")
        if run.running or run.phases:
            raise InputDataError(f"{source}: log stops before the measured phase finished (cut short or crashed); "
                                 "no measured stats")
        raise InputDataError(f"{source}: no benchmark_model timings found (is this a benchmark_model log?)")
    log.memory, log.op_profile, log.params, log.flags = run.memory, run.op_profile, run.params, run.flags
    log.delegation, log.errors, log.version = run.delegation, run.errors, run.version
    return log


def count_runs(text: str) -> int:
    return sum(1 for s in split_runs(text) if _has_timings(s))


def parse(text: str, source: str = "benchmark_model output", run: int | None = None,
          one_run: bool = False) -> BenchmarkLog:
    """One run of a log. With several runs in the log, `run` (1-based) picks one; without it, an error says how many.
    `one_run`: the text is the output of one invocation (no splitting), as measure() reads it."""
    text = check_text(text, source)
    segments = [_lines(text)] if one_run else split_runs(text)
    runs = [s for s in segments if _has_timings(s)]
    if not runs:  # nothing timed: the failure (or the lack of any timing) is the story
        return _parse_run([e for s in segments for e in s], source)
    if run is None and len(runs) > 1:
        raise SeveralRuns(source, len(runs))
    index = (run or 1)
    if not 1 <= index <= len(runs):
        raise InputDataError(f"{source} holds {len(runs)} benchmark_model run(s); --run {index} is not one of "
                             f"1 to {len(runs)}")
    log = _parse_run(runs[index - 1], source if len(runs) == 1 else f"{source} (run {index} of {len(runs)})")
    log.run, log.runs_in_log = index, len(runs)
    return log
