"""The questionnaire workbook: sheets, the same figures as the results, option texts, native charts."""

from __future__ import annotations

import io
import random
import zipfile

import openpyxl
import pytest

from survey.demo import _answer
from survey.models import Response
from survey.reporting import questionnaire_results
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


def test_other_evaluator_gets_404(app, client, answered, other_evaluator):
    assert login(client, "mallory", "mallory-password-1").status_code == 302
    assert client.get(f"/desk/questionnaires/{answered.id}/results.xlsx").status_code == 404


def test_anonymous_goes_to_login(app, client, answered):
    response = client.get(f"/desk/questionnaires/{answered.id}/results.xlsx")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
