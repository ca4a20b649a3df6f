"""The Mac tools the iOS targets drive (xcodegen, xcodebuild, xcrun devicectl): one function per command line, the
parse of what they print, and the checks that stop a run with one line naming what is missing.

Facts about these tools that shape this module (checked against public usages and release notes):
- `devicectl device process launch --console` (capture the app's stdout/stderr and wait for it to exit) exists from
  Xcode 16 (Xcode 16 release notes, quoted in dotnet/macios#20710); devicectl drives only iOS 17+ devices.
- devicectl keeps parsing dash-prefixed words after the bundle id as its own options, so the app's arguments go
  after `--` placed before the bundle id (bazelbuild/rules_apple#3014, sweetpad-dev/sweetpad#296,
  callstack/agent-device#598).
- `devicectl list devices --json-output FILE` writes {"result": {"devices": [...]}}; each device has
  `identifier` (CoreDevice UUID), `hardwareProperties` {udid, marketingName, productType, reality},
  `connectionProperties` {pairingState: "paired", tunnelState: connected|disconnected|unavailable},
  `deviceProperties` {osVersionNumber "17.4.1", developerModeStatus enabled|disabled, bootState "booted"}
  (sweetpad-dev/sweetpad's devicectl wrapper; quern-dev/quern server/device/ios/devicectl.py; a Developer-Mode-off
  capture in callstack/agent-device#2690). jsonVersion 5 (Xcode 27) adds `properties` {hardware, connection
  {pairingState, state}, software {osVersionNumber {stringValue}}, state {bootState}} beside the old trio; both are
  read here. A Wi-Fi device may carry no bootState and a "disconnected" tunnel while usable (quern #147), so only an
  explicit non-"booted" bootState or an "unavailable" tunnel rule a device out.
- `devicectl device copy to --source FILE --destination Documents/NAME` writes one file into the app's data
  container (how the public scripts found use it). A folder source is not documented where we could read: one
  public script says a folder is flattened into the destination, another passes one with
  --remove-existing-content; so a .mlpackage (a folder) is sent as one ustar file (devices/ios.py).
- xcodebuild takes build settings as NAME=VALUE words (PRODUCT_BUNDLE_IDENTIFIER, DEVELOPMENT_TEAM), which override
  project.yml's; `-allowProvisioningUpdates` lets automatic signing create the profile for a new bundle id.
  `-allowProvisioningDeviceRegistration` lets it also register the destination phone with the team; without it a
  phone the team has not seen fails signing. `xcodebuild -help`: "Allow xcodebuild to register your destination
  device on the developer portal if necessary. This flag only takes effect if -allowProvisioningUpdates is also
  passed." flutter_tools (packages/flutter_tools/lib/src/ios/mac.dart) passes both for automatic signing.
- XcodeGen: `xcodegen generate --spec ios_app/project.yml` writes ios_app/BenchApp.xcodeproj (yonaskolb/XcodeGen
  README, Docs/ProjectSpec.md); the project is generated, not committed. Installed from a wheel, the app's sources
  are devices/ios_app/ inside the environment, and the project is generated there.
"""

from __future__ import annotations

import re
from pathlib import Path

from bench.core.errors import DeviceError, NeedsOtherHost



def _app_dir() -> Path:
    """The app's sources: devices/ios_app/ in an installed wheel (setup.py copies them there), else the checkout's
    ios_app/ (an editable install, or python -m bench.cli in the repository)."""
    here = Path(__file__).resolve().parent
    shipped = here / "ios_app"
    return shipped if (shipped / "project.yml").is_file() else here.parent / "ios_app"


APP_DIR = _app_dir()
SPEC = APP_DIR / "project.yml"
PROJECT = APP_DIR / "BenchApp.xcodeproj"
SCHEME = "BenchApp"
CONFIGURATION = "Release"
MIN_XCODE = (16, 0)  # devicectl ... launch --console
MIN_IOS = (17, 0)  # devicectl drives iOS 17+ only
XCODEGEN_HINT = "install it with `brew install xcodegen` (https://github.com/yonaskolb/XcodeGen)"


def xcode_version_argv() -> list[str]:
    return ["xcodebuild", "-version"]


def xcodegen_argv() -> list[str]:
    return ["xcodegen", "generate", "--spec", str(SPEC)]


def xcodebuild_argv(udid: str, team: str, bundle_id: str, derived_data: str) -> list[str]:
    return ["xcodebuild", "-project", str(PROJECT), "-scheme", SCHEME, "-configuration", CONFIGURATION,
            "-destination", f"platform=iOS,id={udid}", "-derivedDataPath", derived_data,
            f"PRODUCT_BUNDLE_IDENTIFIER={bundle_id}", f"DEVELOPMENT_TEAM={team}", "CODE_SIGN_STYLE=Automatic",
            "-allowProvisioningUpdates", "-allowProvisioningDeviceRegistration", "build"]


def built_app_path(derived_data: str) -> str:
    return str(Path(derived_data) / "Build" / "Products" / f"{CONFIGURATION}-iphoneos" / f"{SCHEME}.app")


def devicectl_list(json_out: str) -> list[str]:
    return ["xcrun", "devicectl", "list", "devices", "--json-output", json_out]


def devicectl_install(udid: str, app: str) -> list[str]:
    return ["xcrun", "devicectl", "device", "install", "app", "--device", udid, app]


def _copy(direction: str, udid: str, bundle_id: str, source: str, destination: str) -> list[str]:
    return ["xcrun", "devicectl", "device", "copy", direction, "--device", udid, "--domain-type", "appDataContainer",
            "--domain-identifier", bundle_id, "--source", source, "--destination", destination]


def devicectl_copy_to(udid: str, bundle_id: str, source: str, destination: str) -> list[str]:
    return _copy("to", udid, bundle_id, source, destination)


def devicectl_copy_from(udid: str, bundle_id: str, source: str, destination: str) -> list[str]:
    return _copy("from", udid, bundle_id, source, destination)


def devicectl_launch(udid: str, bundle_id: str, config_name: str) -> list[str]:
    # `--` before the bundle id: everything after it is the app's, so `--headless` reaches the app.
    return ["xcrun", "devicectl", "device", "process", "launch", "--device", udid, "--terminate-existing",
            "--console", "--", bundle_id, "--headless", config_name]


def simctl_steps(app: str, bundle_id: str, config_name: str) -> list[list[str]]:
    """iOS Simulator smoke test (macOS CI runners): proves the app runs headless; NOT a latency measurement."""
    return [["xcrun", "simctl", "install", "booted", app],
            ["xcrun", "simctl", "launch", "--console", "--terminate-running-process", "booted", bundle_id,
             "--headless", config_name]]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3])


def check_xcode(version_output: str) -> str:
    """`xcodebuild -version` prints "Xcode 16.2\\nBuild version 16C5032a"; older than 16 cannot --console."""
    match = re.search(r"Xcode\s+(\d+(?:\.\d+)*)", version_output)
    if not match:
        raise NeedsOtherHost(f"cannot read the Xcode version from `xcodebuild -version` "
                             f"({version_output.strip()[:80]!r}); install Xcode 16 or newer and run "
                             "`sudo xcode-select -s /Applications/Xcode.app`")
    if _version(match.group(1)) < MIN_XCODE:
        raise NeedsOtherHost(f"Xcode {match.group(1)} is too old: devicectl's `process launch --console` needs Xcode "
                             f"{MIN_XCODE[0]} or newer; update Xcode")
    return match.group(1)


def device_facts(d: dict) -> dict:
    """One devicectl device in either JSON shape (the deprecated trio or jsonVersion 5's `properties`)."""
    props = d.get("properties") or {}
    hw = {**(d.get("hardwareProperties") or {}), **(props.get("hardware") or {})}
    conn_old, conn_new = d.get("connectionProperties") or {}, props.get("connection") or {}
    dev = d.get("deviceProperties") or {}
    software = (props.get("software") or {}).get("osVersionNumber")
    os_version = software.get("stringValue") if isinstance(software, dict) else dev.get("osVersionNumber")
    return {
        "udid": hw.get("udid") or d.get("identifier"),
        "identifier": d.get("identifier"),
        "marketing_name": hw.get("marketingName") or "",
        "product_type": hw.get("productType") or "",
        "device_type": hw.get("deviceType") or "",
        "reality": hw.get("reality") or "physical",
        "os": os_version or dev.get("osVersionNumber"),
        "pairing": conn_new.get("pairingState") or conn_old.get("pairingState"),
        "tunnel": conn_new.get("state") or conn_old.get("tunnelState"),
        "boot": (props.get("state") or {}).get("bootState") or dev.get("bootState"),
        "developer_mode": dev.get("developerModeStatus"),
    }


def problems_of(facts: dict) -> list[str]:
    """Why this device cannot run the app now, in the words a user acts on; [] when it can."""
    problems = []
    if facts["pairing"] != "paired":
        problems.append("not paired with this Mac (unlock it, tap Trust, or pair it in Xcode > Devices)")
    if facts["tunnel"] == "unavailable":
        problems.append("not reachable (connect the cable or join the Mac's network, and unlock it)")
    if facts["boot"] not in (None, "booted"):
        problems.append(f"not booted (boot state {facts['boot']})")
    if facts["developer_mode"] not in (None, "enabled"):
        problems.append("Developer Mode is off (Settings > Privacy & Security > Developer Mode, then restart)")
    if facts["os"] and _version(facts["os"]) < MIN_IOS:
        problems.append(f"runs iOS {facts['os']}; devicectl drives iOS {MIN_IOS[0]} or newer")
    elif not facts["os"]:
        problems.append("devicectl reports no iOS version (unlock it and keep it connected)")
    return problems


def pick_device(listing: dict, *, marketing: str, product_types: tuple[str, ...], udid: str | None) -> dict:
    """The one usable device that is the target's model (or has `udid`); one line naming what is wrong otherwise."""
    devices = [device_facts(d) for d in (listing.get("result") or {}).get("devices") or []]
    physical = [f for f in devices if f["reality"] != "simulated"]
    if udid:
        wanted = [f for f in physical if udid in (f["udid"], f["identifier"])]
    else:
        wanted = [f for f in physical if f["product_type"] in product_types
                  or (marketing and f["marketing_name"].startswith(marketing))]
    what = f"device {udid}" if udid else (marketing or "iOS device")
    if not wanted:
        seen = ", ".join(f"{f['marketing_name'] or '?'} ({f['udid']})" for f in physical) or "none"
        raise DeviceError(f"no {what} connected (devicectl sees: {seen}); connect and unlock it, tap Trust, enable "
                          "Developer Mode, then check `xcrun devicectl list devices`")
    usable = [f for f in wanted if not problems_of(f)]
    if not usable:
        first = wanted[0]
        raise DeviceError(f"{first['marketing_name'] or what} ({first['udid']}) cannot run the app: "
                          + "; ".join(problems_of(first)))
    if len(usable) > 1:
        raise DeviceError(f"{len(usable)} {what}s connected ({', '.join(f['udid'] for f in usable)}); "
                          "choose one with --udid")
    return usable[0]
