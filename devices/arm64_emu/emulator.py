"""Drives qemu-aarch64 (user mode) with Debian's arm64 Python and a TCG plugin; reads back counts.

Facts about the tools, as measured on Debian 12 with qemu-user 7.2:
- There is no binfmt_misc, so the guest interpreter is named explicitly: `qemu-aarch64 -L SYSROOT
  SYSROOT/usr/bin/python3.11 guest.py ...`; -L makes the guest's dynamic loader and libraries come from the sysroot.
- qemu-user passes the host environment to the guest; the variables below make a run repeat to about 1e-6
  (OpenBLAS thread start-up and hash-seeded dict orders otherwise move counts by about 1%).
- A plugin that fails to load makes qemu print "Could not load plugin ..." (or the plugin's own message) and exit 1
  before the guest starts. A guest killed by a signal (segfault in emulated code) exits 128+N or with -N.
- qemu_plugin_outs() output (the cache plugin's table) goes to the qemu log: `-d plugin -D FILE` writes it to FILE.
- The guest's CPU (-cpu) decides which kernels XNNPACK picks (it reads AT_HWCAP, which qemu sets from the model),
  so it is part of the set-up: cortex-a76 is the big core of the phones this project measures.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.core.errors import ArtifactError, BenchError, DeviceError

ROOT_ENV = "BENCH_ARM64_ROOT"
DEFAULT_ROOT = Path("/var/cache/bench-arm64-emu")
SETUP_SCRIPT = Path(__file__).with_name("setup.sh")
GUEST_SCRIPT = Path(__file__).with_name("guest.py")
GUEST_ENV = {"PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
             "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
EMPTY_PAIR = (1, 2)  # guest.py's markers around nothing: the cost of the bracketing itself
FIRST_RUN_MARKER = 100
GUEST_LOAD_ERROR = 3  # guest.py's exit status when LiteRT cannot load the model
TIMEOUT_S = 1800  # one guest process: start-up (~1 G instructions) plus a few inferences of a mid-size model


@dataclass(frozen=True)
class Setup:
    """What setup.sh built, and the versions every record carries."""

    root: Path
    versions: dict

    @property
    def python(self) -> Path:
        return self.root / "sysroot" / "usr" / "bin" / "python3.11"

    def plugin(self, name: str) -> Path:
        return self.root / "plugins" / f"lib{name}.so"


def setup_root() -> Path:
    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def find_setup() -> Setup:
    """The built set-up, or one line saying how to build it."""
    root = setup_root()
    versions_file = root / "versions.json"
    missing = [p for p in (versions_file, root / "plugins" / "libcount.so", root / "sysroot" / "usr" / "bin" /
                           "python3.11", root / "site" / "ai_edge_litert") if not p.exists()]
    if missing or shutil.which("qemu-aarch64") is None:
        lacking = missing[0] if missing else "qemu-aarch64"
        raise BenchError(f"the arm64-emu set-up is missing ({lacking}); build it once with `sudo {SETUP_SCRIPT}`"
                         f" (Debian 12, about 2 minutes; ${ROOT_ENV} moves it from {DEFAULT_ROOT})")
    try:
        versions = json.loads(versions_file.read_text())
    except json.JSONDecodeError as exc:
        raise BenchError(f"{versions_file} is unreadable ({exc.msg}); re-run {SETUP_SCRIPT}") from None
    return Setup(root, versions)


def guest_command(setup: Setup, plugin_args: list[str], model: Path, *, warmup: int, runs: int, threads: int,
                  cpu: str) -> list[str]:
    return ["qemu-aarch64", "-cpu", cpu, "-L", str(setup.root / "sysroot"), *plugin_args, str(setup.python),
            str(GUEST_SCRIPT), str(model), str(warmup), str(runs), str(threads)]


def guest_env(setup: Setup) -> dict:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "HOME")}
    return {**keep, **GUEST_ENV, "PYTHONPATH": str(setup.root / "site")}


def run_guest(command: list[str], env: dict, model: Path) -> dict:
    """One guest process; its JSON line, or one clear error for each way it can fail."""
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise DeviceError(f"the emulated arm64 run of {model.name} took over {TIMEOUT_S} s and was stopped") from None
    facts = _last_json_line(done.stdout)
    if done.returncode == GUEST_LOAD_ERROR and facts.get("error") == "load":
        raise ArtifactError(f"LiteRT (aarch64) cannot load {model}: {facts.get('message')}")
    if done.returncode != 0:
        raise DeviceError(_failure_line(done, model))
    return facts


def _last_json_line(stdout: str) -> dict:
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except json.JSONDecodeError:
                continue
    return {}


def _failure_line(done: subprocess.CompletedProcess, model: Path) -> str:
    err = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    plugin_failure = next((line for line in err if "plugin" in line.lower()), None)
    if plugin_failure and done.returncode == 1:
        return f"qemu could not load its plugin: {plugin_failure[:200]}; re-run {SETUP_SCRIPT}"
    signal = -done.returncode if done.returncode < 0 else done.returncode - 128
    if done.returncode < 0 or done.returncode > 128:
        return f"the emulated arm64 guest crashed (signal {signal}) running {model.name}"
    last = err[-1][:200] if err else "no output"
    return f"the emulated arm64 guest failed (exit {done.returncode}) running {model.name}: {last}"


def read_markers(path: Path) -> dict[int, int]:
    """The count plugin's file: "<label> <instructions so far>" per marker, then "exit <total>"."""
    markers = {}
    for line in path.read_text().splitlines():
        label, _, value = line.partition(" ")
        if label.isdigit():
            markers[int(label)] = int(value)
    return markers


def per_inference_counts(markers: dict[int, int], runs: int) -> tuple[list[int], int]:
    """Instructions of each bracketed inference, less the bracketing's own cost (the empty pair)."""
    overhead = markers[EMPTY_PAIR[1]] - markers[EMPTY_PAIR[0]]
    counts = []
    for i in range(runs):
        before, after = markers.get(FIRST_RUN_MARKER + 2 * i), markers.get(FIRST_RUN_MARKER + 2 * i + 1)
        if before is None or after is None:
            raise DeviceError(f"the count plugin recorded no markers for inference {i + 1}; the guest stopped early")
        counts.append(after - before - overhead)
    return counts, overhead


def count_instructions(setup: Setup, model: Path, *, warmup: int, runs: int, threads: int, cpu: str) -> dict:
    """Instructions per inference for `runs` inferences after `warmup`, in one guest process."""
    with tempfile.TemporaryDirectory(prefix="bench-arm64-") as tmp:
        out = Path(tmp) / "markers.txt"
        plugin = ["-plugin", f"{setup.plugin('count')},out={out}"]
        facts = run_guest(guest_command(setup, plugin, model, warmup=warmup, runs=runs, threads=threads, cpu=cpu),
                          guest_env(setup), model)
        markers = read_markers(out) if out.exists() else {}
    if EMPTY_PAIR[1] not in markers:
        raise DeviceError("the count plugin recorded no markers; re-run the set-up script " + str(SETUP_SCRIPT))
    counts, overhead = per_inference_counts(markers, runs)
    return {"counts": counts, "marker_overhead": overhead, "guest": facts}
