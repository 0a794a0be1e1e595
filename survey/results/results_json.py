"""Results as data: the documented JSON (``docs/analysis.md``) behind ``flask results --json``,
the results page's charts and the read API. Same numbers as the page, from the same ``Results``.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from analysis.association import TestResult
from analysis.numbers import finite_data, percent_of
from analysis.rates import QuestionSummary, Rate
from analysis.reliability import alpha_band
from analysis.results import Results
from analysis.rounds import Change, change_words
from analysis.series import SeriesComparison
from analysis.weighted_results import WeightedFigures
from analysis.weighting import Estimate
from survey.models import Questionnaire
from survey.results.presenting import (
    estimate_definition,
    rate_definition,
    rate_name,
    weighting_method_name,
    weighting_problem,
    weighting_sentence,
)

SCHEMA_VERSION = 2  # 2: margin_of_error replaced by ci95_half_widths and max_margin_of_error


# Why a test's statistic is missing (``TestResult.statistic_note``), in words.
STATISTIC_NOTES = {"zero_cell": _l("无法计算：有一格为 0，优势比为无穷大")}


def test_dict(test: TestResult | None) -> dict[str, Any] | None:
    """A test of association as data; a statistic that cannot be given says why in ``statistic_note``."""
    if test is None:
        return None
    data = test.__dict__.copy()
    if test.statistic_note is not None:
        data["statistic_note"] = str(STATISTIC_NOTES.get(test.statistic_note, test.statistic_note))
    return data


def rate_dict(rate: Rate | None) -> dict[str, Any] | None:
    """A rate with its definition, n, exact counts, its interval with both sides, and the maximum margin."""
    if rate is None:
        return None
    interval, sides = rate.interval, rate.interval_sides
    return {
        "question": rate.question_key,
        "name": rate_name(rate),
        "measure": rate.measure,
        "numerator": rate.numerator,
        "denominator": rate.denominator,
        "value": rate.value,
        "percent": rate.percent,
        "ci95": list(interval) if interval else None,
        "ci95_half_widths": list(sides) if sides else None,
        "max_margin_of_error": rate.max_margin,
        "small_sample": rate.small_sample,
        "positive_options": rate.positive_options,
        "dont_know_options": rate.dont_know_options,
        "dont_know_count": rate.dont_know_count,
        "dont_know_policy": rate.dont_know_policy,
        "definition": rate_definition(rate),
    }


def _question_dict(summary: QuestionSummary, text_limit: int | None) -> dict[str, Any]:
    q = summary.question
    numbers = summary.numbers
    return {
        "key": q["key"],
        "number": q["number"],
        "text": q["text"],
        "type": q.get("type"),
        "storage": q["storage"],
        "dimension": q.get("dimension"),
        "group": bool(q.get("group")),
        "answered": summary.answered,
        "options": [{"key": o.key, "text": o.text, "count": o.count, "percent": o.percent} for o in summary.options],
        "rate": rate_dict(summary.rate),
        "index": None if summary.index is None else {"value": summary.index.value, "n": summary.index.n},
        "numbers": None if numbers is None else numbers.__dict__.copy(),
        "attention_passed": summary.attention_passed,
        "texts": summary.texts[:text_limit],
        "other_texts": summary.other_texts[:text_limit],
    }


def _reliability_dict(results: Results) -> dict[str, Any]:
    scale, validity = results.scale, results.validity
    return {
        "scale": None
        if scale is None
        else {
            "n": scale.n,
            "alpha": scale.alpha,
            "band": alpha_band(scale.alpha),
            "held_back": scale.held_back,
            "min_n": scale.min_n,
            "items": [i.__dict__.copy() for i in scale.items],
        },
        "kmo": None if validity is None else validity.kmo,
        "bartlett": None
        if validity is None or validity.chi_square is None
        else {
            "chi_square": validity.chi_square,
            "df": validity.df,
            "p_value": validity.p_value,
            "n": validity.n,
        },
    }


def _breakdowns(results: Results) -> list[dict[str, Any]]:
    return [
        {
            "group": {"key": b.group["key"], "text": b.group["text"]},
            "rows": [
                {
                    "key": row.key,
                    "text": row.text,
                    "respondents": row.respondents,
                    "index": row.index,
                    "rates": {r.question_key: rate_dict(r) for r in row.rates if r},
                }
                for row in b.rows
            ],
            "tests": {key: test_dict(t) for key, t in b.tests.items()},
            "distribution_tests": {key: test_dict(t) for key, t in b.distribution_tests.items()},
        }
        for b in results.breakdowns
    ]


def results_dict(questionnaire: Questionnaire, results: Results, text_limit: int | None = None) -> dict[str, Any]:
    """Everything the results page shows, as plain JSON-ready data.

    ``text_limit`` keeps only the first texts of each text question (the page and its charts need a
    sample, not 100,000 suggestions); ``answered`` still counts them all, and the CLI passes ``None``.
    A figure that cannot be computed (an infinite mean of answers stored before numbers were bounded) is
    ``null`` with a sibling ``…_note`` saying so: the result is always valid JSON (``allow_nan=False``).
    """
    return finite_data(_results_data(questionnaire, results, text_limit), _("无法计算：数值超出可计算的范围"))


def _results_data(questionnaire: Questionnaire, results: Results, text_limit: int | None) -> dict[str, Any]:
    """``results_dict`` before non-finite figures are taken out."""
    overall = results.overall
    version = questionnaire.current_version
    return {
        "schema_version": SCHEMA_VERSION,
        "questionnaire": {
            "id": questionnaire.id,
            "title": questionnaire.title,
            "version": version.number if version else None,
            "status": questionnaire.status,
        },
        "counts": {
            "issued": results.issued,
            "returned": results.returned,
            "valid": results.valid,
            "excluded": results.excluded,
            "return_rate": results.return_rate,
            "valid_rate": results.valid_rate,
            "exclusion_reasons": results.exclusion_reasons,
            "flagged": results.flagged,
        },
        "precision": {
            "population": results.population,
            "required_sample_5": results.required_samples["5"],
            "required_sample_3": results.required_samples["3"],
        },
        "overall": None
        if overall is None
        else {
            "method": overall.method,
            "value": overall.value,
            "percent": overall.percent,
            "small_sample": overall.small_sample,
            "rate": rate_dict(overall.rate),
            "items": [r.question_key for r in overall.items],
            "weights": overall.weights,
        },
        "overall_index": results.overall_index,
        "dimensions": [
            {
                "name": d.name,
                "questions": d.keys,
                "value": None if d.exact is None else float(d.exact),
                "percent": d.percent,
                "index": d.index,
                "alpha": d.reliability.alpha if d.reliability else None,
                "alpha_n": d.reliability.n if d.reliability else None,
                "alpha_held_back": bool(d.reliability and d.reliability.held_back),
            }
            for d in results.dimensions
        ],
        "reliability": _reliability_dict(results),
        "breakdowns": _breakdowns(results),
        "questions": [_question_dict(s, text_limit) for s in results.questions],
        "weighted": weighted_dict(results.weighted),
        "weighting_problem": weighting_problem(results.weighting_error),
        "rounds": rounds_dict(results.rounds),
    }


def change_dict(change: Change | None) -> dict[str, Any] | None:
    """A change between two rounds: the difference in points (as printed), its interval, test and words."""
    if change is None:
        return None
    template, params = change_words(change)
    return {
        "p1": change.p1,
        "p2": change.p2,
        "difference": change.difference,
        "points": change.points,
        "low": change.low,
        "high": change.high,
        "statistic": change.statistic,
        "p_value": change.p_value,
        "method": change.method,
        "significant": change.significant,
        "n1": change.n1,
        "n2": change.n2,
        "small_sample": change.small_sample,
        "words": _(template, **params),
    }


def _round_rate(rate: Rate | None) -> dict[str, Any] | None:
    return None if rate is None else {"value": rate.value, "percent": rate.percent, "n": rate.denominator}


def rounds_dict(comparison: SeriesComparison | None) -> dict[str, Any] | None:
    """Every rate across the rounds, its change since the previous round, and the groups' changes and ranking."""
    if comparison is None:
        return None
    overall = comparison.overall
    return {
        "labels": comparison.labels,
        "small_n": comparison.small_n,
        "overall": None
        if overall is None
        else {
            "values": [
                {"label": label, "value": value, "percent": percent_of(value)} for label, value in overall.values
            ],
            "weighted": [
                {"label": label, "value": value, "percent": percent_of(value)} for label, value in overall.weighted
            ],
            "change": change_dict(overall.change),
            "weighted_change": change_dict(overall.weighted_change),
        },
        "rates": [
            {
                "question": s.key,
                "number": s.number,
                "text": s.text,
                "name": rate_name(s.rate),
                "rounds": [
                    {"label": f.label, "rate": _round_rate(f.rate), "weighted": estimate_dict(f.weighted)}
                    for f in s.rounds
                ],
                "change": change_dict(s.change),
                "weighted_change": change_dict(s.weighted_change),
            }
            for s in comparison.rates
        ],
        "groups": [
            {
                "group": g.group_key,
                "group_text": g.group_text,
                "question": g.question_key,
                "rows": [
                    {
                        "key": row.key,
                        "text": row.text,
                        "previous": _round_rate(row.previous),
                        "current": _round_rate(row.current),
                        "previous_weighted": estimate_dict(row.previous_weighted),
                        "current_weighted": estimate_dict(row.current_weighted),
                        "change": change_dict(row.change),
                    }
                    for row in g.rows
                ],
                "ranking": [
                    {"name": r.name, "percent": r.percent, "rank": r.rank, "small_sample": r.small_sample}
                    for r in g.ranking
                ],
            }
            for g in comparison.groups
        ],
    }


def estimate_dict(estimate: Estimate | None, scale: float = 1.0) -> dict[str, Any] | None:
    """A weighted figure with its SE, 95% interval, unweighted n and effective n (``scale`` 100 for indices)."""
    if estimate is None:
        return None
    value = estimate.estimate
    return {
        "estimate": None if value is None else value * scale,
        "percent": None if value is None or scale != 1 else percent_of(value),
        "standard_error": None if estimate.standard_error is None else estimate.standard_error * scale,
        "ci95": None if estimate.low is None else [estimate.low * scale, estimate.high * scale],
        "n": estimate.n,
        "n_effective": estimate.n_effective,
        "weighted_base": estimate.weighted_base,
        "definition": estimate_definition(estimate) if value is not None else None,
    }


def weighting_dict(weighted: WeightedFigures) -> dict[str, Any]:
    """What the weights rest on, enough for another analyst to reproduce them: the tables, the method and its
    settings, convergence, trimming, the weights' distribution and each category's weight."""
    spec, weights, summary = weighted.spec, weighted.weights, weighted.summary
    return {
        "method": spec.method,
        "method_name": weighting_method_name(spec.method, spec.trim),
        "sentence": weighting_sentence(weighted),
        "tables": [
            {
                "name": m.name,
                "source": m.source,
                "questions": [q["key"] for q in m.questions],
                "cells": [{"options": list(keys), "count": count} for keys, count in m.counts.items()],
            }
            for m in spec.margins
        ],
        "tolerance": spec.tolerance,
        "max_iterations": spec.max_iterations,
        "iterations": weights.iterations,
        "converged": weights.converged,
        "max_gap": weights.max_gap,
        "trim": {"kind": spec.trim, **weights.trimmed} if spec.trim != "none" else None,
        "summary": summary.__dict__.copy(),
        "cells": [cell.__dict__.copy() for cell in weighted.cells],
    }


def weighted_dict(weighted: WeightedFigures | None) -> dict[str, Any] | None:
    """Every weighted figure beside the unweighted ones: rates, indices, option shares, dimensions, the overall
    figure and breakdown cells, each with its n and effective n."""
    if weighted is None:
        return None
    return {
        "weighting": weighting_dict(weighted),
        "summary": weighted.summary.__dict__.copy(),
        "rates": {key: estimate_dict(e) for key, e in weighted.rates.items()},
        "indexes": {key: estimate_dict(e, 100.0) for key, e in weighted.indexes.items()},
        "shares": weighted.shares,
        "dimensions": {name: estimate_dict(e) for name, e in weighted.dimensions.items()},
        "overall": estimate_dict(weighted.overall),
        "overall_index": estimate_dict(weighted.overall_index, 100.0),
        "breakdowns": [
            {
                "group": b.group_key,
                "rows": [
                    {
                        "key": row.key,
                        "text": row.text,
                        "respondents": row.respondents,
                        "rates": {key: estimate_dict(e) for key, e in row.rates.items()},
                    }
                    for row in b.rows
                ],
            }
            for b in weighted.breakdowns
        ],
    }
