"""Which questionnaires this device has answered, told by a signed cookie so a page view needs no query.

A questionnaire with one answer per device refuses a device's second submission (``survey.responses.capture``),
but a phone reopening the link used to get a blank form and hear "您已经提交过" only after filling it in
again. The page view could ask the database (is the device's hash on a response?), at the cost of a probe
on every view of every phone. Instead, the submission that stored the answer (or was refused because the
device had answered) leaves a mark in the ``sv_answered`` cookie: per questionnaire, an HMAC under
``SECRET_KEY`` of the questionnaire's id and the device cookie's value. A page view checks the mark with one
HMAC, no query. Bound to the device cookie, a mark means exactly what the server's rule checks (this device
token answered), cannot be copied to another device's cookie jar and cannot be forged by another site.

The mark only changes what the page says first; the submission is still judged by the database. A device
that answered before marks existed, or whose mark was lost, is told on submitting, as before.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, request

COOKIE = "sv_answered"
COOKIE_AGE = 365 * 24 * 3600
KEPT = 24  # marks kept per device (newest first): far more questionnaires than a citizen answers in a year
SIGNATURE_CHARS = 16  # 64 bits of the HMAC


def _signature(key: str | bytes, questionnaire_id: int, device_token: str) -> str:
    key = key.encode() if isinstance(key, str) else key
    message = f"answered:{questionnaire_id}:{device_token}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:SIGNATURE_CHARS]


def _marks() -> list[tuple[str, str]]:
    """The (questionnaire id, signature) pairs in this request's cookie; malformed entries are skipped."""
    pairs = []
    for entry in (request.cookies.get(COOKIE) or "").split("."):
        qid, _, signature = entry.partition("-")
        if qid.isdigit() and len(signature) == SIGNATURE_CHARS:
            pairs.append((qid, signature))
    return pairs


def answered_here(questionnaire_id: int, device_token: str | None) -> bool:
    """Whether this device's cookie carries a valid mark for the questionnaire (no query; one HMAC per key).

    Marks signed with one of ``SECRET_KEY_FALLBACKS`` still count, so rotating the key forgets nothing.
    """
    if not device_token or COOKIE not in request.cookies:
        return False
    wanted = [signature for qid, signature in _marks() if qid == str(questionnaire_id)]
    if not wanted:
        return False
    keys = [current_app.secret_key, *(current_app.config.get("SECRET_KEY_FALLBACKS") or ())]
    expected = [_signature(key, questionnaire_id, device_token) for key in keys]
    return any(hmac.compare_digest(mark, signature) for mark in wanted for signature in expected)


def mark(response, questionnaire_id: int, device_token: str | None):
    """Add the questionnaire's mark to ``response``'s cookie (newest first, at most ``KEPT``); a device
    without a device cookie (an anonymous questionnaire sets none) gets none."""
    if not device_token:
        return response
    own = f"{questionnaire_id}-{_signature(current_app.secret_key, questionnaire_id, device_token)}"
    others = [f"{qid}-{signature}" for qid, signature in _marks() if qid != str(questionnaire_id)]
    response.set_cookie(
        COOKIE,
        ".".join([own, *others][:KEPT]),
        max_age=COOKIE_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )
    return response
