"""Proof of work on public links: a solved, signed challenge is accepted; anything else stores nothing.

The server side is driven through the test client with a Python solver (``survey.respond.pow.solve``); the
browser side runs ``static/js/pow.js`` in Debian's Chromium over plain HTTP on a host name that is not
``localhost``, which is what an intranet looks like (no secure context, no ``crypto.subtle``), and on
127.0.0.1 (a secure context). The script's own SHA-256 does the work in both; it is compared with
``hashlib`` on awkward strings.
"""

from __future__ import annotations

import hashlib
import html
import re
import time

import pytest

from survey.models import Questionnaire, Response
from survey.platform.extensions import db
from survey.respond import pow
from tests.browser_support import PHONE, launch_chromium, live_server, migrated_app
from tests.helpers import SEED_004_ANSWERS, hidden_value, make_project, published

BITS = 10


def _count() -> int:
    return db.session.execute(db.select(db.func.count(Response.id))).scalar()


@pytest.fixture
def guarded(evaluator) -> Questionnaire:
    """A published questionnaire that asks for ``BITS`` bits of work."""
    questionnaire = published(make_project(evaluator))
    questionnaire.pow_bits = BITS
    db.session.commit()
    return questionnaire


def _form(client, questionnaire: Questionnaire) -> dict:
    """Open the form like a phone: the hidden fields it was served with."""
    page = client.get(f"/s/{questionnaire.public_token}").data.decode()
    return {
        "submission_id": hidden_value(page, "submission_id"),
        "started": hidden_value(page, "started"),
        "pow_challenge": hidden_value(page, "pow_challenge"),
    }


def _submit(client, questionnaire, served: dict, **override):
    data = {**SEED_004_ANSWERS, **served, **override}
    return client.post(f"/s/{questionnaire.public_token}", data=data)


def test_page_carries_a_signed_challenge_and_the_script(client, guarded):
    page = client.get(f"/s/{guarded.public_token}").data.decode()
    challenge = hidden_value(page, "pow_challenge")
    submission_id = hidden_value(page, "submission_id")
    assert challenge.startswith(f"v1.{guarded.id}.{submission_id}.") and challenge.split(".")[4] == str(BITS)
    assert re.search(r'<script src="/static/js/pow\.js\?v=[0-9a-f]+" defer></script>', page)
    assert "<noscript>" in page and "JavaScript" in page
    assert 'name="pow_nonce"' in page


def test_no_challenge_when_switched_off(client, evaluator):
    questionnaire = published(make_project(evaluator))
    page = client.get(f"/s/{questionnaire.public_token}").data.decode()
    assert "pow_challenge" not in page and "pow.js" not in page
    assert _submit(client, questionnaire, {}).status_code == 303


def test_solved_challenge_is_accepted_once(client, guarded):
    served = _form(client, guarded)
    nonce = pow.solve(served["pow_challenge"], BITS)
    assert pow.work_done(served["pow_challenge"], nonce) >= BITS
    result = _submit(client, guarded, served, pow_nonce=nonce)
    assert result.status_code == 303, result.data.decode()[:400]
    assert _count() == 1
    # The same solved challenge again is the same submission (its id is stored once): nothing new.
    assert _submit(client, guarded, served, pow_nonce=nonce).status_code == 303
    assert _count() == 1


def _unsolved_nonce(challenge: str, bits: int) -> str:
    """A nonce that does NOT do the work (the first one that fails)."""
    nonce = 0
    while pow.work_done(challenge, str(nonce)) >= bits:
        nonce += 1
    return str(nonce)


def _refused(result, expected: str) -> None:
    body = result.data.decode()
    assert result.status_code == 400, body[:400]
    assert expected in html.unescape(body)
    assert _count() == 0
    # The answers are kept on the page shown again, with a fresh challenge for the same submission.
    assert 'value="丰泽公安分局"' in body and 'value="希望扩大覆盖"' in body


def test_missing_proof_is_refused_and_answers_kept(client, guarded):
    served = _form(client, guarded)
    _refused(_submit(client, guarded, served), "请确认浏览器已开启 JavaScript")
    del served["pow_challenge"]
    _refused(_submit(client, guarded, served, pow_nonce="1"), "请确认浏览器已开启 JavaScript")


def test_wrong_nonce_is_refused(client, guarded):
    served = _form(client, guarded)
    nonce = _unsolved_nonce(served["pow_challenge"], BITS)
    _refused(_submit(client, guarded, served, pow_nonce=nonce), "安全校验未通过")
    _refused(_submit(client, guarded, served, pow_nonce="not-a-number"), "安全校验未通过")


def test_challenge_for_another_submission_is_refused(client, guarded):
    served = _form(client, guarded)
    nonce = pow.solve(served["pow_challenge"], BITS)
    other = _form(client, guarded)["submission_id"]
    _refused(_submit(client, guarded, served, submission_id=other, pow_nonce=nonce), "安全校验未通过")
    _refused(_submit(client, guarded, served, submission_id="", pow_nonce=nonce), "安全校验未通过")


def test_challenge_for_another_questionnaire_is_refused(client, guarded, evaluator):
    other = published(make_project(evaluator, "另一个项目"))
    other.pow_bits = BITS
    db.session.commit()
    served = _form(client, other)
    nonce = pow.solve(served["pow_challenge"], BITS)
    _refused(_submit(client, guarded, served, pow_nonce=nonce), "安全校验未通过")


def test_expired_challenge_is_refused(app, client, guarded):
    served = _form(client, guarded)
    old = pow.issue(guarded, served["submission_id"], now=time.time() - pow.MAX_AGE_SECONDS - 60)
    nonce = pow.solve(old, BITS)
    _refused(_submit(client, guarded, served, pow_challenge=old, pow_nonce=nonce), "安全校验已过期")
    future = pow.issue(guarded, served["submission_id"], now=time.time() + 3600)
    _refused(_submit(client, guarded, served, pow_challenge=future, pow_nonce=pow.solve(future, BITS)), "过期")
    # Within the age limit an old challenge still counts: a citizen may leave the page open for hours.
    fresh_enough = pow.issue(guarded, served["submission_id"], now=time.time() - pow.MAX_AGE_SECONDS + 600)
    result = _submit(client, guarded, served, pow_challenge=fresh_enough, pow_nonce=pow.solve(fresh_enough, BITS))
    assert result.status_code == 303 and _count() == 1


def test_tampered_difficulty_is_refused(client, guarded):
    served = _form(client, guarded)
    parts = served["pow_challenge"].split(".")
    parts[4] = "1"  # ask for one bit instead of ten, keeping the signature
    easy = ".".join(parts)
    _refused(_submit(client, guarded, served, pow_challenge=easy, pow_nonce=pow.solve(easy, 1)), "安全校验未通过")


def test_forged_signature_is_refused(client, guarded):
    served = _form(client, guarded)
    payload = served["pow_challenge"].rsplit(".", 1)[0]
    forged = payload + "." + hashlib.sha256(payload.encode()).hexdigest()[:32]
    _refused(_submit(client, guarded, served, pow_challenge=forged, pow_nonce=pow.solve(forged, BITS)), "未通过")


def test_raised_difficulty_refuses_easier_challenges(client, guarded):
    served = _form(client, guarded)
    nonce = pow.solve(served["pow_challenge"], BITS)
    guarded.pow_bits = BITS + 4
    db.session.commit()
    _refused(_submit(client, guarded, served, pow_nonce=nonce), "安全校验未通过")


def test_signature_depends_on_secret_key(app, guarded):
    challenge = pow.issue(guarded, "a" * 32, now=1_800_000_000)
    app.config["SECRET_KEY"] = "another-secret-key-for-this-test"
    assert pow.issue(guarded, "a" * 32, now=1_800_000_000) != challenge
    assert pow.refusal(guarded, "a" * 32, {"pow_challenge": challenge, "pow_nonce": "1"}, now=1_800_000_000)


def test_leading_zero_bits():
    assert pow.leading_zero_bits(b"\x00\x00\xff") == 16
    assert pow.leading_zero_bits(b"\x00\x01") == 15
    assert pow.leading_zero_bits(b"\x80") == 0
    assert pow.leading_zero_bits(b"\x00" * 32) == 256


# --- in a browser ---------------------------------------------------------------------------------

INTRANET_HOST = "survey.intranet.test"  # resolved to 127.0.0.1 by Chromium itself: plain HTTP, not localhost


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A live server on a migrated SQLite file with one published questionnaire asking for proof of work."""
    from survey.accounts.users import create_user

    app = migrated_app(tmp_path_factory.mktemp("pow"), TESTING=True)
    with app.app_context():
        questionnaire = published(make_project(create_user("powtester", "pow-tester-password-1", "P")))
        questionnaire.pow_bits = BITS
        db.session.commit()
        token = questionnaire.public_token
    with live_server(app) as base_url:
        yield app, int(base_url.rsplit(":", 1)[1]), token


@pytest.fixture(scope="module")
def browser(playwright_session):
    """Debian's Chromium with the intranet host name mapped to the loopback address."""
    chromium = launch_chromium(playwright_session, (f"--host-resolver-rules=MAP {INTRANET_HOST} 127.0.0.1",))
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def phone(browser):
    context = browser.new_context(**PHONE)
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        page.violations = []
        page.on("console", lambda message: message.type == "error" and page.violations.append(message.text))
        yield page
    finally:
        context.close()


def _stored(app, token: str) -> list[dict]:
    with app.app_context():
        questionnaire = db.session.execute(db.select(Questionnaire).filter_by(public_token=token)).scalar_one()
        rows = db.session.execute(db.select(Response).filter_by(questionnaire_id=questionnaire.id)).scalars()
        return [dict(row.answers) for row in rows]


def _answer_page(page) -> None:
    """Fill the seed questionnaire's required answers by tapping, as a respondent would."""
    for name, value in SEED_004_ANSWERS.items():
        if not value:
            continue
        field = page.locator(f"[name='{name}']")
        kind = field.first.get_attribute("type")
        if kind in ("radio", "checkbox"):
            page.locator(f"[name='{name}'][value='{value}']").check()
        else:
            field.first.fill(value)


@pytest.mark.parametrize("host", [INTRANET_HOST, "127.0.0.1"])
def test_browser_solves_and_submission_is_accepted(live, phone, host):
    app, port, token = live
    before = len(_stored(app, token))
    phone.goto(f"http://{host}:{port}/s/{token}")
    secure = phone.evaluate("window.isSecureContext")
    # Over plain HTTP on an intranet name there is no crypto.subtle: the script's own SHA-256 must work.
    assert secure is (host == "127.0.0.1")
    _answer_page(phone)
    phone.locator("#submit").click()
    phone.wait_for_url(re.compile(r"/thanks$"))
    answers = _stored(app, token)
    assert len(answers) == before + 1 and answers[-1]["q1a"] == "丰泽公安分局"
    assert not [v for v in phone.violations if "Content Security Policy" in v or "Permissions-Policy" in v]


def test_worker_solves_without_secure_context(live, phone):
    """On the intranet name there is no crypto.subtle; the worker's own SHA-256 finds a nonce the server accepts."""
    _app, port, token = live
    phone.goto(f"http://{INTRANET_HOST}:{port}/s/{token}")
    phone.wait_for_selector("form[data-pow='done']", state="attached")  # (wait_for_function needs eval)
    assert phone.evaluate("typeof crypto.subtle") == "undefined"  # what an intranet over HTTP is like
    challenge = phone.locator("input[name='pow_challenge']").get_attribute("value")
    nonce = phone.locator("input[name='pow_nonce']").input_value()
    assert pow.work_done(challenge, nonce) >= BITS
    # The fallback without workers (chunks between timers) finds a valid nonce too.
    chunked = phone.evaluate("([c, b]) => SurveyPow.solve(c, b)", [challenge, BITS])
    assert pow.work_done(challenge, chunked) >= BITS


SAMPLES = [
    "",
    "abc",
    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",  # 448 bits: padding spills into a block
    "a" * 55,
    "a" * 56,
    "a" * 63,
    "a" * 64,
    "a" * 119,
    "a" * 1000,
    "群众安全感满意度调查：很满意 / 不满意 ✓ \u0000 \U0001f600",
    "v1.12.0123456789abcdef0123456789abcdef.1763818000.20.0123456789abcdef0123456789abcdef:123456",
]


def test_js_sha256_matches_hashlib(live, phone):
    _app, port, token = live
    phone.goto(f"http://{INTRANET_HOST}:{port}/s/{token}")
    digests = phone.evaluate("texts => texts.map(t => SurveyPow.sha256Hex(t))", SAMPLES)
    assert digests == [hashlib.sha256(text.encode()).hexdigest() for text in SAMPLES]


def test_noscript_explains_when_javascript_is_off(live, browser):
    _app, port, token = live
    context = browser.new_context(**PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"http://{INTRANET_HOST}:{port}/s/{token}")
        assert "需要开启浏览器的 JavaScript" in page.locator("body").inner_text()
    finally:
        context.close()
