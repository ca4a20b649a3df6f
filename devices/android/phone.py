"""Facts of one phone: model, SoC, Android version, build fingerprint, ABIs, online cores and their frequencies, CPU
features, battery and thermal status. The shell commands are named here once; the run plan and measure() both use
them (the per-invocation clock and thermal reads, and the throttling rule: devices/android/device_state.py)."""

from __future__ import annotations

import re

from devices.android.adb import Adb

PROPS = (("model", "ro.product.model"), ("soc_model", "ro.soc.model"), ("board_platform", "ro.board.platform"),
         ("android", "ro.build.version.release"), ("sdk", "ro.build.version.sdk"),
         ("fingerprint", "ro.build.fingerprint"), ("abilist", "ro.product.cpu.abilist"))
FREQ_GLOB = "/sys/devices/system/cpu/cpu*/cpufreq/cpuinfo_max_freq"
FREQS_COMMAND = f"for f in {FREQ_GLOB}; do echo $f $(cat $f); done"
ONLINE_COMMAND = "cat /sys/devices/system/cpu/online"
CPUINFO_COMMAND = "cat /proc/cpuinfo"
BATTERY_COMMAND = "dumpsys battery"
THERMAL_COMMAND = "dumpsys thermalservice"
THERMAL_NAMES = {0: "none", 1: "light", 2: "moderate", 3: "severe", 4: "critical", 5: "emergency", 6: "shutdown"}
FP16_FEATURES = {"asimdhp", "fphp"}  # Armv8.2 half-precision arithmetic (what XNNPACK's fp16 path needs)


def fact_commands() -> list[str]:
    """Every shell command device_facts sends, in order."""
    return [f"getprop {prop}" for _, prop in PROPS] + [FREQS_COMMAND, ONLINE_COMMAND, CPUINFO_COMMAND]


def device_facts(adb: Adb) -> dict:
    props = {key: adb.getprop(prop) for key, prop in PROPS}
    freqs = core_max_freqs(adb.shell(FREQS_COMMAND))
    online = parse_cpu_list(adb.shell(ONLINE_COMMAND, check=False).strip())
    features = cpu_features(adb.shell(CPUINFO_COMMAND, check=False))
    abis = [abi.strip() for abi in props.pop("abilist").split(",") if abi.strip()]
    return {**props, "abilist": abis, "soc": props["soc_model"] or props["board_platform"], "serial": adb.serial,
            "cores": len(freqs), "cores_online": online, "core_max_khz": {str(i): f for i, f in freqs.items()},
            "fp16_arithmetic": bool(FP16_FEATURES & features)}


def core_max_freqs(out: str) -> dict[int, int]:
    """{core id: max frequency in kHz}, ids as the kernel numbers them (a missing core leaves a gap, no shift)."""
    freqs = {}
    for line in out.splitlines():
        m = re.search(r"cpu(\d+)/cpufreq/cpuinfo_max_freq\s+(\d+)", line)
        if m:
            freqs[int(m.group(1))] = int(m.group(2))
    return dict(sorted(freqs.items()))


def parse_cpu_list(text: str) -> list[int] | None:
    """The kernel's cpu list format ("0-3,5-7") as ids; None when unreadable."""
    ids: list[int] = []
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d+)(?:-(\d+))?\s*", part)
        if not m:
            return None
        ids.extend(range(int(m.group(1)), int(m.group(2) or m.group(1)) + 1))
    return ids


def cpu_features(cpuinfo: str) -> set[str]:
    m = re.search(r"^Features\s*:\s*(.*)$", cpuinfo, re.M)
    return set(m.group(1).split()) if m else set()


def fastest_cores_mask(freqs: dict[int, int] | list[int], threads: int,
                       online: list[int] | None = None) -> tuple[str, list[int]]:
    """taskset mask (hex) of the `threads` online cores with the highest max frequency (prime/big cores first),
    built from the cores' real ids."""
    freqs = dict(enumerate(freqs)) if isinstance(freqs, list) else {int(k): v for k, v in freqs.items()}
    usable = {i: f for i, f in freqs.items() if online is None or i in online}
    order = sorted(usable, key=lambda i: (-usable[i], -i))
    chosen = sorted(order[: max(1, threads)])
    return format(sum(1 << i for i in chosen), "x"), chosen


def battery(adb: Adb) -> dict:
    out = adb.shell(BATTERY_COMMAND, check=False)
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
    out = adb.shell(THERMAL_COMMAND, check=False)
    m = re.search(r"Thermal Status:\s*(\d+)", out)
    return int(m.group(1)) if m else None
