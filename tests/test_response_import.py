"""Importing responses from XLSX/CSV: 问卷星 layouts, our own export, all-or-nothing, access, the screens."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import re
import zlib

import openpyxl
import pytest

from forms.response import answers_reader
from survey.collection.import_cells import (
    CellError,
    convert_option_cell,
    convert_value,
    parse_duration,
    parse_submitted,
)
from survey.collection.import_checking import check_import, run_import
from survey.collection.import_mapping import (
    IGNORE,
    MAPPING_FORMAT,
    Plan,
    default_plan,
    guess_mapping,
    load_upload,
    plan_from_saved,
    plan_to_saved,
    save_upload,
)
from survey.collection.import_reading import FileProblem, read_table
from survey.models import Channel, PendingImport, Questionnaire, Response, ReviewEvent, utcnow
from survey.platform.extensions import db
from survey.questionnaires import publishing
from survey.questionnaires.definition import normalize_definition
from survey.questionnaires.library import load_template
from tests.conftest import login
from tests.helpers import ALL_TYPES, SEED_004_ANSWERS, hidden_value, make_project, published

IP = "120.33.44.55"

# 问卷星 numbers questions 1, 2, 3, … while seed 004 numbers them 1.1, 1.2, 2, …: text must win.
WJX_META = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP"]
WJX_SEED_QUESTIONS = [
    "1、您所在的单位是？",
    "2、您所在的单位接入“丰泽区社会治安综合治理”管理平台的时间是？",
    "3、您认为这两年社会治安与以前比是否有所改善？",
    "4、您认为贵单位周边的城市环境（比如菜市场、城中村）有没有改变？",
    "5、您对丰泽区的治安满意吗？",
    "6、您对“丰泽区社会治安综合治理”有关人员的服务态度评价？",
    "7、您对“丰泽区社会治安综合治理”的评价？",
    "8、您们单位是否使用了综合治理平台的数据？",
    "9、您们单位是否使用综合治理平台的数据主要是做什么工作？",
    "10、您对“社会综合治理平台建设”工作的建议？",
]
SEED_HEADERS = WJX_META + WJX_SEED_QUESTIONS
SEED_TEXT_ROWS = [
    [
        "1",
        "2019-05-01 10:00:00",
        "125秒",
        "手机提交",
        "直接访问",
        f"{IP}(福建-泉州)",
        "丰泽公安分局",
        "2018年3月",
        "有明显改善",
        "有所改善",
        "满意",
        "基本满意",
        "其他〖希望扩大覆盖〗",
        "经常",
        "案件侦查",
        "(空)",
    ],
    [
        "2",
        "2019-05-01 11:30:05",
        "2分3秒",
        "微信",
        "直接访问",
        "120.33.44.56(福建-泉州)",
        "城东街道",
        "(跳过)",
        "差不多",
        "很大改变",
        "不满意",
        "满意",
        "基本满意，还应该加大建设",
        "偶尔",
        "(空)",
        "多用数据",
    ],
]
SEED_NUMBER_ROWS = [
    [
        "1",
        "2019-05-01 10:00:00",
        "2分5秒",
        "手机提交",
        "直接访问",
        f"{IP}(福建-泉州)",
        "丰泽公安分局",
        "2018年3月",
        "1",
        "2",
        "1",
        "2",
        "4〖希望扩大覆盖〗",
        "1",
        "案件侦查",
        "(空)",
    ],
    [
        "2",
        "2019-05-02 09:00:00",
        "61秒",
        "链接",
        "直接访问",
        "120.33.44.56(福建-泉州)",
        "城东街道",
        "",
        "2",
        "1",
        "3",
        "1",
        "2",
        "2",
        "(空)",
        "(空)",
    ],
]

ALL_META = ["序号", "提交答卷时间", "所用时间", "来源", "来自IP"]
ALL_QUESTIONS = [
    "1、您所在的社区",
    "2、您的年龄",
    "3、最近一次办事的日期",
    "4、您感觉安全吗？",
    "5、哪些问题让您担心？",
    "6(服务态度)",
    "6(办事效率)",
    "7、本题请选择“满意”",
    "8、总体评价",
    "9、您的单位",
    "10、建议",
    "11、您希望改进什么？",
]
ALL_ROWS = [  # option texts, letters and numbers mixed; multiple choice joined by ┋
    [
        "1",
        "2019/5/1 8:00:00",
        "300秒",
        "微信",
        IP,
        "北社区",
        "35",
        "2019/5/1",
        "不太安全",
        "盗窃┋诈骗",
        "很满意",
        "不太满意",
        "满意",
        "满意",
        "丰泽公安分局",
        "多巡逻",
        "(跳过)",
    ],
    [
        "2",
        "2019/5/1 9:00:00",
        "40秒",
        "微信",
        IP,
        "B",
        "40",
        "",
        "D",
        "A┋C〖电信诈骗〗",
        "A",
        "B",
        "B",
        "B",
        "",
        "",
        "更多巡逻",
    ],
    [
        "3",
        "2019/5/1 10:00:00",
        "20秒",
        "手机提交",
        IP,
        "南社区",
        "",
        "",
        "安全",
        "(跳过)",
        "1",
        "2",
        "3",
        "1",
        "",
        "",
        "(跳过)",
    ],
]
ALL_EXPECTED = [
    {
        "grp": "n",
        "age": 35,
        "day": "2019-05-01",
        "safe": "c",
        "why": ["a", "b"],
        "grid.att": "a",
        "grid.eff": "d",
        "chk": "b",
        "one": "a",
        "name": "丰泽公安分局",
        "idea": "多巡逻",
    },
    {
        "grp": "s",
        "age": 40,
        "safe": "d",
        "why": ["a", "z"],
        "why__other": "电信诈骗",
        "grid.att": "a",
        "grid.eff": "b",
        "chk": "b",
        "one": "b",
        "fix": "更多巡逻",
    },
    {"grp": "s", "safe": "a", "grid.att": "a", "grid.eff": "b", "chk": "c", "one": "a"},
]


@pytest.fixture
def seed(app, evaluator) -> Questionnaire:
    """The seed-004 questionnaire (fengze_service_object), published."""
    return published(make_project(evaluator))


def all_types(project) -> Questionnaire:
    questionnaire = publishing.import_questionnaire(project, copy.deepcopy(ALL_TYPES))
    publishing.publish(questionnaire)
    return questionnaire


@pytest.fixture
def every_type(app, evaluator) -> Questionnaire:
    """The ALL_TYPES questionnaire, published."""
    return all_types(make_project(evaluator, "全部题型项目"))


def xlsx(rows: list[list]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list], encoding: str = "utf-8-sig") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def import_file(questionnaire: Questionnaire, data: bytes, **plan_changes):
    table = read_table(data)
    plan = default_plan(table, questionnaire.current_version.definition)
    for name, value in plan_changes.items():
        setattr(plan, name, value)
    return run_import(questionnaire, table, plan, reader=answers_reader)


def responses_of(questionnaire: Questionnaire) -> list[Response]:
    query = db.select(Response).where(Response.questionnaire_id == questionnaire.id).order_by(Response.id)
    return list(db.session.execute(query).scalars())


def response_count() -> int:
    return db.session.execute(db.select(db.func.count(Response.id))).scalar()


def seed_expected() -> dict:
    return {k: v for k, v in SEED_004_ANSWERS.items() if v}


# --- pure functions ---------------------------------------------------------------------------------


def test_guess_mapping_reads_wenjuanxing_headers():
    definition = normalize_definition(load_template("fengze_service_object"))
    mapping = guess_mapping(SEED_HEADERS, definition)
    assert mapping[:6] == [
        "meta:source_row",
        "meta:submitted_at",
        "meta:duration_seconds",
        "meta:channel",
        IGNORE,
        IGNORE,
    ]
    keys = ["q1a", "q1b", "q2", "q3", "q4", "q5", "q6", "q7", "q8", "q9"]
    assert mapping[6:] == [f"ans:{key}" for key in keys]  # by text, although the numbers differ


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("5(盗窃)", "opt:why:a"),
        ("5、哪些问题让您担心？—诈骗", "opt:why:b"),
        ("5(其他)", "opt:why:z"),
        ("5、哪些问题让您担心？", "ans:why"),
        ("6(服务态度)", "ans:grid.att"),
        ("6、请评价以下方面—办事效率", "ans:grid.eff"),
        ("6.1. 请评价以下方面 — 服务态度", "ans:grid.att"),  # our own export
        ("Q2 您的年龄", "ans:age"),
        ("第4题", "ans:safe"),
        ("1.", "ans:grp"),
        ("您感觉安全吗？[单选题]", "ans:safe"),
        ("用时（秒）", "meta:duration_seconds"),
        ("提交时间", "meta:submitted_at"),
        ("状态", "meta:status"),
        ("排除原因", "meta:exclusion_reason"),
        ("IP地址", IGNORE),
        ("来源详情", IGNORE),
        ("完全无关的一列", IGNORE),
    ],
)
def test_guess_mapping_layouts(header, target):
    assert guess_mapping([header], ALL_TYPES) == [target]


def test_guess_mapping_proposes_a_target_once():
    assert guess_mapping(["4、您感觉安全吗？", "第4题"], ALL_TYPES) == ["ans:safe", IGNORE]


def question(key: str) -> dict:
    return next(q for s in ALL_TYPES["sections"] for q in s["questions"] if q["key"] == key)


@pytest.mark.parametrize(
    ("key", "cell", "value", "other"),
    [
        ("safe", "不太安全", "c", None),
        ("safe", "3", "c", None),
        ("safe", "c", "c", None),
        ("safe", "Ｃ", "c", None),  # full-width letter
        ("safe", " 比较安全 ", "b", None),
        ("safe", "(跳过)", None, None),
        ("safe", "（空）", None, None),
        ("safe", "-3", None, None),
        ("safe", "", None, None),
        ("why", "盗窃┋诈骗", ["a", "b"], None),
        ("why", "A┋B", ["a", "b"], None),
        ("why", "1┋3〖电信诈骗〗", ["a", "z"], "电信诈骗"),
        ("why", "诈骗、其他：网购被骗，没追回", ["b", "z"], "网购被骗，没追回"),
        ("why", "其他〖a┋b〗", ["z"], "a┋b"),
        ("grid", "不太满意", "d", None),
        ("grid", "6", "x", None),
        ("age", "35", "35", None),
        ("day", "2019/5/1", "2019-05-01", None),
        ("day", "2019年5月1日", "2019-05-01", None),
        ("idea", "(空)", None, None),
    ],
)
def test_convert_value(key, cell, value, other):
    assert tuple(convert_value(question(key), cell)) == (value, other)


@pytest.mark.parametrize(("key", "cell"), [("safe", "非常安全"), ("safe", "9"), ("why", "盗窃┋抢劫"), ("grp", "G")])
def test_convert_value_refuses_unknown_options(app, key, cell):
    with pytest.raises(CellError) as error:
        convert_value(question(key), cell)
    assert "不是本题的选项" in str(error.value.message)


def test_convert_value_overrides_and_one_option_only(app):
    assert convert_value(question("safe"), "非常安全", {"非常安全": "a"}).value == "a"
    assert convert_value(question("safe"), "不好说", {"不好说": "__blank__"}).value is None
    with pytest.raises(CellError):
        convert_value(question("safe"), "安全┋不安全")
    with pytest.raises(CellError):
        convert_value(question("safe"), "安全〖很安全〗")  # only "other" takes a text


def test_option_columns(app):
    why = question("why")
    theft, other = why["options"][0], why["options"][2]
    assert convert_option_cell(why, theft, "1").value == ["a"]
    assert convert_option_cell(why, theft, "0").value is None
    assert convert_option_cell(why, theft, "").value is None
    assert convert_option_cell(why, theft, "盗窃").value == ["a"]
    assert tuple(convert_option_cell(why, other, "1〖电信诈骗〗")) == (["z"], "电信诈骗")
    assert tuple(convert_option_cell(why, other, "电信诈骗")) == (["z"], "电信诈骗")
    with pytest.raises(CellError):
        convert_option_cell(why, theft, "也许")


def test_metadata_readers():
    assert parse_duration("123秒") == 123
    assert parse_duration("2分3秒") == 123
    assert parse_duration("1小时2分3秒") == 3723
    assert parse_duration("45.0") == 45
    assert parse_duration("2:03") == 123
    assert parse_duration("") is None
    with pytest.raises(ValueError):
        parse_duration("很久")
    assert parse_submitted("2019-05-01 10:00:00") == dt.datetime(2019, 5, 1, 2, 0, 0)  # Asia/Shanghai → UTC
    assert parse_submitted("2019/5/1 8:05") == dt.datetime(2019, 5, 1, 0, 5)
    assert parse_submitted("") is None
    with pytest.raises(ValueError):
        parse_submitted("昨天")


def test_reading_files(app):
    rows = [SEED_HEADERS, *SEED_TEXT_ROWS]
    for data in (
        xlsx(rows),
        csv_bytes(rows),
        csv_bytes(rows, "utf-8"),
        csv_bytes(rows, "gbk"),
        csv_bytes(rows, "gb18030"),
        csv_bytes(rows, "utf-16"),
    ):
        table = read_table(data)
        assert table.headers == SEED_HEADERS
        assert table.rows[0][6] == "丰泽公安分局"
        assert table.row_numbers == [2, 3]
        assert table.private == [5] and all(row[5] == "" for row in table.rows)  # 来自IP blanked at once
    tabbed = "\n".join("\t".join(row) for row in rows).encode("utf-8")
    assert read_table(tabbed).headers == SEED_HEADERS
    for bad, message in (
        (b"", "空"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, ".xls"),
        (b"PK\x03\x04broken", "XLSX"),
        (b"\x00\x01\x02\xff\xfe\x00", "编码"),
    ):
        with pytest.raises(FileProblem) as error:
            read_table(bad)
        assert message in str(error.value.message)


def test_ip_values_are_dropped_whatever_the_header(app):
    table = read_table(csv_bytes([["1、您所在的社区", "地址"], ["北社区", IP], ["南社区", "10.0.0.8"]]))
    assert table.private == [1] and IP not in json.dumps(table.rows)


# --- importing ----------------------------------------------------------------------------------------


def assert_no_ip_anywhere(questionnaire: Questionnaire) -> None:
    for response in responses_of(questionnaire):
        assert response.ip_hash is None
        stored = json.dumps([response.answers, response.channel, response.flags, response.exclusion_reason])
        assert "120.33.44" not in stored


@pytest.mark.parametrize("rows", [SEED_TEXT_ROWS, SEED_NUMBER_ROWS], ids=["option-texts", "option-numbers"])
def test_wenjuanxing_xlsx_for_seed_004(seed, rows):
    report = import_file(seed, xlsx([SEED_HEADERS, *rows]))
    assert report.ok, (report.general, report.problems)
    assert report.imported == 2
    first, second = responses_of(seed)
    assert first.answers == seed_expected()
    assert first.channel == "import:手机提交"
    assert first.submitted_at == dt.datetime(2019, 5, 1, 2, 0, 0)
    assert first.duration_seconds == 125
    assert first.version_id == seed.current_version_id
    assert first.status == "valid" and first.flags == []
    assert second.answers["q1a"] == "城东街道" and "q1b" not in second.answers
    db.session.refresh(seed)
    assert seed.accepted_count == 2
    assert_no_ip_anywhere(seed)


def test_wenjuanxing_gbk_csv(seed):
    report = import_file(seed, csv_bytes([SEED_HEADERS, *SEED_TEXT_ROWS], "gbk"))
    assert report.ok, (report.general, report.problems)
    assert [r.answers for r in responses_of(seed)][0] == seed_expected()
    assert responses_of(seed)[1].channel == "import:微信"
    assert responses_of(seed)[1].duration_seconds == 123
    assert_no_ip_anywhere(seed)


def test_multiple_choice_in_one_column_with_skip_logic(every_type):
    report = import_file(every_type, xlsx([ALL_META + ALL_QUESTIONS, *ALL_ROWS]))
    assert report.ok, (report.general, report.problems)
    assert [r.answers for r in responses_of(every_type)] == ALL_EXPECTED
    flags = [r.flags for r in responses_of(every_type)]
    assert flags == [[], [], ["attention_failed", "too_fast"]]  # chk answered 不满意 in 20 s (min_seconds 30)
    assert_no_ip_anywhere(every_type)


def test_multiple_choice_one_column_per_option(every_type):
    headers = [
        "来自IP",
        "1、您所在的社区",
        "4、您感觉安全吗？",
        "5(盗窃)",
        "5(诈骗)",
        "5(其他)",
        "6(服务态度)",
        "6(办事效率)",
        "7、本题请选择“满意”",
    ]
    rows = [
        [IP, "北社区", "不太安全", "1", "0", "1〖电信诈骗〗", "很满意", "满意", "满意"],
        [IP, "南社区", "不安全", "0", "1", "0", "满意", "满意", "满意"],
        [IP, "南社区", "不安全", "0", "0", "网购被骗", "满意", "满意", "满意"],
    ]
    report = import_file(every_type, xlsx([headers, *rows]))
    assert report.ok, (report.general, report.problems)
    answers = [r.answers for r in responses_of(every_type)]
    assert answers[0]["why"] == ["a", "z"] and answers[0]["why__other"] == "电信诈骗"
    assert answers[1]["why"] == ["b"] and "why__other" not in answers[1]
    assert answers[2]["why"] == ["z"] and answers[2]["why__other"] == "网购被骗"
    assert all(r.channel == "import" for r in responses_of(every_type))  # no 来源 column


def test_a_problem_of_a_question_in_option_columns_names_all_its_columns(every_type):
    headers = ["1、您所在的社区", "4、您感觉安全吗？", "5(盗窃)", "5(诈骗)", "5(其他)", "6(服务态度)", "6(办事效率)"]
    headers.append("7、本题请选择“满意”")
    row = ["北社区", "不太安全", "1", "1", "1〖电信诈骗〗", "很满意", "满意", "满意"]  # three chosen, max_choices 2
    report = import_file(every_type, xlsx([headers, row]))
    assert [(p.column, p.message) for p in report.problems] == [(None, "最多只能选择 2 项。")]
    assert report.problems[0].header == "5. 哪些问题让您担心？（列：5(盗窃)、5(诈骗)、5(其他)）"


def test_bad_rows_and_cells_are_all_reported_and_nothing_stored(every_type):
    headers = ALL_META + ALL_QUESTIONS
    good = ALL_ROWS[0]
    bad_option = good[:5] + ["东社区"] + good[6:]  # row 3: unknown option text
    missing = good[:5] + [""] + good[6:]  # row 4: required answer missing
    bad_number = good[:6] + ["三十五"] + ["2019-13-45"] + good[8:]  # row 5: bad number and bad date
    too_many = good[:9] + ["盗窃┋诈骗┋其他〖x〗"] + good[10:]  # row 6: max_choices 2
    bad_time = ["7", "上周", "很久"] + good[3:]  # row 7: metadata cells
    rows = [good, bad_option, missing, bad_number, too_many, bad_time]
    report = import_file(every_type, xlsx([headers, *rows]))
    assert not report.ok and report.imported == 0
    found = {(p.row, p.header, p.message) for p in report.problems}
    assert (3, "1、您所在的社区", "“东社区”不是本题的选项。") in found
    assert (4, "1、您所在的社区", "这是必答题，请作答。") in found
    assert (5, "2、您的年龄", "请填写一个数字。") in found
    assert (5, "3、最近一次办事的日期", "请按“年-月-日”填写日期，例如 2019-05-01。") in found
    assert (6, "5、哪些问题让您担心？", "最多只能选择 2 项。") in found
    assert any(p.row == 7 and p.header == "提交答卷时间" for p in report.problems)
    assert any(p.row == 7 and p.header == "所用时间" for p in report.problems)
    assert report.bad_rows == 5 and 2 not in {p.row for p in report.problems}
    assert response_count() == 0
    db.session.refresh(every_type)
    assert every_type.accepted_count == 0


def test_missing_column_of_a_required_question_is_reported(every_type):
    headers = ["1、您所在的社区", "6(服务态度)", "6(办事效率)", "7、本题请选择“满意”"]
    report = import_file(every_type, xlsx([headers, ["北社区", "满意", "满意", "满意"]]))
    assert not report.ok
    assert [(p.row, p.column, p.message) for p in report.problems] == [(2, None, "这是必答题，请作答。")]
    assert "4. 您感觉安全吗？" in report.problems[0].header
    assert response_count() == 0


def test_same_file_twice_is_refused(seed):
    data = xlsx([SEED_HEADERS, *SEED_TEXT_ROWS])
    assert import_file(seed, data).imported == 2
    again = import_file(seed, data)
    assert not again.ok and again.imported == 0
    assert "已经导入过" in again.general[0]
    assert len(responses_of(seed)) == 2
    db.session.refresh(seed)
    assert seed.accepted_count == 2
    other = published(seed.project)  # the same file may go into another questionnaire
    assert import_file(other, data).imported == 2


def test_fixed_channel_counts_on_that_channel(seed):
    hall = Channel(questionnaire=seed, code="hall", name="办事大厅")
    db.session.add(hall)
    db.session.commit()
    report = import_file(seed, xlsx([SEED_HEADERS, *SEED_TEXT_ROWS]), channel="hall")
    assert report.imported == 2
    assert {r.channel for r in responses_of(seed)} == {"hall"}
    db.session.refresh(hall)
    assert hall.accepted_count == 2


def test_mapping_problems_store_nothing(seed):
    table = read_table(xlsx([SEED_HEADERS, *SEED_TEXT_ROWS]))
    plan = default_plan(table, seed.current_version.definition)
    plan.mapping[7] = plan.mapping[6]  # two columns on one question
    report = run_import(seed, table, plan, reader=answers_reader)
    assert any("都对应到" in m for m in report.general)
    forged = Plan([IGNORE] * 15 + ["ans:nope"])
    assert "对应项无效" in check_import(seed, table, forged, reader=answers_reader).general[0]
    assert response_count() == 0


def test_own_csv_export_reimports_identically(logged_in, evaluator):
    project = make_project(evaluator)
    source = all_types(project)
    assert import_file(source, xlsx([ALL_META + ALL_QUESTIONS, *ALL_ROWS])).ok
    excluded = responses_of(source)[2]
    excluded.status, excluded.exclusion_reason = "excluded", "注意力题答错"
    db.session.commit()
    export = logged_in.get(f"/desk/questionnaires/{source.id}/responses.csv")
    assert export.status_code == 200
    target = all_types(project)
    report = import_file(target, export.data)
    assert report.ok, (report.general, report.problems)
    before, after = responses_of(source), responses_of(target)
    assert [r.answers for r in after] == [r.answers for r in before] == ALL_EXPECTED
    assert [r.submitted_at for r in after] == [r.submitted_at for r in before]
    assert [r.duration_seconds for r in after] == [r.duration_seconds for r in before]
    assert [r.status for r in after] == ["valid", "valid", "excluded"]
    assert after[2].exclusion_reason == "注意力题答错"
    event = db.session.execute(db.select(ReviewEvent).filter_by(response_id=after[2].id)).scalar_one()
    assert event.action == "exclude" and event.user_id is None


def test_own_csv_export_of_seed_004_reimports(logged_in, evaluator):
    project = make_project(evaluator)
    source = published(project)
    assert import_file(source, xlsx([SEED_HEADERS, *SEED_NUMBER_ROWS])).ok
    export = logged_in.get(f"/desk/questionnaires/{source.id}/responses.csv").data
    target = published(project)
    assert import_file(target, export).ok
    assert [r.answers for r in responses_of(target)] == [r.answers for r in responses_of(source)]


# --- the screens ----------------------------------------------------------------------------------------


def upload(client, questionnaire: Questionnaire, data: bytes, name: str = "wjx.xlsx"):
    return client.post(
        f"/desk/questionnaires/{questionnaire.id}/import/",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def form_of(html: str) -> dict:
    """The values the mapping page would submit as rendered: selected options and hidden fields."""
    data = {}
    for name, body in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body) or re.search(r'<option value="([^"]*)"', body)
        data[name] = chosen.group(1)
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html):
        data[name] = value.replace("&amp;", "&").replace("&#34;", '"').replace("&#39;", "'")
    return data


def test_upload_map_check_import_through_the_views(logged_in, seed, app):
    client = logged_in
    assert "导入答卷" in client.get(f"/desk/questionnaires/{seed.id}/import/").data.decode()
    rows = [SEED_HEADERS, SEED_TEXT_ROWS[0], [*SEED_TEXT_ROWS[1][:10], "非常满意", *SEED_TEXT_ROWS[1][11:]]]
    rows_file = xlsx(rows)
    sent = upload(client, seed, rows_file)
    assert sent.status_code == 302
    mapping_url = sent.headers["Location"]
    token = mapping_url.rstrip("/").rsplit("/", 1)[1]
    kept = db.session.execute(db.select(PendingImport).filter_by(token=token)).scalar_one()
    assert kept.questionnaire_id == seed.id and kept.size == len(rows_file)
    assert "120.33.44" not in zlib.decompress(kept.content).decode()  # the raw IP is not kept even while waiting

    page = client.get(mapping_url)
    assert page.status_code == 200
    html = page.data.decode()
    assert "120.33.44" not in html
    assert '<option value="ans:q4" selected>' in html
    assert "无法识别，请选择" in html  # 非常满意 is not an option of q4
    data = form_of(html)

    checked = client.post(f"{mapping_url}/check", data=data)
    assert checked.status_code == 422
    report = checked.data.decode()
    assert "检查未通过" in report and "“非常满意”不是本题的选项。" in report
    assert response_count() == 0

    data = form_of(report)
    index = re.search(r'name="vt-(\d+)" value="非常满意"', report).group(1)
    data[f"vv-{index}"] = "a"  # the evaluator maps 非常满意 to 满意
    checked = client.post(f"{mapping_url}/check", data=data)
    assert checked.status_code == 200, checked.data.decode()
    assert "检查通过" in checked.data.decode()
    assert response_count() == 0  # a check stores nothing

    done = client.post(f"{mapping_url}/run", data=form_of(checked.data.decode()))
    assert done.status_code == 302
    assert done.headers["Location"].endswith(f"/desk/questionnaires/{seed.id}/results")
    assert "已导入 2 份答卷" in client.get(done.headers["Location"]).data.decode()
    assert [r.answers["q4"] for r in responses_of(seed)] == ["a", "a"]
    assert client.get(mapping_url).status_code == 404  # the upload is gone after the import
    assert db.session.execute(db.select(PendingImport)).first() is None


def test_views_refuse_bad_files_and_oversized_uploads(logged_in, seed, app):
    response = upload(logged_in, seed, b"\x00\x01\x02\xff\xfe\x00", "answers.csv")
    assert response.status_code == 422 and "编码" in response.data.decode()
    response = upload(logged_in, seed, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, "answers.xlsx")
    assert response.status_code == 422 and "另存为 .xlsx" in response.data.decode()
    response = upload(logged_in, seed, b"a,b\n1,2\n", "answers.exe")
    assert response.status_code == 422 and "只能导入 .xlsx、.xls 或 .csv 文件" in response.data.decode()
    boundary = "----import-test"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    too_big = logged_in.post(  # a bytes body: the test client keeps no temporary file open
        f"/desk/questionnaires/{seed.id}/import/", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert too_big.status_code == 413


def test_discard_deletes_the_upload(logged_in, seed):
    mapping_url = upload(logged_in, seed, xlsx([SEED_HEADERS, *SEED_TEXT_ROWS])).headers["Location"]
    assert logged_in.post(f"{mapping_url}/discard").status_code == 302
    assert logged_in.get(mapping_url).status_code == 404


def test_a_token_only_works_for_its_questionnaire(logged_in, seed, evaluator):
    mapping_url = upload(logged_in, seed, xlsx([SEED_HEADERS, *SEED_TEXT_ROWS])).headers["Location"]
    token = mapping_url.rsplit("/", 1)[1]
    other = published(seed.project)
    assert logged_in.get(f"/desk/questionnaires/{other.id}/import/{token}").status_code == 404
    assert logged_in.get(f"/desk/questionnaires/{seed.id}/import/..%2F..%2Fsecret").status_code == 404


def test_other_evaluator_gets_404_on_every_route(app, client, seed, evaluator, other_evaluator):
    table = read_table(xlsx([SEED_HEADERS, *SEED_TEXT_ROWS]))
    token = save_upload(seed.id, evaluator.id, table)
    assert load_upload(token, seed.id, evaluator.id) is not None
    assert login(client, "mallory", "mallory-password-1").status_code == 302
    base = f"/desk/questionnaires/{seed.id}/import"
    routes = [
        ("GET", f"{base}/"),
        ("POST", f"{base}/"),
        ("GET", f"{base}/{token}"),
        ("POST", f"{base}/{token}/check"),
        ("POST", f"{base}/{token}/run"),
        ("POST", f"{base}/{token}/text-codes"),
        ("POST", f"{base}/{token}/discard"),
    ]
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("imports.")}
    assert len(endpoints) == 6 and len(routes) >= len(endpoints)
    for method, url in routes:
        response = client.open(url, method=method, data={"col-0": "ignore"})
        assert response.status_code == 404, f"{method} {url} gave {response.status_code}"
    assert response_count() == 0
    assert load_upload(token, seed.id, evaluator.id) is not None  # discard refused


def test_only_the_uploader_may_map_an_upload(app, logged_in, seed):
    from survey.accounts.access import add_member
    from survey.accounts.users import create_user

    mapping_url = upload(logged_in, seed, xlsx([SEED_HEADERS, *SEED_TEXT_ROWS])).headers["Location"]
    add_member(seed.project, create_user("eddie", "eddie-password-long"), "editor")
    add_member(seed.project, create_user("vera", "vera-password-long"), "viewer")
    for name, refused in (("eddie", 404), ("vera", 403)):
        colleague = app.test_client()
        assert login(colleague, name, f"{name}-password-long").status_code == 302
        assert colleague.get(mapping_url).status_code == refused
        assert colleague.post(f"{mapping_url}/run", data={"col-0": "ignore"}).status_code == refused
        assert colleague.post(f"{mapping_url}/text-codes", data={"col-0": "ignore"}).status_code == refused
        assert colleague.post(f"{mapping_url}/discard").status_code == refused
    assert logged_in.get(mapping_url).status_code == 200  # still there for alice
    assert response_count() == 0


def test_an_upload_expires_after_a_day_and_is_purged(app, logged_in, seed, runner):
    from survey.collection.import_mapping import UPLOAD_MAX_AGE

    old_url = upload(logged_in, seed, xlsx([SEED_HEADERS, *SEED_TEXT_ROWS])).headers["Location"]
    kept = db.session.execute(db.select(PendingImport)).scalar_one()
    kept.created_at = utcnow() - dt.timedelta(seconds=UPLOAD_MAX_AGE + 60)
    db.session.commit()
    assert logged_in.get(old_url).status_code == 404  # expired, even before anything removed it
    new_url = upload(logged_in, seed, xlsx([SEED_HEADERS, *SEED_TEXT_ROWS])).headers["Location"]
    tokens = db.session.execute(db.select(PendingImport.token)).scalars().all()
    assert tokens == [new_url.rsplit("/", 1)[1]]  # the new upload removed the expired one
    assert logged_in.get(new_url).status_code == 200
    kept = db.session.execute(db.select(PendingImport)).scalar_one()
    kept.created_at = utcnow() - dt.timedelta(seconds=UPLOAD_MAX_AGE + 60)
    db.session.commit()
    result = runner.invoke(args=["purge-expired"])
    assert result.exit_code == 0 and "removed 1 expired import upload(s)" in result.output
    assert db.session.execute(db.select(PendingImport)).first() is None


def test_anonymous_is_sent_to_login(app, client, seed):
    assert client.get(f"/desk/questionnaires/{seed.id}/import/").status_code == 302


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_every_step_needs_the_csrf_token(app, client, seed):
    token = hidden_value(client.get("/login").data.decode(), "csrf_token")
    client.post("/login", data={"username": "alice", "password": "alice-password-1", "csrf_token": token})
    url = f"/desk/questionnaires/{seed.id}/import/"
    data = {"file": (io.BytesIO(xlsx([SEED_HEADERS, *SEED_TEXT_ROWS])), "wjx.xlsx")}
    assert client.post(url, data=data, content_type="multipart/form-data").status_code == 400
    page = client.get(url).data.decode()
    data = {"file": (io.BytesIO(xlsx([SEED_HEADERS, *SEED_TEXT_ROWS])), "wjx.xlsx")}
    sent = client.post(
        url, data={**data, "csrf_token": hidden_value(page, "csrf_token")}, content_type="multipart/form-data"
    )
    assert sent.status_code == 302
    mapping_url = sent.headers["Location"]
    html = client.get(mapping_url).data.decode()
    fields = form_of(html)
    assert (
        client.post(f"{mapping_url}/run", data={k: v for k, v in fields.items() if k != "csrf_token"}).status_code
        == 400
    )
    assert response_count() == 0
    done = client.post(f"{mapping_url}/run", data={**fields, "csrf_token": hidden_value(html, "csrf_token")})
    assert done.status_code == 302 and response_count() == 2


# --- saved mappings (survey.collection.import_mapping.plan_to_saved / plan_from_saved, used by the CLI) ---


def test_a_saved_mapping_follows_headers_not_positions():
    definition = normalize_definition(load_template("fengze_service_object"))
    table = read_table(csv_bytes([SEED_HEADERS, *SEED_TEXT_ROWS]))
    plan = default_plan(table, definition)
    plan.overrides = {"q2": {"有明显改善": "b"}}
    saved = json.loads(json.dumps(plan_to_saved(plan, table)))
    assert saved["format"] == MAPPING_FORMAT and saved["columns"][5] == {"header": "来自IP", "target": IGNORE}
    order = [2, 0, 1, *range(3, len(SEED_HEADERS))]
    moved = read_table(csv_bytes([[row[i] for i in order] for row in [SEED_HEADERS, *SEED_TEXT_ROWS]]))
    again, problems, unmatched = plan_from_saved(saved, moved, definition, ["column", "import", "paper"])
    assert problems == [] and unmatched == []
    assert again.mapping == [plan.mapping[i] for i in order] and again.overrides == plan.overrides


def test_a_saved_mapping_reports_what_does_not_fit():
    definition = normalize_definition(load_template("fengze_service_object"))
    table = read_table(csv_bytes([[*SEED_HEADERS, "备注"], *[[*row, ""] for row in SEED_TEXT_ROWS]]))
    original = read_table(csv_bytes([SEED_HEADERS, *SEED_TEXT_ROWS]))
    saved = plan_to_saved(default_plan(original, definition), original)
    saved["columns"] = saved["columns"][: len(SEED_HEADERS)] + [{"header": "已删除的列", "target": "ans:q8"}]
    saved["overrides"] = {"q2": {"x": "zz", "y": "__blank__"}, "nope": {"x": "a"}}
    saved["channel"] = "c7"
    plan, problems, unmatched = plan_from_saved(saved, table, definition, ["column", "import", "paper"])
    assert unmatched == ["备注"] and plan.mapping[-1] == IGNORE and plan.channel == "import"
    assert plan.overrides == {"q2": {"y": "__blank__"}}
    assert len(problems) == 4 and "已删除的列" in problems[0] and "c7" in problems[1] and "zz" in problems[2]
    assert plan_from_saved({"columns": []}, table, definition, ["import"]).problems[0].startswith("映射文件的格式不对")


@pytest.mark.parametrize(
    "header", ["提交时间（北京时间）", "提交时间（北京时间，UTC+8）", "Submitted at (Beijing time)", "提交时间 (UTC+7)"]
)
def test_time_columns_labelled_with_their_clock_are_still_submission_times(header):
    definition = normalize_definition(load_template("fengze_service_object"))
    assert guess_mapping([header], definition) == ["meta:submitted_at"]
