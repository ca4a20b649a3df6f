"""A cell measured, and its measurement as a record: the artifact as the subject, the driving machine's facts as the
host."""

from __future__ import annotations

from bench.core.measurement import Measurement
from bench.core.protocols import Protocol
from bench.core.record import Record, build_record
from bench.prediction.lookup import predictions


def record_of(artifact, target, protocol: Protocol, measurement: Measurement, threads: int,
              requested_options: dict | None = None, calibrations=()) -> Record:
    """`calibrations` (the job's, for --phone): predict each one's phone milliseconds from a count."""
    from devices.hostinfo import host_facts

    record = build_record(artifact.subject(), target.name, protocol, measurement, threads=threads,
                          requested_options=requested_options, host=host_facts())
    record.predictions = predictions(record, calibrations)
    return record


def measure_cell(cell, progress=None) -> Record:
    """One cell measured by its target, here, as its record."""
    job = cell.job
    measurement = job.target.measure(cell.artifact, cell.protocol, threads=job.spec.threads, options=dict(job.options),
                                     progress=progress or (lambda n: None))
    return record_of(cell.artifact, job.target, cell.protocol, measurement, job.spec.threads, job.options,
                     job.calibrations)
