"""Liveness and readiness: database and Redis checks, 503 with a detail when something is down."""

from __future__ import annotations

import os

import pytest
import redis

from app import create_app
from survey.platform.extensions import db
from tests.conftest import make_config, unavailable

REDIS_TEST_URL = os.environ.get("SURVEY_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def test_livez_answers_without_touching_anything(client):
    response = client.get("/livez")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert response.headers["X-Request-ID"]


def test_readyz_checks_the_database(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "checks": {"database": "ok"}}


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path):
    app = create_app(make_config("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["status"] == "not ready"
    assert response.json["checks"]["database"].startswith("error: ")
    assert "nobody" not in response.get_data(as_text=True)  # no connection string in the detail


@pytest.mark.parametrize("app_config", [{"REDIS_URL": REDIS_TEST_URL}])
def test_readyz_pings_redis_when_configured(app, client):
    try:
        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        unavailable(f"Redis not reachable at {REDIS_TEST_URL}: {error}")
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["checks"] == {"database": "ok", "redis": "ok"}


@pytest.mark.parametrize("app_config", [{"REDIS_URL": "redis://127.0.0.1:1/0"}])
def test_readyz_is_503_when_redis_is_down(app, client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["database"] == "ok"
    assert response.json["checks"]["redis"].startswith("error: ")
    db.session.rollback()


def test_request_id_is_taken_from_the_proxy_when_sane_and_made_otherwise(client):
    given = client.get("/livez", headers={"X-Request-ID": "abc-123-def-456"})
    assert given.headers["X-Request-ID"] == "abc-123-def-456"
    forged = client.get("/livez", headers={"X-Request-ID": 'x" "level": "forged'}).headers["X-Request-ID"]
    assert '"' not in forged and len(forged) == 32


def test_request_log_line_is_one_json_object_without_the_raw_address(client, caplog):
    import json
    import logging

    from survey.platform.logs import JsonFormatter

    # Alembic's env.py calls logging.config.fileConfig, which disables loggers that existed before it ran.
    logging.getLogger("survey.request").disabled = False
    with caplog.at_level(logging.INFO, logger="survey.request"):
        client.get(
            "/login?next=/secret",
            headers={"X-Request-ID": "req-0001-abcd"},
            environ_base={"REMOTE_ADDR": "203.0.113.9"},
        )
    [record] = [r for r in caplog.records if r.name == "survey.request"]
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["request_id"] == "req-0001-abcd" and entry["level"] == "INFO"
    assert entry["method"] == "GET" and entry["path"] == "/login" and entry["status"] == 200
    assert entry["duration_ms"] >= 0 and entry["time"].endswith("+00:00")
    assert "203.0.113.9" not in line and "secret" not in line and len(entry["client"]) == 12


def test_log_format_defaults_by_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite")
    monkeypatch.setenv("SURVEY_ENV", "production")
    production = create_app().config
    assert production["LOG_FORMAT"] == "json" and production["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "0")  # a plain-HTTP intranet trial
    assert create_app().config["SESSION_COOKIE_SECURE"] is False
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "perhaps")
    with pytest.raises(RuntimeError, match="SESSION_COOKIE_SECURE"):
        create_app()
    monkeypatch.delenv("SESSION_COOKIE_SECURE")
    monkeypatch.setenv("SURVEY_ENV", "development")
    monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda self: str(tmp_path / "instance"))
    development = create_app().config
    assert development["LOG_FORMAT"] == "text" and development["SESSION_COOKIE_SECURE"] is False
