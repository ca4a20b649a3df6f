"""The structure holds: layers only point down, targets validate their own options, registries behave alike,
INT8 exports on representative images hit the cache across processes, and the artifact cache is per user."""

import ast
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest

from bench.core.errors import BenchError, UnknownChoice
from bench.core.options import Option, parse_flags, resolve
from bench.core.registry import Registry
from tests.conftest import REPO, run_bench


def _lint(config_text: str | None = None):
    """import-linter's own CLI over the real code; an optional extra contract file to prove it can fail."""
    args = [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"]
    if config_text:
        path = REPO / "build" / "importlinter-probe.ini"
        path.parent.mkdir(exist_ok=True)
        path.write_text(config_text)
        args += ["--config", str(path)]
    return subprocess.run(args, capture_output=True, text=True, cwd=REPO)


def test_layers_only_point_down():
    result = _lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_the_layer_check_catches_an_upward_import():
    # Inverted order: the foundation placed above the pipeline must break (the check is not vacuous).
    probe = textwrap.dedent("""
        [importlinter]
        root_packages =
            bench
            devices
            exporters
        [importlinter:contract:inverted]
        name = inverted
        type = layers
        layers =
            bench.core
            bench.pipeline
    """)
    result = _lint(probe)
    assert result.returncode != 0 and "BROKEN" in result.stdout


def test_foundation_imports_nothing_above_it_even_inside_functions():
    for path in (REPO / "bench" / "core").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                top = node.module.split(".")
                assert top[0] not in ("devices", "exporters"), (path, node.module)
                assert top[0] != "bench" or top[1] == "core", (path, node.module)


def test_cli_module_is_small_and_functions_are_short():
    assert len((REPO / "bench" / "cli.py").read_text().splitlines()) < 250
    long = []
    for package in ("bench", "devices", "exporters"):
        for path in (REPO / package).rglob("*.py"):
            text = path.read_text()
            for node in ast.walk(ast.parse(text)):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = node.end_lineno - node.lineno + 1
                    doc = ast.get_docstring(node) or ""
                    if lines > 50 and "long because" not in doc:
                        long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, long


DECLARED = (
    Option("delegate", str, "xnnpack", "which delegate", choices=("xnnpack", "gpu")),
    Option("op_profile", bool, False, "profile"),
    Option("serial", str, None, "phone", multiple=True),
    Option("pause_s", float, None, "pause"),
)


def test_options_parse_types_defaults_and_repeats():
    given = parse_flags("phone", DECLARED, ["--delegate", "gpu", "--op-profile", "--serial", "A", "--serial=B",
                                            "--pause-s", "1.5"])
    assert resolve("phone", DECLARED, given) == {"delegate": "gpu", "op_profile": True, "serial": ["A", "B"],
                                                 "pause_s": 1.5}
    assert resolve("phone", DECLARED, {}) == {"delegate": "xnnpack", "op_profile": False}


@pytest.mark.parametrize("args, fragment", [
    (["--delegate", "npu"], "--delegate of target phone must be one of xnnpack, gpu"),
    (["--threads-x", "2"], "target phone takes no option --threads-x; its options: --delegate, --op-profile"),
    (["--pause-s", "soon"], "--pause-s of target phone takes a float"),
    (["--pause-s", "-1"], "must not be negative"),
    (["--delegate"], "--delegate needs a value"),
    (["gpu"], "unexpected argument 'gpu'"),
])
def test_bad_options_name_the_valid_ones(args, fragment):
    with pytest.raises(BenchError) as caught:
        resolve("phone", DECLARED, parse_flags("phone", DECLARED, args))
    assert fragment in str(caught.value)


def test_option_a_target_does_not_take_is_one_line(store_path):
    result = run_bench("run", "--model", "mobileone_s0", "--target", "host", "--delegate", "gpu", "--store", store_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "target host takes no option --delegate" in result.stderr
    assert not store_path.exists()


def test_registry_aliases_duplicates_and_suggestions():
    things = Registry("widget", hint="bench widgets")
    things.register("mobileone_s0", 1, aliases=("m0",))
    things.register("mobileone_s1", 2)
    assert things.get("m0") == 1 and things.names() == ["mobileone_s0", "mobileone_s1"]
    with pytest.raises(ValueError):
        things.register("m0", 3)
    with pytest.raises(UnknownChoice) as caught:
        things.get("mobileone_s2")
    assert "did you mean mobileone_s1, mobileone_s0" in str(caught.value) and "bench widgets" in str(caught.value)


def test_exporters_own_their_suffixes():
    from exporters.registry import exporter_for_suffix, known_suffixes

    assert {".onnx", ".tflite", ".mlpackage"} <= set(known_suffixes())
    assert exporter_for_suffix(".TFLITE").format == "tflite" and exporter_for_suffix(".txt") is None


def test_representative_key_is_by_content_and_stable_across_processes(tmp_path):
    from exporters.tflite_export import representative_source

    images = tmp_path / "images"
    images.mkdir()
    from PIL import Image

    for i in range(3):
        Image.new("RGB", (8, 8), (i * 40, 10, 20)).save(images / f"{i}.png")
    code = f"from exporters.tflite_export import representative_source; print(representative_source({str(images)!r}))"
    keys = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO).stdout.strip()
            for _ in range(2)}
    assert len(keys) == 1 and keys == {representative_source(str(images))}
    moved = tmp_path / "elsewhere"
    images.rename(moved)
    assert representative_source(str(moved)) in keys  # same images, other folder: same key
    Image.new("RGB", (8, 8), (1, 2, 3)).save(moved / "0.png")
    assert representative_source(str(moved)) not in keys  # changed content: new key


def test_int8_export_on_representative_images_hits_the_cache_in_a_new_process(tmp_path, artifact_cache):
    from PIL import Image

    images = tmp_path / "calib"
    images.mkdir()
    rng = __import__("numpy").random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype="uint8")).save(images / f"{i}.png")
    args = ("export", "--model", "ablation_relu", "--format", "tflite", "--precision", "int8", "--resolution", "64",
            "--calibration-dir", images, "--json")
    first = run_bench(*args)
    assert first.returncode == 0, first.stderr
    second = run_bench(*args)
    assert second.returncode == 0, second.stderr
    import json

    assert json.loads(first.stdout)["cached"] is False and json.loads(second.stdout)["cached"] is True


def test_cache_keys_are_what_they_were_before_representative_data_had_its_name(monkeypatch):
    """ExportRequest.representative was `calibration` when these keys were computed (at 3b2468e): an existing
    cache stays valid. The exporter's and tools' versions are fixed here, so only the request's part is pinned."""
    from bench.artifact import cache
    from exporters.registry import ExportRequest

    class FixedExporter:
        version = "1"

        def __init__(self, fmt):
            self.format = fmt

        def tool_versions(self):
            return {"torch": "2.0.0", "ai_edge_torch": "1.0.0"}

    monkeypatch.setattr(cache, "COUNTING_VERSION", 3)
    monkeypatch.setattr(cache, "PREPARATION_VERSION", 1)  # the zoo's preparation as it was then
    default = ExportRequest("mobileone_s0", 224, "onnx", "fp32", representative="none")
    assert cache.cache_key(default, FixedExporter("onnx")) == "fbe3ebe68c262217d4a2167d"
    int8 = ExportRequest("mobileone_s0", 224, "tflite", "int8", representative="images@3:0123456789abcdef01234567",
                         representative_dir="/tmp/imgs")
    assert cache.cache_key(int8, FixedExporter("tflite")) == "a5c0f196bd5074ccc1e6985e"
    # where the images lie is not in the key: their content is
    moved = replace(int8, representative_dir=None)
    assert cache.cache_key(moved, FixedExporter("tflite")) == "a5c0f196bd5074ccc1e6985e"
    # a zoo model prepared differently (version 2: silenced branches restored) is another artifact; an in-memory
    # module, which preparation does not touch, keeps its key
    module = ExportRequest("my_net", 224, "onnx", "fp32", representative="none", content="c0ffee")
    before = cache.cache_key(module, FixedExporter("onnx"))
    monkeypatch.setattr(cache, "PREPARATION_VERSION", 2)
    assert cache.cache_key(default, FixedExporter("onnx")) != "fbe3ebe68c262217d4a2167d"
    assert cache.cache_key(module, FixedExporter("onnx")) == before


def test_artifact_cache_defaults_to_the_user_cache_dir(monkeypatch, tmp_path):
    from bench.artifact.cache import cache_root

    monkeypatch.delenv("BENCH_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "mobile-latency-bench" / "artifacts"
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine"


def test_dry_run_prints_the_plan_and_touches_nothing(tmp_path):
    cache = tmp_path / "cache"
    result = run_bench("run", "--model", "mobileone_s0", "--target", "host-litert", "--precision", "int8",
                       "--dry-run", "--store", tmp_path / "s.sqlite", env={"BENCH_CACHE": str(cache)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "# mobileone_s0 on host-litert (tflite/int8, mobileone)"
    assert lines[1].startswith("# export mobileone_s0 to tflite/int8 -> ") and str(cache) in lines[1]
    assert "1000 timed runs" in lines[2]
    assert not (tmp_path / "s.sqlite").exists() and not cache.exists()


def test_fan_out_gives_one_job_per_device():
    from bench.pipeline import RunSpec, prepare
    from bench.pipeline.spec import _fan_out

    class TwoPhones:
        fan_out = "serial"

    assert _fan_out(TwoPhones(), {"serial": ["A", "B", "A"], "delegate": "gpu"}) == [
        {"serial": "A", "delegate": "gpu"}, {"serial": "B", "delegate": "gpu"}]
    assert _fan_out(TwoPhones(), {"serial": []}) == [{}]
    [deployment] = prepare(RunSpec(model="mobileone_s0", target="host"))
    assert deployment.lane is None and deployment.target.name == "host"
    assert (deployment.format, deployment.precision) == ("onnx", "fp32")


def test_a_target_that_chooses_its_counts_keeps_them_and_the_cell_it_was_asked_for():
    from bench.artifact.cache import Artifact
    from bench.core.measurement import Measurement
    from bench.core.protocols import get_protocol
    from bench.core.outcome import Count, Timing
    from bench.pipeline import record_of
    from devices import get_target

    protocol = get_protocol("mobileone")
    artifact = Artifact(path="m.tflite", format="tflite", precision="int8", model="m", resolution=224, sha256="ab")
    target = get_target("arm64-emu")
    counted = Measurement(runtime="litert-aarch64", runtime_version="1.4.0", outcome=Count(counts=[7, 7]),
                          ran={"warmup": 1, "runs": 2, "repeats": 1})
    record = record_of(artifact, target, protocol, counted, 1, {})
    assert (record.warmup, record.runs, record.repeats, record.count) == (1, 2, 1, 7)
    timed_key = record_of(artifact, target, protocol, Measurement("x", "1", outcome=Timing([[1, 2]])), 1, {})
    assert record.settings_key() == timed_key.settings_key()  # same cell as asked: a sweep skips it


def test_nothing_below_the_commands_imports_the_package_face():
    """`bench/__init__.py` is the face (its version comes from bench.core.version): a folder below it importing
    `bench` itself, even inside a function, would be a folder-level cycle that import-linter cannot see."""
    faces = []
    for folder in ("bench", "devices", "exporters"):
        for path in (REPO / folder).rglob("*.py"):
            if path == REPO / "bench" / "__init__.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module == "bench" and node.level == 0:
                    faces.append(f"{path.relative_to(REPO)}: from bench import {node.names[0].name}")
                if isinstance(node, ast.Import) and any(alias.name == "bench" for alias in node.names):
                    faces.append(f"{path.relative_to(REPO)}: import bench")
    assert faces == []
    from bench import __version__
    from bench.core.version import __version__ as owned

    assert __version__ == owned


def test_a_cache_entry_whose_bytes_changed_is_never_served(tmp_path):
    """The cache verifies what it serves: the same size but other bytes is not the artifact meta.json describes."""
    from bench.artifact import entry as entries
    from bench.artifact.cache import Artifact
    from bench.core.hashing import content_hash

    entry = tmp_path / "m-64-onnx-fp32-key"
    folder = entries.staging(entry)
    (folder / "m.onnx").write_bytes(b"the exported bytes")
    made = entries.commit(folder, entry, Artifact(path=folder / "m.onnx", format="onnx", precision="fp32",
                                                  model="m", resolution=64))
    assert entries.load(entry).sha256 == made.sha256 == content_hash(entry / "m.onnx")
    (entry / "m.onnx").write_bytes(b"the exported bytez")  # same size
    said = []
    assert entries.load(entry, notify=said.append) is None
    assert len(said) == 1 and "changed since it was exported" in said[0] and "m.onnx" in said[0]
    assert entries.cached_copy(entry.name, made.sha256) is None


def test_a_changed_cached_export_is_exported_again_saying_so(tmp_path):
    cache = tmp_path / "cache"
    args = ("export", "--model", "ablation_relu", "--format", "onnx", "--resolution", "64", "--json")
    first = run_bench(*args, env={"BENCH_CACHE": str(cache)})
    assert first.returncode == 0, first.stderr
    import json

    from bench.core.hashing import content_hash

    made = json.loads(first.stdout)
    path = __import__("pathlib").Path(made["path"])
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # one byte flipped: same size, other bytes
    path.write_bytes(bytes(data))
    tampered = content_hash(path)
    again = run_bench(*args, env={"BENCH_CACHE": str(cache)})
    assert again.returncode == 0, again.stderr
    served = json.loads(again.stdout)
    changed = [line for line in again.stderr.splitlines() if "changed since it was exported" in line]
    assert len(changed) == 1 and path.name in changed[0]
    assert served["cached"] is False and served["sha256"] != tampered
    assert served["sha256"] == content_hash(served["path"])  # the identity a record would carry is of these bytes


def test_a_registry_loading_in_one_thread_makes_another_wait(tmp_path, monkeypatch):
    """A lookup from a second thread while the first imports the entry modules sees every entry (it once answered
    "unknown format 'pte'" to a worker thread of a suite)."""
    import threading

    registry = Registry("thing")
    (tmp_path / "slow_entries.py").write_text(textwrap.dedent("""
        import time
        import slow_registry
        slow_registry.STARTED.set()
        time.sleep(0.3)
        slow_registry.REGISTRY.register("late", object())
    """))
    (tmp_path / "slow_registry.py").write_text("REGISTRY = None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import slow_registry

    slow_registry.REGISTRY, slow_registry.STARTED = registry, threading.Event()
    registry._modules = ("slow_entries",)
    seen = []
    first = threading.Thread(target=registry.names)
    first.start()
    assert slow_registry.STARTED.wait(10)
    second = threading.Thread(target=lambda: seen.append(registry.names()))
    second.start()
    first.join(), second.join()
    assert seen == [["late"]]
