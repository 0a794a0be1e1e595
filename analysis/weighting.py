"""Weights that make a designed sample stand for its population, and weighted rates with their uncertainty.

Everything here is a pure function of the valid responses and the population counts: weights are computed at
analysis time (an exclusion changes them) and never stored as the truth of a response.

The reference is R's survey package for a design ``svydesign(ids = ~1, data = d)`` (one stage, equal base
weights, no finite-population correction) calibrated with ``postStratify`` or ``rake``: the weights, the point
estimates and the Taylor-linearised standard errors here are R's, formula by formula (the tests compare them
with R itself). Where R makes a choice that is not the only defensible one (the fixed number of projection
sweeps for raked variances, the n/(n−1) factor), the docstring says so.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from analysis.lazy import lazy_module

np = lazy_module("numpy")
pd = lazy_module("pandas")
special = lazy_module("scipy.special")
stats = lazy_module("scipy.stats")

# R's svyrecvar() removes raking margins from the influence functions by this many sweeps of alternating
# projections, whatever the number of raking iterations was (survey 4.x, R/multistage.R).
R_RAKING_VARIANCE_SWEEPS = 10


class WeightingError(ValueError):
    """Population counts and responses that cannot be weighted; the message names the problem in plain Chinese.

    ``template`` is the message with ``%(name)s`` placeholders and ``params`` their values, so that the web layer
    can show it in the desk's language (``gettext(error.template, **error.params)``; scripts/i18n.sh extracts
    every ``WeightingError("…")`` literal). ``str(error)`` is the Chinese message.
    """

    def __init__(self, template: str, **params: Any):
        super().__init__(template % params if params else template)
        self.template = template
        self.params = params


class RakingNotConverged(WeightingError):
    """Raking stopped at its iteration cap with margins still off by more than the tolerance."""

    def __init__(self, error: WeightingError, result: Weights):
        super().__init__(error.template, **error.params)
        self.result = result


@dataclass(frozen=True)
class Margin:
    """One calibration margin: each response's category code, and the weights right after calibrating to it.

    ``weights_after`` are the weights just after this margin was matched in the last pass (for one margin,
    the final weights). R keeps exactly these in ``design$postStrata`` and uses them to residualise influence
    functions, so they are kept here too.
    """

    name: str
    codes: np.ndarray
    categories: tuple[Hashable, ...]
    population: np.ndarray
    weights_after: np.ndarray


@dataclass(frozen=True)
class Weights:
    """Calibrated weights and everything needed to compute a design-based variance from them."""

    weights: np.ndarray
    method: str  # "poststratify", "rake" or "bounded_rake" (trim_and_rake)
    margins: tuple[Margin, ...]
    base_weights: np.ndarray
    converged: bool = True
    iterations: int = 1
    tolerance: float | None = None
    max_iterations: int | None = None
    max_gap: float = 0.0
    message: WeightingError | None = None  # why raking did not converge (str() gives the Chinese words)
    trimmed: dict[str, Any] = field(default_factory=dict)
    # For raking: the margins' cross-tabulations that residualise() needs, computed once (see there).
    crosstabs: tuple[tuple[np.ndarray, ...], ...] = field(default=(), repr=False, compare=False)

    @property
    def n(self) -> int:
        return int(self.weights.size)


@dataclass(frozen=True)
class Estimate:
    """A weighted share with its linearised standard error and logit-scale interval."""

    estimate: float | None
    standard_error: float | None
    low: float | None
    high: float | None
    n: int  # unweighted respondents in the base (and domain)
    weighted_base: float
    n_effective: float | None
    level: float


# ---------------------------------------------------------------------------------------------------------------
# Categories and population counts


def cross_cells(*columns: Sequence[Hashable]) -> list[tuple[Hashable, ...]]:
    """Cross-classify several columns (e.g. 乡镇 × 性别) into one cell label per response, a tuple."""
    if not columns:
        raise WeightingError("没有给出分类变量")
    lengths = {len(column) for column in columns}
    if len(lengths) != 1:
        raise WeightingError("分类变量的长度不一致")
    return list(zip(*columns, strict=True))


def _label(value: Hashable) -> str:
    """A category as a person would write it: ``城关镇 × 男`` for a cross-classified cell."""
    if isinstance(value, tuple):
        return " × ".join(str(part) for part in value)
    return str(value)


def _check_counts(population: Mapping[Hashable, float], name: str) -> tuple[list[Hashable], np.ndarray]:
    """Population counts must be finite and non-negative, and not all zero."""
    if not population:
        raise WeightingError("“%(name)s”的人口表是空的", name=name)
    categories = list(population)
    counts = np.empty(len(categories), dtype=float)
    for position, category in enumerate(categories):
        value = population[category]
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise WeightingError(
                "“%(name)s”人口表中“%(category)s”的人数不是数字：%(value)s",
                name=name,
                category=_label(category),
                value=repr(value),
            ) from None
        if not math.isfinite(number) or number < 0:
            raise WeightingError(
                "“%(name)s”人口表中“%(category)s”的人数必须是非负的有限数，而不是 %(value)s",
                name=name,
                category=_label(category),
                value=repr(value),
            )
        counts[position] = number
    if counts.sum() <= 0:
        raise WeightingError("“%(name)s”人口表的总人数为零", name=name)
    return categories, counts


def _factorize(labels: Sequence[Hashable]) -> tuple[np.ndarray, Sequence[Hashable]]:
    """Number the distinct labels (missing ones get -1) without a Python object per response where avoidable:
    a million responses must weight in well under a second."""
    if isinstance(labels, (pd.Series, pd.Index, pd.Categorical)) or (
        isinstance(labels, np.ndarray) and labels.ndim == 1
    ):
        values = labels
    else:  # a list, possibly of tuples (cross-classified cells), which numpy must not turn into a 2-D array
        values = np.fromiter(labels, dtype=object, count=len(labels))
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return np.asarray(codes), list(uniques)


def _codes(labels: Sequence[Hashable], population: Mapping[Hashable, float], name: str) -> Margin:
    """Match each response's category to the population table, refusing what cannot be weighted.

    Refused, by name: a response without a category, a sampled category missing from the population table or
    with a zero count there (R: "Strata in sample absent from population"), and a category with people in it
    but no respondents (R: "Some strata absent from sample"; dropping it silently would shrink the population).
    A category with neither people nor respondents is harmless and dropped, as R drops it.
    """
    categories, counts = _check_counts(population, name)
    sample_codes, uniques = _factorize(labels)
    if sample_codes.size == 0:
        raise WeightingError("没有可加权的有效回答")
    if (sample_codes < 0).any():
        raise WeightingError(
            "有 %(count)d 份回答缺少“%(name)s”的分类，无法加权", count=int((sample_codes < 0).sum()), name=name
        )
    position = {category: index for index, category in enumerate(categories)}
    to_population = np.empty(len(uniques), dtype=np.int64)
    for index, value in enumerate(uniques):
        if value not in position:
            raise WeightingError("“%(name)s”人口表中没有“%(category)s”这一类", name=name, category=_label(value))
        if counts[position[value]] == 0:
            raise WeightingError(
                "“%(name)s”人口表中“%(category)s”的人数为零，但有人回答", name=name, category=_label(value)
            )
        to_population[index] = position[value]
    codes = to_population[sample_codes]
    sampled = np.bincount(codes, minlength=len(categories))
    empty = [category for category, n, count in zip(categories, sampled, counts, strict=True) if n == 0 and count > 0]
    if empty:
        names = "、".join(f"“{_label(category)}”" for category in empty)
        raise WeightingError("“%(name)s”中 %(categories)s 有人口但没有回答，无法代表", name=name, categories=names)
    # Keep only the categories with respondents (the others have no people either), numbered 0..k-1.
    keep = sampled > 0
    renumber = np.cumsum(keep) - 1
    return Margin(
        name=name,
        codes=renumber[codes],
        categories=tuple(category for category, kept in zip(categories, keep, strict=True) if kept),
        population=counts[keep],
        weights_after=np.empty(0),
    )


def _base(base_weights: Sequence[float] | None, n: int) -> np.ndarray:
    if base_weights is None:
        return np.ones(n)
    base = np.asarray(base_weights, dtype=float)
    if base.shape != (n,):
        raise WeightingError("基础权重的个数与回答数不一致")
    if not np.all(np.isfinite(base)) or np.any(base <= 0):
        raise WeightingError("基础权重必须是正的有限数")
    return base


def _poststratify_step(weights: np.ndarray, margin: Margin) -> np.ndarray:
    """One post-stratification: scale each cell's weights so they add up to the cell's population count.

    This is R's ``postStratify``: w_i ← w_i · N_h / Σ_{j∈h} w_j. With equal base weights it is N_h / n_h.
    """
    totals = np.bincount(margin.codes, weights=weights, minlength=margin.population.size)
    return weights * (margin.population / totals)[margin.codes]


# ---------------------------------------------------------------------------------------------------------------
# Post-stratification and raking


def poststratify(
    cells: Sequence[Hashable],
    population: Mapping[Hashable, float],
    *,
    name: str = "分层",
    base_weights: Sequence[float] | None = None,
) -> Weights:
    """Post-stratify on one (possibly cross-classified, see ``cross_cells``) variable.

    Each response gets w_i = N_h / n_h for its cell h, so every cell counts as much as its share of the
    population: R's ``postStratify(svydesign(ids = ~1, data = d), ~cell, population)``.
    """
    margin = _codes(cells, population, name)
    base = _base(base_weights, margin.codes.size)
    weights = _poststratify_step(base, margin)
    margin = Margin(margin.name, margin.codes, margin.categories, margin.population, weights)
    return Weights(weights=weights, method="poststratify", margins=(margin,), base_weights=base)


def _max_gap(weights: np.ndarray, margins: Sequence[Margin]) -> float:
    """The largest difference between a margin's weighted totals and its population counts, as a share of the
    population: what "converged" means for raking, in words a reader can check."""
    gaps = [
        np.max(np.abs(np.bincount(m.codes, weights=weights, minlength=m.population.size) - m.population))
        / m.population.sum()
        for m in margins
    ]
    return float(max(gaps))


def rake(
    margins: Mapping[str, Sequence[Hashable]],
    populations: Mapping[str, Mapping[Hashable, float]],
    *,
    tolerance: float = 1e-10,
    max_iterations: int = 100,
    base_weights: Sequence[float] | None = None,
    require_convergence: bool = True,
) -> Weights:
    """Rake (iterative proportional fitting) to several population margins, e.g. 乡镇, 性别 and 年龄段.

    Each pass post-stratifies on every margin in turn, as R's ``rake()`` does; raking stops once every
    margin's weighted totals are within ``tolerance`` × the population total of its counts after a pass, or
    after ``max_iterations`` passes. ``iterations`` is the number of passes made. Margins whose totals
    disagree cannot all be met, so they are refused before raking. When raking does not converge,
    ``RakingNotConverged`` is raised (its ``result`` holds the last weights), or with
    ``require_convergence=False`` the result says so in ``converged`` and ``message``.

    ``base_weights`` (default all 1) are the design's weights before raking, R's ``svydesign(weights = …)``.
    R's own stopping rule compares the margins between passes (``control$epsilon``); once both have converged
    tightly the weights are the same fixed point.
    """
    if not margins:
        raise WeightingError("没有给出用于加权的边际")
    if set(margins) != set(populations):
        missing = "、".join(f"“{name}”" for name in margins if name not in populations)
        extra = "、".join(f"“{name}”" for name in populations if name not in margins)
        if missing:
            raise WeightingError("边际与人口表不对应：%(names)s 没有人口表", names=missing)
        raise WeightingError("边际与人口表不对应：%(names)s 没有回答", names=extra)
    if not (tolerance > 0 and math.isfinite(tolerance)):
        raise WeightingError("收敛容差必须是正数")
    if max_iterations < 1:
        raise WeightingError("迭代上限至少为 1")
    prepared = [_codes(labels, populations[name], name) for name, labels in margins.items()]
    sizes = {m.codes.size for m in prepared}
    if len(sizes) != 1:
        raise WeightingError("各边际的回答数不一致")
    totals = [m.population.sum() for m in prepared]
    if max(totals) - min(totals) > 1e-9 * max(totals):
        described = "、".join(f"“{m.name}”{total:g}" for m, total in zip(prepared, totals, strict=True))
        raise WeightingError("各边际的人口总数不一致：%(totals)s", totals=described)
    base = _base(base_weights, sizes.pop())
    weights = base
    after: list[np.ndarray] = []
    gap = math.inf
    iterations = 0
    while iterations < max_iterations:
        after = []
        for margin in prepared:
            weights = _poststratify_step(weights, margin)
            after.append(weights)
        iterations += 1
        gap = _max_gap(weights, prepared)
        if gap < tolerance:
            break
    converged = gap < tolerance
    final = tuple(Margin(m.name, m.codes, m.categories, m.population, w) for m, w in zip(prepared, after, strict=True))
    message = None
    if not converged:
        message = WeightingError(
            "迭代加权（raking）在 %(iterations)d 轮后仍未收敛：边际与人口数最多相差总数的 %(gap).2g，"
            "超过容差 %(tolerance).2g。请检查各边际是否相互矛盾，或提高迭代上限。",
            iterations=iterations,
            gap=gap,
            tolerance=tolerance,
        )
    result = Weights(
        weights=weights,
        method="rake",
        margins=final,
        base_weights=base,
        converged=converged,
        iterations=iterations,
        tolerance=tolerance,
        max_iterations=max_iterations,
        max_gap=gap,
        message=message,
        crosstabs=_crosstabs(final),
    )
    if not converged and require_convergence:
        raise RakingNotConverged(message, result)
    return result


def _crosstabs(margins: Sequence[Margin]) -> tuple[tuple[np.ndarray, ...], ...]:
    """T[k][j][h, g] = Σ w⁽ʲ⁾_i / w⁽ᵏ⁾_i over responses in category h of margin k and g of margin j."""
    tables = []
    for mk in margins:
        row = []
        hk = mk.population.size
        for mj in margins:
            gj = mj.population.size
            flat = np.bincount(mk.codes * gj + mj.codes, weights=mj.weights_after / mk.weights_after, minlength=hk * gj)
            row.append(flat.reshape(hk, gj))
        tables.append(tuple(row))
    return tuple(tables)


def trim_and_rake(
    margins: Mapping[str, Sequence[Hashable]],
    populations: Mapping[str, Mapping[Hashable, float]],
    *,
    lower: float | None = None,
    upper: float | None = None,
    median_multiple: float | None = None,
    tolerance: float = 1e-10,
    max_iterations: int = 1000,
    require_convergence: bool = True,
) -> Weights:
    """Rake, and when some weights fall outside the bounds, rake again with every weight kept within them.

    Bounds are absolute (``lower``/``upper``) or a multiple k of the median raked weight (``median_multiple``:
    from median/k to k·median). Clipping the weights and then raking again from the clipped weights does not
    work: raking scales every weight of a category, the clipped ones too, and they leave the bounds again.
    Instead each margin step finds, per category, the factor f that makes Σ clip(r_i·f, lower, upper) equal
    the population count (r_i the unclipped raked weight), and the weights are clip(r_i): "bounded raking".
    Its result is R's ``calibrate(design, margins, populations, calfun = "raking", bounds = …)``, the unique
    calibrated weights of the form clip(exp(x_i'λ)), and its variance is R's for that design (see
    ``residualise``). A category that cannot reach its count within the bounds is refused by name; bounds
    that clash across margins make raking not converge, and that is said as for ``rake``.
    """
    result = rake(margins, populations, tolerance=tolerance, max_iterations=max_iterations)
    low, high = _bounds(result.weights, lower, upper, median_multiple)
    if result.weights.min() >= low and result.weights.max() <= high:
        return replace(result, trimmed={"lower": low, "upper": high, "count": 0})
    for margin in result.margins:
        sampled = np.bincount(margin.codes, minlength=margin.population.size)
        for category, n, count in zip(margin.categories, sampled, margin.population, strict=True):
            if not n * low < count < n * high:
                raise WeightingError(
                    "“%(name)s”中“%(category)s”有 %(n)d 人回答、人口 %(count)g，"
                    "权重限制在 %(low).4g 到 %(high).4g 之间时无法代表这么多人",
                    name=margin.name,
                    category=_label(category),
                    n=int(n),
                    count=count,
                    low=low,
                    high=high,
                )
    groups = [_groups(margin.codes, margin.population.size) for margin in result.margins]
    raw = result.weights.copy()
    gap = math.inf
    iterations = 0
    after: list[np.ndarray] = []
    while iterations < max_iterations:
        after = []
        # When the bounds clash across margins, some unclipped weights run off to 0 or infinity: stop then.
        with np.errstate(all="ignore"):
            for margin, members in zip(result.margins, groups, strict=True):
                for index, count in zip(members, margin.population, strict=True):
                    raw[index] *= _bounded_factor(raw[index], count, low, high)
                after.append(np.clip(raw, low, high))
        iterations += 1
        if not np.all(np.isfinite(raw) & (raw > 0)):
            gap = math.inf
            break
        gap = _max_gap(after[-1], result.margins)
        if gap < tolerance:
            break
    weights = after[-1]
    converged = gap < tolerance
    message = None
    if not converged:
        bounds = {"low": low, "high": high, "iterations": iterations}
        message = (
            WeightingError(
                "限定权重在 %(low).4g 到 %(high).4g 之间的迭代加权在 %(iterations)d 轮后仍未收敛："
                "边际与人口数最多相差总数的 %(gap).2g。截尾界限与各边际相互矛盾，请放宽界限。",
                gap=gap,
                **bounds,
            )
            if math.isfinite(gap)
            else WeightingError(
                "限定权重在 %(low).4g 到 %(high).4g 之间的迭代加权在 %(iterations)d 轮后仍未收敛：权重发散。"
                "截尾界限与各边际相互矛盾，请放宽界限。",
                **bounds,
            )
        )
    trimmed = replace(
        result,
        weights=weights,
        method="bounded_rake",
        margins=tuple(replace(m, weights_after=w) for m, w in zip(result.margins, after, strict=True)),
        converged=converged,
        iterations=iterations,
        max_gap=gap,
        message=message,
        trimmed={"lower": low, "upper": high, "count": int(np.sum((raw < low) | (raw > high)))},
    )
    if not converged and require_convergence:
        raise RakingNotConverged(message, trimmed)
    return trimmed


def _groups(codes: np.ndarray, k: int) -> list[np.ndarray]:
    """The row numbers of each category 0..k-1."""
    order = np.argsort(codes, kind="stable")
    return np.split(order, np.cumsum(np.bincount(codes, minlength=k))[:-1])


def _bounded_factor(raw: np.ndarray, count: float, low: float, high: float) -> float:
    """The factor f with Σ clip(raw_i·f, low, high) = count, exactly.

    The sum is continuous, non-decreasing and linear in f between the break points low/raw_i and high/raw_i:
    find the piece where it reaches ``count`` and solve that piece's linear equation.
    """
    r = np.sort(raw)
    n = r.size
    cumulative = np.concatenate(([0.0], np.cumsum(r)))

    def pieces(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # With factor f: r ≤ low/f sit at low, r ≥ high/f at high, the rest contribute f·r.
        at_low = np.searchsorted(r, low / f, side="right")
        at_high = np.searchsorted(r, high / f, side="left")
        at_high = np.maximum(at_high, at_low)
        return low * at_low + high * (n - at_high), cumulative[at_high] - cumulative[at_low]

    breaks = np.unique(np.concatenate((low / r, high / r)))
    constant, slope = pieces(breaks)
    sums = constant + breaks * slope
    j = int(np.searchsorted(sums, count, side="left"))
    if j < breaks.size and sums[j] == count:
        return float(breaks[j])
    # count lies strictly between sums[j-1] and sums[j] (the caller checked n·low < count < n·high).
    middle = np.array([(breaks[j - 1] + breaks[j]) / 2])
    constant, slope = pieces(middle)
    return float((count - constant[0]) / slope[0])


def _bounds(
    weights: np.ndarray, lower: float | None, upper: float | None, median_multiple: float | None
) -> tuple[float, float]:
    if median_multiple is not None:
        if lower is not None or upper is not None:
            raise WeightingError("截尾界限只能给绝对值或中位数的倍数，不能同时给")
        if not (median_multiple > 1 and math.isfinite(median_multiple)):
            raise WeightingError("中位数的倍数必须大于 1")
        median = float(np.median(weights))
        return median / median_multiple, median * median_multiple
    low = 0.0 if lower is None else float(lower)
    high = math.inf if upper is None else float(upper)
    if not (low >= 0 and high > 0 and low < high):
        raise WeightingError("截尾下界必须小于上界，且上界为正")
    return low, high


# ---------------------------------------------------------------------------------------------------------------
# Summary of the weights


@dataclass(frozen=True)
class WeightSummary:
    n: int
    total: float
    minimum: float
    median: float
    maximum: float
    design_effect: float  # Kish: 1 + CV²
    n_effective: float


def summarize(weights: Sequence[float] | Weights) -> WeightSummary:
    """Min/median/max, Kish's design effect from unequal weights and the effective sample size.

    Kish's deff = 1 + CV² with the CV's population variance, which equals n·Σw²/(Σw)²; the effective n is
    (Σw)²/Σw² = n/deff: the number of equally weighted responses that would give the same precision.
    """
    w = np.asarray(weights.weights if isinstance(weights, Weights) else weights, dtype=float)
    if w.size == 0:
        raise WeightingError("没有权重")
    total = float(w.sum())
    squares = float(np.square(w).sum())
    return WeightSummary(
        n=int(w.size),
        total=total,
        minimum=float(w.min()),
        median=float(np.median(w)),
        maximum=float(w.max()),
        design_effect=w.size * squares / total**2,
        n_effective=total**2 / squares,
    )


# ---------------------------------------------------------------------------------------------------------------
# Weighted shares and their standard errors


def residualise(influence: np.ndarray, weights: Weights) -> np.ndarray:
    """Remove the calibration margins from influence functions, as R's ``svyrecvar`` does.

    Calibrating to known population counts removes the variance those counts would otherwise carry.
    Post-stratification (R's "ordinary post-stratification" branch): within each cell h, with new weights w
    and old (base) weights d, x_i ← x_i − w_i · Σ_{j∈h} d_j x_j / w_j / Σ_{j∈h} d_j.
    Raking (R's "raking" branch): ``R_RAKING_VARIANCE_SWEEPS`` sweeps over the margins of
    x_i ← x_i − w_i⁽ᵏ⁾ · mean_{j∈h} (x_j / w_j⁽ᵏ⁾) for margin k, where w⁽ᵏ⁾ are the weights just after margin k
    in raking's last pass and the mean is unweighted. The sweeps are alternating projections whose limit is
    the residual from regressing x/w on all the margins' indicators; R stops after a fixed ten, and so do we,
    to give R's figures.
    Bounded raking (R's ``calibrate``, "greg_calibration" branch): the exact limit, see
    ``_calibration_residuals``.
    """
    x = np.array(influence, dtype=float)
    if weights.method == "poststratify":
        (margin,) = weights.margins
        k = margin.population.size
        old = weights.base_weights
        means = np.bincount(margin.codes, weights=x * old / margin.weights_after, minlength=k) / np.bincount(
            margin.codes, weights=old, minlength=k
        )
        return x - means[margin.codes] * margin.weights_after
    if weights.method == "bounded_rake":
        return _calibration_residuals(x, weights)
    # The sweeps, done on the categories instead of on every response: after any number of steps
    # x = x⁽⁰⁾ − Σ_j w⁽ʲ⁾ · a_j[category], and margin k's step adds to a_k the category means of x / w⁽ᵏ⁾,
    # which are (Σ_{i∈h} x⁽⁰⁾_i / w⁽ᵏ⁾_i − Σ_j T[k][j] a_j) / n_h. Same arithmetic as R's loop, a few passes
    # over the data instead of sixty.
    margins = weights.margins
    tables = weights.crosstabs or _crosstabs(margins)
    counts = [np.bincount(m.codes, minlength=m.population.size) for m in margins]
    sums = [np.bincount(m.codes, weights=x / m.weights_after, minlength=m.population.size) for m in margins]
    adjustments = [np.zeros(m.population.size) for m in margins]
    for _ in range(R_RAKING_VARIANCE_SWEEPS):
        for k in range(len(margins)):
            current = sums[k] - sum(tables[k][j] @ adjustments[j] for j in range(len(margins)))
            adjustments[k] = adjustments[k] + current / counts[k]
    for margin, adjustment in zip(margins, adjustments, strict=True):
        x = x - margin.weights_after * adjustment[margin.codes]
    return x


def _calibration_residuals(x: np.ndarray, weights: Weights) -> np.ndarray:
    """R's residuals after ``calibrate``: with base weights d, final weights w and the margins' indicator
    matrix X, x ← w/√d · (u − X√d·β̂) where β̂ is the least-squares fit of u = x·√d/w on X√d. Rank-deficient
    X (the margins share the total) is fine: only the residual is used, and it is unique."""
    root = np.sqrt(weights.base_weights)
    scale = weights.weights / root
    columns = [
        (margin.codes[:, None] == np.arange(margin.population.size)[None, :]).astype(float)
        for margin in weights.margins
    ]
    design = np.hstack(columns) * root[:, None]
    u = x / scale
    coefficients, *_ = np.linalg.lstsq(design, u, rcond=None)
    return (u - design @ coefficients) * scale


def _variance(x: np.ndarray) -> float:
    """With-replacement variance of a total for one stratum of n single-response clusters: R's ``onestrat``,
    n/(n−1) · Σ (x_i − x̄)²."""
    n = x.size
    return float(n / (n - 1) * np.square(x - x.mean()).sum())


def logit_interval(p: float, se: float, level: float = 0.95) -> tuple[float, float] | None:
    """``expit(logit p ± z·SE / (p(1−p)))``: the delta-method interval on the logit scale, which stays inside
    (0, 1) and is asymmetric near the ends, as a rate's should be. Undefined (``None``) at p = 0 or 1."""
    if not (0 < p < 1) or not math.isfinite(se):
        return None
    z = float(stats.norm.ppf(0.5 + level / 2))
    half = z * se / (p * (1 - p))
    centre = float(special.logit(p))
    return float(special.expit(centre - half)), float(special.expit(centre + half))


def _mask(values: Sequence[Any] | None, n: int, what: str) -> np.ndarray:
    if values is None:
        return np.ones(n, dtype=bool)
    mask = np.asarray(values, dtype=bool)
    if mask.shape != (n,):
        raise ValueError(f"{what}的个数与回答数不一致")
    return mask


def weighted_share(
    weights: Weights,
    y: Sequence[float],
    base: Sequence[bool] | None = None,
    domain: Sequence[bool] | None = None,
    *,
    level: float = 0.95,
) -> Estimate:
    """A weighted rate p = Σw·y / Σw over the rate's base within a domain, with its linearised standard error.

    ``base`` marks the responses in the rate's base (e.g. not 不知道); ``domain`` a subgroup (e.g. one 乡镇).
    This is R's ``svyratio(~y, ~base, subset(design, domain))`` (equivalently ``svymean`` on the base): the
    influence function of the ratio, z_i = w_i (y_i − p)/Σw over base ∩ domain and zero elsewhere, is
    residualised against the calibration margins of the *whole* sample (``residualise``): a domain is not
    re-weighted, so its respondents count and the sampling variability of its size is kept. The variance is
    n/(n−1)·Σ(z_i − z̄)² over all n responses. ``y`` outside the base is ignored (it may be NaN).
    """
    return weighted_combination(weights, [(y, base)], [1.0], domain, level=level)


def _ratio_part(
    weights: Weights, y: Sequence[float], base: Sequence[bool] | None, inside_domain: np.ndarray
) -> tuple[float | None, np.ndarray, np.ndarray]:
    """One ratio's estimate, influence function and base mask (see ``weighted_share``)."""
    n = weights.n
    inside = _mask(base, n, "基数标记") & inside_domain
    values = np.asarray(y, dtype=float)
    if values.shape != (n,):
        raise ValueError("取值的个数与回答数不一致")
    values = np.where(inside, values, 0.0)
    if not np.all(np.isfinite(values)):
        raise ValueError("基数内的取值必须是有限数")
    w = np.where(inside, weights.weights, 0.0)
    denominator = float(w.sum())
    if denominator <= 0:
        return None, np.zeros(n), inside
    p = float((w * values).sum() / denominator)
    return p, w * (values - p) / denominator, inside


def weighted_combination(
    weights: Weights,
    parts: Sequence[tuple[Sequence[float], Sequence[bool] | None]],
    coefficients: Sequence[float],
    domain: Sequence[bool] | None = None,
    *,
    level: float = 0.95,
) -> Estimate:
    """θ = Σ c_k·p_k, a fixed combination of weighted rates (each ``(y, base)`` as in ``weighted_share``), such
    as an overall satisfaction defined as the (weighted) mean of item rates, with its linearised SE.

    The influence function of θ is Σ c_k·z_k (z_k each rate's, see ``weighted_share``), residualised against
    the calibration margins; this is R's ``svycontrast(svyratio(~y1+y2, ~b1+b2, design, covmat = TRUE), c)``
    on the diagonal ratios y_k/b_k. A rate with an empty base is left out and the other coefficients are
    rescaled to the same sum, as the unweighted mean of rates leaves out a rate with no answers. ``n`` counts
    the responses in at least one base; ``n_effective`` is Kish's over them.
    """
    n = weights.n
    inside_domain = _mask(domain, n, "子群标记")
    if len(parts) != len(coefficients) or not parts:
        raise ValueError("比率与系数的个数不一致")
    pieces = [_ratio_part(weights, y, base, inside_domain) for y, base in parts]
    kept = [(c, p, z) for (p, z, _), c in zip(pieces, coefficients, strict=True) if p is not None]
    any_base = np.logical_or.reduce([inside for _, _, inside in pieces])
    count = int(any_base.sum())
    w = np.where(any_base, weights.weights, 0.0)
    weighted_base = float(w.sum())
    if not kept:
        return Estimate(None, None, None, None, count, weighted_base, None, level)
    scale = sum(coefficients) / sum(c for c, _, _ in kept)
    theta = float(sum(c * scale * p for c, p, _ in kept))
    influence = sum(c * scale * z for c, _, z in kept)
    se = math.sqrt(_variance(residualise(influence, weights))) if n > 1 else None
    interval = logit_interval(theta, se, level) if se is not None else None
    return Estimate(
        estimate=theta,
        standard_error=se,
        low=interval[0] if interval else None,
        high=interval[1] if interval else None,
        n=count,
        weighted_base=weighted_base,
        n_effective=weighted_base**2 / float(np.square(w).sum()),
        level=level,
    )


def breakdown(
    weights: Weights,
    y: Sequence[float],
    groups: Sequence[Hashable],
    base: Sequence[bool] | None = None,
    *,
    level: float = 0.95,
) -> dict[Hashable, Estimate]:
    """The weighted rate in each group (乡镇, 性别, …): R's ``svyby(~y, ~group, design, svyratio, …)``, which
    takes each group as a domain of the whole calibrated design (see ``weighted_share``). Groups in order of
    first appearance; a response without a group belongs to none."""
    codes, uniques = _factorize(groups)
    if codes.size != weights.n:
        raise ValueError("分组的个数与回答数不一致")
    return {group: weighted_share(weights, y, base, codes == index, level=level) for index, group in enumerate(uniques)}


# ---------------------------------------------------------------------------------------------------------------
# Every group's weighted rate at once


def domain_shares(
    weights: Weights,
    y: Sequence[float],
    base: Sequence[bool] | None,
    groups: np.ndarray,
    size: int,
    *,
    level: float = 0.95,
) -> list[Estimate]:
    """``weighted_share`` for each group 0…size−1 of ``groups`` (−1: in none), in a few passes over the data.

    The same figures as one ``weighted_share(…, domain=groups == g)`` per group, which makes about ten passes
    over the n responses per group. Here the residualisation, which is linear in the influence function, works
    on per-category sums computed for all groups in one ``bincount`` over (group, category), and the variance
    Σ(r − r̄)² of r = x − Σ_k w⁽ᵏ⁾·a_k[category] is expanded into sums that do not need r itself:
    Σr = Σx − Σ_k a_k·S_k, Σr² = Σx² − 2 Σ_k a_k·Q_k + Σ_{k,l} a_kᵀ M_kl a_l, with S_k, M_kl sums of the weights
    by category (the same for every group and question) and Q_k the groups' sums of x·w⁽ᵏ⁾ by category.
    Bounded raking (an exact least-squares residual) takes the per-group path.
    """
    values = np.asarray(y, dtype=float)
    codes = np.asarray(groups, dtype=np.int64)
    inside = _mask(base, weights.n, "基数标记") & (codes >= 0)
    if weights.method == "bounded_rake" or weights.n < 2:
        return [weighted_share(weights, values, inside, codes == g, level=level) for g in range(size)]
    g = np.where(inside, codes, 0)
    w = np.where(inside, weights.weights, 0.0)
    values = np.where(inside, values, 0.0)
    totals = np.bincount(g, weights=w, minlength=size)
    counts = np.bincount(g, weights=inside.astype(float), minlength=size).astype(int)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.bincount(g, weights=w * values, minlength=size) / totals
        x = np.where(inside, w * (values - p[g]) / totals[g], 0.0)
    adjustments = _group_adjustments(x, g, size, weights)
    variances = _group_variances(x, g, size, weights, adjustments)
    squares = np.bincount(g, weights=w * w, minlength=size)
    return [_estimate(p[k], variances[k], counts[k], totals[k], squares[k], level) for k in range(size)]


def _estimate(p: float, variance: float, count: int, total: float, squares: float, level: float) -> Estimate:
    if count == 0 or total <= 0:
        return Estimate(None, None, None, None, int(count), float(total), None, level)
    se = math.sqrt(max(variance, 0.0))
    interval = logit_interval(float(p), se, level)
    return Estimate(
        estimate=float(p),
        standard_error=se,
        low=interval[0] if interval else None,
        high=interval[1] if interval else None,
        n=int(count),
        weighted_base=float(total),
        n_effective=total**2 / squares,
        level=level,
    )


def _group_sums(values: np.ndarray, g: np.ndarray, size: int, margin: Margin) -> np.ndarray:
    """(groups × categories) sums of ``values`` in one bincount."""
    k = margin.population.size
    return np.bincount(g * k + margin.codes, weights=values, minlength=size * k).reshape(size, k)


def _group_adjustments(x: np.ndarray, g: np.ndarray, size: int, weights: Weights) -> list[np.ndarray]:
    """a_k for every group (rows): what ``residualise`` subtracts, w⁽ᵏ⁾·a_k[category], margin by margin."""
    margins = weights.margins
    if weights.method == "poststratify":
        (margin,) = margins
        old = np.bincount(margin.codes, weights=weights.base_weights, minlength=margin.population.size)
        return [_group_sums(x * weights.base_weights / margin.weights_after, g, size, margin) / old]
    tables = weights.crosstabs or _crosstabs(margins)
    counts = [np.bincount(m.codes, minlength=m.population.size) for m in margins]
    sums = [_group_sums(x / m.weights_after, g, size, m) for m in margins]
    adjustments = [np.zeros((size, m.population.size)) for m in margins]
    for _ in range(R_RAKING_VARIANCE_SWEEPS):
        for k in range(len(margins)):
            current = sums[k] - sum(adjustments[j] @ tables[k][j].T for j in range(len(margins)))
            adjustments[k] = adjustments[k] + current / counts[k]
    return adjustments


def _group_variances(
    x: np.ndarray, g: np.ndarray, size: int, weights: Weights, adjustments: list[np.ndarray]
) -> np.ndarray:
    """n/(n−1)·Σ(r − r̄)² per group, from sums (see ``domain_shares``)."""
    n = weights.n
    margins = weights.margins
    total = np.bincount(g, weights=x, minlength=size)
    square = np.bincount(g, weights=x * x, minlength=size)
    for m, a in zip(margins, adjustments, strict=True):
        k = m.population.size
        s = np.bincount(m.codes, weights=m.weights_after, minlength=k)
        total = total - a @ s
        square = square - 2 * np.einsum("gh,gh->g", a, _group_sums(x * m.weights_after, g, size, m))
    for m, a in zip(margins, adjustments, strict=True):
        for l_margin, b in zip(margins, adjustments, strict=True):
            kk, kl = m.population.size, l_margin.population.size
            cross = np.bincount(
                m.codes * kl + l_margin.codes, weights=m.weights_after * l_margin.weights_after, minlength=kk * kl
            ).reshape(kk, kl)
            square = square + np.einsum("gh,hj,gj->g", a, cross, b)
    return n / (n - 1) * (square - total * total / n)
