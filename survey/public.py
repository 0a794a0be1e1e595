"""The respondent side: ``/s/<token>`` (questionnaire or channel link) and ``/u/<code>`` (unit code).

The page works without JavaScript. A refused submission is shown again with every answer kept and
the reason beside each question. CSRF is checked by the form itself (not the global guard) so an
expired or missing token also re-shows the answers instead of an error page. Rules that turn a
respondent away (closed, not yet open, full, already answered) show a plain page saying why.
"""

from __future__ import annotations

import secrets
import uuid

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup

from forms.response import collect_answers, quality_flags, unexpected_input
from survey import pow
from survey.capture import Arrival, check_open, store_response
from survey.extensions import csrf, db
from survey.frozen import Shown, shown_version
from survey.models import Channel, Questionnaire, UnitCode, utcnow

bp = Blueprint("public", __name__)

DEVICE_COOKIE = "sv_device"
DEVICE_COOKIE_AGE = 365 * 24 * 3600


def find_arrival(token: str) -> Arrival:
    """The questionnaire behind a questionnaire or channel token; 404 if unknown or never published."""
    questionnaire = db.session.execute(db.select(Questionnaire).filter_by(public_token=token)).scalar_one_or_none()
    channel = None
    if questionnaire is None:
        channel = db.session.execute(db.select(Channel).filter_by(token=token)).scalar_one_or_none()
        questionnaire = channel.questionnaire if channel else None
    if questionnaire is None or questionnaire.current_version is None:
        abort(404)
    return Arrival(questionnaire, channel)


def find_unit_arrival(code: str) -> Arrival:
    """The questionnaire behind a unit code; 404 if unknown."""
    unit = db.session.execute(db.select(UnitCode).filter_by(code=code)).scalar_one_or_none()
    if unit is None or unit.questionnaire.current_version is None:
        abort(404)
    return Arrival(unit.questionnaire, unit=unit)


def _shown(arrival: Arrival) -> Shown:
    """The published version in the page's language (English texts where it has them; keys unchanged)."""
    return shown_version(arrival.questionnaire.current_version, get_locale())


def _shown_definition(arrival: Arrival) -> dict:
    """The published definition in the page's language; shared and read-only (``survey.frozen``)."""
    return _shown(arrival).definition


def _render_form(
    arrival: Arrival, form, status: int = 200, csrf_expired: bool = False, action: str = "", refusal=None,
    blank: bool = False,
):  # fmt: skip
    """The respondent page; ``blank`` (a fresh form) takes its questions' markup from the version's cache."""
    shown = _shown(arrival)
    definition = shown.definition
    response = make_response(
        render_template(
            "public/respond.html",
            sections_html=_blank_sections(shown, form) if blank else None,
            questionnaire=arrival.questionnaire,
            arrival=arrival,
            definition=definition,
            sections=shown.sections,
            form=form,
            form_action=action,
            csrf_expired=csrf_expired,
            refusal=refusal,
            title=definition["title"],
        ),
        status,
    )
    if not request.cookies.get(DEVICE_COOKIE) and not arrival.questionnaire.anonymous:  # anonymous: no cookie
        response.set_cookie(
            DEVICE_COOKIE,
            secrets.token_urlsafe(18),
            max_age=DEVICE_COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
        )
    return response


def _serve(arrival: Arrival, action: str):
    """Serve the questionnaire with a fresh submission id and the time it was served."""
    check_open(arrival)
    form = _shown(arrival).form_class()
    form.submission_id.data = uuid.uuid4().hex
    form.started.data = utcnow().isoformat(timespec="seconds")
    return _render_form(arrival, form, action=action, blank=True)


def _blank_sections(shown: Shown, form) -> Markup:
    """The questions of a blank form, rendered once per version and language and then reused.

    They are the same for every respondent (the per-request parts, the CSRF token, submission id and
    proof of work, sit outside them), and rendering twenty questions' options was most of a page view.
    """
    html = shown.rendered.get("blank_sections")
    if html is None:
        html = Markup(render_template("public/_sections.html", sections=shown.sections, form=form))  # noqa: S704 - autoescaped
        shown.rendered["blank_sections"] = html
    return html


def _submit(arrival: Arrival, action: str, thanks_url: str):
    """Validate and store a response, or show the form again with the answers and the reasons."""
    shown = _shown(arrival)
    definition = shown.definition
    form = shown.form_class()
    # A forged form, or a missing or wrong proof of work: nothing is stored, the answers are shown again.
    refusal = unexpected_input(form, request.form, request.files, pow.FIELDS) or pow.refusal(
        arrival.questionnaire, form.submission_id.data, request.form
    )
    if refusal:
        return _render_form(arrival, form, status=400, action=action, refusal=refusal)
    if not form.validate():
        expired = bool(form.csrf_token.errors) if hasattr(form, "csrf_token") else False
        return _render_form(arrival, form, status=400 if expired else 422, csrf_expired=expired, action=action)
    answers = collect_answers(form)
    store_response(
        arrival,
        answers,
        submission_id=form.submission_id.data or uuid.uuid4().hex,
        started_iso=form.started.data,
        device_token=request.cookies.get(DEVICE_COOKIE),
        ip_address=request.remote_addr,
        flags=quality_flags(definition, answers),
    )
    return redirect(thanks_url, code=303)


@bp.get("/s/<token>")
def respond(token: str):
    """A questionnaire's own link or a channel's link."""
    return _serve(find_arrival(token), url_for("public.submit", token=token))


@bp.post("/s/<token>")
@csrf.exempt  # the form checks its own token, so a failure keeps the respondent's answers
def submit(token: str):
    """Submit through a questionnaire or channel link."""
    return _submit(find_arrival(token), url_for("public.submit", token=token), url_for("public.thanks", token=token))


@bp.get("/u/<code>")
def respond_unit(code: str):
    """A serving-object unit's own link: the page names the unit."""
    return _serve(find_unit_arrival(code), url_for("public.submit_unit", code=code))


@bp.post("/u/<code>")
@csrf.exempt
def submit_unit(code: str):
    """Submit through a unit code."""
    arrival = find_unit_arrival(code)
    thanks = url_for("public.thanks", token=arrival.questionnaire.public_token)
    return _submit(arrival, url_for("public.submit_unit", code=code), thanks)


@bp.get("/s/<token>/thanks")
def thanks(token: str):
    """The thank-you page; shown for closed questionnaires too, since a late redirect may land here."""
    arrival = find_arrival(token)
    definition = _shown_definition(arrival)
    return render_template(
        "public/thanks.html", questionnaire=arrival.questionnaire, definition=definition, title=_("提交成功")
    )
