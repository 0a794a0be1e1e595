"""The working-paper bundle (底稿): files, hashes that verify, data that round-trips, members only."""

from __future__ import annotations

import copy
import hashlib
import io
import json
import random
import re
import shutil
import subprocess
import zipfile

import openpyxl
import pandas as pd
import pypdf
import pytest

from analysis.indicators import leaves
from survey.indicators.indicators_views import library_templates
from survey.indicators.links import current_score, linked_values
from survey.indicators.sheet import percent_text
from survey.models import IndicatorTable, Response
from survey.platform.extensions import db
from survey.projects.demo import _answer
from survey.questionnaires.portable import export_json
from survey.reports.bundle import working_paper_bundle
from tests.conftest import login
from tests.helpers import make_project, published


@pytest.fixture
def answered(app, evaluator):
    questionnaire = published(make_project(evaluator), "public_safety")
    _answer(questionnaire, random.Random(3), 25)
    return questionnaire


def _download(client, questionnaire) -> zipfile.ZipFile:
    response = client.get(f"/desk/questionnaires/{questionnaire.id}/bundle.zip")
    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert f"working-papers-{questionnaire.id}.zip" in response.headers["Content-Disposition"]
    return zipfile.ZipFile(io.BytesIO(response.data))


def test_bundle_files_hashes_and_data(app, logged_in, answered):
    first = Response.query.filter_by(questionnaire_id=answered.id).order_by(Response.id).first()
    exclude = f"/desk/questionnaires/{answered.id}/responses/{first.id}/exclude"
    assert logged_in.post(exclude, data={"reason": "用时过短"}).status_code == 302
    archive = _download(logged_in, answered)
    version = answered.current_version
    names = set(archive.namelist())
    expected = {
        f"questionnaire-v{version.number}.json",
        "responses.csv",
        "responses.xlsx",
        "results.xlsx",
        "exclusions.csv",
        "manifest.json",
        "SHA256SUMS",
    }
    assert expected <= names
    assert all(info.compress_type == zipfile.ZIP_DEFLATED for info in archive.infolist())

    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["version"] == version.number
    assert manifest["questionnaire"]["id"] == answered.id
    newest = max(r.submitted_at for r in Response.query.filter_by(questionnaire_id=answered.id))
    assert manifest["frozen_at"] == newest.replace(microsecond=0).isoformat() + "+00:00"
    assert manifest["generated_at"].endswith("+00:00")
    listed = {entry["name"] for entry in manifest["files"]}
    assert listed == names - {"manifest.json", "SHA256SUMS"}
    for entry in manifest["files"]:
        data = archive.read(entry["name"])
        assert entry["bytes"] == len(data)
        assert entry["sha256"] == hashlib.sha256(data).hexdigest()
    if "report.pdf" not in names:
        assert [s["name"] for s in manifest["skipped"]] == ["report.pdf"]

    definition = json.loads(archive.read(f"questionnaire-v{version.number}.json"))
    assert definition == json.loads(export_json(version.definition))

    table = pd.read_csv(io.BytesIO(archive.read("responses.csv")), encoding="utf-8-sig")
    assert archive.read("responses.csv").startswith(b"\xef\xbb\xbf")
    assert len(table) == 25
    numbers = sorted(r.number for r in Response.query.filter_by(questionnaire_id=answered.id))
    assert list(table["编号"]) == numbers == list(range(1, 26))  # 第 N 号 of this questionnaire, not row ids
    assert list(table["状态"]).count("已排除") == 1
    assert table.loc[table["编号"] == first.number, "排除原因"].item() == "用时过短"

    sheet = openpyxl.load_workbook(io.BytesIO(archive.read("responses.xlsx"))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(table.columns) and len(rows) == 26
    results = openpyxl.load_workbook(io.BytesIO(archive.read("results.xlsx")))
    assert "原始数据" in results.sheetnames and "比率" in results.sheetnames

    log = pd.read_csv(io.BytesIO(archive.read("exclusions.csv")), encoding="utf-8-sig")
    assert list(log.columns) == ["答卷编号", "操作", "原因", "操作人", "时间（北京时间）"]
    assert log.iloc[0].tolist()[:3] == [first.number, "排除", "用时过短"]


@pytest.mark.sqlite_only  # coreutils checks the archive's own checksum file: the database is not its subject
@pytest.mark.skipif(shutil.which("sha256sum") is None, reason="needs coreutils sha256sum")
def test_sha256sums_verifies_when_extracted(app, logged_in, answered, tmp_path):
    _download(logged_in, answered).extractall(tmp_path)
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "manifest.json: OK" in check.stdout
    (tmp_path / "responses.csv").write_bytes(b"changed afterwards\n")
    tampered = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True, text=True)
    assert tampered.returncode != 0


def test_indicator_table_is_included(app, logged_in, answered):
    table = next(iter(library_templates().values()))
    db.session.add(IndicatorTable(project_id=answered.project_id, definition=table))
    db.session.commit()
    archive = _download(logged_in, answered)
    assert {"indicators.xlsx", "indicators.yaml"} <= set(archive.namelist())
    openpyxl.load_workbook(io.BytesIO(archive.read("indicators.xlsx")))
    assert archive.read("indicators.yaml").decode("utf-8").strip()


def test_the_bundled_report_prints_the_linked_table_in_chinese(app, logged_in, answered):
    """The bundle's report.pdf is the desk's report: the filled 附件1 with live linked figures, in the
    report's language even when the evaluator's desk is in English."""
    table = copy.deepcopy(library_templates()["seed_004_fengze"])
    linked = next(leaf for leaf in leaves(table) if leaf["key"] == "c2_1")
    linked["input"] = {"link": {"questionnaire": answered.id, "figure": "overall_rate"}}
    db.session.add(IndicatorTable(project_id=answered.project_id, definition=table))
    db.session.commit()
    response = logged_in.get(f"/desk/questionnaires/{answered.id}/bundle.zip?lang=en")
    pdf = zipfile.ZipFile(io.BytesIO(response.data)).read("report.pdf")
    text = re.sub(r"\s+", "", "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages))
    score = current_score(answered.project, table)
    for leaf in leaves(table):
        assert re.sub(r"\s+", "", leaf["name"]) in text, leaf["key"]
    assert f"合计100评价等级：{score.grade}{score.total}" in text
    assert f"={percent_text(linked_values(answered.project, table)['c2_1'])}%" in text
    assert "扣分情况" in text and "Satisfaction" not in text


@pytest.mark.sqlite_only  # which language the papers are written in does not depend on the database
def test_every_paper_is_in_the_report_language_whatever_the_desk(app, logged_in, answered):
    """The working papers go in with the report: with the desk in English, the workbooks and CSV are Chinese."""
    archive = zipfile.ZipFile(io.BytesIO(logged_in.get(f"/desk/questionnaires/{answered.id}/bundle.zip?lang=en").data))
    for name in ("results.xlsx", "responses.xlsx"):
        sheets = openpyxl.load_workbook(io.BytesIO(archive.read(name)), read_only=True).sheetnames
        assert all(re.search(r"[\u4e00-\u9fff]", sheet) for sheet in sheets), (name, sheets)
    header = archive.read("responses.csv").decode("utf-8-sig").splitlines()[0]
    assert "提交时间" in header and "Submitted" not in header


def test_function_without_a_request(app, answered):
    with app.test_request_context():
        archive = zipfile.ZipFile(io.BytesIO(working_paper_bundle(answered)))
    assert "manifest.json" in archive.namelist()


def test_drafts_and_other_evaluators_get_404(app, client, answered, evaluator, other_evaluator):
    assert login(client, "mallory", "mallory-password-1").status_code == 302
    assert client.get(f"/desk/questionnaires/{answered.id}/bundle.zip").status_code == 404
