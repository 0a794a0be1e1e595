"""The working-paper bundle (底稿) download: one ZIP of a questionnaire's papers with SHA-256 of every file.

Made as an export job (``survey.jobs.queue``): the request answers at once with a progress page."""

from __future__ import annotations

from flask import Blueprint, abort
from flask_babel import gettext as _
from flask_login import login_required

from survey.accounts.access import member_questionnaire
from survey.jobs import queue as jobs
from survey.jobs.downloads import heavy_download
from survey.jobs.queue import JobFile
from survey.models import Questionnaire
from survey.platform.extensions import db
from survey.reports.bundle import working_paper_bundle

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
    params = {"questionnaire_id": questionnaire.id}
    return heavy_download("bundle_zip", params, project_id=questionnaire.project_id, questionnaire_id=questionnaire.id)


def build_bundle(params: dict) -> JobFile:
    """The bundle as an export job builds it, from the questionnaire's id."""
    questionnaire = db.session.get(Questionnaire, params["questionnaire_id"])
    if questionnaire is None:
        raise LookupError("the questionnaire is gone")
    body = working_paper_bundle(questionnaire)
    return JobFile(body, f"working-papers-{questionnaire.id}.zip", "application/zip")


jobs.register("bundle_zip", lambda: _("工作底稿包（ZIP）"), build_bundle)
