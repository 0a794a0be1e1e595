"""The template library, definition validation and the question-type registry."""

from __future__ import annotations

import copy

import pytest

from survey.questionnaires.definition import (
    DefinitionError,
    analysis_schema,
    iter_questions,
    normalize_definition,
    numbered_questions,
    numbering_problems,
    sequential_numbers,
    validate_definition,
)
from survey.questionnaires.library import load_template, template_keys
from survey.questionnaires.qtypes import QUESTION_TYPES, get_type


def test_registry_has_every_type():
    assert set(QUESTION_TYPES) == {
        "single_choice",
        "multiple_choice",
        "rating",
        "matrix",
        "number",
        "date",
        "text",
        "textarea",
        "group",
        "attention",
    }
    with pytest.raises(KeyError, match="slider"):
        get_type("slider")


@pytest.mark.parametrize("key", template_keys())
def test_every_template_is_valid(app, key):
    validate_definition(load_template(key))


def test_seed_004_has_all_nine_questions_as_printed(app):
    definition = load_template("fengze_service_object")
    numbers = [q["number"] for q in numbered_questions(definition)]
    assert numbers == ["1.1", "1.2", "2", "3", "4", "5", "6", "7", "8", "9"]
    by_number = {q["number"]: q for q in numbered_questions(definition)}
    assert [o["text"] for o in by_number["2"]["options"]] == ["有明显改善", "差不多", "有所恶化", "不清楚"]
    assert [o["text"] for o in by_number["3"]["options"]] == ["很大改变", "有所改善", "没有"]
    assert [o["text"] for o in by_number["4"]["options"]] == ["满意", "基本满意", "不满意"]
    assert [o["text"] for o in by_number["5"]["options"]] == ["满意", "基本满意", "不满意"]
    assert len(by_number["6"]["options"]) == 4 and by_number["6"]["options"][3]["other"] is True
    assert [o["text"] for o in by_number["7"]["options"]] == ["经常", "偶尔", "从来没有", "不清楚"]
    assert by_number["8"]["type"] == by_number["9"]["type"] == "textarea"


def test_public_safety_uses_the_national_five_levels(app):
    q1 = iter_questions(normalize_definition(load_template("public_safety")))[0]
    assert q1["text"] == "在目前的社会治安环境下，您感觉安全吗？"
    assert [o["text"] for o in q1["options"][:5]] == ["很安全", "安全", "基本安全", "不太安全", "不安全"]
    assert [o["text"] for o in q1["options"] if o.get("positive")] == ["很安全", "安全", "基本安全"]
    assert q1["options"][5]["dont_know"] is True and q1["measure"] == "safety"


def test_problems_are_named_by_path(app):
    definition = load_template("fengze_service_object")  # a flat file: paths name its own structure
    broken = copy.deepcopy(definition)
    broken["questions"][3]["key"] = "q2"
    broken["questions"][4]["type"] = "slider"
    broken["questions"][2]["options"][1]["key"] = "a"
    broken["questions"][5]["options"] = [{"key": "a", "text": "只有一个"}]
    broken["settings"]["overall"] = {"method": "question", "question": "q99"}
    with pytest.raises(DefinitionError) as caught:
        validate_definition(broken)
    paths = [p.path for p in caught.value.problems]
    assert paths == [
        "questions[2].options[1].key",
        "questions[3].key",
        "questions[4].type",
        "questions[5].options",
        "settings.overall.question",
    ]


@pytest.mark.parametrize("key", template_keys())
def test_every_template_numbers_its_questions_in_order(key):
    """A template's printed numbers (1, 1.1, 2 …) are exactly the numbers that follow its order."""
    definition = normalize_definition(load_template(key))
    questions = iter_questions(definition)
    assert numbering_problems(definition) == []
    assert [q["number"] for q in numbered_questions(definition)] == sequential_numbers(questions)


def _numbered(*numbers: str | None, matrix_first: bool = False) -> dict:
    """A questionnaire of rating questions carrying these explicit numbers (None: no number)."""
    questions = []
    for index, number in enumerate(numbers, start=1):
        question = {"key": f"q{index}", "type": "rating", "text": f"第{index}题", "options": _SCALE}
        if number is not None:
            question["number"] = number
        questions.append(question)
    if matrix_first:
        questions[0].update(type="matrix", items=[{"key": "a1", "text": "甲"}, {"key": "a2", "text": "乙"}])
    return normalize_definition({"title": "题号", "questions": questions})


_SCALE = [{"key": "a", "text": "满意", "positive": True}, {"key": "b", "text": "一般"}, {"key": "c", "text": "不满意"}]


@pytest.mark.parametrize(
    ("numbers", "path", "words"),
    [
        (("1", "2", "2"), "sections[0].questions[2].number", "题号“2”与其他题重复了。请改为“3”"),
        (("1", "3", "2"), "sections[0].questions[2].number", "题号“2”不合顺序，题号须从前往后递增。请按顺序重新编号"),
        (
            ("1", "2", "7", "4", "5"),
            "sections[0].questions[2].number",
            "题号“7”不合顺序，题号须从前往后递增。请改为“3”",
        ),
        (("1", None, "3"), "sections[0].questions[1].number", "其他题都有题号，这道题没有。请改为“2”"),
        (("1", "2", "第三"), "sections[0].questions[2].number", "题号只能是数字，小题用“.”隔开（如 3.1），“第三”不行"),
        (("1", "1.1", "1.0"), "sections[0].questions[2].number", "“1.0”不行。请改为“2”"),
    ],
)
def test_explicit_numbers_must_be_unique_and_in_order(numbers, path, words):
    definition = _numbered(*numbers)
    problems = numbering_problems(definition)
    assert [p.path for p in problems] == [path]
    assert words in str(problems[0].message) and str(problems[0].message).endswith("或删去所有题号改用自动编号。")
    with pytest.raises(DefinitionError):
        validate_definition(definition)
    validate_definition(definition, numbering=False)  # a version published before keeps what it showed


def test_sound_explicit_numbers_pass_and_gaps_are_allowed():
    for numbers in (("1", "1.1", "1.2", "2"), ("1.1", "1.2", "2"), ("3", "5", "5.1", "5.1.1", "12")):
        assert numbering_problems(_numbered(*numbers)) == [], numbers
    assert numbering_problems(_numbered(None, None, None)) == [], "automatic numbers cannot go wrong"


def test_a_follow_up_cannot_take_a_matrix_items_number():
    """Matrix 1's items are exported as 1.1 and 1.2, so a question numbered 1.1 would share a column title."""
    definition = _numbered("1", "1.1", "2", matrix_first=True)
    problems = numbering_problems(definition)
    assert [p.path for p in problems] == ["sections[0].questions[1].number"]
    assert "题号“1.1”与其他题重复了。请按顺序重新编号" in str(problems[0].message), "2 is taken"
    assert sequential_numbers(iter_questions(definition)) == ["1", "2", "3"]


def test_empty_definition(app):
    with pytest.raises(DefinitionError) as caught:
        validate_definition({"title": "", "questions": []})
    assert {p.path for p in caught.value.problems} == {"title", "sections"}
    with pytest.raises(DefinitionError):
        validate_definition(["not", "an", "object"])


def test_schema_carries_storage_kinds(app):
    schema = analysis_schema(load_template("public_safety"))
    assert {q["key"]: q["storage"] for q in schema}["q5"] == "many"
    assert schema[0]["options"][5]["dont_know"] is True


def test_migrations_match_the_models(app):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from survey.platform.extensions import db

    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert diff == []
