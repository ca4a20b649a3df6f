"""Facts and hygiene of one phone: model, SoC, Android version, core frequencies, battery and thermal state."""

from __future__ import annotations

import re
import time

from devices.android.adb import Adb

FREQ_GLOB = "/sys/devices/system/cpu/cpu*/cpufreq/cpuinfo_max_freq"
THERMAL_NAMES = {0: "none", 1: "light", 2: "moderate", 3: "severe", 4: "critical", 5: "emergency", 6: "shutdown"}


def device_facts(adb: Adb) -> dict:
    props = {}
    for key, prop in (("model", "ro.product.model"), ("soc_model", "ro.soc.model"),
                      ("board_platform", "ro.board.platform"), ("android", "ro.build.version.release"),
                      ("sdk", "ro.build.version.sdk"), ("fingerprint", "ro.build.fingerprint")):
        props[key] = adb.getprop(prop)
    freqs = core_max_freqs(adb)
    return {**props, "soc": props["soc_model"] or props["board_platform"], "serial": adb.serial,
            "cores": len(freqs), "core_max_khz": freqs}


def core_max_freqs(adb: Adb) -> list[int]:
    """Max frequency (kHz) of each core in core order, read in one shell call."""
    out = adb.shell(f"for f in {FREQ_GLOB}; do echo $f $(cat $f); done")
    freqs = {}
    for line in out.splitlines():
        m = re.search(r"cpu(\d+)/cpufreq/cpuinfo_max_freq\s+(\d+)", line)
        if m:
            freqs[int(m.group(1))] = int(m.group(2))
    return [freqs[i] for i in sorted(freqs)]


def fastest_cores_mask(freqs: list[int], threads: int) -> tuple[str, list[int]]:
    """taskset mask (hex) of the `threads` cores with the highest max frequency (prime/big cores first)."""
    order = sorted(range(len(freqs)), key=lambda i: (-freqs[i], -i))
    chosen = sorted(order[: max(1, threads)])
    return format(sum(1 << i for i in chosen), "x"), chosen


def battery(adb: Adb) -> dict:
    out = adb.shell("dumpsys battery", check=False)
    facts = {}
    for key in ("level", "temperature", "status", "AC powered", "USB powered"):
        m = re.search(rf"^\s*{re.escape(key)}:\s*(\S+)", out, re.M)
        if m:
            facts[key.lower().replace(" ", "_")] = m.group(1)
    if "temperature" in facts:
        facts["temperature_c"] = int(facts.pop("temperature")) / 10.0  # dumpsys reports tenths of a degree
    if "level" in facts:
        facts["level"] = int(facts["level"])
    return facts


def thermal_status(adb: Adb) -> int | None:
    out = adb.shell("dumpsys thermalservice", check=False)
    m = re.search(r"Thermal Status:\s*(\d+)", out)
    return int(m.group(1)) if m else None


def hygiene(adb: Adb, cooldown_s: float, poll_s: float = 5.0) -> dict:
    """Wait (up to `cooldown_s`) until the phone reports no thermal throttling; return what was seen."""
    started = time.monotonic()
    status = thermal_status(adb)
    while status not in (None, 0) and time.monotonic() - started < cooldown_s:
        time.sleep(min(poll_s, max(0.0, cooldown_s - (time.monotonic() - started))))
        status = thermal_status(adb)
    return {"battery": battery(adb), "thermal_status": status,
            "thermal": THERMAL_NAMES.get(status, "unknown") if status is not None else "unknown",
            "cooldown_waited_s": round(time.monotonic() - started, 2)}
