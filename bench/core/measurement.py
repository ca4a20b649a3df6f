"""What a target (or an importer) hands back from one measurement, before it becomes a record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from bench.core.outcome import Count, Outcome, Timing


@dataclass
class Measurement:
    """The raw outcome (a Timing's samples or a Count's counts) and the facts of where and how it ran.

    `ran` is what the target really ran when it chose its own counts (warmup, runs, repeats: a device farm, a
    counting emulator, a log), which the record keeps instead of the protocol's; empty when the protocol's ran.

    The flat `samples_ns` / `repeat_summaries` / `unit` + `counts` / `counting` arguments are read once, here, into
    the typed outcome (the form targets written before the outcome types use)."""

    runtime: str
    runtime_version: str
    outcome: Outcome | None = None
    device: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    ran: dict = field(default_factory=dict)
    samples_ns: list[list[int]] = field(default_factory=list)
    repeat_summaries: list[dict] = field(default_factory=list)
    unit: str = "ms"
    counts: list[int] = field(default_factory=list)
    counting: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.outcome is None:
            if self.unit == Timing.unit:
                self.outcome = Timing(samples_ns=self.samples_ns, repeat_summaries=self.repeat_summaries)
            else:
                self.outcome = Count(unit=self.unit, counts=list(self.counts))
        if self.counting:
            self.extra = {**self.extra, "counting": self.counting}
            self.ran = self.ran or {"warmup": self.counting.get("warmup", 0),
                                    "runs": self.counting.get("counted", 1), "repeats": 1}
        if not self.ran and self.extra.get("method"):
            self.ran = dict(self.extra["method"])
        self.unit = self.outcome.unit
        if isinstance(self.outcome, Timing):
            self.samples_ns, self.repeat_summaries = self.outcome.samples_ns, self.outcome.repeat_summaries
        else:
            self.counts = self.outcome.counts


ProgressFn = Callable[[int], None]  # called with the number of runs just finished
Notify = Callable[[str], None]  # one line of progress text for the user
