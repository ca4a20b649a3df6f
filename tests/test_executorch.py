"""ExecuTorch (.pte, XNNPACK backend): the exporter's steps, facts and failures, and the timed host target.

Real exports of small networks (a few seconds each) and real runs of ExecuTorch's runtime; nothing is stubbed."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("executorch", reason="the executorch extra is not installed (pip install -e '.[executorch]')")
torch = pytest.importorskip("torch")

from tests.tiny_nets import INPUT_SIZE, SIDE, tiny_net  # noqa: E402


class ErfHead(torch.nn.Module):
    """A convolution XNNPACK takes and an erf it has no kernel for: a partly delegated program that still runs."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 8, 3)

    def forward(self, x):
        return torch.erf(self.conv(x)).mean(dim=(2, 3))


class SortHead(torch.nn.Module):
    """cumsum and sort: XNNPACK takes neither, and the runtime the bindings ship has no sort kernel."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 8, 3)

    def forward(self, x):
        return torch.cumsum(self.conv(x), dim=1).sort(dim=3).values.flatten(1)


class DataDependent(torch.nn.Module):
    """Python control flow on a tensor's value: torch.export cannot capture it."""

    def forward(self, x):
        return x * 2 if x.sum() > 0 else x


def _export(module, name, precision="fp32", root=None):
    from bench.artifact.cache import ensure_artifact
    from exporters.registry import ExportRequest

    request = ExportRequest(name, SIDE, "pte", precision, representative="synthetic" if precision == "int8" else "none")
    return ensure_artifact(request, root=root, build=lambda: module)


def test_fp32_pte_is_fully_delegated_agrees_with_pytorch_and_counts_the_deployed_graph(tmp_path):
    from bench.zoo.counting import count_params_macs

    net = tiny_net(16)
    artifact = _export(net, "tiny16_et", root=tmp_path)
    assert artifact.path.suffix == ".pte" and artifact.path.stat().st_size > 0
    assert artifact.parity["rel_l2"] <= 1e-3 and artifact.parity["reference"] == "PyTorch fp32"
    delegation = artifact.facts["delegation"]
    assert delegation["graph"] == "full" and delegation["share"] == 1.0 and delegation["not_delegated"] == {}
    assert delegation["delegated_ops"] == delegation["total_ops"] > 0 and delegation["subgraphs"] == 1
    params, macs = count_params_macs(tiny_net(16), SIDE)
    assert artifact.facts["deployed_graph"] == {"params": params, "macs": macs}
    again = _export(tiny_net(16), "tiny16_et", root=tmp_path)
    assert again.cached and again.sha256 == artifact.sha256


def test_int8_pte_takes_the_tflite_paths_representative_data_and_is_close_to_fp32(tmp_path):
    from exporters.pte_export import run_pte
    from exporters.tflite_export import SYNTHETIC_REPRESENTATIVE_IMAGES

    artifact = _export(tiny_net(16), "tiny16_et", precision="int8", root=tmp_path)
    assert artifact.facts["representative_data"] == {"source": "synthetic", "images": SYNTHETIC_REPRESENTATIVE_IMAGES}
    assert artifact.parity["cosine"] >= 0.85 and artifact.parity["inputs"] == 5
    ops = artifact.facts["delegation"]
    assert ops["graph"] == "full" and ops["delegated_ops"] > 7  # quantize/dequantize nodes went into XNNPACK too
    x = np.random.default_rng(3).standard_normal(INPUT_SIZE).astype(np.float32)
    with torch.no_grad():
        reference = tiny_net(16)(torch.from_numpy(x)).numpy()
    out = run_pte(artifact.path, x)
    assert out.shape == reference.shape and not np.array_equal(out, reference)  # int8 differs from fp32, slightly


def test_a_partly_delegated_program_says_so_and_full_delegation_can_be_required(tmp_path):
    from bench.core.errors import UnsupportedFormat
    from bench.core.protocols import get_protocol
    from devices.registry import get_target

    artifact = _export(ErfHead(), "erf_head", root=tmp_path)
    delegation = artifact.facts["delegation"]
    assert delegation["graph"] == "partial" and delegation["not_delegated"]["aten.erf.default"] == 1
    assert 0 < delegation["share"] < 1
    target = get_target("host-executorch")
    with pytest.raises(UnsupportedFormat, match=r"erf_head: XNNPACK took \d+ of \d+ ops; .*aten.erf.default x1"):
        target.ready(artifact, {"require_full_delegation": True})
    target.ready(artifact, {"require_full_delegation": False})
    protocol = get_protocol("mobileone").with_overrides(runs=5, warmup=1)
    measurement = target.measure(artifact, protocol, threads=1, options={}, progress=lambda n: None)
    assert measurement.extra["partially_delegated"] is True and measurement.extra["delegation"] == delegation


def _no_entry(root) -> bool:
    return not root.exists() or not any(root.iterdir())


@pytest.mark.parametrize("module, step, named", [
    (DataDependent(), "export (torch.export)", "GuardOnDataDependentSymNode"),
    (SortHead(), "run", "(OperatorMissing: the runtime has no kernel for an op left outside the delegate) "
                        "(2 of 4 ops outside XNNPACK (aten.cumsum.default x1, aten.sort.default x1))"),
])
def test_a_model_executorch_cannot_make_names_the_step_and_caches_nothing(tmp_path, module, step, named):
    from bench.core.errors import ExportError

    root = tmp_path / "cache"
    with pytest.raises(ExportError) as caught:
        _export(module, "bad", root=root)
    message = str(caught.value)
    assert "\n" not in message and f"the {step} step failed" in message and named in message
    assert _no_entry(root)


def test_the_host_target_times_a_pte_pinned_on_one_thread_and_keeps_raw_samples(artifact_cache, tmp_path):
    import bench

    store = tmp_path / "et.sqlite"
    record = bench.measure(tiny_net(8), target="host-executorch", precision="fp32", input_size=INPUT_SIZE,
                           name="tiny8", runs=20, warmup=2, store=store)
    assert record.format == "pte" and record.runtime == "executorch" and record.target == "host-executorch"
    samples = record.outcome.samples_ns
    assert len(samples) == 1 and len(samples[0]) == 20 and all(s > 0 for s in samples[0])
    assert record.latency_ms == pytest.approx(min(samples[0]) / 1e6)
    assert record.options["threadpool_threads"] == 1 and len(record.device["pinned_cores"]) == 1
    assert record.extra["partially_delegated"] is False


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_a_users_pte_file_is_read_from_the_file_as_the_exporter_counted_it(tmp_path, precision):
    """A .pte the user brings: params, MACs, resolution and precision read from its program and XNNPACK payload,
    equal to what the exporter counted on the torch graph it lowered."""
    from bench.artifact.cache import artifact_from_file

    exported = _export(tiny_net(16), "tiny16_et", precision, root=tmp_path / "cache")
    theirs = tmp_path / "theirs.pte"
    shutil.copy(exported.path, theirs)
    brought = artifact_from_file(theirs)
    assert (brought.params, brought.macs) == (exported.facts["deployed_graph"]["params"],
                                              exported.facts["deployed_graph"]["macs"])
    assert brought.precision == precision and brought.resolution == SIDE and brought.format == "pte"
    assert brought.memory_traffic == exported.memory_traffic
    assert brought.facts["delegation"]["graph"] == "full" and brought.facts["delegation"]["not_delegated"] == {}


def test_a_users_partly_delegated_pte_is_flagged_and_refused_when_full_delegation_is_required(tmp_path):
    from tests.conftest import run_bench

    theirs = tmp_path / "erf_head.pte"
    shutil.copy(_export(ErfHead(), "erf_head", root=tmp_path / "cache").path, theirs)
    store = tmp_path / "s.sqlite"
    refused = run_bench("run", "--model", theirs, "--target", "host-executorch", "--require-full-delegation",
                        "--store", store)
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert refused.returncode != 0 and len(lines) == 1 and "aten::erf.out x1" in lines[0], refused.stderr
    measured = run_bench("run", "--model", theirs, "--target", "host-executorch", "--runs", "5", "--warmup", "1",
                         "--store", store, "--json")
    assert measured.returncode == 0, measured.stderr
    record = json.loads(measured.stdout)
    assert record["extra"]["partially_delegated"] is True and record["precision"] == "fp32"


def test_a_file_that_is_not_a_pte_is_refused_in_one_line(tmp_path):
    from tests.conftest import run_bench

    pte = tmp_path / "model.pte"
    pte.write_bytes(b"not a program")
    result = run_bench("run", "--model", pte, "--target", "host-executorch", "--store", tmp_path / "s.sqlite")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "model.pte is not an ExecuTorch program (.pte)" in lines[0], result.stderr
    assert not (tmp_path / "s.sqlite").exists()


# ---------------------------------------------------------------- arm64-emu: ExecuTorch's aarch64 runtime under qemu

def _emu_setup_or_skip():
    from bench.core.errors import BenchError
    from devices.arm64_emu import emulator

    try:
        setup = emulator.find_setup()
    except BenchError as exc:
        pytest.skip(f"arm64-emu set-up absent ({exc})")
    if not setup.pte_runner.exists():
        pytest.skip("the arm64-emu set-up predates its ExecuTorch step (re-run devices/arm64_emu/setup.sh)")
    return setup


@pytest.fixture(scope="module")
def tiny_ptes(tmp_path_factory):
    root = tmp_path_factory.mktemp("pte-cache")
    return {p: _export(tiny_net(16), "tiny16_et", precision=p, root=root) for p in ("fp32", "int8")}


def test_executorch_aarch64_counts_are_exact_and_repeat_in_another_process(tiny_ptes, tmp_path):
    from tests.test_arm64_emu import _measure, _repeatable_part, _start_counting

    setup = _emu_setup_or_skip()
    fp32, int8 = (_measure(tiny_ptes[p].path, count_runs=2) for p in ("fp32", "int8"))
    for m in (fp32, int8):
        assert m.unit == "instructions" and m.counts[0] == m.counts[1] > 10_000
        assert m.runtime == "executorch-aarch64" and m.runtime_version == setup.versions["executorch"] == "1.5.1"
        assert m.device["setup"]["executorch"] == "1.5.1" and "litert" not in m.device["setup"]
        assert m.device["setup"]["pte_runner"] == setup.versions["pte_runner_sha256"]
        assert sum(m.extra["instruction_mix"].values()) == m.counts[0]
        assert m.extra["other_threads_instructions"] == 0  # the guest sees one CPU: XNNPACK's threadpool is 1 thread
    assert int8.counts[0] != fp32.counts[0]
    elsewhere = tmp_path / ("another-folder-" + "q" * 50)
    elsewhere.mkdir()
    copy = shutil.copy(tiny_ptes["fp32"].path, elsewhere / "renamed-model.pte")
    process = _start_counting([copy, tiny_ptes["int8"].path], tmp_path / "p1", padding=2000)
    out, err = process.communicate(timeout=900)
    assert process.returncode == 0, err[-2000:]
    assert json.loads(out.splitlines()[-1]) == [_repeatable_part(fp32), _repeatable_part(int8)]


def test_arm64_emu_refuses_a_partly_delegated_pte_when_asked(tmp_path):
    from bench.core.errors import UnsupportedFormat
    from devices.arm64_emu.target import Arm64EmuTarget

    _emu_setup_or_skip()
    artifact = _export(ErfHead(), "erf_head", root=tmp_path)
    target = Arm64EmuTarget()
    with pytest.raises(UnsupportedFormat, match="aten.erf.default"):
        target.ready(artifact, target.resolve_options({"require_full_delegation": True}))


def test_the_report_sets_three_runtimes_counts_of_one_model_side_by_side(tmp_path):
    """The committed CI baseline's real arm64-emu counts of mobileone_s0: LiteRT, ONNX Runtime and ExecuTorch fp32
    in one row of the report's runtime table."""

    from bench.core.record import Record
    from bench.report.summary import write_report
    from tests.conftest import REPO

    rows = json.loads((REPO / "results" / "baselines" / "ci.json").read_text())
    counted = [Record.from_dict(r) for r in rows if r["target"] == "arm64-emu"]
    fp32 = {r.runtime: r.count for r in counted if r.precision == "fp32"}
    assert set(fp32) == {"litert-aarch64", "onnxruntime-aarch64", "executorch-aarch64"}
    md = write_report(counted, tmp_path / "r")["markdown"].read_text()
    section = md[md.index("## Runtimes side by side on the emulated CPU"):]
    row = next(line for line in section.splitlines() if "fp32" in line)
    assert all(f"{count:,}" in row for count in fp32.values())
    fewest = min(fp32, key=fp32.get)
    assert fewest in row and f"executorch-aarch64 x{fp32['executorch-aarch64'] / fp32[fewest]:.2f}" in row


def test_a_phone_prediction_takes_executorch_counts_only_from_a_calibration_fitted_on_them():
    """The shipped calibrations were fitted on LiteRT counts: ExecuTorch counts are refused, naming both runtimes."""
    from bench.core.errors import BenchError
    from bench.prediction.lookup import calibrations_for_run
    from devices import get_target

    emulator = get_target("arm64-emu")
    (litert,) = calibrations_for_run(["pixel6"], emulator, "tflite", "int8", 1, {})
    assert litert.emulated_runtime.startswith("litert-aarch64")
    with pytest.raises(BenchError, match=r"fitted on litert-aarch64 \S+ counts, not executorch-aarch64"):
        calibrations_for_run(["pixel6"], emulator, "pte", "int8", 1, {})


# ---------------------------------------------------------------- Android: executor_runner over the real adb client

def _runner_phone_class():
    """The stand-in phone, also answering executor_runner and logcat as ExecuTorch's runner and Android PAL would
    (the line formats of executor_runner.cpp and android.cpp); its figures only check parsing and never reach a
    record outside the test's temporary files."""
    import shlex as sh

    from tests.adb_standin import FakePhone

    class RunnerPhone(FakePhone):
        runner_runs: list = []
        logcat: str = ""
        drop_iteration: bool = False

        def _one(self, cmd: str):
            if cmd == "logcat -c":
                self.logcat = ""
                return "", 0
            if cmd == "logcat -d -s ExecuTorch:I":
                return "--------- beginning of main\n" + self.logcat, 0
            if cmd.startswith(("taskset ", "/data/local/tmp/bench/executor_runner ")):
                argv = sh.split(cmd)
                mask = argv[1] if argv[0] == "taskset" else None
                argv = argv[2:] if mask else argv
                flags = dict(a[2:].split("=", 1) for a in argv[1:])
                self.runner_runs.append({"binary": argv[0], "flags": flags, "mask": mask})
                if argv[0] not in self.files or self.modes.get(argv[0]) != "755":
                    return [(2, f"/system/bin/sh: {argv[0]}: can't execute: Permission denied\n")], 126
                n = int(flags["num_executions"])
                line = "12-07 13:44:01.000  4242  4242 I ExecuTorch: "
                shown = [i for i in range(1, n + 1) if not (self.drop_iteration and i == n)]
                self.logcat += line + "Model loaded in 12.500000 ms.\n" + "".join(
                    f"{line}Iteration {i} of {n}: {3 + i / 1000:.6f} ms\n" for i in shown) + (
                    f"{line}Model executed successfully {n} time(s) in 99.000000 ms.\n")
                return "", 0
            return super()._one(cmd)

    return RunnerPhone


def _pte_file(tmp_path):
    from bench.artifact.cache import Artifact
    from bench.core.hashing import content_hash

    path = tmp_path / "m.pte"
    path.write_bytes(b"\x00\x00\x00\x00ET12" + bytes(range(256)) * 8)  # stored by the stand-in, never run
    return Artifact(path=path, format="pte", precision="int8", model="m", resolution=224, sha256=content_hash(path),
                    size_bytes=path.stat().st_size, facts={"delegation": {"graph": "full", "share": 1.0}})


def _android_measure(tmp_path, monkeypatch, phone, runner):
    from bench.core.protocols import get_protocol
    from devices.registry import get_target
    from tests.adb_standin import StandIn

    target = get_target("android-executorch")
    options = target.resolve_options({"executor_runner": str(runner), "cooldown_s": 0, "retry_wait_s": 0.1})
    protocol = get_protocol("mnv4").with_overrides(runs=20, warmup=3, repeats=2)
    with StandIn([phone]) as standin:
        for key, value in standin.env.items():
            monkeypatch.setenv(key, value)
        first = target.measure(_pte_file(tmp_path), protocol, threads=1, options=options, progress=lambda n: None)
        again = target.measure(_pte_file(tmp_path), protocol, threads=1, options=options, progress=lambda n: None)
    return first, again


def test_android_runs_a_pte_with_executor_runner_pinned_and_between_device_state_checks(tmp_path, monkeypatch):
    from tests.test_android import android_elf

    if shutil_which("adb") is None:
        pytest.skip("Debian's adb is not installed")
    phone = _runner_phone_class()("PX7A", core_max_khz={0: 1803000, 1: 1803000, 6: 2850000, 7: 2850000},
                                  online="0-1,6-7")
    phone.runner_runs = []
    first, again = _android_measure(tmp_path, monkeypatch, phone, android_elf(tmp_path / "executor_runner"))
    assert first.extra["pushed"] == {"runner": True, "model": True} and again.extra["pushed"] == {
        "runner": False, "model": False}
    run = phone.runner_runs[0]
    assert run["binary"] == "/data/local/tmp/bench/executor_runner" and run["mask"] == "80"  # core 7, the fastest
    assert run["flags"] == {"model_path": "/data/local/tmp/bench/m.pte", "cpu_threads": "1",
                            "print_output": "none", "num_executions": "23"}
    assert len(phone.runner_runs) == 4  # two repeats, two measurements
    samples = first.outcome.samples_ns
    assert len(samples) == 2 and all(len(r) == 20 for r in samples)
    assert samples[0][0] == 3_004_000  # the 4th iteration: the three warm-up ones are dropped
    assert first.extra["load_ms"] == [12.5, 12.5] and first.extra["partially_delegated"] is False
    whens = [(e["invocation"], e["when"]) for e in first.extra["device_state"]]
    assert (1, "before") in whens and (2, "after") in whens
    assert first.runtime == "executorch-executor_runner" and first.runtime_version.startswith("executor_runner sha256:")
    sent = [b for b in phone.bodies if b.startswith(("logcat", "taskset"))]
    assert sent[:3] == ["logcat -c", first.options["command"], "logcat -d -s ExecuTorch:I"]
    assert first.options["command"] == ("taskset 80 /data/local/tmp/bench/executor_runner "
                                        "--model_path=/data/local/tmp/bench/m.pte --cpu_threads=1 "
                                        "--print_output=none --num_executions=23")


def test_android_refuses_a_miscounted_log_and_a_glibc_runner(tmp_path, monkeypatch):
    from bench.core.errors import DeviceError
    from tests.test_android import android_elf

    if shutil_which("adb") is None:
        pytest.skip("Debian's adb is not installed")
    phone = _runner_phone_class()("PX7A")
    phone.runner_runs, phone.drop_iteration = [], True
    with pytest.raises(DeviceError, match=r"invocation 1: executor_runner logged 22 of 23 iterations"):
        _android_measure(tmp_path, monkeypatch, phone, android_elf(tmp_path / "executor_runner"))
    linux = android_elf(tmp_path / "pte_runner", interpreter="/lib/ld-linux-aarch64.so.1")
    with pytest.raises(DeviceError, match="not an Android one"):
        _android_measure(tmp_path, monkeypatch, _runner_phone_class()("PX7B"), linux)


def shutil_which(name):
    return shutil.which(name)
