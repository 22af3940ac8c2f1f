"""Uncertainty of evaluation numbers: intervals for rates and means, and paired comparisons of two
methods scored on the same items. Pure functions; every number is a plain, unrounded float.

Intervals are 95%. Bootstrap intervals are percentile intervals over `resamples` resamples of the
items with replacement, drawn from `numpy.random.default_rng(seed)`: the same inputs and seed give
the same interval. Paired comparisons resample items, keeping each item's two outcomes together.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal
RESAMPLES = 2000


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval (low, high) of the rate of `k` successes in `n` trials.

    n=0 gives (0.0, 1.0); the low bound is exactly 0.0 when k=0 and the high bound exactly 1.0
    when k=n.
    """
    if not 0 <= k <= n:
        raise ValueError(f"wilson needs 0 <= k <= n, got k={k}, n={n}")
    if n == 0:
        return 0.0, 1.0
    p = k / n
    z2 = z * z
    scale = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / scale
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / scale
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return float(low), float(high)


def standard_error(values: Sequence[float]) -> float:
    """The sample standard error of the mean (standard deviation with ddof=1 over sqrt(n)); 0.0
    for fewer than 2 values."""
    array = np.asarray(values, dtype=float)
    if array.size < 2:
        return 0.0
    return float(array.std(ddof=1) / math.sqrt(array.size))


def percentile_interval(samples: np.ndarray) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of `samples`."""
    low, high = np.percentile(samples, [2.5, 97.5])
    return float(low), float(high)


def _resampled_means(values: np.ndarray, rng: np.random.Generator, resamples: int) -> np.ndarray:
    """The means of `resamples` bootstrap resamples of `values` (items drawn with replacement)."""
    index = rng.integers(0, len(values), size=(resamples, len(values)))
    return values[index].mean(axis=1)


def bootstrap_mean(values: Sequence[float], seed: int, resamples: int = RESAMPLES) -> tuple[float, float]:
    """The percentile bootstrap interval (low, high) of the mean of `values`.

    All-equal values (a single value included) give (v, v) exactly. Raises ValueError on no values:
    a mean of nothing has no interval.
    """
    array = np.asarray(values, dtype=float)
    if array.size == 0:
        raise ValueError("bootstrap_mean needs at least one value")
    if np.all(array == array[0]):
        return float(array[0]), float(array[0])
    return percentile_interval(_resampled_means(array, np.random.default_rng(seed), resamples))


def mcnemar_exact(b: int, c: int) -> float:
    """The exact two-sided McNemar p-value of `b` and `c` discordant pairs: twice the binomial
    probability of at most min(b, c) successes in b + c trials at p = 1/2, capped at 1.0; 1.0
    when there are no discordant pairs. Computed in exact integer arithmetic."""
    if b < 0 or c < 0:
        raise ValueError(f"mcnemar_exact needs non-negative counts, got b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1))
    return min(1.0, 2 * tail / 2**n)


def _paired(a: Sequence, b: Sequence, dtype) -> tuple[np.ndarray, np.ndarray]:
    """`a` and `b` as arrays of `dtype`; ValueError unless they are the same non-zero length."""
    if len(a) != len(b):
        raise ValueError(f"paired outcomes need one value per item in each, got {len(a)} and {len(b)}")
    if len(a) == 0:
        raise ValueError("paired outcomes need at least one item")
    return np.asarray(a, dtype=dtype), np.asarray(b, dtype=dtype)


def paired_mean_difference(
    a: Sequence[float], b: Sequence[float], seed: int, resamples: int = RESAMPLES
) -> dict:
    """mean(a) - mean(b) for two scores of the same items (a[i], b[i] for item i), with its paired
    bootstrap interval: {"difference", "low", "high", "n"}. ValueError when lengths differ or are 0."""
    first, second = _paired(a, b, float)
    difference = float(first.mean() - second.mean())
    low, high = bootstrap_mean(first - second, seed, resamples)
    return {"difference": difference, "low": low, "high": high, "n": len(first)}


def paired_rate_difference(
    a: Sequence[bool], b: Sequence[bool], seed: int, resamples: int = RESAMPLES
) -> dict:
    """rate(a) - rate(b) for two binary outcomes of the same items (a[i], b[i] for item i).

    Returns {"difference", "low", "high", "n", "b01", "b10", "p_value"}: low and high are the
    paired bootstrap interval (items resampled, each keeping its pair); b01 counts items with a
    False and b True, b10 items with a True and b False; p_value is mcnemar_exact(b01, b10).
    ValueError when lengths differ or are 0.
    """
    first, second = _paired(a, b, bool)
    b01 = int(np.sum(~first & second))
    b10 = int(np.sum(first & ~second))
    result = paired_mean_difference(first.astype(float), second.astype(float), seed, resamples)
    return {**result, "b01": b01, "b10": b10, "p_value": mcnemar_exact(b01, b10)}


def _groups(refused_harmful: Sequence[bool], refused_safe: Sequence[bool]) -> tuple[np.ndarray, np.ndarray]:
    """Both groups as bool arrays; ValueError when either is empty."""
    if len(refused_harmful) == 0 or len(refused_safe) == 0:
        raise ValueError("balanced accuracy needs at least one harmful and one safe prompt")
    return np.asarray(refused_harmful, dtype=bool), np.asarray(refused_safe, dtype=bool)


def balanced_accuracy(refused_harmful: Sequence[bool], refused_safe: Sequence[bool]) -> float:
    """(share of harmful prompts refused + share of safe prompts answered) / 2: 1.0 for a perfect
    refuser, 0.5 for one that refuses everything or nothing. ValueError when a group is empty."""
    harmful, safe = _groups(refused_harmful, refused_safe)
    return float((harmful.mean() + (1.0 - safe.mean())) / 2)


def balanced_accuracy_interval(
    refused_harmful: Sequence[bool], refused_safe: Sequence[bool], seed: int, resamples: int = RESAMPLES
) -> tuple[float, float]:
    """The percentile bootstrap interval (low, high) of balanced_accuracy, the harmful and the safe
    prompts resampled independently, each within its own group."""
    harmful, safe = _groups(refused_harmful, refused_safe)
    rng = np.random.default_rng(seed)
    harmful_rates = _resampled_means(harmful.astype(float), rng, resamples)
    safe_rates = _resampled_means(safe.astype(float), rng, resamples)
    return percentile_interval((harmful_rates + (1.0 - safe_rates)) / 2)


def interval(low_high: tuple[float, float]) -> list[float]:
    """An interval as it goes into a metrics file: [low, high], rounded to 4 places."""
    return [round(low_high[0], 4), round(low_high[1], 4)]
