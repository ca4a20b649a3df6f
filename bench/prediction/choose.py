"""Which features a user's calibration uses: the ones asked for, or, by default, the candidate with the lowest
leave-one-out error among the few the fit set can support (the count alone; the count and one share of the
instruction mix; the features of the shipped calibration of that phone). Few rows fit few parameters."""

from __future__ import annotations

from bench.core.errors import BenchError
from bench.prediction import features as feat
from bench.prediction.model import MIN_MODELS, SPARE_ROWS, NotEnoughModels, fit_calibration


def candidates(rows, phone: str, precision: str, threads: int) -> list[tuple[str, ...]]:
    """Feature sets to try, smallest first, each one the rows have the figures for and enough rows to judge."""
    from bench.prediction.calibration import shipped

    have = {"count"} | ({"instruction_mix"} if all(r.figures.instruction_mix for r in rows) else set()) | \
        ({"cache"} if all(r.figures.cache for r in rows) else set())
    sets = [()] + [(f"{c}_share",) for c in feat.MIX_CLASSES if c != "other"]
    sets += [c.features for c in shipped() if (c.phone, c.precision, c.threads) == (phone, precision, threads)]
    usable = [s for s in dict.fromkeys(sets) if feat.needs(s) <= have and len(rows) >= max(MIN_MODELS, len(s) + 1 +
                                                                                             SPARE_ROWS)]
    return usable or [()]


def fit_best(rows, phone: str, precision: str, *, threads: int = 1, features=None, **fit_args):
    """The calibration with `features`, or with the candidate set of lowest leave-one-out mean error."""
    rows = list(rows)
    if len(rows) < MIN_MODELS:
        raise NotEnoughModels(f"calibrating {phone} needs at least {MIN_MODELS} models measured on the phone and "
                              f"counted on arm64-emu; the store pairs {len(rows)}")
    if features is not None:
        return fit_calibration(rows, phone, precision, threads=threads, features=tuple(features), **fit_args)
    fits = []
    for names in candidates(rows, phone, precision, threads):
        try:
            fits.append(fit_calibration(rows, phone, precision, threads=threads, features=names, **fit_args))
        except (BenchError, ValueError):
            continue  # e.g. a singular design for this set: the others stand
    if not fits:
        raise BenchError(f"no calibration of {phone} could be fitted from these {len(rows)} models")
    return min(fits, key=lambda c: (c.loo["mean"], len(c.features)))
