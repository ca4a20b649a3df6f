"""`arm64-emu`: LiteRT's aarch64 build (XNNPACK) for .tflite, ONNX Runtime's aarch64 build (CPU execution provider,
MLAS) for .onnx, one thread, run under qemu-aarch64 and measured in instructions.

The figure is instructions per inference, an exact integer: the kernels a phone's CPU runs (NEON, dotprod), counted
instead of timed, so it does not move with the CI machine's load or CPU vendor. Beside it, `extra["instruction_mix"]`
splits the same inference into classes decided from each instruction's encoding (SIMD/FP, integer data processing,
loads, stores, branches, other; they sum to the count), for models of a phone core's time.

Isolation (markers): the guest (guest.py) loads the model, runs the warm-up, then brackets each counted inference
with a marker system call; the count plugin (plugin/count.c) notes the running instruction count at each marker.
Start-up, imports, model load and warm-up fall before the first marker; the bracketing's own cost (a pair of markers
around nothing) is subtracted. A count is deterministic, so the first counted inference is the figure and the
others only check that they agree to 0.01%. A protocol's run counts (1000 timed runs) do not apply: the record's
`extra["counting"]` says what was done.
"""

from __future__ import annotations

import shlex
import time

from bench.core.errors import BenchError, DeviceError
from bench.core.measurement import Measurement
from bench.core.options import Option
from bench.core.outcome import Count
from bench.core.record import COUNT_TOLERANCE
from devices.arm64_emu import cache
from devices.arm64_emu.emulator import GUEST_SCRIPT, SETUP_SCRIPT, Setup, count_instructions, find_setup
from devices.arm64_emu.repeatable import GUEST_MODEL, guest_command, guest_env, model_format
from devices.delegation import delegation_extra, refuse_partial
from devices.registry import Target, register_target

CPUS = ("cortex-a76", "cortex-a710", "cortex-a57", "max")
DEFAULT_CPU = "cortex-a76"  # --cpu's default; bench.prediction asks it here (calibration.default_cpu)


class Arm64EmuTarget(Target):
    name = "arm64-emu"
    aliases = ("emulated-arm64",)
    description = ("LiteRT aarch64 + XNNPACK (.tflite), ONNX Runtime aarch64 CPU EP (.onnx) or ExecuTorch aarch64 + "
                   "XNNPACK (.pte) under qemu-aarch64: instructions per inference and their mix (deterministic)")
    kind = "emulator"
    exact = True  # instructions per inference: several guests at once count the same
    runtime = "litert-aarch64, onnxruntime-aarch64, executorch-aarch64"
    runtimes = {"tflite": ("litert-aarch64", "litert", "xnnpack"),  # format: (record runtime, versions key, delegate)
                "onnx": ("onnxruntime-aarch64", "onnxruntime", "CPUExecutionProvider"),
                "pte": ("executorch-aarch64", "executorch", "xnnpack")}
    supports = {"tflite": ("fp32", "fp16", "int8"), "onnx": ("fp32",), "pte": ("fp32", "int8")}
    default_format, default_precision = "tflite", "fp32"
    options = (
        Option("cpu", str, DEFAULT_CPU, "the emulated CPU model (decides which XNNPACK and MLAS kernels run)",
               choices=CPUS),
        Option("count_warmup", int, 1, "inferences run before counting (first-run allocations, packing)"),
        Option("count_runs", int, 2, "inferences counted: the first is the figure, the rest check determinism"),
        Option("require_full_delegation", bool, False,
               "(.pte) refuse a program whose graph XNNPACK did not take whole (ops left to portable kernels)"),
        Option("cache_sim", bool, False, "also simulate L1/L2 cache misses per inference (two more guest runs, each minutes long)"),
    )

    def preflight(self, options: dict) -> None:
        find_setup()

    def ready(self, artifact, options: dict) -> None:
        if _format_of(artifact) == "pte":
            _require_pte_runner(find_setup())
            refuse_partial(artifact, options)

    def resolve_options(self, given: dict) -> dict:
        resolved = super().resolve_options(given)
        if resolved["count_runs"] < 1:
            raise BenchError(f"--count-runs of target arm64-emu must be at least 1 (got {resolved['count_runs']})")
        return resolved

    def plan(self, artifact, protocol, *, threads: int, options: dict) -> list[str]:
        setup = _setup_or_default()
        fmt = model_format(artifact.path)
        plugin = ["-plugin", f"{setup.plugin('count')},out=MARKERS"]
        cmd = guest_command(setup, plugin, fmt, "SEM SHM", warmup=options.get("count_warmup", 1),
                            runs=options.get("count_runs", 2), threads=threads, cpu=options.get("cpu", CPUS[0]))
        env = " ".join(f"{k}={v}" for k, v in guest_env(setup.root / "site").items())
        return [f"# in a new folder holding {GUEST_MODEL}.{fmt} -> {artifact.path}, with a POSIX semaphore SEM and "
                f"shared memory SHM made for libfaketime:",
                f"env -i {env} {shlex.join(cmd)} < {GUEST_SCRIPT}"]

    def measure(self, artifact, protocol, *, threads, options, progress) -> Measurement:
        if threads != 1:  # several guest threads interleave differently on each run: counts stop being exact
            raise BenchError(f"target arm64-emu counts one thread only (got --threads {threads})")
        setup = find_setup()
        runtime, versions_key, delegate = self.runtimes[_format_of(artifact)]
        warmup, runs, cpu = options.get("count_warmup", 1), options.get("count_runs", 2), options.get("cpu", CPUS[0])
        started = time.monotonic()
        result = count_instructions(setup, artifact.path, warmup=warmup, runs=runs, threads=threads, cpu=cpu)
        wall_s = time.monotonic() - started
        _check_determinism(result["counts"], result["mixes"], artifact.path)
        progress(runs)
        extra = {"wall_s_per_measurement": round(wall_s, 1), "marker_overhead_instructions": result["marker_overhead"],
                 "input_dtype": result["guest"].get("input_dtype"), "instruction_mix": result["mixes"][0],
                 "instruction_mix_method": MIX_METHOD, "memory_bytes": result["memory_bytes"][0],
                 "memory_bytes_method": BYTES_METHOD, "guest_cpu": result["guest"].get("guest_cpu"),
                 "other_threads_instructions": result["other_threads"][0]}
        extra.update(delegation_extra(artifact))
        if options.get("cache_sim"):
            extra["cache"] = cache.misses_per_inference(setup, artifact.path, warmup=warmup, threads=threads, cpu=cpu)
        return Measurement(
            runtime=runtime,
            runtime_version=str(setup.versions.get(versions_key, "unknown")),
            device=_device_facts(setup, cpu, versions_key),
            options={"threads": threads, "delegate": delegate, **options},
            extra={**extra, "counting": {
                "method": "markers around each inference, less the cost of an empty marker pair; the instructions of "
                          "the thread that ran it",
                "warmup": warmup, "counted": runs, "statistic": "first counted inference",
                "protocol_not_applied": protocol.name}},
            outcome=Count(unit="instructions", counts=result["counts"]),
            ran={"warmup": warmup, "runs": runs, "repeats": 1},  # a protocol's run counts do not apply to a count
        )


MIX_METHOD = ("classes from each instruction's 32-bit encoding at translation (plugin/count.c classify()), summed "
              "per translation block; per inference like the count, summing exactly to it")
BYTES_METHOD = ("bytes each load and store names in its encoding (plugin/count.c add_memory_bytes()): atomics count "
                "both ways, prefetches none, DC ZVA 64 stored; what the core asks of L1, not DRAM traffic")


def _require_pte_runner(setup: Setup) -> None:
    if not setup.pte_runner.exists() or "executorch" not in setup.versions:
        raise BenchError(f"the arm64-emu set-up has no ExecuTorch runner ({setup.pte_runner}); re-run "
                         f"`sudo {SETUP_SCRIPT}` (its executorch step takes about 20 s)")


def _format_of(artifact) -> str:
    return getattr(artifact, "format", None) or artifact.path.suffix.lstrip(".")


def _check_determinism(counts: list[int], mixes: list[dict], model) -> None:
    """Every counted inference must agree to COUNT_TOLERANCE of the count, in total and in each class."""
    spread = (max(counts) - min(counts)) / min(counts)
    if spread > COUNT_TOLERANCE:
        raise DeviceError(f"instruction counts of {model} varied by {100 * spread:.4f}% between inferences "
                          f"(limit {100 * COUNT_TOLERANCE:g}%); nothing stored")
    for name in mixes[0] if mixes else ():
        values = [m[name] for m in mixes]
        if max(values) - min(values) > COUNT_TOLERANCE * min(counts):
            raise DeviceError(f"the {name} instructions of {model} varied by {max(values) - min(values):,} between "
                              f"inferences (limit {100 * COUNT_TOLERANCE:g}% of the count); nothing stored")


def _device_facts(setup: Setup, cpu: str, runtime_key: str) -> dict:
    """`setup` is what makes counts comparable: compare reports rows with different set-ups as not comparable.
    Only the runtime that ran is named, so a new ONNX Runtime leaves the LiteRT rows comparable and the reverse."""
    v = setup.versions
    return {"cpu": f"{cpu} (qemu-aarch64, emulated)", "model": "emulated arm64",
            "setup": {"qemu": v.get("qemu"), "plugin": f"count.c {v.get('count_plugin_sha256')} "
                                                       f"({v.get('plugins_source')})",
                      "sysroot_python": v.get("sysroot_python"), runtime_key: v.get(runtime_key),
                      "numpy": v.get("numpy"), "guest_clock": f"libfaketime {v.get('libfaketime')}, stopped",
                      "cpu": cpu, **_runner_fact(v, runtime_key)}}


def _runner_fact(versions: dict, runtime_key: str) -> dict:
    """ExecuTorch's counts include the runner's own code around forward(): a rebuilt runner is another set-up."""
    return {"pte_runner": versions.get("pte_runner_sha256")} if runtime_key == "executorch" else {}


def _setup_or_default() -> Setup:
    from devices.arm64_emu.emulator import setup_root

    try:
        return find_setup()
    except BenchError:  # a dry run prints the commands even before the set-up exists
        return Setup(setup_root(), {})


register_target(Arm64EmuTarget())
