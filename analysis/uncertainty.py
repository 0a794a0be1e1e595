"""Margins of error and the sample a precision needs, with finite-population correction.

The margin of error is the normal-approximation half-width z·√(p(1−p)/n), multiplied by the
finite-population correction √((N−n)/(N−1)) when the population N is known. The required sample is
n₀ = z²p(1−p)/e² (p = 0.5 when unknown: the safe maximum), corrected to n₀/(1+(n₀−1)/N), rounded up.
At 95% and ±5% that is the familiar 385.
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


def required_sample(margin: float, population: int | None = None, p: float = 0.5, z: float = Z95) -> int:
    """Respondents needed for ±``margin`` at 95% confidence (p = 0.5 unless a prior share is given)."""
    n0 = z * z * p * (1 - p) / (margin * margin)
    if population:
        n0 = n0 / (1 + (n0 - 1) / population)
    return math.ceil(n0 - 1e-9)
