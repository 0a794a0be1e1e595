"""The respondent side: ``/s/<token>`` on a phone, no login.

The page works without JavaScript. A refused submission is shown again with every answer kept and
the reason beside each question. CSRF is checked by the form itself (not the global guard) so an
expired or missing token also re-shows the answers instead of an error page.
"""

from __future__ import annotations

import secrets
import uuid

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from forms.response import build_response_form_class, collect_answers, quality_flags
from survey.capture import store_response
from survey.definition import numbered_sections
from survey.extensions import csrf, db
from survey.models import Questionnaire, utcnow

bp = Blueprint("public", __name__)

DEVICE_COOKIE = "sv_device"
DEVICE_COOKIE_AGE = 365 * 24 * 3600


class QuestionnaireClosed(Exception):
    """Raised for a link whose questionnaire no longer takes answers (shown as HTTP 410)."""

    def __init__(self, questionnaire: Questionnaire):
        super().__init__(questionnaire.public_token)
        self.questionnaire = questionnaire


def open_questionnaire(token: str) -> Questionnaire:
    """The questionnaire behind a link if it takes answers; 404 unknown/draft, 410 closed."""
    questionnaire = db.session.execute(
        db.select(Questionnaire).filter_by(public_token=token)
    ).scalar_one_or_none()
    if questionnaire is None or questionnaire.current_version is None:
        abort(404)
    if questionnaire.status != "published":
        raise QuestionnaireClosed(questionnaire)
    return questionnaire


def _render_form(questionnaire: Questionnaire, form, status: int = 200, csrf_expired: bool = False):
    definition = questionnaire.current_version.definition
    response = make_response(
        render_template(
            "public/respond.html",
            questionnaire=questionnaire,
            definition=definition,
            sections=numbered_sections(definition),
            form=form,
            csrf_expired=csrf_expired,
            title=definition["title"],
        ),
        status,
    )
    if not request.cookies.get(DEVICE_COOKIE):
        response.set_cookie(
            DEVICE_COOKIE,
            secrets.token_urlsafe(18),
            max_age=DEVICE_COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
        )
    return response


@bp.get("/s/<token>")
def respond(token: str):
    """Serve the questionnaire with a fresh submission id and the time it was served."""
    questionnaire = open_questionnaire(token)
    form = build_response_form_class(questionnaire.current_version.definition)()
    form.submission_id.data = uuid.uuid4().hex
    form.started.data = utcnow().isoformat(timespec="seconds")
    return _render_form(questionnaire, form)


@bp.post("/s/<token>")
@csrf.exempt  # the form checks its own token, so a failure keeps the respondent's answers
def submit(token: str):
    """Validate and store a response, or show the form again with the answers and reasons."""
    questionnaire = open_questionnaire(token)
    definition = questionnaire.current_version.definition
    form = build_response_form_class(definition)()
    if not form.validate():
        expired = bool(form.csrf_token.errors) if hasattr(form, "csrf_token") else False
        return _render_form(questionnaire, form, status=400 if expired else 422, csrf_expired=expired)
    answers = collect_answers(form)
    store_response(
        questionnaire,
        answers,
        flags=quality_flags(definition, answers),
        submission_id=form.submission_id.data or uuid.uuid4().hex,
        started_iso=form.started.data,
        device_token=request.cookies.get(DEVICE_COOKIE),
    )
    return redirect(url_for("public.thanks", token=token), code=303)


@bp.get("/s/<token>/thanks")
def thanks(token: str):
    """The thank-you page; shown for closed questionnaires too, since a late redirect may land here."""
    questionnaire = db.session.execute(
        db.select(Questionnaire).filter_by(public_token=token)
    ).scalar_one_or_none()
    if questionnaire is None or questionnaire.current_version is None:
        abort(404)
    return render_template("public/thanks.html", questionnaire=questionnaire, title=_("提交成功"))
