"""The decision module on synthetic sample lists with known answers."""

import numpy as np
import pytest

from bench.regression.decision import (DEFAULT_ALPHA, FASTER, NO_CHANGE, NOT_ENOUGH, SLOWER, compare_samples,
                                       compare_summaries, paired_rounds, smallest_u_p)


def _samples(rng, base, n=1000, spread=0.02):
    return base * (1 + spread * rng.standard_normal(n))


def test_identical_samples_are_no_change():
    rng = np.random.default_rng(0)
    a = _samples(rng, 5.0)
    d = compare_samples(np.min(a), np.min(a), a, a)
    assert d.verdict == NO_CHANGE and d.ratio == 1.0 and d.p_value == 1.0


def test_same_distribution_twice_is_no_change():
    rng = np.random.default_rng(1)
    a, b = _samples(rng, 5.0), _samples(rng, 5.0)
    d = compare_samples(np.median(a), np.median(b), a, b)
    assert d.verdict == NO_CHANGE


def test_ten_percent_shift_is_slower_and_reverse_is_faster():
    rng = np.random.default_rng(2)
    a, b = _samples(rng, 5.0), _samples(rng, 5.5)
    assert compare_samples(np.median(a), np.median(b), a, b).verdict == SLOWER
    assert compare_samples(np.median(b), np.median(a), b, a).verdict == FASTER


def test_shift_below_threshold_is_no_change_even_if_significant():
    rng = np.random.default_rng(3)
    a, b = _samples(rng, 5.0, spread=0.001), _samples(rng, 5.1, spread=0.001)  # 2%, hugely significant
    d = compare_samples(np.median(a), np.median(b), a, b, threshold=0.05)
    assert d.p_value < 1e-10 and d.verdict == NO_CHANGE


def test_heavy_tailed_noise_does_not_raise_false_alarm():
    rng = np.random.default_rng(4)
    spikes = lambda n: np.where(rng.random(n) < 0.05, rng.pareto(1.5, n) * 20, 0.0)  # noqa: E731
    a = 5.0 + 0.05 * rng.standard_normal(1000) + spikes(1000)
    b = 5.0 + 0.05 * rng.standard_normal(1000) + spikes(1000)
    d = compare_samples(np.median(a), np.median(b), a, b)
    assert d.verdict == NO_CHANGE


def test_heavy_tailed_noise_still_shows_a_real_slowdown():
    rng = np.random.default_rng(5)
    spikes = lambda n: np.where(rng.random(n) < 0.05, rng.pareto(1.5, n) * 20, 0.0)  # noqa: E731
    a = 5.0 + 0.05 * rng.standard_normal(1000) + spikes(1000)
    b = 5.5 + 0.05 * rng.standard_normal(1000) + spikes(1000)
    assert compare_samples(np.median(a), np.median(b), a, b).verdict == SLOWER


def test_without_samples_there_are_not_enough_samples_to_decide():
    """asv asks first whether the test could ever be significant; a bare ratio is not a decision."""
    d = compare_samples(5.0, 10.0)
    assert d.verdict == NOT_ENOUGH and d.p_value is None and d.ratio == 2.0


def test_three_against_three_of_a_doubling_cannot_be_significant_but_five_can():
    a, b = [5.0, 5.1, 4.9], [10.0, 10.2, 9.8]
    d = compare_samples(5.0, 10.0, a, b)
    assert d.verdict == NOT_ENOUGH and "smallest possible p 0.1" in d.test
    assert smallest_u_p(3, 3) == pytest.approx(2 / 20)  # 2 / C(6, 3): the exact test's floor
    assert smallest_u_p(5, 5) == pytest.approx(2 / 252) and smallest_u_p(5, 5) < DEFAULT_ALPHA
    five = compare_samples(5.0, 10.0, [*a, 5.05, 4.95], [*b, 10.1, 9.9])
    assert five.verdict == SLOWER and five.p_value < DEFAULT_ALPHA


def test_summaries_only_are_tested_on_their_means_stds_and_counts():
    """benchmark_model prints mean, std and count per run set: Welch's t-test on those, not the bare ratio."""
    base = {"mean": 10.0, "std": 0.5, "count": 50}
    slower = compare_summaries(10.0, 11.0, base, {"mean": 11.0, "std": 0.5, "count": 50})
    assert slower.verdict == SLOWER and slower.p_value < 1e-6 and "welch" in slower.test
    noisy = compare_summaries(10.0, 11.0, base, {"mean": 11.0, "std": 20.0, "count": 50})
    assert noisy.verdict == NO_CHANGE
    assert compare_summaries(10.0, 11.0, {"mean": 10.0}, {"mean": 11.0}).verdict == NOT_ENOUGH


def test_too_few_ab_rounds_are_not_enough_samples():
    rounds = lambda value, n: [[value, value * 1.01]] * n  # noqa: E731
    assert paired_rounds(rounds(5.0, 5), rounds(10.0, 5)).verdict == NOT_ENOUGH
    assert paired_rounds(rounds(5.0, 6), rounds(10.0, 6)).verdict == SLOWER


def test_paired_rounds_follow_drift_together():
    rng = np.random.default_rng(6)
    drift = np.linspace(1.0, 1.3, 20)  # the machine slows down by 30% during the run, for both sides
    a = [d * _samples(rng, 5.0, 100) for d in drift]
    b_same = [d * _samples(rng, 5.0, 100) for d in drift]
    b_slow = [d * _samples(rng, 5.4, 100) for d in drift]
    same = paired_rounds(a, b_same)
    slow = paired_rounds(a, b_slow)
    assert same.verdict == NO_CHANGE and same.ci_low <= 1 <= same.ci_high
    assert slow.verdict == SLOWER and slow.ci_low > 1.05 and abs(slow.ratio - 1.08) < 0.02


def test_counts_decide_on_the_plain_threshold():
    from bench.regression.decision import DEFAULT_COUNT_THRESHOLD, compare_counts

    assert DEFAULT_COUNT_THRESHOLD == 0.005
    assert compare_counts(100_000_000, 100_600_000).verdict == SLOWER
    assert compare_counts(100_000_000, 99_400_000).verdict == FASTER
    assert compare_counts(100_000_000, 100_400_000).verdict == NO_CHANGE
    assert compare_counts(100_000_000, 100_600_000, threshold=0.01).verdict == NO_CHANGE
    d = compare_counts(40_000_000, 40_000_001)
    assert d.p_value is None and d.ratio > 1 and d.verdict == NO_CHANGE
