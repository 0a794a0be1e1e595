"""Build the respondent's form from a frozen questionnaire version.

A new class per published version and language (``type(...)``, kept beside ``survey.respond.frozen``'s entry by
``form_class_of``): setting attributes on a shared class would leak one questionnaire's questions into another's
form. The class knows its definition so that validation can apply skip logic: a question hidden by ``show_if``
is neither validated nor stored, whatever the page sent (the server decides; JavaScript only mirrors it).
``survey.respond.reader.QuickReader`` reads a submission that is in order to the same answers without building
the form; ``answers_reader`` gives an import the form's answers and errors without the domain knowing WTForms.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import Length, Optional

from forms.fields import INVALID_OPTION, question_fields
from survey.questionnaires.conditions import visible_questions
from survey.questionnaires.definition import iter_questions, normalize_definition
from survey.questionnaires.qtypes import get_type
from survey.respond.form_token import RespondentCSRF
from survey.respond.frozen import LIMIT, Shown
from survey.respond.reader import BOOKKEEPING, printable


class ResponseFormBase(FlaskForm):
    """What every respondent form shares: bookkeeping fields and visibility-aware validation.

    Its CSRF token is ``survey.respond.form_token``'s, which needs no server-side session.
    """

    class Meta:
        csrf_class = RespondentCSRF

    definition: dict = {}
    submission_id = HiddenField(validators=[Optional(), Length(max=BOOKKEEPING["submission_id"])])
    started = HiddenField(validators=[Optional(), Length(max=BOOKKEEPING["started"])])

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
    return {key: printable(value) for key, value in answers.items()}


@lru_cache(maxsize=LIMIT)
def form_class_of(shown: Shown) -> type[ResponseFormBase]:
    """The form class of a cached page-ready version, built once per version and language like the rest of it.

    ``Shown`` compares by identity, so this cache follows ``survey.respond.frozen``'s entries and holds no more.
    """
    return build_response_form_class(shown.definition)


AnswersReader = Callable[[Any], tuple[dict[str, list[str]], dict[str, Any]]]


def answers_reader(definition: dict) -> AnswersReader:
    """Reads one set of submitted values through the respondent's own form: ``(errors by field, answers)``.

    An import checks every row with the same validators and skip logic as a phone; the importer is domain code
    and gets this reader from its caller (the import page or the CLI) rather than importing the form library.
    """
    form_class = build_response_form_class(definition)

    def read(formdata) -> tuple[dict[str, list[str]], dict[str, Any]]:
        form = form_class(formdata=formdata, meta={"csrf": False})
        form.validate()
        return {name: [str(m) for m in messages] for name, messages in form.errors.items()}, collect_answers(form)

    return read
