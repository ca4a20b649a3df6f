"""A cache entry: its layout and its life, for every path that makes or takes one (an export here, an export worker,
a cluster node's export copied here, an artifact received on a node).

Layout: under the cache root ($BENCH_CACHE, else the user's cache directory), one folder per entry holding the
artifact (a file, or a Core ML package folder) and `meta.json`, the artifact's facts with its path relative to the
folder. Life: an entry is built in a staging folder beside it and renamed into place only once its meta.json is
written (`commit`), so a killed export leaves nothing that could be taken for a finished entry; an entry is served
(`load`) only when its artifact's bytes still hash to the sha256 its meta.json records, so a record never carries the
identity or the parity of other bytes than the ones that ran.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.core.errors import ArtifactError
from bench.core.hashing import content_hash, size_of

CACHE_ENV = "BENCH_CACHE"
META = "meta.json"


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
    memory_traffic: int | None = None  # bytes one inference moves (exporters/graph_traffic.py)
    parity: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)
    key: str = ""

    def subject(self):
        """What a record says ran: this artifact's identity and facts."""
        from bench.core.record import Subject

        return Subject(model=self.model, resolution=self.resolution, format=self.format, precision=self.precision,
                       params=self.params, macs=self.macs, memory_traffic=self.memory_traffic,
                       input_kind=self.input_kind, artifact_path=str(self.path),
                       artifact_hash=self.sha256, artifact_bytes=self.size_bytes, export_s=self.export_s,
                       parity=self.parity, artifact_facts=self.facts)

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


def entry_path(name: str, root: Path | None = None) -> Path:
    return (Path(root) if root else cache_root()).resolve() / name


def entry_name(artifact: Artifact) -> str:
    """The artifact's cache entry as named here (a node that exported it has it under the same name), or its hash
    for a file from outside the cache."""
    path = Path(artifact.path).resolve()
    if path.parent.parent == cache_root().resolve():
        return path.parent.name
    return f"by-hash/{artifact.sha256[:32]}"


def load(entry: Path, sha256: str | None = None, notify=None) -> Artifact | None:
    """The entry's artifact if the entry is complete and its bytes hash to what its meta.json records (and to
    `sha256`, when given); else None. An entry whose bytes changed since they were written is said in one line
    through `notify`: whoever asked exports it again, under the new bytes' identity."""
    try:
        meta = json.loads((entry / META).read_text())
        artifact = Artifact(**{**meta, "path": entry / meta["path"], "cached": True})
    except (OSError, ValueError, TypeError, KeyError):
        return None
    if sha256 is not None and artifact.sha256 != sha256:
        return None
    if not artifact.path.exists():
        return None
    if size_of(artifact.path) != artifact.size_bytes or content_hash(artifact.path) != artifact.sha256:
        if notify:
            notify(f"cached {artifact.path.name} ({entry.name}) changed since it was exported (its bytes no longer "
                   f"hash to the sha256 recorded): exporting it again")
        return None
    return artifact


def staging(entry: Path) -> Path:
    """An empty folder beside `entry` to build it in (this process's own)."""
    folder = entry.parent / f".partial-{entry.name}-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def commit(folder: Path, entry: Path, artifact: Artifact) -> Artifact:
    """Hash the staged artifact, write its meta.json and rename the staging folder into place as `entry`; the
    entry another process committed first wins."""
    filename = Path(artifact.path).name
    artifact.sha256 = content_hash(artifact.path)
    artifact.size_bytes = size_of(artifact.path)
    (folder / META).write_text(json.dumps({**artifact.to_json(), "path": filename, "cached": False}, indent=1))
    shutil.rmtree(entry, ignore_errors=True)  # a stale, changed or partial entry
    try:
        os.rename(folder, entry)
    except OSError:  # another process finished the same entry first
        shutil.rmtree(folder, ignore_errors=True)
        found = load(entry)
        if found is None:
            raise
        return found
    artifact.path = entry / filename
    return artifact


def abandon(folder: Path) -> None:
    """A staging folder whose build failed or was interrupted: removed, so nothing half-made stays."""
    shutil.rmtree(folder, ignore_errors=True)


def adopt(meta: dict, name: str, data: bytes) -> Artifact:
    """An artifact made in another process or on another machine, written into this machine's cache as entry `name`
    unless a complete copy with the same hash is there already; refused if the bytes received are not the ones
    sent, so a torn transfer is never taken for the artifact."""
    entry = entry_path(name)
    found = load(entry, meta["sha256"])
    if found is not None:
        return found
    folder = staging(entry)
    artifact = Artifact(**{**meta, "path": folder / Path(meta["path"]).name})
    try:
        artifact.path.write_bytes(data)
        if content_hash(artifact.path) != meta["sha256"]:
            raise ArtifactError(f"the copy of {artifact.path.name} received is not the artifact sent (hash differs)")
        commit(folder, entry, artifact)
    except BaseException:
        abandon(folder)
        raise
    found = load(entry, meta["sha256"])
    if found is None:
        raise ArtifactError(f"cache entry {entry} holds another artifact than the {artifact.path.name} received")
    return found


def cached_copy(name: str, sha256: str) -> Artifact | None:
    """Entry `name` of this machine's cache, if it holds the artifact of that hash, whole."""
    return load(entry_path(name), sha256)


def lock_path(name: str) -> Path:
    """A lock file beside the entries, for work one process per machine does (a target's set-up on a node)."""
    path = cache_root() / f".{name}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
