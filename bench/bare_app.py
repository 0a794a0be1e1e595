"""The limit for ``bench/submit.py``: a bare Flask app that stores the same payload with one INSERT.

No forms, no CSRF, no rules, no templates: what is left is gunicorn, Flask routing, parsing the form
body and one database round trip. Our app's submissions per second divided by this app's, under the
same server settings and the same phones, says how much of the possible speed our own code keeps.
Served by ``gunicorn 'bench.bare_app:create_app()'`` with ``DATABASE_URL`` set, after ``create_schema``.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime

from flask import Flask, redirect, request
from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table, create_engine, insert

METADATA = MetaData()
BARE = Table(
    "bare_response",
    METADATA,
    Column("id", Integer, primary_key=True),
    Column("submission_id", String(64), unique=True),
    Column("submitted_at", DateTime),
    Column("answers", JSON),
)
PAGE = (
    '<!doctype html><form method="post"><input type="hidden" name="csrf_token" value="x">'
    '<input type="hidden" name="submission_id" value="{sid}"><input type="hidden" name="started" value="{now}">'
    "</form>"
)


def create_schema(url: str) -> None:
    """Create the one table, before gunicorn starts: workers creating it at once race on PostgreSQL."""
    engine = create_engine(url)
    METADATA.create_all(engine, checkfirst=True)
    engine.dispose()


def create_app() -> Flask:
    """One route pair: GET serves hidden fields like the real form; POST inserts and redirects."""
    url = os.environ["DATABASE_URL"]
    # No ping before every checkout: ours pings only connections that lay idle (survey.platform.extensions), which
    # under the bench's load is none, so a limit that pinged each time would flatter our share.
    engine = create_engine(url, pool_size=10)
    if url.startswith("sqlite"):
        _sqlite_like_ours(engine)
    app = Flask(__name__)

    @app.get("/s/<token>")
    def page(token: str):
        return PAGE.format(sid=uuid.uuid4().hex, now=datetime.now(UTC).isoformat(timespec="seconds"))

    @app.post("/s/<token>")
    def submit(token: str):
        form = request.form.to_dict(flat=False)
        row = {
            "submission_id": form.pop("submission_id", [uuid.uuid4().hex])[0],
            "submitted_at": datetime.now(UTC).replace(tzinfo=None),
            "answers": json.loads(json.dumps(form)),
        }
        with engine.begin() as connection:
            connection.execute(insert(BARE), row)
        return redirect(f"/s/{token}/thanks", code=303)

    return app


def _sqlite_like_ours(engine) -> None:
    """The same SQLite pragmas the service sets (WAL, busy timeout), so the comparison is fair."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "busy_timeout=10000", "synchronous=NORMAL"):
            cursor.execute("PRAGMA " + pragma)
        cursor.close()
