"""A conservative 95% interval for an overall figure that is a (weighted) mean of item rates.

The items are answered by the same respondents, so their sampling errors are correlated, by an amount
the rates alone do not tell. Whatever that correlation, the standard error of a (weighted) mean is at
most the (weighted) mean of the items' standard errors (equality when the items move together), so the
(weighted) mean of the items' Wilson bounds gives an interval at least as wide as the one a known
correlation would give: conservative, never falsely narrow. Reports call it that.
"""

from __future__ import annotations

from analysis.rates import Rate


def mean_interval(rates: list[Rate], weights: list[float] | None = None) -> tuple[float, float] | None:
    """The (weighted) mean of the items' Wilson bounds, over items that have answers; None when none has.

    Items without answers are left out of the mean of rates too (``analysis.results.mean_of_rates``),
    so the interval and the figure rest on the same items and weights.
    """
    pairs = [
        (rate.interval, weight)
        for rate, weight in zip(rates, weights or [1.0] * len(rates), strict=True)
        if rate.interval is not None and weight
    ]
    total = sum(weight for _interval, weight in pairs)
    if not pairs or not total:
        return None
    low = sum(interval[0] * weight for interval, weight in pairs) / total
    high = sum(interval[1] * weight for interval, weight in pairs) / total
    return low, high
