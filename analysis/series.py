"""A series of survey rounds side by side: each rate in every round, its change since the previous round, the
same per group (乡镇, community) with a ranking, and the overall figure's change (``analysis.rounds`` for the
statistics).

Rounds come in oldest first, each as its label and its ``Results``; a question mapping per round says which of
its question keys stands for each of the newest round's (a reworded question keeps its place in the series). The
change compares the newest round with the one before it: weighted estimates when both rounds are weighted (the
normal difference of design-based estimates), else the counts (Newcombe's interval, the score test).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from analysis.rates import Rate
from analysis.results import Results
from analysis.rounds import Change, RankRow, estimate_change, rank, rate_change
from analysis.weighting import Estimate


@dataclass(frozen=True)
class RoundFigure:
    """One round's figure for one rate: the unweighted rate and, when that round is weighted, its estimate."""

    label: str
    rate: Rate | None
    weighted: Estimate | None = None


@dataclass(frozen=True)
class RateSeries:
    """A rate across the rounds (keyed and named as in the newest round) and its latest change."""

    key: str
    number: str
    text: str
    rate: Rate  # the newest round's, for its name
    rounds: list[RoundFigure]
    change: Change | None  # newest vs previous, from the counts
    weighted_change: Change | None = None  # when both rounds are weighted

    @property
    def headline_change(self) -> Change | None:
        """The change the report states: the weighted one when there is one."""
        return self.weighted_change or self.change


@dataclass(frozen=True)
class GroupRow:
    """One group's rate in the previous and the newest round, and its change."""

    key: str
    text: str
    previous: Rate | None
    current: Rate | None
    change: Change | None
    previous_weighted: Estimate | None = None  # when both rounds are weighted, the figures compared
    current_weighted: Estimate | None = None

    @property
    def previous_value(self) -> float | None:
        """The previous round's figure as compared: weighted when both rounds are."""
        if self.previous_weighted is not None:
            return self.previous_weighted.estimate
        return self.previous.value if self.previous else None

    @property
    def current_value(self) -> float | None:
        if self.current_weighted is not None:
            return self.current_weighted.estimate
        return self.current.value if self.current else None


@dataclass(frozen=True)
class GroupComparison:
    """One rate by one group across the last two rounds, and the newest round's ranking of the groups."""

    group_key: str
    group_text: str
    question_key: str
    rows: list[GroupRow]
    ranking: list[RankRow]


@dataclass(frozen=True)
class OverallSeries:
    """The overall figure across the rounds (value per round) and its latest change."""

    values: list[tuple[str, float | None]]
    change: Change | None
    weighted: list[tuple[str, float | None]] = field(default_factory=list)
    weighted_change: Change | None = None

    @property
    def headline_change(self) -> Change | None:
        return self.weighted_change or self.change


@dataclass(frozen=True)
class SeriesComparison:
    labels: list[str]  # oldest first
    rates: list[RateSeries]
    overall: OverallSeries | None
    groups: list[GroupComparison]
    small_n: int


def _rate_of(results: Results, key: str | None) -> Rate | None:
    if key is None:
        return None
    return next((s.rate for s in results.questions if s.question["key"] == key), None)


def _weighted_of(results: Results, key: str | None) -> Estimate | None:
    if key is None or results.weighted is None:
        return None
    return results.weighted.rates.get(key)


def compare_rounds(
    rounds: Sequence[tuple[str, Results]], mappings: Sequence[Mapping[str, str]], small_n: int = 30
) -> SeriesComparison:
    """Every rate of the newest round across ``rounds`` (oldest first). ``mappings[i]`` maps the newest round's
    question keys to round i's (the newest round's own mapping is the identity)."""
    labels = [label for label, _results in rounds]
    newest = rounds[-1][1]
    series = []
    for summary in newest.questions:
        if summary.rate is None:
            continue
        key = summary.question["key"]
        figures = [
            RoundFigure(label, _rate_of(results, mapping.get(key)), _weighted_of(results, mapping.get(key)))
            for (label, results), mapping in zip(rounds, mappings, strict=True)
        ]
        series.append(_rate_series(summary.question, summary.rate, figures, small_n))
    previous_results, previous_mapping = (rounds[-2][1], mappings[-2]) if len(rounds) > 1 else (None, {})
    return SeriesComparison(
        labels=labels,
        rates=series,
        overall=_overall(rounds, small_n),
        groups=_groups(previous_results, newest, previous_mapping, small_n) if previous_results else [],
        small_n=small_n,
    )


def _rate_series(question: dict, rate: Rate, figures: list[RoundFigure], small_n: int) -> RateSeries:
    before, now = (figures[-2], figures[-1]) if len(figures) > 1 else (None, figures[-1])
    change = rate_change(before.rate, now.rate, small_n) if before and before.rate and now.rate else None
    weighted = (
        estimate_change(before.weighted, now.weighted, small_n)
        if before and _usable(before.weighted) and _usable(now.weighted)
        else None
    )
    return RateSeries(question["key"], question["number"], question["text"], rate, figures, change, weighted)


def _overall(rounds: Sequence[tuple[str, Results]], small_n: int) -> OverallSeries | None:
    """The overall figure of each round and its change, from the rounds' own definitions of it."""
    values = [(label, r.overall.value if r.overall else None) for label, r in rounds]
    if all(value is None for _label, value in values):
        return None
    weighted = [
        (label, r.weighted.overall.estimate if r.weighted and r.weighted.overall else None) for label, r in rounds
    ]
    change = weighted_change = None
    if len(rounds) > 1:
        before, now = rounds[-2][1], rounds[-1][1]
        change = _overall_change(before, now, small_n)
        if before.weighted and now.weighted:
            if _usable(before.weighted.overall) and _usable(now.weighted.overall):
                weighted_change = estimate_change(before.weighted.overall, now.weighted.overall, small_n)
    return OverallSeries(values, change, weighted if any(v is not None for _l, v in weighted) else [], weighted_change)


def _weighted_overall(results: Results) -> float | None:
    weighted = results.weighted
    return weighted.overall.estimate if weighted and weighted.overall else None


def _single_rate(results: Results) -> Rate | None:
    """The one rate an overall figure rests on (a question's, or a "mean" of one item), else ``None``."""
    overall = results.overall
    if overall.method == "question":
        return overall.rate
    return overall.items[0] if len(overall.items) == 1 else None


def _overall_change(before: Results, now: Results, small_n: int) -> Change | None:
    """An overall resting on one rate in both rounds: Newcombe on its counts, as every rate; a mean of several rates:
    the normal difference of the linearised estimates (``overall_se``). A round whose SE is 0 (every answer alike,
    as in a round of three) gives no change: a normal interval of width 0 would call any difference significant."""
    if before.overall is None or now.overall is None:
        return None
    rates = (_single_rate(before), _single_rate(now))
    if all(rate is not None for rate in rates):
        return rate_change(*rates, small_n) if all(rate.denominator for rate in rates) else None
    if before.overall.method == "question" or now.overall.method == "question":
        return None
    if before.overall_estimate is None or now.overall_estimate is None:
        return None
    if not (_usable(before.overall_estimate) and _usable(now.overall_estimate)):
        return None
    return estimate_change(before.overall_estimate, now.overall_estimate, small_n)


def _usable(estimate: Estimate | None) -> bool:
    """An estimate a normal comparison can rest on: a figure and a positive standard error."""
    return estimate is not None and estimate.estimate is not None and bool(estimate.standard_error)


def _groups(before: Results, now: Results, mapping: Mapping[str, str], small_n: int) -> list[GroupComparison]:
    """Each rated question by each group present in both rounds (same group question key, options by key)."""
    result = []
    previous = {b.group.get("key"): b for b in before.breakdowns}
    for breakdown in now.breakdowns:
        old = previous.get(breakdown.group.get("key"))
        if old is None:
            continue
        rated_now = [s.question["key"] for s in now.questions if s.rate is not None]
        rated_before = [s.question["key"] for s in before.questions if s.rate is not None]
        for position, key in enumerate(rated_now):
            if mapping.get(key) not in rated_before:
                continue
            old_position = rated_before.index(mapping[key])
            comparison = _group_comparison(breakdown, old, key, position, old_position, small_n)
            result.append(_weighted_groups(comparison, before, now, mapping[key], small_n))
    return result


def _weighted_rows(results: Results, group_key: str, question_key: str) -> dict[str, Estimate]:
    """Each group's weighted estimate of one question, by the group's option key."""
    if results.weighted is None:
        return {}
    breakdown = next((b for b in results.weighted.breakdowns if b.group_key == group_key), None)
    if breakdown is None:
        return {}
    return {row.key: row.rates[question_key] for row in breakdown.rows if question_key in row.rates}


def _weighted_groups(
    comparison: GroupComparison, before: Results, now: Results, old_key: str, small_n: int
) -> GroupComparison:
    """When both rounds are weighted, each group's change and the ranking use the weighted figures and their SEs
    (the groups are domains of each round's calibrated design); otherwise the comparison is left as counted."""
    current = _weighted_rows(now, comparison.group_key, comparison.question_key)
    previous = _weighted_rows(before, comparison.group_key, old_key)
    if not current or not previous:
        return comparison
    rows = []
    for row in comparison.rows:
        w_now, w_before = current.get(row.key), previous.get(row.key)
        change = estimate_change(w_before, w_now, small_n) if _usable(w_before) and _usable(w_now) else row.change
        rows.append(GroupRow(row.key, row.text, row.previous, row.current, change, w_before, w_now))
    values = {row.text: row.current_value for row in rows}
    small = {row.text: bool(row.current and row.current.denominator < small_n) for row in rows}
    return GroupComparison(
        comparison.group_key, comparison.group_text, comparison.question_key, rows, rank(values, small)
    )


def _group_comparison(breakdown, old, key: str, position: int, old_position: int, small_n: int) -> GroupComparison:
    before_rows = {row.key: row for row in old.rows}
    rows = []
    for row in breakdown.rows:
        current = row.rates[position] if row.rates else None
        prior_row = before_rows.get(row.key)
        prior = prior_row.rates[old_position] if prior_row and prior_row.rates else None
        usable = current is not None and prior is not None and current.denominator and prior.denominator
        change = rate_change(prior, current, small_n) if usable else None
        rows.append(GroupRow(row.key, row.text, prior, current, change))
    values = {row.text: row.current.value if row.current else None for row in rows}
    small = {row.text: bool(row.current and row.current.denominator < small_n) for row in rows}
    return GroupComparison(breakdown.group.get("key"), breakdown.group.get("text", ""), key, rows, rank(values, small))
