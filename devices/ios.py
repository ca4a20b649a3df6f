"""iPhone targets, driven from a Mac: generate and build the app, install it, copy model and config in, launch it
headless, copy the result JSON back, and turn it into the same record as every other target (devices/ios_result.py).

`mac_steps` is the one source of the commands: `plan` (bench run --dry-run) prints them on any OS, and `measure`
runs exactly those, in that order, on a Mac. Off macOS the Core ML package is still exported and the run stops with
the command to run on the Mac (`--model PATH.mlpackage` there needs neither torch nor coremltools).
"""

from __future__ import annotations

import json
import platform
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.core.config import setting
from bench.core.errors import BenchError, DeviceError, NeedsOtherHost
from bench.core.options import Option
from devices import ios_tools as tools
from devices.registry import Measurement, Target, register_target

DEFAULT_BUNDLE_ID = "org.mobilelatencybench.BenchApp"
CONFIG_NAME = "bench-config.json"
RESULT_NAME = "bench-result.json"
# --compute-units as typed -> MLComputeUnits' case names, which the app's config decodes (BenchConfig.swift).
COMPUTE_UNITS = {"all": "all", "cpu": "cpuOnly", "cpu-gpu": "cpuAndGPU", "cpu-ne": "cpuAndNeuralEngine"}
UDID_PLACEHOLDER = "$UDID"  # in a dry run: the device `devicectl list devices` would pick
WORK_PLACEHOLDER = "$WORK"  # in a dry run: the temporary directory a run makes
TEAM_PLACEHOLDER = "$TEAM"  # in a dry run with no team configured

OPTIONS = (
    Option("compute_units", str, "all", "Core ML compute units: all, cpu (CPU only), cpu-gpu, cpu-ne (CPU and "
           "Neural Engine)", choices=tuple(COMPUTE_UNITS)),
    Option("udid", str, None, "device UDID (`xcrun devicectl list devices`); needed for target ios, or to choose "
           "between several connected phones"),
    Option("team", str, None, "Apple development team id for signing (default: [ios] team in the config, or "
           "$BENCH_IOS_TEAM)"),
    Option("bundle_id", str, None, f"bundle id the app is built and installed as (default: [ios] bundle_id, "
           f"$BENCH_IOS_BUNDLE_ID, or {DEFAULT_BUNDLE_ID})"),
    Option("launch_timeout_s", float, 3600.0, "longest the headless app may run before the run is abandoned"),
)


@dataclass(frozen=True)
class Step:
    argv: list[str]
    timeout_s: float
    what: str  # for the error line when it fails


@dataclass(frozen=True)
class MacRun:
    """Everything the commands of one run depend on."""

    udid: str
    team: str
    bundle_id: str
    work: str
    package: str
    config: dict

    @property
    def derived_data(self) -> str:
        return f"{self.work}/DerivedData"

    @property
    def model_name(self) -> str:
        return Path(self.package).name


def app_config(model_file: str, protocol, compute_units: str) -> dict:
    """The JSON the app reads (ios_app/README.md); `compute_units` as typed on the command line."""
    return {"model_file": model_file, "compute_units": COMPUTE_UNITS[compute_units], "warmup": protocol.warmup,
            "runs": protocol.runs, "rounds": protocol.repeats, "protocol": protocol.name, "result_file": RESULT_NAME}


def mac_steps(run: MacRun, launch_timeout_s: float) -> list[Step]:
    """After the device is chosen: generate, build, install, copy in, launch, copy back. In this order, always."""
    return [
        Step(tools.xcodegen_argv(), 300, "generating the Xcode project"),
        Step(tools.xcodebuild_argv(run.udid, run.team, run.bundle_id, run.derived_data), 1800, "building the app"),
        Step(tools.devicectl_install(run.udid, tools.built_app_path(run.derived_data)), 600, "installing the app"),
        Step(tools.devicectl_copy_to(run.udid, run.bundle_id, run.package, f"Documents/{run.model_name}"), 600,
             "copying the model"),
        Step(tools.devicectl_copy_to(run.udid, run.bundle_id, f"{run.work}/{CONFIG_NAME}", f"Documents/{CONFIG_NAME}"),
             120, "copying the config"),
        Step(tools.devicectl_launch(run.udid, run.bundle_id, CONFIG_NAME), launch_timeout_s, "running the benchmark"),
        Step(tools.devicectl_copy_from(run.udid, run.bundle_id, f"Documents/{RESULT_NAME}",
                                       f"{run.work}/{RESULT_NAME}"), 120, "copying the result back"),
    ]


def discovery_steps(work: str) -> list[Step]:
    return [Step(tools.xcode_version_argv(), 60, "reading the Xcode version"),
            Step(tools.devicectl_list(f"{work}/devices.json"), 120, "listing devices")]


def shell_line(argv: list[str]) -> str:
    """One shell line; the dry run's placeholders stay expandable variables."""
    out = []
    for word in argv:
        for name in (UDID_PLACEHOLDER, WORK_PLACEHOLDER, TEAM_PLACEHOLDER):
            if name in word:
                word = '"' + word.replace('"', '\\"') + '"'
                break
        else:
            word = shlex.quote(word)
        out.append(word)
    return " ".join(out)


def run_step(step: Step) -> str:
    """Run one command, bounded in time; a failure or a timeout is one DeviceError naming the step."""
    try:
        result = subprocess.run(step.argv, capture_output=True, text=True, timeout=step.timeout_s)
    except subprocess.TimeoutExpired:
        raise DeviceError(f"{step.what} took longer than {step.timeout_s:.0f} s (`{shlex.join(step.argv[:6])} ...`)"
                          "; the phone may still be busy: unlock it and run again") from None
    except FileNotFoundError:
        raise NeedsOtherHost(f"{step.what} needs `{step.argv[0]}`, which is not installed") from None
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise DeviceError(f"{step.what} failed (`{shlex.join(step.argv[:6])} ...`): {tail[0][:300]}")
    return result.stdout


class IosTarget(Target):
    kind = "ios"
    runtime = "coreml"
    supports = {"coreml": ("fp16",)}
    default_format, default_precision = "coreml", "fp16"
    options = OPTIONS

    def __init__(self, name: str, marketing: str, product_types: tuple[str, ...], description: str):
        self.name, self.marketing, self.product_types, self.description = name, marketing, product_types, description

    # ---------------------------------------------------------------- checks

    def _signing(self, options: dict) -> tuple[str, str]:
        team = options.get("team") or setting("ios", "team", env="BENCH_IOS_TEAM")
        if not team:
            raise BenchError("no signing team for the iOS app; pass --team, or set [ios] team in the config "
                             "(~/.config/bench/config.toml) or $BENCH_IOS_TEAM")
        bundle_id = options.get("bundle_id") or setting("ios", "bundle_id", env="BENCH_IOS_BUNDLE_ID")
        return team, bundle_id or DEFAULT_BUNDLE_ID

    def _check_udid(self, options: dict) -> None:
        if not self.marketing and not options.get("udid"):
            raise BenchError("target ios needs --udid (see `xcrun devicectl list devices`), or use a named target "
                             "such as iphone12")

    def preflight(self, options: dict) -> None:
        """Before any export: the options hold together; on a Mac also the tools, the signing team, Xcode 16+ and
        a usable phone (paired, booted, Developer Mode, iOS 17+), so a missing one costs no export time."""
        self._check_udid(options)
        if _host_is_mac():
            self._check_mac_tools()
            self._signing(options)
            with tempfile.TemporaryDirectory(prefix="bench-ios-") as work:
                self._discover(work, options)

    def _discover(self, work: str, options: dict) -> tuple[str, dict]:
        """Xcode's version and the one usable device: (version, device facts)."""
        version_step, list_step = discovery_steps(work)
        xcode = tools.check_xcode(run_step(version_step))
        run_step(list_step)
        device = tools.pick_device(_read_json(Path(list_step.argv[-1])), marketing=self.marketing,
                                   product_types=self.product_types, udid=options.get("udid"))
        return xcode, device

    def _check_mac_tools(self) -> None:
        for tool, hint in (("xcrun", "install Xcode 16 or newer from the App Store"),
                           ("xcodebuild", "install Xcode 16 or newer from the App Store"),
                           ("xcodegen", tools.XCODEGEN_HINT)):
            if not shutil.which(tool):
                raise NeedsOtherHost(f"`{tool}` is not installed; {hint}")

    def ready(self, artifact, options: dict) -> None:
        if not _host_is_mac():
            raise NeedsOtherHost(handoff_message(self, artifact, options))

    # ---------------------------------------------------------------- plan and measure

    def plan(self, artifact, protocol, *, threads: int, options: dict) -> list[str]:
        """Every command a Mac run issues, in order, one shell line each; no side effects, any OS."""
        self._check_udid(options)
        team = options.get("team") or setting("ios", "team", env="BENCH_IOS_TEAM")
        bundle_id = options.get("bundle_id") or setting("ios", "bundle_id", env="BENCH_IOS_BUNDLE_ID")
        run = MacRun(udid=options.get("udid") or UDID_PLACEHOLDER, team=team or TEAM_PLACEHOLDER,
                     bundle_id=bundle_id or DEFAULT_BUNDLE_ID, work=WORK_PLACEHOLDER, package=str(artifact.path),
                     config=app_config(Path(artifact.path).name, protocol, options.get("compute_units", "all")))
        device = f"--udid {run.udid}" if options.get("udid") else f"the {self.marketing} that `devicectl list` shows"
        lines = [f"# needs Xcode {tools.MIN_XCODE[0]}+ and xcodegen; WORK: a new temporary directory; UDID: {device}"
                 f" (paired, booted, Developer Mode on, iOS {tools.MIN_IOS[0]}+)"]
        if not team:
            lines.append("# TEAM: no signing team configured; pass --team or set [ios] team / $BENCH_IOS_TEAM")
        discovery = [shell_line(s.argv) for s in discovery_steps(WORK_PLACEHOLDER)]
        lines += ["# preflight, before any export:", *discovery, "# the run (the device is looked up again):",
                  *discovery]
        for step in mac_steps(run, options.get("launch_timeout_s", 3600.0)):
            if step.what == "copying the config":
                lines.append(f"# {WORK_PLACEHOLDER}/{CONFIG_NAME}: {json.dumps(run.config, sort_keys=True)}")
            lines.append(shell_line(step.argv))
        return lines

    def measure(self, artifact, protocol, *, threads, options, progress) -> Measurement:
        self.ready(artifact, options)
        self._check_mac_tools()
        team, bundle_id = self._signing(options)
        with tempfile.TemporaryDirectory(prefix="bench-ios-") as work:
            xcode, device = self._discover(work, options)
            run = MacRun(udid=device["udid"], team=team, bundle_id=bundle_id, work=work, package=str(artifact.path),
                         config=app_config(Path(artifact.path).name, protocol, options.get("compute_units", "all")))
            Path(work, CONFIG_NAME).write_text(json.dumps(run.config, sort_keys=True))
            measurement = self._run_app(run, options)
        progress(protocol.runs * protocol.repeats)
        measurement.device.update({**{k: device[k] for k in ("udid", "marketing_name", "product_type", "os")},
                                   "xcode": xcode, "compute_units": options.get("compute_units", "all")})
        return measurement

    def _run_app(self, run: MacRun, options: dict) -> Measurement:
        from devices.ios_result import measurement_from_result

        for step in mac_steps(run, options.get("launch_timeout_s", 3600.0)):
            out = run_step(step)
            if step.what == "running the benchmark":
                check_console(out, run.udid)
        result = Path(run.work, RESULT_NAME)
        if not result.is_file():
            raise DeviceError(f"devicectl copied no Documents/{RESULT_NAME} off {run.udid}")
        measurement, facts = measurement_from_result(result.read_text(), source=f"{run.udid}:Documents/{RESULT_NAME}")
        ran = (facts["compute_units"], facts["warmup"], facts["runs"], facts["rounds"])
        asked = (run.config["compute_units"], run.config["warmup"], run.config["runs"], run.config["rounds"])
        if ran != asked:  # e.g. a result left by an older app build: never store it as this run
            raise DeviceError(f"the app's result is not this run's (compute units, warm-up, runs, rounds: {ran}, "
                              f"asked {asked}); update the app and run again")
        return measurement


def check_console(console: str, udid: str) -> None:
    """The app prints one BENCH_RESULT line, or one BENCH_ERROR line; anything else is a failed run."""
    if "BENCH_RESULT" in console:
        return
    line = next((l for l in console.splitlines() if "BENCH_ERROR" in l), "")
    raise DeviceError(f"the app on {udid} did not finish: {line.strip()[:300] or 'no BENCH_RESULT line in its output'}")


def handoff_message(target: IosTarget, artifact, options: dict) -> str:
    """Linux -> Mac: the exact command for the package just exported, and the manual route."""
    extra = " ".join(f"--{k.replace('_', '-')} {shlex.quote(str(v))}" for k, v in sorted(options.items())
                     if v is not None and k in ("compute_units", "udid", "bundle_id", "team")
                     and not (k == "compute_units" and v == "all"))
    command = f"bench run --model {shlex.quote(str(artifact.path))} --target {target.name}"
    command += f" {extra}" if extra else ""
    return (f"running on {target.name} needs macOS with Xcode {tools.MIN_XCODE[0]}+ and a connected "
            f"{target.marketing or 'iPhone (--udid)'} on iOS {tools.MIN_IOS[0]}+; the Core ML package is ready at "
            f"{artifact.path}; copy it to the Mac and run there: {command} (the core install is enough: no torch, no "
            f"coremltools); or run the app by hand (ios_app/README.md) and store its result with: bench import "
            f"ios-result bench-result.json --model {artifact.model} --target {target.name}")


def _host_is_mac() -> bool:
    return platform.system() == "Darwin"


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DeviceError(f"`xcrun devicectl list devices` wrote no readable JSON ({exc})") from None
    return data if isinstance(data, dict) else {}


for _target in (
    IosTarget("iphone12", "iPhone 12", ("iPhone13,1", "iPhone13,2", "iPhone13,3", "iPhone13,4"),
              "Apple iPhone 12 family (A14): Core ML, driven from a Mac"),
    IosTarget("iphone13", "iPhone 13", ("iPhone14,4", "iPhone14,5", "iPhone14,2", "iPhone14,3"),
              "Apple iPhone 13 family (A15): Core ML, driven from a Mac"),
    IosTarget("iphone14", "iPhone 14", ("iPhone14,7", "iPhone14,8", "iPhone15,2", "iPhone15,3"),
              "Apple iPhone 14 family (A15/A16): Core ML, driven from a Mac"),
    IosTarget("iphone15", "iPhone 15", ("iPhone15,4", "iPhone15,5", "iPhone16,1", "iPhone16,2"),
              "Apple iPhone 15 family (A16/A17 Pro): Core ML, driven from a Mac"),
    IosTarget("ios", "", (), "any iPhone by --udid: Core ML, driven from a Mac"),
):
    register_target(_target)
