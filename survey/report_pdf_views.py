"""Printable downloads for the evaluator desk: the results report and the paper questionnaire, as PDF.

Membership is checked first (non-members get 404, as everywhere on the desk); the PDFs are made by
``survey.report_pdf``.
"""

from __future__ import annotations

from flask import Blueprint
from flask_login import login_required

from survey.access import member_questionnaire
from survey.downloads import pdf_attachment
from survey.report_pdf import paper_form_pdf, report_pdf

bp = Blueprint("report_pdf", __name__, url_prefix="/desk/questionnaires/<int:questionnaire_id>")


@bp.before_request
@login_required
def require_login():
    """Every route needs a signed-in evaluator; membership is checked per route."""


@bp.get("/report.pdf")
def report(questionnaire_id: int):
    """The printable results report."""
    questionnaire = member_questionnaire(questionnaire_id)
    return pdf_attachment(report_pdf(questionnaire), f"report-{questionnaire.id}.pdf")


@bp.get("/paper-form.pdf")
def paper_form(questionnaire_id: int):
    """The current version (or the draft) as a paper questionnaire."""
    questionnaire = member_questionnaire(questionnaire_id)
    return pdf_attachment(paper_form_pdf(questionnaire), f"paper-form-{questionnaire.id}.pdf")
