"""A question type is one registry entry (``survey/questionnaires/qtypes.py``) and its template partial.

Two checks: no module of ``survey/``, ``forms/`` or ``analysis/`` names a question type in a string literal
(so a new type cannot need a branch elsewhere), and a toy type added through exactly the files
``docs/ARCHITECTURE.md`` lists renders, validates, stores, imports and analyses.
"""

from __future__ import annotations

import ast
import copy
import random
import re
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from jinja2 import ChoiceLoader, DictLoader

from analysis.datasets import coded_table
from forms.response import answers_reader
from survey.collection.import_checking import run_import
from survey.collection.import_mapping import default_plan
from survey.collection.import_reading import read_table
from survey.models import Response
from survey.platform.extensions import db
from survey.questionnaires import authoring, publishing
from survey.questionnaires.definition import validate_definition
from survey.questionnaires.problems import DefinitionError, Problem
from survey.questionnaires.qtypes import QUESTION_TYPES, Input, QuestionType, Refused
from survey.reports import pdf as report_pdf
from survey.results.reporting import questionnaire_results, response_records, schema_for
from tests.helpers import make_project

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("survey", "forms", "analysis")
REGISTRY = "survey/questionnaires/qtypes.py"
# Type names that are also ordinary words of the code: question fields (question["text"], ["number"], ["date"]
# of an import's metadata), storage kinds (``number``, ``text``), parameter kinds and the respondent-group
# flag. A literal with one of these names counts as naming a type only where it meets a type: compared with
# one, listed in a ``*_TYPES`` collection, given as a question's ``"type"`` or to ``get_type``/``new_question``.
ORDINARY_WORDS = frozenset({"text", "number", "date", "group"})
# Modules that still name a type, each with why. Empty is the goal; an entry here is work left, not a licence.
EXCEPTIONS: dict[str, str] = {}


def _mentions_type(node: ast.AST) -> bool:
    """Whether an expression reads a question's type (``question["type"]``, ``q.type``, ``qtype``)."""
    return "type" in ast.unparse(node)


def _type_literals(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, name) of every string literal in ``tree`` that names a question type."""
    names = set(QUESTION_TYPES)
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
            if node.value not in ORDINARY_WORDS or _in_type_context(node, parents):
                found.append((node.lineno, node.value))
    return found


def _in_type_context(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    parent = parents.get(node)
    if isinstance(parent, ast.Set | ast.Tuple | ast.List):  # a collection of types: judge where it is used
        holder = parents.get(parent)
        if isinstance(holder, ast.Assign) and any("TYPES" in ast.unparse(t) for t in holder.targets):
            return True
        node, parent = parent, holder
    if isinstance(parent, ast.Compare):
        return any(_mentions_type(other) for other in [parent.left, *parent.comparators] if other is not node)
    if isinstance(parent, ast.Dict):
        index = next((i for i, value in enumerate(parent.values) if value is node), None)
        key = parent.keys[index] if index is not None else None
        return isinstance(key, ast.Constant) and key.value == "type"
    if isinstance(parent, ast.Call):
        return ast.unparse(parent.func).split(".")[-1] in ("get_type", "new_question")
    if isinstance(parent, ast.keyword):
        return parent.arg == "type"
    return False


def _modules() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def test_no_type_name_outside_the_registry():
    found = []
    for path in _modules():
        relative = path.relative_to(ROOT).as_posix()
        if relative == REGISTRY or relative in EXCEPTIONS:
            continue
        found += [f"{relative}:{line}: {name!r}" for line, name in _type_literals(ast.parse(path.read_text()))]
    assert not found, "question types named outside survey/questionnaires/qtypes.py:\n" + "\n".join(found)


# Templates that still branch on a type name, each with why (templates/qtypes/ holds the types' own partials).
TEMPLATE_EXCEPTIONS: dict[str, str] = {}


def _template_branches(text: str) -> list[str]:
    """Type names a template compares a ``.type`` with (``q.type == 'matrix'``, ``q.type in ('text', …)``)."""
    names = "|".join(re.escape(name) for name in QUESTION_TYPES)
    tests = re.findall(r"\.type\s*(?:==|!=|(?:not\s+)?in)\s*([^%}]*)", text)
    return [name for test in tests for name in re.findall(rf"['\"]({names})['\"]", test)]


def test_no_template_branches_on_a_type_name():
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("templates/qtypes/") or relative in TEMPLATE_EXCEPTIONS:
            continue
        found += [f"{relative}: {name!r}" for name in _template_branches(path.read_text())]
    assert not found, "templates branching on a question type:\n" + "\n".join(found)
    assert _template_branches("{% if q.type in ('text', 'textarea') %}{% elif question.type == 'matrix' %}") == [
        "text",
        "textarea",
        "matrix",
    ]
    for relative in TEMPLATE_EXCEPTIONS:
        assert _template_branches((ROOT / relative).read_text()), relative


def test_the_scan_sees_what_it_must():
    """The scan itself: it flags the ways code names a type, and not a question's fields."""
    flagged = """
if question["type"] == "matrix": pass
if q.type in ("text", "textarea"): pass
CHOICE_TYPES = ("single_choice", "group")
new = {"type": "date", "text": "x"}
new_question("number", "q1")
"""
    kept = """
text = question["text"]
number = question.get("number")
if entry["storage"] == "number": pass
row = {"text": 1, "number": 2, "group": True}
"""
    assert sorted(name for _line, name in _type_literals(ast.parse(flagged))) == sorted(
        ["matrix", "text", "textarea", "single_choice", "group", "date", "number"]
    )
    assert _type_literals(ast.parse(kept)) == []


def test_exceptions_are_still_needed():
    """An exception outlives its reason only by mistake: each listed module must still name a type."""
    for relative in EXCEPTIONS:
        assert _type_literals(ast.parse((ROOT / relative).read_text())), relative


# --- a toy type added the way docs/ARCHITECTURE.md says: a class in the registry and its partial -----------

TOY_PARTIAL = """
{% macro answer(q, form, attrs, invalid) %}{{ form[q.key](class='stars', **attrs) }}{% endmacro %}
{% macro paper(q) %}<p>☆☆☆☆☆</p>{% endmacro %}
{% macro settings(form) %}<p class="toy-settings">{{ form.max_length.label.text }}</p>{% endmacro %}
"""
TOY_DEFINITION = {
    "format": "survey-questionnaire/1",
    "title": "星级评价",
    "settings": {"overall": {"method": "mean", "measure": "satisfaction"}},
    "sections": [{"key": "s1", "questions": [{"key": "star", "type": "stars", "text": "您给这项服务打几颗星？"}]}],
}


class Stars(QuestionType):
    """星级题: one to five stars, typed as a digit or as ★s; stored as a number, analysed as an ordinal."""

    name = "stars"
    label = "星级题"
    hint = "一到五颗星"
    default_text = "请打分（一到五颗星）"
    storage = "number"
    measurement = "ordinal"
    settings = ("max_length",)  # borrowed: the builder form already has the field

    def check(self, question: dict, path: str) -> list[Problem]:
        return [Problem(f"{path}.max_length", "不能超过 5")] if question.get("max_length", 5) > 5 else []

    def inputs(self, question: dict) -> dict[str, Input]:
        def one_to_five(data, _other) -> None:
            if data and data.strip() not in ("1", "2", "3", "4", "5"):
                raise Refused("请填 1 到 5。")

        return {question["key"]: Input("line", (one_to_five,))}

    def answer(self, question: dict, form) -> dict[str, Any]:
        value = (form[question["key"]].data or "").strip()
        return {question["key"]: int(value)} if value else {}

    def imported(self, question: dict, text: str) -> Any:
        return str(text.count("★")) if "★" in text else text

    def demo_answer(self, question, rng, index) -> dict[str, Any]:
        return {question["key"]: rng.randint(3, 5)}


@pytest.fixture
def toy_type(app, monkeypatch):
    """The toy type registered, and its partial where the templates look for it."""
    monkeypatch.setitem(QUESTION_TYPES, Stars.name, Stars())
    loader = ChoiceLoader([DictLoader({f"qtypes/{Stars.name}.html": TOY_PARTIAL}), app.jinja_env.loader])
    monkeypatch.setattr(app.jinja_env, "loader", loader)
    return Stars.name


def test_a_toy_type_renders_validates_stores_imports_and_analyses(app, client, evaluator, toy_type):
    questionnaire = publishing.import_questionnaire(make_project(evaluator), copy.deepcopy(TOY_DEFINITION))
    questionnaire.min_seconds = 0
    publishing.publish(questionnaire)
    url = f"/s/{questionnaire.public_token}"
    assert 'class="stars"' in client.get(url).get_data(as_text=True)  # renders through its partial
    refused = client.post(url, data={"star": "9", "submission_id": "t0"})
    assert refused.status_code == 422 and "请填 1 到 5。" in refused.get_data(as_text=True)  # validates
    assert client.post(url, data={"star": "4", "submission_id": "t1"}).status_code == 303
    table = read_table("您给这项服务打几颗星？\n★★\n".encode())
    report = run_import(
        questionnaire, table, default_plan(table, questionnaire.current_version.definition), reader=answers_reader
    )
    assert report.ok, (report.general, report.problems)
    query = db.select(Response).where(Response.questionnaire_id == questionnaire.id).order_by(Response.id)
    assert [r.answers for r in db.session.execute(query).scalars()] == [{"star": 4}, {"star": 2}]  # stores
    results = questionnaire_results(questionnaire)
    assert results.questions[0].numbers.mean == 3  # analyses
    _frame, _labels, _values, measures = coded_table(schema_for(questionnaire), response_records(questionnaire))
    assert measures["star"] == "ordinal"  # the dataset measure comes from the type, through the schema


def test_a_toy_type_in_the_builder_on_paper_and_in_the_demo(app, logged_in, evaluator, toy_type):
    questionnaire = publishing.import_questionnaire(make_project(evaluator), copy.deepcopy(TOY_DEFINITION))
    definition = authoring.add_question(questionnaire.definition, "s1", toy_type, key="more")
    assert authoring.find_question(definition, "more")["text"] == Stars.default_text  # its default
    kept = authoring.update_question(definition, "more", max_length=4)
    assert authoring.find_question(kept, "more")["max_length"] == 4  # its own setting is kept...
    validate_definition(kept)
    with pytest.raises(DefinitionError):
        validate_definition(authoring.update_question(definition, "more", max_length=9))  # ...and checked
    page = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/builder/questions/star")
    assert 'class="toy-settings"' in page.get_data(as_text=True)  # the builder shows its settings
    with mock.patch.object(report_pdf, "write_pdf", lambda html: html.encode()), app.test_request_context("/"):
        assert "☆☆☆☆☆" in report_pdf.paper_form_pdf(questionnaire).decode()  # the paper form
    answer = Stars().demo_answer(TOY_DEFINITION["sections"][0]["questions"][0], random.Random(1), 0)
    assert 3 <= answer["star"] <= 5
