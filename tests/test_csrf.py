"""CSRF switched on, as in production."""

from __future__ import annotations

import pytest

from survey.extensions import db
from survey.models import Response
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
    response = client.post(
        "/login", data={"username": "alice", "password": "alice-password-1", "csrf_token": token}
    )
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
