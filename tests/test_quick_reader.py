"""The quick reader never disagrees with the form: it reads what the form would collect, or steps aside.

``survey.respond.reader.QuickReader`` reads a submission that is in order without building the WTForms form
(``survey.respond.public_views._submit``). For any submission our page could send, its answer must be ``None`` (the
form then decides) or exactly the form's ``collect_answers`` after a successful ``validate``. Random
submissions mix answers in order with every fault the form refuses; answers wholly in order must be read
quickly, or the fast path would silently never be taken.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from wtforms import RadioField, SelectMultipleField

from forms.fields import question_fields
from forms.response import build_response_form_class, collect_answers
from survey.questionnaires.definition import iter_questions
from survey.questionnaires.qtypes import other_key
from survey.respond.reader import QuickReader

LIBRARY = Path(__file__).resolve().parent.parent / "survey" / "questionnaires" / "library"

OPTIONS = [{"key": "a", "text": "满意"}, {"key": "b", "text": "基本满意"}, {"key": "c", "text": "不满意"}]
OTHER = [*OPTIONS, {"key": "z", "text": "其他", "other": True}]
EVERY_FEATURE = {
    "title": "每种题型",
    "sections": [
        {
            "key": "s1",
            "title": "一",
            "questions": [
                {"key": "q1", "type": "single_choice", "required": True, "text": "单选", "options": OTHER},
                {"key": "q2", "type": "single_choice", "text": "可不答的单选", "options": OTHER},
                {"key": "q3", "type": "rating", "required": True, "text": "量表", "options": OPTIONS},
                {
                    "key": "q4", "type": "multiple_choice", "required": True, "text": "多选", "options": OTHER,
                    "min_choices": 2, "max_choices": 3,
                },
                {"key": "q5", "type": "multiple_choice", "text": "可不答的多选", "options": OTHER, "max_choices": 2},
                {
                    "key": "q6", "type": "matrix", "required": True, "text": "矩阵", "options": OPTIONS,
                    "items": [{"key": "i1", "text": "甲"}, {"key": "i2", "text": "乙"}],
                },
                {
                    "key": "q7", "type": "matrix", "text": "可不答的矩阵", "options": OPTIONS,
                    "items": [{"key": "i1", "text": "甲"}],
                },
            ],
        },
        {
            "key": "s2",
            "title": "二",
            "show_if": {"question": "q1", "any_of": ["a", "b"]},
            "questions": [
                {"key": "q8", "type": "number", "required": True, "text": "次数", "integer": True, "min": 0, "max": 99},
                {"key": "q9", "type": "number", "text": "金额", "min": -5, "max": 1000},
                {"key": "q10", "type": "date", "text": "日期", "min": "2019-01-01", "max": "2026-12-31"},
                {"key": "q11", "type": "date", "required": True, "text": "必填日期"},
            ],
        },
        {
            "key": "s3",
            "title": "三",
            "questions": [
                {"key": "q12", "type": "text", "required": True, "text": "单位", "max_length": 5},
                {"key": "q13", "type": "textarea", "text": "建议", "show_if": {"question": "q4", "none_of": ["c"]}},
                {"key": "q14", "type": "attention", "required": True, "text": "请选“满意”", "options": OPTIONS,
                 "correct": "a"},
                {"key": "q15", "type": "group", "text": "身份", "options": OPTIONS,
                 "show_if": {"any": [{"question": "q2", "any_of": ["a"]}, {"question": "q5", "any_of": ["b"]}]}},
            ],
        },
    ],
}  # fmt: skip


def definitions() -> list[tuple[str, dict]]:
    """The feature questionnaire above and every questionnaire of the library."""
    found = [("every_feature", EVERY_FEATURE)]
    for path in sorted(LIBRARY.glob("*.json")):
        found.append((path.stem, json.loads(path.read_text(encoding="utf-8"))))
    return found


DEFINITIONS = definitions()
ODD_TEXTS = [
    "", "   ", "12", "3.5", "-4", "１２", "1,000", "abc", "2019-05-01", "2019/5/1", "2019-13-01", "2027-01-01",
    "2018-12-31", " 甲 ", "甲乙丙丁戊己", "x" * 201, " " * 300, "x" * 2001, "含\x00控制字符", "nan", "1e400",
]  # fmt: skip
ODD_KEYS = ["", " ", "forged", "A"]


def field_values(field_class, question: dict, name: str):
    """A strategy for the values submitted under one field: in order, missing, blank or faulty."""
    keys = [option["key"] for option in question.get("options", [])]
    if issubclass(field_class, SelectMultipleField):
        return st.lists(st.sampled_from(keys + ODD_KEYS[:3]), max_size=len(keys) + 1)
    if issubclass(field_class, RadioField):
        return st.sampled_from([[], *([key] for key in keys + ODD_KEYS)])
    return st.one_of(st.sampled_from([[], *([text] for text in ODD_TEXTS)]), st.text(max_size=6).map(lambda t: [t]))


def random_submission(draw, form_class) -> MultiDict:
    """Each question answered in order or given random, often faulty, values; plus the bookkeeping fields.

    Most questions are answered in order, so that many submissions hold a single fault (or none) and the
    reader's every check is the one that decides.
    """
    pairs = []
    for question in iter_questions(form_class.definition):
        if draw(st.integers(0, 3)):
            pairs += in_order(question)
            continue
        for name, unbound in question_fields(question).items():
            for value in draw(field_values(unbound.field_class, question, name)):
                pairs.append((name, value))
    for name in ("submission_id", "started"):
        pairs += [(name, value) for value in draw(st.sampled_from([[], ["a1"], ["x" * 40]]))]
    return MultiDict(pairs)


def in_order(question: dict) -> list[tuple[str, str]]:
    """Answers to one question that its form field accepts whatever else was answered."""
    kind, key, options = question["type"], question["key"], question.get("options", [])
    if kind == "matrix":
        return [(f"{key}.{item['key']}", options[-1]["key"]) for item in question["items"]]
    if kind == "multiple_choice":
        count = question.get("min_choices") or 1
        picked = [option["key"] for option in options][-count:]
        chosen = [(key, option) for option in picked]
        wants_text = any(o.get("other") and o["key"] in picked for o in options)
        return chosen + ([(other_key(key), "自行车被盗")] if wants_text else [])
    if options:
        option = options[-1]
        return [(key, option["key"])] + ([(other_key(key), "网格员")] if option.get("other") else [])
    if kind == "number":
        return [(key, str(question.get("min", 0)))]
    if kind == "date":
        return [(key, question.get("min", "2020-06-01"))]
    return [(key, " 好 ")]


@pytest.mark.parametrize(("name", "definition"), DEFINITIONS, ids=[name for name, _ in DEFINITIONS])
def test_a_submission_in_order_is_read_quickly_and_as_the_form_reads_it(app, name, definition):
    form_class = build_response_form_class(definition)
    reader = QuickReader(form_class.definition)
    formdata = MultiDict([pair for question in iter_questions(form_class.definition) for pair in in_order(question)])
    with app.test_request_context(method="POST"):
        form = form_class(formdata=formdata)
        assert form.validate(), form.errors
        assert reader.unexpected(formdata, None) is None
        assert reader.read(formdata) == collect_answers(form)


@cache
def form_and_reader(name: str) -> tuple[type, QuickReader]:
    """The form class and quick reader of one definition, built once for all of its examples (as the public page
    keeps them per questionnaire version): each example is then only a submission read both ways."""
    form_class = build_response_form_class(dict(DEFINITIONS)[name])
    return form_class, QuickReader(form_class.definition)


# No database is touched (a request context only, the form and the reader read the submission): SQLite only.
@pytest.mark.sqlite_only
@pytest.mark.parametrize(("name", "definition"), DEFINITIONS, ids=[name for name, _ in DEFINITIONS])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_quick_reader_never_disagrees_with_the_form(app, name, definition, data):
    form_class, reader = form_and_reader(name)
    formdata = random_submission(data.draw, form_class)
    if reader.unexpected(formdata, None) is not None:
        return  # refused whole before either reads it (survey.respond.public_views._submit)
    with app.test_request_context(method="POST"):
        form = form_class(formdata=formdata)
        valid = form.validate()
        quick = reader.read(formdata)
        if quick is not None:
            assert valid, form.errors
            assert quick == collect_answers(form)
