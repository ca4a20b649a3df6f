"""Regression decisions from raw samples.

Rule (compare): a change is *slower* when the current statistic exceeds the baseline's by more than `threshold`
and a two-sided Mann-Whitney U test on the raw samples rejects "same distribution" at `alpha`; *faster* is the mirror
image; anything else is *no change*. Without raw samples on both sides only the ratio decides (asv's rule).

Rule (A/B): rounds alternate A and B in one process; the ratio is the median over rounds of median(B)/median(A),
with a bootstrap 95% CI over rounds; *slower* when the CI lies wholly above 1 and the ratio exceeds 1 + threshold.

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
    if baseline_samples is not None and current_samples is not None and len(baseline_samples) and len(current_samples):
        p = mann_whitney_p(np.asarray(baseline_samples, float), np.asarray(current_samples, float))
        return Decision(ratio, p, _verdict(ratio, bool(p < alpha), threshold), "mann-whitney-u")
    return Decision(ratio, None, _verdict(ratio, True, threshold), "ratio only (no raw samples)")


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
