"""The working-paper bundle (底稿) download: one ZIP of a questionnaire's papers with SHA-256 of every file."""

from __future__ import annotations

from flask import Blueprint, Response, abort
from flask_login import login_required

from survey.access import member_questionnaire
from survey.bundle import working_paper_bundle

bp = Blueprint("bundle", __name__, url_prefix="/desk/questionnaires/<int:questionnaire_id>")


@bp.before_request
@login_required
def require_login():
    """Signed-in evaluators only; membership is checked per route."""


@bp.get("/bundle.zip")
def bundle_zip(questionnaire_id: int):
    """Definition, raw data, exclusion log, indicator table, report and manifest as one ZIP."""
    questionnaire = member_questionnaire(questionnaire_id)
    if questionnaire.current_version is None:
        abort(404)  # a draft has no frozen definition to put in the papers
    return Response(
        working_paper_bundle(questionnaire),
        mimetype="application/zip",
        headers={"Content-Disposition": f"attachment; filename=working-papers-{questionnaire.id}.zip"},
    )
