"""The questionnaire and project workbooks: sheets, the same figures as the results, option texts, native charts,
the 附件1 indicator sheet, sheet names, access."""

from __future__ import annotations

import io
import json
import random
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from flask import url_for

from analysis.export import responses_table
from analysis.indicators import iter_nodes, score_table
from survey.indicators.table_files import dump_xlsx, load_table
from survey.models import IndicatorTable, ProjectMember, Response
from survey.platform.extensions import db
from survey.projects.demo import _answer
from survey.questionnaires import publishing
from survey.reports.export_labels import export_labels, workbook_labels
from survey.reports.workbook_files import _Book, results_workbook, sheet_name
from survey.reports.workbooks import published_questionnaires, responses_of
from survey.results.reporting import display_records, questionnaire_results, response_records, schema_for
from survey.results.results_json import results_dict
from tests.conftest import login
from tests.helpers import make_project, published

SHEETS = ["回收情况", "比率", "频数", "分组", "信度", "原始数据"]


@pytest.fixture
def answered(app, evaluator):
    questionnaire = published(make_project(evaluator), "public_safety")
    _answer(questionnaire, random.Random(1), 40)
    return questionnaire


def _download(client, questionnaire) -> bytes:
    response = client.get(f"/desk/questionnaires/{questionnaire.id}/results.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert f"results-{questionnaire.id}.xlsx" in response.headers["Content-Disposition"]
    return response.data


def test_workbook_matches_the_results(app, logged_in, answered):
    first = Response.query.filter_by(questionnaire_id=answered.id).order_by(Response.id).first()
    exclude = f"/desk/questionnaires/{answered.id}/responses/{first.id}/exclude"
    assert logged_in.post(exclude, data={"reason": "用时过短"}).status_code == 302
    body = _download(logged_in, answered)
    book = openpyxl.load_workbook(io.BytesIO(body))
    assert book.sheetnames == SHEETS

    results = questionnaire_results(answered)
    counts = {row[0]: row[1] for row in book["回收情况"].iter_rows(min_row=2, max_col=2, values_only=True) if row[0]}
    assert counts["回收份数"] == results.returned == 40
    assert counts["有效份数"] == results.valid == 39
    assert counts["用时过短"] == 1

    rates = book["比率"]
    header = [c.value for c in rates[1]]
    col = {name: header.index(name) for name in ("题号", "比率", "百分比 (%)", "分子", "分母（n）")}
    rows = {str(r[0]): r for r in rates.iter_rows(min_row=2, values_only=True) if r[0] is not None}
    rated = [s for s in results.questions if s.rate]
    assert rated
    for summary in rated:
        rate, row = summary.rate, rows[str(summary.question["number"])]
        assert (row[col["分子"]], row[col["分母（n）"]]) == (rate.numerator, rate.denominator)
        assert row[col["比率"]] == pytest.approx(rate.numerator / rate.denominator)
        assert row[col["百分比 (%)"]] == pytest.approx(float(rate.percent))
    assert rates.freeze_panes == "A2"
    assert rates.cell(2, col["比率"] + 1).number_format == "0.0%"

    raw = book["原始数据"]
    assert raw.max_row == 1 + 40
    raw_header = [c.value for c in raw[1]]
    assert "渠道" in raw_header and "用时（秒）" in raw_header and "排除原因" in raw_header
    choice = next(s.question for s in results.questions if s.question["storage"] == "one" and s.options)
    column = raw_header.index(f"{choice['number']}. {choice['text']}")
    option_texts = {o.text for s in results.questions if s.question is choice for o in s.options}
    values = [r[column] for r in raw.iter_rows(min_row=2, values_only=True) if r[column]]
    assert values and set(values) <= option_texts
    statuses = [r[raw_header.index("状态")] for r in raw.iter_rows(min_row=2, values_only=True)]
    assert statuses.count("已排除") == 1 and statuses.count("有效") == 39

    names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    assert "xl/charts/chart1.xml" in names
    charts = sum(1 for n in names if n.startswith("xl/charts/chart"))
    choice_questions = sum(1 for s in results.questions if s.options)
    assert charts == 1 + min(30, choice_questions)


def test_workbook_in_english(app, logged_in, answered):
    body = logged_in.get(f"/desk/questionnaires/{answered.id}/results.xlsx?lang=en").data
    names = openpyxl.load_workbook(io.BytesIO(body)).sheetnames
    assert len(names) == 6 and "比率" not in names


def test_workbook_in_english_from_a_chinese_desk(app, logged_in, answered):
    body = logged_in.get(f"/desk/questionnaires/{answered.id}/results.xlsx?language=en").data
    book = openpyxl.load_workbook(io.BytesIO(body))
    assert len(book.sheetnames) == 6 and not any(name in book.sheetnames for name in SHEETS)
    cells = [c for row in book.worksheets[1].iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert "1, 2" in cells and "1、2" not in cells  # a dimension's questions, listed the English way
    page = logged_in.get(f"/desk/questionnaires/{answered.id}/results").data.decode()
    assert f"/desk/questionnaires/{answered.id}/results.xlsx?language=en" in page  # the other language, linked


ALLOWED_LATIN = {"KMO", "Bartlett", "Wilson", "Fisher"}  # names of statistics, printed as is in Chinese texts


def latin_words(text: str) -> set[str]:
    """Words of two or more Latin letters, other than the names of statistics (n, p, N and Q1 are symbols)."""
    return set(re.findall(r"[A-Za-z]{2,}", text)) - ALLOWED_LATIN


@pytest.fixture
def grouped(app, evaluator):
    """A questionnaire with respondent groups (breakdowns and their tests) and enough answers for α."""
    questionnaire = published(make_project(evaluator), "three_rates")
    _answer(questionnaire, random.Random(4), 120)
    return questionnaire


def test_chinese_workbook_from_an_english_desk_has_no_english_labels(app, logged_in, grouped):
    logged_in.get("/desk/?lang=en")
    page = logged_in.get(f"/desk/questionnaires/{grouped.id}/results").data.decode()
    assert '<html lang="en"' in page  # the desk now speaks English
    assert f"/desk/questionnaires/{grouped.id}/results.xlsx?language=zh" in page
    body = logged_in.get(f"/desk/questionnaires/{grouped.id}/results.xlsx?language=zh").data
    book = openpyxl.load_workbook(io.BytesIO(body))
    assert book.sheetnames == SHEETS
    data = results_dict(grouped, questionnaire_results(grouped))
    assert data["breakdowns"] and data["reliability"]["scale"]["band"]  # the sheets have tests and an α reading
    words = {}
    for sheet in book:
        rows = sheet.iter_rows(values_only=True)
        if sheet.title == "原始数据":
            header = next(rows)
            meta = [header.index(name) for name in ("渠道", "状态")]
            cells = list(header) + [row[i] for row in rows for i in meta]
        else:
            cells = [cell for row in rows for cell in row]
        for cell in cells:
            if isinstance(cell, str) and latin_words(cell):
                words.setdefault(sheet.title, set()).update(latin_words(cell))
    assert words == {}
    reliability = {row[0]: row[1] for row in book["信度"].iter_rows(values_only=True) if row[0]}
    assert reliability["信度评价"] in ("很好", "好", "可接受", "勉强", "差")
    tests = [row[4] for row in book["分组"].iter_rows(values_only=True) if row[0] == "p 值"]
    assert tests and set(tests) <= {"卡方检验", "Fisher 精确检验", None}


def test_rates_sheet_states_interval_sides_and_the_maximum_margin(app, logged_in, answered):
    book = openpyxl.load_workbook(io.BytesIO(_download(logged_in, answered)))
    data = results_dict(answered, questionnaire_results(answered))
    rates = book["比率"]
    header = [c.value for c in rates[1]]
    assert "误差幅度" not in header
    below, above = header.index("区间下侧（个百分点）"), header.index("区间上侧（个百分点）")
    widest = header.index("最大误差范围（p = 0.5，个百分点）")
    rows = {str(r[0]): r for r in rates.iter_rows(min_row=2, values_only=True) if r[0] is not None}
    for question in data["questions"]:
        rate = question["rate"]
        if rate:
            row = rows[str(question["number"])]
            assert row[below] == pytest.approx(rate["ci95_half_widths"][0] * 100)
            assert row[above] == pytest.approx(rate["ci95_half_widths"][1] * 100)
            assert row[widest] == pytest.approx(rate["max_margin_of_error"] * 100)
    assert rates.cell(2, widest + 1).number_format == "0.0"
    assert any("最大误差范围 = 1.96 × √(0.25 ÷ n)" in str(r[0]) for r in rates.iter_rows(values_only=True))


def test_workbook_holds_alpha_back_for_three_respondents(app, logged_in, evaluator):
    questionnaire = published(make_project(evaluator), "public_safety")
    _answer(questionnaire, random.Random(1), 3)
    book = openpyxl.load_workbook(io.BytesIO(_download(logged_in, questionnaire)))
    rows = [row for row in book["信度"].iter_rows(values_only=True) if row[0]]
    figures = {row[0]: row[1] for row in rows}
    assert figures["克朗巴赫α"] is None and figures["信度评价"] is None and figures["完整作答份数"] <= 3
    assert any("少于 30 份，样本太少，不计算克朗巴赫α" in row[0] for row in rows)
    items = [row for row in rows if str(row[0])[:1].isdigit()]
    assert items and all(row[1] is None and row[2] is None for row in items)


def test_breakdown_sheet_has_each_groups_index(app, logged_in, grouped):
    book = openpyxl.load_workbook(io.BytesIO(_download(logged_in, grouped)))
    data = results_dict(grouped, questionnaire_results(grouped))
    sheet = list(book["分组"].iter_rows(values_only=True))
    for breakdown in data["breakdowns"]:
        top = sheet.index(next(r for r in sheet if r[0] == f"分组: {breakdown['group']['text']}"))
        assert sheet[top + 1][:3] == ("分组", "人数", "满意度指数")
        for offset, row in enumerate(breakdown["rows"], start=top + 3):
            assert sheet[offset][:2] == (row["text"], row["respondents"])
            assert sheet[offset][2] == (None if row["index"] is None else pytest.approx(row["index"]))


def test_other_evaluator_gets_404(app, client, answered, other_evaluator):
    assert login(client, "mallory", "mallory-password-1").status_code == 302
    assert client.get(f"/desk/questionnaires/{answered.id}/results.xlsx").status_code == 404


def test_anonymous_goes_to_login(app, client, answered):
    response = client.get(f"/desk/questionnaires/{answered.id}/results.xlsx")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


# ---------------------------------------------------------------- the 附件1 sheet, the project workbook


LIBRARY = Path(__file__).resolve().parent.parent / "analysis" / "indicator_library"


def library_table(stem: str) -> dict:
    return json.loads((LIBRARY / f"{stem}.json").read_text(encoding="utf-8"))


def _with_table(project, definition: dict) -> None:
    db.session.add(IndicatorTable(project_id=project.id, definition=definition))
    db.session.commit()


def _attachment_rows(sheet) -> dict:
    return {row[0]: row for row in sheet.iter_rows(min_row=3, values_only=True) if row[0] in ("总分", "评价等级")}


def test_results_workbook_has_the_attachment_sheet_with_total_and_grade(app, logged_in, answered):
    definition = library_table("seed_002_xinjian")
    _with_table(answered.project, definition)
    body = _download(logged_in, answered)
    book = openpyxl.load_workbook(io.BytesIO(body))
    assert book.sheetnames == [*SHEETS[:-1], "附件1", SHEETS[-1]]
    sheet = book["附件1"]
    assert [c.value for c in sheet[2]][:12] == ["一级指标", "分值", "二级指标", "分值", "三级指标", "分值", "指标说明",
                                                "评分标准", "实际值", "得分", "扣分原因", "评分规则"]  # fmt: skip
    totals = _attachment_rows(sheet)
    assert totals["总分"][9] == pytest.approx(93.07) and totals["总分"][1] == 100
    assert totals["评价等级"][9] == "优"
    merged = [str(r) for r in sheet.merged_cells.ranges]
    assert any(r.startswith("A3:A") for r in merged) and any(r.startswith("C") for r in merged)
    assert sheet.column_dimensions["M"].hidden and sheet.freeze_panes == "A3"
    # The same layout as the 附件1 download: the table reads back from the workbook unchanged.
    assert load_table(body, "results.xlsx") == definition
    standalone = openpyxl.load_workbook(io.BytesIO(dump_xlsx(definition, score_table(definition))))["附件1"]
    assert [list(r) for r in standalone.iter_rows(values_only=True)] == [
        list(r) for r in sheet.iter_rows(values_only=True)
    ]


def test_linked_leaves_take_their_values_from_the_results(app, logged_in, answered):
    results = questionnaire_results(answered)
    rated = next(s for s in results.questions if s.rate and s.rate.denominator)
    link = {"questionnaire": answered.id, "figure": "rate", "question": rated.question["key"]}
    definition = library_table("seed_002_xinjian")
    leaf = next(n for n, _p, _l in iter_nodes(definition["indicators"]) if n.get("key") == "d3_1")  # 服务对象满意度
    leaf["input"] = {"link": link}
    _with_table(answered.project, definition)
    sheet = openpyxl.load_workbook(io.BytesIO(_download(logged_in, answered)))["附件1"]
    row = next(r for r in sheet.iter_rows(min_row=3, values_only=True) if r[16] == "d3_1")
    percent = Decimal(rated.rate.numerator) * 100 / Decimal(rated.rate.denominator)
    expected = score_table(definition, linked={"d3_1": percent})
    assert json.loads(row[13]) == {"link": link}
    assert Decimal(str(row[9])) == expected.scores["d3_1"]
    assert _attachment_rows(sheet)["总分"][9] == pytest.approx(float(expected.total))
    assert expected.total == Decimal("93.07") - 5 + expected.scores["d3_1"]  # d3_1 scored 5 (93 %) unlinked


@pytest.fixture
def project_with_two(app, evaluator):
    """A project with two answered questionnaires, a draft and the seed 002 indicator table."""
    project = make_project(evaluator)
    first = published(project, "public_safety")
    second = published(project)
    publishing.create_questionnaire(project, "public_safety", title="未发布的草稿")
    _answer(first, random.Random(2), 30)
    _answer(second, random.Random(3), 12)
    _with_table(project, library_table("seed_002_xinjian"))
    return project


def _project_download(client, project) -> bytes:
    response = client.get(f"/desk/projects/{project.id}/workbook.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert f"project-{project.id}.xlsx" in response.headers["Content-Disposition"]
    return response.data


def test_project_workbook_summary_sheets_and_attachment(app, logged_in, project_with_two):
    with app.test_request_context():
        assert url_for("workbook_views.project_workbook", project_id=7) == "/desk/projects/7/workbook.xlsx"
    body = _project_download(logged_in, project_with_two)
    book = openpyxl.load_workbook(io.BytesIO(body))
    per_questionnaire = [f"Q{n} {name}" for n in (1, 2) for name in SHEETS]
    assert book.sheetnames == ["问卷汇总", "附件1", *per_questionnaire]
    assert all(len(name) <= 31 and not set(name) & set("[]:*?/\\") for name in book.sheetnames)
    assert len({name.lower() for name in book.sheetnames}) == len(book.sheetnames)

    summary = list(book["问卷汇总"].iter_rows(values_only=True))
    header = list(summary[0])
    rows = {row[0]: dict(zip(header, row, strict=True)) for row in summary[1:] if row[0] in ("Q1", "Q2")}
    assert len(rows) == 2  # the draft is not listed
    for prefix, questionnaire in zip(("Q1", "Q2"), published_questionnaires(project_with_two), strict=True):
        results, row = questionnaire_results(questionnaire), rows[prefix]
        assert row["问卷"] == questionnaire.title
        assert (row["发放份数"], row["回收份数"], row["有效份数"]) == (results.issued, results.returned, results.valid)
        assert row["排除份数"] == results.excluded
        overall = results.overall
        assert row["总体满意度"] == pytest.approx(overall.value)
        assert row["百分比 (%)"] == pytest.approx(float(overall.percent))
        if overall.rate is not None:
            assert row["分母（n）"] == overall.rate.denominator and row["定义"]
        raw = book[f"{prefix} 原始数据"]
        assert raw.max_row == 1 + results.returned
    assert any("口径：回收率" in str(r[0]) for r in summary)

    totals = _attachment_rows(book["附件1"])
    assert totals["总分"][9] == pytest.approx(93.07) and totals["评价等级"][9] == "优"
    assert load_table(body, "project.xlsx") == library_table("seed_002_xinjian")


def test_chinese_project_workbook_from_an_english_desk(app, logged_in, project_with_two):
    logged_in.get("/desk/?lang=en")
    body = logged_in.get(f"/desk/projects/{project_with_two.id}/workbook.xlsx?language=zh").data
    book = openpyxl.load_workbook(io.BytesIO(body))
    assert book.sheetnames[:2] == ["问卷汇总", "附件1"]
    words = {
        sheet.title: latin_words(" ".join(str(c) for row in sheet.iter_rows(values_only=True) for c in row if c))
        for sheet in book
        if sheet.title != "附件1" and not sheet.title.endswith("原始数据")
    }
    assert {title: found for title, found in words.items() if found} == {}
    english = openpyxl.load_workbook(
        io.BytesIO(logged_in.get(f"/desk/projects/{project_with_two.id}/workbook.xlsx").data)
    )
    assert "问卷汇总" not in english.sheetnames  # without ?language= the workbook follows the (English) desk


def test_project_workbook_for_a_viewer_not_for_outsiders(app, client, project_with_two, other_evaluator):
    url = f"/desk/projects/{project_with_two.id}/workbook.xlsx"
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert login(client, "mallory", "mallory-password-1").status_code == 302
    assert client.get(url).status_code == 404
    assert client.get("/desk/projects/999999/workbook.xlsx").status_code == 404
    db.session.add(ProjectMember(project_id=project_with_two.id, user_id=other_evaluator.id, role="viewer"))
    db.session.commit()
    assert openpyxl.load_workbook(io.BytesIO(_project_download(client, project_with_two))).sheetnames[0] == "问卷汇总"


def test_results_page_links_both_workbooks(app, logged_in, answered):
    page = logged_in.get(f"/desk/questionnaires/{answered.id}/results").data.decode()
    assert f"/desk/questionnaires/{answered.id}/results.xlsx" in page
    assert f"/desk/projects/{answered.project_id}/workbook.xlsx" in page


def test_project_workbook_without_questionnaires_or_table(app, logged_in, evaluator):
    project = make_project(evaluator, name="空项目")
    names = openpyxl.load_workbook(io.BytesIO(_project_download(logged_in, project))).sheetnames
    assert names == ["问卷汇总"]


def test_streamed_rows_and_a_dataframe_write_the_same_sheet(app, answered):
    with app.test_request_context():
        data = results_dict(answered, questionnaire_results(answered))
        frame = responses_table(schema_for(answered), display_records(answered, response_records(answered)),
                                export_labels())  # fmt: skip
        from_frame = results_workbook(data, frame, workbook_labels())
        streamed = results_workbook(data, responses_of(answered), workbook_labels())
    sheets = [openpyxl.load_workbook(io.BytesIO(body))["原始数据"] for body in (from_frame, streamed)]
    values = [[list(r) for r in sheet.iter_rows(values_only=True)] for sheet in sheets]
    assert len(values[0]) == 41 and values[0] == values[1]


@pytest.mark.parametrize(
    ("text", "prefix", "expected"),
    [
        ("比率", "Q1 ", "Q1 比率"),
        ("a/b:c*d?[e]\\f", "", "a_b_c_d__e__f"),
        ("'quoted'", "", "quoted"),
        ("History", "", "_History"),
        ("很长的名字" * 10, "Q12 ", "Q12 " + ("很长的名字" * 10)[:27]),
        ("", "", "Sheet"),
    ],
)
def test_sheet_names_are_valid_for_excel(text, prefix, expected):
    assert sheet_name(text, prefix) == expected


def test_sheet_names_stay_unique_when_cut(app):
    output = io.BytesIO()
    book = _Book(output, {"a": "很长的名字" * 10, "b": "很长的名字" * 10 + "乙"})
    book.prefix = "Q1 "
    names = [book.sheet(key).get_name() for key in ("a", "b", "a")]
    book.wb.close()
    assert len({n.lower() for n in names}) == 3 and all(len(n) <= 31 for n in names)
