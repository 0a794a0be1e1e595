"""The respondent side: ``/s/<token>`` (questionnaire or channel link) and ``/u/<code>`` (unit code).

The page works without JavaScript. A refused submission is shown again with every answer kept and
the reason beside each question. CSRF is checked by the form itself (not the global guard) so an
expired or missing token also re-shows the answers instead of an error page. Rules that turn a
respondent away (closed, not yet open, full, already answered) show a plain page saying why. While the
database is out of reach a submission is shown again with its answers and a word to submit later, or,
when even the link could not be read, a page saying the answers are still on the page before
(``_database_down``).

Ballot stuffing: the form's ``started`` is signed with its submission id (``survey.respond.form_token``), so the
time taken is the server's and one served form stores one response; the device cookie is signed
(``survey.platform.device``), so a made-up one is no device.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, current_app, g, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from sqlalchemy import Connection
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from forms.response import collect_answers, form_class_of
from survey.platform import device, tokens
from survey.platform.errors import Refused
from survey.platform.extensions import csrf
from survey.platform.hashing import device_hash
from survey.respond import answered, form_token, pow
from survey.respond.arrivals import (
    arrival_by_token,
    arrival_by_unit,
    last_seen,
    once_more_if_disconnected,
    page_connection,
)
from survey.respond.frozen import Shown, shown_version
from survey.respond.submit import check_open, start_flags, submit_response
from survey.responses.capture import Arrival
from survey.responses.quality import quality_flags

bp = Blueprint("public", __name__)

DEVICE_COOKIE = device.COOKIE
ANSWERED_STATUS = 409  # survey.respond.submit refuses a device's second response with this status, and only it
# as survey.respond.submit says it
ANSWERED_MESSAGE = _l("这台设备已经提交过这份问卷，每台设备只能提交一次。感谢您的参与！")
START_REFUSED = _l(
    "安全校验未通过：这份表单已经提交过，或不是本页面生成的。已重新生成，您的回答都还在，请核对后再点“提交”。"
)
# The database out of reach (a restart, a cut, the pool exhausted): the answers must not seem lost.
DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeout)
KEPT_ON_PAGE = _l("服务器暂时出了问题，这次提交没有保存。您填写的内容仍保留在本页，请稍后再点“提交”。")
KEPT_ON_PAGE_BEFORE = _l(
    "服务器暂时出了问题，这次提交没有保存。您填写的内容仍保留在上一页：请按手机的“返回”键回到问卷，稍后再点“提交”。"
)
FORM_DOWN = _l("服务器暂时出了问题，问卷暂时打不开。请稍后再打开这个链接；已经填写的内容保留在本机，不会丢失。")
RETRY_AFTER_SECONDS = "30"


def find_arrival(token: str, connection: Connection, device: str | None = None) -> Arrival:
    """The questionnaire behind a questionnaire or channel token; 404 if unknown or never published.

    ``device``: a submission's device hash, checked against the questionnaire's responses in the same query.
    """
    return _found(arrival_by_token, token, connection, device)[0]


def find_unit_arrival(code: str, connection: Connection, device: str | None = None) -> Arrival:
    """The questionnaire behind a unit code; 404 if unknown or never published."""
    return _found(arrival_by_unit, code, connection, device)[0]


def _found(lookup, typed: str, connection: Connection, device: str | None = None) -> tuple[Arrival, str]:
    """The arrival behind a link token or unit code, and the token that found it: the one given, or, once
    that misses, the one a person typing it meant (capitals, ``O`` for ``0``…; ``survey.platform.tokens``)."""
    for token in tokens.lookup_forms(typed):
        arrival = lookup(token, connection, device)
        if arrival is not None:
            return arrival, token
    abort(404)


def _as_meant(endpoint: str, **values):
    """A page asked for by a typed variant of its token goes to the link's own address: one page per link,
    so a link's cached page (``_skeleton``) is not made again for every way of typing it."""
    return redirect(url_for(endpoint, **{**request.args.to_dict(), **values}), code=301)


def _shown(arrival: Arrival) -> Shown:
    """The published version in the page's language (English texts where it has them; keys unchanged)."""
    return shown_version(arrival.questionnaire.current_version, get_locale())


def _shown_definition(arrival: Arrival) -> dict:
    """The published definition in the page's language; shared and read-only (``survey.respond.frozen``)."""
    return _shown(arrival).definition


def _render_form(
    arrival: Arrival, form, status: int = 200, csrf_expired: bool = False, action: str = "", refusal=None,
    blank: bool = False, per_request_html: Markup | None = None,
):  # fmt: skip
    """The respondent page; ``blank`` (a fresh form) takes its questions' markup from the version's cache.

    ``per_request_html`` stands in for the hidden per-request inputs (``_skeleton`` passes a marker).
    """
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
            per_request_html=per_request_html,
        ),
        status,
    )
    return _with_cookies(arrival, response)


def _with_cookies(arrival: Arrival, response):
    """The form token's browser cookie when this page made it (``survey.respond.form_token``), and a signed device
    cookie for a device without a valid one (``survey.platform.device``; never on an anonymous questionnaire)."""
    form_token.remember(response)
    if not arrival.questionnaire.anonymous and device.token() is None:
        device.give(response)
    return response


def _answered_here(arrival: Arrival) -> bool:
    """Whether this device answered the questionnaire already and may not again, by its cookie alone
    (``survey.respond.answered``): a page view asks the database nothing more for it."""
    questionnaire = arrival.questionnaire
    if not questionnaire.one_per_device or questionnaire.anonymous:
        return False
    # The cookie as sent, signed or not: the mark is our signature over it, so a made-up value has none, and a
    # phone that answered with an unsigned cookie of an earlier release is still told so.
    return answered.answered_here(questionnaire.id, request.cookies.get(DEVICE_COOKIE))


def _answered_page(arrival: Arrival, status: int):
    """The page saying this device answered already, instead of a form it may not send; it also removes the
    device's draft of the questionnaire (``data-clear-draft``), and marks the device for its next visit."""
    body = render_template(
        "public/answered.html",
        questionnaire=arrival.questionnaire,
        definition=_shown_definition(arrival),
        title=_("您已经提交过"),
        message=ANSWERED_MESSAGE,
    )
    return _marked(arrival, make_response(body, status))


def _marked(arrival: Arrival, response):
    """``response`` with this device's mark for the questionnaire (``survey.respond.answered``); none when anonymous."""
    if arrival.questionnaire.anonymous:
        return response
    return answered.mark(response, arrival.questionnaire.id, device.token())


def _serve(arrival: Arrival, action: str):
    """Serve the questionnaire with a fresh submission id and the time it was served, signed with it.

    A questionnaire without proof of work is served from its page skeleton (``_skeleton``) with only
    the hidden per-request inputs filled in; one with proof of work renders its signed challenge.
    """
    if _answered_here(arrival):
        return _answered_page(arrival, ANSWERED_STATUS)  # as its submission would be: 409
    check_open(arrival)
    submission_id = uuid.uuid4().hex
    started = form_token.issue_start(arrival.questionnaire.id, submission_id)
    if arrival.questionnaire.pow_bits:
        form = form_class_of(_shown(arrival))()
        form.submission_id.data, form.started.data = submission_id, started
        return _render_form(arrival, form, action=action, blank=True)
    head, tail = _skeleton(arrival, action)
    return _with_cookies(arrival, make_response(head + str(_per_request_inputs(submission_id, started)) + tail))


SLOT = Markup("<!--per-request inputs-->")  # where the per-request inputs go in a skeleton
SKELETONS_PER_VERSION = 64  # links (channels, unit codes) x languages whose page is kept, per version


def _skeleton(arrival: Arrival, action: str) -> tuple[str, str]:
    """The blank page of this link in this language, split where the per-request hidden inputs go.

    Everything else on a blank page is the same for every respondent of the link: rendering it once
    leaves a page view with a CSRF token, a submission id and a string join. The key holds everything
    the template reads besides the version and the language (those key ``shown`` itself), so a
    changed setting or link name gets a new skeleton; past ``SKELETONS_PER_VERSION`` (a questionnaire
    with thousands of unit codes) pages are rendered each time, still from the cached questions.
    """
    shown, questionnaire = _shown(arrival), arrival.questionnaire
    key = (
        "page", action, request.script_root, str(get_locale()), questionnaire.public_token,
        questionnaire.current_version.number, questionnaire.project.evaluating_org, questionnaire.anonymous,
        bool(questionnaire.ip_limit), arrival.unit.unit_name if arrival.unit else None,
        arrival.channel.name if arrival.channel else None, current_app.config["WTF_CSRF_ENABLED"],
    )  # fmt: skip
    parts = shown.rendered.get(key)
    if parts is None:
        form = form_class_of(shown)()
        page = _render_form(arrival, form, action=action, blank=True, per_request_html=SLOT).get_data(True)
        head, marker, tail = page.partition(SLOT)
        if not marker:  # the inputs would land outside the form: every submission would fail its CSRF check
            raise RuntimeError("templates/public/respond.html no longer places per_request_html")
        parts = (head, tail)
        if len(shown.rendered) < SKELETONS_PER_VERSION:
            shown.rendered[key] = parts
    return parts


HIDDEN_INPUT = '<input id="{0}" name="{0}" type="hidden" value="{1}">'  # the markup WTForms gives hidden fields


def _per_request_inputs(submission_id: str, started: str) -> Markup:
    """The hidden inputs that differ per page view, with the same markup WTForms gives them.

    Built with ``str.format`` and ``escape`` rather than ``Markup.format``, whose formatter escapes
    through Python's ``string.Formatter`` and took a tenth of a page view.
    """
    values = [("submission_id", submission_id), ("started", started)]
    if name := _csrf_field():
        values.insert(0, (name, form_token.issue()))
    return Markup("\n".join(HIDDEN_INPUT.format(name, escape(value)) for name, value in values))  # noqa: S704 - escaped


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


def _submit(arrival: Arrival, thanks_url: str, connection: Connection):
    """Validate and store a response, or show the form again with the answers and the reasons.

    A submission that is in order is read without the WTForms form (``_read_quickly``); anything else
    goes through the form, which refuses and explains beside each question. The form posts to its own
    address, so a page shown again posts where this one did (``_again``).
    """
    g.respondent_arrival = arrival  # for ``_database_down``: the form can be shown again with the answers
    shown, questionnaire = _shown(arrival), arrival.questionnaire
    fields = request.form
    # A forged form, or a missing or wrong proof of work: nothing is stored, the answers are shown again.
    refusal = shown.reader.unexpected(fields, request.files, pow.FIELDS) or pow.refusal(
        questionnaire, fields.get("submission_id"), fields
    )
    if refusal:
        return _render_form(arrival, form_class_of(shown)(), status=400, action=_again(), refusal=refusal)
    start = form_token.read_start(fields.get("started"), questionnaire.id, fields.get("submission_id"))
    if start.forged:
        return _start_refused(arrival, shown)
    answers = _read_quickly(shown, fields)
    if answers is None:
        form = form_class_of(shown)()
        if not form.validate():
            expired = bool(form.csrf_token.errors) if hasattr(form, "csrf_token") else False
            return _render_form(arrival, form, status=400 if expired else 422, csrf_expired=expired, action=_again())
        answers = collect_answers(form)
    try:
        submit_response(
            arrival,
            answers,
            submission_id=fields.get("submission_id") or uuid.uuid4().hex,
            started_iso=start.at.isoformat() if start.at else None,  # the signed time, never the client's
            device_token=device.token(),
            ip_address=request.remote_addr,
            flags=quality_flags(shown.definition, answers) + start_flags(questionnaire, start.at),
            coder=shown.coder,
            connection=connection,
        )
    except Refused as refused:
        if refused.status != ANSWERED_STATUS:
            raise
        return _answered_page(arrival, ANSWERED_STATUS)
    return _marked(arrival, redirect(thanks_url, code=303))


def _start_refused(arrival: Arrival, shown: Shown):
    """A form token used under another submission id (one served form posted again as a new response), or
    one made up: nothing is stored, and the answers come back with a fresh submission id and token, so a
    respondent who somehow got here can still send them (timed from now)."""
    form = form_class_of(shown)()
    form.submission_id.data = uuid.uuid4().hex
    form.started.data = form_token.issue_start(arrival.questionnaire.id, form.submission_id.data)
    return _render_form(arrival, form, status=400, action=_again(), refusal=START_REFUSED)


def _database_down(error):
    """The database out of reach after ``once_more_if_disconnected`` tried again: say that the answers are
    still there. A submission is shown again filled in, with its submission id and start token (sent again
    later it is stored once), when its link is known: read by this request, or by this process before
    (``survey.respond.arrivals.last_seen``), and its questions are cached (``survey.respond.frozen``). Otherwise a
    plain page
    sends the respondent back to the filled-in page. The page script keeps its draft either way (only the
    thanks page removes it).

    A page view whose pooled connection the database had dropped is handed back first, once, so that
    ``SurveyFlask`` serves it again on a new connection: only a database still out of reach gets this page.
    """
    if request.method == "GET" and getattr(error, "connection_invalidated", False) and not g.get("served_once_more"):
        raise error
    arrival = g.get("respondent_arrival") or _last_seen()
    if request.method == "POST" and arrival is not None:
        try:
            response = _render_form(
                arrival, form_class_of(_shown(arrival))(), 503, action=_again(), refusal=KEPT_ON_PAGE
            )
        except DATABASE_DOWN:
            response = None  # the questions were not cached: the plain page below
        if response is not None:
            response.headers["Retry-After"] = RETRY_AFTER_SECONDS
            return response
    message = KEPT_ON_PAGE_BEFORE if request.method == "POST" else FORM_DOWN
    title = _("服务器暂时出了问题")
    body = render_template("errors/message.html", layout="base_phone.html", title=title, message=message)
    return body, 503, {"Retry-After": RETRY_AFTER_SECONDS}


for _kind in DATABASE_DOWN:
    bp.register_error_handler(_kind, _database_down)


def _last_seen() -> Arrival | None:
    """The arrival this process last read for the link of this request (``survey.respond.arrivals.last_seen``)."""
    args = request.view_args or {}
    if args.get("token"):
        return last_seen("token", args["token"])
    return last_seen("unit", args["code"]) if args.get("code") else None


def _again() -> str:
    """The address this submission was posted to, for the form shown again with its answers."""
    return url_for(request.endpoint, **request.view_args)


def _read_quickly(shown: Shown, fields) -> dict | None:
    """The answers of a submission that is in order, CSRF token included; ``None`` leaves it to the form."""
    if (name := _csrf_field()) and not form_token.valid(fields.get(name)):
        return None  # the form finds the same fault and says so
    return shown.reader.read(fields)


def _csrf_field() -> str | None:
    """The name of the form's CSRF token field, ``None`` when CSRF is switched off (tests)."""
    config = current_app.config
    return config.get("WTF_CSRF_FIELD_NAME", "csrf_token") if config["WTF_CSRF_ENABLED"] else None


@bp.get("/s/<token>")
def respond(token: str):
    """A questionnaire's own link or a channel's link."""
    with page_connection() as connection:
        arrival, meant = _found(arrival_by_token, token, connection)
    if meant != token:
        return _as_meant("public.respond", token=meant)
    return _serve(arrival, url_for("public.submit", token=token))


@bp.post("/s/<token>")
@once_more_if_disconnected
@csrf.exempt  # the form checks its own token, so a failure keeps the respondent's answers
def submit(token: str):
    """Submit through a questionnaire or channel link."""
    with page_connection() as connection:
        arrival = find_arrival(token, connection, device_hash(device.token()))
        return _submit(arrival, url_for("public.thanks", token=token), connection)


@bp.get("/u/<code>")
def respond_unit(code: str):
    """A serving-object unit's own link: the page names the unit."""
    with page_connection() as connection:
        arrival, meant = _found(arrival_by_unit, code, connection)
    if meant != code:
        return _as_meant("public.respond_unit", code=meant)
    return _serve(arrival, url_for("public.submit_unit", code=code))


@bp.post("/u/<code>")
@once_more_if_disconnected
@csrf.exempt
def submit_unit(code: str):
    """Submit through a unit code."""
    with page_connection() as connection:
        arrival = find_unit_arrival(code, connection, device_hash(device.token()))
        thanks = url_for("public.thanks", token=arrival.questionnaire.public_token)
        return _submit(arrival, thanks, connection)


@bp.get("/s/<token>/thanks")
def thanks(token: str):
    """The thank-you page; shown for closed questionnaires too, since a late redirect may land here."""
    with page_connection() as connection:
        arrival = find_arrival(token, connection)
    definition = _shown_definition(arrival)
    return render_template(
        "public/thanks.html", questionnaire=arrival.questionnaire, definition=definition, title=_("提交成功")
    )
