"""`--phone NAME`: a named phone's CPU milliseconds predicted from an exact emulated count, through a calibration
(bench/prediction). Checked before anything is exported; attached to the record beside the count it came from,
always labelled predicted, never in place of a measured time."""

from __future__ import annotations

from bench.core.errors import BenchError
from bench.core.outcome import Count

# The emulated runtime each format's counts come from (devices/arm64_emu): a calibration holds for one of them.
EMULATED_RUNTIMES = {"tflite": "litert-aarch64", "onnx": "onnxruntime-aarch64", "pte": "executorch-aarch64"}


def calibration_or_refusal(phone: str, precision: str, threads: int, fmt: str, cpu: str | None = None):
    """The calibration a prediction for `phone` would use from counts on the emulated `cpu` (any, when None), or one
    line saying why there is none."""
    from bench.prediction import calibration_for, phone as find_phone

    key = find_phone(phone).key  # an unknown phone: one line naming the known ones
    runtime = EMULATED_RUNTIMES.get(fmt, fmt)
    calibration = calibration_for(key, precision, threads, cpu=cpu)
    if calibration is not None and calibration.emulated_runtime.split()[0] == runtime:
        return calibration
    other = calibration or calibration_for(key, precision, threads)
    if other is not None and other.emulated_runtime.split()[0] != runtime:
        why = f" (its calibration was fitted on {other.emulated_runtime} counts, not {runtime})"
    elif other is not None:  # another CPU model: another ISA, so XNNPACK runs other kernels
        why = f" on the emulated {cpu} (its calibration {other.id} was fitted on {other.cpu} counts: run with --cpu " \
              f"{other.cpu})"
    else:
        why = ""
    raise BenchError(f"no calibration predicts {key} at {precision}, {threads} thread(s) from {runtime} counts{why}; "
                     f"fit one from your own runs with `bench calibrate --phone {key} --from STORE` (see `bench phones`)")


def check_phones(phones, target, fmt: str, precision: str, threads: int, options: dict | None = None) -> None:
    """Before any export: the target counts exactly, and each phone has a calibration for what will run, fitted on
    counts from the same emulated CPU model."""
    if not phones:
        return
    if not getattr(target, "exact", False):
        raise BenchError(f"--phone predicts a phone's milliseconds from exact emulated counts; target {target.name} "
                         "measures time itself (use --target arm64-emu)")
    for phone in phones:
        calibration_or_refusal(phone, precision, threads, fmt, (options or {}).get("cpu"))


def predictions(record, phones) -> list[dict]:
    """One prediction per phone for a count record (none for a timing)."""
    if not phones or not isinstance(record.outcome, Count):
        return []
    from bench.prediction import Figures, predict

    figures = Figures.from_extra(record.count, record.extra)
    found = []
    for phone in phones:
        cpu = (record.device.get("setup") or {}).get("cpu")
        calibration = calibration_or_refusal(phone, record.precision, record.threads, record.format, cpu)
        made = predict(calibration, figures.count, figures.instruction_mix, figures.cache,
                       setup=record.device.get("setup"), memory_bytes=figures.memory_bytes)
        found.append({"label": "predicted", **made.to_dict()})
    return found
