"""Is a rate (or a distribution) different between groups? Pearson's χ², or Fisher's exact test.

For a 2×2 table with any expected count below 5 the χ² approximation is poor, so Fisher's exact
test is used. Otherwise Pearson's χ² without continuity correction (SPSS's "Pearson Chi-Square");
when more than 20% of expected counts are below 5 the result carries a warning, as SPSS prints.
Rows or columns that are all zero are dropped first; fewer than 2 of either means no test.
Fisher's odds ratio is infinite when a cell off the diagonal is 0 (two responses suffice); it is then
given as ``None`` with ``statistic_note = "zero_cell"``, since JSON has no infinity and no reader wants one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from analysis.lazy import lazy_module

np = lazy_module("numpy")
stats = lazy_module("scipy.stats")


@dataclass(frozen=True)
class TestResult:
    """A test of association with what a report needs to state it."""

    method: str  # "chi2" or "fisher"
    statistic: float | None  # χ² (or the odds ratio for Fisher)
    df: int | None
    p_value: float
    low_expected_share: float  # share of cells with expected count < 5
    statistic_note: str | None = None  # why ``statistic`` is None: "zero_cell" (an odds ratio of 0/0 or x/0)


def association_test(table: list[list[int]] | np.ndarray) -> TestResult | None:
    """Test independence of rows and columns of a contingency table of counts."""
    counts = np.asarray(table, dtype=float)
    counts = counts[counts.sum(axis=1) > 0][:, counts.sum(axis=0) > 0] if counts.size else counts
    if counts.ndim != 2 or min(counts.shape) < 2:
        return None
    expected = stats.contingency.expected_freq(counts)
    low = float((expected < 5).mean())
    if counts.shape == (2, 2) and (expected < 5).any():
        odds, p = stats.fisher_exact(counts.astype(int))
        if not math.isfinite(odds):
            return TestResult("fisher", None, None, float(p), low, statistic_note="zero_cell")
        return TestResult("fisher", float(odds), None, float(p), low)
    chi2, p, df, _ = stats.chi2_contingency(counts, correction=False)
    return TestResult("chi2", float(chi2), int(df), float(p), low)
