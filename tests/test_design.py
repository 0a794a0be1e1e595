"""Sample design: allocation by hand and by property, margins against their formulas, coverage and its χ² test.

Pure functions only (no app, no database). The property tests compare ``allocate`` with an exact reference: the
quotas λ·w_h clipped to [lo_h, hi_h] summing to the total, λ found from the breakpoints of that piecewise linear
sum in fractions; every whole-number allocation must lie between the floor and the ceiling of its quota.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis.design import (
    MESSAGES,
    DesignError,
    achieved_vs_plan,
    allocate,
    plan_sample,
    stratified_margin,
    stratum_margins,
)
from analysis.numbers import Z95
from analysis.uncertainty import fpc, margin_of_error, max_margin_of_error

# ---------------------------------------------------------------------------------------------------------------
# Allocation by hand


def test_proportional_exact():
    # N = 10000; 100 × 1000/10000 = 10, × 3000/10000 = 30, × 6000/10000 = 60: no remainders.
    assert allocate({"城关镇": 1000, "东街道": 3000, "西乡": 6000}, 100, "proportional") == {
        "城关镇": 10,
        "东街道": 30,
        "西乡": 60,
    }


def test_proportional_largest_remainder():
    # N = 10; 7 × 3/10 = 2.1, 2.1, 7 × 4/10 = 2.8 → whole parts 2 + 2 + 2 = 6; the 1 left goes to .8 → 2, 2, 3.
    assert allocate({"A": 3, "B": 3, "C": 4}, 7, "proportional") == {"A": 2, "B": 2, "C": 3}


def test_ties_go_to_the_stratum_listed_first():
    # 3 × 5/10 = 1.5 each: the one unit left goes to the first listed, whichever order that is.
    assert allocate({"A": 5, "B": 5}, 3, "proportional") == {"A": 2, "B": 1}
    assert allocate({"B": 5, "A": 5}, 3, "proportional") == {"B": 2, "A": 1}
    assert list(allocate({"B": 5, "A": 5}, 3, "proportional")) == ["B", "A"]


def test_equal():
    # 10 / 4 = 2.5 each → whole parts 2 × 4 = 8; the 2 left go to the first two (ties by order) → 3, 3, 2, 2.
    assert allocate({"A": 100, "B": 900, "C": 50, "D": 400}, 10, "equal") == {"A": 3, "B": 3, "C": 2, "D": 2}


def test_equal_capped_by_the_population():
    # 150 / 3 = 50 each, but A has only 20 people: A takes all 20; the 130 left → 65 and 65.
    assert allocate({"A": 20, "B": 1000, "C": 1000}, 150, "equal") == {"A": 20, "B": 65, "C": 65}


def test_equal_with_minimum_and_maximum():
    # lo = min(30, N_h) = 5, 30, 30; hi = min(40, N_h) = 5, 40, 40. 80/3 = 26.67 each: A above its cap 5 and
    # B, C below 30. A overshoots by 21.67, more than B and C fall short (3.33 + 3.33 = 6.67): A is clamped first.
    # Then 75 / 2 = 37.5 for B and C, inside [30, 40]; the tie goes to B → 38, 37.
    assert allocate({"A": 5, "B": 3000, "C": 6000}, 80, "equal", minimum=30, maximum=40) == {"A": 5, "B": 38, "C": 37}


def test_proportional_with_minimum():
    # Quotas 10, 30, 60; minimum 30: A (10) clamped at 30. Rest 70 over B, C ∝ 3000:6000 → 23.33, 46.67:
    # B below 30, clamped at 30. Rest 40 → C. Result 30, 30, 40.
    assert allocate({"A": 1000, "B": 3000, "C": 6000}, 100, "proportional", minimum=30) == {"A": 30, "B": 30, "C": 40}


def test_a_stratum_smaller_than_the_minimum_takes_all_of_it():
    # lo_A = min(20, 5) = 5. Quota A = 100 × 5/1000 = 0.5 < 5 → A takes all 5 people; B takes the other 95.
    assert allocate({"A": 5, "B": 995}, 100, "proportional", minimum=20) == {"A": 5, "B": 95}


def test_proportional_with_maximum():
    # Quotas 240, 30, 30; maximum 150: A clamped at 150; the 150 left ∝ 1000:1000 → 75, 75.
    assert allocate({"A": 8000, "B": 1000, "C": 1000}, 300, "proportional", maximum=150) == {
        "A": 150,
        "B": 75,
        "C": 75,
    }


def test_bounds_crossed_on_both_sides_clamp_the_larger_side_first():
    # Quotas 270, 15, 15 in [100, 150]. A overshoots by 120, B and C fall short by 85 + 85 = 170 > 120, so only
    # B and C are clamped, at 100; the 100 left go to A, now inside its bounds → 100, 100, 100. Clamping both
    # sides at once would give 150 + 100 + 100 = 350, not the total.
    assert allocate({"A": 9000, "B": 500, "C": 500}, 300, "proportional", minimum=100, maximum=150) == {
        "A": 100,
        "B": 100,
        "C": 100,
    }


def test_neyman():
    # w = N·√(p(1−p)): A 2000 × √(0.2 × 0.8) = 2000 × 0.4 = 800; B 1000 × 0.5 = 500. 130 × 800/1300 = 80, 50.
    assert allocate({"A": 2000, "B": 1000}, 130, "neyman", expected={"A": 0.2}) == {"A": 80, "B": 50}
    # A 1000 × 0.5 = 500, B 1000 × √0.09 = 300; 80 × 500/800 = 50, 80 × 300/800 = 30 (29.999… in floating point:
    # the whole part 29 and a fractional part of 1.0 to nine places, which takes the unit left).
    assert allocate({"A": 1000, "B": 1000}, 80, "neyman", expected={"B": 0.9}) == {"A": 50, "B": 30}


def test_neyman_with_every_rate_certain_falls_back_to_proportional():
    # p = 0 everywhere: every weight is 0, so the interviews are shared in proportion to N_h.
    populations = {"A": 1000, "B": 3000, "C": 6000}
    assert allocate(populations, 100, "neyman", expected=0.0) == {"A": 10, "B": 30, "C": 60}
    # p_A = 1: A weighs 0 and gets its minimum (0); B and C share in proportion to N_h·0.5.
    assert allocate(populations, 90, "neyman", expected={"A": 1.0}) == {"A": 0, "B": 30, "C": 60}
    # Only C varies (p = 0.5) and it can take 5 at most: C 5; the 5 left go to A and B, of weight 0, ∝ N_h:
    # 5 × 10/40 = 1.25 and 5 × 30/40 = 3.75 → 1 + 3 = 4, the unit left to B's .75 → A 1, B 4.
    assert allocate({"A": 10, "B": 30, "C": 5}, 10, "neyman", expected={"A": 0.0, "B": 1.0}) == {
        "A": 1,
        "B": 4,
        "C": 5,
    }


def test_zero_total_and_full_census():
    assert allocate({"A": 10, "B": 20}, 0, "equal") == {"A": 0, "B": 0}
    assert allocate({"A": 10, "B": 20}, 30, "neyman") == {"A": 10, "B": 20}


# ---------------------------------------------------------------------------------------------------------------
# Allocation by property, against an exact reference


def bounds(sizes, minimum, maximum):
    return [min(minimum, n) for n in sizes], [n if maximum is None else min(maximum, n) for n in sizes]


def reference_quotas(weights, low, high, total):
    """q_h = clip(λ·w_h, lo_h, hi_h) with Σ q_h = total, exactly: S(λ) is linear between its breakpoints."""
    weights = [Fraction(w) for w in weights]

    def clipped(scale):
        return [min(max(scale * w, lo), hi) for w, lo, hi in zip(weights, low, high, strict=True)]

    breaks = {Fraction(b) / w for w, lo, hi in zip(weights, low, high, strict=True) for b in (lo, hi) if w}
    points = sorted({Fraction(0)} | breaks)
    for start, end in zip(points, points[1:] + [points[-1]], strict=True):
        below, above = sum(clipped(start)), sum(clipped(end))
        if below <= total <= above:
            scale = start if above == below else start + (total - below) * (end - start) / (above - below)
            return clipped(scale)
    return clipped(points[-1])


def reference_allocation(weights, sizes, low, high, total):
    """The reference quotas, with the zero-weight rule: strata of weight 0 (Neyman at p = 0 or 1) get more than
    their minimum only when the others are all at their upper bounds, and then in proportion to N_h."""
    if not any(weights):
        return reference_quotas(sizes, low, high, total)
    zero = [i for i, w in enumerate(weights) if not w]
    if sum(hi for w, hi in zip(weights, high, strict=True) if w) + sum(low[i] for i in zero) >= total:
        return reference_quotas(weights, low, high, total)
    quotas = [Fraction(hi) for hi in high]
    rest = total - sum(hi for w, hi in zip(weights, high, strict=True) if w)
    shared = reference_quotas([sizes[i] for i in zero], [low[i] for i in zero], [high[i] for i in zero], rest)
    for i, quota in zip(zero, shared, strict=True):
        quotas[i] = quota
    return quotas


designs = st.fixed_dictionaries(
    {
        "sizes": st.lists(st.integers(1, 400), min_size=1, max_size=8),
        "minimum": st.integers(0, 40),
        "extra": st.one_of(st.none(), st.integers(0, 120)),
        "method": st.sampled_from(["proportional", "equal", "neyman"]),
        "rates": st.lists(st.floats(0, 1), min_size=8, max_size=8),
    }
)


@settings(max_examples=200, deadline=None)
@given(design=designs, data=st.data())
def test_allocation_sums_respects_bounds_and_follows_its_quota(design, data):
    sizes, minimum = design["sizes"], design["minimum"]
    maximum = None if design["extra"] is None else minimum + design["extra"]
    low, high = bounds(sizes, minimum, maximum)
    total = data.draw(st.integers(sum(low), sum(high)), label="total")
    populations = {f"s{i}": n for i, n in enumerate(sizes)}
    expected = {f"s{i}": design["rates"][i] for i in range(len(sizes))}
    result = allocate(populations, total, design["method"], expected=expected, minimum=minimum, maximum=maximum)

    counts = list(result.values())
    assert sum(counts) == total
    assert all(lo <= n <= hi for n, lo, hi in zip(counts, low, high, strict=True))
    weights = {
        "proportional": sizes,
        "equal": [1] * len(sizes),
        "neyman": [n * math.sqrt(p * (1 - p)) for n, p in zip(sizes, design["rates"], strict=False)],
    }[design["method"]]
    for n, quota in zip(counts, reference_allocation(weights, sizes, low, high, total), strict=True):
        assert math.floor(quota - Fraction(1, 10**9)) <= n <= math.ceil(quota + Fraction(1, 10**9))


@settings(max_examples=200, deadline=None)
@given(sizes=st.lists(st.integers(1, 5000), min_size=1, max_size=10), data=st.data())
def test_unbounded_proportional_is_within_one_of_the_exact_quota(sizes, data):
    total = data.draw(st.integers(0, sum(sizes)), label="total")
    result = allocate({f"s{i}": n for i, n in enumerate(sizes)}, total, "proportional")
    for n, size in zip(result.values(), sizes, strict=True):
        assert abs(n - Fraction(total * size, sum(sizes))) < 1


@settings(max_examples=200, deadline=None)
@given(design=designs, data=st.data())
def test_equal_allocation_differs_by_at_most_one_across_unbound_strata(design, data):
    sizes, minimum = design["sizes"], design["minimum"]
    maximum = None if design["extra"] is None else minimum + design["extra"]
    low, high = bounds(sizes, minimum, maximum)
    total = data.draw(st.integers(sum(low), sum(high)), label="total")
    result = allocate({f"s{i}": n for i, n in enumerate(sizes)}, total, "equal", minimum=minimum, maximum=maximum)
    unbound = [n for n, lo, hi in zip(result.values(), low, high, strict=True) if lo < n < hi]
    if unbound:
        assert max(unbound) - min(unbound) <= 1
    if minimum == 0 and maximum is None and total <= len(sizes) * min(sizes):
        assert max(result.values()) - min(result.values()) <= 1  # nothing binds: all within 1


@settings(max_examples=200, deadline=None)
@given(design=designs, rate=st.floats(0, 1), data=st.data())
def test_neyman_with_one_rate_everywhere_is_proportional(design, rate, data):
    sizes, minimum = design["sizes"], design["minimum"]
    maximum = None if design["extra"] is None else minimum + design["extra"]
    low, high = bounds(sizes, minimum, maximum)
    total = data.draw(st.integers(sum(low), sum(high)), label="total")
    populations = {f"s{i}": n for i, n in enumerate(sizes)}
    bounds_given = {"minimum": minimum, "maximum": maximum}
    assert allocate(populations, total, "neyman", expected=rate, **bounds_given) == allocate(
        populations, total, "proportional", **bounds_given
    )


# ---------------------------------------------------------------------------------------------------------------
# Margins


def test_stratum_margin_by_hand_and_by_uncertainty():
    # n = 100 of N = 1000 at p = 0.5: 1.96 × √(0.25/100) × √(900/999) = 1.96 × 0.05 × 0.94916 ≈ 0.09302.
    margins = stratum_margins({"A": 1000}, {"A": 100})
    assert margins["A"] == pytest.approx(Z95 * 0.05 * math.sqrt(900 / 999), rel=1e-12)
    assert margins["A"] == pytest.approx(max_margin_of_error(100, 1000), rel=1e-12)
    assert margins["A"] == pytest.approx(0.09302, abs=1e-5)
    # p = 0.2: 1.96 × √(0.16/100) × √(900/999) = 1.96 × 0.04 × 0.94916, margin_of_error's at 20 of 100.
    low_rate = stratum_margins({"A": 1000}, {"A": 100}, expected=0.2)
    assert low_rate["A"] == pytest.approx(Z95 * 0.04 * math.sqrt(900 / 999), rel=1e-12)
    assert low_rate["A"] == pytest.approx(margin_of_error(20, 100, 1000), rel=1e-12)


def test_stratum_margins_per_stratum_census_and_empty():
    margins = stratum_margins({"A": 500, "B": 40, "C": 300}, {"A": 50, "B": 40}, expected={"A": 0.9})
    # A: 1.96 × √(0.9 × 0.1/50) × √(450/499); B is a census (±0); C has no interviews (no margin).
    assert margins["A"] == pytest.approx(Z95 * math.sqrt(0.09 / 50) * math.sqrt(450 / 499), rel=1e-12)
    assert margins["B"] == 0.0
    assert margins["C"] is None


def test_other_confidence_level():
    # z at 90% is 1.6449: 1.6449 × 0.05 × √(900/999).
    margins = stratum_margins({"A": 1000}, {"A": 100}, level=0.90)
    assert margins["A"] == pytest.approx(stats.norm.ppf(0.95) * 0.05 * math.sqrt(900 / 999), rel=1e-12)


def test_stratified_margin_by_hand():
    # W = 0.6, 0.4; variance = 0.36 × 0.25/60 × 540/599 + 0.16 × 0.21/40 × 360/399 (p_B = 0.3 → 0.21).
    variance = 0.36 * 0.25 / 60 * 540 / 599 + 0.16 * 0.21 / 40 * 360 / 399
    result = stratified_margin({"A": 600, "B": 400}, {"A": 60, "B": 40}, expected={"B": 0.3})
    assert result == pytest.approx(Z95 * math.sqrt(variance), rel=1e-12)


@pytest.mark.parametrize(("n", "population", "rate"), [(100, 1000, 0.5), (385, 10**6, 0.5), (30, 31, 0.2), (5, 5, 0.5)])
def test_one_stratum_is_the_simple_margin_with_fpc(n, population, rate):
    result = stratified_margin({"A": population}, {"A": n}, expected=rate)
    assert result == pytest.approx(Z95 * math.sqrt(rate * (1 - rate) / n) * fpc(n, population), rel=1e-12, abs=1e-15)
    if rate == 0.5:
        assert result == pytest.approx(max_margin_of_error(n, population), rel=1e-12, abs=1e-15)


def test_stratified_margin_with_proportional_allocation_is_close_to_the_simple_one():
    # Proportional allocation: Σ W_h² · 0.25/n_h = 0.25/n; only the per-stratum FPCs differ slightly.
    populations = {"A": 20000, "B": 30000, "C": 50000}
    allocation = allocate(populations, 1000, "proportional")
    assert stratified_margin(populations, allocation) == pytest.approx(max_margin_of_error(1000, 100000), rel=1e-3)


def test_stratified_margin_is_none_when_a_stratum_has_no_interviews():
    assert stratified_margin({"A": 100, "B": 100}, {"A": 10}) is None


def test_plan_sample():
    # Equal: 300/3 = 100 each; margins at p = 0.5 with each stratum's FPC; overall by the stratified formula.
    populations = {"A": 1000, "B": 3000, "C": 6000}
    plan = plan_sample(populations, 300, "equal", minimum=50)
    assert plan.strata == ("A", "B", "C")
    assert plan.allocation == {"A": 100, "B": 100, "C": 100}
    assert plan.expected == {"A": 0.5, "B": 0.5, "C": 0.5}
    assert (plan.method, plan.total, plan.minimum, plan.maximum, plan.level) == ("equal", 300, 50, None, 0.95)
    assert plan.margins == {s: pytest.approx(max_margin_of_error(100, n), rel=1e-12) for s, n in populations.items()}
    variance = sum((n / 10000) ** 2 * 0.25 / 100 * (n - 100) / (n - 1) for n in populations.values())
    assert plan.overall_margin == pytest.approx(Z95 * math.sqrt(variance), rel=1e-12)


# ---------------------------------------------------------------------------------------------------------------
# Achieved against planned


@pytest.mark.parametrize(
    ("achieved", "sizes"),
    [
        ([10, 30, 0], [1000, 3000, 6000]),
        ([120, 95, 143, 88], [15000, 8000, 22000, 5000]),
        ([3, 2], [10, 90]),
        ([50, 50, 50, 50, 50], [100, 200, 300, 400, 500]),
        ([7, 0, 1], [1, 1, 1]),
    ],
)
def test_chi_square_matches_scipy(achieved, sizes):
    strata = [f"s{i}" for i in range(len(sizes))]
    coverage = achieved_vs_plan(dict(zip(strata, achieved, strict=True)), {}, dict(zip(strata, sizes, strict=True)))
    expected = [sum(achieved) * n / sum(sizes) for n in sizes]
    reference = stats.chisquare(achieved, expected)
    assert coverage.test.method == "chi2"
    assert coverage.test.df == len(sizes) - 1
    assert coverage.test.statistic == pytest.approx(reference.statistic, rel=1e-12)
    assert coverage.test.p_value == pytest.approx(reference.pvalue, rel=1e-9, abs=1e-300)
    assert coverage.test.low_expected_share == sum(e < 5 for e in expected) / len(expected)
    assert coverage.test_note is None


def test_coverage_rows_and_under_coverage():
    populations = {"A": 1000, "B": 3000, "C": 5000, "D": 500, "E": 500}
    planned = {"A": 100, "B": 100, "C": 100, "D": 5}
    achieved = {"A": 79, "B": 80, "C": 150, "D": 0, "E": 2, "新区": 4}
    coverage = achieved_vs_plan(achieved, planned, populations)
    rows = {row.stratum: row for row in coverage.rows}
    assert list(rows) == ["A", "B", "C", "D", "E"]
    assert rows["A"].under_covered  # 79 < 0.8 × 100
    assert not rows["B"].under_covered  # 80 is exactly 0.8 × 100
    assert not rows["C"].under_covered
    assert rows["D"].under_covered  # planned 5, none achieved
    assert not rows["E"].under_covered and rows["E"].planned == 0 and rows["E"].completion is None
    assert coverage.under_covered == ("A", "D")
    assert rows["A"].completion == 0.79
    assert rows["A"].population_share == 0.1
    assert rows["A"].achieved_share == 79 / 311  # 79 + 80 + 150 + 0 + 2: the unknown stratum is not counted
    assert coverage.achieved_total == 311 and coverage.planned_total == 305
    assert coverage.unknown_strata == {"新区": 4}
    assert achieved_vs_plan(achieved, planned, populations, shortfall=0.5).under_covered == ("D",)


def test_shortfall_is_compared_as_written():
    # 0.7 × 10 is 7.000000000000001 in floating point; 7 of 10 planned meets a 70% threshold all the same.
    assert not achieved_vs_plan({"A": 7}, {"A": 10}, {"A": 100}, shortfall=0.7).rows[0].under_covered
    assert achieved_vs_plan({"A": 6}, {"A": 10}, {"A": 100}, shortfall=0.7).rows[0].under_covered


def test_no_test_without_two_strata_or_any_interview():
    one = achieved_vs_plan({"A": 10}, {"A": 10}, {"A": 100})
    assert one.test is None and one.test_note == "fewer_than_two_strata"
    none = achieved_vs_plan({"新区": 3}, {"A": 10}, {"A": 100, "B": 100})
    assert none.test is None and none.test_note == "no_achieved"
    assert none.rows[0].achieved_share is None and none.rows[0].under_covered


# ---------------------------------------------------------------------------------------------------------------
# Every error code


ERROR_CASES = {
    "empty_strata": lambda: allocate({}, 10, "equal"),
    "population_not_positive": lambda: allocate({"A": 10, "B": 0}, 5, "equal"),
    "unknown_method": lambda: allocate({"A": 10}, 5, "random"),
    "expected_out_of_range": lambda: allocate({"A": 10, "B": 10}, 5, "neyman", expected={"B": 1.2}),
    "expected_unknown_stratum": lambda: allocate({"A": 10}, 5, "neyman", expected={"Ａ": 0.5}),
    "total_invalid": lambda: allocate({"A": 10}, -1, "equal"),
    "minimum_invalid": lambda: allocate({"A": 10}, 5, "equal", minimum=-1),
    "maximum_below_minimum": lambda: allocate({"A": 10}, 5, "equal", minimum=5, maximum=4),
    "total_below_minimums": lambda: allocate({"A": 100, "B": 5}, 20, "equal", minimum=16),
    "total_above_capacity": lambda: allocate({"A": 100, "B": 5}, 56, "equal", maximum=50),
    "allocation_unknown_stratum": lambda: stratum_margins({"A": 10}, {"B": 5}),
    "allocation_invalid": lambda: stratified_margin({"A": 10}, {"A": 11}),
    "level_out_of_range": lambda: plan_sample({"A": 10}, 5, "equal", level=95),
    "count_invalid": lambda: achieved_vs_plan({"A": -1}, {}, {"A": 10}),
    "plan_unknown_stratum": lambda: achieved_vs_plan({}, {"B": 1}, {"A": 10}),
    "shortfall_out_of_range": lambda: achieved_vs_plan({}, {}, {"A": 10}, shortfall=80),
}


@pytest.mark.parametrize("code", sorted(ERROR_CASES))
def test_each_error_code(code):
    with pytest.raises(DesignError) as raised:
        ERROR_CASES[code]()
    assert raised.value.code == code
    assert isinstance(raised.value, ValueError)
    assert "%(" not in str(raised.value) and str(raised.value) == MESSAGES[code] % raised.value.params


def test_every_code_has_a_case():
    assert set(ERROR_CASES) == set(MESSAGES)


def test_error_figures():
    # Σ min(16, N_h) = 16 + 5 = 21 > 20: B is smaller than the minimum and counts with its 5 people.
    with pytest.raises(DesignError) as raised:
        allocate({"A": 100, "B": 5}, 20, "equal", minimum=16)
    assert raised.value.params == {"total": 20, "required": 21}
    # Σ min(50, N_h) = 50 + 5 = 55 < 56.
    with pytest.raises(DesignError) as raised:
        allocate({"A": 100, "B": 5}, 56, "equal", maximum=50)
    assert raised.value.params == {"total": 56, "capacity": 55}
    assert str(raised.value) == "样本总量 56 超过各分层最多能分配的 55（每层不超过上限和人口数）。"


@pytest.mark.parametrize("population", [-3, 2.5, True, "10"])
def test_populations_must_be_positive_whole_numbers(population):
    with pytest.raises(DesignError) as raised:
        allocate({"A": 10, "B": population}, 5, "equal")
    assert raised.value.code == "population_not_positive" and raised.value.params["stratum"] == "B"


@pytest.mark.parametrize("rate", [-0.1, float("nan"), "0.5"])
def test_expected_rates_must_be_shares(rate):
    with pytest.raises(DesignError) as raised:
        stratified_margin({"A": 10}, {"A": 5}, expected=rate)
    assert raised.value.code == "expected_out_of_range"
