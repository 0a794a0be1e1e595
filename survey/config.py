"""Configuration layering: defaults, then ``instance/config.py``, then the environment, then tests.

Secrets never live in the repository. A production app refuses to start with the built-in
development key, because signed cookies (sessions, CSRF tokens) would then be forgeable.
"""

import os
import secrets
from pathlib import Path

from flask import Flask

DEV_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - a sentinel that production refuses
ENVIRONMENTS = ("development", "testing", "production")


def default_config(app: Flask) -> dict:
    """Safe defaults: SQLite in ``instance/``, Chinese first, CSRF tokens that outlive slow respondents."""
    return {
        "SURVEY_ENV": "production",
        "SECRET_KEY": DEV_SECRET_KEY,
        "SQLALCHEMY_DATABASE_URI": "sqlite:///" + os.path.join(app.instance_path, "survey.sqlite"),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
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


def _apply_plain_environment(app: Flask) -> None:
    """Read the unprefixed variables operators expect (``SECRET_KEY``, ``DATABASE_URL``, ``SURVEY_ENV``)."""
    for name, key in (
        ("SECRET_KEY", "SECRET_KEY"),
        ("DATABASE_URL", "SQLALCHEMY_DATABASE_URI"),
        ("SURVEY_ENV", "SURVEY_ENV"),
        ("PUBLIC_BASE_URL", "PUBLIC_BASE_URL"),
    ):
        if os.environ.get(name):
            app.config[key] = os.environ[name]


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
    if env == "production":
        raise RuntimeError(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable (or instance/config.py) "
            "to a long random value, or SURVEY_ENV=development for a local trial."
        )
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
