"""Margins of error and the sample a precision needs, with finite-population correction.

The normal-approximation margin is z·√(p(1−p)/n), multiplied by the finite-population correction
√((N−n)/(N−1)) when the population N is known. At the observed p it collapses to ±0 for a rate of 0%
or 100% however small n is, so it is never printed as a rate's precision: a rate shows the two sides of
its Wilson interval (``interval_sides``) and the survey's conventional "maximum margin", the margin at
p = 0.5 (``max_margin_of_error``), which depends on n alone. The required sample is
n₀ = z²p(1−p)/e² (p = 0.5 when unknown: the safe maximum), corrected to n₀/(1+(n₀−1)/N), rounded up.
At 95% and ±5% that is the familiar 385, and ``max_margin_of_error(385) ≤ 0.05``.
"""

from __future__ import annotations

import math

from analysis.numbers import Z95


def fpc(n: int, population: int | None) -> float:
    """Finite-population correction factor; 1 when the population is unknown or not larger than n."""
    if not population or population <= 1 or n >= population:
        return 1.0 if not population or n < population else 0.0
    return math.sqrt((population - n) / (population - 1))


def margin_of_error(successes: int, n: int, population: int | None = None, z: float = Z95) -> float | None:
    """Half-width of the 95% interval of a share, as a fraction (0.05 = ±5 percentage points)."""
    if n <= 0:
        return None
    p = successes / n
    return z * math.sqrt(p * (1 - p) / n) * fpc(n, population)


def max_margin_of_error(n: int, population: int | None = None, z: float = Z95) -> float | None:
    """The margin at p = 0.5, z·√(0.25/n) (× FPC): the largest the normal approximation gives for this n,
    the figure survey reports quote as "the" margin of error and the one ``required_sample`` plans for."""
    if n <= 0:
        return None
    return z * math.sqrt(0.25 / n) * fpc(n, population)


def interval_sides(value: float, interval: tuple[float, float]) -> tuple[float, float]:
    """How far the interval reaches below and above the rate (value − low, high − value).

    A Wilson interval is not symmetric: near 0% or 100% one side is short, or zero at the boundary,
    while the other is long; both are stated so that neither is mistaken for the whole uncertainty.
    """
    low, high = interval
    return max(0.0, value - low), max(0.0, high - value)


def required_sample(margin: float, population: int | None = None, p: float = 0.5, z: float = Z95) -> int:
    """Respondents needed for ±``margin`` at 95% confidence (p = 0.5 unless a prior share is given)."""
    n0 = z * z * p * (1 - p) / (margin * margin)
    if population:
        n0 = n0 / (1 + (n0 - 1) / population)
    return math.ceil(n0 - 1e-9)
