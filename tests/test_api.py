"""The read API: bearer tokens only, members only, the same figures as the desk, documented in OpenAPI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from survey.accounts.api_tokens import hash_secret, issue_token
from survey.models import ApiToken, IndicatorTable
from survey.platform.extensions import db
from survey.results.reporting import questionnaire_results
from survey.results.results_json import results_dict
from tests.conftest import login
from tests.helpers import SEED_004_ANSWERS, make_project, published

OPENAPI = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"

TABLE = {
    "format": "indicator-table/1",
    "title": "测试评分表",
    "indicators": [
        {
            "key": "a",
            "name": "决策",
            "points": 30,
            "children": [
                {
                    "key": "a1",
                    "name": "立项依据充分性",
                    "points": 20,
                    "rule": {"type": "judgement"},
                    "input": {"score": 18, "justification": "依据不够充分"},
                },
                {
                    "key": "a2",
                    "name": "服务对象满意度",
                    "points": 10,
                    "rule": {"type": "proportional", "params": {"target": 100}},
                },
            ],
        }
    ],
}


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def respond(app, questionnaire, choices):
    for index, q4 in enumerate(choices):
        answers = {**SEED_004_ANSWERS, "q4": q4, "submission_id": f"api{questionnaire.id}-{index}"}
        assert app.test_client().post(f"/s/{questionnaire.public_token}", data=answers).status_code in (200, 302, 303)


@pytest.fixture
def setup(app, evaluator):
    """Alice's project with a published questionnaire and a token of hers."""
    project = make_project(evaluator)
    questionnaire = published(project)
    token, secret = issue_token(evaluator, "报表脚本")
    return project, questionnaire, token, secret


def test_voided_entries_are_not_served_and_numbers_are(app, client, setup, evaluator):
    from survey.collection import review
    from survey.responses.capture import enter_response

    _project, questionnaire, _token, secret = setup
    respond(app, questionnaire, ["a"])
    entry, _created = enter_response(questionnaire, SEED_004_ANSWERS, "api-paper")
    review.void(entry, evaluator, "录重了")
    body = client.get(f"/api/v1/questionnaires/{questionnaire.id}/responses", headers=bearer(secret)).get_json()
    assert body["total"] == 1 and [r["number"] for r in body["responses"]] == [1]


def test_no_unknown_or_malformed_token_is_401(client, setup):
    _project, questionnaire, _token, secret = setup
    url = f"/api/v1/questionnaires/{questionnaire.id}/results"
    for headers in ({}, bearer("not-a-token"), {"Authorization": f"Basic {secret}"}, {"Authorization": "Bearer "}):
        response = client.get(url, headers=headers)
        assert response.status_code == 401, headers
        assert response.is_json and response.get_json()["error"]
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/v1/projects").status_code == 401


def test_revoked_token_is_401(client, setup):
    _project, _questionnaire, token, secret = setup
    assert client.get("/api/v1/projects", headers=bearer(secret)).status_code == 200
    token.revoked_at = token.created_at
    db.session.commit()
    response = client.get("/api/v1/projects", headers=bearer(secret))
    assert response.status_code == 401 and "error" in response.get_json()


def test_session_cookie_alone_is_401(client, setup):
    _project, questionnaire, _token, _secret = setup
    assert login(client, "alice", "alice-password-1").status_code == 302
    assert client.get("/desk/").status_code == 200  # the cookie works on the desk ...
    assert client.get("/api/v1/projects").status_code == 401  # ... but not on the API
    assert client.get(f"/api/v1/questionnaires/{questionnaire.id}/responses").status_code == 401


def test_results_equal_results_dict_and_last_used_is_recorded(app, client, setup):
    _project, questionnaire, token, secret = setup
    respond(app, questionnaire, ["a", "a", "b", "c", "a"])
    assert token.last_used_at is None
    response = client.get(f"/api/v1/questionnaires/{questionnaire.id}/results", headers=bearer(secret))
    assert response.status_code == 200
    expected = json.loads(json.dumps(results_dict(questionnaire, questionnaire_results(questionnaire))))
    assert response.get_json() == expected
    assert response.get_json()["counts"]["valid"] == 5
    db.session.refresh(token)
    assert token.last_used_at is not None


def test_responses_are_paginated(app, client, setup):
    _project, questionnaire, _token, secret = setup
    respond(app, questionnaire, ["a", "b", "c", "a", "b"])
    url = f"/api/v1/questionnaires/{questionnaire.id}/responses"
    first = client.get(url + "?page=1&per_page=2", headers=bearer(secret)).get_json()
    assert (first["total"], first["pages"], first["page"], first["per_page"]) == (5, 3, 1, 2)
    last = client.get(url + "?page=3&per_page=2", headers=bearer(secret)).get_json()
    assert len(first["responses"]) == 2 and len(last["responses"]) == 1
    item = first["responses"][0]
    assert set(item) == {
        "id",
        "number",
        "submitted_at",
        "duration_seconds",
        "mode",
        "channel",
        "unit_name",
        "status",
        "exclusion_reason",
        "flags",
        "source_row",
        "version",
        "answers",
    }
    assert item["answers"]["q4"] == "a" and item["version"] == 1 and item["channel"] == "web"
    assert item["status"] == "valid" and isinstance(item["flags"], list)
    assert item["mode"] == "web" and item["source_row"] is None
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", item["submitted_at"])
    ids = [r["id"] for r in first["responses"]] + [r["id"] for r in last["responses"]]
    assert ids == sorted(ids)
    assert [r["number"] for r in first["responses"]] == [1, 2]
    everything = client.get(url, headers=bearer(secret)).get_json()
    assert everything["per_page"] == 100 and len(everything["responses"]) == 5
    for bad in ("per_page=1001", "per_page=0", "page=0", "page=x"):
        response = client.get(f"{url}?{bad}", headers=bearer(secret))
        assert response.status_code == 400 and "error" in response.get_json(), bad
    assert client.get(url + "?per_page=1000", headers=bearer(secret)).status_code == 200


def test_projects_and_indicators(app, client, setup, evaluator):
    project, questionnaire, _token, secret = setup
    table = json.loads(json.dumps(TABLE))
    table["indicators"][0]["children"][1]["input"] = {
        "link": {"questionnaire": questionnaire.id, "figure": "rate", "question": "q4"}
    }
    db.session.add(IndicatorTable(project_id=project.id, definition=table))
    db.session.commit()
    listing = client.get("/api/v1/projects", headers=bearer(secret)).get_json()
    assert [p["id"] for p in listing["projects"]] == [project.id]
    assert listing["projects"][0]["has_indicator_table"] is True
    assert listing["projects"][0]["questionnaires"][0]["id"] == questionnaire.id

    url = f"/api/v1/projects/{project.id}/indicators"
    before = client.get(url, headers=bearer(secret)).get_json()
    assert before["scored"] is True and before["complete"] is False
    assert before["scores"]["a1"] == "18.00" or before["scores"]["a1"].startswith("18")
    assert "a2" in before["errors"]
    respond(app, questionnaire, ["a", "a", "b", "c"])  # 3 of 4 satisfied: 75% of 10 points
    after = client.get(url, headers=bearer(secret)).get_json()
    assert after["complete"] is True
    assert float(after["scores"]["a2"]) == 7.5 and float(after["total"]) == 25.5
    assert float(after["linked"]["a2"]) == 75
    assert after["grade"]
    assert {n["key"]: n["level"] for n in after["nodes"]} == {"a": 1, "a1": 2, "a2": 2}
    assert [d["key"] for d in after["deductions"]]

    empty = make_project(evaluator, "没有评分表的项目")
    response = client.get(f"/api/v1/projects/{empty.id}/indicators", headers=bearer(secret))
    assert response.status_code == 404 and "error" in response.get_json()


def test_other_evaluators_token_gets_404(app, client, setup, other_evaluator):
    project, questionnaire, _token, _secret = setup
    _theirs, secret = issue_token(other_evaluator, "mallory")
    for url in (
        f"/api/v1/questionnaires/{questionnaire.id}/results",
        f"/api/v1/questionnaires/{questionnaire.id}/responses",
        f"/api/v1/projects/{project.id}/indicators",
        "/api/v1/questionnaires/999999/results",
    ):
        response = client.get(url, headers=bearer(secret))
        assert response.status_code == 404, url
        assert "error" in response.get_json()
    assert client.get("/api/v1/projects", headers=bearer(secret)).get_json() == {"projects": []}


def test_secret_is_not_stored(setup):
    _project, _questionnaire, token, secret = setup
    row = db.session.get(ApiToken, token.id)
    assert row.token_hash == hash_secret(secret) and len(row.token_hash) == 64
    assert row.prefix == secret[:8]
    for column in ApiToken.__table__.columns:
        assert getattr(row, column.key) != secret


def test_token_ui_create_use_and_revoke(app, logged_in, evaluator):
    page = logged_in.get("/desk/api-tokens/")
    assert page.status_code == 200
    created = logged_in.post("/desk/api-tokens/", data={"name": "季度报表"})
    assert created.status_code == 200
    html = created.data.decode()
    secret = re.search(r'id="token-secret">([^<]+)<', html).group(1)
    token = db.session.execute(db.select(ApiToken)).scalar_one()
    assert token.name == "季度报表" and token.user_id == evaluator.id
    assert token.token_hash == hash_secret(secret)
    api = app.test_client()
    assert api.get("/api/v1/projects", headers=bearer(secret)).status_code == 200
    listing = logged_in.get("/desk/api-tokens/").data.decode()
    assert "季度报表" in listing and token.prefix in listing and secret not in listing
    assert logged_in.post("/desk/api-tokens/", data={"name": ""}).status_code == 400
    revoked = logged_in.post(f"/desk/api-tokens/{token.id}/revoke")
    assert revoked.status_code == 302
    db.session.refresh(token)
    assert token.revoked_at is not None
    assert api.get("/api/v1/projects", headers=bearer(secret)).status_code == 401


def test_only_the_owner_can_revoke(app, client, evaluator, other_evaluator):
    token, _secret = issue_token(evaluator, "alice 的令牌")
    assert login(client, "mallory", "mallory-password-1").status_code == 302
    assert client.post(f"/desk/api-tokens/{token.id}/revoke").status_code == 404
    assert "alice 的令牌" not in client.get("/desk/api-tokens/").data.decode()
    db.session.refresh(token)
    assert token.revoked_at is None


def test_api_needs_no_csrf_but_token_pages_do(app, evaluator):
    from app import create_app
    from tests.conftest import IsolatedClient, make_config

    strict = create_app(make_config(app.config["SQLALCHEMY_DATABASE_URI"], WTF_CSRF_ENABLED=True))
    strict.test_client_class = IsolatedClient
    client = strict.test_client()
    token, secret = issue_token(evaluator, "t")
    try:
        assert client.get("/api/v1/projects", headers=bearer(secret)).status_code == 200
        page = client.get("/login").data.decode()
        csrf_token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        client.post("/login", data={"username": "alice", "password": "alice-password-1", "csrf_token": csrf_token})
        assert client.post(f"/desk/api-tokens/{token.id}/revoke").status_code == 400
        assert client.post("/desk/api-tokens/", data={"name": "x"}).status_code == 400
    finally:
        with strict.app_context():
            db.engine.dispose()


def test_openapi_documents_existing_routes(app):
    spec = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    assert spec["openapi"].startswith("3.1")
    assert spec["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    base = spec["servers"][0]["url"]
    rules = {re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule) for rule in app.url_map.iter_rules()}
    assert spec["paths"]
    for path, operations in spec["paths"].items():
        assert base + path in rules, path
        for operation in operations.values():
            assert "200" in operation["responses"] and "401" in operation["responses"]
    api_rules = {r for r in rules if r.startswith(base + "/")}
    assert api_rules == {base + path for path in spec["paths"]}
