"""Artifacts: exported model files, cached by content.

The cache key is the export request plus the exporter's and tools' versions; which entry a request names, and what
goes into it (an export, a TensorFlow conversion), is decided here. The entry itself, its layout and its life (load,
commit, adopt), is bench/artifact/entry.py's.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict
from pathlib import Path

from bench.artifact import entry as entries
from bench.artifact.entry import Artifact, cache_root
from bench.core.errors import ArtifactError, ExportError, UnsupportedFormat, first_line
from bench.core.hashing import content_hash, size_of
from bench.zoo.counting import COUNTING_VERSION
from bench.zoo.prepare import PREPARATION_VERSION
from exporters.graph_traffic import traffic_if_known

PARITY_SEED = 1234

__all__ = ["Artifact", "artifact_from_file", "artifact_from_tf_source", "cache_entry", "cache_key", "cache_root",
           "ensure_artifact", "safe_name"]


def cache_key(request, exporter) -> str:
    key = {
        # A zoo model's key is what it was before modules had content keys, and the representative data's
        # description keeps its former name "calibration", so caches stay valid.
        "request": {("calibration" if k == "representative" else k): v for k, v in asdict(request).items()
                    if k != "representative_dir" and not (k == "content" and not v)},
        "exporter": exporter.format,
        "exporter_version": exporter.version,
        "tools": exporter.tool_versions(),
        "counting": COUNTING_VERSION,
    }
    if not request.content and PREPARATION_VERSION > 1:  # a zoo model: its weights are what preparation made them
        key["preparation"] = PREPARATION_VERSION  # (absent at version 1, so keys from before it was counted hold)
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]


def _entry_dir(request, exporter, root: Path | None = None) -> tuple[Path, str]:
    key = cache_key(request, exporter)
    name = f"{safe_name(request.model)}-{request.resolution}-{request.format}-{request.precision}-{key}"
    return entries.entry_path(name, root), key


def safe_name(model: str) -> str:
    """A model name as a file name: keras/mobilenet_v2 -> keras_mobilenet_v2."""
    return model.replace("/", "_").replace(os.sep, "_")


def cache_entry(request, *, root: Path | None = None, notify=None) -> tuple[Artifact | None, Path]:
    """The cached artifact for `request` if a complete, unchanged one exists, and the path its file has or would
    have."""
    from exporters import get_exporter

    if _is_keras_entry(request.model):
        entry, _ = _keras_entry_dir(request, root)
        return entries.load(entry, notify=notify), entry / f"{safe_name(request.model)}.tflite"
    exporter = get_exporter(request.format)
    entry, _ = _entry_dir(request, exporter, root)
    return entries.load(entry, notify=notify), entry / f"{safe_name(request.model)}{exporter.suffix}"


def ensure_artifact(request, *, root: Path | None = None, force: bool = False, notify=None, build=None) -> Artifact:
    """Return the cached artifact for `request`, exporting it first if there is no complete entry.

    `build` makes the torch model (default: the zoo's `create_model`); a module given in Python passes its own.
    keras/... zoo entries go through TensorFlow's converter (it reads `request.representative_dir` itself)."""
    from exporters import get_exporter

    exporter = get_exporter(request.format)
    if _is_keras_entry(request.model):
        return _ensure_keras_entry(request, root=root, force=force, notify=notify,
                                   representative_dir=request.representative_dir)
    entry, key = _entry_dir(request, exporter, root)
    if not force:
        found = entries.load(entry, notify=notify)
        if found is not None:
            return found
    if notify:
        notify(f"exporting {request.model} ({request.resolution}px) to {request.format}/{request.precision}...")
    return _export_entry(request, exporter, entry, key, build)


def _export_entry(request, exporter, entry: Path, key: str, build=None) -> Artifact:
    import numpy as np
    import torch

    from bench.zoo import create_model
    from bench.zoo.counting import count_params_macs

    model = build() if build else create_model(request.model, request.resolution)
    example = np.random.default_rng(PARITY_SEED).standard_normal((1, 3, request.resolution, request.resolution))
    example = example.astype(np.float32)
    try:
        params, macs = count_params_macs(model, request.resolution)
        with torch.no_grad():
            reference = model(torch.from_numpy(example)).numpy()
    except (RuntimeError, AssertionError, ValueError) as exc:  # e.g. a ViT with a fixed input size
        raise ExportError(f"{request.model} does not run at {request.resolution}x{request.resolution}: "
                          f"{first_line(exc)}") from None

    staging = entries.staging(entry)
    filename = f"{safe_name(request.model)}{exporter.suffix}"
    started = time.perf_counter()
    try:
        facts = exporter.export(
            model, request, staging / filename, {"input": example, "reference": reference, "torch_model": model}
        )
    except BaseException:
        entries.abandon(staging)
        raise
    export_s = time.perf_counter() - started
    traffic = traffic_if_known(staging / filename, request.format)
    if traffic is not None:
        facts["graph_traffic"] = traffic.to_dict()
    artifact = Artifact(
        path=staging / filename,
        format=request.format,
        precision=request.precision,
        model=request.model,
        resolution=request.resolution,
        input_kind=request.input_kind,
        export_s=round(export_s, 3),
        params=params,
        macs=macs,
        memory_traffic=traffic and traffic.total_bytes,
        parity=facts.pop("parity", {}),
        facts=facts,
        key=key,
    )
    return entries.commit(staging, entry, artifact)


def artifact_from_file(path: str | os.PathLike, described: dict | None = None) -> Artifact:
    """A model file the user already has. Params and MACs are counted from the graph where we can; `described` is
    that reading when the caller already made it (exporters.source)."""
    p = Path(path)
    if not p.exists():
        raise ArtifactError(f"model file {p} does not exist")
    from exporters.registry import exporter_for_suffix, known_suffixes

    exporter = exporter_for_suffix(p.suffix)
    if exporter is None:
        raise UnsupportedFormat(f"cannot tell the format of {p.name}; known suffixes: {', '.join(known_suffixes())}")
    described = described or exporter.describe(p)  # raises ArtifactError on a corrupt file
    traffic = traffic_if_known(p, exporter.format)
    return Artifact(
        path=p.resolve(),
        format=exporter.format,
        precision=described["precision"],
        model=p.stem,
        resolution=described["resolution"],
        sha256=content_hash(p),
        size_bytes=size_of(p),
        cached=True,
        params=described.get("params"),
        macs=described.get("macs"),
        memory_traffic=traffic and traffic.total_bytes,
        facts={**described.get("facts", {}), **({"graph_traffic": traffic.to_dict()} if traffic else {})},
    )


# ---------------------------------------------------------------- TensorFlow sources and keras/... zoo entries
# Converted by TensorFlow's own converter in a subprocess (exporters/tensorflow_export.py). Cached like every
# artifact: the key is the source's content (or the zoo entry), the request and the tool versions.

def artifact_from_tf_source(path: str | os.PathLike, *, precision: str = "fp32", resolution: int | None = None,
                            representative_dir: str | None = None, root: Path | None = None, force: bool = False,
                            notify=None) -> Artifact:
    """A SavedModel directory, .keras or .h5 file converted to TFLite at `precision` (fp32, fp16, int8), cached.

    `resolution` pins an open height/width (a fixed one must match it); int8 quantizes on `representative_dir`'s
    images, else synthetic ones. Bad input raises ArtifactError with one line and caches nothing."""
    from exporters.tensorflow_export import source_kind

    p = Path(path).resolve()
    kind = source_kind(p)  # missing path, a directory with no saved_model.pb: one line, before any hashing
    model = p.stem if kind == "keras" else p.name
    return _ensure_tf({"kind": kind, "path": str(p)}, {"sha256": content_hash(p)}, model=model, precision=precision,
                      resolution=resolution, representative_dir=representative_dir, root=root, force=force,
                      notify=notify)


def _is_keras_entry(model: str) -> bool:
    from bench.zoo.registry import MODELS

    return model in MODELS and MODELS.get(model).framework == "keras"


def _keras_identity(request) -> dict:
    from bench.zoo import get_entry

    return {"zoo": request.model, "source": get_entry(request.model).source, "seed": 0}


def _tf_key(identity: dict, precision: str, resolution: int | None, representative: str) -> str:
    """`representative`: what int8 quantization's representative images were (their description, from
    exporters.tflite_export.representative_source; "none" unless int8). The key's own name for it stays "calibration",
    so caches stay valid."""
    from exporters.tensorflow_export import CONVERTER_VERSION, tool_versions

    key = {"source": identity, "precision": precision, "resolution": resolution, "calibration": representative,
           "converter": CONVERTER_VERSION, "tools": tool_versions(), "counting": COUNTING_VERSION}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]


def _tf_entry_dir(model: str, precision: str, resolution: int | None, key: str, root: Path | None) -> Path:
    return entries.entry_path(f"{safe_name(model)}-{resolution or 'auto'}-tflite-{precision}-{key}", root)


def _keras_representative(request) -> str:
    return request.representative if request.precision == "int8" else "none"


def _keras_entry_dir(request, root: Path | None) -> tuple[Path, str]:
    key = _tf_key(_keras_identity(request), request.precision, request.resolution, _keras_representative(request))
    return _tf_entry_dir(request.model, request.precision, request.resolution, key, root), key


def _ensure_keras_entry(request, *, root, force, notify, representative_dir) -> Artifact:
    from exporters.tflite_export import representative_source

    representative = _keras_representative(request)
    if representative in ("synthetic", "none"):
        representative_dir = None
    elif not representative_dir or representative_source(representative_dir) != representative:
        raise ArtifactError(f"{request.model}: int8 quantization needs the directory of the representative images "
                            f"{representative} describes (representative_dir)")
    return _ensure_tf({"kind": "zoo", "name": request.model}, _keras_identity(request), model=request.model,
                      precision=request.precision, resolution=request.resolution,
                      representative_dir=representative_dir, root=root, force=force, notify=notify,
                      representative=representative)


def _ensure_tf(source: dict, identity: dict, *, model: str, precision: str, resolution: int | None,
               representative_dir: str | None, root, force: bool, notify,
               representative: str | None = None) -> Artifact:
    from exporters.tflite_export import representative_source

    if representative is None:
        representative = representative_source(representative_dir) if precision == "int8" else "none"
    given = representative_dir if precision == "int8" else None
    representative_dir = str(Path(given).resolve()) if given else None
    key = _tf_key(identity, precision, resolution, representative)
    # A user's file is cached by its bytes alone: the same model under another name or path is the same entry.
    entry = _tf_entry_dir(model if source["kind"] == "zoo" else "tf", precision, resolution, key, root)
    if not force:
        found = entries.load(entry, notify=notify)
        if found is not None:
            found.model = model
            return found
    if notify:
        notify(f"converting {model} to tflite/{precision} with TensorFlow's converter...")
    staging = entries.staging(entry)
    filename = f"{safe_name(model)}.tflite"
    started = time.perf_counter()
    try:
        artifact = _convert_tf(source, staging / filename, model=model, precision=precision, resolution=resolution,
                               representative_dir=representative_dir)
    except BaseException:
        entries.abandon(staging)
        raise
    artifact.export_s = round(time.perf_counter() - started, 3)
    artifact.key = key
    artifact.facts["source"] = identity
    return entries.commit(staging, entry, artifact)


def _convert_tf(source: dict, out_path: Path, *, model: str, precision: str, resolution: int | None,
                representative_dir: str | None) -> Artifact:
    from exporters.tensorflow_export import convert_tf
    from exporters.tflite_graph import describe_tflite

    facts = convert_tf(source, precision=precision, resolution=resolution, representative_dir=representative_dir,
                       out_path=out_path)
    described = describe_tflite(out_path)  # params and MACs from the converted graph
    if described["precision"] != precision:
        raise ExportError(f"TensorFlow's converter produced a {described['precision']} model, not {precision}")
    traffic = traffic_if_known(out_path, "tflite")
    if traffic is not None:
        facts["graph_traffic"] = traffic.to_dict()
    return Artifact(path=out_path, format="tflite", precision=precision, model=model,
                    resolution=described["resolution"], params=described["params"], macs=described["macs"],
                    memory_traffic=traffic and traffic.total_bytes, parity=facts.pop("parity"), facts=facts)
