"""Configuration layering: defaults, then ``instance/config.py``, then the environment, then tests.

Secrets never live in the repository. A production app refuses to start with the built-in
development key, because signed cookies (sessions, CSRF tokens) would then be forgeable.
"""

import os
import secrets
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from survey.platform.cli_guard import THROWAWAY_KEY, SecretKeyMissing, looking_up_commands

DEV_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - a sentinel that production refuses
ENVIRONMENTS = ("development", "testing", "production")


def default_config(app: Flask) -> dict:
    """Safe defaults: SQLite in ``instance/``, Chinese first, CSRF tokens that outlive slow respondents."""
    return {
        "SURVEY_ENV": "production",
        "SECRET_KEY": DEV_SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + os.path.join(app.instance_path, "survey.sqlite"),
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # A pooled connection idle this long is pinged before use (survey.platform.extensions.ping_after_idle);
        # ``pool_pre_ping`` in the engine options pings before every use instead.
        "DATABASE_PING_AFTER_IDLE_SECONDS": 5.0,
        "BABEL_DEFAULT_LOCALE": "zh_Hans_CN",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Shanghai",
        "LANGUAGES": ["zh_Hans_CN", "en"],
        # A citizen may leave the page open for an hour on a slow phone: the token must not expire.
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_I18N_ENABLED": False,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
        # Absolute base for survey links and QR codes when the service sits behind a proxy or a LAN address.
        "PUBLIC_BASE_URL": None,
        "SMALL_SAMPLE_N": 30,
        # Production: shared state for several app servers (rate limits; readiness checks it).
        "REDIS_URL": None,
        # None below means "decided by SURVEY_ENV once every layer is read" (see _environment_defaults).
        "SESSION_COOKIE_SECURE": None,
        "REMEMBER_COOKIE_SECURE": None,
        # How many proxies in front of the app may set X-Forwarded-*; 0 trusts none (a client could lie).
        "PROXY_FIX_HOPS": 0,
        "LOG_FORMAT": None,
        "LOG_LEVEL": "INFO",
        "RATELIMIT_ENABLED": None,
        "RATELIMIT_STORAGE_URI": None,
        "RATELIMIT_KEY_PREFIX": "survey",
        # Counted over the last minute, not per clock minute: a fixed window lets twice the limit through
        # around the turn of a minute (the end of one window and the start of the next).
        "RATELIMIT_STRATEGY": "moving-window",
        # Submissions through one link (a poster's QR code is one link), and from one phone.
        "RATELIMIT_PER_QUESTIONNAIRE": "600 per minute",
        "RATELIMIT_PER_DEVICE": "10 per minute",
        # One address may be a whole office or a carrier's NAT: a ceiling against cookie-dropping scripts only.
        "RATELIMIT_PER_CLIENT": "120 per minute",
        # Opening the form: looser, since reloading a page is harmless.
        "RATELIMIT_FORM_PER_QUESTIONNAIRE": "3000 per minute",
        "RATELIMIT_FORM_PER_DEVICE": "120 per minute",
        "RATELIMIT_LOGIN": "10 per minute",
        # The read API: per token (a report script re-reading results), and per client whatever the token.
        "RATELIMIT_API": "120 per minute",
        "RATELIMIT_API_PER_CLIENT": "600 per minute",
    }


def load_config(app: Flask, test_config: dict | None) -> None:
    """Apply the layers in order and check the result is safe to run."""
    app.config.from_mapping(default_config(app))
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env()
        _apply_plain_environment(app)
    else:
        app.config.update(test_config)
    _normalise_database_url(app)
    _check_secret_key(app)
    _environment_defaults(app)


def _apply_plain_environment(app: Flask) -> None:
    """Read the unprefixed variables operators expect (``SECRET_KEY``, ``DATABASE_URL``, ``SURVEY_ENV``)."""
    for name, key in (
        ("SECRET_KEY", "SECRET_KEY"),
        ("DATABASE_URL", "SQLALCHEMY_DATABASE_URI"),
        ("SURVEY_ENV", "SURVEY_ENV"),
        ("PUBLIC_BASE_URL", "PUBLIC_BASE_URL"),
        ("REDIS_URL", "REDIS_URL"),
        ("RATELIMIT_STORAGE_URI", "RATELIMIT_STORAGE_URI"),
        ("LOG_FORMAT", "LOG_FORMAT"),
        ("LOG_LEVEL", "LOG_LEVEL"),
    ):
        if os.environ.get(name):
            app.config[key] = os.environ[name]
    for name in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE", "RATELIMIT_ENABLED"):
        if os.environ.get(name):
            app.config[name] = env_flag(os.environ[name], name)
    if os.environ.get("PROXY_FIX_HOPS"):
        app.config["PROXY_FIX_HOPS"] = int(os.environ["PROXY_FIX_HOPS"])


def env_flag(value: str, name: str) -> bool:
    """An on/off environment variable; a typo is refused rather than silently read as "on"."""
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise RuntimeError(f"{name} must be 1/0 (or true/false), not {value!r}")


def _environment_defaults(app: Flask) -> None:
    """Settings whose safe default depends on SURVEY_ENV, filled in only where no layer set them.

    Production cookies are ``Secure`` (an intranet trial over plain HTTP sets SESSION_COOKIE_SECURE=0);
    tests run without rate limits unless a test turns them on, since they submit many answers quickly;
    rate limits are counted in Redis when there is one, so every app server sees the same counts.
    """
    config = app.config
    production = config["SURVEY_ENV"] == "production"
    for key in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if config.get(key) is None:
            config[key] = production
    if config.get("RATELIMIT_ENABLED") is None:
        config["RATELIMIT_ENABLED"] = config["SURVEY_ENV"] != "testing"
    if not config.get("RATELIMIT_STORAGE_URI"):
        config["RATELIMIT_STORAGE_URI"] = config.get("REDIS_URL") or "memory://"
    config["DATABASE_PING_AFTER_IDLE_SECONDS"] = float(config["DATABASE_PING_AFTER_IDLE_SECONDS"])
    if not config.get("LOG_FORMAT"):
        config["LOG_FORMAT"] = "json" if production else "text"
    if config["LOG_FORMAT"] not in ("json", "text"):
        raise RuntimeError(f"LOG_FORMAT must be 'json' or 'text', not {config['LOG_FORMAT']!r}")
    config["PROXY_FIX_HOPS"] = int(config.get("PROXY_FIX_HOPS") or 0)


def apply_proxy_fix(app: Flask) -> None:
    """Trust X-Forwarded-For/-Proto/-Host/-Prefix from exactly PROXY_FIX_HOPS proxies (none by default).

    Behind nginx the app would otherwise see http://127.0.0.1 as its address: QR links would point at
    the loopback, HSTS would never be sent, and every citizen would share the proxy's rate-limit key.
    Without a proxy the headers must be ignored, or any client could pick its own address.
    """
    hops = app.config["PROXY_FIX_HOPS"]
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)


def _normalise_database_url(app: Flask) -> None:
    """Accept the ``postgres://`` and ``postgresql://`` spellings and drive them with psycopg 3."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    if url.startswith("sqlite:///"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)


def _check_secret_key(app: Flask) -> None:
    """Refuse the development key outside development and tests; give development a stable random key."""
    env = app.config["SURVEY_ENV"]
    if env not in ENVIRONMENTS:
        raise RuntimeError(f"SURVEY_ENV must be one of {ENVIRONMENTS}, not {env!r}")
    if app.config["SECRET_KEY"] not in (None, "", DEV_SECRET_KEY):
        return
    if env == "production" and looking_up_commands():
        # Help and the file-only commands only; every other command refuses when run (survey.platform.cli_guard).
        app.config["SECRET_KEY"] = secrets.token_urlsafe(48)
        app.config[THROWAWAY_KEY] = True
        return
    if env == "production":
        raise SecretKeyMissing()
    if env == "development":
        app.config["SECRET_KEY"] = _instance_dev_key(app)


def _instance_dev_key(app: Flask) -> str:
    """Keep one random key per checkout so development logins survive restarts."""
    path = Path(app.instance_path) / "dev-secret-key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()
