"""CSRF switched on, as in production."""

from __future__ import annotations

import pytest

from survey.models import Response
from survey.platform.extensions import db
from tests.helpers import SEED_004_ANSWERS, hidden_value, make_project, published


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def test_login_without_token_is_refused(client, evaluator):
    response = client.post("/login", data={"username": "alice", "password": "alice-password-1"})
    assert response.status_code == 400
    assert "安全校验未通过" in response.data.decode()
    assert client.get("/desk/").status_code == 302


def test_login_with_token_works_and_desk_posts_need_it(client, evaluator):
    token = hidden_value(client.get("/login").data.decode(), "csrf_token")
    response = client.post("/login", data={"username": "alice", "password": "alice-password-1", "csrf_token": token})
    assert response.status_code == 302
    refused = client.post("/desk/projects/new", data={"name": "无令牌项目"})
    assert refused.status_code == 400
    assert "安全校验未通过" in refused.data.decode()


def test_respondent_token_failure_keeps_answers(client, evaluator):
    questionnaire = published(make_project(evaluator))
    url = f"/s/{questionnaire.public_token}"
    result = client.post(url, data={**SEED_004_ANSWERS, "csrf_token": "forged"})
    assert result.status_code == 400
    html = result.data.decode()
    assert "您的回答都还在" in html
    assert 'value="丰泽公安分局"' in html
    assert db.session.execute(db.select(db.func.count(Response.id))).scalar() == 0
    # The re-shown page carries a fresh token: submitting again succeeds.
    retry = {**SEED_004_ANSWERS, "csrf_token": hidden_value(html, "csrf_token")}
    assert client.post(url, data=retry).status_code == 303
    assert db.session.execute(db.select(db.func.count(Response.id))).scalar() == 1


def test_respondent_token_does_not_expire(app):
    assert app.config["WTF_CSRF_TIME_LIMIT"] is None


def _served(client, url: str) -> tuple[str, dict]:
    """A page view: the form's token, and the answers with it."""
    token = hidden_value(client.get(url).data.decode(), "csrf_token")
    return token, {**SEED_004_ANSWERS, "csrf_token": token}


def _stored() -> int:
    return db.session.execute(db.select(db.func.count(Response.id))).scalar()


def test_respondent_pages_need_no_session_and_set_a_strict_form_cookie(client, evaluator):
    """The form token lives in its own cookie (survey.respond.form_token), not in a Flask session."""
    questionnaire = published(make_project(evaluator))
    response = client.get(f"/s/{questionnaire.public_token}")
    cookies = {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}
    assert "session" not in cookies
    assert "HttpOnly" in cookies["sv_form"] and "SameSite=Lax" in cookies["sv_form"]
    assert "Expires" not in cookies["sv_form"]  # gone with the browser session
    _token, answers = _served(client, f"/s/{questionnaire.public_token}")
    submitted = client.post(f"/s/{questionnaire.public_token}", data=answers)
    assert submitted.status_code == 303 and "session" not in str(submitted.headers.getlist("Set-Cookie"))


def test_a_token_from_another_browser_or_tampered_is_refused_and_answers_kept(app, client, evaluator):
    questionnaire = published(make_project(evaluator))
    url = f"/s/{questionnaire.public_token}"
    token, answers = _served(client, url)
    other_browser = app.test_client()
    refused = other_browser.post(url, data=answers)  # a token copied without its cookie
    assert refused.status_code == 400 and "您的回答都还在" in refused.data.decode()
    issued, signature = token.split(".")
    for forged in (f"{issued}.{'0' * len(signature)}", f"{int(issued) + 1}.{signature}", issued, ""):
        assert client.post(url, data={**answers, "csrf_token": forged}).status_code == 400
    assert _stored() == 0
    assert client.post(url, data=answers).status_code == 303 and _stored() == 1


def test_a_form_opened_before_the_key_was_rotated_still_submits(app, client, evaluator):
    questionnaire = published(make_project(evaluator))
    url = f"/s/{questionnaire.public_token}"
    _token, answers = _served(client, url)
    old_key = app.config["SECRET_KEY"]
    app.config.update(SECRET_KEY="rotated-" + old_key, SECRET_KEY_FALLBACKS=[old_key])
    app.secret_key = app.config["SECRET_KEY"]
    assert client.post(url, data=answers).status_code == 303
    app.config["SECRET_KEY_FALLBACKS"] = []
    client.delete_cookie("sv_answered")  # a second form for this device (its mark would say "already answered")
    _token, answers = _served(client, url)
    app.config["SECRET_KEY"] = app.secret_key = "rotated-again-" + old_key  # the form's key is gone
    assert client.post(url, data=answers).status_code == 400


def test_a_configured_time_limit_expires_respondent_tokens(app, client, evaluator, monkeypatch):
    import time

    questionnaire = published(make_project(evaluator))
    url = f"/s/{questionnaire.public_token}"
    app.config["WTF_CSRF_TIME_LIMIT"] = 3600
    _token, answers = _served(client, url)
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 3601)
    expired = client.post(url, data=answers)
    assert expired.status_code == 400 and "您的回答都还在" in expired.data.decode()
    monkeypatch.setattr(time, "time", lambda: now + 3599)
    assert client.post(url, data=answers).status_code == 303
