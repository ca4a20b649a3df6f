"""`bench import aihub JOB_ID`: a finished AI Hub profile job, submitted by bench or by anyone, as a record.

The same conversion as a live run (devices/aihub/target.py `measurement`), so an interrupted run collected later
and a job run outside bench give the same record a `bench run --target aihub` would. The record is marked
imported; the importing machine's facts are left out, since it measured nothing.
"""

from __future__ import annotations

from dataclasses import replace

from bench.core.errors import InputDataError
from bench.core.protocols import get_protocol
from bench.core.record import Record, build_record
from devices.aihub.client import AIHubError
from devices.aihub.target import SHORTCUTS, hub, measurement
from exporters.source import imported_subject

FORMATS = {"TFLITE": "tflite", "ONNX": "onnx"}


def requested_unit(options: str) -> str:
    """--compute_unit from the job's option string; AI Hub's default when absent is 'all' (NPU, then GPU, CPU)."""
    words = (options or "").replace("=", " ").split()
    if "--compute_unit" in words[:-1]:
        unit = words[words.index("--compute_unit") + 1].lower()
        return unit if unit in ("npu", "gpu", "cpu") else "all"
    return "all"


def resolution_of(shapes: dict) -> int:
    """The square side of the first input (NHWC or NCHW), 0 when it is not a square image."""
    for spec in (shapes or {}).values():
        shape = spec[0] if isinstance(spec, tuple) and isinstance(spec[0], tuple) else spec
        dims = [int(d) for d in shape[1:]]
        square = [d for d in dims if dims.count(d) >= 2 and d > 4]
        return square[0] if square else 0
    return 0


def identity(job) -> tuple[str, str]:
    """(model, precision): bench names its jobs 'bench MODEL PRECISION'; any other job is named by its model."""
    words = (job.name or "").split()
    if len(words) == 3 and words[0] == "bench":
        return words[1], words[2]
    return (job.model.name or job.model.model_id).rsplit(".", 1)[0], "unknown"


def _check_place(target: str, fmt: str, precision: str, resolution: int) -> None:
    """An AI Hub profile is stored only under an AI Hub target that would have run it (a run's own check)."""
    from devices import get_target

    place = get_target(target)
    if place.kind != "aihub":
        raise InputDataError(f"an AI Hub job is stored under aihub or a shortcut (aihub-s23, ...), not {place.name}, "
                             "which measures elsewhere")
    place.check_record(fmt, precision, resolution or None, counted=False)


def import_job(job_id: str, *, model: str | None = None, precision: str | None = None, target: str | None = None,
               protocol: str = "mobileone", allow_partial: bool = False,
               client_profile: str | None = None) -> Record:
    """The Record of AI Hub profile job `job_id`. Raises a BenchError (one line) when there are no credentials, the
    job is unknown, still running, failed, not a profile job, or of a model type other than .tflite/.onnx."""
    chosen = get_protocol(protocol)
    h = hub(client_profile)
    job = h.job(job_id)
    if not getattr(job, "profiling", False):
        raise InputDataError(f"AI Hub job {job_id} is a {job.job_type} job without a profile; import a profile job")
    status = h.status(job)
    if not status.finished:
        raise AIHubError(f"AI Hub job {job_id} is still {status.code}; import it once it has finished ({job.url})")
    if not status.success:
        raise AIHubError(f"AI Hub job {job_id} failed on {job.device.name!r}: {status.message or 'no reason given'}; "
                         "a failed job is not a result")
    fmt = FORMATS.get(job.model.model_type.name)
    if fmt is None:
        raise InputDataError(f"AI Hub job {job_id} profiled a {job.model.model_type.name} model; bench imports "
                             ".tflite and .onnx profiles")
    document = h.profile(job)
    named_model, named_precision = identity(job)
    m = measurement(document, job, job.device, fmt, requested_unit(job.options), allow_partial, chosen,
                    job.options, model_precision=precision or named_precision)
    shortcut = next((n for n, (device, _) in SHORTCUTS.items() if device == job.device.name), "aihub")
    _check_place(target or shortcut, fmt, precision or named_precision, resolution_of(job.shapes))
    subject = replace(imported_subject(model or named_model, resolution_of(job.shapes), fmt,
                                       precision or named_precision, unknown_precision=precision is None),
                      artifact_hash=f"aihub-model:{job.model.model_id}")
    m.extra = {**m.extra, "threads_note": "AI Hub does not report thread counts"}
    return build_record(subject, target or shortcut, chosen, m, threads=0)
