"""Build the respondent's form from a frozen questionnaire version.

A new class per published version and language (``type(...)``, kept by ``survey.frozen``): setting
attributes on a shared class would leak one questionnaire's questions into another's form. The class
knows its definition so that validation can apply skip logic: a question hidden by ``show_if`` is
neither validated nor stored, whatever the page sent (the server decides; JavaScript only mirrors it).
``QuickReader`` reads a submission that is in order to the same answers without building the form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectMultipleField
from wtforms.validators import Length, Optional

from forms.fields import INVALID_OPTION, question_fields
from survey.conditions import answer_keys, visible_questions
from survey.definition import iter_questions, normalize_definition
from survey.form_token import RespondentCSRF
from survey.qtypes import Unclear, first, get_type


class ResponseFormBase(FlaskForm):
    """What every respondent form shares: bookkeeping fields and visibility-aware validation.

    Its CSRF token is ``survey.form_token``'s, which needs no server-side session.
    """

    class Meta:
        csrf_class = RespondentCSRF

    definition: dict = {}
    _bookkeeping = {"submission_id": 64, "started": 32}  # the hidden fields below and their longest value
    submission_id = HiddenField(validators=[Optional(), Length(max=_bookkeeping["submission_id"])])
    started = HiddenField(validators=[Optional(), Length(max=_bookkeeping["started"])])

    def answer_value(self, answer_key: str) -> Any:
        """What was submitted for an answer key (``None`` if the form has no such field)."""
        return self[answer_key].data if answer_key in self else None

    def visible_keys(self) -> set[str]:
        """Keys of the questions shown for the answers submitted."""
        return visible_questions(self.definition["sections"], self.answer_value)

    def validate(self, extra_validators=None) -> bool:
        """Validate everything, then forget errors of hidden questions: they are not asked.

        A forged option key is not forgotten: no page of ours can send one, hidden question or not.
        """
        super().validate(extra_validators)
        visible = self.visible_keys()
        for question in iter_questions(self.definition):
            if question["key"] not in visible:
                for name in question_fields(question):
                    self[name].errors = [e for e in self[name].errors if str(e) == str(INVALID_OPTION)]
        return not self.errors


def build_response_form_class(definition: dict) -> type[ResponseFormBase]:
    """A form class with one field per question (plus "other" boxes and matrix items)."""
    definition = normalize_definition(definition)
    fields: dict[str, Any] = {"definition": definition}
    for question in iter_questions(definition):
        fields.update(question_fields(question))
    return type("ResponseForm", (ResponseFormBase,), fields)


def collect_answers(form: ResponseFormBase) -> dict[str, Any]:
    """The answers JSON of a validated form: visible, answered questions only, by stable key."""
    visible = form.visible_keys()
    answers: dict[str, Any] = {}
    for question in iter_questions(form.definition):
        if question["key"] in visible:
            answers.update(get_type(question["type"]).answer(question, form))
    return {key: _printable(value) for key, value in answers.items()}


# Invisible control characters (NUL above all, which PostgreSQL cannot store in text) are dropped from
# answers: a respondent cannot see them to remove them, so refusing would trap a pasted answer forever.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _printable(value: Any) -> Any:
    return CONTROL_CHARACTERS.sub("", value) if isinstance(value, str) else value


MAX_VALUE_CHARS = 5000  # the longest answer any question type accepts (问答题)
SUBMISSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
UNKNOWN_FIELD = _l(
    "提交的内容中有本问卷没有的项目（问卷可能刚刚更新过），这次提交没有保存。您的回答还在，请核对后再提交。"
)
REPEATED_FIELD = _l("提交的内容中同一道题出现了多个答案，这次提交没有保存。您的回答还在，请核对后再提交。")
TOO_LONG = _l("提交的内容过长（每一项不能超过 %(n)d 字），这次提交没有保存。请缩短后再提交。", n=MAX_VALUE_CHARS)
BAD_FIELD = _l("提交的内容格式不正确，这次提交没有保存。请刷新页面后重新填写。")


def unexpected_input(fields: set[str], multiple: set[str], formdata, files, extra: Iterable[str] = ()):
    """Why a submission is not one our page could have sent (a message), or ``None``.

    ``fields`` are the form's field names, ``multiple`` those that take several values. WTForms silently
    ignores names it does not know and all but the first value of a single-answer field, and the skip
    logic forgets errors of hidden questions; a forged submission is therefore refused as a whole here,
    before anything is validated or stored: unknown names, uploaded files, repeated single answers,
    oversized values and a malformed submission id. (An option key that is not an option of its question
    is refused by validation, beside the question, even when it is hidden.)
    """
    known = {*fields, "csrf_token", *extra}
    if files:
        return BAD_FIELD
    for name in formdata.keys():
        values = formdata.getlist(name)
        if name not in known:
            return UNKNOWN_FIELD
        if len(values) > 1 and name not in multiple:
            return REPEATED_FIELD
        if any(len(value) > MAX_VALUE_CHARS for value in values):
            return TOO_LONG
    submission_id = formdata.get("submission_id")
    if submission_id and not SUBMISSION_ID.match(submission_id):
        return BAD_FIELD
    return None


class QuickReader:
    """Reads a submission that is in order straight into its answers, without building the WTForms form.

    Building and validating the form for twenty questions was the largest part of a submission's time.
    Almost every submission is in order, so each visible question's type reads its answers from the
    submitted values (``survey.qtypes`` ``read``) and the form is built only when a reader is unsure: a
    refusal, something unusual, or a type without a reader. ``read`` returns exactly what the form's
    ``validate`` and ``collect_answers`` would give, or ``None``: ``tests/test_quick_reader.py`` holds it to
    that over random submissions, in order and not.
    """

    def __init__(self, definition: dict):
        self.definition = definition  # sectioned, numbered, shared read-only (survey.frozen)
        self.questions = list(iter_questions(definition))
        fields = {name: field for q in self.questions for name, field in question_fields(q).items()}
        self.fields = {*fields, *ResponseFormBase._bookkeeping}
        self.multiple = {name for name, field in fields.items() if issubclass(field.field_class, SelectMultipleField)}

    def unexpected(self, formdata, files, extra: Iterable[str] = ()):
        """``unexpected_input`` for this form: a message, or ``None``."""
        return unexpected_input(self.fields, self.multiple, formdata, files, extra)

    def read(self, formdata) -> dict[str, Any] | None:
        """The answers the form would collect once valid, or ``None`` when only the form can tell.

        The caller has checked ``unexpected`` and the CSRF token already.
        """
        for name, limit in ResponseFormBase._bookkeeping.items():
            if len(formdata.get(name) or "") > limit:
                return None
        values = formdata.getlist
        multiple = self.multiple

        def lookup(name: str) -> Any:
            return values(name) if name in multiple else first(values(name))

        visible = visible_questions(self.definition["sections"], lookup)
        answers: dict[str, Any] = {}
        try:
            for question in self.questions:
                kind = get_type(question["type"])
                if question["key"] in visible:
                    answers.update(kind.read(question, values))
                elif kind.forged(question, values):
                    return None
        except Unclear:
            return None
        return {key: _printable(value) for key, value in answers.items()}


STRAIGHT_LINE_MIN_ITEMS = 5


def quality_flags(definition: dict, answers: dict[str, Any]) -> list[str]:
    """Flags from the answers themselves: a failed attention check, or the same level on every scale item.

    Straight-lining is only judged over at least ``STRAIGHT_LINE_MIN_ITEMS`` answered scale items
    (rating questions and matrix items), where identical answers are unlikely from a reader.
    """
    flags = []
    scale_answers = []
    sectioned = definition if "sections" in definition else normalize_definition(definition)  # no copy if we can
    for question in iter_questions(sectioned):
        entry = get_type(question["type"])
        if entry.attention and question["key"] in answers:
            if answers[question["key"]] != question["correct"] and "attention_failed" not in flags:
                flags.append("attention_failed")
        elif entry.measurement == "ordinal":  # a satisfaction scale or a grid of them
            scale_answers.extend(answers[k] for k in answer_keys(question) if k in answers)
    if len(scale_answers) >= STRAIGHT_LINE_MIN_ITEMS and len(set(scale_answers)) == 1:
        flags.append("straight_lining")
    return flags
