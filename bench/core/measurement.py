"""What a target hands back from one measurement, before it becomes a record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Measurement:
    """Raw samples (ns, per repeat) or per-repeat summaries (ms), and the facts of where and how it ran.

    `unit` is "ms" for timings; a counting target (arm64-emu) reports "instructions" and gives its exact
    per-inference integers in `counts` (samples_ns stays empty); `counting` says what was done to get them
    (method, warm-up, inferences counted), since a protocol's run counts do not apply to counts."""

    runtime: str
    runtime_version: str
    samples_ns: list[list[int]] = field(default_factory=list)
    repeat_summaries: list[dict] = field(default_factory=list)
    device: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    unit: str = "ms"
    counts: list[int] = field(default_factory=list)
    counting: dict = field(default_factory=dict)


ProgressFn = Callable[[int], None]  # called with the number of runs just finished
Notify = Callable[[str], None]  # one line of progress text for the user
