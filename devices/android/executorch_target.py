"""`android-executorch`: a .pte timed on an Android phone by ExecuTorch's `executor_runner` over adb
(devices/android/executor_runner.py says how the tool is driven), with the checks the TFLite targets make: the
binary is an Android arm64 build the phone can run, files are pushed only when changed, the run is pinned to the
fastest online cores with taskset, and each invocation is bracketed by thermal-status and clock readings (a hot or
capped phone is refused unless --allow-throttled keeps it flagged). Raw per-run samples are stored.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.core.errors import DeviceError
from bench.core.hashing import content_hash
from bench.core.options import Option
from bench.core.outcome import Timing
from devices.android.adb import Adb, choose_serial, list_devices
from devices.android.benchmark_model import push_if_changed
from devices.android.device_state import after, before, refuse_or_flag
from devices.android.elf import check_abi, check_android_build, read_executable
from devices.android.executor_runner import (DEVICE_DIR, LOGCAT_CLEAR, LOGCAT_READ, REMOTE_RUNNER, iterations_ms,
                                             last_words, load_ms, local_runner, runner_command)
from devices.android.phone import device_facts, fastest_cores_mask
from devices.android.target import one_serial
from devices.delegation import delegation_extra, refuse_partial
from devices.registry import Measurement, Target, register_target

OPTIONS = (
    Option("executor_runner", Path, None, "ExecuTorch's executor_runner built for Android arm64 (or "
                                          "$BENCH_EXECUTOR_RUNNER)"),
    Option("serial", str, None, "device serial (adb devices -l); repeat for several phones, measured in parallel",
           multiple=True),
    Option("cooldown_s", float, 60.0, "before each invocation wait up to S seconds for thermal status 0 and "
                                      "uncapped pinned cores"),
    Option("allow_throttled", bool, False, "keep a run whose phone was hot or whose pinned cores were capped, "
                                           "flagged, instead of refusing it"),
    Option("require_full_delegation", bool, False,
           "refuse a .pte whose graph XNNPACK did not take whole (ops left to portable kernels)"),
    Option("retry_wait_s", float, 5.0, "wait before retrying a lost device once"),
)
SECONDS_PER_RUN_BOUND = 5.0  # a timeout per execution no phone CPU needs for a mobile vision model


class AndroidExecuTorchTarget(Target):
    name = "android-executorch"
    description = "any Android phone over adb, ExecuTorch's executor_runner (XNNPACK) on its fastest cores"
    kind = "android"
    runtime = "executorch-executor_runner"
    supports = {"pte": ("fp32", "int8")}
    default_format, default_precision = "pte", "int8"
    default_protocol = "mnv4"  # as the TFLite phone targets
    options = OPTIONS
    fan_out = "serial"

    def preflight(self, options: dict) -> None:
        choose_serial(one_serial(options.get("serial")), list_devices(), self.name)
        check_android_build(read_executable(local_runner(options.get("executor_runner"))))

    def ready(self, artifact, options: dict) -> None:
        refuse_partial(artifact, options)

    def _command(self, artifact, protocol, threads, mask) -> str:
        return runner_command(f"{DEVICE_DIR}/{Path(artifact.path).name}", executions=protocol.warmup + protocol.runs,
                              threads=threads, mask=mask)

    def plan(self, artifact, protocol, *, threads: int, options: dict) -> list[str]:
        serial = one_serial(options.get("serial")) or "SERIAL"
        runner = options.get("executor_runner") or "<executor_runner>"
        remote_model = f"{DEVICE_DIR}/{Path(artifact.path).name}"
        adb = f"adb -s {serial}"
        lines = [f"{adb} push {runner} {REMOTE_RUNNER}", f"{adb} shell chmod 755 {REMOTE_RUNNER}",
                 f"{adb} push {artifact.path} {remote_model}"]
        for _ in range(protocol.repeats):
            lines += [f"{adb} shell dumpsys thermalservice  # and the pinned cores' clocks, before",
                      f"{adb} shell {LOGCAT_CLEAR}",
                      f"{adb} shell '{self._command(artifact, protocol, threads, 'MASK')}'",
                      f"{adb} shell {LOGCAT_READ}",
                      f"{adb} shell dumpsys thermalservice  # and the clocks, after"]
        return lines

    def measure(self, artifact, protocol, *, threads, options, progress) -> Measurement:
        runner = local_runner(options.get("executor_runner"))
        elf = read_executable(runner)
        check_android_build(elf)  # on the host, before any phone is asked
        serial = choose_serial(one_serial(options.get("serial")), list_devices(), self.name)
        adb = Adb(serial, retry_wait_s=float(options.get("retry_wait_s", 5.0)))
        facts = device_facts(adb)
        check_abi(elf, facts["abilist"], f"{self.name} (serial {serial})")
        remote_model = f"{DEVICE_DIR}/{Path(artifact.path).name}"
        pushed = {"runner": push_if_changed(adb, runner, REMOTE_RUNNER, True),
                  "model": push_if_changed(adb, Path(artifact.path), remote_model)}
        mask, cores = (fastest_cores_mask(facts["core_max_khz"], threads, facts["cores_online"])
                       if facts["core_max_khz"] else (None, []))
        command = self._command(artifact, protocol, threads, mask)
        source = f"{serial} ({self.name})"
        samples, hygiene, readings, reasons, loads = [], [], [], [], []
        for repeat in range(protocol.repeats):
            samples_ms, state = self._invocation(adb, command, protocol, cores, repeat + 1, options, source)
            check, entries, found, loaded = state
            samples.append([round(ms * 1e6) for ms in samples_ms[protocol.warmup:]])
            hygiene.append(check)
            readings.extend(entries)
            reasons.extend(found)
            loads.append(loaded)
            progress(protocol.runs)
        extra = {"load_ms": loads, "hygiene": hygiene, "device_state": readings, "pushed": pushed,
                 "warmup_in_process": protocol.warmup, **delegation_extra(artifact)}
        if reasons:
            extra["throttled"] = reasons[0] + (f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else "")
        return Measurement(
            runtime=self.runtime, runtime_version=f"executor_runner sha256:{content_hash(runner)[:12]}",
            outcome=Timing(samples_ns=samples), device={**facts, "affinity_cores": cores}, extra=extra,
            options={"threads": threads, "taskset_mask": mask, "command": command, "backend": "xnnpack",
                     "shell_protocol": adb.protocol, "cooldown_s": float(options.get("cooldown_s", 60.0)),
                     "allow_throttled": bool(options.get("allow_throttled")),
                     "require_full_delegation": bool(options.get("require_full_delegation"))})

    def _invocation(self, adb, command, protocol, cores, invocation, options, source):
        cooldown, allowed = float(options.get("cooldown_s", 60.0)), bool(options.get("allow_throttled"))
        check, ahead = before(adb, cores, invocation, cooldown)
        found = [refuse_or_flag(ahead, allowed, source)]
        adb.shell(LOGCAT_CLEAR)
        executions = protocol.warmup + protocol.runs
        started = time.monotonic()
        result = adb.run(command, timeout=60.0 + SECONDS_PER_RUN_BOUND * executions)
        log = adb.shell(LOGCAT_READ, check=False)
        if result.rc != 0:
            raise DeviceError(f"{source}: executor_runner failed (exit code {result.rc}): {last_words(log)}")
        samples_ms = iterations_ms(log, executions, f"{source} invocation {invocation}")
        behind = after(adb, cores, invocation)
        found.append(refuse_or_flag(behind, allowed, source))
        check = {**check, "wall_s": round(time.monotonic() - started, 2)}
        return samples_ms, (check, ahead + behind, [r for r in found if r], load_ms(log))


register_target(AndroidExecuTorchTarget())
