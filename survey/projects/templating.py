"""What every page template may call: numbers, rate words, skip logic in words, a question's errors, a proof-of-work
challenge.

These helpers come from several domain packages (``results``, ``questionnaires``, ``respond``), so they are
registered here, above all of them, rather than by the platform's web layer, which must not know the domain.
"""

from __future__ import annotations

from flask import Flask

from analysis.numbers import percent, percent_of
from analysis.reliability import alpha_band
from analysis.rounds import change_words
from survey.questionnaires.conditions import answer_keys
from survey.questionnaires.describing import condition_index, describe_condition, quoted_list
from survey.respond import pow
from survey.results.presenting import (
    alpha_band_name,
    alpha_sentence,
    estimate_definition,
    rate_definition,
    rate_name,
    weighting_method_name,
    weighting_problem,
    weighting_sentence,
)


def question_has_errors(form, question: dict) -> bool:
    """Whether any field of a question (a matrix has several) failed validation."""
    return any(form[name].errors for name in answer_keys(question) if name in form)


def init_templates(app: Flask) -> None:
    """Register the domain's template globals and filters on ``app``."""
    app.jinja_env.filters["quoted_list"] = quoted_list
    app.jinja_env.globals.update(percent=percent, alpha_band=alpha_band, alpha_band_name=alpha_band_name)
    app.jinja_env.globals.update(
        percent_of=percent_of,
        weighting_sentence=weighting_sentence,
        weighting_method_name=weighting_method_name,
        estimate_definition=estimate_definition,
        weighting_problem=weighting_problem,
        change_words=change_words,
    )
    app.jinja_env.globals.update(rate_name=rate_name, rate_definition=rate_definition, alpha_sentence=alpha_sentence)
    app.jinja_env.globals.update(
        condition_index=condition_index,
        describe_condition=describe_condition,
        question_has_errors=question_has_errors,
        pow_challenge=pow.issue,
    )
