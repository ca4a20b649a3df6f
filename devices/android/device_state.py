"""Clock and thermal state of the pinned cores before and after each timed invocation, and the rule that calls a
run throttled.

What is read, with `adb shell` (no root): per pinned core, cpufreq's `scaling_governor`, `scaling_cur_freq`,
`scaling_max_freq` and `cpuinfo_max_freq` (kHz). `cpuinfo_max_freq` is the hardware's top; `scaling_max_freq` is
the policy's current ceiling (the kernel prints `policy->max`), which the thermal framework's cpufreq cooling
devices lower through a frequency QoS request when the phone heats. And `dumpsys thermalservice`'s
"Thermal Status: N" (PowerManager.THERMAL_STATUS_*: 0 none, 1 light, 2 moderate, 3 severe, 4 critical,
5 emergency, 6 shutdown; Android 10+; older phones answer "Can't find service: thermalservice"). A file the shell
may not read (vendor permissions or SELinux; androidx.benchmark treats each of them as optional) reads "unreadable".

The rule, per reading; the first throttled reading names the run:
- hot: thermal status >= 1 (light): the platform itself says it is throttling.
- capped: a pinned core's `scaling_max_freq` below its `cpuinfo_max_freq` (its ceiling was lowered: thermal
  mitigation, a power HAL, battery saver), or the `powersave` governor (it holds the core at its floor).
- not judged: `scaling_cur_freq` (read between invocations, with the core idle or ramping down, it is what the
  governor chose then, not during the run) and dynamic governors (schedutil, sched_pixel, walt, ...: what production
  phones run, not changeable without root). Both are stored and shown.
- unknown: an unreadable file, or no thermal service, proves nothing either way: stored as None with the file named
  under "unreadable", shown, never refused.
A throttled run is refused (nothing stored) unless --allow-throttled, which stores it with extra["throttled"].
"""

from __future__ import annotations

import re
import time

from bench.core.errors import DeviceError
from devices.android.adb import Adb
from devices.android.phone import THERMAL_NAMES, battery, thermal_status

CLOCK_FILES = ("scaling_governor", "scaling_cur_freq", "scaling_max_freq", "cpuinfo_max_freq")
HOT_STATUS = 1  # PowerManager.THERMAL_STATUS_LIGHT
_FIELDS = {"scaling_governor": "governor", "scaling_cur_freq": "cur_khz", "scaling_max_freq": "max_khz",
           "cpuinfo_max_freq": "cpuinfo_max_khz"}
UNREADABLE = "unreadable"


class Throttled(DeviceError):
    """The phone was hot or its pinned cores capped around a timed invocation (and --allow-throttled was not given)."""


def clock_command(cores: list[int] | None) -> str:
    """One shell line printing `cpuN FILE VALUE` for every pinned core and clock file ("<cores>" before they are
    known, in a dry run)."""
    ids = " ".join(str(c) for c in cores) if cores else "<cores>"
    return (f"for c in {ids}; do for f in {' '.join(CLOCK_FILES)}; do echo cpu$c $f "
            f"$(cat /sys/devices/system/cpu/cpu$c/cpufreq/$f 2>/dev/null || echo {UNREADABLE}); done; done")


def parse_clocks(text: str, cores: list[int]) -> dict[int, dict]:
    """{core: {governor, cur_khz, max_khz, cpuinfo_max_khz, unreadable}}; a value not printed is unreadable too."""
    said = {(int(m.group(1)), m.group(2)): m.group(3)
            for m in re.finditer(r"^cpu(\d+) (\w+) (\S+)\s*$", text, re.M)}
    clocks = {}
    for core in cores:
        state, unreadable = {}, []
        for name, field in _FIELDS.items():
            value = said.get((core, name), UNREADABLE)
            if value == UNREADABLE or (field != "governor" and not value.isdigit()):
                state[field] = None
                unreadable.append(name)
            else:
                state[field] = value if field == "governor" else int(value)
        clocks[core] = {**state, **({"unreadable": unreadable} if unreadable else {})}
    return clocks


def read_clocks(adb: Adb, cores: list[int]) -> dict[int, dict]:
    return parse_clocks(adb.shell(clock_command(cores), check=False), cores) if cores else {}


def readings(invocation: int, when: str, status: int | None, clocks: dict[int, dict]) -> list[dict]:
    """One stored entry per pinned core (one without a core when no core is pinned)."""
    rows = [{"core": core, **state} for core, state in clocks.items()] or [{"core": None}]
    entries = [{"invocation": invocation, "when": when, **row, "thermal_status": status} for row in rows]
    return [{**entry, "throttled": fact(entry)} for entry in entries]  # the verdict travels with the reading


def fact(entry: dict) -> str | None:
    """What makes one reading throttled, in words; None when it is not (or cannot be told)."""
    status = entry.get("thermal_status")
    if status is not None and status >= HOT_STATUS:
        return f"thermal status {status} ({THERMAL_NAMES.get(status, 'unknown')})"
    core, top, ceiling = entry.get("core"), entry.get("cpuinfo_max_khz"), entry.get("max_khz")
    if entry.get("governor") == "powersave":
        return f"core {core} on the powersave governor"
    if top and ceiling and ceiling < top:
        return f"core {core} capped at {ceiling / 1e6:.2f} of {top / 1e6:.2f} GHz"
    return None


def throttling(entries: list[dict]) -> str | None:
    """The first throttled reading, named with its invocation: "core 7 capped at 1.83 of 2.85 GHz after
    invocation 3"; with the number of other throttled readings when there are more."""
    found = [(f, e) for e in entries if (f := fact(e))]
    if not found:
        return None
    what, entry = found[0]
    reason = f"{what} {entry['when']} invocation {entry['invocation']}"
    others = len({(e["invocation"], e["when"]) for _, e in found}) - 1
    return reason + (f" (and {others} more throttled reading{'s' if others > 1 else ''})" if others else "")


def refuse_or_flag(entries: list[dict], allow_throttled: bool, source: str, note: str = "") -> str | None:
    """The throttling reason (to flag the record with), or Throttled when it is not allowed."""
    reason = throttling(entries)
    if reason and not allow_throttled:
        raise Throttled(f"{source}: {reason}{note}; not stored: pass --allow-throttled to keep it, flagged")
    return reason


def before(adb: Adb, cores: list[int], invocation: int, cooldown_s: float,
           poll_s: float = 5.0) -> tuple[dict, list[dict]]:
    """Battery once, then thermal status and clocks; while hot or capped, both reads repeat every `poll_s` up to
    `cooldown_s`. Returns the hygiene facts and the last reading."""
    started = time.monotonic()
    charge = battery(adb)
    while True:
        status, clocks = thermal_status(adb), read_clocks(adb, cores)
        entries = readings(invocation, "before", status, clocks)
        waited = time.monotonic() - started
        if throttling(entries) is None or waited >= cooldown_s:
            break
        time.sleep(min(poll_s, max(0.0, cooldown_s - waited)))
    waited = round(time.monotonic() - started, 2)
    return ({"battery": charge, "thermal_status": status,
             "thermal": THERMAL_NAMES.get(status, "unknown") if status is not None else "unknown",
             "cooldown_waited_s": waited}, entries)


def after(adb: Adb, cores: list[int], invocation: int) -> list[dict]:
    """Clocks first (nearest the run's end), then the thermal status."""
    clocks = read_clocks(adb, cores)
    return readings(invocation, "after", thermal_status(adb), clocks)
