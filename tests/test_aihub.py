"""Qualcomm AI Hub target: the profile-to-record conversion on profile documents shaped exactly as the client
returns them (tests/data/aihub, sources in SOURCES.md), and the whole path driven through the real `qai_hub` client
against a loopback stand-in of the service (tests/aihub_standin.py). The stand-in's figures are checked here and
never reach a stored record or a report."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bench.artifact.cache import Artifact
from bench.core.errors import BenchError, InputDataError
from bench.core.hashing import content_hash
from bench.core.protocols import get_protocol
from devices import get_target
from devices.aihub import importer, profile
from devices.aihub import target as aihub_target
from devices.aihub.profile import PartialPlacement

DATA = Path(__file__).parent / "data" / "aihub"
REPO = Path(__file__).resolve().parent.parent


def document(name: str, tuples: bool = False) -> dict:
    """A profile as download_profile(filename) wrote it; tuples=True gives the in-memory form (ranges as tuples)."""
    doc = json.loads((DATA / name).read_text())
    if tuples:
        s = doc["execution_summary"]
        for k, v in s.items():
            if k.endswith("_range") and isinstance(v, list):
                s[k] = tuple(v)
    return doc


# ------------------------------------------------------------------ conversion, no client needed


@pytest.mark.parametrize("tuples", [False, True])
def test_samples_placement_load_and_memory_from_a_client_profile(tuples):
    doc = document("profile_v1_8_client_test.json", tuples)
    samples, facts = profile.summarize(doc, "npu", allow_partial=True)
    assert samples == [10_003_000, 4_205_000]  # microseconds -> ns, in run order
    assert facts["placement"] == {"requested": "NPU", "layers": {"NPU": 1, "GPU": 0, "CPU": 1}, "status": "partial"}
    assert facts["first_load_ms"] == 1374.293 and facts["warm_load_ms"] == 277.823
    assert facts["peak_memory_bytes"] == 166_711_296
    assert facts["inference_memory_peak_range_bytes"] == [2_654_208, 39_406_752]
    assert facts["runs_returned"] == 2 and facts["estimated_inference_ms"] == 3.652


def test_partly_placed_run_is_refused_unless_allowed():
    doc = document("profile_v1_8_client_test.json")
    with pytest.raises(PartialPlacement, match=r"only 1 of 2 layers ran on the NPU \(1 on CPU\); pass --allow-partial"):
        profile.summarize(doc, "npu", allow_partial=False)
    with pytest.raises(PartialPlacement, match="0 of 2 layers ran on the GPU"):
        profile.summarize(doc, "gpu", allow_partial=False)
    assert profile.check_placement({"NPU": 3, "GPU": 0, "CPU": 0}, "npu", False) == "complete"
    assert profile.check_placement({"NPU": 1, "GPU": 0, "CPU": 1}, "all", False).startswith("any")
    with pytest.raises(PartialPlacement, match="no per-layer placement"):
        profile.check_placement({}, "cpu", False)


def test_estimate_only_profile_is_refused():
    with pytest.raises(InputDataError, match="no per-run inference times .* one estimate is not a sample"):
        profile.summarize(document("profile_v0_estimate_only.json"), "npu", allow_partial=True)
    with pytest.raises(InputDataError, match="no execution_summary"):
        profile.summarize({}, "npu", allow_partial=True)


def test_device_facts_from_ai_hub_attributes():
    facts = profile.device_facts("Samsung Galaxy S23", "13", ["os:android", "framework:tflite",
                                                             "chipset:qualcomm-snapdragon-8gen2", "vendor:samsung"])
    assert (facts["model"], facts["os"], facts["os_version"], facts["chipset"]) == (
        "Samsung Galaxy S23", "android", "13", "qualcomm-snapdragon-8gen2")


def test_targets_declare_options_and_fan_out_over_devices():
    t = get_target("aihub-s23")
    assert t.default_device == "Samsung Galaxy S23" and t.fan_out == "device" and get_target("aihub").kind == "aihub"
    assert {o.name for o in t.options} >= {"device", "compute_unit", "allow_partial", "timeout_s", "max_iterations"}
    assert next(o for o in t.options if o.name == "device").multiple
    with pytest.raises(BenchError, match="--compute-unit of target aihub must be one of npu, gpu, cpu"):
        get_target("aihub").resolve_options({"compute_unit": "dsp"})
    with pytest.raises(BenchError, match="needs --device NAME"):
        get_target("aihub").check_options("tflite", "int8", get_target("aihub").resolve_options({}))
    with pytest.raises(BenchError, match="2 devices given to one measurement"):
        aihub_target.one_device(["A", "B"])


def test_plan_is_one_line_per_step_and_touches_nothing(tmp_path):
    artifact = model_file(tmp_path)
    t = get_target("aihub")
    options = t.resolve_options({"device": ["Samsung Galaxy S24 (Family)"], "compute_unit": "gpu",
                                 "max_iterations": 50, "poll_s": 5})
    lines = t.plan(artifact, get_protocol("mnv4"), threads=1, options=options)
    assert len(lines) == 4 and all(ln.startswith("# qai_hub: ") for ln in lines)
    assert "upload" in lines[0] and str(artifact.path) in lines[0]
    assert "'Samsung Galaxy S24 (Family)'" in lines[1]
    assert "'--compute_unit gpu --max_profiler_iterations 50'" in lines[1]
    assert "every 5 s" in lines[2] and "bench import aihub JOB_ID" in lines[2] and "download" in lines[3]


def test_an_fp32_model_on_the_npu_is_planned_as_fp16_math(tmp_path):
    t = get_target("aihub-s23")
    lines = t.plan(model_file(tmp_path, "tflite", "fp32"), get_protocol("mobileone"), threads=1,
                   options=t.resolve_options({}))
    assert len(lines) == 4 and "fp32 model computed in fp16: the NPU has no fp32 path" in lines[1]
    cpu = t.plan(model_file(tmp_path, "tflite", "fp32"), get_protocol("mobileone"), threads=1,
                 options=t.resolve_options({"compute_unit": "cpu"}))
    assert "computed in" not in cpu[1]
    assert aihub_target.compute_precision("tflite", "int8", "npu") == ("int8", None)
    assert aihub_target.compute_precision("onnx", "fp32", "npu")[0] == "fp16"
    assert aihub_target.compute_precision("tflite", "fp32", "all") == ("fp32", None)  # placement decides; unknown


def test_importing_the_target_loads_no_client():
    code = "import sys, devices.aihub.target, devices.aihub.importer; print('qai_hub' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.stdout.strip() == "False", out.stderr


def test_import_helpers_read_the_job():
    assert importer.requested_unit("--compute_unit gpu --max_profiler_iterations 10") == "gpu"
    assert importer.requested_unit("") == "all" and importer.requested_unit("--compute_unit npu,cpu") == "all"
    assert importer.resolution_of({"image": ((1, 224, 224, 3), "float32")}) == 224
    assert importer.resolution_of({"x": ((1, 3, 256, 256), "float32")}) == 256


# ------------------------------------------------------------------ the real client against the stand-in


def tiny_onnx(path: Path) -> Path:
    """A real one-convolution ONNX model (the CLI reads model files it is given); nothing is measured on it."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper, save

    weight = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    graph = helper.make_graph([helper.make_node("Conv", ["image", "w"], ["out"])], "tiny",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 32, 32])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4, 30, 30])], [weight])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def model_file(tmp_path, fmt="tflite", precision="int8") -> Artifact:
    """A model file for the stand-in to receive (it never runs it); nothing measured on it is stored."""
    path = tmp_path / f"m_{precision}.{fmt}"
    path.write_bytes(b"\x1c\x00\x00\x00TFL3" + os.urandom(3000))
    return Artifact(path=path, format=fmt, precision=precision, model="m", resolution=224,
                    sha256=content_hash(path), size_bytes=path.stat().st_size)


@pytest.fixture
def standin(tmp_path, monkeypatch):
    pytest.importorskip("qai_hub", reason="the qai-hub client is not installed (see devices/aihub/README.md)")
    from tests import aihub_standin

    monkeypatch.setattr(aihub_target, "_hubs", {})
    monkeypatch.setattr(aihub_target, "_pending", {})

    def start(hub=None, token=None):
        hub = hub or aihub_standin.FakeHub(profile=aihub_standin.profile_detail([1500, 1400, 1450], ["NPU"] * 4))
        s = aihub_standin.StandIn(hub, tmp_path, token=token).__enter__()
        for k, v in s.env.items():
            monkeypatch.setenv(k, v)
        started.append(s)
        return s

    started = []
    yield start
    for s in started:
        s.__exit__(None, None, None)


def measure(target="aihub-s23", artifact=None, protocol="mobileone", **options):
    t = get_target(target)
    opts = t.resolve_options({"poll_s": 0.02, **options})
    return t.measure(artifact, get_protocol(protocol), threads=1, options=opts, progress=lambda n: None)


def test_fixtures_are_what_the_client_returns():
    pytest.importorskip("qai_hub", reason="the qai-hub client is not installed")
    from qai_hub import public_api_pb2 as pb
    from qai_hub.client import _profile_pb_to_python_dict

    old = pb.ProfileDetail(major_version=0, execution_time=5321, load_time=80211, peak_memory_usage=30000000)
    old.layer_details.append(pb.LayerDetail(name="conv", compute_unit=pb.COMPUTE_UNIT_NPU, layer_type_name="CONV_2D",
                                            execution_time=11))
    assert json.loads(json.dumps(_profile_pb_to_python_dict(old))) == document("profile_v0_estimate_only.json")


def test_measure_end_to_end_through_the_real_client(standin, tmp_path, capsys):
    s = standin()
    artifact = model_file(tmp_path)
    m = measure(artifact=artifact, protocol="mnv4")
    assert m.samples_ns == [[1_500_000, 1_400_000, 1_450_000]]
    assert m.runtime == "aihub-tflite" and m.runtime_version == "AI Hub standin-0.1"
    assert (m.device["model"], m.device["os_version"], m.device["chipset"]) == (
        "Samsung Galaxy S23", "13", "qualcomm-snapdragon-8gen2")
    a = m.extra["aihub"]
    assert a["job_id"] == "j0001" and a["url"] == f"http://127.0.0.1:{s.port}/web/jobs/j0001/"
    assert a["placement"]["status"] == "complete"
    method = m.extra["method"]
    assert (method["runs"], method["repeats"], method["warmup"]) == (3, 1, 0)
    assert "mnv4's statistic over the 3 runs AI Hub returned (its 5 x 1000 runs do not apply)" in method["statistic"]
    # What the client sent: the file's bytes, then one profile job with our options, polled to the end.
    model = s.hub.models["m0001"]
    assert model["bytes"] == artifact.path.read_bytes() and model["pb"].model_type == 4  # MODEL_TYPE_TFLITE
    job = s.hub.jobs["j0001"]["pb"]
    assert job.options == "--compute_unit npu" and job.device.name == "Samsung Galaxy S23" and job.is_profiling_on
    assert s.hub.requests[-1] == ("GET", "/api/v1/jobs/j0001/result/")
    err = capsys.readouterr().err
    assert "submitted job j0001" in err and "MEASURING_PERFORMANCE" in err and "SUCCESS" in err
    assert s.hub.token not in repr(m) + err
    assert aihub_target.pending_jobs() == []


def test_record_statistics_recompute_from_the_samples(standin, tmp_path):
    from bench.core.outcome import Timing
    from bench.core.record import Record, derive_statistics

    standin()
    m = measure(artifact=model_file(tmp_path))
    r = derive_statistics(Record(model="m", resolution=224, format="tflite", precision="int8", target="aihub-s23",
                                 runtime=m.runtime, runtime_version=m.runtime_version, threads=1,
                                 protocol="mobileone", warmup=0, runs=3, repeats=1,
                                 outcome=Timing(samples_ns=m.samples_ns)))
    assert r.latency_ms == 1.4 and r.n_samples == 3 and r.median_ms == 1.45


def test_several_devices_share_one_upload(standin, tmp_path):
    s = standin()
    artifact = model_file(tmp_path)
    results, errors = {}, []

    def lane(device):  # one thread per device, as the coordinator's lanes
        try:
            results[device] = measure("aihub", artifact, device=device)
        except Exception as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=lane, args=(d,)) for d in ("Samsung Galaxy S23", "Samsung Galaxy S24 (Family)")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(s.hub.models) == 1 and len(s.hub.jobs) == 2
    assert {r.device["model"] for r in results.values()} == {"Samsung Galaxy S23", "Samsung Galaxy S24 (Family)"}
    assert sorted(j["pb"].device.name for j in s.hub.jobs.values()) == sorted(results)


def test_onnx_runs_on_onnx_runtime_where_the_device_has_it(standin, tmp_path):
    s = standin()
    m = measure("aihub", model_file(tmp_path, "onnx", "fp32"), device="Samsung Galaxy S23")
    assert m.runtime == "aihub-onnxruntime" and s.hub.models["m0001"]["pb"].model_type == 6  # MODEL_TYPE_ONNX
    with pytest.raises(BenchError, match="'Google Pixel 8' does not run onnx models .*tflite"):
        measure("aihub", model_file(tmp_path, "onnx", "fp32"), device="Google Pixel 8")


def test_no_credentials_is_one_line_naming_the_configure_command(standin, tmp_path, monkeypatch):
    standin()
    monkeypatch.setenv("QAIHUB_CLIENT_INI", str(tmp_path / "absent.ini"))
    with pytest.raises(BenchError, match=r"no AI Hub credentials .*absent.ini does not exist.*qai-hub configure "
                                         r"--api_token TOKEN") as e:
        measure(artifact=model_file(tmp_path))
    assert "\n" not in str(e.value)


def test_bad_token_is_refused_without_printing_it(standin, tmp_path):
    s = standin(token="expired-token-abcdef")
    with pytest.raises(BenchError, match="refused the API token") as e:
        measure(artifact=model_file(tmp_path))
    assert "expired-token-abcdef" not in str(e.value) and "\n" not in str(e.value)
    assert s.hub.requests == [("GET", "/api/v1/devices/")] and s.hub.models == {}


def test_quota_refusal_is_one_line_and_nothing_is_left_pending(standin, tmp_path):
    from tests.aihub_standin import FakeHub

    s = standin(FakeHub(quota_detail="You have used all profile minutes of your plan this month."))
    with pytest.raises(BenchError, match="AI Hub refused submitting a profile job .*all profile minutes"):
        measure(artifact=model_file(tmp_path))
    assert s.hub.jobs == {} and aihub_target.pending_jobs() == []


def test_job_failed_on_the_device(standin, tmp_path):
    from tests.aihub_standin import FakeHub

    standin(FakeHub(failure="Runtime crashed: SIGSEGV in QNN delegate"))
    with pytest.raises(BenchError, match=r"AI Hub job j0001 failed on 'Samsung Galaxy S23': Runtime crashed: SIGSEGV "
                                         r"in QNN delegate \(http://127.0.0.1:\d+/web/jobs/j0001/\)"):
        measure(artifact=model_file(tmp_path))
    assert aihub_target.pending_jobs() == []


def test_unknown_device_names_close_ones(standin, tmp_path):
    s = standin()
    with pytest.raises(BenchError, match="unknown AI Hub device 'Samsung Galaxy S32'; did you mean Samsung Galaxy S23"):
        measure("aihub", model_file(tmp_path), device="Samsung Galaxy S32")
    assert s.hub.models == {}  # nothing uploaded for a device that does not exist


def test_no_network_is_one_quick_line(standin, tmp_path, monkeypatch):
    from tests.aihub_standin import free_port, write_ini

    standin()
    ini = tmp_path / "offline.ini"
    write_ini(ini, f"http://127.0.0.1:{free_port()}", "some-token")
    monkeypatch.setenv("QAIHUB_CLIENT_INI", str(ini))
    with pytest.raises(BenchError, match=r"cannot reach AI Hub at 127.0.0.1:\d+"):
        measure(artifact=model_file(tmp_path))


def test_timeout_leaves_the_job_listed_for_import(standin, tmp_path):
    from tests.aihub_standin import FakeHub, profile_detail

    standin(FakeHub(profile=profile_detail([900], ["NPU"]), polls_per_state=10_000))
    with pytest.raises(BenchError, match=r"did not finish within 0.2 s .*`bench import aihub j0001`"):
        measure(artifact=model_file(tmp_path), timeout_s=0.2)
    assert len(aihub_target.pending_jobs()) == 1 and "bench import aihub j0001" in aihub_target.pending_jobs()[0]


def test_ctrl_c_prints_the_job_to_collect(standin, tmp_path, monkeypatch, capsys):
    from tests.aihub_standin import FakeHub, profile_detail

    standin(FakeHub(profile=profile_detail([900], ["NPU"]), polls_per_state=10_000))

    def interrupt(_):
        raise KeyboardInterrupt

    monkeypatch.setattr(aihub_target.time, "sleep", interrupt)
    with pytest.raises(KeyboardInterrupt):
        measure(artifact=model_file(tmp_path))
    err = capsys.readouterr().err
    assert "interrupted; left running: AI Hub job j0001 on 'Samsung Galaxy S23'" in err
    assert "`bench import aihub j0001`" in err


def test_import_collects_the_same_record(standin, tmp_path):
    standin()
    m = measure(artifact=model_file(tmp_path))
    record = importer.import_job("j0001", protocol="mobileone")
    assert record.samples_ns == m.samples_ns and record.latency_ms == 1.4 and record.runs == 3
    assert (record.model, record.precision, record.resolution, record.target) == ("m", "int8", 224, "aihub-s23")
    assert record.format == "tflite" and record.extra["aihub"]["job_id"] == "j0001" and record.extra["imported"]
    assert record.device["chipset"] == "qualcomm-snapdragon-8gen2" and record.host == {}


def test_import_unknown_or_unfinished_job(standin, tmp_path):
    from tests.aihub_standin import FakeHub, profile_detail

    s = standin(FakeHub(profile=profile_detail([900], ["NPU"]), polls_per_state=10_000))
    with pytest.raises(BenchError, match="AI Hub refused fetching job j9999: ID 'j9999' could not be found"):
        importer.import_job("j9999")
    with pytest.raises(BenchError, match="did not finish"):
        measure(artifact=model_file(tmp_path), timeout_s=0.05)
    with pytest.raises(BenchError, match=r"AI Hub job j0001 is still CREATED; import it once it has finished"):
        importer.import_job("j0001")
    assert s.hub.requests.count(("GET", "/api/v1/jobs/j0001/result/")) == 0


def test_device_list_for_bench_targets(standin):
    from devices.aihub.client import list_devices

    standin()
    rows = list_devices()
    assert [r["name"] for r in rows] == ["Google Pixel 8", "Samsung Galaxy S23", "Samsung Galaxy S24 (Family)"]
    s23 = rows[1]
    assert s23 == {"name": "Samsung Galaxy S23", "os": "13", "chipset": "qualcomm-snapdragon-8gen2",
                   "platform": "android", "runtimes": ["onnx", "qnn", "tflite"]}


def test_preflight_checks_every_device_before_any_export(standin):
    s = standin()
    t = get_target("aihub")
    t.preflight(t.resolve_options({"device": ["Samsung Galaxy S23", "Google Pixel 8"]}))
    t.preflight({"device": "Samsung Galaxy S23"})  # a lane's single device
    with pytest.raises(BenchError, match="unknown AI Hub device 'Pixel 9'"):
        t.preflight(t.resolve_options({"device": ["Samsung Galaxy S23", "Pixel 9"]}))
    assert s.hub.models == {} and s.hub.jobs == {}


def test_partly_placed_job_fails_and_says_how_to_keep_it(standin, tmp_path):
    from tests.aihub_standin import FakeHub, profile_detail

    standin(FakeHub(profile=profile_detail([900, 950], ["NPU", "NPU", "CPU"])))
    with pytest.raises(PartialPlacement, match=r"only 2 of 3 layers ran on the NPU \(1 on CPU\).*`bench import aihub "
                                               r"j0001 --allow-partial`"):
        measure(artifact=model_file(tmp_path))
    m = measure(artifact=model_file(tmp_path), allow_partial=True)
    assert m.options["delegation"] == "partial" and m.extra["aihub"]["placement"]["layers"]["CPU"] == 1
    record = importer.import_job("j0001", allow_partial=True)
    assert record.extra["aihub"]["placement"]["status"] == "partial" and record.samples_ns == [[900_000, 950_000]]


def test_cli_lists_devices_and_refuses_bad_jobs_and_devices_in_one_line(standin, tmp_path):
    """The commands wired to the target, through the real CLI and client (no stand-in figure is stored)."""
    from tests.conftest import run_bench

    standin()
    listed = run_bench("targets", "--aihub", "--json")
    assert listed.returncode == 0, listed.stderr
    assert "Samsung Galaxy S23" in [row["name"] for row in json.loads(listed.stdout)]
    store = tmp_path / "s.sqlite"
    unknown = run_bench("import", "aihub", "j9999", "--store", store)
    assert unknown.returncode != 0 and len(unknown.stderr.strip().splitlines()) == 1, unknown.stderr
    assert "j9999" in unknown.stderr and not store.exists()
    bad = run_bench("run", "--model", tiny_onnx(tmp_path / "tiny.onnx"), "--target", "aihub", "--device",
                    "Samsung Galaxy S99", "--store", store)
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    assert "Samsung Galaxy S99" in bad.stderr and not store.exists()


def test_fp32_on_the_npu_records_the_fp16_math_that_ran(standin, tmp_path, capsys):
    """AI Hub documents that the NPU computes float graphs in fp16: the job goes as asked, the record says so."""
    s = standin()
    m = measure(artifact=model_file(tmp_path, "tflite", "fp32"))
    assert m.options["compute_precision"] == "fp16" and m.options["compute_unit"] == "npu"
    assert m.extra["method"]["compute_precision"].startswith("fp32 model computed in fp16: the NPU has no fp32 path")
    assert s.hub.jobs["j0001"]["pb"].options == "--compute_unit npu"
    assert "fp32 tflite on the NPU is computed in fp16" in capsys.readouterr().err
    onnx = measure("aihub", model_file(tmp_path, "onnx", "fp32"), device="Samsung Galaxy S23")
    assert onnx.options["compute_precision"] == "fp16" and "QNN EP" in onnx.extra["method"]["compute_precision"]
    cpu = measure(artifact=model_file(tmp_path, "tflite", "fp32"), compute_unit="cpu", allow_partial=True)
    assert cpu.options["compute_precision"] == "fp32" and "compute_precision" not in cpu.extra["method"]
    assert measure(artifact=model_file(tmp_path)).options["compute_precision"] == "int8"


# ------------------------------------------------------------------ installing the client

REQUIREMENTS = REPO / "devices" / "aihub" / "requirements.txt"


def _names(path: Path) -> list[str]:
    lines = (ln.split("#")[0].strip() for ln in path.read_text().splitlines())
    return [_canonical(ln.split("==")[0]) for ln in lines if ln]


def _canonical(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def test_one_install_command_in_the_readme_ci_and_the_error():
    from devices.aihub.client import INSTALL

    assert INSTALL in (REPO / "devices" / "aihub" / "README.md").read_text()
    ci = " ".join((REPO / ".ci" / "run").read_text().replace("\\\n", " ").split())
    assert INSTALL.replace("pip install", "pip install -q") in ci
    pinned = set(_names(REPO / "constraints.txt"))
    assert _names(REQUIREMENTS)[0] == "qai-hub" and set(_names(REQUIREMENTS)) <= pinned


def test_the_requirements_list_is_everything_the_client_needs():
    """Installed with --no-deps, the list must be closed: every requirement of every listed package is listed."""
    pytest.importorskip("qai_hub", reason="the qai-hub client is not installed")
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    listed = set(_names(REQUIREMENTS))
    needed = set()
    for name in listed:
        for text in requires(name) or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                needed.add(_canonical(req.name))
    assert needed <= listed, f"not listed: {sorted(needed - listed)}"


def _shim(tmp_path, body: str) -> dict:
    """A qai_hub package placed first on the path, standing in for an installed client of another version."""
    package = tmp_path / "shim" / "qai_hub"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(body)
    return {"PYTHONPATH": os.pathsep.join([str(tmp_path / "shim"), str(REPO)])}


def test_an_older_client_is_one_line_naming_both_versions_and_the_command(tmp_path):
    from devices.aihub.client import INSTALL
    from tests.conftest import run_bench

    env = _shim(tmp_path, "from packaging.version import Version\n__version__ = Version('0.55.0')\n")
    done = run_bench("targets", "--aihub", env=env, timeout=300)
    assert done.returncode != 0 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "qai-hub 0.55.0 is installed; the AI Hub target needs qai-hub 0.56.0 or newer" in done.stderr
    assert done.stderr.strip().endswith(INSTALL) and "Traceback" not in done.stderr


def test_a_missing_client_is_one_line_with_the_install_command(tmp_path):
    from devices.aihub.client import INSTALL
    from tests.conftest import run_bench

    env = _shim(tmp_path, "raise ImportError(\"No module named 'qai_hub'\")\n")
    done = run_bench("targets", "--aihub", env=env, timeout=300)
    assert done.returncode != 0 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert f"needs the qai-hub client; from the repository root run: {INSTALL}" in done.stderr
