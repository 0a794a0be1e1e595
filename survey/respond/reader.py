"""Reading a citizen's submission: what our page could not have sent is refused whole, and what is in order is
read straight into answers without building the WTForms form.

The refusal policy and the quick reader are the respondent path's, not the form library's: the form
(``forms.response``) is built only when the reader is unsure, and both keep to the same limits
(``BOOKKEEPING``, ``MAX_VALUE_CHARS``) and the same cleaning (``printable``). ``tests/test_quick_reader.py`` holds
the reader to the form's answers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l

from survey.questionnaires.conditions import visible_questions
from survey.questionnaires.definition import iter_questions
from survey.questionnaires.qtypes import Unclear, first, get_type

BOOKKEEPING = {"submission_id": 64, "started": 32}  # the form's hidden fields and their longest value

# Invisible control characters (NUL above all, which PostgreSQL cannot store in text) are dropped from
# answers: a respondent cannot see them to remove them, so refusing would trap a pasted answer forever.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def printable(value: Any) -> Any:
    """``value`` without invisible control characters (other values as they are)."""
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
    submitted values (``survey.questionnaires.qtypes`` ``read``) and the form is built only when a reader is unsure: a
    refusal, something unusual, or a type without a reader. ``read`` returns exactly what the form's
    ``validate`` and ``collect_answers`` would give, or ``None``: ``tests/test_quick_reader.py`` holds it to
    that over random submissions, in order and not.
    """

    def __init__(self, definition: dict):
        self.definition = definition  # sectioned, numbered, shared read-only (survey.respond.frozen)
        self.questions = list(iter_questions(definition))
        inputs = {name: described for q in self.questions for name, described in get_type(q["type"]).inputs(q).items()}
        self.fields = {*inputs, *BOOKKEEPING}
        self.multiple = {name for name, described in inputs.items() if described.kind == "many"}

    def unexpected(self, formdata, files, extra: Iterable[str] = ()):
        """``unexpected_input`` for this form: a message, or ``None``."""
        return unexpected_input(self.fields, self.multiple, formdata, files, extra)

    def read(self, formdata) -> dict[str, Any] | None:
        """The answers the form would collect once valid, or ``None`` when only the form can tell.

        The caller has checked ``unexpected`` and the CSRF token already.
        """
        for name, limit in BOOKKEEPING.items():
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
        return {key: printable(value) for key, value in answers.items()}
