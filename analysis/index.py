"""Satisfaction index (0–100) from option scores.

An item's index is the mean score of its answers rescaled by the item's own score range:
(mean − lowest) / (highest − lowest) × 100. With scores 100/80/60/30/0 that is simply the mean
score; with Likert scores 1–5 it is (mean − 1) / 4 × 100, as the domain brief defines. Options
without a score and don't-know options are left out. Dimension and overall indices are the
unweighted means of their items' indices.
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.frame import scores_of
from analysis.lazy import lazy_module

np = lazy_module("numpy")
pd = lazy_module("pandas")


@dataclass(frozen=True)
class IndexValue:
    """An index with the number of scored answers it rests on."""

    value: float | None
    n: int


def scored_options(question: dict) -> dict[str, float]:
    """Option key → score for options that have a score and are not don't-know."""
    return {
        o["key"]: float(o["score"])
        for o in question.get("options", [])
        if o.get("score") is not None and not o.get("dont_know")
    }


def item_index(question: dict, column: pd.Series) -> IndexValue | None:
    """The 0–100 index of one single-answer item, or ``None`` if it has fewer than two scored options."""
    scores = scored_options(question)
    if question["storage"] != "one" or len(scores) < 2 or question.get("attention_correct"):
        return None
    low, high = min(scores.values()), max(scores.values())
    if high == low:
        return None
    values = scores_of(column, scores)
    values = values[~np.isnan(values)]
    if not len(values):
        return IndexValue(None, 0)
    return IndexValue((float(values.mean()) - low) / (high - low) * 100, len(values))


def mean_index(values: list[IndexValue]) -> float | None:
    """Unweighted mean of the items' indices that have a value."""
    present = [v.value for v in values if v.value is not None]
    return sum(present) / len(present) if present else None


def index_from_counts(question: dict, counts) -> IndexValue:
    """An item's index from per-option counts (breakdown cells), the same formula as ``item_index``."""
    scores = scored_options(question)
    low, high = min(scores.values()), max(scores.values())
    pairs = [(scores[o["key"]], int(n)) for o, n in zip(question["options"], counts, strict=True) if o["key"] in scores]
    total = sum(n for _, n in pairs)
    if not total or high == low:
        return IndexValue(None, total)
    mean = sum(score * n for score, n in pairs) / total
    return IndexValue((mean - low) / (high - low) * 100, total)
