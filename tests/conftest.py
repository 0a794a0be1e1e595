"""Fixtures: an app on an empty database of each backend per test, schemas made by the real migrations.

Every test that uses ``app`` runs twice: on SQLite (the embedded default) and on PostgreSQL (the
production database), but for a test marked ``sqlite_only``, whose subject does not depend on the database (its
comment says why). PostgreSQL is skipped with a reason only when no server answers, and never
when ``SURVEY_REQUIRE_SERVICES=1`` (CI sets it).

Building an app (``create_app``) costs a tenth of a second or more, nearly all of it Werkzeug compiling some
600 URL rules, and most tests need only the default one: tests without ``app_config`` share one app per
backend and process. A shared app goes back for the next test only as it was built (same configuration,
routes, handlers, no export pool started); a test that changed it leaves it to be discarded, and a test
marked ``fresh_app`` (it adds routes, which Flask refuses once an app has served a request) gets its own.
Each test still starts on empty tables and in its own app context, with its own ``g`` and session.
"""

from __future__ import annotations

import contextvars
import copy
import os
import re

import psycopg
import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text

import survey.accounts.users
from app import create_app
from survey.accounts.users import create_user
from survey.jobs import queue as jobs
from survey.platform.extensions import db

# Nearly every test signs a user up and in, and production argon2 parameters spend about 0.1 s of CPU on each
# hash: a fifth of the suite's time. The tests keep argon2id and every code path; only the cost is lowered.
survey.accounts.users._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

PG_ADMIN_URL = os.environ.get("SURVEY_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
# The suite runs in two processes (pytest-xdist, ``addopts`` in pyproject.toml): each has its own PostgreSQL
# databases, named after the worker, and its own SQLite files under its own temporary folder.
PG_TEST_DB = os.environ.get("SURVEY_TEST_PG_DB", "survey_test") + os.environ.get("PYTEST_XDIST_WORKER", "")
REQUIRE_SERVICES = os.environ.get("SURVEY_REQUIRE_SERVICES") == "1"
# A commit on the test databases returns without waiting for its WAL to reach the disk (about 3 ms each here): what
# a commit makes visible, and when, is unchanged; only a server crash could lose the last moment of test data.
NO_WAIT_FOR_DISK = 'ALTER DATABASE "{name}" SET synchronous_commit = off'


def unavailable(reason: str) -> None:
    """Skip for a newcomer without the service; fail in CI, where it must be there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (SURVEY_REQUIRE_SERVICES=1, so this is an error)")
    pytest.skip(reason)


def _postgres_url() -> str:
    """Create the test database if needed and return its SQLAlchemy URL."""
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_TEST_DB,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{PG_TEST_DB}"')
            conn.execute(NO_WAIT_FOR_DISK.format(name=PG_TEST_DB))
    except psycopg.OperationalError as error:
        unavailable(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {error}".strip())
    base = re.sub(r"^postgresql://", "postgresql+psycopg://", PG_ADMIN_URL)
    return base.rsplit("/", 1)[0] + "/" + PG_TEST_DB


def fresh_postgres_database(name: str) -> str:
    """Drop and create the PostgreSQL database ``name`` and return its SQLAlchemy URL; skip (or fail in CI) when
    no PostgreSQL answers."""
    try:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
            conn.execute(NO_WAIT_FOR_DISK.format(name=name))
    except psycopg.OperationalError as error:
        unavailable(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {error}".strip())
    return re.sub(r"^postgresql://", "postgresql+psycopg://", PG_ADMIN_URL).rsplit("/", 1)[0] + "/" + name


def make_config(database_url: str, **extra) -> dict:
    """The test configuration: CSRF off unless a test turns it on."""
    return {
        "SURVEY_ENV": "testing",
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        **extra,
    }


class IsolatedClient(FlaskClient):
    """Runs each request in a fresh context, as production does.

    The ``app`` fixture keeps an app context open so tests can use ``db``; without this, Flask
    would reuse that context for requests and ``g`` (current user, locale) would leak between them.
    """

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request, tmp_path_factory) -> str:
    """One database per backend for the whole run, brought to the head revision by Alembic."""
    if request.param == "sqlite":
        url = "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")
    else:
        url = _postgres_url()
    app = create_app(make_config(url))
    with app.app_context():
        if request.param == "postgresql":
            db.session.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            db.session.commit()
        upgrade()
        db.engine.dispose()
    return url


def _empty_all_tables() -> None:
    """A fresh database per test without re-running migrations: delete every row, children first.

    One query finds the tables that hold rows (a test writes to a few of the 18); only those are emptied, on
    PostgreSQL in one round trip."""
    quote = db.engine.dialect.identifier_preparer.quote
    tables = list(reversed(db.metadata.sorted_tables))
    probe = " UNION ALL ".join(
        f"SELECT {position} WHERE EXISTS (SELECT 1 FROM {quote(table.name)})" for position, table in enumerate(tables)
    )
    written = [tables[position] for (position,) in db.session.execute(text(probe))]
    if not written:
        db.session.rollback()
        return
    if db.engine.dialect.name == "postgresql":
        written = sorted(written, key=tables.index)
        db.session.execute(text("; ".join(f"DELETE FROM {quote(table.name)}" for table in written)))
    else:
        for table in sorted(written, key=tables.index):
            db.session.execute(table.delete())
    db.session.commit()


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "fresh_app: the test gets an app of its own, not the shared one (it adds routes or handlers)"
    )
    config.addinivalue_line(
        "markers",
        "sqlite_only: the test runs on SQLite only, because what it checks does not touch the database (the marker's "
        "comment says why); anything that stores, reads, counts, locks or migrates runs on both",
    )


def pytest_collection_modifyitems(config, items) -> None:
    """A test marked ``sqlite_only`` runs once, on SQLite: its PostgreSQL copy is deselected (and counted so).

    For tests whose subject does not depend on the database (a PDF drawn from figures already computed, the
    ``flask`` program's help), a second run on PostgreSQL repeats the same work and checks nothing more."""
    keep, dropped = [], []
    for item in items:
        backend = getattr(item, "callspec", None) and item.callspec.params.get("database_url")
        if backend == "postgresql" and item.get_closest_marker("sqlite_only") is not None:
            dropped.append(item)
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture
def app_config() -> dict:
    """Extra configuration for ``app``; a test overrides it with ``@pytest.mark.parametrize`` or a fixture."""
    return {}


_shared_apps: dict[str, tuple[Flask, tuple]] = {}  # per database URL: the default app and how it was built


def _shape(app: Flask) -> tuple:
    """What a test could change in an app and that would leak into the next test sharing it."""
    runner = app.extensions.get(jobs.EXTENSION)
    return (
        copy.deepcopy(dict(app.config)),
        len(app.url_map._rules),  # noqa: SLF001
        dict(app.view_functions),
        {key: list(value) for key, value in app.before_request_funcs.items()},
        {key: list(value) for key, value in app.after_request_funcs.items()},
        {key: list(value) for key, value in app.teardown_request_funcs.items()},
        repr(app.error_handler_spec),
        dict(app.extensions),
        runner is None or (runner.executor is None and not runner.pending),
        app.jinja_env.loader,
        dict(app.jinja_env.globals),
        app.instance_path,
    )


@pytest.fixture
def app(request, database_url, app_config):
    """An app on an empty database of the current backend: the shared default one, or one of its own for a test
    with ``app_config`` or marked ``fresh_app``."""
    shared = not app_config and request.node.get_closest_marker("fresh_app") is None
    built = _shared_apps.pop(database_url, None) if shared else None
    if built is None:
        app = create_app(make_config(database_url, **app_config))
        app.test_client_class = IsolatedClient
        built = (app, _shape(app) if shared else None)
    app, shape = built
    keep = False
    try:
        with app.app_context():
            _empty_all_tables()
            try:
                yield app
            finally:
                db.session.remove()
                keep = shared and _shape(app) == shape
                if not keep:
                    db.engine.dispose()
    finally:
        if keep:
            _shared_apps[database_url] = built
        elif not shared:
            _reconnect_shared(database_url)


def _reconnect_shared(database_url: str) -> None:
    """A test with an app of its own may have ended the database's sessions (tests/test_connections.py): the
    shared app drops its pooled connections, so the next test does not meet a dead one."""
    if database_url in _shared_apps:
        with _shared_apps[database_url][0].app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def playwright_session():
    """Playwright, started once per test process, for every browser test (tests/browser_support.py)."""
    from tests.browser_support import started_playwright

    with started_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_session):
    """Debian's Chromium, headless, one per test process: each test opens its own context (cookies, storage, size)
    and pages in it, and closes them. Starting Chromium once per module cost a launch for each of a dozen modules
    in each process; a module that needs other launch flags launches its own from ``playwright_session``."""
    from tests.browser_support import launch_chromium

    chromium = launch_chromium(playwright_session)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def evaluator(app):
    """A signed-up evaluator (username ``alice``)."""
    return create_user("alice", "alice-password-1", "Alice")


@pytest.fixture
def other_evaluator(app):
    """An evaluator who belongs to none of alice's projects."""
    return create_user("mallory", "mallory-password-1", "Mallory")


def login(client, username: str, password: str):
    """Sign in through the real form."""
    return client.post("/login", data={"username": username, "password": password})


@pytest.fixture
def logged_in(client, evaluator):
    """``client`` signed in as alice."""
    response = login(client, "alice", "alice-password-1")
    assert response.status_code == 302
    return client
