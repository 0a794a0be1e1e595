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
check the same tokens (``forms.response``), and ``survey.public`` checks them before reading quickly.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

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
