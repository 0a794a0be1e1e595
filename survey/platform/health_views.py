"""Liveness and readiness for the proxy, systemd or an orchestrator.

``/livez`` answers while the process can serve at all (restart it if not); ``/readyz`` answers 200 only
when the database, and Redis if one is configured, respond, so a load balancer stops sending citizens to
a server that would lose their answers. The detail names only what failed and the error's type, never a
connection string or password.
"""

from __future__ import annotations

import redis
from flask import Blueprint, current_app
from sqlalchemy import text

from survey.platform.extensions import db

bp = Blueprint("health", __name__)

REDIS_TIMEOUT_SECONDS = 2.0


@bp.get("/livez")
def livez():
    """The process is up and serving requests; checks nothing else, so a database outage causes no restarts."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """200 with each check "ok", or 503 with the checks that failed."""
    checks = {"database": _check_database()}
    if current_app.config.get("REDIS_URL"):
        checks["redis"] = _check_redis()
    ready = all(result == "ok" for result in checks.values())
    return {"status": "ready" if ready else "not ready", "checks": checks}, (200 if ready else 503)


def _check_database() -> str:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001 - any failure means "not ready"; the type is reported
        db.session.rollback()
        current_app.logger.warning("readiness: database check failed: %s", type(error).__name__)
        return f"error: {type(error).__name__}"
    return "ok"


def _check_redis() -> str:
    try:
        _redis_client().ping()
    except Exception as error:  # noqa: BLE001
        current_app.logger.warning("readiness: redis check failed: %s", type(error).__name__)
        return f"error: {type(error).__name__}"
    return "ok"


def _redis_client() -> redis.Redis:
    """One client (and connection pool) per app, made on first use, with a short timeout for probes."""
    client = current_app.extensions.get("survey_redis")
    if client is None:
        client = redis.Redis.from_url(
            current_app.config["REDIS_URL"],
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        current_app.extensions["survey_redis"] = client
    return client
