"""Comparing survey rounds (analysis/rounds.py): Newcombe intervals, the score test, weighted changes, words, ranks.

The intervals and tests are checked against statsmodels and scipy. statsmodels' two-sample functions give
p1 − p2 for (count1, nobs1, count2, nobs2), while rounds.py gives the change p2 − p1: the comparisons flip the sign
(and swap the bounds) accordingly.
"""

from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency, norm
from statsmodels.stats import proportion as sm_proportion

from analysis.numbers import Z95, wilson_interval
from analysis.rates import Rate
from analysis.rounds import (
    NEWCOMBE,
    NO_VARIATION,
    WEIGHTED,
    WORDS,
    ZERO_VARIANCE,
    Change,
    change_points,
    change_words,
    estimate_change,
    newcombe_interval,
    points,
    rank,
    rate_change,
    score_test,
    weighted_change,
)
from analysis.weighting import Estimate

# (x1, n1, x2, n2): 0 and n successes, small n, equal shares, a typical county round, unequal n.
GRID = [
    (0, 10, 0, 12),
    (0, 10, 3, 10),
    (10, 10, 10, 10),
    (10, 10, 7, 12),
    (0, 5, 5, 5),
    (5, 5, 0, 5),
    (1, 1, 0, 1),
    (1, 2, 1, 3),
    (3, 7, 3, 7),
    (20, 40, 30, 60),
    (40, 50, 45, 50),
    (0, 30, 1, 30),
    (29, 30, 30, 30),
    (853, 1000, 880, 1000),
    (1708, 2000, 1701, 2000),
    (56, 70, 48, 80),
    (1, 400, 9, 350),
]


def statsmodels_quietly(function, *args, **kwargs):
    """statsmodels also computes a ratio and an odds ratio, which divide by zero at 0%: not what is compared."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return function(*args, **kwargs)


def rate(numerator: int, denominator: int) -> Rate:
    return Rate("q", "1", "safety", None, numerator, denominator, ["a"], [], 0, "exclude", denominator < 30)


def estimate(value: float | None, se: float | None, n: int = 500) -> Estimate:
    return Estimate(value, se, None, None, n, float(n), float(n), 0.95)


# ---------------------------------------------------------------------------------------------------------------
# Newcombe's interval


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), GRID)
def test_newcombe_matches_statsmodels(x1, n1, x2, n2):
    """statsmodels' (low, high) for p1 − p2 is (−high, −low) of ours for p2 − p1."""
    low, high = newcombe_interval(x1, n1, x2, n2)
    theirs = statsmodels_quietly(
        sm_proportion.confint_proportions_2indep, x1, n1, x2, n2, method="newcomb", compare="diff"
    )
    assert low == pytest.approx(-float(theirs[1]), abs=1e-10)
    assert high == pytest.approx(-float(theirs[0]), abs=1e-10)


@pytest.mark.parametrize("level", [0.9, 0.99])
@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [(20, 40, 30, 60), (0, 10, 3, 10), (853, 1000, 880, 1000)])
def test_newcombe_at_other_levels_matches_statsmodels(x1, n1, x2, n2, level):
    low, high = newcombe_interval(x1, n1, x2, n2, level=level)
    theirs = statsmodels_quietly(
        sm_proportion.confint_proportions_2indep, x1, n1, x2, n2, method="newcomb", compare="diff", alpha=1 - level
    )
    assert (low, high) == pytest.approx((-float(theirs[1]), -float(theirs[0])), abs=1e-10)


def test_newcombe_is_built_from_the_wilson_intervals_newcombe_1998_example():
    """Newcombe (1998), Table II example (a): 56/70 − 48/80 has the method-10 interval 0.0524 to 0.3339."""
    low, high = newcombe_interval(48, 80, 56, 70)
    assert (round(low, 4), round(high, 4)) == (0.0524, 0.3339)
    (l1, u1), (l2, u2) = wilson_interval(48, 80), wilson_interval(56, 70)
    d = 56 / 70 - 48 / 80
    assert low == pytest.approx(d - math.hypot(56 / 70 - l2, u1 - 48 / 80), abs=1e-15)
    assert high == pytest.approx(d + math.hypot(u2 - 56 / 70, 48 / 80 - l1), abs=1e-15)


def test_newcombe_is_none_for_an_empty_round_and_refuses_impossible_counts():
    assert newcombe_interval(0, 0, 3, 10) is None and newcombe_interval(3, 10, 0, 0) is None
    with pytest.raises(ValueError):
        newcombe_interval(11, 10, 3, 10)
    with pytest.raises(ValueError):
        newcombe_interval(-1, 10, 3, 10)
    with pytest.raises(ValueError):
        newcombe_interval(3, 10, 3, 10, level=1.0)


counts = st.integers(min_value=1, max_value=2000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@settings(max_examples=300, deadline=None)
@given(counts, counts)
def test_newcombe_properties(first, second):
    """It contains the point change, lies in [−1, 1], and swapping the rounds flips it exactly."""
    (x1, n1), (x2, n2) = first, second
    low, high = newcombe_interval(x1, n1, x2, n2)
    assert -1.0 <= low <= x2 / n2 - x1 / n1 <= high <= 1.0
    swapped = newcombe_interval(x2, n2, x1, n1)
    assert swapped == (-high, -low)


# ---------------------------------------------------------------------------------------------------------------
# The score test


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [case for case in GRID if 0 < case[0] + case[2] < case[1] + case[3]])
def test_score_test_matches_statsmodels_and_pearson_chi2(x1, n1, x2, n2):
    test = score_test(x1, n1, x2, n2)
    theirs = statsmodels_quietly(
        sm_proportion.test_proportions_2indep, x1, n1, x2, n2, method="score", compare="diff", correction=False
    )
    assert test.statistic == pytest.approx(-float(theirs.statistic), abs=1e-10)
    assert test.p_value == pytest.approx(float(theirs.pvalue), abs=1e-10)
    chi2, p, df, _ = chi2_contingency([[x1, n1 - x1], [x2, n2 - x2]], correction=False)
    assert df == 1 and test.chi2 == pytest.approx(chi2, rel=1e-10) and test.p_value == pytest.approx(p, abs=1e-10)


def test_score_test_sign_follows_the_change():
    assert score_test(40, 50, 45, 50).statistic > 0 and score_test(45, 50, 40, 50).statistic < 0
    assert score_test(3, 7, 3, 7).statistic == 0 and score_test(3, 7, 3, 7).p_value == 1.0


def test_score_test_without_variation_has_p_one_and_says_why():
    for case in [(0, 10, 0, 12), (10, 10, 12, 12)]:
        test = score_test(*case)
        assert test.statistic is None and test.chi2 is None
        assert test.p_value == 1.0 and test.statistic_note == NO_VARIATION
    assert score_test(0, 0, 3, 10) is None and score_test(3, 10, 0, 0) is None


def test_a_tiny_p_value_is_not_lost_to_cancellation():
    """2·sf(|z|), not 2·(1 − cdf(|z|)), which is 0 beyond z ≈ 8."""
    test = score_test(100, 1000, 900, 1000)
    assert 0 < test.p_value < 1e-100


# ---------------------------------------------------------------------------------------------------------------
# Weighted changes


def test_weighted_change_by_hand():
    result = weighted_change(estimate(0.80, 0.03), estimate(0.86, 0.04))
    assert result.difference == pytest.approx(0.06, abs=1e-15)
    assert result.standard_error == pytest.approx(0.05, abs=1e-15)
    assert (result.low, result.high) == pytest.approx((0.06 - Z95 * 0.05, 0.06 + Z95 * 0.05), abs=1e-15)
    assert result.statistic == pytest.approx(1.2, abs=1e-12)
    assert result.p_value == pytest.approx(2 * (1 - norm.cdf(1.2)), abs=1e-12)
    wider = weighted_change(estimate(0.80, 0.03), estimate(0.86, 0.04), level=0.99)
    assert wider.high - wider.low == pytest.approx(2 * norm.ppf(0.995) * 0.05, abs=1e-12)


def test_weighted_change_missing_or_degenerate():
    assert weighted_change(estimate(None, None), estimate(0.8, 0.02)) is None
    assert weighted_change(estimate(0.8, None), estimate(0.8, 0.02)) is None
    same = weighted_change(estimate(1.0, 0.0), estimate(1.0, 0.0))
    assert same.statistic is None and same.p_value == 1.0 and same.statistic_note == ZERO_VARIANCE
    assert (same.low, same.high) == (0.0, 0.0)
    apart = weighted_change(estimate(0.0, 0.0), estimate(1.0, 0.0))
    assert apart.p_value == 0.0 and (apart.low, apart.high) == (1.0, 1.0)


def test_estimate_change_is_a_change_with_the_weighted_method():
    change = estimate_change(estimate(0.80, 0.01, n=25), estimate(0.86, 0.01, n=600))
    assert change.method == WEIGHTED and change.significant and change.small_sample
    assert (change.p1, change.p2, change.n1, change.n2) == (0.80, 0.86, 25, 600)
    assert change.points == "6.0" and change.exact_difference is None
    assert not estimate_change(estimate(0.80, 0.03), estimate(0.86, 0.04)).significant
    assert estimate_change(estimate(None, None), estimate(0.86, 0.04)) is None


# ---------------------------------------------------------------------------------------------------------------
# Changes from counts


def test_rate_change_uses_newcombe_and_the_score_test():
    change = rate_change(rate(853, 1000), rate(880, 1000))
    assert change.method == NEWCOMBE and (change.n1, change.n2) == (1000, 1000) and not change.small_sample
    assert (change.low, change.high) == newcombe_interval(853, 1000, 880, 1000)
    assert change.p_value == score_test(853, 1000, 880, 1000).p_value
    assert change.exact_difference == Fraction(27, 1000) and change.points == "2.7"
    assert change.significant == (change.low > 0 or change.high < 0)
    assert rate_change(rate(0, 0), rate(3, 10)) is None
    assert rate_change(rate(20, 29), rate(20, 40)).small_sample
    assert not rate_change(rate(20, 29), rate(20, 40), small_n=29).small_sample


def test_significance_is_the_intervals_verdict_even_where_the_score_test_disagrees():
    """Search small rounds for a case where interval and test disagree: ``significant`` follows the interval."""
    found = None
    for n1 in range(5, 40):
        for x1 in range(n1 + 1):
            for x2 in range(n1 + 1):
                interval, test = newcombe_interval(x1, n1, x2, n1), score_test(x1, n1, x2, n1)
                excludes = interval[0] > 0 or interval[1] < 0
                if excludes != (test.p_value < 0.05):
                    found = (x1, n1, x2, n1, excludes)
                    break
            if found:
                break
        if found:
            break
    assert found is not None, "expected a marginal disagreement among small rounds"
    x1, n1, x2, n2, excludes = found
    change = rate_change(rate(x1, n1), rate(x2, n2))
    assert change.significant == excludes and (change.p_value < 0.05) != excludes


# ---------------------------------------------------------------------------------------------------------------
# Percentage points


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "expected"),
    [
        (0, 2000, 1, 2000, "0.1"),  # +0.05 exactly: half up
        (1, 2000, 0, 2000, "-0.1"),  # −0.05 exactly: half up on the magnitude
        (0, 2001, 1, 2001, "0.0"),  # just under 0.05
        (0, 1999, 1, 1999, "0.1"),  # just over 0.05
        (853, 1000, 880, 1000, "2.7"),
        (1, 3, 2, 3, "33.3"),
        (1, 6, 2, 6, "16.7"),
        (3, 8, 1, 4, "-12.5"),
        (17, 40, 18, 40, "2.5"),  # 2.5 exactly: nothing to round
        (1, 400, 1, 400, "0.0"),
        (0, 1, 1, 1, "100.0"),
        (1, 1, 0, 1, "-100.0"),
        (4, 4000, 2, 4000, "-0.1"),  # −0.05 again, from a reducible fraction
        (1, 4000, 0, 4000, "0.0"),  # −0.025 rounds to zero: no sign
    ],
)
def test_change_points_rounds_the_exact_fraction_half_up(x1, n1, x2, n2, expected):
    assert change_points(x1, n1, x2, n2) == expected


def test_change_points_where_a_float_would_round_the_wrong_way():
    """0.145 − 0.1 is 4.5 points exactly, but in floats it is 4.4999…: the exact fraction gives 4.5."""
    assert (0.145 - 0.1) * 100 < 4.5
    assert change_points(100, 1000, 145, 1000) == "4.5"
    assert change_points(0, 0, 1, 2) is None


@pytest.mark.parametrize(
    ("diff", "expected"),
    [
        (0.0005, "0.1"),
        (-0.0005, "-0.1"),
        (0.00049999, "0.0"),
        (0.027, "2.7"),
        (0.00125, "0.1"),
        (-0.0001, "0.0"),
        (0.0, "0.0"),
        (Fraction(1, 2000), "0.1"),
        (np.float64(0.0135), "1.4"),
        (None, None),
        (float("nan"), None),
        (float("inf"), None),
    ],
)
def test_points_of_a_float_rounds_half_up_from_its_decimal_form(diff, expected):
    assert points(diff) == expected


# ---------------------------------------------------------------------------------------------------------------
# Words


def change_of(low: float, high: float, difference: float, exact: Fraction | None = None) -> Change:
    significant = low > 0 or high < 0
    return Change(0.8, 0.8 + difference, difference, low, high, None, 0.5, NEWCOMBE, significant, 500, 500, False,
                  exact_difference=exact)  # fmt: skip


def test_words_for_a_significant_rise_and_fall():
    assert change_words(change_of(0.01, 0.05, 0.031)) == ("提高 %(points)s 个百分点", {"points": "3.1"})
    assert change_words(change_of(-0.05, -0.01, -0.031)) == ("下降 %(points)s 个百分点", {"points": "3.1"})


def test_words_when_the_interval_covers_zero():
    assert change_words(change_of(-0.01, 0.05, 0.02)) == ("提高 %(points)s 个百分点（变化不显著）", {"points": "2.0"})
    assert change_words(change_of(-0.05, 0.01, -0.02)) == ("下降 %(points)s 个百分点（变化不显著）", {"points": "2.0"})
    assert change_words(change_of(-0.03, 0.03, 0.0)) == ("持平（变化不显著）", {})


def test_a_change_that_prints_as_zero_is_flat():
    assert change_words(change_of(-0.01, 0.01, 0.0004)) == ("持平（变化不显著）", {})
    assert change_words(change_of(-0.01, 0.01, -0.0004)) == ("持平（变化不显著）", {})
    assert change_words(change_of(0.0001, 0.0008, 0.0004)) == ("持平", {})


def test_words_use_the_exact_difference_of_counts():
    change = rate_change(rate(0, 2000), rate(1, 2000))
    assert change_words(change) == ("提高 %(points)s 个百分点（变化不显著）", {"points": "0.1"})
    change = rate_change(rate(1, 2000), rate(0, 2000))
    assert change_words(change) == ("下降 %(points)s 个百分点（变化不显著）", {"points": "0.1"})


def test_the_six_msgids_are_complete_sentences_with_the_same_placeholders():
    assert set(WORDS.values()) == {
        "提高 %(points)s 个百分点",
        "下降 %(points)s 个百分点",
        "持平",
        "提高 %(points)s 个百分点（变化不显著）",
        "下降 %(points)s 个百分点（变化不显著）",
        "持平（变化不显著）",
    }
    for template in WORDS.values():
        assert template % {"points": "1.0"}


# ---------------------------------------------------------------------------------------------------------------
# Ranking


def test_rank_with_ties_on_the_shown_percent_and_missing_values_last():
    rows = rank(
        {"城关镇": 0.853, "东坝乡": None, "西河镇": 0.8534, "南山乡": 0.9, "北岭镇": 0.1, "新区": float("nan")},
        small={"北岭镇": True, "东坝乡": True},
    )
    assert [(row.name, row.percent, row.rank, row.small_sample) for row in rows] == [
        ("南山乡", "90.0", 1, False),
        ("城关镇", "85.3", 2, False),
        ("西河镇", "85.3", 2, False),
        ("北岭镇", "10.0", 4, True),
        ("东坝乡", None, None, True),
        ("新区", None, None, False),
    ]


def test_rank_ties_are_judged_after_rounding_half_up():
    """0.8535 shows as 85.4 (half up), so it ranks above 0.8534 (85.3) and ties with 0.854."""
    rows = rank({"a": 0.8534, "b": 0.8535, "c": 0.854, "d": Fraction(1707, 2000)})
    assert [(row.name, row.percent, row.rank) for row in rows] == [
        ("b", "85.4", 1),
        ("c", "85.4", 1),
        ("d", "85.4", 1),
        ("a", "85.3", 4),
    ]


def test_rank_of_nothing_and_of_all_ties():
    assert rank({}) == []
    assert [row.rank for row in rank({"a": 0.5, "b": 0.5, "c": 0.5})] == [1, 1, 1]
    assert [row.rank for row in rank({"a": None})] == [None]
