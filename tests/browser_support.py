"""Headless Chromium settings shared by the browser tests and ``scripts/screenshots.py``.

Debian's Chromium only (never a downloaded browser), with the flags that keep it off the network.
"""

import os
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from werkzeug.serving import make_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# WeChat's in-app browser on Android (XWEB), as sent by a real phone.
WECHAT_ANDROID_UA = (
    "Mozilla/5.0 (Linux; Android 13; V2241A Build/TP1A.220624.014; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 "
    "MMWEBSDK/20231202 MMWEBID/2307 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64 "
    "Weixin NetType/WIFI Language/zh_CN ABI/arm64"
)
PHONE = {
    "viewport": {"width": 375, "height": 667},
    "user_agent": WECHAT_ANDROID_UA,
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}
DESKTOP = {"viewport": {"width": 1280, "height": 800}, "locale": "zh-CN"}

# Screenshots of the pages the browser tests walk through, for people to look at (test-artifacts/, tests/artifacts/):
# no test compares them, and each full-page PNG costs Chromium a fifth to half a second, a quarter of the browser
# tests' time. They are saved when asked for: SURVEY_TEST_SCREENSHOTS=1 python -m pytest tests/test_browser*.py
SCREENSHOTS = os.environ.get("SURVEY_TEST_SCREENSHOTS") == "1"


def keep_screenshot(page, path: Path, *, full_page: bool = True) -> Path:
    """Save a screenshot of ``page`` at ``path`` for people to look at, when ``SURVEY_TEST_SCREENSHOTS=1``."""
    if SCREENSHOTS:
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=full_page)
    return path


# --- shared by the browser test modules (respondent, accessibility) ----------------------------------------

AXE_JS = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")


def migrated_app(folder: Path, **config):
    """A testing app over a fresh SQLite file in ``folder``, brought to head by Alembic, its instance folder there.

    ``config`` adds to or overrides the testing settings (a secret per caller, ``TESTING``, a public base URL).
    """
    from flask_migrate import upgrade

    from app import create_app

    app = create_app(
        {
            "SURVEY_ENV": "testing",
            "SECRET_KEY": "browser-test-secret-key-not-for-production",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'survey.sqlite'}",
            **config,
        }
    )
    app.instance_path = str(folder / "instance")  # the demo password file stays out of the real instance/
    Path(app.instance_path).mkdir()
    with app.app_context(), warnings.catch_warnings():
        # migrations/env.py (Flask-Migrate's template) still calls the deprecated db.get_engine().
        warnings.filterwarnings("ignore", "'get_engine' is deprecated", DeprecationWarning)
        upgrade()
    return app


def _body_read_whole(app):
    """``app`` with each response body read whole, and its iterable closed, before the server writes a byte.

    Werkzeug's development server closes a response's iterable only after draining the request's socket, and
    that raises when the browser has already dropped the connection: Chromium drops a favicon download when the
    page moves on, and asks for the rest later with a Range request. The static file was then left open, and its
    ResourceWarning failed whichever test the garbage collector happened to meet it in. (Production serves through
    gunicorn.) The pages and downloads here are small, so nothing needs streaming.
    """

    def whole(environ, start_response):
        iterable = app(environ, start_response)
        try:
            return [b"".join(iterable)]
        finally:
            if hasattr(iterable, "close"):
                iterable.close()

    return whole


@contextmanager
def live_server(app):
    """Serve ``app`` on a free local port in a thread; yields the base URL, then stops the server and closes
    the app's database connections."""
    from survey.platform.extensions import db

    server = make_server("127.0.0.1", 0, _body_read_whole(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.engine.dispose()


def axe_violations(page, impacts=BLOCKING_IMPACTS) -> list[dict]:
    """Run the vendored axe-core on the page as it is now; the violations of the given impacts.

    The page's Content-Security-Policy forbids injected scripts, so the page must come from a browser
    context opened with ``bypass_csp=True`` (only for these checks; other tests keep the CSP on).
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
    results = page.evaluate("async () => await window.axe.run(document, {resultTypes: ['violations']})")
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "targets": [" ".join(map(str, node["target"])) for node in violation["nodes"]],
        }
        for violation in results["violations"]
        if violation["impact"] in impacts
    ]


def describe_violations(violations: list[dict]) -> str:
    """Violations as readable lines for an assertion message."""
    return "\n".join(f"{v['impact']}: {v['id']} ({v['help']}) at {', '.join(v['targets'][:5])}" for v in violations)


@contextmanager
def started_playwright() -> Iterator:
    """Playwright's sync API, started once per test process by the ``playwright_session`` fixture (tests/conftest.py).

    While it runs, this thread counts as running an asyncio loop (that is how the sync API works): a second
    ``sync_playwright()`` in the process would refuse to start, so every browser test launches its Chromium from this
    one (``launch_chromium``). Missing Chromium or Playwright skips with the reason for a newcomer, and fails in CI
    (``SURVEY_REQUIRE_SERVICES=1``), through the same ``unavailable`` as the database fixtures.
    """
    from tests.conftest import unavailable

    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is not installed (apt-get install chromium); browser tests need it")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (pip install -e '.[test]')")
    playwright = sync_playwright().start()
    try:
        yield playwright
    finally:
        playwright.stop()


def launch_chromium(playwright, extra_args: tuple[str, ...] = ()):
    """Debian's Chromium, headless (never a downloaded browser): one launcher for every browser test module."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *extra_args])
