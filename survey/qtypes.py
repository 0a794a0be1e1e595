"""Question types: one registry entry per type.

Each entry knows how to become a form field, how to read and validate its answer, what it stores
in the response's JSON, and which *storage kind* analysis
sees (``one`` option key, ``many`` option keys, ``text``). Adding a type means adding one class
here and registering it; an unknown type raises ``KeyError`` with the type's name.
"""

from __future__ import annotations

from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l
from wtforms import Field, StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from forms.fields import CheckboxesField, RadioChoiceField, option_choices, required_answer

OTHER_SUFFIX = "__other"


def other_key(question_key: str) -> str:
    """The answers-JSON key holding the free text of an "other" option."""
    return question_key + OTHER_SUFFIX


class QuestionType:
    """Base for all types; subclasses set the class attributes and override what differs."""

    name: ClassVar[str]
    label: ClassVar[Any]
    storage: ClassVar[str]
    has_options: ClassVar[bool] = False
    template: ClassVar[str] = "text"  # which macro renders it in templates/public/_questions.html

    def fields(self, question: dict) -> dict[str, Field]:
        """Unbound form fields for this question, keyed by form field name."""
        raise NotImplementedError

    def answer(self, question: dict, form) -> dict[str, Any]:
        """The JSON entries this question adds to a response; empty when unanswered."""
        value = form[question["key"]].data
        value = value.strip() if isinstance(value, str) else value
        return {question["key"]: value} if value else {}


class _ChoiceType(QuestionType):
    """Shared by the option-based types: option texts and the "other" text box."""

    has_options = True

    def _other_field(self, question: dict) -> dict[str, Field]:
        if not any(option.get("other") for option in question["options"]):
            return {}
        return {other_key(question["key"]): StringField(validators=[Optional(), Length(max=200)])}

    def _with_other(self, question: dict, form, chosen: list[str]) -> dict[str, Any]:
        other_keys = {o["key"] for o in question["options"] if o.get("other")}
        if other_keys & set(chosen):
            text = (form[other_key(question["key"])].data or "").strip()
            return {other_key(question["key"]): text} if text else {}
        return {}


class SingleChoice(_ChoiceType):
    """单选题: one option; may be rated (satisfied/positive flags) and may have an "other" option."""

    name = "single_choice"
    label = _l("单选题")
    storage = "one"
    template = "single"

    def fields(self, question: dict) -> dict[str, Field]:
        field = RadioChoiceField(
            choices=option_choices(question),
            validators=[required_answer(question), _other_text_check(question)],
        )
        return {question["key"]: field, **self._other_field(question)}

    def answer(self, question: dict, form) -> dict[str, Any]:
        value = form[question["key"]].data
        if not value:
            return {}
        return {question["key"]: value, **self._with_other(question, form, [value])}


class RatingScale(SingleChoice):
    """量表题: labelled levels (满意/基本满意/不满意…) shown as a scale; analysed like a single choice."""

    name = "rating"
    label = _l("评分量表题")
    template = "rating"


class MultipleChoice(_ChoiceType):
    """多选题: several options, optionally bounded, with an optional "other" text."""

    name = "multiple_choice"
    label = _l("多选题")
    storage = "many"
    template = "multiple"

    def fields(self, question: dict) -> dict[str, Field]:
        field = CheckboxesField(
            choices=option_choices(question),
            validators=[required_answer(question), _selection_bounds(question), _other_text_check(question)],
        )
        return {question["key"]: field, **self._other_field(question)}

    def answer(self, question: dict, form) -> dict[str, Any]:
        chosen = [o["key"] for o in question["options"] if o["key"] in (form[question["key"]].data or [])]
        if not chosen:
            return {}
        return {question["key"]: chosen, **self._with_other(question, form, chosen)}


class ShortText(QuestionType):
    """填空题: one line, e.g. the respondent's unit."""

    name = "text"
    label = _l("填空题")
    storage = "text"
    max_length = 200

    def fields(self, question: dict) -> dict[str, Field]:
        return {
            question["key"]: StringField(
                validators=[
                    required_answer(question),
                    Length(max=self.max_length, message=_l("回答太长了，请控制在 %(max)d 字以内。")),
                ]
            )
        }


class LongText(ShortText):
    """问答题: free text such as suggestions."""

    name = "textarea"
    label = _l("问答题")
    template = "textarea"
    max_length = 2000

    def fields(self, question: dict) -> dict[str, Field]:
        field = TextAreaField(
            validators=[
                required_answer(question),
                Length(max=self.max_length, message=_l("回答太长了，请控制在 %(max)d 字以内。")),
            ]
        )
        return {question["key"]: field}


def _other_text_check(question: dict):
    """When an "other" option is chosen its text box must be filled, or the answer means nothing."""
    other_keys = {o["key"] for o in question["options"] if o.get("other")}

    def check(form, field) -> None:
        chosen = field.data if isinstance(field.data, list) else [field.data]
        if other_keys & set(chosen or []) and not (form[other_key(question["key"])].data or "").strip():
            raise ValidationError(_l("您选择了“其他”，请填写具体内容。"))

    return check


def _selection_bounds(question: dict):
    """Enforce ``min_choices``/``max_choices`` of a multiple-choice question."""
    low, high = question.get("min_choices"), question.get("max_choices")

    def check(_form, field) -> None:
        count = len(field.data or [])
        if count and low and count < low:
            raise ValidationError(_l("请至少选择 %(n)d 项。", n=low))
        if high and count > high:
            raise ValidationError(_l("最多只能选择 %(n)d 项。", n=high))

    return check


QUESTION_TYPES: dict[str, QuestionType] = {
    t.name: t for t in (SingleChoice(), RatingScale(), MultipleChoice(), ShortText(), LongText())
}


def get_type(name: str) -> QuestionType:
    """Look a type up by name; an unknown name is a programming or import error, so it raises."""
    try:
        return QUESTION_TYPES[name]
    except KeyError:
        raise KeyError(f"unknown question type: {name!r}") from None
