"""The artifact a deployment runs, by the kind of its source: a zoo model or a module exported (or found in the
cache), a TensorFlow model converted, or the user's own file as it is."""

from __future__ import annotations

import copy
import os
from pathlib import Path

from bench.artifact import entry as entries
from bench.artifact.cache import (Artifact, artifact_from_file, artifact_from_tf_source, cache_entry, cache_root,
                                  ensure_artifact, safe_name)
from bench.core.errors import ArtifactError, first_line
from bench.pipeline.spec import Deployment
from exporters.source import KerasModule, KerasZooModel, ModelFile, TensorFlowModel, TorchModule, ZooModel


def export_request(deployment: Deployment):
    """The export request of a zoo model or a module, as the deployment's choice says."""
    from exporters.registry import ExportRequest
    from exporters.tflite_export import representative_source

    choice, int8 = deployment.choice, deployment.choice.precision == "int8"
    representative_dir = choice.representative_dir if int8 else None
    return ExportRequest(
        model=deployment.source.name, resolution=choice.resolution, format=choice.format, precision=choice.precision,
        input_kind=choice.input_kind, representative=representative_source(representative_dir) if int8 else "none",
        representative_dir=representative_dir,
        content=deployment.source.content_key() if isinstance(deployment.source, TorchModule) else "")


def _exported(deployment: Deployment, force: bool, notify) -> Artifact:
    build = None
    if isinstance(deployment.source, TorchModule):  # the user's network as given, in inference mode (theirs untouched)
        build = lambda: copy.deepcopy(deployment.source.module).eval()  # noqa: E731
    return ensure_artifact(export_request(deployment), force=force, notify=notify, build=build)


def _converted(deployment: Deployment, force: bool, notify) -> Artifact:
    return artifact_from_tf_source(tf_path(deployment.source), precision=deployment.precision,
                                   resolution=deployment.choice.resolution,
                                   representative_dir=deployment.choice.representative_dir, force=force, notify=notify)


def tf_path(source) -> Path:
    """The TensorFlow model file or folder a source converts from (a Keras model given in Python: its saved file)."""
    return saved_keras(source) if isinstance(source, KerasModule) else source.path


def keras_file(source: KerasModule) -> Path:
    return cache_root() / "keras-models" / source.content / f"{safe_name(source.label)}.keras"


def saved_keras(source: KerasModule) -> Path:
    """A Keras model given in Python, saved once under the artifact cache in a folder named by its content key;
    written aside and renamed, so a half-written file is never taken for a saved model. Keras is already loaded by
    whoever built the model: saving it imports nothing new here."""
    path = keras_file(source)
    if path.is_file():
        return path
    staging = entries.staging(path)  # beside the file, in its folder
    try:
        source.model.save(staging / path.name)  # Keras 3 wants the .keras suffix on the file it writes
        os.replace(staging / path.name, path)
    except Exception as exc:
        raise ArtifactError(f"cannot save the Keras model {source.label}: {first_line(exc)}") from None
    finally:
        entries.abandon(staging)
    return path


def _as_given(deployment: Deployment, force: bool, notify) -> Artifact:
    return artifact_from_file(deployment.source.path, described=deployment.source.described)


RESOLVERS = {ZooModel: _exported, KerasZooModel: _exported, TorchModule: _exported, TensorFlowModel: _converted,
             KerasModule: _converted, ModelFile: _as_given}


def resolve_artifact(deployment: Deployment, *, force: bool = False, notify=None) -> Artifact:
    return RESOLVERS[type(deployment.source)](deployment, force, notify)


def planned_artifact(deployment: Deployment, notify=None) -> Artifact:
    """For a dry run: the artifact as it is, or where the export would put it. Exports nothing. A cache entry whose
    bytes changed is not the artifact (said through `notify`)."""
    if isinstance(deployment.source, (TensorFlowModel, KerasModule)):  # a dry run saves nothing: where it would be
        path = keras_file(deployment.source) if isinstance(deployment.source, KerasModule) else deployment.source.path
        return Artifact(path=path, format="tflite", precision=deployment.precision, model=deployment.source.name,
                        resolution=deployment.choice.resolution or 0)
    if isinstance(deployment.source, ModelFile):
        return resolve_artifact(deployment)
    request = export_request(deployment)
    found, path = cache_entry(request, notify=notify)
    if found is not None:
        return found
    return Artifact(path=path, format=request.format, precision=request.precision, model=request.model,
                    resolution=request.resolution, input_kind=request.input_kind)
