"""The commands of one Android measurement, in order: the single source that `plan` (dry run) prints and
`measure` sends. Facts, pushes (each only when the phone's copy differs), a one-run probe that bounds the timed
invocations' time, then per repeat the battery, thermal and clock reads, one timed invocation and the clock and
thermal reads again, then (asked for) a separate op-profiling invocation whose timings are never the latency."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from devices.android.benchmark_model import (
    DEVICE_DIR,
    PROFILE_RUNS,
    REMOTE_BINARY,
    benchmark_args,
    benchmark_command,
    check_command,
    push_commands,
)
from devices.android.device_state import clock_command
from devices.android.phone import BATTERY_COMMAND, THERMAL_COMMAND, fact_commands


@dataclass
class Session:
    binary: Path
    model: Path
    model_sha256: str
    precision: str
    threads: int
    delegate: str
    accelerator: str | None
    runs: int
    warmup: int
    repeats: int
    op_profile: bool = False
    require_full_delegation: bool = False
    mask: str | None = None  # known once the phone's cores are read
    cores: list[int] | None = None  # the pinned cores (the mask's), known with it

    @property
    def remote_model(self) -> str:
        # named by content, so an identical model is never pushed twice; unknown before a dry run's export
        return f"{DEVICE_DIR}/{self.model_sha256[:16] or '<sha>'}.tflite"

    def args(self, runs: int, warmup: int, op_profile: bool = False) -> list[str]:
        return benchmark_args(self.remote_model, runs=runs, warmup=warmup, threads=self.threads,
                              delegate=self.delegate, accelerator=self.accelerator, precision=self.precision,
                              op_profile=op_profile, require_full_delegation=self.require_full_delegation)

    def command(self, args: list[str], mask: str | None = None) -> str:
        return benchmark_command(REMOTE_BINARY, args, mask or self.mask)

    @property
    def probe_args(self) -> list[str]:
        return self.args(1, 0)

    @property
    def timed_args(self) -> list[str]:
        return self.args(self.runs, self.warmup)

    @property
    def profile_args(self) -> list[str]:
        return self.args(min(self.runs, PROFILE_RUNS), 0, op_profile=True)

    def pushes(self) -> list[tuple[Path, str, bool]]:
        return [(self.binary, REMOTE_BINARY, True), (self.model, self.remote_model, False)]

    def lines(self, serial: str | None, cooldown_s: float, pause_s: float) -> list[str]:
        """The dry run: every adb command line of the measurement, in the order measure() sends them."""
        who = shlex.quote(serial) if serial else "<serial>"
        mask = None if self.mask else "<mask>"
        sh = (lambda cmd: f"adb -s {who} shell {shlex.quote(cmd)}")
        out = ["# " + "; ".join(note for note in (
            "<serial>: the one attached phone" if not serial else "",
            f"<mask>: taskset mask of the {self.threads} fastest online core(s), read from the phone" if mask else "",
            "<cores>: the ids of those cores" if not self.cores else "",
            "<sha>: the first 16 hex digits of the model's sha256" if not self.model_sha256 else "",
            "each shell line runs with an exit-code marker appended (`; __rc=$?; echo __BENCH_RC=$__rc; exit $__rc`)",
        ) if note)]
        out += ["adb devices -l", f"adb -s {who} features  # shell_v2 keeps stderr and the exit code; else legacy"]
        out += [sh(cmd) for cmd in fact_commands()]
        out += ["# here, on the host: the binary's ELF machine is checked against ro.product.cpu.abilist"]
        for local, remote, executable in self.pushes():
            mkdir, *chmod = push_commands(remote, executable)
            out += [sh(check_command(remote)), f"# only when the phone's copy differs in size or sha256:",
                    sh(mkdir), f"adb -s {who} push {shlex.quote(str(local))} {shlex.quote(remote)}",
                    *[sh(c) for c in chmod]]
        out += ["# probe: one run, to bound each timed invocation's time", sh(self.command(self.probe_args, mask))]
        for repeat in range(self.repeats):
            out += self._invocation_lines(repeat, sh, mask, cooldown_s, pause_s)
        if self.op_profile:
            out += ["# op profile: a separate invocation; its timings are not the latency",
                    sh(self.command(self.profile_args, mask))]
        return out

    def _invocation_lines(self, repeat: int, sh, mask: str | None, cooldown_s: float, pause_s: float) -> list[str]:
        pause = f"; after a {pause_s:g} s pause" if repeat and pause_s else ""
        clocks = clock_command(self.cores)
        return [f"# invocation {repeat + 1} of {self.repeats}{pause}; the thermal and clock reads repeat every 5 s "
                f"while hot or capped, up to {cooldown_s:g} s", sh(BATTERY_COMMAND), sh(THERMAL_COMMAND), sh(clocks),
                sh(self.command(self.timed_args, mask)),
                "# after it: clocks, then the thermal status (a hot or capped reading refuses the run unless "
                "--allow-throttled)", sh(clocks), sh(THERMAL_COMMAND)]
