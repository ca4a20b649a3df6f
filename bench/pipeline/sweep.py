"""`bench sweep CONFIG.toml`: models (or suites) x targets x formats/precisions x protocols, resumable.

Config (TOML):

    models = ["mobileone_s0", "mobilenetv4_conv_small"]   # zoo names or model files
    suites = ["mobileone-activations"]                     # optional: every model of these suites
    protocols = ["mobileone"]                              # default: each target's own (mnv4 on Android)
    runs = 300                                             # optional overrides of the protocols' counts
    warmup = 30
    repeats = 1
    threads = 1
    pause_s = 0.0                                          # pause between measurements (thermal settling)

    [[targets]]
    name = "host"                                          # formats default to the target's default
    [[targets]]
    name = "host-litert"
    formats = ["tflite/fp32", "tflite/int8"]
    [[targets]]
    name = "pixel7"
    options = { delegate = "gpu", serial = ["A1", "B2"] }  # the target's own options (`bench targets --options`)

A cell already in the store (same artifact hash, target, protocol, counts, threads, options) is skipped unless
`force`. Every cell is validated before anything runs; a bad entry is reported with its line in the file. Cells are
measured by the same coordinator as `bench run` (preflight, export, ready, one lane per phone).
"""

from __future__ import annotations

import signal
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from bench.core.errors import BenchError, InputDataError
from bench.core.protocols import protocol_for
from bench.pipeline import Cell, Hooks, RunResult, RunSpec, prepare, run_cells

_KNOWN_KEYS = {"models", "suites", "protocols", "runs", "warmup", "repeats", "threads", "pause_s", "targets"}


@dataclass
class SweepPlan:
    cells: list[Cell]
    pause_s: float


def _line_of(text: str, needle: str, after: int = 0) -> int:
    lines = text.splitlines()
    for i in range(after, len(lines)):
        if needle in lines[i]:
            return i + 1
    return 0


def _where(path: Path, text: str, needle: str, after: int = 0) -> str:
    line = _line_of(text, needle, after)
    return f"{path}:{line}" if line else str(path)


def _models(path: Path, text: str, config: dict) -> list[str]:
    models = list(config.get("models", []))
    for suite in config.get("suites", []):
        from bench.zoo.suites import suite_cells

        try:
            models += [c.model for c in suite_cells(suite, None, None, None)]
        except BenchError as exc:
            raise InputDataError(f"{_where(path, text, repr(suite)[1:-1])}: {exc}") from None
    if not models:
        raise InputDataError(f"{path}: no models or suites to measure")
    return models


def _protocols(path: Path, text: str, config: dict, target) -> list:
    """The config's protocols, else the target's own; with the config's run counts."""
    protocols = []
    for name in config.get("protocols", [None]):
        try:
            protocols.append(protocol_for(target, name, runs=config.get("runs"), warmup=config.get("warmup"),
                                          repeats=config.get("repeats")))
        except BenchError as exc:
            raise InputDataError(f"{_where(path, text, name or 'runs')}: {exc}") from None
    return protocols


def load_plan(path: str | Path) -> SweepPlan:
    path = Path(path)
    if not path.is_file():
        raise InputDataError(f"no sweep config at {path}")
    text = path.read_text()
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputDataError(f"{path}: not valid TOML ({exc})") from None
    unknown = set(config) - _KNOWN_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise InputDataError(f"{_where(path, text, key)}: unknown key '{key}'; known: {', '.join(sorted(_KNOWN_KEYS))}")

    models = _models(path, text, config)
    _protocols(path, text, config, None)  # names and counts checked once, before any target
    targets = config.get("targets") or [{"name": "host"}]
    threads = int(config.get("threads", 1))
    cells = []
    for t in targets:
        if "name" not in t:
            raise InputDataError(f"{_where(path, text, '[[targets]]')}: a [[targets]] entry has no name")
        target_line = _line_of(text, f'"{t["name"]}"')
        pairs = t.get("formats") or [None]
        for pair in pairs:
            fmt, precision = (pair.split("/", 1) + [None])[:2] if pair else (None, None)
            for model in models:
                spec = RunSpec(model=model, target=t["name"], format=fmt, precision=precision, threads=threads,
                               options=dict(t.get("options", {})))
                try:
                    deployments = prepare(spec)
                except BenchError as exc:
                    needle = f'"{model}"' if "model" in str(exc) else (pair or t["name"])
                    raise InputDataError(f"{_where(path, text, needle, max(0, target_line - 1) if pair else 0)}: "
                                         f"{exc}") from None
                cells += [Cell(deployment, protocol)
                          for protocol in _protocols(path, text, config, deployments[0].target)
                          for deployment in deployments]
    return SweepPlan(cells, float(config.get("pause_s", 0.0)))


class StopAfterCurrent:
    """First Ctrl-C: finish the measurement under way, then stop. Second Ctrl-C: stop now."""

    def __init__(self):
        self.requested = False
        self._previous = None

    def __enter__(self):
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self._previous)


def run_sweep(plan: SweepPlan, store_path, hooks: Hooks, *, force: bool = False, workers=None) -> RunResult:
    """Measure the plan's cells through the coordinator; the first Ctrl-C stops after the measurements under way.
    `workers` (bench.pipeline.parallel.side_by_side: --jobs, --ray) measure counting cells side by side."""
    with StopAfterCurrent() as stop:
        hooks.stop_requested = lambda: stop.requested
        try:
            return run_cells(plan.cells, store_path, hooks, skip_stored=not force, pause_s=plan.pause_s,
                             workers=workers)
        finally:
            if workers is not None:
                workers.close()
