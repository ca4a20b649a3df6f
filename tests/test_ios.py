"""iOS host driver at its boundary: the exact argv of each step and the whole dry-run plan, `measure` issuing exactly
the planned commands (through stand-in Mac tools that end the run in an error, so no stand-in number is stored),
device checks on devicectl's JSON, the result JSON written by the Swift core itself (tests/data/ios, and a fresh
`swift test` run's files in $BENCH_SWIFT_RESULTS under CI), the validator, the import, and the Linux hand-off."""

import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.core.errors import BenchError, DeviceError, InputDataError, NeedsOtherHost
from bench.core.protocols import get_protocol
from devices import get_target
from devices import ios
from devices import ios_tools as tools
from devices.ios_result import import_ios_result, record_from_result
from tests.conftest import REPO, run_bench

DATA = REPO / "tests" / "data" / "ios"
COMMITTED = sorted(DATA.glob("matmul_*.json"))
FRESH = sorted(Path(os.environ["BENCH_SWIFT_RESULTS"]).glob("*.json")) if os.environ.get("BENCH_SWIFT_RESULTS") else []
LISTING = json.loads((DATA / "devicectl_list_devices.json").read_text())
IPHONE12 = "00008101-000A1B2C3D4E001E"
BUNDLE = "org.mobilelatencybench.BenchApp"


class PlannedArtifact:
    def __init__(self, path, model="mobileone_s0"):
        self.path, self.model, self.format, self.precision = Path(path), model, "coreml", "fp16"


def test_exact_argv_of_each_step():
    udid = IPHONE12
    assert tools.devicectl_list("/tmp/d.json") == [
        "xcrun", "devicectl", "list", "devices", "--json-output", "/tmp/d.json"]
    assert tools.xcodegen_argv() == ["xcodegen", "generate", "--spec", str(REPO / "ios_app" / "project.yml")]
    assert tools.xcodebuild_argv(udid, "TEAM123", "org.example.bench", "/tmp/dd") == [
        "xcodebuild", "-project", str(REPO / "ios_app" / "BenchApp.xcodeproj"), "-scheme", "BenchApp",
        "-configuration", "Release", "-destination", f"platform=iOS,id={udid}", "-derivedDataPath", "/tmp/dd",
        "PRODUCT_BUNDLE_IDENTIFIER=org.example.bench", "DEVELOPMENT_TEAM=TEAM123", "CODE_SIGN_STYLE=Automatic",
        "-allowProvisioningUpdates", "-allowProvisioningDeviceRegistration", "build"]
    assert tools.devicectl_install(udid, "/tmp/dd/BenchApp.app") == [
        "xcrun", "devicectl", "device", "install", "app", "--device", udid, "/tmp/dd/BenchApp.app"]
    assert tools.devicectl_copy_to(udid, BUNDLE, "/a/m.mlpackage", "Documents/m.mlpackage") == [
        "xcrun", "devicectl", "device", "copy", "to", "--device", udid, "--domain-type", "appDataContainer",
        "--domain-identifier", BUNDLE, "--source", "/a/m.mlpackage", "--destination", "Documents/m.mlpackage"]
    # App arguments after `--`: devicectl would otherwise parse --headless as its own option.
    assert tools.devicectl_launch(udid, BUNDLE, "bench-config.json") == [
        "xcrun", "devicectl", "device", "process", "launch", "--device", udid, "--terminate-existing", "--console",
        "--", BUNDLE, "--headless", "bench-config.json"]
    assert tools.devicectl_copy_from(udid, BUNDLE, "Documents/bench-result.json", "/tmp/r.json")[4] == "from"
    assert tools.simctl_steps("/tmp/BenchApp.app", BUNDLE, "c.json")[1][:4] == [
        "xcrun", "simctl", "launch", "--console"]


def test_project_spec_is_one_xcode_accepts():
    yaml = pytest.importorskip("yaml", reason="PyYAML reads XcodeGen's spec")
    spec = yaml.safe_load((REPO / "ios_app" / "project.yml").read_text())
    settings = spec["targets"]["BenchApp"]["settings"]["base"]
    assert settings["SWIFT_VERSION"] in ("4.0", "4.2", "5.0", "6.0")
    assert settings["CURRENT_PROJECT_VERSION"] and settings["MARKETING_VERSION"]
    assert spec["schemes"]["BenchApp"]["build"]["targets"] == {"BenchApp": "all"}


@pytest.mark.parametrize("units, app_units", [("all", "all"), ("cpu", "cpuOnly"), ("cpu-gpu", "cpuAndGPU"),
                                              ("cpu-ne", "cpuAndNeuralEngine")])
def test_app_config_carries_protocol_counts_and_compute_units(units, app_units):
    cfg = ios.app_config("m.mlpackage", get_protocol("modelbench"), units)
    assert cfg == {"model_file": "m.mlpackage", "compute_units": app_units, "warmup": 10, "runs": 50,
                   "rounds": 20, "protocol": "modelbench", "result_file": "bench-result.json"}


def test_options_are_declared_and_validated():
    target = get_target("iphone12")
    assert target.resolve_options({})["compute_units"] == "all"
    assert target.resolve_options({"compute-units": "cpu-ne"})["compute_units"] == "cpu-ne"
    with pytest.raises(BenchError, match="must be one of all, cpu, cpu-gpu, cpu-ne"):
        target.resolve_options({"compute_units": "gpu"})
    with pytest.raises(BenchError, match="target ios needs --udid"):
        get_target("ios").preflight(get_target("ios").resolve_options({}))


def _plan(options=None, protocol="mnv4", target="iphone12"):
    t = get_target(target)
    return t.plan(PlannedArtifact("/cache/mobileone_s0.mlpackage"), get_protocol(protocol), threads=1,
                  options=t.resolve_options(options or {}))


def test_dry_run_plan_is_the_whole_mac_sequence():
    lines = _plan({"team": "ABCDE12345", "bundle_id": "org.example.bench", "compute_units": "cpu-ne"})
    commands = [l for l in lines if not l.startswith("#")]
    assert commands[:2] == commands[2:4] == ['xcodebuild -version',
                                             'xcrun devicectl list devices --json-output "$WORK/devices.json"']
    assert lines.index("# preflight, before any export:") < lines.index(commands[0])
    commands = commands[2:]
    assert [shlex.split(c)[:3] for c in commands] == [
        ["xcodebuild", "-version"], ["xcrun", "devicectl", "list"], ["xcodegen", "generate", "--spec"],
        ["xcodebuild", "-project", str(REPO / "ios_app" / "BenchApp.xcodeproj")], ["xcrun", "devicectl", "device"],
        ["xcrun", "devicectl", "device"], ["xcrun", "devicectl", "device"], ["xcrun", "devicectl", "device"],
        ["xcrun", "devicectl", "device"]]
    build = shlex.split(commands[3])
    assert {"PRODUCT_BUNDLE_IDENTIFIER=org.example.bench", "DEVELOPMENT_TEAM=ABCDE12345", "build"} <= set(build)
    # Automatic signing may register a phone the team has not seen; the flag only works beside the other one.
    assert build.index("-allowProvisioningDeviceRegistration") == build.index("-allowProvisioningUpdates") + 1
    assert [shlex.split(c)[3:5] for c in commands[4:]] == [["install", "app"], ["copy", "to"], ["copy", "to"],
                                                           ["process", "launch"], ["copy", "from"]]
    launch = shlex.split(commands[7])
    assert launch[launch.index("--") + 1:] == ["org.example.bench", "--headless", "bench-config.json"]
    config_line = next(l for l in lines if l.startswith("# $WORK/bench-config.json: "))
    config = json.loads(config_line.split(": ", 1)[1])
    assert config["compute_units"] == "cpuAndNeuralEngine" and (config["rounds"], config["runs"]) == (5, 1000)
    assert lines.index(config_line) == lines.index(commands[6]) - 1  # right before the config is copied


def test_dry_run_names_what_is_not_configured_and_uses_the_given_udid(monkeypatch):
    monkeypatch.setenv("BENCH_CONFIG", "/nonexistent/config.toml")
    monkeypatch.delenv("BENCH_IOS_TEAM", raising=False)
    lines = _plan({"udid": "U1"}, target="ios")
    assert any("no signing team configured" in l for l in lines)
    assert '"DEVELOPMENT_TEAM=$TEAM"' in next(l for l in lines if "-scheme BenchApp" in l)
    assert all("$UDID" not in l for l in lines if not l.startswith("#"))
    assert "--device U1" in next(l for l in lines if "install app" in l)
    with pytest.raises(BenchError, match="target ios needs --udid"):
        _plan({}, target="ios")


# ---------------------------------------------------------------- devices and tools


def _device(**changes):
    device = json.loads(json.dumps(LISTING["result"]["devices"][0]))
    for path, value in changes.items():
        section, key = path.split("__")
        device[section][key] = value
    return {"result": {"devices": [device]}}


def _pick(listing, target="iphone12", udid=None):
    t = get_target(target)
    return tools.pick_device(listing, marketing=t.marketing, product_types=t.product_types, udid=udid)


def test_device_matching_by_model_and_udid():
    assert _pick(LISTING)["udid"] == IPHONE12
    assert _pick(LISTING, "ios", udid=IPHONE12)["os"] == "17.5.1"
    with pytest.raises(DeviceError, match=r"no iPhone 15 connected .*iPhone 12 \(00008101.*iPhone 13"):
        _pick(LISTING, "iphone15")
    with pytest.raises(DeviceError, match="Developer Mode is off"):
        _pick(LISTING, "iphone13")
    two = {"result": {"devices": LISTING["result"]["devices"][:1] * 2}}
    two["result"]["devices"][1] = {**two["result"]["devices"][1], "hardwareProperties": {
        **two["result"]["devices"][1]["hardwareProperties"], "udid": "OTHER"}}
    with pytest.raises(DeviceError, match="2 iPhone 12s connected .*choose one with --udid"):
        _pick(two)


@pytest.mark.parametrize("change, message", [
    ({"connectionProperties__pairingState": "unpaired"}, "not paired"),
    ({"connectionProperties__tunnelState": "unavailable"}, "not reachable"),
    ({"deviceProperties__bootState": "shutdown"}, "not booted"),
    ({"deviceProperties__developerModeStatus": "disabled"}, "Developer Mode is off"),
    ({"deviceProperties__osVersionNumber": "16.7.2"}, "runs iOS 16.7.2; devicectl drives iOS 17 or newer"),
])
def test_device_that_cannot_run_is_named_with_the_reason(change, message):
    with pytest.raises(DeviceError, match=message):
        _pick(_device(**change))


def test_jsonversion5_properties_are_read():
    d = LISTING["result"]["devices"][0]
    v5 = {"identifier": d["identifier"], "capabilities": [], "properties": {
        "hardware": {"udid": IPHONE12, "marketingName": "iPhone 12", "productType": "iPhone13,2",
                     "reality": "physical"},
        "connection": {"pairingState": "paired", "state": "connected"},
        "software": {"osVersionNumber": {"components": [18, 1], "stringValue": "18.1"}},
        "state": {"bootState": "booted"}}}
    assert _pick({"result": {"devices": [v5]}})["os"] == "18.1"
    v5["properties"]["software"]["osVersionNumber"]["stringValue"] = "16.0"
    with pytest.raises(DeviceError, match="runs iOS 16.0"):
        _pick({"result": {"devices": [v5]}})


def test_xcode_version_check():
    assert tools.check_xcode("Xcode 16.2\nBuild version 16C5032a\n") == "16.2"
    with pytest.raises(NeedsOtherHost, match="Xcode 15.4 is too old.*Xcode 16 or newer"):
        tools.check_xcode("Xcode 15.4\nBuild version 15F31d\n")


def test_a_step_past_its_time_bound_is_one_device_error(tmp_path):
    logs = ios.StepLogs("run", root=tmp_path)
    with pytest.raises(DeviceError, match=r"listing devices took longer than 2 s .*\(output: .*01-listing-devices"):
        ios.run_step(ios.Step([sys.executable, "-c", "print('waiting', flush=True); import time; time.sleep(30)"],
                              2, "listing devices"), logs)
    assert "waiting" in logs.last.read_text() and "stopped after" in logs.last.read_text()
    with pytest.raises(DeviceError, match=r"copying the model failed .*: boom \(full output: .*02-copying-the-model"):
        ios.run_step(ios.Step([sys.executable, "-c", "import sys; sys.exit('boom')"], 10, "copying the model"), logs)


def test_a_failed_step_keeps_its_whole_output_and_names_the_line_that_says_why(tmp_path):
    # xcodebuild ends a failed build on "** BUILD FAILED **"; the reason is an "error:" line above it, on stdout,
    # with more on stderr. The log keeps every line of both, in order; the one-line error names the reason and file.
    script = ("import sys\n"
              "print('Command line invocation:\\n    xcodebuild -project BenchApp.xcodeproj build', flush=True)\n"
              "print('warning: a stale warning', file=sys.stderr, flush=True)\n"
              "print('BenchApp.xcodeproj: error: Provisioning profile doesn\\'t include the currently selected "
              "device', flush=True)\n"
              "print('** BUILD FAILED **', flush=True)\n"
              "sys.exit(65)\n")
    logs, argv = ios.StepLogs("run", root=tmp_path), [sys.executable, "-c", script]
    with pytest.raises(DeviceError) as caught:
        ios.run_step(ios.Step(argv, 60, "building the app"), logs)
    message = str(caught.value)
    assert "\n" not in message
    assert "error: Provisioning profile doesn't include the currently selected device" in message
    assert message.endswith(f"(full output: {logs.last})") and logs.last.parent.parent == tmp_path
    header = f"$ {shlex.join(argv)}\n"
    text = logs.last.read_text()
    assert text.startswith(header)
    output = text[len(header):]
    assert output.splitlines() == [
        "Command line invocation:", "    xcodebuild -project BenchApp.xcodeproj build", "warning: a stale warning",
        "BenchApp.xcodeproj: error: Provisioning profile doesn't include the currently selected device",
        "** BUILD FAILED **", "", "[bench: exit status 65]"]
    assert ios.failure_line("one\ntwo\n\n") == "two" and ios.failure_line("") == "no output"


STAND_IN = '''#!{python}
"""Stand-in for a Mac tool: logs its argv, answers like the real one where the run needs an answer."""
import json, os, shutil, sys, tarfile
name = os.path.basename(sys.argv[0])
argv = [name] + sys.argv[1:]
entry = {{"argv": argv}}
if argv[:4] == ["xcrun", "devicectl", "list", "devices"]:
    shutil.copy({listing!r}, argv[argv.index("--json-output") + 1])
source = argv[argv.index("--source") + 1] if "--source" in argv else ""
copy_to = argv[:5] == ["xcrun", "devicectl", "device", "copy", "to"]
if copy_to and tarfile.is_tarfile(source):
    entry["members"] = tarfile.open(source).getnames()
elif copy_to and os.path.isfile(source):
    entry["content"] = open(source).read()
with open({log!r}, "a") as log:
    log.write(json.dumps(entry) + "\\n")
if copy_to and not os.path.isfile(source):  # bench sends files only (devices/ios_tools.py says why)
    print("ERROR: stand-in: --source is not a file: " + source)
    sys.exit(1)
if argv[:2] == ["xcodebuild", "-version"]:
    print("Xcode 16.2\\nBuild version 16C5032a")
elif argv[0] == "xcodebuild" and os.environ.get("STANDIN_BUILD_FAILS"):  # a signing failure as xcodebuild reports it
    print("Command line invocation:\\n    " + " ".join(argv) + "\\n\\nBuild settings from command line:")
    print("    DEVELOPMENT_TEAM=ABCDE12345", flush=True)
    print("note: Building targets in dependency order", file=sys.stderr, flush=True)
    print("BenchApp.xcodeproj: error: Provisioning profile \\"iOS Team Provisioning Profile: *\\" doesn't include "
          "the currently selected device (in target 'BenchApp' from project 'BenchApp')", flush=True)
    print("** BUILD FAILED **", flush=True)
    sys.exit(65)
result = os.environ.get("STANDIN_RESULT")  # a result file the Swift core wrote, handed back as the phone's
if "launch" in argv:
    print("BENCH_RESULT model=matmul file=bench-result.json" if result else
          "BENCH_ERROR stand-in phone: no Core ML on this machine")
if argv[:5] == ["xcrun", "devicectl", "device", "copy", "from"] and result:
    shutil.copy(result, argv[argv.index("--destination") + 1])
'''


def _stand_in_mac(tmp_path, monkeypatch):
    log = tmp_path / "log.jsonl"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("xcrun", "xcodebuild", "xcodegen"):
        script = bin_dir / tool
        script.write_text(STAND_IN.format(python=sys.executable, listing=str(DATA / "devicectl_list_devices.json"),
                                          log=str(log)))
        script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv(ios.LOG_ENV, str(tmp_path / "logs"))
    monkeypatch.setattr(ios, "_host_is_mac", lambda: True)
    return log


def _executed_as_planned(log, target, artifact, protocol, options):
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    works = {str(Path(e["argv"][-1]).parent) for e in entries if e["argv"][2:4] == ["list", "devices"]}
    assert len(works) == 2 and not any(Path(w).exists() for w in works)  # preflight's and the run's, both gone

    def as_planned(argv):
        for work in works:
            argv = [w.replace(work, "$WORK") for w in argv]
        return ios.shell_line([w.replace(IPHONE12, "$UDID") for w in argv])

    planned = target.plan(artifact, protocol, threads=1, options=options)
    return [as_planned(e["argv"]) for e in entries], [l for l in planned if not l.startswith("#")], entries, planned


def test_measure_on_a_mac_issues_exactly_the_planned_commands(tmp_path, monkeypatch):
    log = _stand_in_mac(tmp_path, monkeypatch)
    target = get_target("iphone12")
    options = target.resolve_options({"team": "ABCDE12345", "compute_units": "cpu"})
    artifact = PlannedArtifact(DATA / "tiny_conv.mlpackage", model="tiny_conv")
    protocol = get_protocol("mnv4").with_overrides(runs=20)
    target.preflight(options)
    with pytest.raises(DeviceError, match="did not finish: BENCH_ERROR stand-in phone"):
        target.measure(artifact, protocol, threads=1, options=options, progress=lambda n: None)
    executed, commands, entries, planned = _executed_as_planned(log, target, artifact, protocol, options)
    assert executed == commands[:-1]  # the run stopped at the launch
    config = next(e["content"] for e in entries if "content" in e)
    assert f"# $WORK/bench-config.json: {config}" in planned
    assert json.loads(config)["compute_units"] == "cpuOnly"
    # The package went as one tar file holding the folder, which the config names for the app to unpack.
    members = next(e["members"] for e in entries if "members" in e)
    assert members[0] == "tiny_conv.mlpackage" and "tiny_conv.mlpackage/Manifest.json" in members
    assert json.loads(config)["model_archive"] == "tiny_conv.mlpackage.tar"


def test_the_package_is_sent_as_the_archive_the_app_tests_unpack(tmp_path):
    """pack_package's bytes are the fixture BenchCore's PackageArchiveTests read (ios_app/BenchCore/Tests)."""
    archive = tmp_path / "tiny_conv.mlpackage.tar"
    ios.pack_package(DATA / "tiny_conv.mlpackage", archive)
    assert archive.read_bytes() == (REPO / "ios_app/BenchCore/Tests/BenchCoreTests/Fixtures"
                                    / "tiny_conv.mlpackage.tar").read_bytes()
    lines = _plan()
    copy = shlex.split(next(l for l in lines if "copy to" in l and "mlpackage" in l))
    assert copy[copy.index("--source") + 1] == "$WORK/mobileone_s0.mlpackage.tar"
    assert copy[copy.index("--destination") + 1] == "Documents/mobileone_s0.mlpackage.tar"
    config = json.loads(next(l for l in lines if l.startswith("# $WORK/bench-config.json: ")).split(": ", 1)[1])
    assert (config["model_file"], config["model_archive"]) == ("mobileone_s0.mlpackage", "mobileone_s0.mlpackage.tar")


def test_a_package_with_a_link_inside_is_refused_in_one_line(tmp_path):
    package = tmp_path / "m.mlpackage"
    shutil.copytree(DATA / "tiny_conv.mlpackage", package)
    (package / "Data" / "link").symlink_to("/etc/hostname")
    with pytest.raises(DeviceError, match=r"link in m.mlpackage is neither a file nor a folder; re-export"):
        ios.pack_package(package, tmp_path / "m.tar")
    assert not (tmp_path / "m.tar").exists()


def test_a_result_that_is_not_this_runs_is_refused_after_the_whole_sequence(tmp_path, monkeypatch):
    # The phone hands back a real result the Swift core wrote (3 rounds of 20, cpuOnly) for a run that asked 5
    # rounds: the whole plan ran, the result is refused, nothing comes back.
    log = _stand_in_mac(tmp_path, monkeypatch)
    monkeypatch.setenv("STANDIN_RESULT", str(next(p for p in COMMITTED if "mnv4" in p.name)))
    target = get_target("iphone12")
    options = target.resolve_options({"team": "ABCDE12345", "compute_units": "cpu", "bundle_id": "org.example.b"})
    artifact = PlannedArtifact(DATA / "tiny_conv.mlpackage", model="tiny_conv")
    protocol = get_protocol("mnv4").with_overrides(runs=20, warmup=2)
    target.preflight(options)
    with pytest.raises(DeviceError, match=r"not this run's .*\('cpuOnly', 2, 20, 3\), asked \('cpuOnly', 2, 20, 5\)"):
        target.measure(artifact, protocol, threads=1, options=options, progress=lambda n: None)
    executed, commands, _, _ = _executed_as_planned(log, target, artifact, protocol, options)
    assert executed == commands and "org.example.b" in commands[-1]


def test_a_failed_build_names_its_log_and_every_step_of_the_run_is_logged(tmp_path, monkeypatch):
    _stand_in_mac(tmp_path, monkeypatch)
    monkeypatch.setenv("STANDIN_BUILD_FAILS", "1")
    target = get_target("iphone12")
    options = target.resolve_options({"team": "ABCDE12345"})
    target.preflight(options)
    with pytest.raises(DeviceError) as caught:
        target.measure(PlannedArtifact(DATA / "tiny_conv.mlpackage", model="tiny_conv"), get_protocol("mnv4"),
                       threads=1, options=options, progress=lambda n: None)
    message = str(caught.value)
    assert message.startswith("building the app failed (`xcodebuild -project ")
    assert "error: Provisioning profile" in message and "BUILD FAILED" not in message
    log = Path(message.split("(full output: ")[1].rstrip(")"))
    assert log.is_file() and log.name == "04-building-the-app.log"
    run_logs = sorted(p.name for p in log.parent.iterdir())
    assert run_logs == ["01-reading-the-xcode-version.log", "02-listing-devices.log",
                        "03-generating-the-xcode-project.log", "04-building-the-app.log"]
    assert "-allowProvisioningDeviceRegistration" in log.read_text().splitlines()[0]
    assert "note: Building targets" in log.read_text() and "** BUILD FAILED **" in log.read_text()
    folders = sorted(p.name.split("-")[2] for p in (tmp_path / "logs").iterdir())
    assert folders == ["preflight", "run"]  # the preflight's two steps apart from the run's


def test_preflight_on_a_mac_stops_before_any_export_naming_what_is_missing(tmp_path, monkeypatch):
    log = _stand_in_mac(tmp_path, monkeypatch)
    target = get_target("iphone13")  # the listing's iPhone 13 has Developer Mode off
    with pytest.raises(DeviceError, match=r"iPhone 13 \(00008110-000B2C3D4E5F002E\) cannot run the app: Developer Mode"):
        target.preflight(target.resolve_options({"team": "ABCDE12345"}))
    assert len(log.read_text().splitlines()) == 2  # xcodebuild -version, devicectl list: nothing built
    (tmp_path / "bin" / "xcodegen").unlink()
    with pytest.raises(NeedsOtherHost, match="`xcodegen` is not installed; install it with `brew install xcodegen`"):
        target.preflight(target.resolve_options({"team": "ABCDE12345"}))


# ---------------------------------------------------------------- results


@pytest.mark.parametrize("path", COMMITTED + FRESH, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_result_written_by_swift_core_parses_into_a_record(path):
    data = json.loads(path.read_text())
    for protocol in ("mobileone", "mnv4", "modelbench"):
        record = record_from_result(path.read_text(), model="matmul", target="iphone12", protocol=protocol)
        samples = np.concatenate([np.asarray(r, float) for r in data["samples_ns"]]) / 1e6
        assert record.n_samples == data["runs"] * data["rounds"] == len(samples)
        assert record.min_ms == pytest.approx(samples.min())
        assert record.options == {"compute_units": "cpu"}
    # The host recomputes the app's own summary from the raw samples and agrees with it.
    mobileone = record_from_result(path.read_text(), model="matmul", target="iphone12", protocol="mobileone")
    assert mobileone.latency_ms == pytest.approx(data["summary"]["min_ms"])
    mnv4 = record_from_result(path.read_text(), model="matmul", target="iphone12", protocol="mnv4")
    assert mnv4.latency_ms == pytest.approx(data["summary"]["median_of_means_ms"])
    if data["runs"] == 50:
        mb = record_from_result(path.read_text(), model="matmul", target="iphone12", protocol="modelbench")
        assert mb.latency_ms == pytest.approx(data["summary"]["modelbench_mean_ms"])
    assert record_from_result(path.read_text(), model="m", target="iphone12").protocol == data["protocol"]


def _replace(text, key, raw):
    """The file with one top-level field's value replaced by raw JSON text (NaN included, as a writer could)."""
    data = json.loads(text)
    data[key] = "__SENTINEL__"
    return json.dumps(data).replace('"__SENTINEL__"', raw)


BAD = [
    ("rounds", "0", "rounds must be an integer of at least 1"),
    ("runs", "0", "runs must be an integer of at least 1"),
    ("warmup", "-1", "warmup must be an integer of at least 0"),
    ("samples_ns", "[[true, 1, 2], [1, 2, 3], [1, 2, 3]]", "samples_ns must hold positive integer nanoseconds"),
    ("samples_ns", f"[[{2**64}, 1, 2], [1, 2, 3], [1, 2, 3]]", "samples_ns must hold positive integer nanoseconds"),
    ("samples_ns", "[[-5, 1, 2], [1, 2, 3], [1, 2, 3]]", "samples_ns must hold positive integer nanoseconds"),
    ("samples_ns", "[[1.5, 1, 2], [1, 2, 3], [1, 2, 3]]", "samples_ns must hold positive integer nanoseconds"),
    ("load_s", "NaN", "load_s must be a finite number of 0 or more"),
    ("load_s", "-0.5", "load_s must be a finite number of 0 or more"),
    ("first_prediction_ms", "NaN", "first_prediction_ms must be a finite number"),
    ("first_prediction_ms", "-1", "first_prediction_ms must be a finite number"),
    ("first_prediction_ms", "Infinity", "first_prediction_ms must be a finite number"),
    ("compile_s", '"fast"', "compile_s must be null or a finite number"),
    ("schema_version", "2", "schema_version 2"),
    ("compute_units", '"gpuOnly"', "compute_units 'gpuOnly'"),
    ("protocol", '"fastest"', "protocol 'fastest'; known: mnv4, mobileone, modelbench"),
    ("thermal_state_end", '"hot"', "thermal_state_end 'hot'"),
    ("device", '{"model": "iPhone13,2"}', "device.system_name must be a string"),
]


def _small_result() -> str:
    data = json.loads(COMMITTED[0].read_text())
    data.update(rounds=3, runs=3, samples_ns=[[1, 2, 3], [1, 2, 3], [1, 2, 3]])
    return json.dumps(data)


@pytest.mark.parametrize("key, raw, message", BAD, ids=[f"{k}={r[:12]}" for k, r, _ in BAD])
def test_invalid_results_are_rejected_naming_file_and_field(key, raw, message):
    with pytest.raises(InputDataError) as caught:
        record_from_result(_replace(_small_result(), key, raw), model="m", target="iphone12", source="r.json")
    text = str(caught.value)
    assert text.startswith("r.json: ") and message in text and "\n" not in text


def test_bad_result_files_through_the_cli_store_nothing(tmp_path, store_path):
    picked = {("rounds", "0"), ("runs", "0"), ("load_s", "NaN"), ("compile_s", '"fast"'),
              ("first_prediction_ms", "-1"), ("samples_ns", "[[true, 1, 2], [1, 2, 3], [1, 2, 3]]")}
    cases = [(key, raw) for key, raw, _ in BAD if (key, raw) in picked]
    assert len(cases) == len(picked)
    for i, (key, raw) in enumerate(cases):
        bad = tmp_path / f"bad{i}.json"
        bad.write_text(_replace(_small_result(), key, raw))
        result = run_bench("import", "ios-result", bad, "--model", "m", "--target", "iphone12", "--store", store_path)
        lines = result.stderr.strip().splitlines()
        assert result.returncode != 0 and len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
        assert str(bad) in lines[0] and key in lines[0]
    if store_path.exists():
        assert sqlite3.connect(store_path).execute("SELECT COUNT(*) FROM records").fetchone()[0] == 0


def test_import_uses_the_files_protocol_unless_told_and_then_says_so():
    path = next(p for p in COMMITTED if "modelbench" in p.name)
    record, note = import_ios_result(path, model="matmul", target="iphone12")
    assert record.protocol == "modelbench" and note is None
    assert record.latency_ms == pytest.approx(json.loads(path.read_text())["summary"]["modelbench_mean_ms"])
    record, note = import_ios_result(path, model="matmul", target="iphone12", protocol="mobileone")
    assert record.protocol == "mobileone" and record.latency_ms == pytest.approx(record.min_ms)
    assert note == (f"{path.name}: the app ran protocol modelbench; stored as mobileone, recomputed from its 1000 raw "
                    "samples (20 x 50)")
    with pytest.raises(InputDataError, match="no file at"):
        import_ios_result(DATA / "missing.json", model="m", target="iphone12")


# ---------------------------------------------------------------- the Linux -> Mac hand-off


BLOCK_HEAVY = (
    "import sys\n"
    "HEAVY = ('torch', 'coremltools', 'ai_edge_litert', 'litert_torch', 'timm', 'onnxruntime', 'tensorflow')\n"
    "class Block:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] in HEAVY:\n"
    "            raise ImportError(f'{name} is blocked: a Mac with the core install has none of it')\n"
    "sys.meta_path.insert(0, Block())\n"
)


def test_mlpackage_is_described_without_coremltools_or_torch():
    code = BLOCK_HEAVY + (
        "import json\n"
        "from bench.artifact.cache import artifact_from_file\n"
        "out = {}\n"
        "for name in ('tiny_conv', 'tiny_two_inputs'):\n"
        f"    a = artifact_from_file({str(DATA)!r} + f'/{{name}}.mlpackage')\n"
        "    out[name] = [a.format, a.precision, a.resolution, a.model, len(a.sha256)]\n"
        "from exporters.coreml_export import read_package\n"
        f"out['inputs'] = read_package({str(DATA / 'tiny_two_inputs.mlpackage')!r})['inputs']\n"
        "print(json.dumps(out))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout)
    assert out["tiny_conv"] == ["coreml", "fp16", 40, "tiny_conv", 64]
    assert out["tiny_two_inputs"] == ["coreml", "fp16", 32, "tiny_two_inputs", 64]
    assert out["inputs"] == [{"name": "image", "type": "float16", "shape": [1, 3, 32, 32]},
                             {"name": "bias", "type": "float16", "shape": [1, 8]}]


def test_a_broken_package_is_one_artifact_error(tmp_path):
    from bench.core.errors import ArtifactError
    from exporters.coreml_export import read_package

    broken = tmp_path / "x.mlpackage"
    broken.mkdir()
    with pytest.raises(ArtifactError, match="x.mlpackage is not a readable Core ML package"):
        read_package(broken)


def test_mlpackage_run_on_linux_hands_off_to_the_mac_without_torch(store_path):
    code = BLOCK_HEAVY + (
        "from bench.cli import main\n"
        f"main(['run', '--model', {str(DATA / 'tiny_conv.mlpackage')!r}, '--target', 'iphone12',"
        f" '--compute-units', 'cpu-ne', '--store', {str(store_path)!r}])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 5 and "Traceback" not in result.stderr, result.stderr[-2000:]
    line = result.stderr.strip().splitlines()[-1]
    assert f"bench run --model {DATA / 'tiny_conv.mlpackage'} --target iphone12 --compute-units cpu-ne" in line
    assert "bench import ios-result bench-result.json --model tiny_conv --target iphone12" in line


def test_linux_path_exports_then_stops_with_the_mac_command(store_path, artifact_cache):
    result = run_bench("run", "--model", "mobileone_s0", "--target", "iphone12", "--store", store_path)
    assert result.returncode == 5 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "needs macOS with Xcode 16+ and a connected iPhone 12 on iOS 17+" in line
    package = Path(line.split("ready at ")[1].split(";")[0])
    assert package.is_dir() and (package / "Manifest.json").is_file() and package.suffix == ".mlpackage"
    assert f"bench run --model {package} --target iphone12 (the core install is enough" in line
    assert "bench import ios-result bench-result.json --model mobileone_s0 --target iphone12" in line


def test_import_ios_result_cli(store_path):
    mnv4 = next(p for p in COMMITTED if "mnv4" in p.name)
    result = run_bench("import", "ios-result", mnv4, "--model", "matmul", "--target", "iphone12",
                       "--protocol", "mnv4", "--store", store_path, "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["target"] == "iphone12" and record["format"] == "coreml" and record["protocol"] == "mnv4"
    bad = run_bench("import", "ios-result", REPO / "README.md", "--model", "m", "--target", "iphone12",
                    "--store", store_path)
    assert bad.returncode != 0 and "not valid JSON" in bad.stderr


# ---------------------------------------------------------------- the Apple half: simulator CI and the Linux type-check


APP = REPO / "ios_app"
WORKFLOW = REPO / ".github" / "workflows" / "ios.yml"
SHIMS = APP / "typecheck" / "AppleShims"
CORE_ML_TESTS = APP / "BenchCore" / "Tests" / "BenchCoreTests" / "CoreMLRunnerTests.swift"


def test_simulator_workflow_builds_this_project_and_runs_its_core_ml_tests():
    yaml = pytest.importorskip("yaml", reason="PyYAML reads the workflow and XcodeGen's spec")
    workflow = yaml.safe_load(WORKFLOW.read_text())
    spec = yaml.safe_load((APP / "project.yml").read_text())
    assert {"push", "pull_request"} <= set(workflow.get("on") or workflow[True])  # YAML 1.1 reads `on` as True
    job = workflow["jobs"]["simulator"]
    # macos-15 is the arm64 image whose readme lists Xcode_16.4.app and an iOS 18.5 "iPhone 16" simulator.
    assert job["runs-on"] == "macos-15"
    assert job["env"] == {"XCODE_APP": "/Applications/Xcode_16.4.app",
                          "DESTINATION": "platform=iOS Simulator,name=iPhone 16,OS=18.5"}
    assert tuple(map(int, re.search(r"Xcode_(\d+)\.(\d+)", job["env"]["XCODE_APP"]).groups())) >= tools.MIN_XCODE
    runs = [step["run"] for step in job["steps"] if "run" in step]
    assert 'sudo xcode-select -s "$XCODE_APP"' in runs[0] and "brew install xcodegen" in runs
    assert shlex.split(next(r for r in runs if r.startswith("xcodegen"))) == tools.xcodegen_argv()[:3] + [
        str(tools.SPEC.relative_to(REPO))]
    test = shlex.split(next(r for r in runs if r.startswith("xcodebuild test")))
    assert test[test.index("-project") + 1] == str(tools.PROJECT.relative_to(REPO))
    assert test[test.index("-scheme") + 1] == tools.SCHEME and test[test.index("-destination") + 1] == "$DESTINATION"
    # The scheme tests BenchCore's own test target, which holds the Core ML tests.
    scheme = spec["schemes"][tools.SCHEME]
    assert scheme["build"]["targets"] == {"BenchApp": "all"}
    package, target = scheme["test"]["targets"][0]["package"].split("/")
    assert (APP / spec["packages"][package]["path"] / "Tests" / target / CORE_ML_TESTS.name).is_file()
    assert f"swift test --package-path {(APP / spec['packages'][package]['path']).relative_to(REPO)}" in runs


def test_core_ml_tests_find_the_committed_packages_from_their_own_path():
    # CoreMLRunnerTests.swift walks up from #filePath to the checkout; the packages it names must be there.
    swift = CORE_ML_TESTS.read_text()
    ups = int(re.search(r"for _ in 0\.\.<(\d+) \{ url = url\.deletingLastPathComponent\(\) \}", swift).group(1))
    data = CORE_ML_TESTS.parents[ups - 1] / "tests" / "data" / "ios"
    assert data == DATA
    names = set(re.findall(r'"(tiny_\w+)"', swift))
    assert names == {"tiny_conv", "tiny_two_inputs"}
    assert all((DATA / f"{name}.mlpackage" / "Manifest.json").is_file() for name in names)


def test_every_apple_declaration_cites_its_documentation_page():
    # A declaration-only stand-in is only as good as its transcription: every name it declares appears in a cited
    # developer.apple.com page beside it (lower-cased, as the page paths are), and nothing in it runs.
    for path in sorted(SHIMS.glob("*.swift")):
        text = path.read_text()
        pages = " ".join(re.findall(r"// https://developer\.apple\.com/documentation/(\S+)", text))
        assert pages, path
        code = [line for line in text.splitlines() if not line.lstrip().startswith("//")]
        declared = set()
        for line in code:
            if "private" in line:
                continue
            declared |= set(re.findall(r"\b(?:class|struct|enum|protocol|func|var|let|case|typealias|"
                                       r"associatedtype)\s+(?:var\s+|func\s+)?(\w+)", line))
            declared |= {w for w in ("init", "subscript") if re.search(rf"\b{w}[<(]", line)}
        missing = sorted(n for n in declared if n.lower() not in pages)
        assert not missing, f"{path.name}: no cited page for {missing}"
        # A body opened on a line holds fatalError() and nothing else runs; type bodies open at the line's end.
        bodies = [line for line in code if "{" in line
                  and line.split("{", 1)[1].strip() not in ("", "}", "get }", "get set }")]  # protocol requirements
        assert all("fatalError" in line for line in bodies), [line for line in bodies if "fatalError" not in line]
        assert not any(re.search(r"\breturn\b", line) for line in code), path


SWIFT_CHROOT = Path(os.environ.get("BENCH_SWIFT_CHROOT", "/var/cache/bench-swift-trixie"))
needs_swift_chroot = pytest.mark.skipif(
    not (hasattr(os, "geteuid") and os.geteuid() == 0 and (SWIFT_CHROOT / ".bench-ready").is_file()),
    reason="needs root and the Swift chroot ios_app/scripts/swift-toolchain.sh makes (.ci/run creates it)")


def _typecheck(app: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(APP / "scripts" / "swift-toolchain.sh"), "typecheck", str(app)],
                          capture_output=True, text=True, timeout=900)


@needs_swift_chroot
def test_apple_half_type_checks_against_the_documented_declarations():
    result = _typecheck(APP)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "typecheck: passed (CoreMLRunner.swift, BenchApp.swift, CoreMLRunnerTests.swift" in result.stderr


CORE_ML_RUNNER = "BenchCore/Sources/BenchCore/CoreMLRunner.swift"
MUTATIONS = [  # (file changed, text, mutated, file the error is reported in, what the type-check must say)
    (CORE_ML_RUNNER, "model.prediction(from: input)", "model.predictoin(from: input)", CORE_ML_RUNNER,
     "value of type 'MLModel' has no member 'predictoin'"),
    (CORE_ML_RUNNER, "configuration.computeUnits = mlComputeUnits", "configuration.computeUnits = units",
     CORE_ML_RUNNER, "cannot assign value of type 'ComputeUnitsChoice' to type 'MLComputeUnits'"),
    ("BenchApp/BenchApp.swift", "UIApplication.shared.isIdleTimerDisabled = true",
     "UIApplication.shared.isIdleTimerDisabled = 1", "BenchApp/BenchApp.swift",
     "integer literal value '1' cannot be used as a boolean"),
    # The declarations are what the app is checked against: a wrong type there fails at the app's use of it.
    ("typecheck/AppleShims/CoreML.swift", "open var pixelsWide: Int", "open var pixelsWide: Double", CORE_ML_RUNNER,
     "cannot convert value of type 'Double' to expected argument type 'Int'"),
]


@needs_swift_chroot
@pytest.mark.parametrize("relative, text, mutated, reported_in, message", MUTATIONS,
                         ids=[m[2].split("(")[0][:40] for m in MUTATIONS])
def test_a_misspelt_member_or_a_wrong_type_fails_the_type_check(tmp_path, relative, text, mutated, reported_in,
                                                                message):
    app = tmp_path / "ios_app"
    shutil.copytree(APP, app, ignore=shutil.ignore_patterns(".build", "*.xcodeproj"))
    source = app / relative
    assert source.read_text().count(text) == 1
    source.write_text(source.read_text().replace(text, mutated))
    result = _typecheck(app)
    assert result.returncode != 0 and message in result.stderr, result.stderr[-3000:]
    assert f"/{reported_in}:" in result.stderr.split(message)[0].splitlines()[-1]
