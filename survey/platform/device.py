"""The device cookie (``sv_device``): a random value the server signed, so a client cannot mint devices.

One response per device and the per-device rate limit both count devices by this cookie. While it was
a bare random value, a script sending a fresh made-up value with every submission was a new device every
time (120 "devices" in a minute from one client). Now the value is ``<random>.<HMAC of it under
SECRET_KEY>``: only the respondent page hands them out, and a value without a valid signature is not a
device at all. It is ignored (the submission counts as one without a device, and its rate limit falls
back to the client's address, ``survey.platform.limits.device_key``) and the next page view replaces it.

A value signed with one of ``SECRET_KEY_FALLBACKS`` stays valid, so rotating the key forgets no phone.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app, request

COOKIE = "sv_device"
COOKIE_AGE = 365 * 24 * 3600
SIGNATURE_CHARS = 32  # 128 bits of the HMAC
ENVIRON_KEY = "survey.device_token"  # this request's checked device, once known


def _signature(key: str | bytes, value: str) -> str:
    key = key.encode() if isinstance(key, str) else key
    return hmac.new(key, f"device-cookie:{value}".encode(), hashlib.sha256).hexdigest()[:SIGNATURE_CHARS]


def sign(value: str) -> str:
    """The cookie value for the random ``value``: the value and its signature under ``SECRET_KEY``."""
    return f"{value}.{_signature(current_app.secret_key, value)}"


def new_token() -> str:
    """A new device's cookie value."""
    return sign(secrets.token_urlsafe(18))


def is_signed(token: str | None) -> bool:
    """Whether ``token`` is a device value this service handed out (under the key or one of its fallbacks)."""
    value, dot, signature = (token or "").rpartition(".")
    if not dot or not value or len(signature) != SIGNATURE_CHARS:
        return False
    keys = [current_app.secret_key, *(current_app.config.get("SECRET_KEY_FALLBACKS") or ())]
    return any(hmac.compare_digest(signature, _signature(key, value)) for key in keys)


def token() -> str | None:
    """This request's device: its cookie when signed by us, else ``None`` (no cookie, or a forged one).

    Checked once per request, kept in its WSGI environ (``g`` may outlive one request): a submission asks in
    the rate limit's key, the link lookup, the write and the "already answered" mark, and the request's cookie
    cannot change in between.
    """
    environ = request.environ
    if ENVIRON_KEY not in environ:
        value = request.cookies.get(COOKIE)
        environ[ENVIRON_KEY] = value if is_signed(value) else None
    return environ[ENVIRON_KEY]


def give(response) -> None:
    """Set a new device cookie on ``response`` (the request had no valid one)."""
    response.set_cookie(
        COOKIE, new_token(), max_age=COOKIE_AGE, httponly=True, samesite="Lax", secure=request.is_secure
    )
