"""The artifact a job runs: the user's file, or a zoo model exported (or found in the cache)."""

from __future__ import annotations

from bench.artifact import Artifact, artifact_from_file, artifact_from_tf_source, cache_entry, ensure_artifact, is_tf_source
from bench.pipeline.spec import Job, is_model_path


def export_request(job: Job):
    return request_for(job.spec, job.format, job.precision)


def request_for(spec, fmt: str, precision: str):
    """The export request of a zoo model (its name, resolution and calibration resolved); checks the exporter."""
    from bench.zoo import get_entry
    from exporters import get_exporter
    from exporters.registry import ExportRequest
    from exporters.tflite_export import calibration_source

    entry = get_entry(spec.model)
    request = ExportRequest(
        model=entry.name,
        resolution=spec.resolution or entry.resolution,
        format=fmt,
        precision=precision,
        input_kind=spec.input_kind,
        calibration=calibration_source(spec.calibration_dir) if precision == "int8" else "none",
        calibration_dir=spec.calibration_dir if precision == "int8" else None,
    )
    get_exporter(fmt).check(request)
    return request


def resolve_artifact(job: Job, *, force: bool = False, notify=None) -> Artifact:
    spec = job.spec
    if is_tf_source(spec.model):  # a SavedModel / .keras / .h5: TensorFlow's converter, cached by content
        return artifact_from_tf_source(spec.model, precision=job.precision, resolution=spec.resolution,
                                       calibration_dir=spec.calibration_dir, force=force, notify=notify)
    if is_model_path(spec.model):
        artifact = artifact_from_file(job.spec.model)
        job.target.check(artifact.format, artifact.precision)
        return artifact
    return ensure_artifact(export_request(job), force=force, notify=notify)


def planned_artifact(job: Job) -> Artifact:
    """For a dry run: the artifact as it is, or where the export would put it. Exports nothing."""
    if is_tf_source(job.spec.model):
        return Artifact(path=job.spec.model, format="tflite", precision=job.precision, model=job.spec.model,
                        resolution=job.spec.resolution or 0)
    if is_model_path(job.spec.model):
        return resolve_artifact(job)
    request = export_request(job)
    found, path = cache_entry(request)
    if found is not None:
        return found
    return Artifact(path=path, format=request.format, precision=request.precision, model=request.model,
                    resolution=request.resolution, input_kind=request.input_kind)
