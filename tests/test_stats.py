"""Intervals and paired tests against values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from isara.stats import (
    balanced_accuracy,
    balanced_accuracy_interval,
    bootstrap_mean,
    mcnemar_exact,
    paired_mean_difference,
    paired_rate_difference,
    standard_error,
    wilson,
)

# Wilson with z = 1.959964, z^2 = 3.841459, n = 10: scale = 1 + z^2/n = 1.3841459.
#   0/10:  centre = (0 + z^2/20) / scale = 0.1920729 / 1.3841459 = 0.1387664
#          half = z * sqrt(0 + z^2/400) / scale = z^2/20 / scale = 0.1387664  -> (0, 0.2775328)
#   10/10: the mirror image of 0/10                                        -> (0.7224672, 1)
#   5/10:  centre = 0.5; half = z * sqrt(0.25/10 + z^2/400) / scale
#          = 1.959964 * sqrt(0.025 + 0.0096036) / 1.3841459 = 0.3646009 / 1.3841459 = 0.2634069
#                                                                          -> (0.2365931, 0.7634069)


@pytest.mark.parametrize(
    "k, n, low, high",
    [
        (0, 10, 0.0, 0.2775328),
        (10, 10, 0.7224672, 1.0),
        (5, 10, 0.2365931, 0.7634069),
    ],
)
def test_wilson_matches_hand_values(k, n, low, high):
    assert wilson(k, n) == pytest.approx((low, high), abs=1e-6)


def test_wilson_bounds_are_exact_at_the_edges():
    assert wilson(0, 10)[0] == 0.0
    assert wilson(10, 10)[1] == 1.0
    assert wilson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson(11, 10)


# Exact McNemar: 2 * sum_{i <= min(b, c)} C(b + c, i) / 2^(b + c), capped at 1.
#   b=0, c=5: 2 * 1 / 32 = 0.0625
#   b=1, c=9: 2 * (1 + 9) / 1024 = 0.021484375
@pytest.mark.parametrize(
    "b, c, p",
    [(0, 5, 0.0625), (5, 0, 0.0625), (1, 9, 0.021484375), (4, 4, 1.0), (0, 0, 1.0)],
)
def test_mcnemar_exact_matches_hand_values(b, c, p):
    assert mcnemar_exact(b, c) == p


def test_standard_error():
    # [1, 2, 3, 4]: mean 2.5, squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, var 5/3, se sqrt(5/3)/2
    assert standard_error([1, 2, 3, 4]) == pytest.approx((5 / 3) ** 0.5 / 2)
    assert standard_error([7.0]) == 0.0
    assert standard_error([]) == 0.0


def test_bootstrap_mean_is_deterministic_and_contains_the_mean():
    values = list(np.random.default_rng(0).normal(size=50))
    interval = bootstrap_mean(values, seed=3)
    assert interval == bootstrap_mean(values, seed=3)
    assert interval != bootstrap_mean(values, seed=4)
    assert interval[0] < float(np.mean(values)) < interval[1]
    assert all(type(x) is float for x in interval)


def test_bootstrap_mean_shrinks_as_n_grows():
    values = np.random.default_rng(1).normal(size=1000)
    small = bootstrap_mean(values[:20], seed=0)
    large = bootstrap_mean(values, seed=0)
    assert large[1] - large[0] < (small[1] - small[0]) / 3


def test_bootstrap_mean_edge_cases():
    assert bootstrap_mean([0.1], seed=0) == (0.1, 0.1)
    assert bootstrap_mean([0.1, 0.1, 0.1], seed=0) == (0.1, 0.1)
    with pytest.raises(ValueError):
        bootstrap_mean([], seed=0)


def test_paired_rate_difference_on_a_hand_made_case():
    # 20 items: a right on all, b wrong on the last 8 -> difference 8/20 = 0.4, b10 = 8, b01 = 0,
    # p = 2 / 2^8 = 0.0078125.
    a = [True] * 20
    b = [True] * 12 + [False] * 8
    result = paired_rate_difference(a, b, seed=0)
    assert result["difference"] == pytest.approx(0.4)
    assert (result["b01"], result["b10"], result["n"]) == (0, 8, 20)
    assert result["p_value"] == 0.0078125
    assert 0.0 < result["low"] < 0.4 < result["high"] <= 1.0
    swapped = paired_rate_difference(b, a, seed=0)
    assert swapped["difference"] == pytest.approx(-0.4)
    assert (swapped["b01"], swapped["b10"]) == (8, 0)
    assert swapped["high"] < 0.0


def test_paired_rate_difference_rejects_mismatched_or_empty_inputs():
    with pytest.raises(ValueError):
        paired_rate_difference([True], [True, False], seed=0)
    with pytest.raises(ValueError):
        paired_rate_difference([], [], seed=0)


def test_paired_mean_difference():
    # every item scores 1.0 higher under a: the difference is 1.0 with no spread at all
    b = [0.5, 2.0, -1.0, 3.0]
    result = paired_mean_difference([x + 1.0 for x in b], b, seed=0)
    assert result["difference"] == pytest.approx(1.0)
    assert result["low"] == pytest.approx(1.0) and result["high"] == pytest.approx(1.0)
    assert result["n"] == 4


def test_balanced_accuracy():
    harmful = [True] * 10
    safe = [False] * 10
    assert balanced_accuracy(harmful, safe) == 1.0
    assert balanced_accuracy([True] * 10, [True] * 10) == 0.5
    assert balanced_accuracy([False] * 10, [False] * 10) == 0.5
    # 3 of 4 harmful refused, 1 of 4 safe refused: (0.75 + 0.75) / 2
    assert balanced_accuracy([True, True, True, False], [True, False, False, False]) == 0.75
    with pytest.raises(ValueError):
        balanced_accuracy([], [True])


def test_balanced_accuracy_interval():
    assert balanced_accuracy_interval([True] * 10, [False] * 10, seed=0) == (1.0, 1.0)
    harmful = [True] * 15 + [False] * 5
    safe = [True] * 4 + [False] * 16
    low, high = balanced_accuracy_interval(harmful, safe, seed=0)
    assert low < balanced_accuracy(harmful, safe) < high
    assert (low, high) == balanced_accuracy_interval(harmful, safe, seed=0)
