"""Printable report and paper questionnaire (PDF): text layer, figures equal to the results, embedded fonts."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pypdf
import pytest
from fontTools.ttLib import TTFont

from analysis.indicators import leaves
from survey.collection.review import decide
from survey.indicators.indicators_views import LIBRARY
from survey.indicators.links import current_score, linked_values
from survey.indicators.sheet import percent_text
from survey.models import IndicatorTable, Response, ReviewEvent
from survey.platform.extensions import db
from survey.questionnaires.definition import numbered_questions
from survey.results.reporting import questionnaire_results
from tests.conftest import login
from tests.helpers import SEED_004_ANSWERS, make_project, published

ORG = "泉州市丰泽区财政绩效评价中心"


@pytest.fixture
def answered(app, evaluator):
    """Seed 004's questionnaire, 8 issued, 5 returned (one excluded with a reason)."""
    project = make_project(evaluator)
    project.evaluating_org = ORG
    questionnaire = published(project)
    questionnaire.issued_count = 8
    db.session.commit()
    for index, q4 in enumerate("aabca"):
        answers = {**SEED_004_ANSWERS, "q4": q4, "submission_id": f"pdf{questionnaire.id}-{index}"}
        assert app.test_client().post(f"/s/{questionnaire.public_token}", data=answers).status_code in (302, 303)
    last = db.session.execute(db.select(Response).order_by(Response.id.desc())).scalars().first()
    decide(last, evaluator, "exclude", "用时过短（3 秒）")
    db.session.commit()
    return questionnaire


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def pdf_text(data: bytes) -> str:
    return flat("".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages))


def font_families(data: bytes) -> set[str]:
    """Names of the embedded font programs; fails if any font of any page is not embedded."""
    families = set()
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            parts = [d.get_object() for d in font["/DescendantFonts"]] if font["/Subtype"] == "/Type0" else [font]
            for part in parts:
                descriptor = part["/FontDescriptor"].get_object()
                embedded = [key for key in ("/FontFile", "/FontFile2", "/FontFile3") if key in descriptor]
                assert embedded, f"{part['/BaseFont']} is not embedded"
                program = TTFont(io.BytesIO(descriptor[embedded[0]].get_object().get_data()))
                families.add(program["name"].getDebugName(1))
    return families


def test_report_pdf(logged_in, answered):
    response = logged_in.get(f"/desk/questionnaires/{answered.id}/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f"attachment; filename=report-{answered.id}.pdf"
    text = pdf_text(response.data)
    results = questionnaire_results(answered)
    assert results.overall is not None and results.overall.percent
    assert flat(answered.title) in text
    assert answered.project.name in text and ORG in text
    assert "本次调查共发放问卷8份，回收5份，其中有效问卷4份（剔除无效问卷1份，其中用时过短（3秒）1份）" in text
    assert f"总体满意度：{results.overall.percent}%" in text
    assert f"总体满意度为{results.overall.percent}%" in text
    assert "用时过短（3秒）" in text  # the exclusion with its reason, in the table and the review log
    assert "<svg" not in text and "<script" not in response.data.decode("latin-1")
    assert font_families(response.data) == {"Noto Sans SC GB2312"}


@pytest.mark.sqlite_only  # the paper form is drawn from the questionnaire's definition alone, whatever the database
def test_paper_form_pdf(logged_in, answered):
    response = logged_in.get(f"/desk/questionnaires/{answered.id}/paper-form.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f"attachment; filename=paper-form-{answered.id}.pdf"
    text = pdf_text(response.data)
    assert flat(answered.current_version.definition["title"]) in text
    for question in numbered_questions(answered.current_version.definition):
        assert flat(f"{question['number']}.{question['text']}") in text, question["key"]
        for number, option in enumerate(question.get("options", []), start=1):
            assert flat(f"{number}.{option['text']}") in text, (question["key"], option["key"])
    assert "○1.满意" in text
    assert font_families(response.data) == {"Noto Sans SC GB2312"}


def test_other_evaluator_gets_404(client, answered, other_evaluator):
    login(client, "mallory", "mallory-password-1")
    assert client.get(f"/desk/questionnaires/{answered.id}/report.pdf").status_code == 404
    assert client.get(f"/desk/questionnaires/{answered.id}/paper-form.pdf").status_code == 404


def test_anonymous_goes_to_login(client, answered):
    response = client.get(f"/desk/questionnaires/{answered.id}/paper-form.pdf")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


SECTION_TITLES = "方法|回收情况|各题比率|各题频数|绩效评价指标评分表|排除的问卷|文字回答"


def section_numerals(text: str) -> list[str]:
    """The numerals of the report's section headings, in order."""
    return re.findall(rf"([一二三四五六七八九十])、(?:{SECTION_TITLES})", text)


def linked_table(questionnaire) -> dict:
    """Seed 004's 附件1 (22 leaves) with its two satisfaction leaves linked to this questionnaire's figures."""
    table = json.loads((LIBRARY / "seed_004_fengze.json").read_text(encoding="utf-8"))
    by_key = {leaf["key"]: leaf for leaf in leaves(table)}
    by_key["c1_1"]["input"] = {"link": {"questionnaire": questionnaire.id, "figure": "rate", "question": "q4"}}
    by_key["c2_1"]["input"] = {"link": {"questionnaire": questionnaire.id, "figure": "overall_rate"}}
    return table


def test_report_pdf_prints_the_filled_indicator_table(logged_in, answered):
    table = linked_table(answered)
    db.session.add(IndicatorTable(project_id=answered.project_id, definition=table))
    db.session.commit()
    text = pdf_text(logged_in.get(f"/desk/questionnaires/{answered.id}/report.pdf").data)
    score = current_score(answered.project, table)
    assert score is not None and score.complete
    for leaf in leaves(table):
        assert flat(leaf["name"]) in text, leaf["key"]
    assert f"合计100评价等级：{score.grade}{score.total}" in text  # the footer row, once, with the desk's total
    assert text.count("合计100") == 1
    linked = linked_values(answered.project, table)
    assert "合计—" not in text
    for key in ("c1_1", "c2_1"):  # the live figure the desk shows beside a linked leaf
        assert f"={percent_text(linked[key])}%" in text
    assert "扣分情况" in text
    for deduction in score.deductions:
        assert flat(deduction.name) in text and f"{deduction.lost}" in text
    assert section_numerals(text) == list("一二三四五六七")


def test_report_pdf_sections_have_no_gap_without_a_table(logged_in, answered):
    text = pdf_text(logged_in.get(f"/desk/questionnaires/{answered.id}/report.pdf").data)
    assert "绩效评价指标评分表" not in text
    numerals = section_numerals(text)
    assert numerals == list("一二三四五六"[: len(numerals)]) and len(numerals) == 6
    assert "详见附表" not in text and "文字回答" in text  # written answers are in the report itself
    assert flat(SEED_004_ANSWERS["q6__other"]) in text and flat(SEED_004_ANSWERS["q8"]) in text


def test_exclusions_are_listed_in_beijing_time_with_the_clock_named(logged_in, answered):
    text = pdf_text(logged_in.get(f"/desk/questionnaires/{answered.id}/report.pdf").data)
    response = db.session.execute(db.select(Response).filter_by(status="excluded")).scalar_one()
    event = db.session.execute(db.select(ReviewEvent).filter_by(response_id=response.id)).scalar_one()
    assert "提交时间（北京时间）" in text and "时间（北京时间）" in text
    beijing = response.submitted_at + dt.timedelta(hours=8)  # stored naive UTC; China has no daylight saving
    assert flat(beijing.strftime("%Y-%m-%d %H:%M")) in text
    assert flat((event.created_at + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")) in text
    assert f"{response.number}{flat(beijing.strftime('%Y-%m-%d %H:%M'))}用时过短" in text  # its number, not the id


# The layout of a report with nothing to report (no row stored, read or counted): the database is not its subject.
@pytest.mark.sqlite_only
@pytest.mark.parametrize("template", ["public_safety", "fengze_service_object", "three_rates"])
def test_report_pdf_of_a_questionnaire_nobody_answered_yet(logged_in, evaluator, template):
    questionnaire = published(make_project(evaluator), template)
    response = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/report.pdf")
    assert response.status_code == 200
    text = pdf_text(response.data)
    assert re.search(r"本次调查共(发放问卷\d+份，)?回收(问卷)?0份，其中有效问卷0份", text)
    assert section_numerals(text) == list("一二三四五")  # no table, no written answers: five sections


def test_report_pdf_explains_rule_deductions_and_names_linked_figures_in_words(app, logged_in, answered):
    from analysis.indicators import reason_text

    table = linked_table(answered)
    db.session.add(IndicatorTable(project_id=answered.project_id, definition=table))
    db.session.commit()
    text = pdf_text(logged_in.get(f"/desk/questionnaires/{answered.id}/report.pdf").data)
    score = current_score(answered.project, table)
    linked = linked_values(answered.project, table)
    assert f"第4题满意率={percent_text(linked['c1_1'])}%" in text and "某题" not in text
    explained = [d for d in score.deductions if not isinstance(d.reason, str)]  # deductions made by a rule
    assert explained
    for deduction in explained:
        assert flat(reason_text(deduction.reason)).startswith("实际值")
        assert flat(reason_text(deduction.reason)) in text, deduction.key
