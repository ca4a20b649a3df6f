"""A cell's measurement as a record: the artifact as the subject, the driving machine's facts as the host."""

from __future__ import annotations

from bench.core.measurement import Measurement
from bench.core.protocols import Protocol
from bench.core.record import Record, build_record


def record_of(artifact, target, protocol: Protocol, measurement: Measurement, threads: int,
              requested_options: dict | None = None) -> Record:
    from devices.hostinfo import host_facts

    return build_record(artifact.subject(), target.name, protocol, measurement, threads=threads,
                        requested_options=requested_options, host=host_facts())
