"""Weighted figures beside the unweighted ones: the same rates, indices and breakdowns, each respondent counted
by the weight that makes the sample stand for its population (``analysis.weighting``).

The questionnaire's population tables come in as ``PopulationMargin``s keyed by option keys; each response's
cell is read from the frame's categorical codes, so a million responses are weighted without a Python object
each. What the weights rest on is said in ``WeightedFigures``: the method, the tables, the convergence, the
trimming, the weights' distribution (Kish's design effect, the effective n) and any cell whose weight "explodes"
(few respondents standing for many people). A rate's weighted figure uses the same base as its unweighted one
(don't-know answers left out or counted as not satisfied by the same rules), so the two differ by the weights
alone. Option shares are weighted point estimates; rates, indices, dimensions, the overall figure and breakdown
cells carry a Taylor-linearised standard error on the calibrated design and a logit-scale interval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from analysis.breakdown import group_codes
from analysis.index import scored_options
from analysis.lazy import lazy_module
from analysis.rates import QuestionSummary, dont_know_rule
from analysis.weighting import (
    Estimate,
    Margin,
    WeightingError,
    Weights,
    WeightSummary,
    domain_shares,
    poststratify,
    rake,
    summarize,
    trim_and_rake,
    weighted_combination,
    weighted_share,
)

np = lazy_module("numpy")
pd = lazy_module("pandas")

METHODS = ("poststratify", "rake")
TRIMS = ("none", "bounds", "median")
# A cell "explodes" when fewer than this many respondents stand for at least EXPLODING_SHARE of the population,
# or when its respondents' weights are more than EXPLODING_RATIO times the mean weight: one answer then moves a
# county figure by whole percentage points. Flagged by name, never silently dropped or capped.
FEW_RESPONDENTS = 5
EXPLODING_SHARE = 0.05
EXPLODING_RATIO = 5.0


@dataclass(frozen=True)
class PopulationMargin:
    """One population table: its group questions (schema dicts) and the people in each cell of their options."""

    name: str
    questions: tuple[dict, ...]
    counts: Mapping[tuple[str, ...], float]  # one option key per question → people
    source: str = ""


@dataclass(frozen=True)
class WeightingSpec:
    """How to weight: ``poststratify`` on one table or ``rake`` on all, with optional trimming."""

    method: str
    margins: tuple[PopulationMargin, ...]
    tolerance: float = 1e-6
    max_iterations: int = 100
    trim: str = "none"
    trim_low: float | None = None
    trim_high: float | None = None
    trim_multiple: float | None = None


@dataclass(frozen=True)
class CellWeight:
    """One category of a margin: its respondents, its people, and the weight each respondent carries."""

    margin: str
    label: str
    respondents: int
    population: float
    population_share: float
    sample_share: float
    mean_weight: float
    exploding: bool


@dataclass(frozen=True)
class WeightedRow:
    """One group (a 乡镇, an age band, a channel) in a weighted breakdown."""

    key: str
    text: str
    respondents: int
    rates: dict[str, Estimate]


@dataclass(frozen=True)
class WeightedBreakdown:
    group_key: str
    rows: list[WeightedRow]


@dataclass(frozen=True)
class WeightedFigures:
    """Every weighted figure of a questionnaire, and what the weights rest on."""

    spec: WeightingSpec
    weights: Weights
    summary: WeightSummary
    cells: list[CellWeight]
    rates: dict[str, Estimate]  # rated question key → weighted rate
    indexes: dict[str, Estimate]  # scored question key → weighted index on 0–1 (× 100 when shown)
    shares: dict[str, list[float | None]]  # single-answer question key → weighted share of each option
    dimensions: dict[str, Estimate] = field(default_factory=dict)
    overall: Estimate | None = None
    overall_index: Estimate | None = None
    breakdowns: list[WeightedBreakdown] = field(default_factory=list)

    @property
    def exploding(self) -> list[CellWeight]:
        return [cell for cell in self.cells if cell.exploding]


# ---------------------------------------------------------------------------------------------------------------
# Weights from the frame


def cell_label(question_options: Sequence[Sequence[dict]], keys: tuple[str, ...]) -> str:
    """A cell as a person reads it: the options' texts joined by " × " (城关镇 × 男)."""
    texts = [
        next((o["text"] for o in options if o["key"] == key), key)
        for options, key in zip(question_options, keys, strict=True)
    ]
    return " × ".join(texts)


def margin_cells(frame: pd.DataFrame, margin: PopulationMargin) -> tuple[pd.Categorical, dict[str, float]]:
    """Each response's cell of ``margin`` as a categorical of readable labels (城关镇 × 男), and the population
    counts under the same labels. A response that left one of the questions unanswered has no cell."""
    options = [q["options"] for q in margin.questions]
    combined = np.zeros(len(frame), dtype=np.int64)
    missing = np.zeros(len(frame), dtype=bool)
    for question in margin.questions:
        codes = group_codes(frame[question["key"]], question["options"])
        missing |= codes < 0
        combined = combined * len(question["options"]) + np.maximum(codes, 0)
    combined[missing] = -1
    every = list(every_cell(options))
    labels = [cell_label(options, keys) for keys in every]
    population = {label: float(margin.counts.get(keys, 0.0)) for label, keys in zip(labels, every, strict=True)}
    return pd.Categorical.from_codes(combined, categories=labels), population


def every_cell(options: Sequence[Sequence[dict]]) -> list[tuple[str, ...]]:
    """Every combination of option keys, in the order ``margin_cells`` numbers them."""
    cells: list[tuple[str, ...]] = [()]
    for choices in options:
        cells = [cell + (o["key"],) for cell in cells for o in choices]
    return cells


def compute_weights(frame: pd.DataFrame, spec: WeightingSpec) -> Weights:
    """The calibrated weights of the valid responses; ``WeightingError`` names what stops them."""
    if spec.method not in METHODS:
        raise WeightingError("未知的加权方法：%(method)s", method=spec.method)
    if not spec.margins:
        raise WeightingError("没有选择用于加权的人口表")
    if spec.method == "poststratify" and len(spec.margins) != 1:
        raise WeightingError("事后分层只能用一张人口表；多张表请用迭代加权（raking）")
    cells = {margin.name: margin_cells(frame, margin) for margin in spec.margins}
    labels = {name: cell for name, (cell, _) in cells.items()}
    populations = {name: population for name, (_, population) in cells.items()}
    if spec.trim != "none":
        return trim_and_rake(
            labels,
            populations,
            lower=spec.trim_low if spec.trim == "bounds" else None,
            upper=spec.trim_high if spec.trim == "bounds" else None,
            median_multiple=spec.trim_multiple if spec.trim == "median" else None,
            tolerance=spec.tolerance,
            max_iterations=spec.max_iterations,
        )
    if spec.method == "poststratify":
        (name,) = labels
        return poststratify(labels[name], populations[name], name=name)
    return rake(labels, populations, tolerance=spec.tolerance, max_iterations=spec.max_iterations)


def cell_weights(weights: Weights) -> list[CellWeight]:
    """Each margin category's respondents, people and weight, with the exploding ones marked."""
    mean = float(weights.weights.mean())
    result = []
    for margin in weights.margins:
        k = margin.population.size
        respondents = np.bincount(margin.codes, minlength=k)
        totals = np.bincount(margin.codes, weights=weights.weights, minlength=k)
        people = float(margin.population.sum())
        for label, n, count, total in zip(margin.categories, respondents, margin.population, totals, strict=True):
            share = float(count) / people
            cell_mean = float(total) / int(n)
            result.append(
                CellWeight(
                    margin=margin.name,
                    label=str(label),
                    respondents=int(n),
                    population=float(count),
                    population_share=share,
                    sample_share=int(n) / weights.n,
                    mean_weight=cell_mean,
                    exploding=(n < FEW_RESPONDENTS and share >= EXPLODING_SHARE) or cell_mean > EXPLODING_RATIO * mean,
                )
            )
    return result


# ---------------------------------------------------------------------------------------------------------------
# Figures


def rate_parts(question: dict, column: pd.Series, dont_know_policy: str) -> tuple[np.ndarray, np.ndarray]:
    """y (1 for a positive option) and the rate's base, by the same rules as ``analysis.rates.rate_from_counts``:
    answered, minus don't-know options whose rule is ``exclude``."""
    options = question["options"]
    codes = group_codes(column, options)
    answered = codes >= 0
    at = np.maximum(codes, 0)
    positive = np.array([bool(o.get("positive")) for o in options])
    counted = np.array([dont_know_rule(o, dont_know_policy) != "exclude" for o in options])
    return (answered & positive[at]).astype(float), answered & counted[at]


def index_parts(question: dict, column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Each answer's score rescaled to 0–1 by the item's score range, and the scored answers (the index's base),
    as ``analysis.index.item_index`` defines them."""
    scores = scored_options(question)
    low, high = min(scores.values()), max(scores.values())
    options = question["options"]
    codes = group_codes(column, options)
    scaled = np.array([(scores[o["key"]] - low) / (high - low) if o["key"] in scores else np.nan for o in options])
    values = np.where(codes >= 0, scaled[np.maximum(codes, 0)], np.nan)
    base = ~np.isnan(values)
    return np.where(base, values, 0.0), base


def option_shares(question: dict, column: pd.Series, weights: Weights) -> list[float | None]:
    """Each option's weighted share of the answers to a single-answer question (Σw of its choosers / Σw of all
    who answered): the weighted counterpart of the distribution table's percentages."""
    codes = group_codes(column, question["options"])
    answered = codes >= 0
    totals = np.bincount(codes[answered], weights=weights.weights[answered], minlength=len(question["options"]))
    total = float(totals.sum())
    return [float(t) / total if total else None for t in totals]


def weighted_figures(
    frame: pd.DataFrame,
    spec: WeightingSpec,
    summaries: list[QuestionSummary],
    dont_know_policy: str,
    overall: dict | None,
    groups: list[dict],
) -> WeightedFigures:
    """The weighted counterpart of every rate, index, option share, dimension, overall figure and breakdown."""
    weights = compute_weights(frame, spec)
    rated = [s.question for s in summaries if s.rate is not None]
    scored = [s.question for s in summaries if s.index is not None]
    parts = {q["key"]: rate_parts(q, frame[q["key"]], dont_know_policy) for q in rated}
    scores = {q["key"]: index_parts(q, frame[q["key"]]) for q in scored}
    rates = {key: weighted_share(weights, y, base) for key, (y, base) in parts.items()}
    indexes = {key: weighted_share(weights, y, base) for key, (y, base) in scores.items()}
    return WeightedFigures(
        spec=spec,
        weights=weights,
        summary=summarize(weights),
        cells=cell_weights(weights),
        rates=rates,
        indexes=indexes,
        shares={
            s.question["key"]: option_shares(s.question, frame[s.question["key"]], weights)
            for s in summaries
            if s.question["storage"] == "one"
        },
        dimensions=_dimensions(weights, summaries, parts),
        overall=_overall(weights, summaries, parts, overall),
        overall_index=_mean(weights, list(scores.values())),
        breakdowns=[_breakdown(frame, weights, group, rated, parts) for group in groups if rated],
    )


def unit_weights(n: int) -> Weights:
    """Every response counted once and no calibration: the design of an unweighted sample, on which
    ``weighting.weighted_combination`` gives the usual (with-replacement) linearised SE of a mean of rates."""
    ones = np.ones(n)
    margin = Margin("all", np.zeros(n, dtype=np.int64), ("all",), np.array([float(n)]), ones)
    return Weights(weights=ones, method="poststratify", margins=(margin,), base_weights=ones)


def unweighted_overall(
    frame: pd.DataFrame, summaries: list[QuestionSummary], dont_know_policy: str, overall: dict | None
) -> Estimate | None:
    """The unweighted overall figure with its SE, so that rounds can compare an overall defined as a mean of
    item rates, where no single count exists (``analysis.series``)."""
    if len(frame) < 2:
        return None
    rated = [s.question for s in summaries if s.rate is not None]
    parts = {q["key"]: rate_parts(q, frame[q["key"]], dont_know_policy) for q in rated}
    return _overall(unit_weights(len(frame)), summaries, parts, overall)


def _mean(weights: Weights, parts: list[tuple[np.ndarray, np.ndarray]], domain=None) -> Estimate | None:
    """The unweighted mean of several weighted rates (or indices), with its SE."""
    return weighted_combination(weights, parts, [1.0 / len(parts)] * len(parts), domain) if parts else None


def _dimensions(weights: Weights, summaries: list[QuestionSummary], parts: dict) -> dict[str, Estimate]:
    """A dimension's rate is the mean of its items' rates, weighted as the unweighted one is (equally)."""
    names = list(dict.fromkeys(s.question["dimension"] for s in summaries if s.question.get("dimension")))
    result = {}
    for name in names:
        members = [parts[s.question["key"]] for s in summaries if s.question.get("dimension") == name and s.rate]
        estimate = _mean(weights, members)
        if estimate is not None:
            result[name] = estimate
    return result


def _overall(weights: Weights, summaries: list[QuestionSummary], parts: dict, overall: dict | None) -> Estimate | None:
    """The overall figure by the questionnaire's own definition (``analysis.results.overall_rate``)."""
    overall = overall or {"method": "mean"}
    if overall.get("method") == "question":
        key = overall.get("question")
        return weighted_share(weights, *parts[key]) if key in parts else None
    if overall.get("method") == "weighted":
        coefficients = overall.get("weights") or {}
        keys = [s.question["key"] for s in summaries if s.rate is not None and s.question["key"] in coefficients]
        if not keys:
            return None
        total = sum(float(coefficients[k]) for k in keys)  # as analysis.results.mean_of_rates: Σc·p / Σc
        return weighted_combination(weights, [parts[k] for k in keys], [float(coefficients[k]) / total for k in keys])
    measure = overall.get("measure", "satisfaction")
    keys = [s.question["key"] for s in summaries if s.rate is not None and s.rate.measure == measure]
    return _mean(weights, [parts[k] for k in keys])


def _breakdown(frame: pd.DataFrame, weights: Weights, group: dict, rated: list[dict], parts: dict) -> WeightedBreakdown:
    """Each group's weighted rates: the group is a domain of the whole calibrated design, not re-weighted."""
    codes = group_codes(frame[group["key"]], group["options"])
    size = len(group["options"])
    respondents = np.bincount(codes[codes >= 0], minlength=size)
    cells = {q["key"]: domain_shares(weights, *parts[q["key"]], codes, size) for q in rated}
    rows = [
        WeightedRow(option["key"], option["text"], int(respondents[g]), {key: cells[key][g] for key in cells})
        for g, option in enumerate(group["options"])
    ]
    return WeightedBreakdown(group["key"], rows)
