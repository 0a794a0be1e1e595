"""Assemble a questionnaire's results: counts, per-question summaries and the overall rate."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from analysis.breakdown import GroupRow, rates_by_group
from analysis.frame import answers_frame, other_column
from analysis.numbers import percent, percent_of
from analysis.rates import QuestionSummary, Rate, summarise_question


@dataclass(frozen=True)
class Overall:
    """The overall figure and how it was obtained (one question's rate, or the mean of item rates)."""

    method: str
    rate: Rate | None  # for method "question"
    items: list[Rate]  # for method "mean": the rates averaged

    @property
    def exact(self) -> Fraction | None:
        """The overall share as an exact fraction, so a mean of rates rounds like a hand count."""
        if self.method == "question":
            return (
                Fraction(self.rate.numerator, self.rate.denominator)
                if self.rate and self.rate.denominator
                else None
            )
        shares = [Fraction(r.numerator, r.denominator) for r in self.items if r.denominator]
        return sum(shares, Fraction(0)) / len(shares) if shares else None

    @property
    def value(self) -> float | None:
        exact = self.exact
        return None if exact is None else float(exact)

    @property
    def percent(self) -> str | None:
        return percent_of(self.exact)

    @property
    def small_sample(self) -> bool:
        """True when any figure the overall rests on is a small-sample figure."""
        rates = [self.rate] if self.method == "question" and self.rate else self.items
        return any(r.small_sample for r in rates)


@dataclass(frozen=True)
class Results:
    """Everything the results page, the CLI and exports need for one questionnaire."""

    returned: int  # 回收
    valid: int  # 有效
    excluded: int
    issued: int | None  # 发放
    questions: list[QuestionSummary]
    overall: Overall | None
    breakdowns: list[tuple[dict, list[GroupRow]]] = field(default_factory=list)
    flagged: int = 0  # valid responses carrying a quality flag, waiting for the evaluator's review

    @property
    def return_rate(self) -> str | None:  # 回收率 = 回收 / 发放
        return percent(self.returned, self.issued) if self.issued else None

    @property
    def valid_rate(self) -> str | None:  # 有效回收率 = 有效 / 发放
        return percent(self.valid, self.issued) if self.issued else None

    @property
    def rates(self) -> list[Rate]:
        return [s.rate for s in self.questions if s.rate is not None]


CHANNEL_COLUMN = "__channel"


def compute_results(
    schema: list[dict],
    settings: dict,
    records: list[dict],
    issued: int | None = None,
    small_n: int = 30,
    channel_group: dict | None = None,
) -> Results:
    """Results over ``records`` (dicts with ``status`` and ``answers``); only valid ones are analysed.

    ``channel_group`` (``{"text": …, "options": [{"key": code, "text": name}]}``) adds a breakdown
    by channel, computed like a respondent-group breakdown.
    """
    valid = [r for r in records if r["status"] == "valid"]
    valid_answers = [r["answers"] for r in valid]
    frame = answers_frame(schema, valid_answers)
    frame[CHANNEL_COLUMN] = [r.get("channel") for r in valid]
    policy = settings.get("dont_know", "exclude")
    summaries = [
        summarise_question(q, frame[q["key"]], policy, small_n, frame.get(other_column(q))) for q in schema
    ]
    rated = [s.question for s in summaries if s.rate is not None]
    groups = [q for q in schema if q.get("group")]
    if channel_group:
        groups.append({**channel_group, "key": CHANNEL_COLUMN})
    breakdowns = [(g, rates_by_group(frame, g, rated, policy, small_n)) for g in groups if rated]
    return Results(
        returned=len(records),
        valid=len(valid_answers),
        excluded=len(records) - len(valid_answers),
        issued=issued,
        questions=summaries,
        overall=overall_rate(settings, summaries),
        breakdowns=breakdowns,
        flagged=sum(1 for r in records if r["status"] == "valid" and r.get("flags")),
    )


def overall_rate(settings: dict, summaries: list[QuestionSummary]) -> Overall | None:
    """The overall satisfaction as the questionnaire defines it; ``None`` when it rates nothing."""
    overall = settings.get("overall") or {"method": "mean"}
    if overall.get("method") == "question":
        rate = next((s.rate for s in summaries if s.question["key"] == overall.get("question")), None)
        return Overall("question", rate, [])
    measure = overall.get("measure", "satisfaction")
    items = [s.rate for s in summaries if s.rate is not None and s.rate.measure == measure]
    return Overall("mean", None, items) if items else None
