import numpy as np
import pytest

from bench.core.errors import BenchError
from bench.core.protocols import PROTOCOLS, describe, get_protocol, median_of_means, minimum, trimmed_rounds


def test_minimum_over_all_repeats():
    assert minimum([[3.0, 2.5, 4.0], [2.7, 2.4]])["statistic"] == 2.4


def test_median_of_means_by_hand():
    # means 2, 5, 3, 10, 4 -> median 4
    repeats = [[1, 3], [5, 5], [2, 4], [10, 10], [4, 4]]
    result = median_of_means(repeats)
    assert result["statistic"] == 4.0
    assert result["repeat_means"] == [2.0, 5.0, 3.0, 10.0, 4.0]


def test_modelbench_trims_ten_of_fifty_each_side():
    # round values 1..50: keep 11..40, mean 25.5; a second round shifted by 100 -> mean 125.5
    rounds = [list(range(1, 51)), [v + 100 for v in range(1, 51)]]
    result = trimmed_rounds(rounds)
    assert result["statistic"] == pytest.approx((25.5 + 125.5) / 2)
    assert result["low"] == 11 and result["high"] == 140


def test_modelbench_ignores_outliers_in_trimmed_tails():
    clean = [5.0] * 50
    spiky = [5.0] * 40 + [500.0] * 10
    assert trimmed_rounds([spiky])["statistic"] == trimmed_rounds([clean])["statistic"] == 5.0


def test_protocol_defaults_follow_the_papers():
    assert (PROTOCOLS["mobileone"].runs, PROTOCOLS["mobileone"].repeats) == (1000, 1)
    assert (PROTOCOLS["mnv4"].runs, PROTOCOLS["mnv4"].repeats) == (1000, 5)
    assert (PROTOCOLS["modelbench"].runs, PROTOCOLS["modelbench"].repeats) == (50, 20)


def test_overrides_and_bad_values():
    p = get_protocol("mnv4").with_overrides(runs=10, repeats=2, warmup=0)
    assert (p.runs, p.repeats, p.warmup) == (10, 2, 0)
    with pytest.raises(BenchError, match="--runs must be at least 1"):
        get_protocol("mobileone").with_overrides(runs=0)
    with pytest.raises(BenchError, match="unknown protocol 'fastest'; known: mnv4, mobileone, modelbench"):
        get_protocol("fastest")


def test_summaries_path_for_tools_without_raw_samples():
    summaries = [{"min": 2.0, "mean": 3.0}, {"min": 1.5, "mean": 3.5}, {"min": 1.8, "mean": 2.5}]
    assert get_protocol("mobileone").statistic_from_summaries(summaries)["statistic"] == 1.5
    assert get_protocol("mnv4").statistic_from_summaries(summaries)["statistic"] == 3.0
    with pytest.raises(BenchError, match="needs raw per-run samples"):
        get_protocol("modelbench").statistic_from_summaries(summaries)


def test_describe_pools_repeats():
    d = describe([[1.0, 2.0], [3.0, 4.0]])
    assert d["min"] == 1.0 and d["max"] == 4.0 and d["median"] == 2.5 and d["n"] == 4
    assert d["stddev"] == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
