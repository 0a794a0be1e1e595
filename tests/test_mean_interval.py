"""The conservative interval of a mean of item rates (analysis/mean_interval.py)."""

from __future__ import annotations

import pytest

from analysis.mean_interval import mean_interval
from analysis.numbers import wilson_interval
from analysis.rates import Rate
from analysis.results import mean_of_rates


def rate(numerator: int, denominator: int) -> Rate:
    return Rate("q", "1", "satisfaction", None, numerator, denominator, ["a"], [], 0, "exclude", denominator < 30)


def test_items_that_agree_give_the_items_interval():
    """Perfectly correlated items: the mean is the item, and so is its interval."""
    assert mean_interval([rate(35, 40), rate(35, 40)]) == pytest.approx(wilson_interval(35, 40))


def test_the_mean_of_the_bounds_is_weighted_like_the_mean():
    items, weights = [rate(6, 6), rate(3, 6)], [3.0, 1.0]
    low, high = mean_interval(items, weights)
    first, second = wilson_interval(6, 6), wilson_interval(3, 6)
    assert low == pytest.approx((3 * first[0] + second[0]) / 4) and high == pytest.approx(
        (3 * first[1] + second[1]) / 4
    )
    assert low < float(mean_of_rates(items, weights)) < high


def test_items_nobody_answered_are_left_out_as_the_mean_leaves_them_out():
    assert mean_interval([rate(30, 40), rate(0, 0)]) == pytest.approx(wilson_interval(30, 40))
    assert mean_interval([rate(0, 0)]) is None and mean_interval([]) is None


def test_it_is_never_narrower_than_the_interval_of_independent_items():
    """Independent items (the narrowest case): the mean's normal half-width is √Σσ²/k; averaging is wider."""
    items = [rate(30, 40), rate(20, 40), rate(38, 40)]
    low, high = mean_interval(items)
    shares = [r.numerator / r.denominator for r in items]
    independent = 1.96 * (sum(p * (1 - p) / 40 for p in shares)) ** 0.5 / len(items)
    assert high - low > 2 * independent
