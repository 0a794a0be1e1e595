"""Printable downloads for the evaluator desk: the results report and the paper questionnaire, as PDF.

Membership is checked first (non-members get 404, as everywhere on the desk); the PDFs are made by
``survey.reports.pdf``. The report reads every response and lays out many pages: it is made as an export
job (``survey.jobs.queue``). The paper form is a few pages of the definition alone and is served at once.
"""

from __future__ import annotations

from flask import Blueprint
from flask_babel import gettext as _
from flask_login import login_required

from survey.accounts.access import member_questionnaire
from survey.jobs import queue as jobs
from survey.jobs.downloads import heavy_download, pdf_attachment
from survey.jobs.queue import JobFile
from survey.models import Questionnaire
from survey.platform.extensions import db
from survey.reports.pdf import paper_form_pdf, report_pdf

bp = Blueprint("report_pdf", __name__, url_prefix="/desk/questionnaires/<int:questionnaire_id>")


@bp.before_request
@login_required
def require_login():
    """Every route needs a signed-in evaluator; membership is checked per route."""


@bp.get("/report.pdf")
def report(questionnaire_id: int):
    """The printable results report."""
    questionnaire = member_questionnaire(questionnaire_id)
    params = {"questionnaire_id": questionnaire.id}
    return heavy_download("report_pdf", params, project_id=questionnaire.project_id, questionnaire_id=questionnaire.id)


@bp.get("/paper-form.pdf")
def paper_form(questionnaire_id: int):
    """The current version (or the draft) as a paper questionnaire."""
    questionnaire = member_questionnaire(questionnaire_id)
    return pdf_attachment(paper_form_pdf(questionnaire), f"paper-form-{questionnaire.id}.pdf")


def build_report(params: dict) -> JobFile:
    """The report PDF as an export job builds it, from the questionnaire's id."""
    questionnaire = db.session.get(Questionnaire, params["questionnaire_id"])
    if questionnaire is None:
        raise LookupError("the questionnaire is gone")
    return JobFile(report_pdf(questionnaire), f"report-{questionnaire.id}.pdf", "application/pdf")


jobs.register("report_pdf", lambda: _("报告 PDF"), build_report)
