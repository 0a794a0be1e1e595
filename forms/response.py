"""Build the respondent's form from a frozen questionnaire version.

A new class per request (``type(...)``): setting attributes on a shared class would leak one
questionnaire's questions into another's form.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import Length, Optional

from survey.definition import numbered_questions
from survey.qtypes import get_type


def build_response_form_class(definition: dict) -> type[FlaskForm]:
    """A FlaskForm subclass with one field per question (plus "other" boxes) and hidden bookkeeping."""
    fields: dict[str, Any] = {
        "submission_id": HiddenField(validators=[Optional(), Length(max=64)]),
        "started": HiddenField(validators=[Optional(), Length(max=32)]),
    }
    for question in numbered_questions(definition):
        fields.update(get_type(question["type"]).fields(question))
    return type("ResponseForm", (FlaskForm,), fields)


def collect_answers(definition: dict, form: FlaskForm) -> dict[str, Any]:
    """The answers JSON of a validated form: only answered questions, by stable question key."""
    answers: dict[str, Any] = {}
    for question in definition["questions"]:
        answers.update(get_type(question["type"]).answer(question, form))
    return answers
