"""iOS host driver at its boundary: the exact argv of each step, the result JSON written by the Swift core itself
(tests/data/ios, and a fresh `swift test` run's files in $BENCH_SWIFT_RESULTS under CI), and the Linux path."""

import json
import os
from pathlib import Path

import numpy as np
import pytest

from bench.core.errors import DeviceError, InputDataError
from devices import get_target
from devices.ios import (
    app_config,
    devicectl_copy_from,
    devicectl_copy_to,
    devicectl_install,
    devicectl_launch,
    devicectl_list,
    match_device,
    simctl_steps,
    xcodebuild_app,
)
from devices.ios_result import record_from_result
from bench.core.protocols import get_protocol
from tests.conftest import REPO, run_bench

COMMITTED = sorted((REPO / "tests" / "data" / "ios").glob("*.json"))
FRESH = sorted(Path(os.environ["BENCH_SWIFT_RESULTS"]).glob("*.json")) if os.environ.get("BENCH_SWIFT_RESULTS") else []


def test_exact_argv_of_each_step():
    udid, bundle = "00008101-000A1234", "org.mobilelatencybench.BenchApp"
    assert devicectl_list("/tmp/d.json") == ["xcrun", "devicectl", "list", "devices", "--json-output", "/tmp/d.json"]
    assert xcodebuild_app(udid, "TEAM123", "/tmp/dd", project="ios_app/BenchApp.xcodeproj") == [
        "xcodebuild", "-project", "ios_app/BenchApp.xcodeproj", "-scheme", "BenchApp", "-configuration", "Release",
        "-destination", f"id={udid}", "-derivedDataPath", "/tmp/dd", "DEVELOPMENT_TEAM=TEAM123",
        "CODE_SIGN_STYLE=Automatic", "-allowProvisioningUpdates", "build"]
    assert devicectl_install(udid, "/tmp/dd/BenchApp.app") == [
        "xcrun", "devicectl", "device", "install", "app", "--device", udid, "/tmp/dd/BenchApp.app"]
    assert devicectl_copy_to(udid, bundle, "/a/m.mlpackage", "Documents/m.mlpackage") == [
        "xcrun", "devicectl", "device", "copy", "to", "--device", udid, "--domain-type", "appDataContainer",
        "--domain-identifier", bundle, "--source", "/a/m.mlpackage", "--destination", "Documents/m.mlpackage"]
    assert devicectl_launch(udid, bundle) == [
        "xcrun", "devicectl", "device", "process", "launch", "--device", udid, "--terminate-existing", "--console",
        bundle, "--headless", "bench-config.json"]
    assert devicectl_copy_from(udid, bundle, "Documents/bench-result.json", "/tmp/r.json")[4] == "from"
    assert simctl_steps("/tmp/BenchApp.app", bundle)[1][:4] == ["xcrun", "simctl", "launch", "--console"]


def test_app_config_carries_the_protocol_counts():
    cfg = app_config("m.mlpackage", get_protocol("modelbench"), "cpuAndNeuralEngine")
    assert cfg == {"model_file": "m.mlpackage", "compute_units": "cpuAndNeuralEngine", "warmup": 10, "runs": 50,
                   "rounds": 20, "protocol": "modelbench", "result_file": "bench-result.json"}


def test_match_device_by_model():
    listing = {"result": {"devices": [
        {"identifier": "A", "hardwareProperties": {"marketingName": "iPhone 13", "productType": "iPhone14,5", "udid": "U13"}},
        {"identifier": "B", "hardwareProperties": {"marketingName": "iPhone 12", "productType": "iPhone13,2", "udid": "U12"}},
    ]}}
    assert match_device(listing, get_target("iphone12"))["udid"] == "U12"
    with pytest.raises(DeviceError, match="no iPhone 15 connected .*iPhone 13, iPhone 12"):
        match_device(listing, get_target("iphone15"))


@pytest.mark.parametrize("path", COMMITTED + FRESH, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_result_written_by_swift_core_parses_into_a_record(path):
    data = json.loads(path.read_text())
    for protocol in ("mobileone", "mnv4", "modelbench"):
        record = record_from_result(path.read_text(), model="matmul", target="iphone12", protocol=protocol)
        samples = np.concatenate([np.asarray(r, float) for r in data["samples_ns"]]) / 1e6
        assert record.n_samples == data["runs"] * data["rounds"] == len(samples)
        assert record.min_ms == pytest.approx(samples.min())
    # The host recomputes the app's own summary from the raw samples and agrees with it.
    mobileone = record_from_result(path.read_text(), model="matmul", target="iphone12", protocol="mobileone")
    assert mobileone.latency_ms == pytest.approx(data["summary"]["min_ms"])
    mnv4 = record_from_result(path.read_text(), model="matmul", target="iphone12", protocol="mnv4")
    assert mnv4.latency_ms == pytest.approx(data["summary"]["median_of_means_ms"])
    if data["runs"] == 50:
        mb = record_from_result(path.read_text(), model="matmul", target="iphone12", protocol="modelbench")
        assert mb.latency_ms == pytest.approx(data["summary"]["modelbench_mean_ms"])


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("samples_ns"), "missing samples_ns"),
    (lambda d: d.update(rounds=d["rounds"] + 1), "does not hold"),
    (lambda d: d.update(schema_version=2), "schema_version 2"),
    (lambda d: d.update(compute_units="gpuOnly"), "compute_units 'gpuOnly'"),
    (lambda d: d["samples_ns"][0].__setitem__(0, -5), "positive integer nanoseconds"),
])
def test_invalid_results_are_rejected(mutate, message):
    data = json.loads(COMMITTED[0].read_text())
    mutate(data)
    with pytest.raises(InputDataError, match=message):
        record_from_result(json.dumps(data), model="m", target="iphone12")


def test_linux_path_exports_then_stops_with_the_mac_command(store_path, artifact_cache):
    result = run_bench("run", "--model", "mobileone_s0", "--target", "iphone12", "--store", store_path)
    assert result.returncode == 5 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert "needs macOS with Xcode and a connected iPhone 12" in line
    assert ".mlpackage" in line and "bench run --model mobileone_s0 --target iphone12" in line
    package = Path(line.split("ready at ")[1].split(";")[0])
    assert package.is_dir() and (package / "Manifest.json").is_file()


def test_import_ios_result_cli(store_path):
    result = run_bench("import", "ios-result", COMMITTED[0], "--model", "matmul", "--target", "iphone12",
                       "--protocol", "mnv4", "--store", store_path, "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["target"] == "iphone12" and record["format"] == "coreml" and record["protocol"] == "mnv4"
    bad = run_bench("import", "ios-result", REPO / "README.md", "--model", "m", "--target", "iphone12",
                    "--store", store_path)
    assert bad.returncode != 0 and "not valid JSON" in bad.stderr
