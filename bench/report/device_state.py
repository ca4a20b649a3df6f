"""The device-state section of a report: per run, the clock and thermal readings taken around each timed invocation
(Android: `extra["device_state"]`, written by devices/android/device_state.py) and the throttling flag of a run kept
with --allow-throttled (`extra["throttled"]`). Runs without readings are left out; a report without any gets no
section. Each reading carries its own verdict ("throttled"), decided when it was measured, so the report only shows.
"""

from __future__ import annotations

from bench.core.record import Record

RULE = ("Read around each timed invocation on the pinned cores: the cpufreq governor, the current frequency, the "
        "ceiling (`scaling_max_freq`) and the hardware top (`cpuinfo_max_freq`), and the platform's thermal status "
        "(0 none, 1 light, 2 moderate, 3 severe, 4 critical, 5 emergency, 6 shutdown). A reading is throttled when "
        "the thermal status is 1 or more, a ceiling is below the top, or the governor is `powersave`; such a run is "
        "refused unless --allow-throttled kept it, flagged. The current frequency is shown, not judged: it is read "
        "between invocations. \"unreadable\": the phone's shell may not read that file.")
COLUMNS = ("invocation", "when", "core", "governor", "current MHz", "ceiling MHz", "top MHz", "thermal status",
           "throttled")


def throttled_flag(record: Record) -> str:
    """The flag a table shows beside a run kept with --allow-throttled ("" for any other run)."""
    reason = (record.extra or {}).get("throttled")
    return f"throttled: {reason}" if reason else ""


def _mhz(khz, entry: dict, name: str) -> str:
    if name in (entry.get("unreadable") or []):
        return "unreadable"
    return "" if khz is None else f"{khz / 1000:.0f}"


def state_rows(record: Record) -> list[dict]:
    """One row per reading of one run, in the order taken."""
    rows = []
    for e in (record.extra or {}).get("device_state") or []:
        status = e.get("thermal_status")
        rows.append({
            "invocation": e.get("invocation"), "when": e.get("when"),
            "core": "" if e.get("core") is None else e["core"],
            "governor": "unreadable" if "scaling_governor" in (e.get("unreadable") or []) else e.get("governor") or "",
            "current MHz": _mhz(e.get("cur_khz"), e, "scaling_cur_freq"),
            "ceiling MHz": _mhz(e.get("max_khz"), e, "scaling_max_freq"),
            "top MHz": _mhz(e.get("cpuinfo_max_khz"), e, "cpuinfo_max_freq"),
            "thermal status": "unknown" if status is None else status,
            "throttled": e.get("throttled") or "",
        })
    return rows


def _heading(record: Record) -> str:
    device = record.device or {}
    where = ", ".join(part for part in (device.get("model"), f"serial {device['serial']}" if device.get("serial")
                                        else "") if part)
    return (f"{record.model} {record.resolution}px on {record.target}" + (f" ({where})" if where else "")
            + f", {record.timestamp[:19].replace('T', ' ')} UTC")


def device_state_blocks(records: list[Record]) -> list[tuple]:
    """The section as report blocks (heading, text, table), for summary.py's Markdown and HTML writers."""
    import pandas as pd

    measured = [r for r in records if (r.extra or {}).get("device_state")]
    if not measured:
        return []
    blocks: list[tuple] = [("h2", "Device state: clocks and thermal status around each invocation"), ("p", RULE)]
    for record in measured:
        blocks.append(("h3", _heading(record)))
        fingerprint = (record.device or {}).get("fingerprint")
        reason = (record.extra or {}).get("throttled")
        notes = [f"Flagged, kept with --allow-throttled: {reason}." if reason else "",
                 f"Build: `{fingerprint}`." if fingerprint else ""]
        if any(notes):
            blocks.append(("p", " ".join(n for n in notes if n)))
        blocks.append(("table", pd.DataFrame(state_rows(record), columns=list(COLUMNS))))
    return blocks


def device_state_markdown(records: list[Record]) -> str:
    """The same section as Markdown text ("" when no run has readings)."""
    out = []
    for kind, *body in device_state_blocks(records):
        if kind in ("h2", "h3"):
            out += ["#" * int(kind[1]) + " " + body[0], ""]
        elif kind == "p":
            out += [body[0], ""]
        elif kind == "table":
            out += [body[0].to_markdown(index=False), ""]
    return "\n".join(out)
