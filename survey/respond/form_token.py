"""The respondent form's CSRF token: a signed double submit, with no server-side session.

Flask-WTF keeps a random value in the Flask session and puts a signed copy of it in the form; for a
respondent that meant a signed session cookie written on every page view and read on every submission,
about an eighth of a respondent's server time. The same protection without the session: a random value
in a cookie of its own (``sv_form``, HttpOnly, SameSite=Lax, for the browser session), and in the form
an HMAC of that value under ``SECRET_KEY`` with the time it was issued. Another site can neither read the
cookie nor compute the HMAC, so it cannot make a respondent's browser submit a form it did not get from
us; a token copied into another browser fails there for want of the cookie.

``WTF_CSRF_ENABLED`` and ``WTF_CSRF_TIME_LIMIT`` keep their meaning (the limit is off by default so a
slow respondent is never turned away); a token signed with one of ``SECRET_KEY_FALLBACKS`` is accepted,
so rotating the key does not fail forms already open. ``RespondentCSRF`` makes the WTForms form issue and
check the same tokens (``forms.response``), and ``survey.respond.public_views`` checks them before reading quickly.

The form's start token (the ``started`` field, ``issue_start``/``read_start``) is the other half, checked even
with CSRF switched off: the time the form was served, signed together with the questionnaire and the form's
``submission_id``. A client that chose its own ``started`` used to set its own time taken (never too fast),
and one served form could be posted any number of times under new submission ids. Now the time taken is
the signed one or unknown (and unknown is judged too fast, ``survey.respond.submit.start_flags``); and a token is
good for its own submission id only, which the database stores once (a unique index): the first stored
submission uses the token up, its repeats are the same submission again (a network retry gets the same
thank-you), and the token under any other submission id is refused. That unique index is the used-token
memory, the same on every app server, with nothing kept in Redis or in a process.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app, g, request
from flask_babel import lazy_gettext as _l
from wtforms.csrf.core import CSRF
from wtforms.validators import ValidationError

COOKIE = "sv_form"
INVALID = _l("安全校验未通过，请重新提交。")


def _browser_value() -> str:
    """This browser's random value: from its cookie, or made now (``remember`` sets the cookie)."""
    value = request.cookies.get(COOKIE) or g.get("form_cookie")
    if not value:
        value = g.form_cookie = secrets.token_urlsafe(16)
    return value


def _signature(key: str | bytes, value: str, issued: str) -> str:
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, f"respond-form:{value}:{issued}".encode(), hashlib.sha256).hexdigest()[:40]


def issue() -> str:
    """A token for a form served to this browser now."""
    issued = str(int(time.time()))
    return f"{issued}.{_signature(current_app.secret_key, _browser_value(), issued)}"


def valid(token: str | None) -> bool:
    """Whether ``token`` was issued to this browser (its cookie), by this service, within the time limit."""
    value = request.cookies.get(COOKIE)
    issued, _, signature = (token or "").partition(".")
    if not value or not issued.isdigit() or not signature:
        return False
    limit = current_app.config.get("WTF_CSRF_TIME_LIMIT")
    if limit is not None and not 0 <= time.time() - int(issued) <= limit:
        return False
    keys = [current_app.secret_key, *(current_app.config.get("SECRET_KEY_FALLBACKS") or ())]
    return any(hmac.compare_digest(signature, _signature(key, value, issued)) for key in keys)


def remember(response):
    """Set the cookie on ``response`` when this request made the browser's value (its first page)."""
    value = g.get("form_cookie")
    if value and not request.cookies.get(COOKIE):
        response.set_cookie(COOKIE, value, httponly=True, samesite="Lax", secure=request.is_secure)
    return response


class RespondentCSRF(CSRF):
    """The WTForms side: the respondent form issues and checks these tokens instead of Flask-WTF's."""

    def generate_csrf_token(self, csrf_token_field) -> str:
        return issue()

    def validate_csrf_token(self, form, field) -> None:
        if not valid(field.data):
            raise ValidationError(INVALID)


START_SIGNATURE_CHARS = 20  # 80 bits: guessed online only, at the rate limits' pace
SIGNED_START = re.compile(r"^(\d{1,12})\.([0-9a-f]{%d})$" % START_SIGNATURE_CHARS)  # fits the field's 32 characters


@dataclass(frozen=True)
class Start:
    """What a submission's ``started`` says: the signed time it was served (``at``), or why there is none.

    ``forged``: shaped like one of our tokens but not signed for this questionnaire and submission id (a
    token replayed under another submission id, or made up): refused. ``at`` ``None`` and not ``forged``: no
    token, or a time the client wrote itself; the time taken is then unknown.
    """

    at: datetime | None = None
    forged: bool = False


def _start_signature(key: str | bytes, questionnaire_id: int, submission_id: str, issued: str) -> str:
    key = key.encode() if isinstance(key, str) else key
    message = f"form-start:{questionnaire_id}:{submission_id}:{issued}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:START_SIGNATURE_CHARS]


def issue_start(questionnaire_id: int, submission_id: str, now: float | None = None) -> str:
    """The ``started`` value of a form served now with ``submission_id``: ``<unix time>.<signature>``."""
    issued = str(int(time.time() if now is None else now))
    return f"{issued}.{_start_signature(current_app.secret_key, questionnaire_id, submission_id, issued)}"


def read_start(value: str | None, questionnaire_id: int, submission_id: str | None) -> Start:
    """The signed start of a submission, checked against its questionnaire and submission id (any of the keys)."""
    match = SIGNED_START.match(value or "")
    if not match:
        return Start()
    issued, signature = match.groups()
    keys = [current_app.secret_key, *(current_app.config.get("SECRET_KEY_FALLBACKS") or ())]
    expected = (_start_signature(key, questionnaire_id, submission_id or "", issued) for key in keys)
    if not submission_id or not any(hmac.compare_digest(signature, other) for other in expected):
        return Start(forged=True)
    return Start(at=datetime.fromtimestamp(int(issued), UTC).replace(tzinfo=None))
