"""`--phone NAME`: a named phone's CPU milliseconds predicted from an exact emulated count, through a calibration
(bench/prediction). Checked before anything is exported; attached to the record beside the count it came from,
always labelled predicted, never in place of a measured time."""

from __future__ import annotations

from bench.core.errors import BenchError
from bench.core.outcome import Count

# The emulated runtime each format's counts come from (devices/arm64_emu): a calibration holds for one of them.
EMULATED_RUNTIMES = {"tflite": "litert-aarch64", "onnx": "onnxruntime-aarch64"}


def calibration_or_refusal(phone: str, precision: str, threads: int, fmt: str):
    """The calibration a prediction for `phone` would use, or one line saying why there is none."""
    from bench.prediction import calibration_for, phone as find_phone

    key = find_phone(phone).key  # an unknown phone: one line naming the known ones
    runtime = EMULATED_RUNTIMES.get(fmt, fmt)
    calibration = calibration_for(key, precision, threads)
    if calibration is not None and calibration.emulated_runtime.split()[0] == runtime:
        return calibration
    fitted = f" (its calibration was fitted on {calibration.emulated_runtime} counts, not {runtime})" if calibration \
        else ""
    raise BenchError(f"no calibration predicts {key} at {precision}, {threads} thread(s) from {runtime} counts"
                     f"{fitted}; fit one from your own runs with `bench calibrate --phone {key} --from STORE` "
                     "(see `bench phones`)")


def check_phones(phones, target, fmt: str, precision: str, threads: int, options: dict | None = None) -> None:
    """Before any export: the target counts exactly, and each phone has a calibration for what will run, fitted on
    counts from the same emulated CPU (another CPU model has another ISA, so XNNPACK runs other kernels)."""
    if not phones:
        return
    if not getattr(target, "exact", False):
        raise BenchError(f"--phone predicts a phone's milliseconds from exact emulated counts; target {target.name} "
                         "measures time itself (use --target arm64-emu)")
    cpu = (options or {}).get("cpu")
    for phone in phones:
        calibration = calibration_or_refusal(phone, precision, threads, fmt)
        fitted_on = (calibration.emulator_setup or {}).get("cpu")
        if cpu and fitted_on and cpu != fitted_on:
            raise BenchError(f"--phone {phone}: calibration {calibration.id} was fitted on counts from the emulated "
                             f"{fitted_on}, and this run counts on {cpu} (other kernels); run with --cpu {fitted_on}, "
                             f"or fit one on {cpu} counts with `bench calibrate --phone {calibration.phone}`")


def predictions(record, phones) -> list[dict]:
    """One prediction per phone for a count record (none for a timing)."""
    if not phones or not isinstance(record.outcome, Count):
        return []
    from bench.prediction import Figures, predict

    figures = Figures.from_extra(record.count, record.extra)
    found = []
    for phone in phones:
        calibration = calibration_or_refusal(phone, record.precision, record.threads, record.format)
        made = predict(calibration, figures.count, figures.instruction_mix, figures.cache,
                       setup=record.device.get("setup"), memory_bytes=figures.memory_bytes)
        found.append({"label": "predicted", **made.to_dict()})
    return found
