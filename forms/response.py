"""Build the respondent's form from a frozen questionnaire version.

A new class per request (``type(...)``): setting attributes on a shared class would leak one
questionnaire's questions into another's form. The class knows its definition so that validation
can apply skip logic: a question hidden by ``show_if`` is neither validated nor stored, whatever
the page sent (the server decides; JavaScript only mirrors it).
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import Length, Optional

from survey.conditions import answer_keys, visible_questions
from survey.definition import iter_questions, normalize_definition
from survey.qtypes import get_type


class ResponseFormBase(FlaskForm):
    """What every respondent form shares: bookkeeping fields and visibility-aware validation."""

    definition: dict = {}
    submission_id = HiddenField(validators=[Optional(), Length(max=64)])
    started = HiddenField(validators=[Optional(), Length(max=32)])

    def answer_value(self, answer_key: str) -> Any:
        """What was submitted for an answer key (``None`` if the form has no such field)."""
        return self[answer_key].data if answer_key in self else None

    def visible_keys(self) -> set[str]:
        """Keys of the questions shown for the answers submitted."""
        return visible_questions(self.definition["sections"], self.answer_value)

    def validate(self, extra_validators=None) -> bool:
        """Validate everything, then forget errors of hidden questions: they are not asked."""
        super().validate(extra_validators)
        visible = self.visible_keys()
        for question in iter_questions(self.definition):
            if question["key"] not in visible:
                for name in get_type(question["type"]).fields(question):
                    self[name].errors = []
        return not self.errors


def build_response_form_class(definition: dict) -> type[ResponseFormBase]:
    """A form class with one field per question (plus "other" boxes and matrix items)."""
    definition = normalize_definition(definition)
    fields: dict[str, Any] = {"definition": definition}
    for question in iter_questions(definition):
        fields.update(get_type(question["type"]).fields(question))
    return type("ResponseForm", (ResponseFormBase,), fields)


def collect_answers(form: ResponseFormBase) -> dict[str, Any]:
    """The answers JSON of a validated form: visible, answered questions only, by stable key."""
    visible = form.visible_keys()
    answers: dict[str, Any] = {}
    for question in iter_questions(form.definition):
        if question["key"] in visible:
            answers.update(get_type(question["type"]).answer(question, form))
    return answers


STRAIGHT_LINE_MIN_ITEMS = 5


def quality_flags(definition: dict, answers: dict[str, Any]) -> list[str]:
    """Flags from the answers themselves: a failed attention check, or the same level on every scale item.

    Straight-lining is only judged over at least ``STRAIGHT_LINE_MIN_ITEMS`` answered scale items
    (rating questions and matrix items), where identical answers are unlikely from a reader.
    """
    flags = []
    scale_answers = []
    for question in iter_questions(normalize_definition(definition)):
        if question["type"] == "attention" and question["key"] in answers:
            if answers[question["key"]] != question["correct"] and "attention_failed" not in flags:
                flags.append("attention_failed")
        elif question["type"] == "rating" and question["key"] in answers:
            scale_answers.append(answers[question["key"]])
        elif question["type"] == "matrix":
            scale_answers.extend(answers[k] for k in answer_keys(question) if k in answers)
    if len(scale_answers) >= STRAIGHT_LINE_MIN_ITEMS and len(set(scale_answers)) == 1:
        flags.append("straight_lining")
    return flags
