"""Pooled PostgreSQL connections: pinged only after lying idle, and one the server drops costs nobody an answer.

These run on PostgreSQL only (``database_url`` is narrowed to it): a SQLite file has no server to drop a
connection. The server's side is played by ``pg_terminate_backend`` on every session of the test database
but the one doing the terminating, as a restart or a failover would end them.
"""

from __future__ import annotations

import time

import psycopg
import pytest

from survey.models import Response
from survey.platform.extensions import db
from tests.conftest import PG_ADMIN_URL, PG_TEST_DB
from tests.helpers import SEED_004_ANSWERS, make_project, published

# PostgreSQL only; each test has an app of its own, since it ends every session on the database (conftest then
# makes the shared app reconnect).
pytestmark = [pytest.mark.parametrize("database_url", ["postgresql"], indirect=True), pytest.mark.fresh_app]

IDLE = 1.0  # seconds a pooled connection may lie idle before it is pinged, in the tests that need pings


def _end_the_app_sessions() -> int:
    """Terminate every other session on the test database, as a server restart would; how many."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as admin:
        pids = [
            pid
            for (pid,) in admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (PG_TEST_DB,)
            )
        ]
        admin.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", (pids,))
        for _ in range(100):  # the backends take a moment to go, longer on a busy machine
            if not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,)).fetchone():
                break
            time.sleep(0.05)
    return len(pids)


@pytest.fixture
def pings(app, monkeypatch) -> list[bool]:
    """Every ping the pool makes from now on, as whether it found the connection alive."""
    dialect = db.engine.dialect
    made: list[bool] = []
    real = dialect.do_ping

    def counted(dbapi_connection):
        try:
            real(dbapi_connection)
        except Exception:
            made.append(False)
            raise
        made.append(True)
        return True

    monkeypatch.setattr(dialect, "do_ping", counted)
    return made


@pytest.mark.parametrize("app_config", [{"DATABASE_PING_AFTER_IDLE_SECONDS": IDLE}])
def test_a_connection_in_steady_use_is_not_pinged_and_an_idle_one_is(client, evaluator, pings):
    """A page view's one SELECT was two round trips while every checkout pinged; under load, connections are
    back in use within milliseconds, so only one that lay idle past the limit is pinged."""
    token = published(make_project(evaluator)).public_token
    db.session.remove()
    db.engine.dispose()  # one connection from here on, opened by the first page view: never idle between them
    for _ in range(5):
        assert client.get(f"/s/{token}").status_code == 200
    assert pings == []
    time.sleep(IDLE + 0.2)
    assert client.get(f"/s/{token}").status_code == 200
    assert pings == [True]


@pytest.mark.parametrize("app_config", [{"DATABASE_PING_AFTER_IDLE_SECONDS": IDLE}])
def test_a_connection_dropped_while_idle_is_replaced_before_use(client, evaluator, pings):
    token = published(make_project(evaluator)).public_token
    assert client.get(f"/s/{token}").status_code == 200
    db.session.remove()
    assert _end_the_app_sessions() >= 1
    time.sleep(IDLE + 0.2)
    assert client.get(f"/s/{token}").status_code == 200
    assert pings[0] is False  # the ping found it dead and the pool opened a new connection
    db.engine.dispose()


@pytest.mark.parametrize("app_config", [{"DATABASE_PING_AFTER_IDLE_SECONDS": 3600}])
def test_a_connection_dropped_while_in_use_costs_the_respondent_nothing(client, evaluator, pings, caplog):
    """No ping can catch a connection the server ended a moment after its last use: its first statement
    fails. The respondent's page and submission are run once more on a new connection, and the answers are
    stored once."""
    questionnaire = published(make_project(evaluator))
    token = questionnaire.public_token
    assert client.get(f"/s/{token}").status_code == 200
    db.session.remove()
    assert _end_the_app_sessions() >= 1
    assert client.get(f"/s/{token}").status_code == 200
    # After a disconnect SQLAlchemy reopens every older pooled connection on its next checkout, so the
    # submission needs a pool of its own whose one connection is then ended.
    db.engine.dispose()
    assert client.get(f"/s/{token}").status_code == 200
    db.session.remove()
    assert _end_the_app_sessions() >= 1
    data = {**SEED_004_ANSWERS, "submission_id": "through-a-restart"}
    assert client.post(f"/s/{token}", data=data).status_code == 303
    assert pings == []
    db.engine.dispose()
    stored = db.session.execute(db.select(Response.submission_id)).scalars().all()
    assert stored == ["through-a-restart"]
    second_runs = [r.getMessage() for r in caplog.records if "once more" in r.getMessage()]
    assert len(second_runs) == 2  # the operator sees each one in the log
    assert f"GET /s/{token}" in second_runs[0] and "during submit" in second_runs[1]


@pytest.mark.parametrize("app_config", [{"DATABASE_PING_AFTER_IDLE_SECONDS": 3600}])
def test_an_evaluators_page_is_served_through_a_dropped_connection(logged_in, caplog):
    """Any GET is served once more, hooks and all (the sign-in is read again through a new session)."""
    assert logged_in.get("/desk/").status_code == 200
    db.session.remove()
    assert _end_the_app_sessions() >= 1
    assert logged_in.get("/desk/").status_code == 200  # not 302 to the sign-in page: alice was read again
    assert any("served once more" in record.getMessage() for record in caplog.records)
    db.engine.dispose()


def test_without_the_second_run_a_dropped_connection_fails_the_page(app, evaluator):
    """The counter-check of the tests above: the failure they hide is real. The view called on its own,
    without the app's second run, meets the dead connection."""
    from sqlalchemy.exc import DBAPIError

    from survey.respond import public_views as public

    token = published(make_project(evaluator)).public_token
    with app.test_request_context(f"/s/{token}"):
        assert public.respond(token).status_code == 200
    db.session.remove()
    _end_the_app_sessions()
    with app.test_request_context(f"/s/{token}"), pytest.raises(DBAPIError) as failed:
        public.respond(token)
    assert failed.value.connection_invalidated
    db.engine.dispose()
