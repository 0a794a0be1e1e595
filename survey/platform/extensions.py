"""Extension objects, created unbound and attached to an app in ``init_extensions``."""

import time
from functools import cache, lru_cache

from babel import Locale
from flask import Flask, has_request_context, request
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

# Stable constraint names let Alembic's batch mode rebuild SQLite tables reliably.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate(render_as_batch=True, compare_type=True)
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()


def select_locale() -> Locale:
    """Chinese unless the visitor chose English (``?lang=`` or cookie) or their browser prefers it."""
    return _locale(_locale_name())


@cache
def _locale(name: str) -> Locale:
    """One shared ``Locale`` per name: Flask-Babel would parse the name again on every request."""
    return Locale.parse(name)


def _locale_name() -> str:
    """The name ``select_locale`` chooses."""
    from flask import current_app

    if not has_request_context():  # CLI and scripts speak the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    supported = current_app.config["LANGUAGES"]
    cookies = request.cookies
    chosen = chosen_language() or (cookies["lang"] if "lang" in cookies else None)  # ``.get`` raises inside
    if chosen in supported:
        return chosen
    return _browser_language(request.headers.get("Accept-Language", "")) or current_app.config["BABEL_DEFAULT_LOCALE"]


def chosen_language() -> str | None:
    """The ``?lang=`` of this request, if any, without parsing a query string that has none (most have none)."""
    if b"lang" not in request.query_string:
        return None
    args = request.args
    return args["lang"] if "lang" in args else None  # ``.get`` raises and catches inside when absent


@lru_cache(maxsize=256)
def _browser_language(header: str) -> str | None:
    """The first of Chinese or English in an ``Accept-Language`` header; phones send a few distinct values,
    so each is parsed once."""
    for language, _quality in parse_accept_header(header, LanguageAccept):
        code = language.lower()
        if code.startswith("zh"):
            return "zh_Hans_CN"
        if code.startswith("en"):
            return "en"
    return None


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL and a busy timeout let SQLite take concurrent phones without 'database is locked'."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def ping_after_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping a pooled connection before use only when it has lain idle ``idle_seconds`` or longer.

    SQLAlchemy's ``pool_pre_ping`` pings on every checkout: under load that was two of a respondent's five
    round trips to PostgreSQL and about 90 µs of the app's CPU each. A connection used a moment ago is
    alive unless the server went away in that moment; one that lay idle through a restart, a failover or a
    firewall's idle timeout is found here and replaced (the pool opens a new one on ``DisconnectionError``).
    One dropped while in recent use fails its first statement instead: a GET is then served once more on a
    new connection (``survey.platform.web.SurveyFlask``), and so is a respondent's submission
    (``survey.respond.arrivals.once_more_if_disconnected``).
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_connection, record) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
        idle_since = record.info.get("idle_since")  # none yet: the connection was opened just now
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise DisconnectionError("the pooled connection was closed while idle") from error
            raise


def init_extensions(app: Flask) -> None:
    """Bind every extension to ``app``; order matters only in that the database comes first.

    The factory imports ``survey.models`` first, so every table is in the metadata before Migrate sees it
    (imported here, the models that import ``db`` from this module would make an import cycle)."""
    db.init_app(app)
    if not app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping"):
        with app.app_context():
            if db.engine.dialect.name != "sqlite":  # a file does not drop connections
                ping_after_idle(db.engine, app.config["DATABASE_PING_AFTER_IDLE_SECONDS"])
    migrate.init_app(app, db, directory=str(app.root_path + "/migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
