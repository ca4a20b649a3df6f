"""Artifacts: exported model files, cached by content.

The cache key is the export request plus the exporter's and tools' versions. An entry is a directory holding the
artifact and `meta.json`; it is built under a temporary name and renamed into place only when complete, so an
export killed mid-way leaves no entry that could be mistaken for a finished one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.core.errors import ArtifactError, UnsupportedFormat
from bench.core.hashing import content_hash, size_of
from bench.zoo.counting import COUNTING_VERSION

CACHE_ENV = "BENCH_CACHE"
META = "meta.json"
PARITY_SEED = 1234



@dataclass
class Artifact:
    path: Path
    format: str
    precision: str
    model: str
    resolution: int
    input_kind: str = "tensor"
    sha256: str = ""
    size_bytes: int = 0
    export_s: float | None = None
    cached: bool = False
    params: int | None = None
    macs: int | None = None
    parity: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)
    key: str = ""

    def to_json(self) -> dict:
        d = asdict(self)
        d["path"] = str(self.path)
        return d


def cache_root() -> Path:
    """$BENCH_CACHE, else the user's cache directory: a run from any directory finds what an earlier one exported."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    import platformdirs

    return Path(platformdirs.user_cache_dir("mobile-latency-bench")) / "artifacts"


def cache_key(request, exporter) -> str:
    key = {
        "request": asdict(request),
        "exporter": exporter.format,
        "exporter_version": exporter.version,
        "tools": exporter.tool_versions(),
        "counting": COUNTING_VERSION,
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]


def _load_entry(entry: Path) -> Artifact | None:
    meta_path = entry / META
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        artifact = Artifact(**{**meta, "path": entry / meta["path"], "cached": True})
    except (ValueError, TypeError, KeyError):
        return None
    if not artifact.path.exists() or size_of(artifact.path) != artifact.size_bytes:
        return None
    return artifact


def ensure_artifact(request, *, root: Path | None = None, force: bool = False, notify=None) -> Artifact:
    """Return the cached artifact for `request`, exporting it first if there is no complete entry."""
    from exporters import get_exporter

    exporter = get_exporter(request.format)
    exporter.check(request)
    root = (Path(root) if root else cache_root()).resolve()
    key = cache_key(request, exporter)
    entry = root / f"{request.model}-{request.resolution}-{request.format}-{request.precision}-{key}"
    if not force:
        found = _load_entry(entry)
        if found is not None:
            return found
    if notify:
        notify(f"exporting {request.model} ({request.resolution}px) to {request.format}/{request.precision}...")
    return _export_entry(request, exporter, entry, key)


def _export_entry(request, exporter, entry: Path, key: str) -> Artifact:
    import numpy as np
    import torch

    from bench.zoo import create_model
    from bench.zoo.counting import count_params_macs

    model = create_model(request.model, request.resolution)
    params, macs = count_params_macs(model, request.resolution)
    example = np.random.default_rng(PARITY_SEED).standard_normal((1, 3, request.resolution, request.resolution))
    example = example.astype(np.float32)
    with torch.no_grad():
        reference = model(torch.from_numpy(example)).numpy()

    staging = entry.parent / f".partial-{entry.name}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    filename = f"{request.model}{exporter.suffix}"
    started = time.perf_counter()
    try:
        facts = exporter.export(
            model, request, staging / filename, {"input": example, "reference": reference, "torch_model": model}
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    export_s = time.perf_counter() - started
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
        parity=facts.pop("parity", {}),
        facts=facts,
        key=key,
    )
    artifact.sha256 = content_hash(artifact.path)
    artifact.size_bytes = size_of(artifact.path)
    meta = artifact.to_json()
    meta.update(path=filename, cached=False)
    (staging / META).write_text(json.dumps(meta, indent=1))
    shutil.rmtree(entry, ignore_errors=True)  # a stale or partial entry
    try:
        os.rename(staging, entry)
    except OSError:  # another process finished the same export first
        shutil.rmtree(staging, ignore_errors=True)
        found = _load_entry(entry)
        if found is None:
            raise
        return found
    artifact.path = entry / filename
    return artifact


def artifact_from_file(path: str | os.PathLike) -> Artifact:
    """A model file the user already has. Params and MACs are counted from the graph where we can."""
    p = Path(path)
    if not p.exists():
        raise ArtifactError(f"model file {p} does not exist")
    from exporters.registry import exporter_for_suffix, known_suffixes

    exporter = exporter_for_suffix(p.suffix)
    if exporter is None:
        raise UnsupportedFormat(f"cannot tell the format of {p.name}; known suffixes: {', '.join(known_suffixes())}")
    described = exporter.describe(p)  # raises ArtifactError on a corrupt file
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
    )
