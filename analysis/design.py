"""Sample design for stratified surveys: how many interviews per 乡镇/街道, and what precision that buys.

Official 群众安全感 figures come from designed samples stratified by township, often with an equal or a minimum
number of interviews per stratum (e.g. 100–150 per 街乡镇). These pure functions plan such a sample before
fieldwork (``allocate``, ``plan_sample``), state its precision (``stratum_margins``, ``stratified_margin``) and
compare the interviews achieved with the plan afterwards (``achieved_vs_plan``).

Allocation rule (``allocate``). Each stratum h has a weight w_h: N_h (proportional), 1 (equal) or
N_h·√(p_h(1−p_h)) (Neyman, p_h the expected rate, 0.5 unless given), and bounds lo_h = min(minimum, N_h) and
hi_h = min(maximum, N_h): a stratum smaller than the minimum takes all of its N_h, and none takes more than N_h.
The quotas are q_h = λ·w_h clipped to [lo_h, hi_h] with one λ making them sum to the total. They are found by
clamping and redistributing: share what is left among the unclamped strata in proportion to w_h; clamp the
strata that cross a bound, those above their upper bound first when they overshoot by more than the others
fall short (else those below their lower bound); repeat until none crosses. Clamping only the side that
dominates keeps every clamp final, so the loop ends within H rounds at the one solution. Strata of weight 0
(Neyman at an expected rate of 0 or 1: no variance to reduce) stay at their lower bound unless the others, all
at their upper bounds, cannot take the total; what is left then goes to them in proportion to N_h (and if every
weight is 0, the whole allocation is proportional).
The quotas become whole numbers by largest remainder: each takes its whole part, and the units still missing
go one each to the largest fractional parts (ties to the stratum listed first), never past a bound.

Errors are ``DesignError`` with a ``code`` the web layer translates, ``params`` for the message, and a plain
Chinese default message (``MESSAGES``, gettext-style ``%(name)s`` placeholders):

- ``empty_strata``: no stratum given.
- ``population_not_positive``: a stratum's population is 0, negative or not a whole number.
- ``unknown_method``: the method is not proportional, equal or neyman.
- ``expected_out_of_range``: an expected rate outside [0, 1] (or not a number).
- ``expected_unknown_stratum``: an expected rate for a stratum that is not in the population table.
- ``total_invalid``: the total is negative or not a whole number.
- ``minimum_invalid``: the per-stratum minimum is negative or not a whole number.
- ``maximum_below_minimum``: the per-stratum maximum is below the minimum (or not a whole number).
- ``total_below_minimums``: the total is less than Σ min(minimum, N_h).
- ``total_above_capacity``: the total is more than Σ min(maximum, N_h).
- ``allocation_unknown_stratum``: an allocation names a stratum that is not in the population table.
- ``allocation_invalid``: an allocated n_h is negative, not whole, or larger than N_h.
- ``level_out_of_range``: a confidence level not strictly between 0 and 1.
- ``count_invalid``: an achieved or planned count is negative or not a whole number.
- ``plan_unknown_stratum``: the plan names a stratum that is not in the population table.
- ``shortfall_out_of_range``: the under-coverage threshold is outside [0, 1].

``achieved_vs_plan`` gives no χ² test, with ``test_note``, when it cannot: ``fewer_than_two_strata`` or
``no_achieved`` (no interview in a known stratum).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from analysis.association import TestResult
from analysis.lazy import lazy_module
from analysis.numbers import Z95
from analysis.uncertainty import fpc

stats = lazy_module("scipy.stats")

METHODS = ("proportional", "equal", "neyman")
DEFAULT_EXPECTED = 0.5  # p(1−p) is largest at 0.5: the safe guess when nothing is known
LOW_EXPECTED = 5  # expected counts below this make the χ² approximation doubtful (as association.py reports)


def N_(message: str) -> str:
    """Marks a message for scripts/i18n.sh to extract (keyword ``N_``); ``analysis`` itself stays free of Babel."""
    return message


MESSAGES: dict[str, str] = {
    "empty_strata": N_("没有给出任何分层（乡镇/街道）。"),
    "population_not_positive": N_("分层“%(stratum)s”的人口数必须是正整数，而不是 %(population)s。"),
    "unknown_method": N_("未知的样本分配方法“%(method)s”，可选：按人口比例、各层等量、奈曼（Neyman）分配。"),
    "expected_out_of_range": N_("分层“%(stratum)s”的预期比率 %(value)s 不在 0 到 1 之间。"),
    "expected_unknown_stratum": N_("给出了“%(stratum)s”的预期比率，但人口表中没有这个分层。"),
    "total_invalid": N_("样本总量必须是非负整数，而不是 %(total)s。"),
    "minimum_invalid": N_("每层最少样本量必须是非负整数，而不是 %(minimum)s。"),
    "maximum_below_minimum": N_("每层最多样本量 %(maximum)s 必须是不小于每层最少样本量 %(minimum)s 的整数。"),
    "total_below_minimums": N_("样本总量 %(total)s 少于各分层最低样本量之和 %(required)s。"),
    "total_above_capacity": N_("样本总量 %(total)s 超过各分层最多能分配的 %(capacity)s（每层不超过上限和人口数）。"),
    "allocation_unknown_stratum": N_("样本分配中的“%(stratum)s”不在人口表中。"),
    "allocation_invalid": N_("分层“%(stratum)s”的样本量 %(n)s 无效：必须是 0 到人口数 %(population)s 之间的整数。"),
    "level_out_of_range": N_("置信水平 %(level)s 必须在 0 和 1 之间。"),
    "count_invalid": N_("分层“%(stratum)s”的份数必须是非负整数，而不是 %(count)s。"),
    "plan_unknown_stratum": N_("计划样本中的“%(stratum)s”不在人口表中。"),
    "shortfall_out_of_range": N_("判定样本不足的比例 %(shortfall)s 必须在 0 到 1 之间。"),
}


class DesignError(ValueError):
    """A sample design that cannot be made; ``code`` says which problem, ``params`` its figures.

    The message is the plain Chinese default (``MESSAGES``); the web layer translates by code instead.
    """

    def __init__(self, code: str, **params: Any):
        self.code, self.params = code, params
        super().__init__(MESSAGES[code] % params)


# ---------------------------------------------------------------------------------------------------------------
# Checking the inputs


def _whole(value: Any) -> int | None:
    """``value`` as an int when it is a whole number type (numpy's too), else None; bools are not counts."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def _populations(populations: Mapping[str, int]) -> dict[str, int]:
    """The population table as a plain dict in its own order, every N_h a positive whole number."""
    if not populations:
        raise DesignError("empty_strata")
    checked = {}
    for stratum, population in populations.items():
        number = _whole(population)
        if number is None or number <= 0:
            raise DesignError("population_not_positive", stratum=stratum, population=population)
        checked[stratum] = number
    return checked


def _expected(strata: Mapping[str, int], expected: Mapping[str, float] | float | None) -> dict[str, float]:
    """p_h per stratum: one rate for all, a rate per stratum (0.5 where not given), or 0.5 throughout.

    A rate for a stratum not in the table is refused rather than ignored: it is most likely a misspelt name,
    and ignoring it would plan that stratum at 0.5 without a word.
    """
    if expected is None or not isinstance(expected, Mapping):
        rates = dict.fromkeys(strata, DEFAULT_EXPECTED if expected is None else expected)
    else:
        for stratum in expected:
            if stratum not in strata:
                raise DesignError("expected_unknown_stratum", stratum=stratum)
        rates = {stratum: expected.get(stratum, DEFAULT_EXPECTED) for stratum in strata}
    for stratum, rate in rates.items():
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise DesignError("expected_out_of_range", stratum=stratum, value=rate)
    return {stratum: float(rate) for stratum, rate in rates.items()}


def _z(level: float) -> float:
    """The two-sided normal quantile for a confidence level (exactly ``Z95`` at 0.95)."""
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise DesignError("level_out_of_range", level=level)
    return Z95 if level == 0.95 else float(stats.norm.ppf(0.5 + level / 2))


def _bounds(populations: dict[str, int], minimum: int, maximum: int | None) -> tuple[list[int], list[int]]:
    """lo_h = min(minimum, N_h) and hi_h = min(maximum, N_h): no stratum can give more than its people."""
    low, high = _whole(minimum), None if maximum is None else _whole(maximum)
    if low is None or low < 0:
        raise DesignError("minimum_invalid", minimum=minimum)
    if maximum is not None and (high is None or high < low):
        raise DesignError("maximum_below_minimum", minimum=minimum, maximum=maximum)
    sizes = list(populations.values())
    return [min(low, size) for size in sizes], [size if high is None else min(high, size) for size in sizes]


def _allocation(populations: dict[str, int], allocation: Mapping[str, int]) -> dict[str, int]:
    """n_h per stratum of the table (0 where the allocation is silent), each a whole number within [0, N_h]."""
    for stratum in allocation:
        if stratum not in populations:
            raise DesignError("allocation_unknown_stratum", stratum=stratum)
    checked = {}
    for stratum, population in populations.items():
        n = allocation.get(stratum, 0)
        whole = _whole(n)
        if whole is None or not 0 <= whole <= population:
            raise DesignError("allocation_invalid", stratum=stratum, n=n, population=population)
        checked[stratum] = whole
    return checked


def _counts(counts: Mapping[str, int]) -> dict[str, int]:
    """Achieved or planned interviews: whole numbers, none negative."""
    checked = {}
    for stratum, count in counts.items():
        whole = _whole(count)
        if whole is None or whole < 0:
            raise DesignError("count_invalid", stratum=stratum, count=count)
        checked[stratum] = whole
    return checked


# ---------------------------------------------------------------------------------------------------------------
# Allocation


def _weights(method: str, populations: dict[str, int], rates: dict[str, float]) -> list[float]:
    """w_h of the method: N_h, 1, or N_h·√(p_h(1−p_h)) (Neyman: more interviews where answers vary more)."""
    if method == "proportional":
        return [float(size) for size in populations.values()]
    if method == "equal":
        return [1.0] * len(populations)
    if method == "neyman":
        return [size * math.sqrt(rates[s] * (1 - rates[s])) for s, size in populations.items()]
    raise DesignError("unknown_method", method=method)


def _quotas(weights: list[float], sizes: list[int], low: list[int], high: list[int], total: int) -> list[float]:
    """Real quotas λ·w_h clipped to [lo_h, hi_h] summing to ``total``, by clamping and redistributing.

    Each round shares what the clamped strata leave among the others in proportion to w_h. Of the strata that
    then cross a bound, only the side with the larger crossing is clamped (both when they balance): clamping
    the upper side raises λ for the rest and clamping the lower side lowers it, so a clamp never needs undoing.
    """
    quotas: list[float] = [0.0] * len(weights)
    free = list(range(len(weights)))
    while free:
        rest = total - sum(quotas)  # the free strata's quotas are still 0
        scale = sum(weights[i] for i in free)
        share = weights if scale > 0 else [float(size) for size in sizes]  # all left weigh 0: by N_h
        ratio = rest / sum(share[i] for i in free)
        above = [i for i in free if ratio * share[i] > high[i]]
        below = [i for i in free if ratio * share[i] < low[i]]
        if not above and not below:
            for i in free:
                quotas[i] = ratio * share[i]
            break
        excess = sum(ratio * share[i] - high[i] for i in above) - sum(low[i] - ratio * share[i] for i in below)
        clamped = (above if excess >= 0 else []) + (below if excess <= 0 else [])
        for i in clamped:
            quotas[i] = high[i] if i in above else low[i]
        free = [i for i in free if i not in clamped]
    return quotas


def _largest_remainder(quotas: list[float], low: list[int], high: list[int], total: int) -> list[int]:
    """Whole numbers from the quotas: whole parts, then the missing units to the largest fractional parts.

    Fractional parts are compared to 9 decimals so that quotas equal on paper but not in floating point tie,
    and ties go to the stratum listed first. Bounds are kept; the loops also absorb any rounding drift.
    """
    counts = [min(max(math.floor(q), lo), hi) for q, lo, hi in zip(quotas, low, high, strict=True)]
    ranked = sorted(range(len(quotas)), key=lambda i: (-round(quotas[i] - math.floor(quotas[i]), 9), i))
    left = total - sum(counts)
    while left > 0:
        for i in ranked:
            if left > 0 and counts[i] < high[i]:
                counts[i], left = counts[i] + 1, left - 1
    while left < 0:
        for i in reversed(ranked):
            if left < 0 and counts[i] > low[i]:
                counts[i], left = counts[i] - 1, left + 1
    return counts


def allocate(
    populations: Mapping[str, int],
    total: int,
    method: str,
    *,
    expected: Mapping[str, float] | float | None = None,
    minimum: int = 0,
    maximum: int | None = None,
) -> dict[str, int]:
    """Interviews per stratum summing exactly to ``total`` (the rule is in the module docstring).

    ``method`` is "proportional" (n_h ∝ N_h: every person equally likely to be asked), "equal" (n_h = total/H:
    every township reported with the same precision) or "neyman" (n_h ∝ N_h·√(p_h(1−p_h)): the smallest
    variance of the pooled rate for the total). ``expected`` gives p_h, checked whatever the method.
    """
    sizes = _populations(populations)
    rates = _expected(sizes, expected)
    weights = _weights(method, sizes, rates)
    whole = _whole(total)
    if whole is None or whole < 0:
        raise DesignError("total_invalid", total=total)
    low, high = _bounds(sizes, minimum, maximum)
    if whole < sum(low):
        raise DesignError("total_below_minimums", total=whole, required=sum(low))
    if whole > sum(high):
        raise DesignError("total_above_capacity", total=whole, capacity=sum(high))
    quotas = _quotas(weights, list(sizes.values()), low, high, whole)
    return dict(zip(sizes, _largest_remainder(quotas, low, high, whole), strict=True))


# ---------------------------------------------------------------------------------------------------------------
# Precision


def _margin(z: float, rate: float, n: int, population: int) -> float | None:
    """z·√(p(1−p)/n)·√((N−n)/(N−1)); None without interviews. At p = 0.5 this is ``max_margin_of_error``."""
    if n <= 0:
        return None
    return z * math.sqrt(rate * (1 - rate) / n) * fpc(n, population)


def stratum_margins(
    populations: Mapping[str, int],
    allocation: Mapping[str, int],
    *,
    expected: Mapping[str, float] | float | None = None,
    level: float = 0.95,
) -> dict[str, float | None]:
    """Each stratum's margin of error (half-width, a fraction) at p_h, with the finite-population correction.

    The figure a township's own rate will carry: z·√(p_h(1−p_h)/n_h)·√((N_h−n_h)/(N_h−1)), p_h = 0.5 unless
    ``expected`` says otherwise. ``None`` for a stratum allocated no interviews (a stratum the allocation does
    not name has none); 0 for a census of the stratum.
    """
    sizes = _populations(populations)
    counts = _allocation(sizes, allocation)
    rates, z = _expected(sizes, expected), _z(level)
    return {stratum: _margin(z, rates[stratum], counts[stratum], size) for stratum, size in sizes.items()}


def stratified_margin(
    populations: Mapping[str, int],
    allocation: Mapping[str, int],
    *,
    expected: Mapping[str, float] | float | None = None,
    level: float = 0.95,
) -> float | None:
    """The margin of the population-weighted (stratified) rate over all strata.

    z·√(Σ_h W_h² · p_h(1−p_h)/n_h · (N_h−n_h)/(N_h−1)), W_h = N_h/N: the variance of Σ W_h·p̂_h, each stratum
    sampled without replacement. ``None`` when a stratum has no interviews: its rate, and so the pooled rate,
    cannot be estimated from the sample.
    """
    sizes = _populations(populations)
    counts = _allocation(sizes, allocation)
    rates, z = _expected(sizes, expected), _z(level)
    if any(n == 0 for n in counts.values()):
        return None
    people = sum(sizes.values())
    variance = sum(
        (size / people) ** 2 * rates[s] * (1 - rates[s]) / counts[s] * fpc(counts[s], size) ** 2
        for s, size in sizes.items()
    )
    return z * math.sqrt(variance)


# ---------------------------------------------------------------------------------------------------------------
# The plan


@dataclass(frozen=True)
class Plan:
    """A sample design with the precision it promises: what the method paragraph of a report states."""

    strata: tuple[str, ...]
    populations: dict[str, int]
    method: str
    total: int
    minimum: int
    maximum: int | None
    expected: dict[str, float]  # p_h used for Neyman and for the margins
    allocation: dict[str, int]
    margins: dict[str, float | None]  # per stratum, see ``stratum_margins``
    overall_margin: float | None  # of the population-weighted rate, see ``stratified_margin``
    level: float = 0.95


def plan_sample(
    populations: Mapping[str, int],
    total: int,
    method: str,
    *,
    expected: Mapping[str, float] | float | None = None,
    minimum: int = 0,
    maximum: int | None = None,
    level: float = 0.95,
) -> Plan:
    """Allocate ``total`` interviews and state the margins the allocation gives (arguments as ``allocate``)."""
    sizes = _populations(populations)
    _z(level)  # refuse a bad level before any work
    allocation = allocate(sizes, total, method, expected=expected, minimum=minimum, maximum=maximum)
    return Plan(
        strata=tuple(sizes),
        populations=sizes,
        method=method,
        total=int(total),
        minimum=int(minimum),
        maximum=None if maximum is None else int(maximum),
        expected=_expected(sizes, expected),
        allocation=allocation,
        margins=stratum_margins(sizes, allocation, expected=expected, level=level),
        overall_margin=stratified_margin(sizes, allocation, expected=expected, level=level),
        level=level,
    )


# ---------------------------------------------------------------------------------------------------------------
# Achieved against planned


@dataclass(frozen=True)
class CoverageRow:
    """One stratum's interviews against its plan and its share of the population."""

    stratum: str
    achieved: int
    planned: int
    completion: float | None  # achieved / planned; None when nothing was planned
    population_share: float  # N_h / N
    achieved_share: float | None  # achieved_h / Σ achieved (known strata); None before any interview
    under_covered: bool  # planned > 0 and (achieved == 0 or achieved < shortfall × planned)


@dataclass(frozen=True)
class Coverage:
    """How far fieldwork met the plan, stratum by stratum, and whether the sample's mix matches the population.

    ``test`` is Pearson's χ² goodness of fit of the achieved counts to the population shares (``method``
    "chi2"); ``None`` with ``test_note`` when there is no test. ``unknown_strata`` holds the interviews of
    strata missing from the population table: they are in neither the rows nor the test, and a report should
    say so rather than lose them.
    """

    rows: tuple[CoverageRow, ...]
    achieved_total: int  # over the known strata
    planned_total: int
    unknown_strata: dict[str, int] = field(default_factory=dict)
    test: TestResult | None = None
    test_note: str | None = None  # "fewer_than_two_strata" or "no_achieved"
    shortfall: float = 0.8

    @property
    def under_covered(self) -> tuple[str, ...]:
        return tuple(row.stratum for row in self.rows if row.under_covered)


def _goodness_of_fit(achieved: list[int], sizes: list[int]) -> tuple[TestResult | None, str | None]:
    """Pearson χ² = Σ (o_h − e_h)²/e_h with e_h = Σo · N_h/N, df = H − 1; p from the χ² upper tail."""
    if len(sizes) < 2:
        return None, "fewer_than_two_strata"
    observed, people = sum(achieved), sum(sizes)
    if observed == 0:
        return None, "no_achieved"
    expected = [observed * size / people for size in sizes]
    statistic = sum((o - e) ** 2 / e for o, e in zip(achieved, expected, strict=True))
    df = len(sizes) - 1
    low = sum(e < LOW_EXPECTED for e in expected) / len(expected)
    return TestResult("chi2", float(statistic), df, float(stats.chi2.sf(statistic, df)), low), None


def _row(
    stratum: str, achieved: int, planned: int, size: int, shares: tuple[int, int], shortfall: Fraction
) -> CoverageRow:
    """A stratum's coverage row; ``shares`` is (N, Σ achieved) over the known strata."""
    people, observed = shares
    return CoverageRow(
        stratum=stratum,
        achieved=achieved,
        planned=planned,
        completion=achieved / planned if planned else None,
        population_share=size / people,
        achieved_share=achieved / observed if observed else None,
        under_covered=planned > 0 and (achieved == 0 or achieved < shortfall * planned),
    )


def achieved_vs_plan(
    achieved: Mapping[str, int],
    planned: Mapping[str, int],
    populations: Mapping[str, int],
    *,
    shortfall: float = 0.8,
) -> Coverage:
    """Compare the interviews achieved with the plan and with the population, stratum by stratum.

    A stratum is under-covered when it has fewer than ``shortfall`` × its planned interviews, or none at all.
    Strata of the population table missing from ``achieved`` or ``planned`` count 0 there; strata of
    ``achieved`` missing from the table go to ``unknown_strata``; a plan naming an unknown stratum is refused.
    """
    sizes = _populations(populations)
    done, plan = _counts(achieved), _counts(planned)
    if isinstance(shortfall, bool) or not isinstance(shortfall, int | float) or not 0 <= shortfall <= 1:
        raise DesignError("shortfall_out_of_range", shortfall=shortfall)
    for stratum in plan:
        if stratum not in sizes:
            raise DesignError("plan_unknown_stratum", stratum=stratum)
    threshold = Fraction(repr(float(shortfall)))  # as written: 0.7 × 10 is 7, not 7.000000000000001
    known = [done.get(stratum, 0) for stratum in sizes]
    shares = (sum(sizes.values()), sum(known))
    rows = tuple(
        _row(stratum, count, plan.get(stratum, 0), size, shares, threshold)
        for (stratum, size), count in zip(sizes.items(), known, strict=True)
    )
    test, note = _goodness_of_fit(known, list(sizes.values()))
    return Coverage(
        rows=rows,
        achieved_total=sum(known),
        planned_total=sum(plan.values()),
        unknown_strata={stratum: count for stratum, count in done.items() if stratum not in sizes},
        test=test,
        test_note=note,
        shortfall=float(shortfall),
    )
