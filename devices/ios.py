"""iPhone targets, driven from a Mac: generate and build the app, install it, copy model and config in, launch it
headless, copy the result JSON back, and turn it into the same record as every other target (devices/ios_result.py).

The .mlpackage (a folder) goes to the phone as one file: public uses of `devicectl device copy to` copy files, and
what it does with a folder is not documented where we could read it, so `pack_package` writes the package into a
ustar archive in the run's folder and the app unpacks it in Documents before the run (PackageArchive.swift).

`mac_steps` is the one source of the commands: `plan` (bench run --dry-run) prints them on any OS, and `measure`
runs exactly those, in that order, on a Mac. Off macOS the Core ML package is still exported and the run stops with
the command to run on the Mac (`--model PATH.mlpackage` there needs neither torch nor coremltools).

Each step's whole output (stdout and stderr, in order) goes to its own file in one folder per run under
`log_root()`, kept after the run: the one line a failed step prints names that file, since xcodebuild's last line
("** BUILD FAILED **") says nothing of why.
"""

from __future__ import annotations

import json
import platform
import re
import shlex
import shutil
import subprocess
import tempfile
import time
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
LOG_ENV = "BENCH_IOS_LOG_DIR"

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

    @property
    def sent(self) -> str:
        """What `copy to` sends: the package's archive in the run's folder, or a one-file model itself."""
        return f"{self.work}/{archive_name(self.package)}" if is_package(self.package) else self.package

    @property
    def sent_name(self) -> str:
        return Path(self.sent).name


def is_package(path: str) -> bool:
    """A Core ML package is a folder (an exported one is named NAME.mlpackage even before it exists)."""
    return path.endswith(".mlpackage") or Path(path).is_dir()


def archive_name(package: str) -> str:
    return f"{Path(package).name}.tar"


def pack_package(package: Path, archive: Path) -> None:
    """NAME.mlpackage -> one POSIX ustar file holding the folder NAME.mlpackage, which the app unpacks
    (ios_app/BenchCore/Sources/BenchCore/PackageArchive.swift reads exactly this: files and folders, no links).
    Sorted, with zero times and owners, so one package always gives the same bytes."""
    import tarfile

    def plain(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
        info.mode = 0o755 if info.isdir() else 0o644
        return info

    paths = [package, *sorted(package.rglob("*"))]
    odd = next((p for p in paths if p.is_symlink() or not (p.is_file() or p.is_dir())), None)
    if odd is not None:
        raise DeviceError(f"{odd} in {package.name} is neither a file nor a folder; re-export the package")
    try:
        with tarfile.open(archive, "w", format=tarfile.USTAR_FORMAT) as tar:
            for path in paths:
                tar.add(path, arcname=path.relative_to(package.parent).as_posix(), recursive=False, filter=plain)
    except ValueError as exc:  # a name longer than ustar holds (255 bytes)
        archive.unlink(missing_ok=True)
        raise DeviceError(f"cannot pack {package.name} for the phone: {exc}") from None


def app_config(model_file: str, protocol, compute_units: str, model_archive: str | None = None) -> dict:
    """The JSON the app reads (ios_app/README.md); `compute_units` as typed on the command line; `model_archive`:
    the file in Documents the app unpacks into `model_file` first."""
    config = {"model_file": model_file, "compute_units": COMPUTE_UNITS[compute_units], "warmup": protocol.warmup,
              "runs": protocol.runs, "rounds": protocol.repeats, "protocol": protocol.name, "result_file": RESULT_NAME}
    return {**config, "model_archive": model_archive} if model_archive else config


def _config_for(package: str, protocol, compute_units: str) -> dict:
    return app_config(Path(package).name, protocol, compute_units,
                      archive_name(package) if is_package(package) else None)


def mac_steps(run: MacRun, launch_timeout_s: float) -> list[Step]:
    """After the device is chosen: generate, build, install, copy in, launch, copy back. In this order, always."""
    return [
        Step(tools.xcodegen_argv(), 300, "generating the Xcode project"),
        Step(tools.xcodebuild_argv(run.udid, run.team, run.bundle_id, run.derived_data), 1800, "building the app"),
        Step(tools.devicectl_install(run.udid, tools.built_app_path(run.derived_data)), 600, "installing the app"),
        Step(tools.devicectl_copy_to(run.udid, run.bundle_id, run.sent, f"Documents/{run.sent_name}"), 600,
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


def log_root() -> Path:
    """$BENCH_IOS_LOG_DIR, else [ios] log_dir in the config, else the user's log directory (on a Mac
    ~/Library/Logs/mobile-latency-bench/ios)."""
    configured = setting("ios", "log_dir", env=LOG_ENV)
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return Path(platformdirs.user_log_dir("mobile-latency-bench")) / "ios"


class StepLogs:
    """One folder per run (preflight and run apart), one numbered file per step; never deleted by bench."""

    def __init__(self, label: str, root: Path | None = None):
        self.root, self.label, self.folder, self.count = root or log_root(), label, None, 0
        self.last: Path | None = None  # the latest step's file

    def path_for(self, step: Step) -> Path:
        if self.folder is None:  # made on the first step, so a run that issues none leaves nothing
            self.root.mkdir(parents=True, exist_ok=True)
            stamp = time.strftime("%Y%m%d-%H%M%S")
            self.folder = Path(tempfile.mkdtemp(prefix=f"{stamp}-{self.label}-", dir=self.root))
        self.count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", step.what.lower()).strip("-")
        self.last = self.folder / f"{self.count:02d}-{slug}.log"
        return self.last


def failure_line(output: str) -> str:
    """The line that says why: the last one naming an error (xcodebuild ends on "** BUILD FAILED **" after it),
    else the last non-empty one."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if re.search(r"\berror\b", line, re.IGNORECASE)]
    return (errors or lines or ["no output"])[-1][:300]


def _brief(argv: list[str]) -> str:
    """The command's start for a one-line error (the log file has all of it)."""
    return " ".join(shlex.join(argv[:6]).split()) + " ..."


def _text(output) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def run_step(step: Step, logs: StepLogs) -> str:
    """Run one command, bounded in time, its whole output saved to its log file; returns that output. A failure or a
    timeout is one DeviceError naming the step, the reason and the log file."""
    log = logs.path_for(step)
    header = f"$ {shlex.join(step.argv)}\n"
    try:
        result = subprocess.run(step.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                errors="replace", timeout=step.timeout_s)
    except subprocess.TimeoutExpired as exc:
        log.write_text(header + _text(exc.output) + f"\n[bench: stopped after {step.timeout_s:.0f} s]\n")
        raise DeviceError(f"{step.what} took longer than {step.timeout_s:.0f} s (`{_brief(step.argv)}`)"
                          f"; the phone may still be busy: unlock it and run again (output: {log})") from None
    except FileNotFoundError:
        log.write_text(header + f"[bench: {step.argv[0]} is not installed]\n")
        raise NeedsOtherHost(f"{step.what} needs `{step.argv[0]}`, which is not installed") from None
    log.write_text(header + result.stdout + f"\n[bench: exit status {result.returncode}]\n")
    if result.returncode != 0:
        raise DeviceError(f"{step.what} failed (`{_brief(step.argv)}`): {failure_line(result.stdout)} "
                          f"(full output: {log})")
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
                self._discover(work, options, StepLogs("preflight"))

    def _discover(self, work: str, options: dict, logs: StepLogs) -> tuple[str, dict]:
        """Xcode's version and the one usable device: (version, device facts)."""
        version_step, list_step = discovery_steps(work)
        xcode = tools.check_xcode(run_step(version_step, logs))
        run_step(list_step, logs)
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
                     config=_config_for(str(artifact.path), protocol, options.get("compute_units", "all")))
        device = f"--udid {run.udid}" if options.get("udid") else f"the {self.marketing} that `devicectl list` shows"
        lines = [f"# needs Xcode {tools.MIN_XCODE[0]}+ and xcodegen; WORK: a new temporary directory; UDID: {device}"
                 f" (paired, booted, Developer Mode on, iOS {tools.MIN_IOS[0]}+)"]
        if not team:
            lines.append("# TEAM: no signing team configured; pass --team or set [ios] team / $BENCH_IOS_TEAM")
        lines.append(f"# each step's whole output: {log_root()}/<run>/NN-<step>.log (kept; a failed step names "
                     f"its file; ${LOG_ENV} or [ios] log_dir moves them)")
        discovery = [shell_line(s.argv) for s in discovery_steps(WORK_PLACEHOLDER)]
        lines += ["# preflight, before any export:", *discovery, "# the run (the device is looked up again):",
                  *discovery]
        for step in mac_steps(run, options.get("launch_timeout_s", 3600.0)):
            if step.what == "copying the model" and run.sent != run.package:
                lines.append(f"# {run.sent}: {run.model_name} packed into one ustar file, which the app unpacks")
            if step.what == "copying the config":
                lines.append(f"# {WORK_PLACEHOLDER}/{CONFIG_NAME}: {json.dumps(run.config, sort_keys=True)}")
            lines.append(shell_line(step.argv))
        return lines

    def measure(self, artifact, protocol, *, threads, options, progress) -> Measurement:
        self.ready(artifact, options)
        self._check_mac_tools()
        team, bundle_id = self._signing(options)
        logs = StepLogs("run")
        with tempfile.TemporaryDirectory(prefix="bench-ios-") as work:
            xcode, device = self._discover(work, options, logs)
            run = MacRun(udid=device["udid"], team=team, bundle_id=bundle_id, work=work, package=str(artifact.path),
                         config=_config_for(str(artifact.path), protocol, options.get("compute_units", "all")))
            if run.sent != run.package:
                pack_package(Path(run.package), Path(run.sent))
            Path(work, CONFIG_NAME).write_text(json.dumps(run.config, sort_keys=True))
            measurement = self._run_app(run, options, logs)
        progress(protocol.runs * protocol.repeats)
        measurement.device.update({**{k: device[k] for k in ("udid", "marketing_name", "product_type", "os")},
                                   "xcode": xcode, "compute_units": options.get("compute_units", "all")})
        return measurement

    def _run_app(self, run: MacRun, options: dict, logs: StepLogs) -> Measurement:
        from devices.ios_result import measurement_from_result

        for step in mac_steps(run, options.get("launch_timeout_s", 3600.0)):
            out = run_step(step, logs)
            if step.what == "running the benchmark":
                check_console(out, run.udid, logs.last)
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


def check_console(console: str, udid: str, log: Path | None = None) -> None:
    """The app prints one BENCH_RESULT line, or one BENCH_ERROR line; anything else is a failed run."""
    if "BENCH_RESULT" in console:
        return
    line = next((l for l in console.splitlines() if "BENCH_ERROR" in l), "")
    where = f" (full output: {log})" if log else ""
    raise DeviceError(f"the app on {udid} did not finish: "
                      f"{line.strip()[:300] or 'no BENCH_RESULT line in its output'}{where}")


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
