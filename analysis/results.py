"""Assemble a questionnaire's results: counts, per-question summaries, dimensions, the overall
figure, the satisfaction index, reliability, breakdowns with tests, and the sample a precision needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from analysis.association import TestResult, association_test
from analysis.breakdown import GroupRow, distribution_tests, rates_by_group
from analysis.frame import answers_frame, other_column, scores_of
from analysis.index import mean_index, scored_options
from analysis.lazy import lazy_module
from analysis.numbers import percent, percent_of
from analysis.rates import QuestionSummary, Rate, summarise_question
from analysis.reliability import ScaleReliability, Sphericity, scale_reliability, sphericity
from analysis.uncertainty import required_sample
from analysis.weighted_results import WeightedFigures, WeightingSpec, unweighted_overall, weighted_figures
from analysis.weighting import Estimate, WeightingError

pd = lazy_module("pandas")

CHANNEL_COLUMN = "__channel"


def mean_of_rates(rates: list[Rate], weights: list[float] | None = None) -> Fraction | None:
    """The (weighted) mean of item rates as an exact fraction, so it rounds like a hand count."""
    pairs = [
        (Fraction(r.numerator, r.denominator), Fraction(w))
        for r, w in zip(rates, weights or [1] * len(rates), strict=True)
        if r.denominator
    ]
    total = sum((w for _, w in pairs), Fraction(0))
    return sum((share * w for share, w in pairs), Fraction(0)) / total if total else None


@dataclass(frozen=True)
class Overall:
    """The overall figure and how it was obtained: one question's rate, or a (weighted) mean of item rates."""

    method: str  # question / mean / weighted
    rate: Rate | None  # for method "question"
    items: list[Rate]  # for "mean" and "weighted": the rates combined
    weights: list[float] = field(default_factory=list)  # for "weighted", aligned with items

    @property
    def exact(self) -> Fraction | None:
        if self.method == "question":
            return Fraction(self.rate.numerator, self.rate.denominator) if self.rate and self.rate.denominator else None
        return mean_of_rates(self.items, self.weights or None)

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
class Dimension:
    """Items sharing a dimension tag: their mean rate, mean index and reliability."""

    name: str
    keys: list[str]
    rates: list[Rate]
    index: float | None
    reliability: ScaleReliability | None

    @property
    def exact(self) -> Fraction | None:
        return mean_of_rates(self.rates)

    @property
    def percent(self) -> str | None:
        return percent_of(self.exact)


@dataclass(frozen=True)
class Breakdown:
    """Rates of the rated questions by a group (a respondent-group question or the channel), with tests."""

    group: dict
    rows: list[GroupRow]
    tests: dict[str, TestResult | None]  # question key -> test of positive share across groups
    distribution_tests: dict[str, TestResult | None] = field(default_factory=dict)  # whole option tables


@dataclass(frozen=True)
class Results:
    """Everything the results page, the CLI and exports need for one questionnaire."""

    returned: int  # 回收
    valid: int  # 有效
    excluded: int
    issued: int | None  # 发放
    questions: list[QuestionSummary]
    overall: Overall | None
    breakdowns: list[Breakdown] = field(default_factory=list)
    flagged: int = 0  # valid responses carrying a quality flag, waiting for the evaluator's review
    dimensions: list[Dimension] = field(default_factory=list)
    overall_index: float | None = None
    scale: ScaleReliability | None = None
    validity: Sphericity | None = None
    population: int | None = None
    exclusion_reasons: dict[str, int] = field(default_factory=dict)
    # Figures weighted to the population, when the questionnaire has a weighting scheme that could be applied;
    # otherwise ``weighting_error`` says why not (the unweighted figures stand either way).
    weighted: WeightedFigures | None = None
    weighting_error: WeightingError | None = None
    overall_estimate: Estimate | None = None  # the overall with its SE, computed when rounds are compared
    rounds: Any = None  # analysis.series.SeriesComparison when the questionnaire is a round of a series

    @property
    def return_rate(self) -> str | None:  # 回收率 = 回收 / 发放
        return percent(self.returned, self.issued) if self.issued else None

    @property
    def valid_rate(self) -> str | None:  # 有效回收率 = 有效 / 发放
        return percent(self.valid, self.issued) if self.issued else None

    @property
    def rates(self) -> list[Rate]:
        return [s.rate for s in self.questions if s.rate is not None]

    @property
    def required_samples(self) -> dict[str, int]:
        """Respondents needed for ±5% and ±3% at 95% (p = 0.5), finite-population corrected if N is known."""
        return {"5": required_sample(0.05, self.population), "3": required_sample(0.03, self.population)}


@dataclass(frozen=True)
class ResponseSet:
    """What analysis needs of a questionnaire's responses: the valid ones as a frame, the rest as counts."""

    frame: pd.DataFrame  # valid responses, one column per answer key, plus CHANNEL_COLUMN
    returned: int
    exclusion_reasons: dict[str, int]
    flagged: int  # valid responses carrying a quality flag


def response_set(schema: list[dict], records: list[dict]) -> ResponseSet:
    """A ``ResponseSet`` from record dicts (``status``, ``answers``, optional ``channel``, ``flags``,
    ``exclusion_reason``): the simple path, used by tests and small sets."""
    valid = [r for r in records if r["status"] == "valid"]
    frame = answers_frame(schema, [r["answers"] for r in valid])
    frame[CHANNEL_COLUMN] = pd.Series([r.get("channel") for r in valid], dtype="object")
    return ResponseSet(frame, len(records), _exclusion_reasons(records), sum(1 for r in valid if r.get("flags")))


def compute_results(
    schema: list[dict],
    settings: dict,
    responses: ResponseSet | list[dict],
    issued: int | None = None,
    small_n: int = 30,
    channel_group: dict | None = None,
    weighting: WeightingSpec | None = None,
    overall_se: bool = False,
) -> Results:
    """Results over the responses; only valid ones are analysed.

    ``responses`` is a ``ResponseSet`` or a list of record dicts. ``channel_group`` (``{"text": …,
    "options": [{"key": code, "text": name}]}``) adds a breakdown by channel, computed like a
    respondent-group breakdown. ``weighting`` adds the weighted figures beside the unweighted ones.
    """
    if not isinstance(responses, ResponseSet):
        responses = response_set(schema, responses)
    frame = responses.frame
    policy, population = settings.get("dont_know", "exclude"), settings.get("population")
    summaries = [
        summarise_question(q, frame[q["key"]], policy, small_n, frame.get(other_column(q)), population) for q in schema
    ]
    scored = [s for s in summaries if s.index is not None]
    weighted, weighting_error = None, None
    if weighting is not None and len(frame):
        try:
            groups = _groups(schema, channel_group)
            weighted = weighted_figures(frame, weighting, summaries, policy, settings.get("overall"), groups)
        except WeightingError as error:
            weighting_error = error
    return Results(
        returned=responses.returned,
        valid=len(frame),
        excluded=responses.returned - len(frame),
        issued=issued,
        questions=summaries,
        overall=overall_rate(settings, summaries),
        breakdowns=_breakdowns(frame, schema, summaries, channel_group, policy, small_n),
        flagged=responses.flagged,
        dimensions=_dimensions(frame, summaries),
        overall_index=mean_index([s.index for s in scored]),
        scale=scale_reliability(score_frame(frame, [s.question for s in scored])) if len(scored) >= 2 else None,
        validity=sphericity(score_frame(frame, [s.question for s in scored])) if scored else None,
        population=population,
        exclusion_reasons=responses.exclusion_reasons,
        weighted=weighted,
        weighting_error=weighting_error,
        overall_estimate=unweighted_overall(frame, summaries, policy, settings.get("overall")) if overall_se else None,
    )


def _groups(schema: list[dict], channel_group: dict | None) -> list[dict]:
    """The groups results are broken down by: respondent-group questions, then the channel if given."""
    groups = [q for q in schema if q.get("group")]
    if channel_group:
        groups.append({**channel_group, "key": CHANNEL_COLUMN})
    return groups


def score_frame(frame: pd.DataFrame, questions: list[dict]) -> pd.DataFrame:
    """Option scores of scored items, one column per item; don't-know and unanswered are missing."""
    return pd.DataFrame({q["key"]: scores_of(frame[q["key"]], scored_options(q)) for q in questions})


def _dimensions(frame: pd.DataFrame, summaries: list[QuestionSummary]) -> list[Dimension]:
    names = list(dict.fromkeys(s.question["dimension"] for s in summaries if s.question.get("dimension")))
    result = []
    for name in names:
        members = [s for s in summaries if s.question.get("dimension") == name]
        scored = [s.question for s in members if s.index is not None]
        reliability = scale_reliability(score_frame(frame, scored)) if len(scored) >= 2 else None
        result.append(
            Dimension(
                name,
                [s.question["key"] for s in members],
                [s.rate for s in members if s.rate],
                mean_index([s.index for s in members if s.index]),
                reliability,
            )
        )
    return result


def _breakdowns(frame, schema, summaries, channel_group, policy, small_n) -> list[Breakdown]:
    rated = [s.question for s in summaries if s.rate is not None]
    groups = _groups(schema, channel_group)
    scored = [s.question for s in summaries if s.index is not None]
    single = [s.question for s in summaries if s.question["storage"] == "one" and not s.question.get("group")]
    result = []
    for group in groups if rated or scored else []:
        rows = rates_by_group(frame, group, rated, policy, small_n, scored)
        tests = {}
        for position, question in enumerate(rated):
            table = [
                [r.rates[position].numerator, r.rates[position].denominator - r.rates[position].numerator] for r in rows
            ]
            tests[question["key"]] = association_test(table)
        result.append(Breakdown(group, rows, tests, distribution_tests(frame, group, single)))
    return result


def _exclusion_reasons(records: list[dict]) -> dict[str, int]:
    reasons: dict[str, int] = {}
    for record in records:
        if record["status"] != "valid":
            reason = record.get("exclusion_reason") or ""
            reasons[reason] = reasons.get(reason, 0) + 1
    return reasons


def overall_rate(settings: dict, summaries: list[QuestionSummary]) -> Overall | None:
    """The overall satisfaction as the questionnaire defines it; ``None`` when it rates nothing."""
    overall = settings.get("overall") or {"method": "mean"}
    if overall.get("method") == "question":
        rate = next((s.rate for s in summaries if s.question["key"] == overall.get("question")), None)
        return Overall("question", rate, [])
    if overall.get("method") == "weighted":
        weights = overall.get("weights") or {}
        items = [s.rate for s in summaries if s.rate is not None and s.question["key"] in weights]
        return Overall("weighted", None, items, [weights[r.question_key] for r in items]) if items else None
    measure = overall.get("measure", "satisfaction")
    items = [s.rate for s in summaries if s.rate is not None and s.rate.measure == measure]
    return Overall("mean", None, items) if items else None
