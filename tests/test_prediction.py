"""bench.prediction: the fit and leave-one-out arithmetic on hand-checkable cases, calibration files, the refusals,
the phones, and the shipped data (published rows cite their sources; shipped calibrations restate their errors)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from bench.core.errors import BenchError, UnknownChoice
from bench.prediction import (Figures, FitRow, MissingFigures, NotEnoughModels, calibration_for, fit_calibration,
                              list_phones, phone, predict, save_calibration)
from bench.prediction import calibration as calmod
from bench.prediction import features as feat
from bench.prediction import least_squares as fm
from bench.prediction import published as pub
from bench.prediction.phones import FACTS

RUNTIMES = {"measured_runtime": "TFLite XNNPACK (test rows)", "emulated_runtime": "litert-aarch64 1.4.0"}


def rows_with_ratios(ratios, counts=None, mix=None):
    counts = counts or [10_000_000 * (i + 1) for i in range(len(ratios))]
    return [FitRow(f"m{i}", Figures(c, mix[i] if mix else None), c * r * 1e-6, 224, f"row-{i}")
            for i, (c, r) in enumerate(zip(counts, ratios))]


@pytest.fixture
def user_calibrations(tmp_path, monkeypatch):
    monkeypatch.setenv(calmod.USER_ENV, str(tmp_path / "cals"))
    return tmp_path / "cals"


# --- arithmetic ---

def test_one_scale_fit_is_the_geometric_mean_of_ms_per_instruction():
    counts = np.array([1.0, 1.0, 1.0])
    ms = np.array([1.0, 2.0, 4.0])
    beta = fm.fit(np.ones((3, 1)), np.log(ms / counts))
    assert math.exp(beta[0]) == pytest.approx(2.0)  # (1 * 2 * 4) ** (1/3)


def test_leave_one_out_refits_without_the_row():
    ms = np.array([1.0, 2.0, 4.0])
    loo = np.exp(fm.loo_log_ratio(np.ones((3, 1)), np.log(ms)))
    # row 0 is predicted from rows 1 and 2 only: sqrt(2 * 4); row 2 from rows 0 and 1: sqrt(1 * 2)
    assert loo == pytest.approx([math.sqrt(8), 2.0, math.sqrt(2)])
    assert fm.relative_errors(loo, ms) == pytest.approx([math.sqrt(8) - 1, 0.0, 1 - math.sqrt(2) / 4])


def test_a_feature_that_explains_the_ratio_is_recovered_exactly():
    x = np.array([0.1, 0.2, 0.3, 0.5, 0.8, 0.9])
    design = np.column_stack([np.ones(6), x])
    log_ratio = 0.5 + 2.0 * x
    assert fm.fit(design, log_ratio) == pytest.approx([0.5, 2.0])
    assert fm.loo_log_ratio(design, log_ratio) == pytest.approx(log_ratio)


def test_spearman_band_and_summary():
    assert fm.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert fm.spearman([1, 2, 3, 4], [40, 30, 20, 10]) == pytest.approx(-1.0)
    assert fm.ratio_band([1.0, 2.0, 4.0], [1.1, 1.8, 4.0]) == pytest.approx((0.9, 1.1))
    assert fm.error_summary([0.1, 0.3, 0.2]) == pytest.approx({"mean": 0.2, "median": 0.2, "max": 0.3})


# --- calibrations: fit, predict, files ---

def test_fit_calibration_states_leave_one_out_errors_and_predicts():
    cal = fit_calibration(rows_with_ratios([80, 84, 88, 76, 92]), "pixel6", "int8", **RUNTIMES)
    scale = math.exp(cal.coefficients[0]) * 1e6  # ms per million instructions
    assert scale == pytest.approx((80 * 84 * 88 * 76 * 92) ** 0.2)
    assert cal.models == 5 and cal.rho == pytest.approx(1.0)
    # row 3 (76 ms per G instructions) is predicted from the other four
    expected = (80 * 84 * 88 * 92) ** 0.25
    assert cal.fit_set[3]["loo_ms"] == pytest.approx(cal.fit_set[3]["count"] * expected * 1e-6, rel=1e-4)
    assert cal.loo["max"] == pytest.approx(max(abs(e["loo_ms"] - e["measured_ms"]) / e["measured_ms"]
                                               for e in cal.fit_set), rel=1e-3)
    p = predict(cal, 50_000_000)
    assert p.ms == pytest.approx(50_000_000 * scale * 1e-6)
    assert p.low_ms <= p.ms <= p.high_ms
    assert (p.low_ms / p.ms, p.high_ms / p.ms) == pytest.approx(cal.band)
    assert p.to_dict()["calibration"] == cal.id and p.phone == "pixel6"


def test_fewer_than_five_models_is_refused_in_one_line():
    with pytest.raises(NotEnoughModels) as err:
        fit_calibration(rows_with_ratios([80, 84, 88, 76]), "pixel6", "int8", **RUNTIMES)
    message = str(err.value)
    assert "\n" not in message and "at least 5 models" in message and "got 4" in message
    assert isinstance(err.value, BenchError)


def test_more_features_need_more_rows_and_one_row_per_model():
    mix = [{"simd_fp": 5, "integer": 1, "load": 1, "store": 1, "branch": 1, "other": 1}] * 5
    rows = rows_with_ratios([80, 84, 88, 76, 92], counts=[10] * 5, mix=mix)
    with pytest.raises(NotEnoughModels, match="at least 6 models"):
        fit_calibration(rows, "pixel6", "int8", features=("simd_fp_share", "load_share"), **RUNTIMES)
    twice = rows_with_ratios([80, 84, 88, 76, 92])
    twice[1] = twice[0]
    with pytest.raises(BenchError, match="given more than once: m0@224"):
        fit_calibration(twice, "pixel6", "int8", **RUNTIMES)


def test_a_mix_feature_fits_and_a_record_without_a_mix_is_refused():
    shares = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    mix = [{"simd_fp": round(1000 * s), "integer": 1000 - round(1000 * s), "load": 0, "store": 0, "branch": 0,
            "other": 0} for s in shares]
    ratios = [math.exp(1.0 + 2.0 * s) for s in shares]
    cal = fit_calibration(rows_with_ratios(ratios, counts=[1000] * 6, mix=mix), "pixel6", "fp32",
                          features=("simd_fp_share",), **RUNTIMES)
    assert cal.coefficients[1] == pytest.approx(2.0)
    assert cal.loo["max"] == pytest.approx(0.0, abs=1e-9)
    assert predict(cal, 1000, instruction_mix=mix[2]).ms == pytest.approx(1000 * ratios[2] * 1e-6)
    with pytest.raises(MissingFigures, match="instruction_mix"):
        predict(cal, 1000)


def test_bytes_features_come_from_the_records_memory_bytes():
    extra = {"instruction_mix": {"simd_fp": 6, "integer": 1, "load": 2, "store": 1, "branch": 0, "other": 0},
             "memory_bytes": {"load": 64, "store": 16}, "cache": {"per_inference": {"l1d_misses": 2, "l2_misses": 1}}}
    f = Figures.from_extra(10, extra)
    assert feat.row(("bytes_per_instruction", "load_bytes_per_instruction", "simd_fp_share", "l1d_mpki"), f) == \
        pytest.approx([1.0, 8.0, 6.4, 0.6, 200.0])
    with pytest.raises(MissingFigures, match="memory_bytes"):
        feat.row(("store_bytes_per_instruction",), Figures(10))


def test_calibration_file_round_trip(user_calibrations):
    cal = fit_calibration(rows_with_ratios([80, 84, 88, 76, 92]), "s23", "int8", cal_id="s23-test", **RUNTIMES,
                          emulator_setup={"qemu": "7.2"})
    path = save_calibration(cal)
    assert path.parent == user_calibrations and path.name == "s23-test.json"
    assert json.loads(path.read_text())["format_version"] == calmod.FORMAT_VERSION
    back = calmod.load(path)
    assert back == cal and back.phone == "samsung-s23"
    assert predict(back, 12_345_678).ms == pytest.approx(predict(cal, 12_345_678).ms)
    assert predict(back, 1, setup={"qemu": "9.2"}).setup_differs == ("qemu",)
    assert list(user_calibrations.iterdir()) == [path]  # nothing half-written left beside it


def test_a_newer_calibration_format_is_refused(tmp_path):
    cal = fit_calibration(rows_with_ratios([80, 84, 88, 76, 92]), "pixel6", "int8", **RUNTIMES)
    path = tmp_path / "x.json"
    path.write_text(cal.to_json().replace('"format_version": 1', '"format_version": 99'))
    with pytest.raises(BenchError, match="format version 99"):
        calmod.load(path)


def test_lookup_takes_a_user_calibration_for_a_phone_without_a_shipped_one(user_calibrations):
    assert calibration_for("pixel2", "fp32", threads=2) is None
    cal = fit_calibration(rows_with_ratios([80, 84, 88, 76, 92]), "pixel-2", "fp32", threads=2, **RUNTIMES)
    save_calibration(cal)
    found = calibration_for("Pixel2", "fp32", threads=2)
    assert found is not None and found.id == cal.id and found.origin.startswith(str(user_calibrations))
    assert calibration_for("pixel2", "fp32", threads=2, runtime="litert-aarch64 9.9") is None


def test_shipped_calibrations_come_before_the_users(user_calibrations):
    shipped = calmod.shipped()
    if not shipped:
        pytest.skip("no shipped calibrations")
    first = shipped[0]
    mine = fit_calibration(rows_with_ratios([80, 84, 88, 76, 92]), first.phone, first.precision,
                           threads=first.threads, cal_id="mine", **RUNTIMES)
    save_calibration(mine)
    assert calibration_for(first.phone, first.precision, first.threads).origin.startswith(str(calmod.SHIPPED_DIR))


def test_unknown_phone_names_the_known_ones():
    with pytest.raises(UnknownChoice) as err:
        phone("pixel99")
    assert "unknown phone 'pixel99'" in str(err.value) and "pixel6" in str(err.value)
    assert "samsung-s23" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(UnknownChoice):
        calibration_for("iphone12", "int8")


# --- data shipped in the repository ---

def test_every_phone_fact_has_a_source():
    for p in list_phones():
        assert p.facts.get("soc"), p.key
        assert set(p.facts) <= set(FACTS)
        assert set(p.facts) == set(p.sources), p.key
        assert all(s.strip() for s in p.sources.values())
    assert phone("s23").key == "samsung-s23" and "Cortex-X3" in phone("s23").summary()


def test_a_phone_is_known_by_what_adb_and_ai_hub_call_it():
    s23, pixel6 = phone("samsung-s23"), phone("pixel6")
    assert s23.is_called("SM-S911B") and s23.is_called("sm-s911u1") and s23.is_called("Samsung Galaxy S23")
    assert s23.is_called("Samsung Galaxy S23 (Family)") and not s23.is_called("Samsung Galaxy S24 (Family)")
    assert not s23.is_called("SM-S916B") and not s23.is_called("SM-S918B")  # the S23+ and S23 Ultra
    assert pixel6.is_called("Pixel 6") and pixel6.is_called("Google Pixel 6") and not pixel6.is_called("Pixel 6 Pro")


def test_every_published_row_cites_a_source_in_sources_md():
    rows = pub.read_published()
    assert len(rows) > 50
    cited = pub.cited_sources()
    assert {r.source for r in rows} <= cited
    assert len({r.row_id for r in rows}) == len(rows)
    phones = {p.key for p in list_phones()}
    assert {r.phone for r in rows} <= phones
    assert all(r.latency_ms > 0 and r.precision in ("fp32", "int8") for r in rows)
    assert all(r.resolution for r in rows if r.twin)


def test_shipped_calibrations_restate_their_fit_and_errors():
    published = {r.row_id: r for r in pub.read_published()}
    shipped = calmod.shipped()
    if not shipped:
        pytest.skip("no shipped calibrations")
    for cal in shipped:
        assert cal.models >= 5 and cal.measured_runtime and cal.emulated_runtime and cal.emulator_setup
        assert set(cal.loo) == {"mean", "median", "max"} and -1 <= cal.rho <= 1
        rows = []
        for entry in cal.fit_set:
            source = published[entry["source"]]  # every fitted row is a published row
            assert (source.twin, source.latency_ms, source.phone) == (entry["model"], entry["measured_ms"], cal.phone)
            figures = Figures(entry["count"], entry["instruction_mix"], entry["cache"], entry.get("memory_bytes"))
            rows.append(FitRow(entry["model"], figures, entry["measured_ms"], entry["resolution"], entry["source"]))
        again = fit_calibration(rows, cal.phone, cal.precision, threads=cal.threads, features=cal.features,
                                measured_runtime=cal.measured_runtime, emulated_runtime=cal.emulated_runtime)
        assert again.loo == pytest.approx(cal.loo) and again.rho == pytest.approx(cal.rho)
        assert again.coefficients == pytest.approx(cal.coefficients)


def test_shipped_calibrations_use_the_committed_emulated_figures():
    shipped = calmod.shipped()
    if not shipped:
        pytest.skip("no shipped calibrations")
    emulated = pub.read_emulated()
    for cal in shipped:
        for entry in cal.fit_set:
            fig = emulated[(entry["model"], entry["resolution"], cal.precision)].figures
            assert fig.count == entry["count"]


def test_counts_on_another_emulated_cpu_are_kept_apart_from_the_fitted_ones():
    """emulated.csv holds cortex-a710 (i8mm) counts of the MobileNetV4 table beside the cortex-a76 ones; a fit reads
    only the CPU its calibration names, and the two differ (other XNNPACK kernels)."""
    assert {calmod.default_cpu(), "cortex-a710"} <= pub.emulated_cpus()
    default, a710 = pub.read_emulated(), pub.read_emulated(cpu="cortex-a710")
    assert all(json.loads(e.setup)["cpu"] == "cortex-a710" for e in a710.values())
    assert all(json.loads(e.setup)["cpu"] == calmod.default_cpu() for e in default.values())
    key = ("mobilenetv4_conv_medium", 256, "int8")
    assert a710[key].figures.count != default[key].figures.count
    assert all(c.emulator_setup.get("cpu") == calmod.default_cpu() for c in calmod.shipped())


def test_a_phone_is_refused_on_counts_from_another_cpu_than_its_calibration():
    from bench.prediction.lookup import calibrations_for_run
    from devices import get_target

    target = get_target("arm64-emu")
    calibrations_for_run(("pixel6",), target, "tflite", "int8", 1, {"cpu": calmod.default_cpu()})
    with pytest.raises(BenchError) as err:
        calibrations_for_run(("s23",), target, "tflite", "int8", 1, {"cpu": "cortex-a710"})
    message = str(err.value)
    assert "cortex-a76" in message and "cortex-a710" in message and "bench calibrate --phone samsung-s23" in message
    assert "\n" not in message


def test_the_library_imports_nothing_heavy():
    code = ("import sys; before = set(sys.modules); import bench.prediction as p; p.calibration_for('pixel6', 'int8'); "
            "bad = [m for m in set(sys.modules) - before if m.split('.')[0] in ('torch', 'tensorflow', 'devices', "
            "'exporters') or m.startswith(('bench.pipeline', 'bench.store.database', 'bench.zoo'))]; print(sorted(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_shipped_calibrations_are_what_bench_calibrate_published_writes(tmp_path):
    """The product refits the shipped calibrations from the published tables and emulated.csv: byte for byte the
    committed files, and no other file."""
    from tests.conftest import run_bench

    done = run_bench("calibrate", "--published", "--out", tmp_path / "refit")
    assert done.returncode == 0, done.stderr
    written = sorted((tmp_path / "refit").iterdir())
    shipped = sorted(calmod.SHIPPED_DIR.glob("*.json"))
    assert [p.name for p in written] == [p.name for p in shipped] and len(shipped) >= 10
    assert [p.read_bytes() for p in written] == [p.read_bytes() for p in shipped]
    assert len(done.stdout.strip().splitlines()) == len(shipped) and "wrote" in done.stdout


def test_a_phone_is_found_by_any_name_it_is_called():
    assert phone("Pixel 6").key == "pixel6" and phone("SM-S911B").key == "samsung-s23"
    assert phone("Samsung Galaxy S23 (Family)").key == "samsung-s23"
    assert all(phone(name) is p for p in list_phones() for name in (p.key, p.name, *p.aliases) if p.is_called(name))


def test_a_phone_run_looks_its_calibration_up_once_and_the_record_carries_it(monkeypatch):
    """`--phone`: the calibration is found when the run is prepared (before any export) and the deployment carries it to
    the record; building the record looks nothing up again."""
    from bench.artifact.cache import Artifact
    from bench.core.measurement import Measurement
    from bench.core.outcome import Count
    from bench.core.protocols import get_protocol
    from bench.pipeline import RunSpec, prepare, record_of
    from bench.prediction import lookup

    looked_up = []
    real = lookup.calibration_for
    monkeypatch.setattr(lookup, "calibration_for", lambda *a, **k: looked_up.append(a) or real(*a, **k))
    [deployment] = prepare(RunSpec(model="mobileone_s0", target="arm64-emu", precision="int8", phones=("Pixel 6",)))
    assert [c.id for c in deployment.calibrations] == ["pixel6-int8-1t-mnv4"] and len(looked_up) == 1
    artifact = Artifact(path="m.tflite", format="tflite", precision="int8", model="mobileone_s0", resolution=224)
    counted = Measurement(runtime="litert-aarch64", runtime_version="1.4.0", outcome=Count(counts=[44_935_882] * 2),
                          device={"setup": {"cpu": "cortex-a76"}})
    record = record_of(artifact, deployment.target, get_protocol("mobileone"), counted, 1, deployment.options,
                       deployment.calibrations)
    assert len(looked_up) == 1
    [predicted] = record.predictions
    assert predicted["label"] == "predicted" and predicted["phone"] == "pixel6"
    assert predicted["calibration"] == "pixel6-int8-1t-mnv4" and 1 < predicted["predicted_ms"] < 10
