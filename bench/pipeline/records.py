"""A cell measured, and its measurement as a record: the artifact as the subject, the driving machine's facts as the
host."""

from __future__ import annotations

from bench.core.measurement import Measurement
from bench.core.protocols import Protocol
from bench.core.record import Record, build_record
from bench.prediction.lookup import predictions


def record_of(artifact, target, protocol: Protocol, measurement: Measurement, threads: int,
              requested_options: dict | None = None, calibrations=()) -> Record:
    """`calibrations` (the deployment's, for --phone): predict each one's phone milliseconds from a count."""
    from devices.hostinfo import host_facts

    record = build_record(artifact.subject(), target.name, protocol, measurement, threads=threads,
                          requested_options=requested_options, host=host_facts())
    record.predictions = predictions(record, calibrations)
    return record


def measured(cell, progress=None) -> Measurement:
    """One cell measured by its target, here."""
    deployment = cell.deployment
    return deployment.target.measure(cell.artifact, cell.protocol, threads=deployment.spec.threads,
                                     options=dict(deployment.options), progress=progress or (lambda n: None))


def cell_record(cell, measurement: Measurement, protocol: Protocol | None = None) -> Record:
    """A cell's measurement as its record; `protocol` replaces the cell's where rounds were joined (bench ab)."""
    deployment = cell.deployment
    return record_of(cell.artifact, deployment.target, protocol or cell.protocol, measurement, deployment.spec.threads,
                     deployment.options, deployment.calibrations)


def measure_cell(cell, progress=None) -> Record:
    """One cell measured by its target, here, as its record."""
    return cell_record(cell, measured(cell, progress))
