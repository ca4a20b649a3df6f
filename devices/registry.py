"""Target registry and the contract every target fulfils."""

from __future__ import annotations

from bench.core import options as target_options
from bench.core.errors import UnsupportedFormat
from bench.core.measurement import Measurement, ProgressFn
from bench.core.options import Option
from bench.core.registry import Registry

TARGETS: Registry["Target"] = Registry(
    "target",
    modules=("devices.host", "devices.executorch_host", "devices.android.target", "devices.android.executorch_target", "devices.ios", "devices.aihub.target", "devices.arm64_emu.target"),
    hint="bench targets",
)


class Target:
    """Base class. `supports` maps format -> precisions this target runs."""

    name: str = ""
    aliases: tuple[str, ...] = ()
    description: str = ""
    kind: str = "host"
    runtime: str = ""
    supports: dict[str, tuple[str, ...]] = {}
    default_format: str = ""
    default_precision: str = ""
    default_protocol: str = "mobileone"  # how papers measured on this kind of device (Android: mnv4)
    # True for a target whose figure is exact (a count, not a time): measurements of it may run side by side, since
    # they cannot disturb one another; timed targets would time each other.
    exact: bool = False
    options: tuple[Option, ...] = ()  # what `bench run` may pass this target beyond the common flags

    def pairs(self) -> list[str]:
        return [f"{fmt}/{p}" for fmt, precisions in self.supports.items() for p in precisions]

    def check(self, fmt: str, precision: str) -> None:
        if precision not in self.supports.get(fmt, ()):
            raise UnsupportedFormat(
                f"target {self.name} cannot run {fmt}/{precision}; it runs: {', '.join(self.pairs())}"
            )

    def check_threads(self, threads: int) -> None:
        """Refuse a thread count this target cannot honour (before anything is exported)."""

    def check_record(self, fmt: str, precision: str, resolution: int | None, *, counted: bool) -> None:
        """What a record made elsewhere (an import, a recovery file) says ran here, checked as a run is checked:
        the run's own (format, precision) check, its resolution bounds, and the kind of figure this target gives
        (a counting target never holds a timing, a timed one never a count)."""
        if precision == "unknown":  # an AI Hub job bench did not name: its format is known, its precision not
            precision = (self.supports.get(fmt) or ("unknown",))[0]
        self.check(fmt, precision)
        target_options.check_resolution(resolution)
        if self.exact and not counted:
            raise UnsupportedFormat(f"target {self.name} counts instructions, it never times; a timing cannot be "
                                    "stored under it (name the device that timed it; see `bench targets`)")
        if counted and not self.exact:
            raise UnsupportedFormat(f"target {self.name} times; an instruction count cannot be stored under it "
                                    "(counts belong to arm64-emu)")

    def resolve_options(self, given: dict) -> dict:
        """The one place target options are validated: unknown ones name the options this target takes."""
        return target_options.resolve(self.name, self.options, given)

    def preflight(self, options: dict) -> None:
        """Cheap checks that the place to run exists (a phone attached), done before any export."""

    def ready(self, artifact, options: dict) -> None:
        """Last check once the artifact exists, before measuring (e.g. the host can drive this target at all)."""

    def check_options(self, fmt: str, precision: str, options: dict) -> None:
        """Reject runner options this target cannot honour (before anything is exported)."""

    def plan(self, artifact, protocol, *, threads: int, options: dict) -> list[str]:
        """`bench run --dry-run`: every external command `measure` would issue, in order, one shell line each
        (xcodegen/xcodebuild/devicectl for iOS, adb for Android). No side effects. In-process targets say what they
        would do in one line."""
        return [f"# in this process: {self.runtime} runs {artifact.path} ({protocol.warmup} warm-up, {protocol.repeats} x {protocol.runs} timed runs, {threads} thread(s))"]

    def interrupted(self) -> list[str]:
        """After Ctrl-C: lines telling the user what is still under way elsewhere (e.g. farm jobs to collect)."""
        return []

    def measure(self, artifact, protocol, *, threads: int, options: dict, progress: ProgressFn) -> Measurement:
        raise NotImplementedError


def register_target(target: Target) -> Target:
    return TARGETS.register(target.name, target, target.aliases)


def get_target(name: str) -> Target:
    return TARGETS.get(name)


def list_targets() -> list[Target]:
    return TARGETS.entries()
