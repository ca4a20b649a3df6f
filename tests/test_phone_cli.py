"""The phone-prediction commands end to end through the real CLI: `bench calibrate` fits a phone from a store,
`bench phones` lists what was fitted, and compare / report show predicted milliseconds beside counts.

The stores are built from real figures only: each phone run holds a published real-phone latency
(bench/prediction/published, sources in SOURCES.md) as its one sample, and each arm64-emu count is the figure this
project's emulator measured for that model's twin (bench/prediction/emulated.csv)."""

import json

import pytest

from bench.core.outcome import Count, Timing
from bench.core.record import Record, derive_statistics
from bench.prediction import calibration_for
from bench.prediction.lookup import calibrations_for_run, predictions
from bench.prediction import published as pub
from bench.store.database import Store
from tests.conftest import run_bench

PHONE_TABLE = ("mnv4", "pixel6", "int8", 1)


def _published_pairs():
    pairs = pub.paired(pub.read_published(), pub.read_emulated())
    return [(p, e) for p, e in pairs if (p.table, p.phone, p.precision, p.threads) == PHONE_TABLE]


def _phone_run(p, device_model: str = "Pixel 6") -> Record:
    """An adb run as the Android target stores it (the device model as ro.product.model gives it), its one sample the
    published latency."""
    r = Record(model=p.twin, resolution=p.resolution, format="tflite", precision=p.precision, target="android",
               runtime="tflite-benchmark_model", runtime_version="published", threads=p.threads, protocol="mnv4",
               warmup=0, runs=1, repeats=1, options={"delegate": "xnnpack"}, device={"model": device_model},
               outcome=Timing(samples_ns=[[int(round(p.latency_ms * 1e6))]]), extra={"source": p.row_id})
    return derive_statistics(r)


def _count(model: str, resolution: int, e, timestamp: str | None = None) -> Record:
    r = Record(model=model, resolution=resolution, format="tflite", precision=e.precision, target="arm64-emu",
               runtime="litert-aarch64", runtime_version=json.loads(e.setup)["litert"], threads=1,
               protocol="mobileone", warmup=1, runs=2, repeats=1, device={"setup": json.loads(e.setup)},
               outcome=Count(counts=[e.figures.count, e.figures.count]),
               extra={"instruction_mix": e.figures.instruction_mix} if e.figures.instruction_mix else {})
    if timestamp:
        r.timestamp = timestamp
    return derive_statistics(r)


def _store(path, records) -> None:
    with Store(path) as s:
        for r in records:
            s.add(r)


def test_calibrate_fits_a_phone_from_its_runs_and_counts_like_the_shipped_fit(tmp_path):
    pairs = _published_pairs()
    assert len(pairs) >= 5
    store = tmp_path / "phone.sqlite"
    _store(store, [_phone_run(p) for p, _ in pairs] + [_count(p.twin, p.resolution, e) for p, e in pairs])
    saved = tmp_path / "mine"
    r = run_bench("calibrate", "--phone", "pixel6", "--from", store, "--json", "--features", "",
                  env={"BENCH_CALIBRATIONS": str(saved)})
    assert r.returncode == 0, r.stderr
    fit = json.loads(r.stdout)
    shipped = calibration_for("pixel6", "int8", threads=1)  # fitted by the benchmark on the same published rows
    assert fit["models"] == len(pairs) == shipped.models
    assert fit["loo_mean"] == pytest.approx(shipped.loo["mean"]) and fit["loo_max"] == pytest.approx(shipped.loo["max"])
    assert fit["measured_runtime"].startswith("tflite-benchmark_model") and fit["emulated_runtime"].startswith("litert")
    assert len(list(saved.glob("*.json"))) == 1

    listed = run_bench("phones", "--json", env={"BENCH_CALIBRATIONS": str(saved)})
    pixel6 = next(p for p in json.loads(listed.stdout) if p["phone"] == "pixel6")
    assert [c["origin"] for c in pixel6["calibrations"]].count("yours") == 1


def test_calibrate_refuses_fewer_than_five_models_in_one_line_and_saves_nothing(tmp_path):
    pairs = _published_pairs()[:4]
    store = tmp_path / "few.sqlite"
    _store(store, [_phone_run(p) for p, _ in pairs] + [_count(p.twin, p.resolution, e) for p, e in pairs])
    saved = tmp_path / "mine"
    r = run_bench("calibrate", "--phone", "pixel6", "--from", store, env={"BENCH_CALIBRATIONS": str(saved)})
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "5" in r.stderr, r.stderr
    assert not saved.exists() or not list(saved.glob("*.json"))


def test_calibrate_without_phone_runs_says_how_to_get_them(tmp_path):
    pairs = _published_pairs()
    store = tmp_path / "counts-only.sqlite"
    _store(store, [_count(p.twin, p.resolution, e) for p, e in pairs])
    r = run_bench("calibrate", "--phone", "pixel6", "--from", store, "--no-save")
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1
    assert "bench import benchmark-model" in r.stderr


def test_calibrate_pairs_the_counts_of_one_emulated_cpu_and_run_predictions_follow_it(tmp_path, monkeypatch):
    """Counts of the same models on cortex-a76 and cortex-a710 (i8mm kernels) in one store: the fit takes one CPU's
    counts, never a mix; a prediction for a count uses the calibration fitted on its CPU."""
    a710 = pub.read_emulated(cpu="cortex-a710")
    pairs = [(p, e) for p, e in pub.paired(pub.read_published(), pub.read_emulated())
             if (p.table, p.phone) == ("mnv4", "samsung-s23")]
    store = tmp_path / "s23.sqlite"
    _store(store, [_phone_run(p, "SM-S911B") for p, _ in pairs]  # adb's model for a Galaxy S23
           + [_count(p.twin, p.resolution, e) for p, e in pairs]
           + [_count(p.twin, p.resolution, a710[(p.twin, p.resolution, p.precision)]) for p, _ in pairs])
    saved = tmp_path / "mine"
    env = {"BENCH_CALIBRATIONS": str(saved)}
    default = run_bench("calibrate", "--phone", "s23", "--from", store, "--json", "--no-save", env=env)
    armv9 = run_bench("calibrate", "--phone", "s23", "--from", store, "--json", "--cpu", "cortex-a710", env=env)
    assert default.returncode == 0 and armv9.returncode == 0, default.stderr + armv9.stderr
    default, armv9 = json.loads(default.stdout), json.loads(armv9.stdout)
    shipped = calibration_for("samsung-s23", "int8", threads=1)
    assert default["emulated_cpu"] == "cortex-a76" and armv9["emulated_cpu"] == "cortex-a710"
    assert default["models"] == armv9["models"] == len(pairs) >= 5
    assert default["loo_mean"] == pytest.approx(shipped.loo["mean"])
    assert armv9["loo_mean"] != pytest.approx(default["loo_mean"])
    assert {e["count"] for e in armv9["fit_set"]} == {a710[(p.twin, p.resolution, "int8")].figures.count
                                                      for p, _ in pairs}

    monkeypatch.setenv("BENCH_CALIBRATIONS", str(saved))
    p, e = pairs[0]
    on_a710 = predictions(_count(p.twin, p.resolution, a710[(p.twin, p.resolution, "int8")]),
                          _looked_up(["s23"], "cortex-a710"))
    on_a76 = predictions(_count(p.twin, p.resolution, e), _looked_up(["s23"], "cortex-a76"))
    assert on_a710[0]["calibration"] == armv9["id"] and on_a76[0]["calibration"] == shipped.id


def _looked_up(phones, cpu: str) -> tuple:
    """The calibrations a run on the emulated `cpu` carries for `phones` (looked up once, as `bench run` does)."""
    from devices import get_target

    return calibrations_for_run(phones, get_target("arm64-emu"), "tflite", "int8", 1, {"cpu": cpu})


def _with_predictions(record: Record) -> Record:
    record.predictions = predictions(record, _looked_up(["pixel6"], record.device["setup"]["cpu"]))
    return record


def test_compare_and_report_show_predicted_milliseconds_beside_the_counts(tmp_path):
    emulated = pub.read_emulated()
    plain, tf_padded = emulated[("mobilenetv1_100", 224, "int8")], emulated[("mobilenetv1_100+same", 224, "int8")]
    baseline, current = tmp_path / "baseline.sqlite", tmp_path / "current.sqlite"
    _store(baseline, [_with_predictions(_count("mobilenetv1_100", 224, plain))])
    # The change under review: the same network rebuilt with TF's "same" padding (its own measured count).
    _store(current, [_with_predictions(_count("mobilenetv1_100", 224, tf_padded))])
    md = tmp_path / "compare.md"
    r = run_bench("compare", baseline, current, "--markdown", md, "--json")
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)
    assert row["verdict"] == "faster" and row["test"].startswith("count threshold")  # the verdict is the count's
    (change,) = row["predicted"]
    b, c = plain.figures.count, tf_padded.figures.count
    assert change["phone"] == "pixel6" and change["change_pct"] == pytest.approx(100 * (c / b - 1), abs=1e-3)
    text = md.read_text()
    assert "predicted phone ms (not measured)" in text and f"{change['current_ms']:.3f}" in text

    out = tmp_path / "report"
    r = run_bench("report", "--store", current, "--out", out)
    assert r.returncode == 0, r.stderr
    summary = (out / "summary.md").read_text()
    assert "Predicted phone milliseconds" in summary and "pixel6" in summary
    assert f"{c:,}" in summary
