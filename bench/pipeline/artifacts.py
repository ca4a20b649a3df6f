"""The artifact a job runs, by the kind of its source: a zoo model or a module exported (or found in the cache), a
TensorFlow model converted, or the user's own file as it is."""

from __future__ import annotations

import copy

from bench.artifact import Artifact, artifact_from_file, artifact_from_tf_source, cache_entry, ensure_artifact
from bench.pipeline.spec import Job
from exporters.source import KerasZooModel, ModelFile, TensorFlowModel, TorchModule, ZooModel


def export_request(job: Job):
    """The export request of a zoo model or a module, as the job's choice says."""
    from exporters.registry import ExportRequest
    from exporters.tflite_export import calibration_source

    choice, int8 = job.choice, job.choice.precision == "int8"
    return ExportRequest(
        model=job.source.name, resolution=choice.resolution, format=choice.format, precision=choice.precision,
        input_kind=choice.input_kind, calibration=calibration_source(choice.calibration_dir) if int8 else "none",
        calibration_dir=choice.calibration_dir if int8 else None,
        content=job.source.content_key() if isinstance(job.source, TorchModule) else "")


def _exported(job: Job, force: bool, notify) -> Artifact:
    build = None
    if isinstance(job.source, TorchModule):  # the user's network as given, in inference mode (their object untouched)
        build = lambda: copy.deepcopy(job.source.module).eval()  # noqa: E731
    return ensure_artifact(export_request(job), force=force, notify=notify, build=build)


def _converted(job: Job, force: bool, notify) -> Artifact:
    return artifact_from_tf_source(job.source.path, precision=job.precision, resolution=job.choice.resolution,
                                   calibration_dir=job.choice.calibration_dir, force=force, notify=notify)


def _as_given(job: Job, force: bool, notify) -> Artifact:
    return artifact_from_file(job.source.path, described=job.source.described)


RESOLVERS = {ZooModel: _exported, KerasZooModel: _exported, TorchModule: _exported, TensorFlowModel: _converted,
             ModelFile: _as_given}


def resolve_artifact(job: Job, *, force: bool = False, notify=None) -> Artifact:
    return RESOLVERS[type(job.source)](job, force, notify)


def planned_artifact(job: Job) -> Artifact:
    """For a dry run: the artifact as it is, or where the export would put it. Exports nothing."""
    if isinstance(job.source, TensorFlowModel):
        return Artifact(path=job.source.path, format="tflite", precision=job.precision, model=job.source.name,
                        resolution=job.choice.resolution or 0)
    if isinstance(job.source, ModelFile):
        return resolve_artifact(job)
    request = export_request(job)
    found, path = cache_entry(request)
    if found is not None:
        return found
    return Artifact(path=path, format=request.format, precision=request.precision, model=request.model,
                    resolution=request.resolution, input_kind=request.input_kind)
