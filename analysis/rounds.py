"""Comparing survey rounds: is this year's 安全感率 different from last year's, and how does the report say it?

Public-safety surveys (群众安全感) run every half-year or year and their reports print "较上年提高 x 个百分点". A
change must not be called significant when it is not, so every change carries an interval and a test, and the
report's sentence says "（变化不显著）" when the interval covers 0.

Two rounds are independent samples (different respondents), so:

- from counts (unweighted rates), the change p2 − p1 gets Newcombe's hybrid score interval (Newcombe 1998, method
  10), built from the two rounds' Wilson intervals: unlike the Wald interval it stays inside [−1, 1], behaves at
  0% and 100% and at small n, and it is the interval the rates themselves are shown with (``wilson_interval``).
  Its companion test is the two-proportion score test (pooled variance; Pearson's χ² on the 2×2 without continuity
  correction). The two are not the same procedure and can disagree at the margin, so a change is called
  significant by its interval alone, and the test's p-value is given beside it;
- from weighted estimates, there are no counts to build score intervals from and the standard errors are
  design-based (calibration changes them), so the difference is normal: SE = √(se1² + se2²).

Percentage points are rounded half up (四舍五入) from the exact fraction when the counts are known, as
``analysis.numbers`` does for the rates themselves, so that the printed change is the exact change rounded and
not a float's accident. The report's words are msgid templates marked with ``N_`` for the web layer to translate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Protocol

from analysis.lazy import lazy_module
from analysis.numbers import Z95, wilson_interval
from analysis.weighting import Estimate

stats = lazy_module("scipy.stats")

SMALL_N = 30  # below this many respondents in a round, a change is flagged as resting on a small sample

NEWCOMBE = "newcombe_score"
WEIGHTED = "weighted_normal"

# Why a test statistic is None (``statistic_note``).
NO_VARIATION = "no_variation"  # both rounds 0% or both 100%: the pooled variance is 0, nothing can differ
ZERO_VARIANCE = "zero_variance"  # weighted: both standard errors are 0


def N_(message: str) -> str:
    """Marks a message for scripts/i18n.sh to extract (keyword ``N_``); ``analysis`` itself stays free of Babel."""
    return message


# The report's sentence for a change, by direction and by whether the interval covers 0 (``change_words``).
WORDS: dict[tuple[str, bool], str] = {
    ("up", True): N_("提高 %(points)s 个百分点"),
    ("down", True): N_("下降 %(points)s 个百分点"),
    ("flat", True): N_("持平"),
    ("up", False): N_("提高 %(points)s 个百分点（变化不显著）"),
    ("down", False): N_("下降 %(points)s 个百分点（变化不显著）"),
    ("flat", False): N_("持平（变化不显著）"),
}


class RateLike(Protocol):
    """What ``rate_change`` needs of a rate (``analysis.rates.Rate`` is one): its counts."""

    @property
    def numerator(self) -> int: ...

    @property
    def denominator(self) -> int: ...


# ---------------------------------------------------------------------------------------------------------------
# Intervals and tests


def z_for(level: float) -> float:
    """The two-sided normal quantile for a confidence level; exactly ``Z95`` at 0.95, as the rates use."""
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, not {level!r}")
    return Z95 if level == 0.95 else float(stats.norm.ppf(0.5 + level / 2))


def _check_counts(x: int, n: int) -> None:
    """Counts must be whole, non-negative, and no more successes than trials: anything else is a caller's bug."""
    if isinstance(x, bool) or isinstance(n, bool) or int(x) != x or int(n) != n or not 0 <= x <= n:
        raise ValueError(f"invalid counts: {x!r} of {n!r}")


def newcombe_interval(x1: int, n1: int, x2: int, n2: int, level: float = 0.95) -> tuple[float, float] | None:
    """Newcombe's hybrid score interval (1998, method 10) for p2 − p1, the change from round 1 to round 2.

    With (l1, u1) and (l2, u2) the Wilson intervals of the two rounds and d = p2 − p1:
    low = d − √((p2 − l2)² + (u1 − p1)²), high = d + √((u2 − p2)² + (p1 − l1)²). ``None`` when a round has no
    respondents. The bounds are within [−1, 1] mathematically; they are clamped so rounding cannot step past.
    """
    _check_counts(x1, n1)
    _check_counts(x2, n2)
    if n1 == 0 or n2 == 0:
        return None
    z = z_for(level)
    l1, u1 = wilson_interval(x1, n1, z)  # type: ignore[misc]
    l2, u2 = wilson_interval(x2, n2, z)  # type: ignore[misc]
    p1, p2 = x1 / n1, x2 / n2
    difference = p2 - p1
    low = difference - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = difference + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    return max(-1.0, low), min(1.0, high)


@dataclass(frozen=True)
class ScoreTest:
    """The two-proportion score test of p1 = p2, with what a report needs to state it.

    ``statistic`` is z, positive when round 2 is higher; z² is Pearson's χ² (1 df) on the 2×2 table without
    continuity correction, so ``chi2`` gives it for a page that prints χ². ``statistic`` is ``None`` when it is
    0/0 (``statistic_note`` says why); the p-value is then 1, since two rounds with no variation do not differ.
    """

    method: str  # "score"
    statistic: float | None  # z
    p_value: float
    statistic_note: str | None = None

    @property
    def chi2(self) -> float | None:
        return None if self.statistic is None else self.statistic**2


def score_test(x1: int, n1: int, x2: int, n2: int) -> ScoreTest | None:
    """Two-proportion score (pooled-variance z) test of round 1 against round 2; ``None`` when a round is empty.

    z = (p2 − p1) / √(p̄(1 − p̄)(1/n1 + 1/n2)) with p̄ the pooled share; two-sided p from the normal. Both rounds
    at 0% or both at 100% make p̄(1 − p̄) = 0: no test statistic, p = 1 with the note ``no_variation``.
    """
    _check_counts(x1, n1)
    _check_counts(x2, n2)
    if n1 == 0 or n2 == 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return ScoreTest("score", None, 1.0, NO_VARIATION)
    z = (x2 / n2 - x1 / n1) / math.sqrt(variance)
    return ScoreTest("score", z, float(2 * stats.norm.sf(abs(z))))


@dataclass(frozen=True)
class WeightedDifference:
    """The difference of two independent weighted estimates, e2 − e1, with its normal interval and z test."""

    difference: float
    standard_error: float
    low: float
    high: float
    statistic: float | None  # z
    p_value: float
    level: float
    statistic_note: str | None = None


def weighted_change(e1: Estimate, e2: Estimate, level: float = 0.95) -> WeightedDifference | None:
    """e2 − e1 for two weighted estimates from independent rounds; ``None`` when either lacks an estimate or SE.

    The rounds are independent samples, so the variance of the difference is the sum of the variances:
    SE = √(se1² + se2²); interval d ± z·SE, z = d/SE, two-sided normal p. Newcombe's interval is not used here:
    it needs counts (Wilson intervals of x/n), and a weighted share has no counts, only a design-based standard
    error that calibration shaped; the normal interval on the difference is what R's survey package gives
    (``svycontrast`` of independent estimates). The interval is not clamped to [−1, 1]; a report that shows it
    would clamp it itself. Both SEs 0 (e.g. 100% in both rounds) leave no statistic (``zero_variance``): p = 1
    when the estimates agree, 0 when they do not.
    """
    if None in (e1.estimate, e2.estimate, e1.standard_error, e2.standard_error):
        return None
    difference = float(e2.estimate) - float(e1.estimate)  # type: ignore[arg-type]
    standard_error = math.hypot(float(e1.standard_error), float(e2.standard_error))  # type: ignore[arg-type]
    if not (math.isfinite(difference) and math.isfinite(standard_error)):
        return None
    half = z_for(level) * standard_error
    if standard_error == 0:
        p_value = 1.0 if difference == 0 else 0.0
        return WeightedDifference(difference, 0.0, difference, difference, None, p_value, level, ZERO_VARIANCE)
    z = difference / standard_error
    return WeightedDifference(
        difference, standard_error, difference - half, difference + half, z, float(2 * stats.norm.sf(abs(z))), level
    )


# ---------------------------------------------------------------------------------------------------------------
# Percentage points


def _half_up(value: Fraction, places: int = 1) -> str:
    """An exact value rounded half up (away from zero at a tie, i.e. 四舍五入 on the magnitude) to ``places``.

    Exact rational arithmetic, not Decimal division (whose 28 digits could turn 0.0499…9 into a tie). A result of
    zero is "0.0", never "-0.0": a report must not print a sign for no change.
    """
    scale = 10**places
    magnitude = math.floor(abs(value) * scale + Fraction(1, 2))
    sign = "-" if value < 0 and magnitude else ""
    whole, part = divmod(magnitude, scale)
    return f"{sign}{whole}.{part:0{places}d}" if places else f"{sign}{whole}"


def change_points(x1: int, n1: int, x2: int, n2: int) -> str | None:
    """(x2/n2 − x1/n1) × 100 as the report prints it: one decimal, half up from the exact fraction; signed.

    ``None`` when a round has no respondents.
    """
    _check_counts(x1, n1)
    _check_counts(x2, n2)
    if n1 == 0 or n2 == 0:
        return None
    return _half_up((Fraction(x2, n2) - Fraction(x1, n1)) * 100)


def points(diff: float | Fraction | None) -> str | None:
    """A difference of shares (e.g. 0.031) in percentage points as the report prints it ("3.1"), signed.

    A Fraction is rounded exactly; a float half up from its shortest decimal form (``Decimal(repr(x))``), as
    ``analysis.numbers.percent_of`` does, so 0.0005 is "0.1" and not the binary value just below it. Prefer
    ``change_points`` when the counts are known. ``None`` for ``None`` or a non-finite float.
    """
    if diff is None:
        return None
    if isinstance(diff, Fraction):
        return _half_up(diff * 100)
    if not math.isfinite(diff):
        return None
    return _half_up(Fraction(Decimal(repr(float(diff))) * 100))


# ---------------------------------------------------------------------------------------------------------------
# A change between two rounds


@dataclass(frozen=True)
class Change:
    """A rate's change from round 1 to round 2, with its interval, its test and whether to call it significant.

    ``significant`` means the interval excludes 0. For counts (``method == "newcombe_score"``) the interval is
    Newcombe's and the p-value the score test's; the two can disagree at the margin (an interval just touching 0
    with p just under 0.05, or the reverse), and the report's words follow the interval, so ``significant`` is
    the interval's verdict and ``p_value`` is given separately, not used for it. For weighted estimates
    (``"weighted_normal"``) interval and z test are the same normal computation and agree.
    ``exact_difference`` is the change as a Fraction when counts are known, so ``points`` rounds it exactly.
    """

    p1: float
    p2: float
    difference: float  # p2 − p1
    low: float
    high: float
    statistic: float | None  # z (score or weighted)
    p_value: float
    method: str  # "newcombe_score" or "weighted_normal"
    significant: bool
    n1: int
    n2: int
    small_sample: bool  # either round has fewer than ``small_n`` respondents
    level: float = 0.95
    statistic_note: str | None = None
    exact_difference: Fraction | None = None

    @property
    def points(self) -> str | None:
        """The change in percentage points as printed, signed: exact from the counts when they are known."""
        return points(self.exact_difference if self.exact_difference is not None else self.difference)


def _excludes_zero(low: float, high: float) -> bool:
    return low > 0 or high < 0


def rate_change(rate1: RateLike, rate2: RateLike, small_n: int = SMALL_N, level: float = 0.95) -> Change | None:
    """The change between two rounds' unweighted rates (numerator/denominator); ``None`` when a round is empty."""
    x1, n1, x2, n2 = rate1.numerator, rate1.denominator, rate2.numerator, rate2.denominator
    interval = newcombe_interval(x1, n1, x2, n2, level)
    test = score_test(x1, n1, x2, n2)
    if interval is None or test is None:
        return None
    exact = Fraction(x2, n2) - Fraction(x1, n1)
    return Change(
        p1=x1 / n1,
        p2=x2 / n2,
        difference=x2 / n2 - x1 / n1,
        low=interval[0],
        high=interval[1],
        statistic=test.statistic,
        p_value=test.p_value,
        method=NEWCOMBE,
        significant=_excludes_zero(*interval),
        n1=n1,
        n2=n2,
        small_sample=n1 < small_n or n2 < small_n,
        level=level,
        statistic_note=test.statistic_note,
        exact_difference=exact,
    )


def estimate_change(e1: Estimate, e2: Estimate, small_n: int = SMALL_N, level: float = 0.95) -> Change | None:
    """The change between two rounds' weighted estimates (``weighted_change``); ``None`` when one is missing.

    ``small_sample`` looks at the unweighted n of each round (``Estimate.n``), as the rates do; a design effect
    that shrinks the effective n further is already in the standard errors, hence in the interval.
    """
    result = weighted_change(e1, e2, level)
    if result is None:
        return None
    return Change(
        p1=float(e1.estimate),  # type: ignore[arg-type]
        p2=float(e2.estimate),  # type: ignore[arg-type]
        difference=result.difference,
        low=result.low,
        high=result.high,
        statistic=result.statistic,
        p_value=result.p_value,
        method=WEIGHTED,
        significant=_excludes_zero(result.low, result.high),
        n1=e1.n,
        n2=e2.n,
        small_sample=e1.n < small_n or e2.n < small_n,
        level=level,
        statistic_note=result.statistic_note,
    )


def change_words(change: Change) -> tuple[str, dict[str, Any]]:
    """The report's phrase for a change: a msgid template and its params, e.g. ("提高 %(points)s 个百分点", …).

    The direction is that of the change as printed: a change that rounds to 0.0 points is "持平" (never "提高 0.0
    个百分点"). "（变化不显著）" is added whenever the interval covers 0 (``significant`` is false), whatever the
    direction. ``points`` is the printed magnitude, without a sign: the verb carries the direction.
    """
    printed = change.points or "0.0"
    magnitude = printed.lstrip("-")
    if Decimal(magnitude) == 0:
        direction = "flat"
    else:
        direction = "down" if printed.startswith("-") else "up"
    template = WORDS[(direction, change.significant)]
    return template, ({} if direction == "flat" else {"points": magnitude})


# ---------------------------------------------------------------------------------------------------------------
# Ranking


@dataclass(frozen=True)
class RankRow:
    """One row of a ranking table: a unit (乡镇, 派出所…), its share, the share as shown, and its rank."""

    name: str
    value: float | Fraction | None
    percent: str | None  # the share in percent as shown: one decimal, half up
    rank: int | None  # None for a unit without a value
    small_sample: bool = False


def rank(values: Mapping[str, float | Fraction | None], small: Mapping[str, bool] | None = None) -> list[RankRow]:
    """A ranking table, highest share first, ties sharing a rank (standard competition ranking, "1224").

    Ties are judged on the percent as shown (one decimal, half up), not on the unrounded share: two units both
    printed as 85.3% must not be ranked 3rd and 4th by a difference the reader cannot see (and no survey can
    support). Within a tie, and among units without a value, the input order is kept. Units without a value
    (``None``, NaN) come last with no rank. ``small`` flags units resting on a small sample; the flag is carried,
    not used to rank, so the table can mark them.
    """
    small = small or {}
    shown = {name: points(value) for name, value in values.items()}  # a share × 100, rounded as ``points`` does
    ranked = sorted((name for name in values if shown[name] is not None), key=lambda name: -Decimal(shown[name]))
    rows: list[RankRow] = []
    for position, name in enumerate(ranked):
        previous = rows[-1] if rows else None
        place = previous.rank if previous is not None and previous.percent == shown[name] else position + 1
        rows.append(RankRow(name, values[name], shown[name], place, bool(small.get(name, False))))
    rows.extend(
        RankRow(name, values[name], None, None, bool(small.get(name, False))) for name in values if shown[name] is None
    )
    return rows
