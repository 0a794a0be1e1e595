"""The Word report (.docx): opened with python-docx, its text, tables, merged 附件1 cells, native charts and the East
Asian font on every Chinese run; the seeds' indicator tables reproduce their totals inside it; a bad template is
refused with the place named and nothing stored; LibreOffice converts the report to PDF."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn

from survey.models import IndicatorTable, WordTemplate
from survey.platform.extensions import db
from survey.reports.docx_charts import RT_CHART
from survey.reports.word import (
    WordTemplateError,
    default_template,
    project_report,
    questionnaire_report,
    render_document,
)
from tests.conftest import login, unavailable
from tests.test_rounds_views import NEW, OLD, link, round_of
from tests.test_weighting_views import weighted_survey

LIBRARY = Path(__file__).resolve().parent.parent / "analysis" / "indicator_library"
CJK = re.compile(r"[\u4e00-\u9fff]")


def seed_table(stem: str) -> dict:
    return json.loads((LIBRARY / f"{stem}.json").read_text(encoding="utf-8"))


@pytest.fixture
def report_survey(logged_in, evaluator):
    """Two rounds, the newer weighted, its project holding the seed 002 indicator table."""
    old = round_of(evaluator, OLD)
    new = round_of(evaluator, NEW, key="safe2024")
    assert link(logged_in, new, old).status_code == 302
    weighted_survey(logged_in, new)
    db.session.add(IndicatorTable(project_id=new.project_id, definition=seed_table("seed_002_xinjian")))
    db.session.commit()
    db.session.expire_all()
    return new


def all_text(document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts)


def test_default_report_has_every_part(report_survey):
    document = Document(io.BytesIO(questionnaire_report(report_survey)))
    text = all_text(document)
    expected = ["一、调查方法", "二、调查结果", "三、与上一轮比较", "附件1", "附件2", "表 1　问卷回收情况", "各题比率"]
    expected += ["加权结果", "事后分层加权", "提高 17.5 个百分点", "您感觉安全吗？", "图 1　各题比率"]
    for part in expected:
        assert part in text, part
    assert "{{" not in text and "[[" not in text
    rates = next(t for t in document.tables if t.rows[0].cells[0].text == "题目")
    assert [c.text for c in rates.rows[1].cells] == ["第3题", "安全感率", "67.5%", "40", "52.0%～79.9%"]
    charts = [rel for rel in document.part.rels.values() if rel.reltype == RT_CHART]
    assert len(charts) == 2  # the rates with their intervals, the rounds' trend: native charts, not pictures


@pytest.mark.sqlite_only  # the fonts are the document writer's: the database is not its subject
def test_every_chinese_run_names_an_east_asian_font(report_survey):
    document = Document(io.BytesIO(questionnaire_report(report_survey)))
    missing = []
    for run in document.element.body.iter(qn("w:r")):
        text = "".join(t.text or "" for t in run.iter(qn("w:t")))
        if not CJK.search(text):
            continue
        fonts = run.find(qn("w:rPr") + "/" + qn("w:rFonts"))
        if fonts is None or not fonts.get(qn("w:eastAsia")):
            missing.append(text)
    assert missing == []


def test_attachment_1_merges_cells_and_scores_the_seed(report_survey):
    document = Document(io.BytesIO(questionnaire_report(report_survey)))
    table = next(t for t in document.tables if t.rows[0].cells[0].text == "一级指标")
    last = table.rows[-1].cells
    assert last[0].text == "合计" and last[5].text == "93.07" and "优" in last[4].text
    merged = [tc for tc in table._tbl.iter(qn("w:tc")) if tc.find(qn("w:tcPr") + "/" + qn("w:vMerge")) is not None]
    assert merged  # 一级/二级 cells span their leaves
    assert table.rows[1].cells[0]._tc is table.rows[2].cells[0]._tc  # the same merged cell in both rows


def test_seed_004_total_in_the_project_report(app, logged_in, evaluator):
    questionnaire = round_of(evaluator, OLD)
    db.session.add(IndicatorTable(project_id=questionnaire.project_id, definition=seed_table("seed_004_fengze")))
    db.session.commit()
    document = Document(io.BytesIO(project_report(questionnaire.project)))
    table = next(t for t in document.tables if t.rows[0].cells[0].text == "一级指标")
    assert table.rows[-1].cells[5].text in ("90", "90.00")


def test_project_report_numbers_tables_through_and_keeps_attachment_1_once(logged_in, evaluator):
    first = round_of(evaluator, OLD)
    second = round_of(evaluator, NEW, key="other", project=first.project)
    db.session.add(IndicatorTable(project_id=first.project_id, definition=seed_table("seed_002_xinjian")))
    db.session.commit()
    document = Document(io.BytesIO(project_report(first.project)))
    captions = [p.text for p in document.paragraphs if p.text.startswith("表 ")]
    numbers = [int(c.split()[1].split("　")[0]) for c in captions]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) > 4
    assert sum(1 for t in document.tables if t.rows[0].cells[0].text == "一级指标") == 1
    charts = [rel for rel in document.part.rels.values() if rel.reltype == RT_CHART]
    assert len(charts) == 2 and len({rel.target_part.partname for rel in charts}) == 2
    assert second.title in all_text(document)


def template_with(*paragraphs: str, table: list[list[str]] | None = None) -> bytes:
    document = Document(io.BytesIO(default_template()))
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, text in enumerate(row):
                grid.rows[r].cells[c].text = text
    output = io.BytesIO()
    document.save(output)
    return output.getvalue()


def test_row_placeholder_repeats_a_row_per_rate(report_survey):
    template = template_with(
        table=[["题目", "比率", "n"], ["[[每题]]第{{ r.number }}题", "{{ r.percent }}%", "{{ r.denominator }}"]]
    )
    document = Document(io.BytesIO(render_document(report_survey, template)))
    table = document.tables[-1]
    assert [[c.text for c in row.cells] for row in table.rows] == [["题目", "比率", "n"], ["第3题", "67.5%", "40"]]


@pytest.mark.sqlite_only  # a template's placeholders are checked before any figure is read
@pytest.mark.parametrize(
    ("paragraph", "table", "expected"),
    [
        ("[[不存在]]", None, "不认识的占位符 [[不存在]]"),
        ("总体满意度 {{ overall.percent", None, "模板语法有误"),
        ("[[每题]]{{ r.percent }}", None, "[[每题]] 只能放在表格某一行的第一格开头"),
        ("", [["[[比率表]]"]], "不能放在表格里"),
        ("{{ no_such_name.attribute }}", None, "不存在"),
    ],
)
def test_bad_templates_are_refused_with_the_place(report_survey, paragraph, table, expected):
    template = template_with(*([paragraph] if paragraph else []), table=table)
    with pytest.raises(WordTemplateError) as refused:
        render_document(report_survey, template)
    assert expected in refused.value.message
    assert "第" in refused.value.message  # the paragraph or the table cell is named


def test_upload_keeps_a_good_template_and_refuses_a_bad_one(logged_in, report_survey):
    project = report_survey.project
    url = f"/desk/projects/{project.id}/word-template"
    bad = template_with("{% if valid %}未闭合")
    response = logged_in.post(url, data={"file": (io.BytesIO(bad), "bad.docx")}, content_type="multipart/form-data")
    assert response.status_code == 422 and "模板语法有误" in response.get_data(as_text=True)
    assert db.session.execute(db.select(WordTemplate)).first() is None
    good = template_with("本次有效问卷{{ valid }}份。")
    response = logged_in.post(url, data={"file": (io.BytesIO(good), "mine.docx")}, content_type="multipart/form-data")
    assert response.status_code == 302
    document = Document(io.BytesIO(questionnaire_report(report_survey)))
    assert "本次有效问卷40份。" in all_text(document)
    assert logged_in.get(url + ".docx").data == good
    assert logged_in.post(url + "/reset").status_code == 302
    assert db.session.execute(db.select(WordTemplate)).first() is None


def test_downloads_and_the_wrong_user(app, client, report_survey, other_evaluator):
    other = app.test_client()
    login(other, "mallory", "mallory-password-1")
    project = report_survey.project
    assert other.get(f"/desk/questionnaires/{report_survey.id}/report.docx").status_code == 404
    assert other.get(f"/desk/projects/{project.id}/report.docx").status_code == 404
    assert other.get(f"/desk/projects/{project.id}/word-template").status_code == 404
    assert other.post(f"/desk/projects/{project.id}/word-template/reset").status_code == 404
    response = client.get(f"/desk/questionnaires/{report_survey.id}/report.docx")
    assert response.status_code == 200 and response.data[:2] == b"PK"


@pytest.mark.sqlite_only  # LibreOffice converts the file it is given: the database that fed it is not its subject
def test_libreoffice_converts_the_report(report_survey, tmp_path):
    soffice = shutil.which("soffice")
    if soffice is None:
        unavailable("soffice not found: install Debian's libreoffice-writer-nogui to convert the Word report")
    path = tmp_path / "report.docx"
    path.write_bytes(questionnaire_report(report_survey))
    profile = tmp_path / "profile"
    run = subprocess.run(
        [soffice, f"-env:UserInstallation=file://{profile}", "--headless", "--convert-to", "pdf", "--outdir",
         str(tmp_path), str(path)],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    pdf = tmp_path / "report.pdf"
    assert pdf.exists() and pdf.stat().st_size > 10_000
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert re.search(r"附件\s*1", text) and "93.07" in text
