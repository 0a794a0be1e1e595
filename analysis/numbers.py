"""Exact formatting of shares: reports round half up (四舍五入) from the exact fraction, not from a float."""

from __future__ import annotations

import math
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

Z95 = 1.959963984540054  # two-sided 95% normal quantile


def percent(numerator: int, denominator: int, places: int = 1) -> str | None:
    """``numerator/denominator`` as a percentage string rounded half up; ``None`` when undefined."""
    if not denominator:
        return None
    exact = Decimal(numerator) * 100 / Decimal(denominator)
    return str(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def percent_of(value: float | Fraction | None, places: int = 1) -> str | None:
    """A share held as a Fraction (exact) or a float (e.g. an interval bound), rounded half up."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, Fraction):
        return percent(value.numerator, value.denominator, places)
    return str((Decimal(repr(value)) * 100).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for a binomial share; better than the normal one near 0, 1 and for small n."""
    if n <= 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # At 0 and n the interval ends exactly at 0 and 1; floating point would land a hair inside.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def non_finite(value: Any) -> bool:
    """An infinite or NaN float (numpy's included): a figure that cannot be computed, and that JSON cannot hold."""
    return isinstance(value, float) and not math.isfinite(value)


def finite_data(data: Any, note: str | None = None) -> Any:
    """A copy of JSON-ready data (dicts, lists, tuples, scalars) with every non-finite float made ``None``.

    With ``note``, a dict entry that was made ``None`` gets a sibling ``<key>_note`` saying why, unless the
    dict already explains it. Python writes infinity as ``Infinity``, which is not JSON: one such figure
    stopped a whole results page's charts and made the API's answer unreadable.
    """
    if isinstance(data, float):
        return None if non_finite(data) else data
    if isinstance(data, dict):
        result = {key: finite_data(value, note) for key, value in data.items()}
        if note is not None:
            for key, value in data.items():
                if non_finite(value) and f"{key}_note" not in data:
                    result[f"{key}_note"] = note
        return result
    if isinstance(data, list | tuple):
        return [finite_data(value, note) for value in data]
    return data


# The largest value of a database INTEGER (every id and count column): 2³¹ − 1.
LARGEST_INTEGER = 2**31 - 1


def whole_number(text: str | None, largest: int = LARGEST_INTEGER) -> int | None:
    """``text`` as a whole number from 0 to ``largest`` (full-width digits too, spaces around), else None.

    ``str.isdigit`` also takes "²" and "①", which ``int`` refuses, and any length, which a database INTEGER
    refuses (PostgreSQL: "integer out of range"): each was a server error where a typed or forged number
    was checked with ``isdigit`` alone. NFKC makes "１２" 12 (and "²" 2), as a phone's keyboard means it.
    """
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text.isascii() or not text.isdigit() or len(text.lstrip("0")) > len(str(largest)):
        return None
    value = int(text)
    return value if value <= largest else None
