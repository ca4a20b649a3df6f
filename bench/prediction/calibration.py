"""A calibration: the fitted link from one emulated runtime's figures to one phone's milliseconds, as a JSON file.

It says what it was fitted on (phone, precision, threads, the runtime the phone ran as its source states, the
emulated runtime and emulator set-up whose counts it used, every row of the fit set with its source) and how well
it predicts rows it was not fitted to (leave-one-out errors, rank correlation, the band of measured / predicted).

Where calibrations live: shipped ones beside this file (calibrations/*.json); a user's under platformdirs' user
data directory (mobile-latency-bench/calibrations), or $BENCH_CALIBRATIONS. Lookup takes shipped ones first.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.core.errors import InputDataError
from bench.prediction.phones import phone as find_phone

FORMAT_VERSION = 1
SHIPPED_DIR = Path(__file__).with_name("calibrations")
USER_ENV = "BENCH_CALIBRATIONS"


@dataclass(frozen=True)
class Calibration:
    id: str
    phone: str
    precision: str
    threads: int
    measured_runtime: str  # what the phone ran, as the source of the measurements says
    emulated_runtime: str  # whose counts it was fitted on, e.g. "litert-aarch64 1.4.0"
    emulator_setup: dict
    features: tuple[str, ...]
    coefficients: tuple[float, ...]  # the intercept first, then one per feature
    fit_set: tuple[dict, ...]
    rho: float  # Spearman, fitted prediction vs measured
    loo_rho: float  # Spearman, leave-one-out prediction vs measured
    loo: dict  # mean, median, max relative error of the leave-one-out predictions
    band: tuple[float, float]  # min and max of measured / leave-one-out prediction
    fitted: str = ""
    notes: str = ""
    origin: str = field(default="", compare=False)  # the file it was read from

    @property
    def models(self) -> int:
        return len(self.fit_set)

    @property
    def cpu(self) -> str:
        """The emulated CPU model whose counts it was fitted on (its ISA decides which kernels XNNPACK runs)."""
        return (self.emulator_setup or {}).get("cpu") or default_cpu()

    @property
    def runtime_name(self) -> str:
        """The emulated runtime whose counts it was fitted on, without its version ("litert-aarch64"): a
        prediction holds for that runtime's kernels; a version apart is noted (Prediction.setup_differs)."""
        return self.emulated_runtime.split()[0] if self.emulated_runtime else ""

    def to_json(self) -> str:
        d = asdict(self)
        d.pop("origin")
        return json.dumps({"format_version": FORMAT_VERSION, **d}, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str, origin: str = "") -> "Calibration":
        d = json.loads(text)
        version = d.pop("format_version", None)
        if version != FORMAT_VERSION:
            raise InputDataError(f"calibration {origin or d.get('id')} has format version {version}; this bench "
                                 f"reads version {FORMAT_VERSION}")
        for key in ("features", "coefficients", "fit_set", "band"):
            d[key] = tuple(d[key])
        return cls(**d, origin=origin)


def default_cpu() -> str:
    """arm64-emu's default CPU model (its --cpu option's default), asked of the target, which alone decides it: what
    counts and calibrations that name no CPU were counted on."""
    from devices.arm64_emu.target import DEFAULT_CPU

    return DEFAULT_CPU


def user_dir() -> Path:
    if os.environ.get(USER_ENV):
        return Path(os.environ[USER_ENV])
    import platformdirs

    return Path(platformdirs.user_data_dir("mobile-latency-bench")) / "calibrations"


def load(path: Path) -> Calibration:
    try:
        return Calibration.from_json(path.read_text(), origin=str(path))
    except (json.JSONDecodeError, TypeError, KeyError) as exc:
        raise InputDataError(f"calibration file {path} is unreadable ({exc}); fit it again with `bench calibrate`")


def _in(directory: Path) -> list[Calibration]:
    return [load(p) for p in sorted(directory.glob("*.json"))] if directory.is_dir() else []


def shipped() -> list[Calibration]:
    return _in(SHIPPED_DIR)


def user() -> list[Calibration]:
    return _in(user_dir())


def calibration_for(phone: str, precision: str, threads: int = 1, runtime: str | None = None,
                    cpu: str | None = None) -> Calibration | None:
    """The calibration for this phone, precision, thread count (and, when given, the name of the emulated runtime
    whose counts it predicts from, e.g. "litert-aarch64", and the emulated CPU model), or None.

    Shipped calibrations come first, then the user's; among several, the one fitted on the most models.
    An unknown phone raises UnknownChoice naming the known ones.
    """
    key = find_phone(phone).key
    for group in (shipped(), user()):
        fits = [c for c in group if c.phone == key and c.precision == precision and c.threads == threads
                and (runtime is None or c.runtime_name == runtime) and (cpu is None or c.cpu == cpu)]
        if fits:
            return sorted(fits, key=lambda c: (-c.models, c.id))[0]
    return None


def save_calibration(cal: Calibration, directory: Path | None = None) -> Path:
    """Write `cal` as <id>.json in the user's calibration folder (or `directory`), whole or not at all."""
    target_dir = Path(directory) if directory else user_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{cal.id}.json"
    fd, tmp = tempfile.mkstemp(dir=target_dir, prefix=f".{cal.id}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(cal.to_json())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
