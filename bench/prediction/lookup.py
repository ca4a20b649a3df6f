"""`--phone NAME` on a run: which calibration predicts each phone from the run's counts, looked up once, before
anything is exported (`calibrations_for_run`), and carried in the deployment to where the record is built
(`predictions`), always labelled predicted, never in place of a measured time."""

from __future__ import annotations

from bench.core.errors import BenchError
from bench.core.outcome import Count
from bench.prediction.calibration import Calibration, calibration_for
from bench.prediction.features import Figures
from bench.prediction.fitting import predict
from bench.prediction.phones import phone as find_phone


def calibrations_for_run(phones, target, fmt: str, precision: str, threads: int, options: dict) -> tuple:
    """The calibration of each phone for what this run will count: the target counts exactly, and each phone has a
    calibration fitted on the counts of the runtime the target runs `fmt` with, on the emulated CPU the run names;
    else one line saying why not."""
    if not phones:
        return ()
    if not getattr(target, "exact", False):
        raise BenchError(f"--phone predicts a phone's milliseconds from exact emulated counts; target {target.name} "
                         "measures time itself (use --target arm64-emu)")
    runtime = getattr(target, "runtimes", {}).get(fmt, (fmt,))[0]  # the target says whose kernels count `fmt`
    return tuple(_calibration_or_refusal(p, precision, threads, runtime, options.get("cpu")) for p in phones)


def _calibration_or_refusal(phone: str, precision: str, threads: int, runtime: str, cpu: str | None) -> Calibration:
    key = find_phone(phone).key  # an unknown phone: one line naming the known ones
    calibration = calibration_for(key, precision, threads, runtime=runtime, cpu=cpu)
    if calibration is not None:
        return calibration
    other = calibration_for(key, precision, threads, cpu=cpu) or calibration_for(key, precision, threads)
    if other is not None and other.runtime_name != runtime:
        why = f" (its calibration was fitted on {other.emulated_runtime} counts, not {runtime})"
    elif other is not None:  # another CPU model: another ISA, so XNNPACK runs other kernels
        why = f" on the emulated {cpu} (its calibration {other.id} was fitted on {other.cpu} counts: run with --cpu " \
              f"{other.cpu})"
    else:
        why = ""
    raise BenchError(f"no calibration predicts {key} at {precision}, {threads} thread(s) from {runtime} counts{why}; "
                     f"fit one from your own runs with `bench calibrate --phone {key} --from STORE` "
                     "(see `bench phones`)")


def predictions(record, calibrations) -> list[dict]:
    """One prediction per calibration for a count record (none for a timing)."""
    if not calibrations or not isinstance(record.outcome, Count):
        return []
    figures = Figures.from_extra(record.count, record.extra)
    setup = record.device.get("setup")
    return [{"label": "predicted", **predict(c, figures.count, figures.instruction_mix, figures.cache, setup=setup,
                                             memory_bytes=figures.memory_bytes).to_dict()} for c in calibrations]
