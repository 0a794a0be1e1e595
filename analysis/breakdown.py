"""Rates broken down by a respondent-group question (unit, community, age band) or by channel."""

from __future__ import annotations

from dataclasses import dataclass

from analysis.association import TestResult, association_test
from analysis.index import index_from_counts, mean_index
from analysis.lazy import lazy_module
from analysis.rates import Rate, rate_from_counts

np = lazy_module("numpy")
pd = lazy_module("pandas")


@dataclass(frozen=True)
class GroupRow:
    """One group's respondents and the rate of each rated question among them."""

    key: str
    text: str
    respondents: int
    rates: list[Rate]
    index: float | None = None  # mean of the item indices among the group's respondents


def group_codes(column: pd.Series, options: list[dict]) -> np.ndarray:
    """Each respondent's group as a position in ``options`` (−1 when unanswered or unknown)."""
    keys = [o["key"] for o in options]
    if isinstance(column.dtype, pd.CategoricalDtype) and list(column.cat.categories) == keys:
        return column.cat.codes.to_numpy().astype(np.int64)
    lookup = {key: i for i, key in enumerate(keys)}
    return np.array([lookup.get(v, -1) for v in column], dtype=np.int64)


def rates_by_group(
    frame: pd.DataFrame,
    group: dict,
    rated: list[dict],
    dont_know_policy: str,
    small_n: int,
    scored: list[dict] | None = None,
) -> list[GroupRow]:
    """For each option of ``group``, the rates of ``rated`` questions among respondents who chose it.

    Respondents who did not answer the group question are left out of every row (their group is
    unknown); each cell carries its own n, and cells below ``small_n`` are flagged. Counted for all
    groups at once with one ``bincount`` per question.
    """
    scored = scored or []
    groups = group_codes(frame[group["key"]], group["options"])
    size = len(group["options"])
    known = groups >= 0
    respondents = np.bincount(groups[known], minlength=size)
    cells = {q["key"]: _cell_counts(frame[q["key"]], q, groups, size) for q in rated + scored}
    rows = []
    for g, option in enumerate(group["options"]):
        rates = [
            rate_from_counts(q, cells[q["key"]][g], int(cells[q["key"]][g].sum()), dont_know_policy, small_n, None)
            for q in rated
        ]
        indices = [index_from_counts(q, cells[q["key"]][g]) for q in scored]
        rows.append(GroupRow(option["key"], option["text"], int(respondents[g]), rates, mean_index(indices)))
    return rows


def distribution_tests(frame: pd.DataFrame, group: dict, questions: list[dict]) -> dict[str, TestResult | None]:
    """For each single-answer question, χ² (or Fisher) on the whole groups × options table."""
    groups = group_codes(frame[group["key"]], group["options"])
    size = len(group["options"])
    return {q["key"]: association_test(_cell_counts(frame[q["key"]], q, groups, size)) for q in questions}


def _cell_counts(column: pd.Series, question: dict, groups: np.ndarray, size: int) -> np.ndarray:
    """A (groups × options) table of counts for one question."""
    width = len(question["options"])
    answers = group_codes(column, question["options"])
    both = (groups >= 0) & (answers >= 0)
    flat = np.bincount(groups[both] * width + answers[both], minlength=size * width)
    return flat.reshape(size, width)
