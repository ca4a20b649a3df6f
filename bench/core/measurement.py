"""What a target (or an importer) hands back from one measurement, before it becomes a record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from bench.core.outcome import Outcome


@dataclass
class Measurement:
    """The raw outcome (a Timing's samples or a Count's counts) and the facts of where and how it ran.

    `ran` is what the target really ran when it chose its own counts (warmup, runs, repeats: a device farm, a
    counting emulator, a log), which the record keeps instead of the protocol's; empty when the protocol's ran."""

    runtime: str
    runtime_version: str
    outcome: Outcome
    device: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    ran: dict = field(default_factory=dict)

    @property
    def unit(self) -> str:
        return self.outcome.unit

    @property
    def samples_ns(self) -> list[list[int]]:
        return self.outcome.fields()["samples_ns"]

    @property
    def repeat_summaries(self) -> list[dict]:
        return self.outcome.fields()["repeat_summaries"]

    @property
    def counts(self) -> list[int]:
        return self.outcome.fields()["counts"]

    @property
    def counting(self) -> dict:
        """How a counting target counted (method, warm-up, inferences counted), as its extra says."""
        return self.extra.get("counting", {})


ProgressFn = Callable[[int], None]  # called with the number of runs just finished
