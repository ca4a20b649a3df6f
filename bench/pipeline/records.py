"""A target's Measurement plus the artifact's facts and the host's: one Record, statistics derived."""

from __future__ import annotations

from bench import __version__
from bench.artifact import Artifact
from bench.core.protocols import Protocol
from bench.core.record import Record, derive_statistics


def build_record(artifact: Artifact, target, protocol: Protocol, measurement, threads: int,
                 requested_options: dict | None = None) -> Record:
    from devices.hostinfo import git_commit, host_facts

    method = measurement.extra.get("method") or _counted(measurement.counting)
    record = Record(
        model=artifact.model,
        resolution=artifact.resolution,
        format=artifact.format,
        precision=artifact.precision,
        target=target.name,
        runtime=measurement.runtime,
        runtime_version=measurement.runtime_version,
        threads=threads,
        protocol=protocol.name,
        # A target that chooses its own counts (a device farm) says what it really ran; the record keeps that.
        warmup=method.get("warmup", protocol.warmup),
        runs=method.get("runs", protocol.runs),
        repeats=method.get("repeats", protocol.repeats),
        params=artifact.params,
        macs=artifact.macs,
        input_kind=artifact.input_kind,
        artifact_path=str(artifact.path),
        artifact_hash=artifact.sha256,
        artifact_bytes=artifact.size_bytes,
        export_s=artifact.export_s,
        parity=artifact.parity,
        artifact_facts=artifact.facts,
        options=measurement.options,
        requested_options=dict(requested_options or {}),
        device=measurement.device,
        host=host_facts(),
        samples_ns=measurement.samples_ns,
        repeat_summaries=measurement.repeat_summaries,
        extra={**measurement.extra, **({"counting": measurement.counting} if measurement.counting else {}),
               **({"asked": {"warmup": protocol.warmup, "runs": protocol.runs, "repeats": protocol.repeats}}
                  if method else {})},
        unit=measurement.unit,
        counts=list(measurement.counts),
        git_commit=git_commit(),
        bench_version=__version__,
    )
    return derive_statistics(record)


def _counted(counting: dict) -> dict:
    """A counting target's real counts (warm-up, inferences counted), which replace the protocol's in the record."""
    if not counting:
        return {}
    return {"warmup": counting.get("warmup", 0), "runs": counting.get("counted", 1), "repeats": 1}
