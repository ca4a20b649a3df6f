"""Regression decisions from raw samples.

Rule (compare): a change is *slower* when the current statistic exceeds the baseline's by more than `threshold`
and a two-sided Mann-Whitney U test on the raw samples rejects "same distribution" at `alpha`; *faster* is the mirror
image; anything else is *no change*. First, as asv does, ask whether the samples could ever be significant: when
even wholly separated samples of these sizes could not reach `alpha` (3 against 3 cannot), the verdict is *not enough
samples*. A tool that prints only per-run summaries (benchmark_model: mean, std, count) is tested by Welch's t-test on
those; with neither raw samples nor such summaries, *not enough samples*.

Rule (A/B): rounds alternate A and B in one process; the ratio is the median over rounds of median(B)/median(A),
with a bootstrap 95% CI over rounds; *slower* when the CI lies wholly above 1 and the ratio exceeds 1 + threshold;
*not enough samples* when so few rounds that even all of them on one side of 1 could not reach the confidence (a sign
test over the rounds: fewer than 6 rounds for 95%).

Rule (counts): a counting target (arm64-emu: instructions per inference) has no noise to test against, so a
change is *slower* when the current count exceeds the baseline's by more than `count_threshold` (default 0.5%),
*faster* when below by as much, else *no change*; counts from different set-ups are not comparable (compare.py).

Why these tests: latency samples are skewed and heavy-tailed (interrupts, migrations), so a rank test (U) is used
instead of a t-test; in A/B mode rounds are paired, so resampling whole rounds keeps the drift that hit both sides
together, which is what makes side-by-side measurement trustworthy on a noisy machine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

SLOWER, FASTER, NO_CHANGE, NOT_COMPARABLE = "slower", "faster", "no change", "not comparable"
NOT_ENOUGH = "not enough samples"
DEFAULT_THRESHOLD = 0.05
DEFAULT_ALPHA = 0.01
DEFAULT_COUNT_THRESHOLD = 0.005  # counts repeat to 1e-6 relative; 0.5% is far above that, and below a +1% model change


@dataclass
class Decision:
    ratio: float  # current / baseline (> 1 means slower)
    p_value: float | None
    verdict: str
    test: str
    ci_low: float | None = None
    ci_high: float | None = None

    @property
    def change(self) -> float:
        return self.ratio - 1.0


def _verdict(ratio: float, significant: bool, threshold: float) -> str:
    if significant and ratio > 1 + threshold:
        return SLOWER
    if significant and ratio < 1 / (1 + threshold):
        return FASTER
    return NO_CHANGE


def mann_whitney_p(baseline: Sequence[float], current: Sequence[float]) -> float:
    from scipy.stats import mannwhitneyu

    if len(baseline) < 2 or len(current) < 2:
        return float("nan")
    if np.ptp(np.concatenate([baseline, current])) == 0:
        return 1.0
    return float(mannwhitneyu(current, baseline, alternative="two-sided").pvalue)


def smallest_u_p(n_baseline: int, n_current: int) -> float:
    """The smallest p-value the U test can give samples of these sizes: that of two wholly separated samples, by
    the same method (exact or asymptotic) scipy chooses for them."""
    if n_baseline < 2 or n_current < 2:
        return 1.0
    return mann_whitney_p(np.arange(n_baseline, dtype=float), np.arange(n_current, dtype=float) + n_baseline)


def compare_samples(
    baseline_stat: float,
    current_stat: float,
    baseline_samples: Sequence[float] | None = None,
    current_samples: Sequence[float] | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
) -> Decision:
    ratio = current_stat / baseline_stat
    n_b = 0 if baseline_samples is None else len(baseline_samples)
    n_c = 0 if current_samples is None else len(current_samples)
    if not (n_b and n_c):
        return Decision(ratio, None, NOT_ENOUGH, "no raw samples to test")
    floor = smallest_u_p(n_b, n_c)
    if not floor < alpha:
        return Decision(ratio, None, NOT_ENOUGH, f"mann-whitney-u cannot reach p < {alpha:g} with {n_b} and {n_c} "
                                                 f"samples (smallest possible p {floor:.2g})")
    p = mann_whitney_p(np.asarray(baseline_samples, float), np.asarray(current_samples, float))
    return Decision(ratio, p, _verdict(ratio, bool(p < alpha), threshold), "mann-whitney-u")


def compare_summaries(baseline_stat: float, current_stat: float, baseline: dict, current: dict, *,
                      threshold: float = DEFAULT_THRESHOLD, alpha: float = DEFAULT_ALPHA) -> Decision:
    """Per-run summaries only (mean, std, count of runs, as benchmark_model prints): Welch's t-test on the means."""
    from scipy.stats import ttest_ind_from_stats

    ratio = current_stat / baseline_stat
    needed = ("mean", "std", "count")
    if any(side.get(k) is None for side in (baseline, current) for k in needed) or \
            min(int(baseline["count"]), int(current["count"])) < 2:
        return Decision(ratio, None, NOT_ENOUGH, "no raw samples, and no mean, std and count to test")
    if baseline["std"] == 0 and current["std"] == 0:
        p = 1.0 if baseline["mean"] == current["mean"] else 0.0
    else:
        p = float(ttest_ind_from_stats(current["mean"], current["std"], int(current["count"]), baseline["mean"],
                                       baseline["std"], int(baseline["count"]), equal_var=False).pvalue)
    return Decision(ratio, p, _verdict(ratio, bool(p < alpha), threshold), "welch-t on per-run summaries")


def compare_counts(baseline_count: int, current_count: int, *, threshold: float = DEFAULT_COUNT_THRESHOLD) -> Decision:
    """Exact counts (instructions per inference): the plain ratio against the threshold decides."""
    if baseline_count <= 0:
        raise ValueError(f"baseline count must be positive, not {baseline_count}")
    ratio = current_count / baseline_count
    return Decision(ratio, None, _verdict(ratio, True, threshold), f"count threshold {100 * threshold:g}%")


def paired_rounds(
    baseline_rounds: Sequence[Sequence[float]],
    candidate_rounds: Sequence[Sequence[float]],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    confidence: float = 0.95,
    resamples: int = 5000,
    seed: int = 0,
) -> Decision:
    """A/B decision over rounds measured alternately: per-round ratio of medians, bootstrap CI over rounds."""
    ratios = np.array([np.median(c) / np.median(b) for b, c in zip(baseline_rounds, candidate_rounds)])
    if len(ratios) == 0:
        raise ValueError("no rounds to compare")
    ratio = float(np.median(ratios))
    if 2 * 0.5 ** len(ratios) > 1 - confidence:  # even every round on one side of 1 would not be significant
        return Decision(ratio, None, NOT_ENOUGH, f"{len(ratios)} rounds cannot reach {confidence:.0%} confidence "
                                                 f"(a sign test needs at least {_rounds_needed(confidence)})")
    rng = np.random.default_rng(seed)
    boots = np.median(rng.choice(ratios, size=(resamples, len(ratios)), replace=True), axis=1)
    tail = (1 - confidence) / 2
    low, high = (float(x) for x in np.quantile(boots, [tail, 1 - tail]))
    # Sign-flip test of "median log-ratio is 0": how often resampled medians fall on the other side of 1.
    p = float(min(1.0, 2 * min(np.mean(boots <= 1.0), np.mean(boots >= 1.0)) + 1 / resamples))
    if low > 1 and ratio > 1 + threshold:
        verdict = SLOWER
    elif high < 1 and ratio < 1 / (1 + threshold):
        verdict = FASTER
    else:
        verdict = NO_CHANGE
    return Decision(ratio, p, verdict, "bootstrap CI of the ratio of medians over paired rounds", low, high)


def _rounds_needed(confidence: float) -> int:
    n = 1
    while 2 * 0.5 ** n > 1 - confidence:
        n += 1
    return n
