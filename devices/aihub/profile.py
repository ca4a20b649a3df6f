"""An AI Hub profile, as the client returns it, turned into raw samples and the facts a record keeps.

The document is what `qai_hub.InferenceJob.download_profile()` returns (qai_hub 0.56.0, client.py
`_profile_pb_to_python_dict`): {"execution_summary": {...}, "execution_detail": [{"name", "type", "compute_unit",
["execution_time"], ["execution_cycles"]}, ...]}. Summary times are microseconds, memory is bytes; memory ranges are
(lower, upper) tuples in memory and [lower, upper] lists once written to JSON by `download_profile(filename)`.
Profile format 1.2 and later lists every timed run in `all_inference_times`; older formats give one estimate only,
which is not a sample, so they are refused rather than stored as one.
Pure functions of the document: nothing here imports qai_hub or talks to the network.
"""

from __future__ import annotations

from collections import Counter

from bench.core.errors import BenchError, InputDataError

NS_PER_US = 1000
UNITS = ("NPU", "GPU", "CPU")


class PartialPlacement(BenchError):
    """The profile shows layers off the compute unit the user asked for (like Android's partial delegation)."""

    exit_code = 4


def _summary(profile: dict) -> dict:
    summary = profile.get("execution_summary") if isinstance(profile, dict) else None
    if not isinstance(summary, dict):
        raise InputDataError("the AI Hub profile has no execution_summary (is this a profile job that succeeded?)")
    return summary


def samples_ns(profile: dict) -> list[int]:
    """The per-run inference times, microseconds -> integer nanoseconds, in the order AI Hub ran them."""
    times = _summary(profile).get("all_inference_times")
    if not times:
        raise InputDataError("the AI Hub profile lists no per-run inference times (all_inference_times, profile "
                             "format 1.2+); one estimate is not a sample, so nothing is stored")
    if any(not isinstance(t, (int, float)) or t <= 0 for t in times):
        raise InputDataError(f"the AI Hub profile has a non-positive or non-numeric run time in {times[:5]}...")
    return [int(round(t * NS_PER_US)) for t in times]


def placement(profile: dict) -> dict:
    """How many layers ran on each compute unit, as AI Hub's own summary counts them (InferenceJobResult)."""
    counts = Counter(str(layer.get("compute_unit", "")).upper() for layer in profile.get("execution_detail") or [])
    return {unit: counts.get(unit, 0) for unit in UNITS} | {k: v for k, v in counts.items() if k not in UNITS}


def check_placement(counts: dict, compute_unit: str, allow_partial: bool) -> str:
    """'complete' when every layer ran on the requested unit; a partly placed run is an error unless allowed.
    With no per-layer detail placement cannot be confirmed, which counts as partial."""
    wanted = compute_unit.upper()
    total = sum(counts.values())
    if wanted == "ALL":  # AI Hub's default for a job submitted without --compute_unit: any placement is as asked
        return "any unit (AI Hub's choice)"
    off = {unit: n for unit, n in counts.items() if unit != wanted and n}
    if total and not off:
        return "complete"
    if allow_partial:
        return "partial" if total else "unknown"
    if not total:
        raise PartialPlacement(f"the AI Hub profile lists no per-layer placement, so a full {wanted} run cannot be "
                               "confirmed; pass --allow-partial to store it anyway")
    where = ", ".join(f"{n} on {unit}" for unit, n in off.items())
    raise PartialPlacement(f"only {counts.get(wanted, 0)} of {total} layers ran on the {wanted} ({where}); "
                           "pass --allow-partial to store a partly placed run")


def _range(value):
    return list(value) if isinstance(value, (tuple, list)) else value


def load_and_memory(profile: dict) -> dict:
    """Load times (ms) and memory (bytes) as the summary gives them; absent figures stay None, never 0."""
    s = _summary(profile)

    def ms(key):
        return None if s.get(key) is None else s[key] / 1000.0

    return {
        "first_load_ms": ms("first_load_time"),
        "warm_load_ms": ms("warm_load_time"),
        "compile_ms": ms("compile_time"),
        "all_first_load_ms": [t / 1000.0 for t in s.get("all_first_load_times") or []],
        "all_warm_load_ms": [t / 1000.0 for t in s.get("all_warm_load_times") or []],
        "estimated_inference_ms": ms("estimated_inference_time"),
        "peak_memory_bytes": s.get("estimated_inference_peak_memory"),
        "inference_memory_peak_range_bytes": _range(s.get("inference_memory_peak_range")),
        "first_load_memory_peak_range_bytes": _range(s.get("first_load_memory_peak_range")),
    }


def device_facts(name: str, os_version: str, attributes) -> dict:
    """Device name, OS and chipset as AI Hub reports them (attributes such as 'chipset:qualcomm-snapdragon-8gen2',
    'os:android', 'framework:tflite')."""
    attrs = list(attributes or [])

    def attr(prefix):
        return next((a.split(":", 1)[1] for a in attrs if a.startswith(prefix + ":")), None)

    return {"model": name, "os": attr("os"), "os_version": os_version or None, "chipset": attr("chipset"),
            "vendor": attr("vendor"), "attributes": attrs, "source": "Qualcomm AI Hub"}


def summarize(profile: dict, compute_unit: str, allow_partial: bool) -> tuple[list[int], dict]:
    """(samples in ns, facts for the record's extra): the one entry point the target and the import use."""
    samples = samples_ns(profile)
    counts = placement(profile)
    status = check_placement(counts, compute_unit, allow_partial)
    facts = {"placement": {"requested": compute_unit.upper(), "layers": counts, "status": status},
             **load_and_memory(profile), "runs_returned": len(samples)}
    return samples, facts
