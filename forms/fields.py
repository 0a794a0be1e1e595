"""Form fields whose messages speak plain Chinese to a respondent.

WTForms' built-in choice checks answer in English ("Not a valid choice"); these subclasses keep
the check and say it in words a citizen understands, translated through Flask-Babel.
"""

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, StopValidation
from wtforms.widgets import CheckboxInput, ListWidget

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
