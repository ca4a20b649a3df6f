"""Android targets: benchmark_model pushed to the phone, run under taskset on its fastest online cores.

Which phone a target names is data (PHONES: the exact `ro.product.model` values); which delegates each runs and
with which precisions is data too (DELEGATE_PRECISIONS). The commands come from devices.android.session.Session,
the one source that `plan` prints and `measure` sends.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.core.errors import BenchError, DeviceError, UnsupportedFormat
from bench.core.hashing import content_hash
from bench.core.options import Option
from bench.core.outcome import Timing
from devices.android.adb import Adb, choose_serial, list_devices
from devices.android.benchmark_model import (
    DELEGATES,
    HEXAGON_GONE,
    PROFILE_RUNS,
    REMOTE_BINARY,
    local_binary,
    probe_timeout,
    push_if_changed,
    run_benchmark,
    timed_timeout,
)
from devices.android.device_state import after, before, refuse_or_flag
from devices.android.elf import check_abi, check_android_build, read_executable
from devices.android.phone import device_facts, fastest_cores_mask
from devices.android.session import Session
from devices.registry import Measurement, Target, register_target

# Which precisions each delegate runs (TFLite models only).
DELEGATE_PRECISIONS = {
    "xnnpack": ("fp32", "fp16", "int8"),
    "cpu": ("fp32", "fp16", "int8"),
    "gpu": ("fp32", "fp16"),
    "nnapi": ("int8",),
}

# Exact ro.product.model values per target (a Pixel 7 Pro or 7a is not a Pixel 7).
PHONES = {
    "pixel6": ("Pixel 6",),
    "pixel7": ("Pixel 7",),
    "pixel8": ("Pixel 8",),
    # Galaxy S23 (not S23+ SM-S916x, not Ultra SM-S918x): the regional model numbers
    "samsung-s23": ("SM-S911B", "SM-S911U", "SM-S911U1", "SM-S911W", "SM-S9110", "SM-S911N"),
}

ANDROID_OPTIONS = (
    Option("delegate", str, "xnnpack", "TFLite delegate (which ones a target has: `bench targets`)", DELEGATES),
    Option("accelerator", str, None, "NNAPI accelerator name for --delegate nnapi (Pixels: google-edgetpu)"),
    Option("benchmark_model", Path, None, "the benchmark_model binary to push (or $BENCH_BENCHMARK_MODEL)"),
    Option("op_profile", bool, False, "also run one separate invocation with --enable_op_profiling=true and store "
                                      "its per-operator table (its timings are not the latency)"),
    Option("cooldown_s", float, 60.0, "before each invocation wait up to S seconds for thermal status 0 and "
                                      "uncapped pinned cores"),
    Option("allow_throttled", bool, False, "keep a run whose phone was hot (thermal status >= 1) or whose pinned "
                                           "cores were capped around an invocation, flagged, instead of refusing it"),
    Option("pause_s", float, 0.0, "pause S seconds between invocations"),
    Option("serial", str, None, "device serial (adb devices -l); repeat for several phones, measured in parallel",
           multiple=True),
    Option("require_full_delegation", bool, False, "fail a run whose graph the delegate does not run completely "
                                                   "(benchmark_model --require_full_delegation=true)"),
    Option("retry_wait_s", float, 5.0, "wait before retrying a lost device once"),
)


def one_serial(value) -> str | None:
    """The coordinator hands each lane one serial (fan_out = "serial"); a direct caller may pass a 1-list."""
    if isinstance(value, (list, tuple)):
        if len(value) > 1:
            raise BenchError(f"{len(value)} serials given to one measurement; each phone is measured in a lane of "
                             "its own (the run command fans out over --serial)")
        return value[0] if value else None
    return value


class AndroidTarget(Target):
    kind = "android"
    runtime = "tflite-benchmark_model"
    supports = {"tflite": ("fp32", "fp16", "int8")}
    default_format, default_precision = "tflite", "int8"  # MobileNetV4 paper: INT8 on the CPU (XNNPACK)
    default_protocol = "mnv4"  # MobileNetV4's authors on Pixel: median of 5 means of 1000 runs
    options = ANDROID_OPTIONS
    fan_out = "serial"  # several --serial values: one lane per phone, each given one serial

    def __init__(self, name, description, model_names=(), delegates=("xnnpack", "cpu", "gpu"), accelerators=None):
        self.name = name
        self.description = description
        self.model_names = tuple(model_names)  # exact ro.product.model values this target accepts; () = any
        self.delegates = tuple(delegates)
        self.accelerators = dict(accelerators or {})  # delegate -> default accelerator name

    def pairs(self) -> list[str]:
        return [f"tflite/{p} ({d})" for d in self.delegates for p in DELEGATE_PRECISIONS[d]]

    def preflight(self, options: dict) -> None:
        choose_serial(one_serial(options.get("serial")), list_devices(), self.name)
        check_android_build(read_executable(local_binary(options.get("benchmark_model"))))

    def check_options(self, fmt: str, precision: str, options: dict) -> None:
        self.check_delegate(options.get("delegate") or "xnnpack", precision)

    def check_delegate(self, delegate: str, precision: str) -> None:
        if delegate == "hexagon":
            raise UnsupportedFormat(HEXAGON_GONE)
        if delegate not in self.delegates:
            raise UnsupportedFormat(f"target {self.name} has no delegate '{delegate}'; "
                                    f"it has: {', '.join(self.delegates)}")
        if precision not in DELEGATE_PRECISIONS[delegate]:
            raise UnsupportedFormat(f"delegate {delegate} on {self.name} cannot run tflite/{precision}; "
                                    f"it runs: {', '.join(DELEGATE_PRECISIONS[delegate])}")

    def check_phone(self, facts: dict, serial: str) -> None:
        if self.model_names and facts["model"].strip() not in self.model_names:
            raise DeviceError(f"device {serial} is a {facts['model'] or 'unknown model'}, not a "
                              f"{' or '.join(self.model_names)}; use --target android for any phone")

    def session(self, artifact, protocol, threads: int, options: dict, binary: Path) -> Session:
        delegate = options.get("delegate") or "xnnpack"
        self.check_delegate(delegate, artifact.precision)
        if protocol.from_summaries is None:
            raise BenchError(f"protocol {protocol.name} needs raw per-run samples, which benchmark_model does not "
                             "print; use mobileone or mnv4 on Android")
        return Session(binary=binary, model=Path(artifact.path), model_sha256=artifact.sha256,
                       precision=artifact.precision, threads=threads, delegate=delegate,
                       accelerator=options.get("accelerator") or self.accelerators.get(delegate),
                       runs=protocol.runs, warmup=protocol.warmup, repeats=protocol.repeats,
                       op_profile=bool(options.get("op_profile")),
                       require_full_delegation=bool(options.get("require_full_delegation")))

    def plan(self, artifact, protocol, *, threads: int, options: dict) -> list[str]:
        given = options.get("benchmark_model")
        binary = Path(given) if given else Path("<benchmark_model>")
        session = self.session(artifact, protocol, threads, options, binary)
        return session.lines(one_serial(options.get("serial")), float(options.get("cooldown_s", 60.0)),
                             float(options.get("pause_s", 0.0)))

    def measure(self, artifact, protocol, *, threads, options, progress) -> Measurement:
        session = self.session(artifact, protocol, threads, options, local_binary(options.get("benchmark_model")))
        binary_elf = read_executable(session.binary)
        check_android_build(binary_elf)  # on the host, before any phone is asked
        serial = choose_serial(one_serial(options.get("serial")), list_devices(), self.name)
        adb = Adb(serial, retry_wait_s=float(options.get("retry_wait_s", 5.0)))
        facts = device_facts(adb)
        self.check_phone(facts, serial)
        check_abi(binary_elf, facts["abilist"], f"{self.name} (serial {serial})")
        pushed = {remote: push_if_changed(adb, local, remote, executable)
                  for local, remote, executable in session.pushes()}
        session.cores = []
        if facts["core_max_khz"]:
            session.mask, session.cores = fastest_cores_mask(facts["core_max_khz"], threads, facts["cores_online"])
        source = f"{serial} ({self.name})"
        probe = run_benchmark(adb, session.command(session.probe_args), runs=None,
                              timeout=probe_timeout(Path(artifact.path).stat().st_size), source=f"{source} probe")
        timed = self._timed(adb, session, probe, options, progress, source)
        profile = None
        if session.op_profile:
            profile = run_benchmark(adb, session.command(session.profile_args), runs=None,
                                    timeout=timed_timeout(probe, PROFILE_RUNS, 0), source=f"{source} op profile")
        return self._measurement(session, facts, adb, probe, timed, profile, pushed)

    def _timed(self, adb, session: Session, probe, options, progress, source) -> list[tuple]:
        """Per invocation: (its log, the hygiene facts, its clock and thermal readings, the throttling reason)."""
        timeout = timed_timeout(probe, session.runs, session.warmup)
        cooldown, allowed = float(options.get("cooldown_s", 60.0)), bool(options.get("allow_throttled"))
        out = []
        for repeat in range(session.repeats):
            if repeat and float(options.get("pause_s", 0)) > 0:
                time.sleep(float(options["pause_s"]))
            check, ahead = before(adb, session.cores, repeat + 1, cooldown)
            waited = f" (still, after waiting {check['cooldown_waited_s']:g} s of --cooldown-s {cooldown:g})"
            reasons = [refuse_or_flag(ahead, allowed, source, waited if cooldown else "")]
            log = run_benchmark(adb, session.command(session.timed_args), runs=session.runs, timeout=timeout,
                                source=f"{source} invocation {repeat + 1}")
            behind = after(adb, session.cores, repeat + 1)
            reasons.append(refuse_or_flag(behind, allowed, source))
            out.append((log, check, ahead + behind, [r for r in reasons if r]))
            progress(session.runs)
        return out

    def _measurement(self, session: Session, facts, adb, probe, timed, profile, pushed) -> Measurement:
        logs = [log for log, *_ in timed]
        delegation = logs[0].delegation
        forced_fp16 = "--xnnpack_force_fp16=true" in session.timed_args
        invocations = [log.to_json() for log in logs]
        extra = {"init_ms": logs[0].init_ms, "first_inference_ms": logs[0].first_inference_ms,
                 "memory": logs[0].memory, "invocations": invocations, "hygiene": [c for _, c, *_ in timed],
                 "device_state": [entry for *_, readings, _ in timed for entry in readings],
                 "pushed": {"binary": pushed[REMOTE_BINARY], "model": pushed[session.remote_model]},
                 "probe": {**probe.to_json(), "note": "one-run probe that bounds the timeouts; not the latency"},
                 "delegation": delegation, "partially_delegated": delegation.get("graph") == "partial"}
        throttled = [reason for *_, reasons in timed for reason in reasons]
        if throttled:  # kept with --allow-throttled: the first reason names it, the count says how often
            more = len(throttled) - 1
            extra["throttled"] = throttled[0] + (f" (and {more} more throttled reading{'s' * (more > 1)})"
                                                 if more else "")
        if profile is not None:
            extra["op_profile"] = profile.op_profile
            extra["op_profile_run"] = {**profile.to_json(), "note": "timed with op profiling on; not the latency"}
        return Measurement(
            runtime=self.runtime,
            runtime_version=f"benchmark_model sha256:{content_hash(session.binary)[:12]}",
            outcome=Timing(repeat_summaries=[log.measured.summary() for log in logs]),
            device={**facts, "affinity_cores": session.cores},
            options={"threads": session.threads, "delegate": session.delegate, "accelerator": session.accelerator,
                     "compute_unit": _compute_unit(session),
                     "taskset_mask": session.mask, "flags": session.timed_args,
                     "command": session.command(session.timed_args),
                     "delegation": _delegation_label(delegation),
                     "require_full_delegation": session.require_full_delegation,
                     "xnnpack_force_fp16": forced_fp16,
                     "arithmetic": _arithmetic(session, forced_fp16, facts), "shell_protocol": adb.protocol},
            extra=extra,
        )


def _delegation_label(delegation: dict) -> str:
    """What the tables show: a partially delegated run is never silently the accelerator's number."""
    graph = delegation.get("graph")
    if graph == "partial":
        kernels = delegation.get("delegate_kernels")
        return f"partial ({kernels} delegate kernels, the rest on the CPU)" if kernels else "partial"
    return {"complete": "complete", "none": "none (all on the CPU)"}.get(graph, "not reported")


def _compute_unit(session: Session) -> str:
    """Where the graph was asked to run: the CPU (XNNPACK or TFLite's kernels), the GPU, or NNAPI's accelerator."""
    if session.delegate == "nnapi":
        return f"nnapi:{session.accelerator}" if session.accelerator else "nnapi (the driver's choice)"
    return "gpu" if session.delegate == "gpu" else "cpu"


def _arithmetic(session: Session, forced_fp16: bool, facts: dict) -> str:
    if session.precision != "fp16":
        return session.precision
    if session.delegate == "gpu":
        return "fp16 (GPU, precision loss allowed)"
    if forced_fp16:  # fp16 arithmetic needs the CPU's half-precision instructions (asimdhp/fphp)
        return "fp16" if facts.get("fp16_arithmetic") else "fp16 forced, but the CPU reports no fp16 arithmetic"
    return "fp32 (fp16 weights dequantized)"


_PIXEL_DELEGATES = ("xnnpack", "cpu", "gpu", "nnapi")
_PIXEL_ACCEL = {"nnapi": "google-edgetpu"}
for _target in (
    AndroidTarget("pixel6", "Google Pixel 6 (Tensor G1): CPU XNNPACK, GPU, EdgeTPU via NNAPI", PHONES["pixel6"],
                  _PIXEL_DELEGATES, _PIXEL_ACCEL),
    AndroidTarget("pixel7", "Google Pixel 7 (Tensor G2): CPU XNNPACK, GPU, EdgeTPU via NNAPI", PHONES["pixel7"],
                  _PIXEL_DELEGATES, _PIXEL_ACCEL),
    AndroidTarget("pixel8", "Google Pixel 8 (Tensor G3): CPU XNNPACK, GPU, EdgeTPU via NNAPI", PHONES["pixel8"],
                  _PIXEL_DELEGATES, _PIXEL_ACCEL),
    AndroidTarget("samsung-s23", "Samsung Galaxy S23 (Snapdragon 8 Gen 2): CPU XNNPACK, GPU, NNAPI",
                  PHONES["samsung-s23"], ("xnnpack", "cpu", "gpu", "nnapi")),
    AndroidTarget("android", "any Android phone over adb (pick it with --serial)", (),
                  ("xnnpack", "cpu", "gpu", "nnapi")),
):
    register_target(_target)

__all__ = ["AndroidTarget", "DELEGATE_PRECISIONS", "PHONES"]
