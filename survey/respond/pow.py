"""Proof-of-work on public links: a self-hosted brake on scripted ballot stuffing (no third-party CAPTCHA).

When ``Questionnaire.pow_bits`` is set, the page carries a challenge the server signed with its
``SECRET_KEY``: ``v1.<questionnaire id>.<submission id>.<issued unix time>.<bits>.<signature>``.
``static/js/pow.js`` finds a nonce so that SHA-256(challenge + ":" + nonce) starts with ``bits``
zero bits and puts it in a hidden field. A phone spends a second or two once; a script that wants
ten thousand ballots spends that ten thousand times, because each challenge names one submission id
and a submission id is stored at most once (``survey.responses.capture``), so a solved challenge cannot be
replayed for another response. Nothing here is stored: the signature is the server's memory.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping

from flask import current_app
from flask_babel import lazy_gettext as _l

from survey.models import Questionnaire

VERSION = "v1"
CHALLENGE_FIELD = "pow_challenge"
NONCE_FIELD = "pow_nonce"
FIELDS = (CHALLENGE_FIELD, NONCE_FIELD)
MAX_AGE_SECONDS = 24 * 3600  # a respondent may leave the page open for a long time, but not for days
CLOCK_SKEW_SECONDS = 300
MAX_BITS = 32  # beyond this a phone would need minutes
SUBMISSION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
NONCE = re.compile(r"^[0-9]{1,20}$")
CHALLENGE = re.compile(r"^v1\.(\d{1,12})\.([A-Za-z0-9_-]{16,64})\.(\d{1,12})\.(\d{1,2})\.([0-9a-f]{32})$")

MISSING = _l(
    "这份问卷需要浏览器先完成一次安全计算才能提交，但这次提交没有带上计算结果。"
    "请确认浏览器已开启 JavaScript，稍等几秒后再点“提交”。您的回答都还在。"
)
EXPIRED = _l("安全校验已过期（页面打开时间过长）。已重新生成，请稍等几秒后再点“提交”。您的回答都还在。")
WRONG = _l("安全校验未通过。已重新生成，请稍等几秒后再点“提交”。您的回答都还在。")


def _sign(payload: str) -> str:
    """HMAC of the challenge text, keyed by ``SECRET_KEY`` with a purpose label so no other signature fits."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"pow:{payload}".encode(), hashlib.sha256).hexdigest()[:32]


def issue(questionnaire: Questionnaire, submission_id: str | None, now: float | None = None) -> str | None:
    """The signed challenge for this form, or ``None`` when the questionnaire asks for no work."""
    bits = questionnaire.pow_bits
    if not bits or not submission_id or not SUBMISSION_ID.match(submission_id):
        return None
    issued = int(time.time() if now is None else now)
    payload = f"{VERSION}.{questionnaire.id}.{submission_id}.{issued}.{min(int(bits), MAX_BITS)}"
    return f"{payload}.{_sign(payload)}"


def leading_zero_bits(digest: bytes) -> int:
    """How many zero bits a digest starts with."""
    count = 0
    for byte in digest:
        if byte:
            return count + 8 - byte.bit_length()
        count += 8
    return count


def work_done(challenge: str, nonce: str) -> int:
    """The leading zero bits of SHA-256(challenge + ":" + nonce): what the browser worked for."""
    return leading_zero_bits(hashlib.sha256(f"{challenge}:{nonce}".encode()).digest())


def refusal(questionnaire: Questionnaire, submission_id: str | None, formdata: Mapping, now: float | None = None):
    """Why this submission's proof of work is not accepted (a message), or ``None`` if it is or none is asked.

    Checked: the signature (so the difficulty, questionnaire and submission id cannot be changed),
    that it names this questionnaire and this submission id, its age, that its difficulty is still
    what the questionnaire asks, and the hash itself.
    """
    required = questionnaire.pow_bits
    if not required:
        return None
    challenge, nonce = formdata.get(CHALLENGE_FIELD) or "", formdata.get(NONCE_FIELD) or ""
    if not challenge or not nonce:
        return MISSING
    match = CHALLENGE.match(challenge)
    if not match or not NONCE.match(nonce):
        return WRONG
    questionnaire_id, challenge_submission, issued, bits, signature = match.groups()
    payload = challenge.rsplit(".", 1)[0]
    if not hmac.compare_digest(signature, _sign(payload)):
        return WRONG
    if int(questionnaire_id) != questionnaire.id or challenge_submission != (submission_id or ""):
        return WRONG
    age = (time.time() if now is None else now) - int(issued)
    if age > MAX_AGE_SECONDS or age < -CLOCK_SKEW_SECONDS:
        return EXPIRED
    if int(bits) < min(int(required), MAX_BITS) or work_done(challenge, nonce) < int(bits):
        return WRONG
    return None


def solve(challenge: str, bits: int) -> str:
    """Find a nonce the way ``pow.js`` does (for tests, the CLI and load scripts)."""
    nonce = 0
    while work_done(challenge, str(nonce)) < bits:
        nonce += 1
    return str(nonce)
