"""iPhone targets, driven from a Mac: build the app, install it, copy model and config in, launch it headless, copy
the result JSON back, and turn it into the same record as every other target (devices/ios_result.py).

Every step is an argv built by one function here, so the exact commands are tested on any OS. Off macOS the
Core ML package is still exported and the run stops with the command to use on a Mac.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.core.config import setting
from bench.core.errors import BenchError, DeviceError, NeedsOtherHost
from devices.registry import Measurement, Target, register_target

APP_DIR = Path(__file__).resolve().parent.parent / "ios_app"
DEFAULT_BUNDLE_ID = "org.mobilelatencybench.BenchApp"
SCHEME = "BenchApp"
CONFIG_NAME = "bench-config.json"
RESULT_NAME = "bench-result.json"


def devicectl_list(json_out: str) -> list[str]:
    return ["xcrun", "devicectl", "list", "devices", "--json-output", json_out]


def xcodebuild_app(udid: str, team: str, derived_data: str, project: str | None = None) -> list[str]:
    return ["xcodebuild", "-project", project or str(APP_DIR / "BenchApp.xcodeproj"), "-scheme", SCHEME,
            "-configuration", "Release", "-destination", f"id={udid}", "-derivedDataPath", derived_data,
            f"DEVELOPMENT_TEAM={team}", "CODE_SIGN_STYLE=Automatic", "-allowProvisioningUpdates", "build"]


def built_app_path(derived_data: str) -> str:
    return str(Path(derived_data) / "Build" / "Products" / "Release-iphoneos" / "BenchApp.app")


def devicectl_install(udid: str, app: str) -> list[str]:
    return ["xcrun", "devicectl", "device", "install", "app", "--device", udid, app]


def devicectl_copy_to(udid: str, bundle_id: str, source: str, destination: str) -> list[str]:
    return ["xcrun", "devicectl", "device", "copy", "to", "--device", udid, "--domain-type", "appDataContainer",
            "--domain-identifier", bundle_id, "--source", source, "--destination", destination]


def devicectl_copy_from(udid: str, bundle_id: str, source: str, destination: str) -> list[str]:
    return ["xcrun", "devicectl", "device", "copy", "from", "--device", udid, "--domain-type", "appDataContainer",
            "--domain-identifier", bundle_id, "--source", source, "--destination", destination]


def devicectl_launch(udid: str, bundle_id: str, config_name: str = CONFIG_NAME) -> list[str]:
    return ["xcrun", "devicectl", "device", "process", "launch", "--device", udid, "--terminate-existing",
            "--console", bundle_id, "--headless", config_name]


def simctl_steps(app: str, bundle_id: str, config_name: str = CONFIG_NAME) -> list[list[str]]:
    """iOS Simulator smoke test (macOS CI runners): proves the app runs headless; NOT a latency measurement."""
    return [["xcrun", "simctl", "install", "booted", app],
            ["xcrun", "simctl", "launch", "--console", "--terminate-running-process", "booted", bundle_id,
             "--headless", config_name]]


def app_config(model_file: str, protocol, compute_units: str) -> dict:
    return {"model_file": model_file, "compute_units": compute_units, "warmup": protocol.warmup,
            "runs": protocol.runs, "rounds": protocol.repeats, "protocol": protocol.name, "result_file": RESULT_NAME}


def match_device(devices_json: dict, target) -> dict:
    """The first connected device whose marketing name or product type is the target's."""
    found = devices_json.get("result", {}).get("devices", [])
    for d in found:
        hw = d.get("hardwareProperties", {})
        names = (hw.get("marketingName", ""), hw.get("productType", ""))
        udid = hw.get("udid") or d.get("identifier")
        if target.udid and udid != target.udid:
            continue
        if target.product_types and not any(n in target.product_types or n.startswith(target.marketing) for n in names):
            continue
        return {"udid": udid, "marketing_name": hw.get("marketingName"), "product_type": hw.get("productType"),
                "os": d.get("deviceProperties", {}).get("osVersionNumber")}
    seen = ", ".join(d.get("hardwareProperties", {}).get("marketingName", "?") for d in found) or "none"
    raise DeviceError(f"no {target.marketing or 'iOS device'} connected (devicectl sees: {seen}); connect and "
                      "trust it, enable Developer Mode, then `xcrun devicectl list devices`")


class IosTarget(Target):
    kind = "ios"
    runtime = "coreml"
    supports = {"coreml": ("fp16",)}
    default_format, default_precision = "coreml", "fp16"

    def __init__(self, name: str, marketing: str, product_types: tuple[str, ...], description: str):
        self.name, self.marketing, self.product_types, self.description = name, marketing, product_types, description
        self.udid = None

    def ready(self, artifact, options: dict) -> None:
        if platform.system() != "Darwin" or not shutil.which("xcrun"):
            what = f"a connected {self.marketing}" if self.marketing else "a connected iPhone (--udid)"
            raise NeedsOtherHost(
                f"running on {self.name} needs macOS with Xcode and {what}; the Core ML package is ready at "
                f"{artifact.path}; on a Mac run: bench run --model {artifact.model} --target {self.name}"
                + (f" --resolution {artifact.resolution}" if artifact.resolution else "")
            )

    def measure(self, artifact, protocol, *, threads, options, progress) -> Measurement:
        self.ready(artifact, options)
        return self._measure_on_mac(artifact, protocol, options, progress)

    def _run(self, argv: list[str], timeout: float = 1800) -> str:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise DeviceError(f"`{' '.join(argv[:5])} ...` failed: {tail[0][:300]}")
        return result.stdout

    def _measure_on_mac(self, artifact, protocol, options, progress) -> Measurement:
        from devices.ios_result import record_from_result

        team = setting("ios", "team", env="BENCH_IOS_TEAM")
        if not team:
            raise BenchError("no signing team for the iOS app; set [ios] team in the config or $BENCH_IOS_TEAM")
        bundle_id = setting("ios", "bundle_id", env="BENCH_IOS_BUNDLE_ID") or DEFAULT_BUNDLE_ID
        with tempfile.TemporaryDirectory() as tmp:
            listing = Path(tmp) / "devices.json"
            self._run(devicectl_list(str(listing)))
            self.udid = options.get("udid")
            device = match_device(json.loads(listing.read_text()), self)
            udid = device["udid"]
            derived = str(Path(tmp) / "DerivedData")
            self._run(xcodebuild_app(udid, team, derived))
            self._run(devicectl_install(udid, built_app_path(derived)))
            config = Path(tmp) / CONFIG_NAME
            model_name = Path(artifact.path).name
            config.write_text(json.dumps(app_config(model_name, protocol, options.get("compute_units", "all"))))
            self._run(devicectl_copy_to(udid, bundle_id, str(artifact.path), f"Documents/{model_name}"))
            self._run(devicectl_copy_to(udid, bundle_id, str(config), f"Documents/{CONFIG_NAME}"))
            console = self._run(devicectl_launch(udid, bundle_id))
            if "BENCH_RESULT" not in console:
                line = next((l for l in console.splitlines() if "BENCH_ERROR" in l), "no result line")
                raise DeviceError(f"the app on {udid} did not finish: {line[:300]}")
            local = Path(tmp) / RESULT_NAME
            self._run(devicectl_copy_from(udid, bundle_id, f"Documents/{RESULT_NAME}", str(local)))
            record = record_from_result(local.read_text(), model=artifact.model, target=self.name,
                                        protocol=protocol.name, source=f"{udid}:{RESULT_NAME}")
        progress(protocol.runs * protocol.repeats)
        return Measurement(runtime="coreml", runtime_version=record.runtime_version, samples_ns=record.samples_ns,
                           device={**record.device, **device}, options=record.options, extra=record.extra)


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
