"""The decision module on synthetic sample lists with known answers."""

import numpy as np

from bench.regression.decision import FASTER, NO_CHANGE, SLOWER, compare_samples, paired_rounds


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


def test_without_samples_the_ratio_alone_decides():
    assert compare_samples(5.0, 5.6).verdict == SLOWER
    assert compare_samples(5.0, 5.1).verdict == NO_CHANGE
    assert compare_samples(5.0, 5.6).p_value is None


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
