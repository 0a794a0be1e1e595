"""The Word report: downloads (one questionnaire, or the whole project) and the project's editable template.

Every route needs a signed-in member of the project (``survey.accounts.access``); changing the template needs an
editor. A report reads every response and writes charts: it is made as an export job (``survey.jobs.queue``),
and a template that no longer fits the figures fails the job with the place named. An uploaded template is
stored only when it passes every check and a trial report of each published questionnaire.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from analysis.lazy import lazy_module
from forms.project import ActionForm
from survey.accounts.access import can_edit, member_project, member_questionnaire
from survey.jobs import queue as jobs
from survey.jobs.downloads import heavy_download
from survey.jobs.queue import JobFile
from survey.models import Project, Questionnaire
from survey.platform.extensions import db

bp = Blueprint("word", __name__, url_prefix="/desk")

# Imported on first use (analysis.lazy): it brings python-docx and lxml, which starting the app (every ``flask``
# command, every worker) need not pay for.
word = lazy_module("survey.reports.word")


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@bp.before_request
@login_required
def require_login():
    """Every route needs a signed-in evaluator; membership is checked per route."""


@bp.get("/questionnaires/<int:questionnaire_id>/report.docx")
def questionnaire_docx(questionnaire_id: int):
    """The questionnaire's Word report."""
    questionnaire = member_questionnaire(questionnaire_id)
    params = {"questionnaire_id": questionnaire.id}
    return heavy_download("report_docx", params, project_id=questionnaire.project_id, questionnaire_id=questionnaire.id)


@bp.get("/projects/<int:project_id>/report.docx")
def project_docx(project_id: int):
    """The project's Word report: every published questionnaire, 附件1 once."""
    project = member_project(project_id)
    return heavy_download("project_docx", {"project_id": project.id}, project_id=project.id)


def _page(project: Project, problems=(), status: int = 200):
    stored = word.stored_template(project.id)
    return render_template(
        "report/word_template.html",
        project=project,
        stored=stored,
        blocks=list(word.BLOCKS),
        problems=problems,
        editable=can_edit(project),
        action_form=ActionForm(),
        title=_("Word 报告模板"),
    ), status


@bp.get("/projects/<int:project_id>/word-template")
def template_page(project_id: int):
    """The template in use, how to edit it, and the upload."""
    return _page(member_project(project_id))


@bp.get("/projects/<int:project_id>/word-template.docx")
def template_file(project_id: int):
    """The template in use (the project's own or the default), to open in Word or WPS and edit."""
    project = member_project(project_id)
    return Response(
        word.template_bytes(project.id),
        mimetype=DOCX,
        headers={"Content-Disposition": f"attachment; filename=report-template-{project.id}.docx"},
    )


@bp.post("/projects/<int:project_id>/word-template")
def upload_template(project_id: int):
    """Keep an uploaded template only if every check and a trial report pass; otherwise say what and where."""
    project = member_project(project_id, edit=True)
    if not ActionForm().validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(project, [_("请选择要上传的 Word（.docx）文件。")], status=422)
    content = upload.read(word.MAX_TEMPLATE_BYTES + 1)
    problems = word.check_template(project, content)
    if problems:
        return _page(project, problems, status=422)
    word.save_word_template(project, content, upload.filename, current_user.id)
    flash(_("Word 报告模板已保存，本项目的所有 Word 报告都使用这个模板。"), "success")
    return redirect(url_for("word.template_page", project_id=project.id))


@bp.post("/projects/<int:project_id>/word-template/reset")
def reset_template(project_id: int):
    """Go back to the default template."""
    project = member_project(project_id, edit=True)
    if not ActionForm().validate_on_submit():
        abort(400)
    word.reset_word_template(project)
    flash(_("已恢复默认的 Word 报告模板。"), "success")
    return redirect(url_for("word.template_page", project_id=project.id))


def build_questionnaire_docx(params: dict) -> JobFile:
    questionnaire = db.session.get(Questionnaire, params["questionnaire_id"])
    if questionnaire is None:
        raise LookupError("the questionnaire is gone")
    return JobFile(word.questionnaire_report(questionnaire), f"report-{questionnaire.id}.docx", DOCX)


def build_project_docx(params: dict) -> JobFile:
    project = db.session.get(Project, params["project_id"])
    if project is None:
        raise LookupError("the project is gone")
    return JobFile(word.project_report(project), f"project-report-{project.id}.docx", DOCX)


jobs.register("report_docx", lambda: _("Word 报告"), build_questionnaire_docx)
jobs.register("project_docx", lambda: _("项目 Word 报告"), build_project_docx)
