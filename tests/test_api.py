"""bench.measure / bench.measure_many: the CLI's engine from Python, on real models through the real emulated target.

The measuring tests need the arm64-emu set-up (devices/arm64_emu/setup.sh, built by .ci/run) and skip without it.
A Keras model is measured in a subprocess: tensorflow never enters the test process (tests/conftest.py).
"""

import json
import os
import subprocess
import sys

import pytest

from bench.core.errors import BenchError, UnknownChoice
from tests.conftest import REPO, run_bench
from tests.tiny_nets import INPUT_SIZE, tiny_net


def _setup_or_skip():
    from devices.arm64_emu.emulator import find_setup

    try:
        find_setup()
    except BenchError as exc:
        pytest.skip(f"arm64-emu set-up absent ({exc})")


def _fresh_python(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=900, cwd=REPO,
                          env={**os.environ, **(env or {})})


def test_bench_help_and_import_bench_load_no_torch_and_no_ray():
    done = _fresh_python(
        "import sys\n"
        "import bench\n"
        "light = not {'torch', 'ray', 'tensorflow', 'bench.api'} & set(sys.modules)\n"
        "measure = bench.measure\n"
        "print(light, callable(measure), 'torch' in sys.modules, 'ray' in sys.modules)\n"
        "from bench.cli import main\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('torch' in sys.modules, 'ray' in sys.modules)\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "True True False False"  # bench.measure loads the API, not torch
    assert lines[-1] == "False False"
    with pytest.raises(AttributeError, match="no attribute 'measure_all'"):
        import bench

        bench.measure_all  # noqa: B018


def test_bad_input_raises_the_clis_typed_errors():
    import bench

    with pytest.raises(UnknownChoice, match="unknown target 'arm65-emu'.*did you mean arm64-emu"):
        bench.measure("mobileone_s0", target="arm65-emu")
    with pytest.raises(BenchError, match=r"needs input_size, e.g. input_size=\(1, 3, 224, 224\)"):
        bench.measure(tiny_net(8))
    with pytest.raises(BenchError, match="errors must be one of raise, return"):
        bench.measure_many(["mobileone_s0"], errors="ignore")
    with pytest.raises(BenchError, match="2 names for 1 models"):
        bench.measure_many(["mobileone_s0"], names=["a", "b"])
    with pytest.raises(BenchError, match="cannot measure a dict"):
        bench.measure({"not": "a model"})
    with pytest.raises(BenchError, match="target arm64-emu takes no option --no-such; its options: --cpu"):
        bench.measure("mobileone_s0", no_such=1)
    with pytest.raises(BenchError, match="calibration_dir is called representative_dir since bench 0.2.0"):
        bench.measure("mobileone_s0", precision="int8", calibration_dir="/tmp")  # the 0.1 keyword, by its new name


def test_measure_many_refuses_one_bare_model():
    import bench

    for bare in ("mobileone_s0", tiny_net(8)):
        with pytest.raises(BenchError, match="measure_many takes a list of models, not one model .*: pass \\["):
            bench.measure_many(bare)
    with pytest.raises(BenchError, match="measure_many takes a list of models, not a int"):
        bench.measure_many(3)


def test_a_store_sqlite_cannot_open_is_a_typed_error_naming_it(tmp_path, artifact_cache):
    """/proc accepts no new file, though its permission bits say it would: SQLite itself refuses it, and the API
    says so as a typed error naming the path, never sqlite3's own exception."""
    import bench

    store = "/proc/bench-api-test.sqlite"
    with pytest.raises(BenchError, match=f"cannot write the store {store}") as raised:
        bench.measure(tiny_net(8), target="host", precision="fp32", input_size=INPUT_SIZE, store=store, runs=2,
                      warmup=1)
    assert raised.type.__module__ == "bench.core.errors"


def test_the_api_says_why_its_defaults_are_not_the_clis():
    import inspect

    from bench import api
    from bench.commands.run import run

    assert (api.DEFAULT_TARGET, api.DEFAULT_PRECISION) == ("arm64-emu", "int8")
    assert inspect.signature(run).parameters["target"].default.default == "host"
    assert "Defaults differ from `bench run`'s on purpose" in api.__doc__
    assert "differ from `bench run`'s" in (REPO / "README.md").read_text()


@pytest.mark.slow
def test_a_module_and_its_file_measure_alike_from_python_and_from_the_cli(tmp_path, artifact_cache, monkeypatch):
    """One figure whatever the door: the module's record, the exported file's record from Python, and `bench run`
    on that file hold the same count of the same artifact; only a given store is written."""
    _setup_or_skip()
    monkeypatch.setenv("BENCH_STORE", str(tmp_path / "default.sqlite"))
    import bench
    from bench.store.database import Store

    store = tmp_path / "api.sqlite"
    record = bench.measure(tiny_net(16), input_size=INPUT_SIZE, name="tiny16", store=store)
    assert record.model == "tiny16" and record.target == "arm64-emu" and record.precision == "int8"
    assert record.unit == "instructions" and record.count > 10_000 and record.counts[0] == record.count
    with Store(store) as s:
        assert [r.id for r in s.records()] == [record.id]

    from_file = bench.measure(record.artifact_path)  # no store: nothing written anywhere
    assert (from_file.count, from_file.artifact_hash) == (record.count, record.artifact_hash)
    assert not (tmp_path / "default.sqlite").exists()

    done = run_bench("run", "--model", record.artifact_path, "--target", "arm64-emu", "--json", "--store",
                     tmp_path / "cli.sqlite")
    assert done.returncode == 0, done.stderr
    cli = json.loads(done.stdout.strip().splitlines()[-1])
    assert (cli["count"], cli["artifact_hash"], cli["counts"]) == (record.count, record.artifact_hash, record.counts)


@pytest.mark.slow
def test_a_module_is_exported_once_by_content_and_errors_can_stay_in_place(artifact_cache):
    """The same network built again (same weights) is the cached artifact; changed weights are a new one. With
    errors="return", a bad model's typed error takes its place and the others are measured."""
    _setup_or_skip()
    import torch

    import bench

    lines = []
    first = bench.measure(tiny_net(24), input_size=INPUT_SIZE, name="tiny24", progress=lines.append)
    lines.clear()
    again = bench.measure(tiny_net(24), input_size=INPUT_SIZE, name="tiny24", progress=lines.append)
    assert not any(line.startswith("exporting") for line in lines), lines
    assert (again.artifact_hash, again.count) == (first.artifact_hash, first.count)

    changed = tiny_net(24)
    with torch.no_grad():
        changed[0].weight.mul_(-1.0)
    out = bench.measure_many(["no_such_model_xyz", changed], input_size=INPUT_SIZE, names=["missing", "flipped"],
                             errors="return", progress=lines.append)
    assert isinstance(out[0], UnknownChoice) and "no_such_model_xyz" in str(out[0])
    assert out[1].model == "flipped" and out[1].artifact_hash != first.artifact_hash
    assert any(line.startswith("exporting flipped") for line in lines), lines


@pytest.mark.slow
def test_a_zoo_model_by_name(artifact_cache):
    _setup_or_skip()
    import bench

    record = bench.measure("ablation_relu", resolution=64, precision="fp32")
    assert record.model == "ablation_relu" and record.resolution == 64 and record.format == "tflite"
    assert record.count > 1_000_000 and record.macs > 0


KERAS_SCRIPT = """
import json, sys
import keras
import bench

def build():
    keras.utils.set_random_seed(3)
    inputs = keras.Input((32, 32, 3), batch_size=1, name="image")
    x = keras.layers.Conv2D(8, 3, activation="relu", name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inputs, keras.layers.Dense(4, name="head")(x), name="tiny_keras")

lines = []
first = bench.measure(build(), progress=lines.append)
converted = [l for l in lines if l.startswith("converting")]
lines.clear()
second = bench.measure(build(), store=sys.argv[1], progress=lines.append)
print(json.dumps({"model": first.model, "count": first.count, "hash": first.artifact_hash, "precision": first.precision,
                  "again": [second.count, second.artifact_hash], "converted": converted,
                  "converted_again": [l for l in lines if l.startswith("converting")],
                  "torch": "torch" in sys.modules}))
"""


@pytest.mark.slow
def test_a_keras_model_is_converted_by_tensorflow_and_cached_by_content(tmp_path, artifact_cache):
    _setup_or_skip()
    import importlib.util

    if importlib.util.find_spec("tensorflow") is None:
        pytest.skip("tensorflow is not installed")
    done = subprocess.run([sys.executable, "-c", KERAS_SCRIPT, str(tmp_path / "k.sqlite")], capture_output=True,
                          text=True, timeout=900, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["model"] == "tiny_keras" and out["precision"] == "int8" and out["count"] > 10_000
    assert out["again"] == [out["count"], out["hash"]]  # the same network again: the same artifact, not converted
    assert len(out["converted"]) == 1 and out["converted_again"] == []
    assert out["torch"] is False  # a Keras user's process never loads torch
    assert (tmp_path / "k.sqlite").exists()


@pytest.mark.slow
def test_the_architecture_search_notebook_executes_and_gives_its_committed_table(tmp_path, artifact_cache):
    """notebooks/architecture_search.ipynb measures its grid through bench.measure_many(jobs=2) with its network
    class defined in the notebook (sent to the export workers by value); committed with its outputs, which are what
    the code gives today (instructions shown in millions to 2 decimals)."""
    _setup_or_skip()
    import shutil

    import nbformat
    from nbclient import NotebookClient

    name = "architecture_search.ipynb"
    work = tmp_path / "nb"
    work.mkdir()
    shutil.copy(REPO / "notebooks" / name, work / name)
    nb = nbformat.read(work / name, as_version=4)
    NotebookClient(nb, timeout=1500, kernel_name="python3", resources={"metadata": {"path": str(work)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert (work / "architecture_search.png").stat().st_size > 1000
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "12 measured; failed: none" in text and "under it" in text

    def tables(notebook) -> list:
        # only the result tables: a cold artifact cache adds the converter's progress displays
        return [o["data"]["text/html"] for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
                if 'class="dataframe"' in o.get("data", {}).get("text/html", "")]

    committed = nbformat.read(REPO / "notebooks" / name, as_version=4)
    assert tables(committed) and tables(committed) == tables(nb)
