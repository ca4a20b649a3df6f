"""Android targets: benchmark_model pushed to the phone, run under taskset on its fastest cores."""

from __future__ import annotations

import time

from bench.core.hashing import content_hash
from bench.core.errors import BenchError, DeviceError, UnsupportedFormat
from devices.android.adb import Adb, choose_serial, list_devices
from devices.android.benchmark_model import (
    DEVICE_DIR,
    benchmark_args,
    benchmark_command,
    delegate_flags,
    local_binary,
    push_if_changed,
    run_benchmark,
)
from devices.android.phone import device_facts, fastest_cores_mask, hygiene
from devices.registry import Measurement, Target, register_target

# Which precisions each delegate runs (TFLite models only).
DELEGATE_PRECISIONS = {
    "xnnpack": ("fp32", "fp16", "int8"),
    "cpu": ("fp32", "fp16", "int8"),
    "gpu": ("fp32", "fp16"),
    "nnapi": ("int8",),
    "hexagon": ("int8",),
}


class AndroidTarget(Target):
    kind = "android"
    runtime = "tflite-benchmark_model"
    supports = {"tflite": ("fp32", "fp16", "int8")}
    default_format, default_precision = "tflite", "int8"  # MobileNetV4 paper: INT8 on the CPU (XNNPACK)

    def __init__(self, name, description, model_names=(), delegates=("xnnpack", "cpu", "gpu"), accelerators=None):
        self.name = name
        self.description = description
        self.model_names = tuple(model_names)  # substrings of ro.product.model this target accepts
        self.delegates = tuple(delegates)
        self.accelerators = dict(accelerators or {})  # delegate -> default accelerator name

    def pairs(self) -> list[str]:
        return [f"tflite/{p} ({d})" for d in self.delegates for p in DELEGATE_PRECISIONS[d]]

    def preflight(self, options: dict) -> None:
        choose_serial(options.get("serial"), list_devices(), self.name)
        local_binary(options.get("benchmark_model"))

    def check_options(self, fmt: str, precision: str, options: dict) -> None:
        self.check_delegate(options.get("delegate") or "xnnpack", precision)

    def check_delegate(self, delegate: str, precision: str) -> None:
        if delegate not in self.delegates:
            raise UnsupportedFormat(f"target {self.name} has no delegate '{delegate}'; it has: {', '.join(self.delegates)}")
        if precision not in DELEGATE_PRECISIONS[delegate]:
            raise UnsupportedFormat(f"delegate {delegate} on {self.name} cannot run tflite/{precision}; "
                                    f"it runs: {', '.join(DELEGATE_PRECISIONS[delegate])}")

    def measure(self, artifact, protocol, *, threads, options, progress) -> Measurement:
        delegate = options.get("delegate") or "xnnpack"
        self.check_delegate(delegate, artifact.precision)
        if protocol.from_summaries is None:
            raise BenchError(f"protocol {protocol.name} needs raw per-run samples, which benchmark_model does not "
                             "print; use mobileone or mnv4 on Android")
        serial = choose_serial(options.get("serial"), list_devices(), self.name)
        adb = Adb(serial, retry_wait_s=float(options.get("retry_wait_s", 5.0)))
        facts = device_facts(adb)
        if self.model_names and not any(n.lower() in facts["model"].lower() for n in self.model_names):
            raise DeviceError(f"device {serial} is a {facts['model'] or 'unknown model'}, not a "
                              f"{' or '.join(self.model_names)}; use --target android for any phone")
        binary = local_binary(options.get("benchmark_model"))
        remote_binary = f"{DEVICE_DIR}/benchmark_model"
        pushed_binary = push_if_changed(adb, binary, remote_binary, executable=True)
        remote_model = f"{DEVICE_DIR}/{artifact.sha256[:16]}.tflite"
        pushed_model = push_if_changed(adb, artifact.path, remote_model)
        mask, cores = fastest_cores_mask(facts["core_max_khz"], threads) if facts["core_max_khz"] else (None, [])
        accelerator = options.get("accelerator") or self.accelerators.get(delegate)
        args = benchmark_args(remote_model, runs=protocol.runs, warmup=protocol.warmup, threads=threads,
                              delegate=delegate, accelerator=accelerator, op_profile=bool(options.get("op_profile")))
        command = benchmark_command(remote_binary, args, mask)
        summaries, invocations, checks = [], [], []
        for repeat in range(protocol.repeats):
            if repeat and float(options.get("pause_s", 0)) > 0:
                time.sleep(float(options["pause_s"]))
            checks.append(hygiene(adb, float(options.get("cooldown_s", 60.0))))
            log = run_benchmark(adb, command, protocol.runs, source=f"{serial} invocation {repeat + 1}")
            summaries.append(log.measured.summary())
            invocations.append(log.to_json())
            if log.op_profile:
                invocations[-1]["op_profile"] = log.op_profile
            progress(protocol.runs)
        first = invocations[0]
        return Measurement(
            runtime=self.runtime,
            runtime_version=f"benchmark_model sha256:{content_hash(binary)[:12]}",
            repeat_summaries=summaries,
            device={**facts, "affinity_cores": cores},
            options={"threads": threads, "delegate": delegate, "accelerator": accelerator, "taskset_mask": mask,
                     "flags": args, "command": command},
            extra={"init_ms": first["init_ms"], "first_inference_ms": first["first_inference_ms"],
                   "memory": first["memory"], "invocations": invocations, "hygiene": checks,
                   "pushed": {"binary": pushed_binary, "model": pushed_model}},
        )


_PIXEL_DELEGATES = ("xnnpack", "cpu", "gpu", "nnapi")
_PIXEL_ACCEL = {"nnapi": "google-edgetpu"}
for _target in (
    AndroidTarget("pixel6", "Google Pixel 6 (Tensor G1): CPU XNNPACK, GPU, EdgeTPU via NNAPI", ["Pixel 6"],
                  _PIXEL_DELEGATES, _PIXEL_ACCEL),
    AndroidTarget("pixel7", "Google Pixel 7 (Tensor G2): CPU XNNPACK, GPU, EdgeTPU via NNAPI", ["Pixel 7"],
                  _PIXEL_DELEGATES, _PIXEL_ACCEL),
    AndroidTarget("pixel8", "Google Pixel 8 (Tensor G3): CPU XNNPACK, GPU, EdgeTPU via NNAPI", ["Pixel 8"],
                  _PIXEL_DELEGATES, _PIXEL_ACCEL),
    AndroidTarget("samsung-s23", "Samsung Galaxy S23 (Snapdragon 8 Gen 2): CPU XNNPACK, GPU, Hexagon DSP",
                  ["SM-S911", "SM-S916", "SM-S918", "Galaxy S23"], ("xnnpack", "cpu", "gpu", "hexagon", "nnapi")),
    AndroidTarget("android", "any Android phone over adb (pick it with --serial)", (),
                  ("xnnpack", "cpu", "gpu", "nnapi", "hexagon")),
):
    register_target(_target)

__all__ = ["AndroidTarget", "DELEGATE_PRECISIONS", "delegate_flags"]
