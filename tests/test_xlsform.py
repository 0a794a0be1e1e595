"""XLSForm import: the Kobo-style sample, the relevant-expression subset, and problems named by row."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from app import create_app
from survey.questionnaires.definition import DefinitionError
from survey.questionnaires.xlsform import definition_from_xlsform
from tests.conftest import make_config

DATA = Path(__file__).resolve().parent / "data"
SAMPLE = DATA / "xlsform_sample.xlsx"
HEADER = ["type", "name", "label", "required", "relevant", "constraint"]
YESNO = [["list_name", "name", "label"], ["yesno", "yes", "是"], ["yesno", "no", "否"]]


@pytest.fixture(autouse=True)
def app_context():
    """Messages are lazy gettext strings: render them in an app (zh_Hans_CN, the default locale)."""
    app = create_app(make_config("sqlite://"))
    with app.app_context():
        yield app


def xlsx(survey: list[list], choices: list[list] | None = None, settings: list[list] | None = None) -> bytes:
    """A workbook in memory; ``survey`` rows start with their header, like the sheets of a real form."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "survey"
    for row in survey:
        sheet.append(row)
    for name, rows in (("choices", choices), ("settings", settings)):
        if rows is not None:
            extra = workbook.create_sheet(name)
            for row in rows:
                extra.append(row)
    saved = io.BytesIO()
    workbook.save(saved)
    return saved.getvalue()


def problems_of(data: bytes) -> list[tuple[str, str]]:
    with pytest.raises(DefinitionError) as caught:
        definition_from_xlsform(data)
    return [(p.path, str(p.message)) for p in caught.value.problems]


def imported(*rows: list, choices: list[list] | None = None) -> dict:
    return definition_from_xlsform(xlsx([HEADER, *rows], YESNO if choices is None else choices))


def questions(definition: dict) -> dict[str, dict]:
    return {q["key"]: q for section in definition["sections"] for q in section["questions"]}


# --- the sample ------------------------------------------------------------------------------------------


@pytest.fixture
def sample() -> dict:
    return definition_from_xlsform(SAMPLE.read_bytes())


def test_sample_sections_and_title(sample):
    assert sample["format"] == "survey-questionnaire/1"
    assert sample["title"] == "2024年度群众安全感调查"
    sections = [(s["key"], s.get("title"), [q["key"] for q in s["questions"]]) for s in sample["sections"]]
    assert sections == [
        ("basic", "基本情况", ["gender", "age", "district"]),
        ("safety", "治安感受", ["safe", "worries", "trend", "worse_reason"]),
        ("s1", None, ["contacted"]),
        ("service", "对公安服务的评价", ["attitude", "visit_date", "wait_hours"]),
        ("s2", None, ["suggestion"]),
    ]


def test_sample_types_labels_and_required(sample):
    by_key = questions(sample)
    types = {key: q["type"] for key, q in by_key.items()}
    assert types == {
        "gender": "single_choice",
        "age": "number",
        "district": "single_choice",
        "safe": "single_choice",
        "worries": "multiple_choice",
        "trend": "single_choice",
        "worse_reason": "text",
        "contacted": "single_choice",
        "attitude": "single_choice",
        "visit_date": "date",
        "wait_hours": "number",
        "suggestion": "textarea",
    }
    required = {key for key, q in by_key.items() if q["required"]}
    assert required == {"gender", "age", "district", "safe", "worries", "contacted", "attitude"}
    assert by_key["age"]["integer"] is True and "integer" not in by_key["wait_hours"]
    assert by_key["safe"]["text"] == "在目前的社会治安环境下，您感觉安全吗？"
    assert by_key["age"]["help"] == "请填写周岁"
    assert [(o["key"], o["text"]) for o in by_key["safe"]["options"]] == [
        ("very_safe", "很安全"),
        ("safe", "安全"),
        ("fairly_safe", "基本安全"),
        ("unsafe", "不太安全"),
        ("very_unsafe", "不安全"),
        ("dont_know", "说不清"),
    ]
    assert [o["text"] for o in by_key["contacted"]["options"]] == ["是", "否"]


def test_sample_relevant_becomes_show_if(sample):
    by_key = questions(sample)
    assert by_key["worries"]["show_if"] == {"question": "safe", "any_of": ["unsafe", "very_unsafe"]}
    assert by_key["worse_reason"]["show_if"] == {"question": "trend", "any_of": ["worse"]}
    service = next(s for s in sample["sections"] if s["key"] == "service")
    assert service["show_if"] == {"question": "contacted", "any_of": ["yes"]}
    assert [k for k, q in by_key.items() if "show_if" in q] == ["worries", "worse_reason"]


def test_committed_sample_matches_its_script():
    spec = importlib.util.spec_from_file_location("make_xlsform_sample", DATA / "make_xlsform_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rebuilt = module.workbook_bytes(module.build_workbook())
    assert rebuilt == SAMPLE.read_bytes(), "run: python tests/data/make_xlsform_sample.py"


# --- columns, names and types -------------------------------------------------------------------------


def test_label_language_preference_and_fallback():
    header = ["TYPE", "Name", "label::English (en)", "label", "label::中文", "Hint::English", "hint::zh"]
    rows = [
        ["select_one yesno", "a", "Question A", "问题甲（无语言）", "问题甲", "Hint", "提示"],
        ["text", "b", "Question B", "问题乙", "", "", ""],
        ["text", "c", "Question C", "", "", "", ""],
    ]
    choices = [
        ["List Name", "NAME", "label::English (en)", "label::Chinese (zh)"],
        ["yesno", "yes", "Yes", "是"],
        ["yesno", "no", "No", ""],
    ]
    by_key = questions(definition_from_xlsform(xlsx([header, *rows], choices)))
    assert [by_key[k]["text"] for k in "abc"] == ["问题甲", "问题乙", "Question C"]
    assert by_key["a"]["help"] == "提示"
    assert [o["text"] for o in by_key["a"]["options"]] == ["是", "No"]


def test_title_falls_back_to_the_argument():
    data = xlsx([HEADER, ["text", "a", "问题"]], settings=[["form_id"], ["x"]])
    assert definition_from_xlsform(data)["title"] == "导入的问卷"
    assert definition_from_xlsform(data, title="自定义标题")["title"] == "自定义标题"


def test_metadata_and_notes_are_skipped_and_required_spellings():
    definition = imported(
        ["start", "start"],
        ["today", "today"],
        ["deviceid", "deviceid"],
        ["calculate", "calc", ""],
        ["note", "n1", "说明"],
        ["text", "a", "甲", "yes"],
        ["text", "b", "乙", "TRUE()"],
        ["text", "c", "丙", 1],
        ["text", "d", "丁", "true"],
        ["text", "e", "戊", "no"],
        ["text", "f", "己", ""],
        ["select_one yesno or_other", "g", "庚", "false"],
    )
    assert [s["key"] for s in definition["sections"]] == ["s1"]
    by_key = questions(definition)
    assert {k: q["required"] for k, q in by_key.items()} == {
        "a": True,
        "b": True,
        "c": True,
        "d": True,
        "e": False,
        "f": False,
        "g": False,
    }
    assert by_key["g"]["options"][-1] == {"key": "other", "text": "其他", "other": True}


def test_names_are_sanitised_uniquely_and_relevant_follows_them():
    definition = imported(
        ["select_one yesno", "1st-Visit", "第一次？"],
        ["select_one yesno", "Q2", "乙"],
        ["text", "q2", "丙", "", "${1st-Visit} = 'yes' and ${Q2} != 'no'"],
        ["text", "名字", "丁"],
        ["begin_group", "Part 2", "第二部分"],
        ["text", "x" * 40, "戊"],
        ["end_group"],
    )
    keys = [q["key"] for s in definition["sections"] for q in s["questions"]]
    assert keys == ["q1st_visit", "q2", "q2_2", "q__", "x" * 32]
    assert [s["key"] for s in definition["sections"]] == ["s1", "part_2"]
    assert questions(definition)["q2_2"]["show_if"] == {
        "all": [{"question": "q1st_visit", "any_of": ["yes"]}, {"question": "q2", "none_of": ["no"]}]
    }


@pytest.mark.parametrize(
    ("relevant", "show_if"),
    [
        ("${a}='yes'", {"question": "a", "any_of": ["yes"]}),
        ('${a} = "yes"', {"question": "a", "any_of": ["yes"]}),
        ("${a} != 'no'", {"question": "a", "none_of": ["no"]}),
        ("selected( ${m} , 'x' )", {"question": "m", "any_of": ["x"]}),
        ("not(selected(${m}, 'x'))", {"question": "m", "none_of": ["x"]}),
        ("(${a} = 'yes')", {"question": "a", "any_of": ["yes"]}),
        ("selected(${m}, 'x') or selected(${m}, 'y') or selected(${m}, 'x')", {"question": "m", "any_of": ["x", "y"]}),
        ("${b} = '1' or ${b} = '2'", {"question": "b", "any_of": ["1", "2"]}),
        (
            "${a} = 'yes' and selected(${m}, 'x')",
            {"all": [{"question": "a", "any_of": ["yes"]}, {"question": "m", "any_of": ["x"]}]},
        ),
        (
            "${a} = 'yes' or ${b} = '1' and selected(${m}, 'y')",
            {
                "any": [
                    {"question": "a", "any_of": ["yes"]},
                    {"all": [{"question": "b", "any_of": ["1"]}, {"question": "m", "any_of": ["y"]}]},
                ]
            },
        ),
        (
            "(${a} = 'yes' or ${b} = '1') and selected(${m}, 'y')",
            {
                "all": [
                    {"any": [{"question": "a", "any_of": ["yes"]}, {"question": "b", "any_of": ["1"]}]},
                    {"question": "m", "any_of": ["y"]},
                ]
            },
        ),
    ],
)
def test_relevant_expressions(relevant, show_if):
    choices = [*YESNO, ["xyz", "x", "X"], ["xyz", "y", "Y"], ["xyz", "z", "Z"], ["nums", 1, "一"], ["nums", 2, "二"]]
    definition = imported(
        ["select_one yesno", "a", "甲"],
        ["select_multiple xyz", "m", "乙"],
        ["select_one nums", "b", "丙"],
        ["text", "t", "丁", "", relevant],
        choices=choices,
    )
    assert questions(definition)["t"]["show_if"] == show_if


# --- problems named by row ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rows", "path", "message"),
    [
        ([["select_one nolist", "a", "甲"]], "survey!2", "选项列表“nolist”不存在。"),
        ([["geopoint", "where", "位置"]], "survey!2", "不支持的题型“geopoint”。"),
        (
            [["select_one_from_file towns.csv", "town", "乡镇"]],
            "survey!2",
            "不支持的题型“select_one_from_file towns.csv”。",
        ),
        ([["begin repeat", "people", "家庭成员"]], "survey!2", "不支持的题型“begin repeat”。"),
        (
            [["select_one yesno", "a", "甲"], ["text", "b", "乙", "", "${a} > 3"]],
            "survey!3",
            "无法识别的显示条件：“${a} > 3”。",
        ),
        (
            [["text", "a", "甲", "", "${b} = 'yes'"], ["select_one yesno", "b", "乙"]],
            "survey!2",
            "显示条件只能引用前面的题目，“b”在第 3 行。",
        ),
        ([["text", "a", "甲", "", "${nobody} = 'yes'"]], "survey!2", "显示条件引用的题目“nobody”不存在。"),
        (
            [["select_one yesno", "a", "甲"], ["text", "b", "乙", "", "${a} = 'maybe'"]],
            "survey!3",
            "显示条件中的题目“a”没有名为“maybe”的选项。",
        ),
        (
            [["text", "a", "甲"], ["text", "b", "乙", "", "${a} = 'x'"]],
            "survey!3",
            "显示条件只能引用选择题，“a”不是选择题。",
        ),
        ([["text", "a", "甲"], ["text", "a", "乙"]], "survey!3", "名称“a”重复了，第 2 行已经用过。"),
        ([["text", "", "甲"]], "survey!2", "题目缺少名称（name）。"),
        ([["text", "a", ""]], "survey!2", "题目缺少文字（label）。"),
        ([["end group"], ["text", "a", "甲"]], "survey!2", "多余的 end group：前面没有对应的 begin group。"),
        ([["begin group", "g", "组"], ["text", "a", "甲"]], "survey!2", "分组没有结束：缺少对应的 end group。"),
        ([["note", "n", "只有说明"]], "survey", "问卷里没有可以导入的题目。"),
    ],
)
def test_problem_names_the_row(rows, path, message):
    assert problems_of(xlsx([HEADER, *rows], YESNO)) == [(path, message)]


def test_bad_choice_names_the_choices_row():
    choices = [
        ["list_name", "name", "label"],
        ["l", "ok", "好"],
        ["l", "不合格", "坏"],
        ["l", "ok", "重"],
        ["l", "x", ""],
    ]
    assert problems_of(xlsx([HEADER, ["select_one l", "a", "甲"]], choices)) == [
        ("choices!3", "选项名称“不合格”不合要求：须为 1–16 个英文字母、数字、下划线或连字符。"),
        ("choices!4", "选项名称“ok”在列表“l”中重复了。"),
        ("choices!5", "选项缺少文字（label）。"),
    ]


def test_not_an_xlsx():
    assert problems_of(b"PK not really a zip") == [("$", "无法读取这个文件：它不是有效的 .xlsx 工作簿。")]
    assert problems_of("type,name\n".encode()) == [("$", "无法读取这个文件：它不是有效的 .xlsx 工作簿。")]


def test_missing_survey_sheet():
    workbook = Workbook()
    workbook.active.title = "choices"
    saved = io.BytesIO()
    workbook.save(saved)
    assert problems_of(saved.getvalue()) == [("survey", "文件中没有名为“survey”的工作表。")]


def test_missing_columns():
    expected = [("survey!1", "survey 工作表缺少这些列：name。")]
    assert problems_of(xlsx([["type", "label"], ["text", "甲"]])) == expected


def test_every_problem_is_listed():
    rows = [
        ["start", "start"],
        ["select_one yesno", "a", "甲", "yes"],
        ["select_one missing", "b", "乙"],
        ["geopoint", "c", "丙"],
        ["text", "d", "丁", "", "${a} = 'yes' or string-length(${a}) > 0"],
        ["begin group", "g", "组", "", "${e} = 'yes'"],
        ["select_one yesno", "e", "戊"],
        ["end group"],
        ["text", "f", "己", "", "selected(${b}, 'x')"],  # b already reported: no second problem
    ]
    assert [path for path, _ in problems_of(xlsx([HEADER, *rows], YESNO))] == [
        "survey!4",
        "survey!5",
        "survey!6",
        "survey!7",
    ]


# --- English columns --------------------------------------------------------------------------------------


def test_sample_english_columns_become_english_twins(sample):
    by_key = questions(sample)
    assert by_key["safe"]["text_en"] == "How safe do you feel?"
    assert by_key["age"]["help_en"] == "Years" and by_key["suggestion"]["help_en"] == "Optional"
    assert [o["text_en"] for o in by_key["gender"]["options"]] == ["Male", "Female"]
    assert [s.get("title_en") for s in sample["sections"]] == [
        "About you",
        "Sense of safety",
        None,
        "Police service",
        None,
    ]
    assert "worse" in [o["key"] for o in by_key["trend"]["options"]]


def test_english_is_kept_only_where_it_adds_something():
    header = ["type", "name", "label::Chinese (zh)", "label::English (en)", "hint", "hint::English"]
    rows = [
        ["select_one yesno", "a", "问题甲", "Question A", "提示", "Hint"],
        ["text", "b", "", "Question B", "", ""],  # no Chinese: the English is the text, not a twin
        ["text", "c", "问题丙", "", "", ""],
    ]
    choices = [
        ["list_name", "name", "label::zh", "label::en"],
        ["yesno", "yes", "是", "Yes"],
        ["yesno", "no", "否", ""],
    ]
    settings = [["form_title::中文", "form_title::English (en)"], ["调查", "Survey"]]
    definition = definition_from_xlsform(xlsx([header, *rows], choices, settings))
    by_key = questions(definition)
    assert (by_key["a"]["text_en"], by_key["a"]["help_en"]) == ("Question A", "Hint")
    assert by_key["b"]["text"] == "Question B" and "text_en" not in by_key["b"]
    assert "text_en" not in by_key["c"]
    assert [o.get("text_en") for o in by_key["a"]["options"]] == ["Yes", None]
    assert (definition["title"], definition["title_en"]) == ("调查", "Survey")
