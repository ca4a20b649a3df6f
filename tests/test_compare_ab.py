"""`bench compare` and `bench ab` end to end on real small models."""

import json
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import REPO, run_bench


@pytest.fixture(scope="module")
def two_stores(tmp_path_factory, artifact_cache):
    root = tmp_path_factory.mktemp("stores")
    stores = {}
    for name, res in (("base", 224), ("same", 224), ("slow", 320)):
        path = root / f"{name}.sqlite"
        result = run_bench("run", "--model", "mobileone_s0", "--resolution", res, "--runs", "150", "--warmup", "10",
                           "--store", path, "--json")
        assert result.returncode == 0, result.stderr
        stores[name] = path
    return stores


def test_compare_store_with_itself_is_all_unchanged(two_stores, tmp_path):
    md, xml = tmp_path / "summary.md", tmp_path / "junit.xml"
    result = run_bench("compare", two_stores["base"], two_stores["base"], "--json", "--markdown", md, "--junit", xml)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["verdict"] for r in rows] == ["no change"]
    for key in ("model", "target", "ratio", "p_value", "verdict"):
        assert key in rows[0]
    assert "| mobileone_s0 |" in md.read_text()
    assert ET.parse(xml).getroot().get("failures") == "0"


def test_compare_detects_real_slowdown_via_csv_with_samples(two_stores, tmp_path):
    # The "slow" store measured the model at 320 px (2x the MACs): relabel it 224 so the rows match.
    base_csv, slow_csv = tmp_path / "base.csv", tmp_path / "slow.csv"
    assert run_bench("results", "--store", two_stores["base"], "--csv", base_csv, "--samples").returncode == 0
    assert run_bench("results", "--store", two_stores["slow"], "--csv", slow_csv, "--samples").returncode == 0
    slow_text = slow_csv.read_text().replace(",320,", ",224,")
    slow_csv.write_text(slow_text)
    xml = tmp_path / "junit.xml"
    result = run_bench("compare", base_csv, slow_csv, "--json", "--junit", xml)
    row = json.loads(result.stdout)[0]
    assert result.returncode == 1, row
    assert row["verdict"] == "slower" and row["ratio"] > 1.2 and row["p_value"] < 0.01
    assert ET.parse(xml).getroot().get("failures") == "1"
    assert run_bench("compare", base_csv, slow_csv, "--report-only").returncode == 0


def test_compare_flags_different_threads_as_not_comparable(two_stores, tmp_path):
    listed = json.loads(run_bench("results", "--store", two_stores["same"], "--json").stdout)
    listed[0]["threads"] = 4
    other = tmp_path / "other.json"
    other.write_text(json.dumps(listed))
    row = json.loads(run_bench("compare", two_stores["base"], other, "--json").stdout)[0]
    assert row["verdict"] == "not comparable" and "threads" in row["reason"]


def test_compare_rejects_malformed_csv(tmp_path, two_stores):
    bad = tmp_path / "bad.csv"
    bad.write_text("model,latency\nx,1\n")
    result = run_bench("compare", bad, two_stores["base"])
    assert result.returncode != 0 and len(result.stderr.strip().splitlines()) == 1
    assert "lacks columns" in result.stderr and "Traceback" not in result.stderr


def test_ab_detects_larger_input_and_passes_identical(artifact_cache, store_path):
    slower = run_bench("ab", "--baseline", "mobileone_s0", "--candidate", "mobileone_s0", "--candidate-resolution",
                       "288", "--rounds", "6", "--runs", "20", "--warmup", "5", "--store", store_path, "--json")
    assert slower.returncode == 1, slower.stderr
    row = json.loads(slower.stdout)[0]
    assert row["verdict"] == "slower" and row["ci_low"] > 1.1
    same = run_bench("ab", "--baseline", "mobileone_s0", "--candidate", "mobileone_s0", "--rounds", "6",
                     "--runs", "20", "--warmup", "5", "--store", store_path, "--json")
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout)[0]["verdict"] == "no change"
    # Both sessions stored: per side one record holding every round's raw samples, tagged with its session.
    stored = json.loads(run_bench("results", "--store", store_path, "--json").stdout)
    by_session = {}
    for r in stored:
        by_session.setdefault(r["extra"]["ab_session"], {})[r["extra"]["ab_role"]] = r
    assert len(by_session) == 2
    first = by_session[row["session"]]
    assert first["candidate"]["resolution"] == 288 and first["baseline"]["resolution"] == 224
    assert first["candidate"]["repeats"] == 6 and first["candidate"]["n_samples"] == 6 * 20
    assert first["candidate"]["extra"]["ab_verdict"] == "slower"


@pytest.mark.slow
def test_ab_on_host_litert_tflite_files(artifact_cache, tmp_path):
    paths = []
    for res in (224, 288):
        out = run_bench("export", "--model", "mobilenetv4_conv_small", "--format", "tflite", "--resolution", res, "--json")
        assert out.returncode == 0, out.stderr
        paths.append(json.loads(out.stdout)["path"])
    result = run_bench("ab", "--baseline", paths[0], "--candidate", paths[1], "--target", "host-litert",
                       "--rounds", "6", "--runs", "20", "--store", tmp_path / "ab.sqlite", "--json")
    row = json.loads(result.stdout)[0]
    assert result.returncode == 1 and row["verdict"] == "slower" and row["target"] == "host-litert"


def test_compare_and_report_work_without_torch(two_stores, tmp_path):
    import subprocess
    import sys

    from tests.conftest import REPO

    code = (
        "import sys\n"
        "HEAVY = ('torch', 'coremltools', 'ai_edge_litert', 'litert_torch', 'timm', 'onnxruntime')\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in HEAVY:\n"
        "            raise ImportError(f'{name} is blocked: the core must work without it')\n"
        "sys.meta_path.insert(0, Block())\n"
        "from bench.cli import main\n"
        f"for argv in (['compare', {str(two_stores['base'])!r}, {str(two_stores['same'])!r}, '--report-only'],\n"
        f"             ['report', '--store', {str(two_stores['base'])!r}, '--out', {str(tmp_path / 'r')!r}],\n"
        f"             ['results', '--store', {str(two_stores['base'])!r}]):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit as e:\n"
        "        assert e.code == 0, (argv, e.code)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "r" / "report.html").is_file()


def test_the_count_gate_fails_when_it_cannot_check_a_baseline_row(tmp_path):
    """A counting row measured on another emulator set-up is not comparable: the gate must say so and fail, not pass
    without having checked it. The rows are the committed CI baseline's real arm64-emu counts."""
    baseline = REPO / "results" / "baselines" / "ci.json"
    counted = [r for r in json.loads(baseline.read_text()) if r["target"] == "arm64-emu"]
    assert counted
    same = tmp_path / "same.json"
    same.write_text(json.dumps(counted))
    assert run_bench("compare", baseline, same, "--report-only", "--gate-counts").returncode == 0
    moved = [{**r, "device": {**r["device"], "setup": {**r["device"]["setup"], "qemu": "qemu-aarch64 version 11.0"}}}
             for r in counted]
    other = tmp_path / "other.json"
    other.write_text(json.dumps(moved))
    done = run_bench("compare", baseline, other, "--report-only", "--gate-counts")
    assert done.returncode == 1 and "the count gate could not check" in done.stderr, done.stderr
    assert "different set-up (qemu" in done.stderr
    gone = tmp_path / "gone.json"
    gone.write_text(json.dumps(counted[1:]))
    done = run_bench("compare", baseline, gone, "--report-only", "--gate-counts")
    assert done.returncode == 1 and "only in baseline" in done.stderr
