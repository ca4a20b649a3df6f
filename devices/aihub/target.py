"""Qualcomm AI Hub targets: the exported artifact profiled on a real Snapdragon phone in AI Hub's device farm.

One measurement = upload the artifact (.tflite runs on TFLite, .onnx on ONNX Runtime: AI Hub picks the runtime
from the model type), submit one profile job on one device with `--compute_unit`, poll it with a bounded wait,
download the profile, and hand back its per-run times as the samples. With several --device values the run
command fans out: one lane per device (`fan_out = "device"`), jobs running concurrently on AI Hub.

Protocol mapping: AI Hub, not the protocol, chooses how many runs to time (its default is 100; --max-iterations
asks for another cap). One job is one repeat. The protocol's statistic is computed over the runs that came back,
and the record's extra["method"] says how many that was and which statistic it is (runs, repeats, warmup: what
the coordinator should write into the record's method fields).
"""

from __future__ import annotations

import sys
import threading
import time

from bench.core.errors import BenchError, UnsupportedFormat
from bench.core.options import Option
from bench.core.outcome import Timing
from devices.aihub.client import AIHubError
from devices.aihub.profile import PartialPlacement, device_facts, summarize
from devices.registry import Measurement, Target, register_target

RUNTIMES = {"tflite": ("tflite", "framework:tflite"), "onnx": ("onnxruntime", "framework:onnx")}
COMPUTE_UNITS = ("npu", "gpu", "cpu")
# Where AI Hub's documented defaults compute an fp32 model in fp16 (README, "Precision"): the NPU (Hexagon HTP) has
# no fp32 path, and TFLite on the GPU allows fp16 for fp32. The job is sent as asked; the record says what ran.
FP16_MATH = {
    ("tflite", "npu"): "the NPU has no fp32 path: TFLite's QNN delegate runs float graphs with fp16 math "
                       "(AI Hub's default qnn_htp_precision=kHtpFp16)",
    ("onnx", "npu"): "the NPU has no fp32 path: ONNX Runtime's QNN EP runs float graphs with fp16 math "
                     "(AI Hub's default qnn_enable_htp_fp16_precision=1)",
    ("tflite", "gpu"): "TFLite on the GPU runs fp32 graphs with fp16 math (AI Hub's default allow_fp32_as_fp16=true)",
}
# Shortcuts: a target name for a device name exactly as AI Hub lists it (`bench targets --aihub`). Data, not code.
SHORTCUTS = {
    "aihub-s23": ("Samsung Galaxy S23", "Samsung Galaxy S23 (Snapdragon 8 Gen 2) on Qualcomm AI Hub"),
    "aihub-s24": ("Samsung Galaxy S24 (Family)", "Samsung Galaxy S24 (Snapdragon 8 Gen 3) on Qualcomm AI Hub"),
    "aihub-s25": ("Samsung Galaxy S25 (Family)", "Samsung Galaxy S25 (Snapdragon 8 Elite) on Qualcomm AI Hub"),
}

AIHUB_OPTIONS = (
    Option("device", str, None, "AI Hub device name, exactly as `bench targets --aihub` lists it; repeat for several "
                                "devices, profiled concurrently", multiple=True),
    Option("compute_unit", str, "npu", "compute unit AI Hub targets (its --compute_unit; TFLite and ONNX Runtime "
                                       "fall back to the CPU for layers the unit cannot run)", choices=COMPUTE_UNITS),
    Option("allow_partial", bool, False, "store a run whose layers did not all run on the requested compute unit"),
    Option("max_iterations", int, None, "ask AI Hub to time at most N runs (--max_profiler_iterations); "
                                        "default: AI Hub's choice (100)"),
    Option("timeout_s", float, 1800.0, "give up waiting for a job after S seconds (the job keeps running on AI Hub)"),
    Option("poll_s", float, 10.0, "seconds between status checks"),
    Option("client_profile", str, None, "qai-hub named profile (~/.qai_hub/NAME.ini) instead of the default config"),
)

_pending: dict[str, str] = {}  # job id -> one line to collect it; jobs submitted by this process, not yet collected
_pending_lock = threading.Lock()
_hubs: dict[str | None, object] = {}  # one connected client per config profile, shared by the device lanes
_hubs_lock = threading.Lock()


def pending_jobs() -> list[str]:
    """Submitted jobs not collected yet, one line each with the command that collects them (for Ctrl-C)."""
    with _pending_lock:
        return list(_pending.values())


def hub(client_profile: str | None):
    from devices.aihub.client import Hub

    with _hubs_lock:
        if client_profile not in _hubs:
            _hubs[client_profile] = Hub(client_profile)
        return _hubs[client_profile]


def one_device(value) -> str | None:
    """The coordinator hands each lane one device (fan_out = "device"); a direct caller may pass a 1-list."""
    if isinstance(value, (list, tuple)):
        if len(value) > 1:
            raise BenchError(f"{len(value)} devices given to one measurement; each device is profiled in a lane of "
                             "its own (the run command fans out over --device)")
        return value[0] if value else None
    return value


def profile_options(options: dict) -> str:
    """The job's option string, exactly as AI Hub's profile options spell it."""
    words = ["--compute_unit", options.get("compute_unit") or "npu"]
    if options.get("max_iterations"):
        words += ["--max_profiler_iterations", str(int(options["max_iterations"]))]
    return " ".join(words)


def compute_precision(fmt: str, precision: str, compute_unit: str) -> tuple[str, str | None]:
    """(the precision AI Hub computes in, why it is not the file's) for a model of `precision` on `compute_unit`."""
    reason = FP16_MATH.get((fmt, compute_unit)) if precision == "fp32" else None
    return ("fp16", reason) if reason else (precision, None)


def notify(line: str) -> None:
    print(f"aihub: {line}", file=sys.stderr, flush=True)


class AIHubTarget(Target):
    kind = "aihub"
    runtime = "aihub"
    supports = {"tflite": ("fp32", "fp16", "int8"), "onnx": ("fp32",)}
    default_format, default_precision = "tflite", "int8"  # the NPU (Hexagon) runs integer models natively
    options = AIHUB_OPTIONS
    fan_out = "device"

    def __init__(self, name: str, description: str, device: str | None = None, aliases: tuple[str, ...] = ()):
        self.name, self.description, self.default_device, self.aliases = name, description, device, aliases

    def device_name(self, options: dict) -> str:
        name = one_device(options.get("device")) or self.default_device
        if not name:
            raise BenchError(f"target {self.name} needs --device NAME (an AI Hub device; `bench targets --aihub` "
                             "lists them), or use a shortcut such as aihub-s23")
        return name

    def check_options(self, fmt: str, precision: str, options: dict) -> None:
        if fmt not in RUNTIMES:
            raise UnsupportedFormat(f"AI Hub profiles .tflite (TFLite) and .onnx (ONNX Runtime) models, not {fmt}")
        self.device_name(options)

    def interrupted(self) -> list[str]:
        return pending_jobs()

    def preflight(self, options: dict) -> None:
        given = options.get("device")
        names = [given] if isinstance(given, str) else list(given or []) or [self.device_name(options)]
        h = hub(options.get("client_profile"))
        for name in names:  # credentials, network and every device name checked before anything is exported
            h.device(name)

    def plan(self, artifact, protocol, *, threads: int, options: dict) -> list[str]:
        device = one_device(options.get("device")) or self.default_device or "<--device>"
        poll, timeout = float(options.get("poll_s", 10.0)), float(options.get("timeout_s", 1800.0))
        computed, why = compute_precision(artifact.format, artifact.precision, options.get("compute_unit") or "npu")
        math = f" ({artifact.precision} model computed in {computed}: {why})" if why else ""
        return [
            f"# qai_hub: upload {artifact.path} ({artifact.format}, runs on {RUNTIMES[artifact.format][0]}) once",
            f"# qai_hub: submit a profile job on device {device!r} with options {profile_options(options)!r}{math}",
            f"# qai_hub: poll the job every {poll:g} s for at most {timeout:g} s (Ctrl-C leaves it running; "
            "`bench import aihub JOB_ID` collects it)",
            "# qai_hub: download the profile; its per-run times are the samples "
            f"({protocol.name} statistic over the runs AI Hub returns)",
        ]

    def measure(self, artifact, protocol, *, threads, options, progress) -> Measurement:
        if artifact.format not in RUNTIMES:
            raise UnsupportedFormat(f"AI Hub profiles .tflite and .onnx models, not {artifact.format}")
        h = hub(options.get("client_profile"))
        device = h.device(self.device_name(options))
        framework = RUNTIMES[artifact.format][1]
        if framework not in device.attributes:
            raise AIHubError(f"AI Hub device '{device.name}' does not run {artifact.format} models "
                             f"(its runtimes: {', '.join(a[10:] for a in device.attributes if a.startswith('framework:'))})")
        unit = options.get("compute_unit") or "npu"
        computed, why = compute_precision(artifact.format, artifact.precision, unit)
        if why:
            notify(f"{artifact.precision} {artifact.format} on the {unit.upper()} is computed in {computed}: {why}; "
                   f"the record says so (options.compute_precision)")
        model = h.upload(artifact.path, artifact.sha256)
        job = h.submit(model, device, profile_options(options), name=f"bench {artifact.model} {artifact.precision}")
        collect = f"AI Hub job {job.job_id} on {device.name!r} ({job.url}): `bench import aihub {job.job_id}`"
        with _pending_lock:
            _pending[job.job_id] = collect
        notify(f"submitted job {job.job_id} on {device.name!r}: {job.url}")
        try:
            self._wait(h, job, float(options.get("timeout_s", 1800.0)), float(options.get("poll_s", 10.0)))
        except KeyboardInterrupt:
            notify(f"interrupted; left running: {collect}")
            raise
        job = h.job(job.job_id)  # as the service now reports it: the device it ran on, its hub version
        document = h.profile(job)
        with _pending_lock:
            _pending.pop(job.job_id, None)
        try:
            m = measurement(document, job, job.device, artifact.format, unit, bool(options.get("allow_partial")),
                            protocol, profile_options(options), model_precision=artifact.precision)
        except PartialPlacement as e:  # the job is done: say how to keep it without paying for a re-run
            raise PartialPlacement(f"{e} (AI Hub job {job.job_id}: `bench import aihub {job.job_id} "
                                   "--allow-partial` stores it without a re-run)") from None
        progress(len(m.outcome.samples_ns[0]))
        return m

    @staticmethod
    def _wait(h, job, timeout_s: float, poll_s: float) -> None:
        """Poll until the job finishes; show each state change; a failed job or the timeout is one line."""
        deadline, last = time.monotonic() + timeout_s, None
        while True:
            status = h.status(job)
            if status.code != last:
                notify(f"job {job.job_id}: {status.code}")
                last = status.code
            if status.finished:
                break
            if time.monotonic() >= deadline:
                raise AIHubError(f"AI Hub job {job.job_id} did not finish within {timeout_s:g} s (--timeout-s); it "
                                 f"keeps running: collect it later with `bench import aihub {job.job_id}`")
            time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))
        if not status.success:
            with _pending_lock:
                _pending.pop(job.job_id, None)  # finished: nothing left to collect
            raise AIHubError(f"AI Hub job {job.job_id} failed on {job.device.name!r}: "
                             f"{status.message or 'no reason given'} ({job.url})")


def measurement(document: dict, job, device, fmt: str, compute_unit: str, allow_partial: bool, protocol,
                options_string: str, model_precision: str | None = None) -> Measurement:
    """Profile document + job -> Measurement: one repeat of the runs AI Hub timed, and the facts beside them.
    With the model's precision, options.compute_precision says what AI Hub computed it in."""
    samples, facts = summarize(document, compute_unit, allow_partial)
    runtime = RUNTIMES[fmt][0]
    # What was actually done, for the record's method fields: the protocol's runs/repeats/warm-up do not apply.
    method = {"runs": len(samples), "repeats": 1, "warmup": 0,
              "chosen_by": "AI Hub (run count and warm-up are its own; warm-up runs are not reported)",
              "statistic": f"{protocol.name}'s statistic over the {len(samples)} runs AI Hub returned (its "
                           f"{protocol.repeats} x {protocol.runs} runs do not apply)"}
    precision_facts = {}
    if model_precision:
        computed, why = compute_precision(fmt, model_precision, compute_unit)
        precision_facts = {"compute_precision": computed}
        if why:
            method["compute_precision"] = f"{model_precision} model computed in {computed}: {why}"
    return Measurement(
        runtime=f"aihub-{runtime}",
        runtime_version=f"AI Hub {job.hub_version}".strip(),
        outcome=Timing(samples_ns=[samples]),
        ran={k: method[k] for k in ("warmup", "runs", "repeats")},  # AI Hub's own counts, not the protocol's
        device=device_facts(device.name, device.os, device.attributes),
        options={"compute_unit": compute_unit, **precision_facts, "profile_options": options_string,
                 "delegation": facts["placement"]["status"]},
        extra={"method": method,
               "aihub": {"job_id": job.job_id, "url": job.url, "model_id": job.model.model_id, **facts}},
    )


register_target(AIHubTarget("aihub", "a phone in Qualcomm AI Hub's device farm (pick it with --device NAME)"))
for _name, (_device, _description) in SHORTCUTS.items():
    register_target(AIHubTarget(_name, _description, _device))
