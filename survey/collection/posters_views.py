"""Poster downloads for the evaluator desk: all posters of a questionnaire, or one channel's poster.

Membership is checked first (non-members get 404, as everywhere on the desk); the PDF is made by
``survey.collection.posters``.
"""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import login_required

from survey.accounts.access import member_questionnaire
from survey.collection.fieldwork import has_public_link
from survey.collection.posters import poster_pdf
from survey.jobs.downloads import pdf_attachment
from survey.models import Channel
from survey.platform.extensions import db

bp = Blueprint("posters", __name__, url_prefix="/desk/questionnaires/<int:questionnaire_id>")


@bp.before_request
@login_required
def require_login():
    """Every poster route needs a signed-in evaluator; membership is checked per route."""


@bp.get("/posters.pdf")
def all_posters(questionnaire_id: int):
    """One PDF: the questionnaire's own link first, then one poster per channel."""
    questionnaire = member_questionnaire(questionnaire_id)
    return pdf_attachment(
        poster_pdf(questionnaire, questionnaire.channels, general=True), f"posters-{questionnaire.id}.pdf"
    )


@bp.get("/channels/<int:channel_id>/poster.pdf")
def channel_poster(questionnaire_id: int, channel_id: int):
    """One channel's poster; 404 unless the channel belongs to this questionnaire and has a link (not paper)."""
    questionnaire = member_questionnaire(questionnaire_id)
    channel = db.session.get(Channel, channel_id)
    if channel is None or channel.questionnaire_id != questionnaire.id or not has_public_link(channel):
        abort(404)
    return pdf_attachment(poster_pdf(questionnaire, [channel]), f"poster-{questionnaire.id}-channel-{channel.id}.pdf")
