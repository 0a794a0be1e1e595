"""The Excel workbooks' routes and export jobs: one questionnaire's results and a whole project's.

The workbooks themselves are built by ``survey.reports.workbooks``.

A workbook is written in its own language (``?language=zh|en``, else the desk's): every word in it, the
labels, the rates' names and definitions, the channel and status of each response, is put into words
under that locale, whatever language the desk is in.
"""

from __future__ import annotations

from flask import Blueprint, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import login_required

from survey.accounts.access import member_project, member_questionnaire
from survey.jobs import queue as jobs
from survey.jobs.downloads import heavy_download
from survey.jobs.queue import JobFile
from survey.models import Project, Questionnaire
from survey.platform.extensions import db
from survey.reports.workbooks import project_file, questionnaire_workbook

bp = Blueprint("workbook_views", __name__, url_prefix="/desk")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LANGUAGES = {"zh": "zh_Hans_CN", "en": "en"}  # ?language= → the locale a workbook is written in


@bp.before_request
@login_required
def require_login():
    """Signed-in evaluators only; membership is checked per route."""


@bp.get("/questionnaires/<int:questionnaire_id>/results.xlsx")
def results_xlsx(questionnaire_id: int):
    """Every figure of the results page, native charts, the project's 附件1 table and the raw responses."""
    questionnaire = member_questionnaire(questionnaire_id)
    params = {"questionnaire_id": questionnaire.id, "workbook_locale": workbook_locale()}
    return heavy_download(
        "results_xlsx", params, project_id=questionnaire.project_id, questionnaire_id=questionnaire.id
    )


@bp.get("/projects/<int:project_id>/workbook.xlsx")
def project_workbook(project_id: int):
    """One workbook for the project (any member, viewers included, may download it)."""
    project = member_project(project_id)
    return heavy_download(
        "project_workbook", {"project_id": project.id, "workbook_locale": workbook_locale()}, project_id=project.id
    )


def build_results_xlsx(params: dict) -> JobFile:
    """The results workbook as an export job builds it (``survey.jobs.queue``), from ids alone."""
    questionnaire = db.session.get(Questionnaire, params["questionnaire_id"])
    if questionnaire is None:
        raise LookupError("the questionnaire is gone")
    body = questionnaire_workbook(questionnaire, params["workbook_locale"])
    return JobFile(body, f"results-{questionnaire.id}.xlsx", XLSX)


def build_project_workbook(params: dict) -> JobFile:
    """The project workbook as an export job builds it."""
    project = db.session.get(Project, params["project_id"])
    if project is None:
        raise LookupError("the project is gone")
    body = project_file(project, params["workbook_locale"])
    return JobFile(body, f"project-{project.id}.xlsx", XLSX, f"{project.name}.xlsx")


jobs.register("results_xlsx", lambda: _("结果工作簿（Excel）"), build_results_xlsx)
jobs.register("project_workbook", lambda: _("项目工作簿（Excel）"), build_project_workbook)


def workbook_locale() -> str:
    """The language asked for with ``?language=zh|en``; otherwise the desk's."""
    return LANGUAGES.get(request.args.get("language", ""), str(get_locale()))
