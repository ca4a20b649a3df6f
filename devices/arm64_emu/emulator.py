"""Drives qemu-aarch64 (user mode) with Debian's arm64 Python and a TCG plugin; reads back counts.

Facts about the tools, as measured on Debian 12 with qemu 10.0.13 (trixie's source, built by setup.sh):
- There is no binfmt_misc, so the guest interpreter is named explicitly: `qemu-aarch64 -L SYSROOT
  SYSROOT/usr/bin/python3.11 -P - ... < guest.py`; -L makes the guest's loader and libraries come from the sysroot.
- What the guest sees (argv, environment, folder, addresses, clock, files) is the same in every process: see
  repeatable.py for what moved counts between processes and how each is fixed.
- Python 3.11 specialises its bytecode after about 8 calls, so the interpreter's share of the first inferences moves
  by a few thousand instructions, then settles to within a few hundred; the same warm-up gives the same figure.
- A plugin that fails to load makes qemu print "Could not load plugin ..." (or the plugin's own message) and exit 1
  before the guest starts. A guest killed by a signal (segfault in emulated code) exits 128+N or with -N.
- qemu_plugin_outs() output (the cache plugin's table) goes to the qemu log: `-d plugin -D FILE` writes it to FILE.
- The guest's CPU (-cpu) decides which kernels XNNPACK and ONNX Runtime's MLAS pick (they read AT_HWCAP, which qemu
  sets from the model), so it is part of the set-up. cortex-a76 (Armv8.2 + dotprod, the ISA of the Pixel 6's
  Cortex-X1) is the default; cortex-a710 (Armv9.0 + i8mm, bf16, 128-bit SVE2: the ISA of Cortex-X2/X3) makes XNNPACK
  pick its i8mm kernels. Counted on cortex-a710, the Galaxy S23 (Cortex-X3) is predicted worse than from cortex-a76
  counts (tests/benchmarks/phone_prediction.py), so the shipped calibrations stay on cortex-a76.
- qemu 7.2 (bookworm's qemu-user) ran LiteRT but ONNX Runtime's aarch64 build segfaulted at import there; trixie's
  qemu-user package is static without plugins, hence the build from its source.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.core.errors import ArtifactError, BenchError, DeviceError
from devices.arm64_emu.repeatable import guest_command, guest_env, guest_run, model_format

ROOT_ENV = "BENCH_ARM64_ROOT"
DEFAULT_ROOT = Path("/var/cache/bench-arm64-emu")
SETUP_SCRIPT = Path(__file__).with_name("setup.sh")
GUEST_SCRIPT = Path(__file__).with_name("guest.py")
EMPTY_PAIR = (1, 2)  # guest.py's markers around nothing: the cost of the bracketing itself
FIRST_RUN_MARKER = 100
MIX_CLASSES = ("simd_fp", "integer", "load", "store", "branch", "other")  # plugin/count.c's order
GUEST_LOAD_ERROR = 3  # guest.py's exit status when the runtime cannot load the model
RUNTIME_NAMES = {".onnx": "ONNX Runtime (aarch64)", ".tflite": "LiteRT (aarch64)", ".pte": "ExecuTorch (aarch64)"}
TIMEOUT_S = 1800  # one guest process: start-up (~1 G instructions) plus a few inferences of a mid-size model


@dataclass(frozen=True)
class Setup:
    """What setup.sh built, and the versions every record carries."""

    root: Path
    versions: dict

    @property
    def qemu(self) -> Path:
        return self.root / "qemu" / "bin" / "qemu-aarch64"

    @property
    def python(self) -> Path:
        return self.root / "sysroot" / "usr" / "bin" / "python3.11"

    @property
    def pte_runner(self) -> Path:
        """ExecuTorch's runner (runner/pte_runner.cpp), with the wheel's aarch64 libraries in lib/ beside it."""
        return self.root / "executorch" / "pte_runner"

    def plugin(self, name: str) -> Path:
        return self.root / "plugins" / f"lib{name}.so"


def setup_root() -> Path:
    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def find_setup() -> Setup:
    """The built set-up, or one line saying how to build it."""
    root = setup_root()
    versions_file = root / "versions.json"
    needed = (versions_file, root / "qemu" / "bin" / "qemu-aarch64", root / "plugins" / "libcount.so",
              root / "sysroot" / "usr" / "bin" / "python3.11", root / "site" / "ai_edge_litert",
              root / "site" / "onnxruntime")
    missing = [p for p in needed if not p.exists()]
    if missing:
        raise BenchError(f"the arm64-emu set-up is missing ({missing[0]}); build it once with `sudo {SETUP_SCRIPT}`"
                         f" (Debian 12, about 5 minutes; ${ROOT_ENV} moves it from {DEFAULT_ROOT})")
    try:
        versions = json.loads(versions_file.read_text())
    except json.JSONDecodeError as exc:
        raise BenchError(f"{versions_file} is unreadable ({exc.msg}); re-run {SETUP_SCRIPT}") from None
    return Setup(root, versions)


def run_guest(command: list[str], env: dict, model: Path, *, cwd: Path | None = None) -> dict:
    """One guest process (guest.py on its stdin, in `cwd`); its JSON line, or one clear error for each way it can
    fail."""
    try:
        with open(GUEST_SCRIPT, "rb") as script:  # a file, not a pipe: the guest's reads are the same every run
            done = subprocess.run(command, env=env, cwd=cwd, stdin=script, capture_output=True, text=True,
                                  timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise DeviceError(f"the emulated arm64 run of {model.name} took over {TIMEOUT_S} s and was stopped") from None
    facts = _last_json_line(done.stdout)
    if done.returncode == GUEST_LOAD_ERROR and facts.get("error") == "load":
        runtime = RUNTIME_NAMES.get(model.suffix, RUNTIME_NAMES[".tflite"])
        raise ArtifactError(f"{runtime} cannot load {model}: {facts.get('message')}")
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


def read_markers(path: Path) -> dict[int, tuple[int, ...]]:
    """The count plugin's file, one line per marker: "<label> <instructions so far>" of the thread that made the
    marker call, then (unless mix=off) its running count of each class in MIX_CLASSES, its bytes loaded and stored,
    and the other threads' instructions so far; last "exit <total>" and "blocks <translated>"."""
    markers = {}
    for line in path.read_text().splitlines():
        label, *values = line.split()
        if label.isdigit():
            markers[int(label)] = tuple(int(v) for v in values)
    return markers


def _between(markers: dict[int, tuple[int, ...]], first: int, second: int) -> tuple[int, ...]:
    return tuple(b - a for a, b in zip(markers[first], markers[second]))


def per_inference_counts(markers: dict[int, tuple[int, ...]], runs: int) -> tuple[list[tuple[int, ...]], tuple]:
    """Counts (the total, then each class) of each bracketed inference, less the bracketing's own cost (the empty
    pair), and that cost."""
    overhead = _between(markers, *EMPTY_PAIR)
    counts = []
    for i in range(runs):
        before, after = FIRST_RUN_MARKER + 2 * i, FIRST_RUN_MARKER + 2 * i + 1
        if before not in markers or after not in markers:
            raise DeviceError(f"the count plugin recorded no markers for inference {i + 1}; the guest stopped early")
        counts.append(tuple(n - o for n, o in zip(_between(markers, before, after), overhead)))
    return counts, overhead


def count_instructions(setup: Setup, model: Path, *, warmup: int, runs: int, threads: int, cpu: str,
                       mix: bool = True) -> dict:
    """Instructions per inference (and, with `mix`, per class) for `runs` inferences after `warmup`, in one guest
    process. mix=False counts the total only (one inline add per block: what the classes' cost is measured
    against)."""
    with tempfile.TemporaryDirectory(prefix="bench-arm64-") as tmp:
        out = Path(tmp) / "markers.txt"
        plugin = ["-plugin", f"{setup.plugin('count')},out={out}" + ("" if mix else ",mix=off")]
        with guest_run(model) as (folder, clock):
            command = guest_command(setup, plugin, model_format(model), clock, warmup=warmup, runs=runs,
                                    threads=threads, cpu=cpu)
            facts = run_guest(command, guest_env(setup.root / "site"), model, cwd=folder)
        markers = read_markers(out) if out.exists() else {}
    if EMPTY_PAIR[1] not in markers or (mix and len(markers[EMPTY_PAIR[1]]) != 4 + len(MIX_CLASSES)):
        raise DeviceError("the count plugin recorded no markers; re-run the set-up script " + str(SETUP_SCRIPT))
    counted, overhead = per_inference_counts(markers, runs)
    n = len(MIX_CLASSES)
    mixes = [dict(zip(MIX_CLASSES, c[1:1 + n])) for c in counted] if mix else []
    memory = [{"load": c[1 + n], "store": c[2 + n]} for c in counted] if mix else []
    others = [c[-1] + overhead[-1] for c in counted] if mix else []  # not the caller's: nothing to subtract
    return {"counts": [c[0] for c in counted], "mixes": mixes, "memory_bytes": memory, "other_threads": others,
            "marker_overhead": overhead[0], "guest": facts}
