"""Form fields whose messages speak plain Chinese to a respondent, and a question's fields built from its type.

WTForms' built-in choice checks answer in English ("Not a valid choice"); these subclasses keep
the check and say it in words a citizen understands, translated through Flask-Babel. ``question_fields``
turns the inputs a question type describes (``survey.questionnaires.qtypes.QuestionType.inputs``) into WTForms fields.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import Field, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, StopValidation, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from survey.questionnaires.qtypes import Check, Input, Refused, get_type

INVALID_OPTION = _l("所选的选项不在本题的选项中，请重新选择。")


def option_choices(question: dict) -> list[SelectChoice]:
    """A question's options as WTForms choices: the stable option key is the submitted value."""
    return [SelectChoice(option["key"], option["text"]) for option in question["options"]]


class RadioChoiceField(RadioField):
    """A radio group; an unanswered group is left to the required check, a forged value is refused."""

    def pre_validate(self, form) -> None:
        if self.data is None or self.data == "":
            self.data = None
            return
        if self.data not in {choice.value for choice in self.choices}:
            raise StopValidation(INVALID_OPTION)


class CheckboxesField(SelectMultipleField):
    """A group of check boxes, rendered one per option."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form) -> None:
        allowed = {choice.value for choice in self.choices}
        if any(value not in allowed for value in self.data or []):
            raise StopValidation(INVALID_OPTION)


class _RequiredAnswer:
    """Fails an empty answer with the message shown beside the question."""

    field_flags = {"required": True}

    def __call__(self, _form, field) -> None:
        data = field.data
        if data is None or (isinstance(data, str) and not data.strip()) or data == []:
            raise StopValidation(_l("这是必答题，请作答。"))


def required_answer(question: dict):
    """The validator for a question's required flag."""
    return _RequiredAnswer() if question.get("required") else Optional()


def question_fields(question: dict) -> dict[str, Field]:
    """Unbound form fields of a question, keyed by form field name, as its type describes them."""
    return {
        name: _field(question, described) for name, described in get_type(question["type"]).inputs(question).items()
    }


FIELD_CLASSES: dict[str, Any] = {
    "one": RadioChoiceField,
    "many": CheckboxesField,
    "line": StringField,
    "box": TextAreaField,
}


def _field(question: dict, described: Input) -> Field:
    validators: list[Any] = [Optional() if described.optional else required_answer(question)]
    if described.max_length is not None:
        validators.append(Length(max=described.max_length, message=described.too_long))
    validators += [_validator(check) for check in described.checks]
    field_class = FIELD_CLASSES[described.kind]
    if described.kind in ("one", "many"):
        return field_class(choices=option_choices(question), validators=validators)
    return field_class(validators=validators)


def _validator(check: Check):
    """A WTForms validator running a type's answer check; a refusal becomes the field's error."""

    def validate(form, field) -> None:
        try:
            check(field.data, lambda name: form[name].data)
        except Refused as refusal:
            raise ValidationError(refusal.message) from None

    return validate
