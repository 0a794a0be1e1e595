"""Reliability and validity of a scale: Cronbach's α, α if an item is deleted, corrected item–total
correlations, KMO and Bartlett's test of sphericity.

Items are numeric scores (option scores); respondents with any item missing are left out
(listwise deletion, as SPSS's RELIABILITY and FACTOR procedures do by default).

Both are held back on too few complete respondents rather than printed with a reassuring band: α
below ``MIN_RESPONDENTS_FOR_ALPHA`` (30; the smallest sample simulation studies find α estimable from,
and only for strongly correlated items: Yurdugül 2008, reviewed by Bujang et al. 2018), KMO and
Bartlett below max(30, 5 × items). docs/analysis.md gives the sources.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from analysis.lazy import lazy_module

np = lazy_module("numpy")
pd = lazy_module("pandas")
stats = lazy_module("scipy.stats")


MIN_ITEMS_FOR_FACTOR_CHECKS = 3
MIN_RESPONDENTS_FOR_ALPHA = 30  # complete respondents; below it α, α-if-deleted and item–total r are held back


@dataclass(frozen=True)
class ItemStat:
    """One item's contribution to a scale."""

    key: str
    alpha_if_deleted: float | None
    corrected_item_total: float | None


@dataclass(frozen=True)
class ScaleReliability:
    """α and item statistics of a scale, with the n of complete respondents.

    ``held_back`` says the figures are ``None`` because n is below ``min_n``, not because α is undefined
    (a constant item, fewer than two items), so readers can be told why there is no α.
    """

    n: int
    alpha: float | None
    items: list[ItemStat]
    held_back: bool = False
    min_n: int = MIN_RESPONDENTS_FOR_ALPHA


@dataclass(frozen=True)
class Sphericity:
    """KMO measure of sampling adequacy and Bartlett's test of sphericity."""

    n: int
    kmo: float | None
    chi_square: float | None
    df: int
    p_value: float | None


def alpha_band(alpha: float | None) -> str | None:
    """The usual reading of α: poor < 0.6 ≤ questionable < 0.7 ≤ acceptable < 0.8 ≤ good < 0.9 ≤ excellent."""
    if alpha is None or math.isnan(alpha):
        return None
    for bound, band in ((0.9, "excellent"), (0.8, "good"), (0.7, "acceptable"), (0.6, "questionable")):
        if alpha >= bound:
            return band
    return "poor"


def _alpha_from_covariance(cov: np.ndarray) -> float | None:
    """α from an item covariance matrix: k/(k−1) · (1 − trace / sum)."""
    k = cov.shape[0]
    total = cov.sum()
    if k < 2 or total <= 0:
        return None
    return float(k / (k - 1) * (1 - np.trace(cov) / total))


def cronbach_alpha(items: pd.DataFrame) -> float | None:
    """α = k/(k−1) · (1 − Σ item variances / variance of the total), over complete rows."""
    complete = items.dropna()
    if complete.shape[1] < 2 or len(complete) < 2:
        return None
    return _alpha_from_covariance(np.cov(complete.to_numpy(dtype=float), rowvar=False))


def scale_reliability(items: pd.DataFrame, min_n: int = MIN_RESPONDENTS_FOR_ALPHA) -> ScaleReliability:
    """α of the whole scale, and for each item α without it and its correlation with the rest; all held
    back (``None``, ``held_back=True``) when fewer than ``min_n`` respondents answered every item.

    Everything follows from one covariance matrix of the complete rows, so a million respondents
    cost one pass over the data, not one per item.
    """
    complete = items.dropna()
    keys, n = list(complete.columns), len(complete)
    if len(keys) >= 2 and n < min_n:
        return ScaleReliability(n, None, [ItemStat(key, None, None) for key in keys], True, min_n)
    if n < 2 or len(keys) < 2:
        return ScaleReliability(n, None, [ItemStat(key, None, None) for key in keys], min_n=min_n)
    cov = np.atleast_2d(np.cov(complete.to_numpy(dtype=float), rowvar=False))
    stats_ = []
    for i, key in enumerate(keys):
        rest = [j for j in range(len(keys)) if j != i]
        alpha_without = _alpha_from_covariance(cov[np.ix_(rest, rest)]) if len(rest) >= 2 else None
        rest_variance = cov[np.ix_(rest, rest)].sum()
        covariance = cov[i, rest].sum()
        denominator = np.sqrt(cov[i, i] * rest_variance)
        item_total = float(covariance / denominator) if n > 2 and denominator > 0 else None
        stats_.append(ItemStat(key, alpha_without, item_total))
    return ScaleReliability(n, _alpha_from_covariance(cov), stats_, min_n=min_n)


def enough_for_factor_checks(n_items: int, n_respondents: int) -> bool:
    """KMO and Bartlett need at least 3 items and more respondents than 5 per item (and at least 30)."""
    return n_items >= MIN_ITEMS_FOR_FACTOR_CHECKS and n_respondents >= max(30, 5 * n_items)


def sphericity(items: pd.DataFrame) -> Sphericity | None:
    """KMO (from partial correlations) and Bartlett's χ² = −(n − 1 − (2p + 5)/6)·ln|R|, df = p(p − 1)/2."""
    complete = items.dropna()
    n, p = complete.shape
    if not enough_for_factor_checks(p, n) or (complete.std(ddof=1) == 0).any():
        return None
    r = np.corrcoef(complete.to_numpy(dtype=float), rowvar=False)
    sign, logdet = np.linalg.slogdet(r)
    if sign <= 0:
        return Sphericity(n, None, None, p * (p - 1) // 2, None)
    inverse = np.linalg.inv(r)
    partial = -inverse / np.sqrt(np.outer(np.diag(inverse), np.diag(inverse)))
    off = ~np.eye(p, dtype=bool)
    r2, q2 = (r[off] ** 2).sum(), (partial[off] ** 2).sum()
    chi_square = -(n - 1 - (2 * p + 5) / 6) * logdet
    df = p * (p - 1) // 2
    return Sphericity(n, float(r2 / (r2 + q2)), float(chi_square), df, float(stats.chi2.sf(chi_square, df)))
