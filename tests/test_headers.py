"""Security headers on every kind of page, and templates that need no inline script or style.

Checked on a respondent page, a desk page, the sign-in page and the error pages (404, 400, 413, 500):
the same CSP with no inline script, framing only by our own pages (CSP and X-Frame-Options agree),
nosniff, a referrer policy, a permissions policy, COOP, and HSTS only over HTTPS.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from flask import request

from survey.platform.web import CSP
from tests.helpers import make_project, published

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
# Laid out by WeasyPrint into PDFs; never sent to a browser as an HTML page (checked below).
PDF_TEMPLATE_DIRS = ("pdf", "posters")
PDF_RENDERERS = {"survey/reports/pdf.py", "survey/collection/posters.py"}


def _directives(policy: str) -> dict[str, str]:
    return {part.split()[0]: part.split(None, 1)[1] for part in (p.strip() for p in policy.split(";")) if part}


def assert_security_headers(response, secure: bool = False) -> None:
    headers = response.headers
    policy = _directives(headers["Content-Security-Policy"])
    assert policy["script-src"] == "'self'" and policy["default-src"] == "'self'"
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert "unsafe-eval" not in headers["Content-Security-Policy"]
    assert policy["style-src"] == "'self'" and policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'self'" and headers["X-Frame-Options"] == "SAMEORIGIN"
    assert policy["base-uri"] == "'self'" and policy["form-action"] == "'self'"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] in ("same-origin", "no-referrer", "strict-origin-when-cross-origin")
    assert "camera=()" in headers["Permissions-Policy"] and "geolocation=()" in headers["Permissions-Policy"]
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    if secure:
        assert re.fullmatch(r"max-age=\d{7,}.*", headers["Strict-Transport-Security"])
    else:
        assert "Strict-Transport-Security" not in headers


@pytest.fixture
def questionnaire(evaluator):
    return published(make_project(evaluator))


def test_public_page(client, questionnaire):
    response = client.get(f"/s/{questionnaire.public_token}")
    assert response.status_code == 200
    assert_security_headers(response)


def test_desk_page(logged_in, questionnaire):
    for path in ("/desk/", f"/desk/questionnaires/{questionnaire.id}"):
        response = logged_in.get(path)
        assert response.status_code == 200, path
        assert_security_headers(response)


def test_sign_in_page_and_static_file(client):
    assert_security_headers(client.get("/login"))
    static = client.get("/static/js/respond.js")
    assert static.status_code == 200
    assert_security_headers(static)
    static.close()


def test_error_pages(client, questionnaire):
    missing = client.get("/s/no-such-link")
    assert missing.status_code == 404 and "找不到这个页面" in missing.data.decode()
    assert_security_headers(missing)
    desk_missing = client.get("/desk/no-such-page")
    assert desk_missing.status_code == 404
    assert_security_headers(desk_missing)


@pytest.mark.fresh_app  # adds a route: Flask refuses that on an app that has served a request
def test_bad_request_gets_a_chinese_400(app, client):
    """Werkzeug's own 400 page is English; any request the app cannot read gets ours."""

    def unreadable():
        return request.form["never-sent"]  # a missing key is a BadRequest

    app.add_url_rule("/s/unreadable-for-test", "public.unreadable_for_test", unreadable, methods=["POST"])
    response = client.post("/s/unreadable-for-test", data={"q1": "a"})
    assert response.status_code == 400
    assert "提交的内容格式不正确" in response.data.decode()
    assert_security_headers(response)


@pytest.mark.parametrize("app_config", [{"MAX_CONTENT_LENGTH": 64 * 1024}])
def test_too_large_body_gets_a_chinese_413(client, questionnaire):
    response = client.post(f"/s/{questionnaire.public_token}", data={"q9": "长" * 70_000})
    page = response.data.decode()
    assert response.status_code == 413
    assert "提交的内容太大" in page and "0.0625 MB" in page and "没有保存" in page
    assert 'class="phone"' in page  # the respondent's layout
    assert_security_headers(response)


@pytest.mark.fresh_app  # adds a route
def test_server_error_page(app, client):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def broken():
        raise RuntimeError("deliberate failure for the error page test")

    app.add_url_rule("/desk/broken-for-test", "broken_for_test", broken)
    response = client.get("/desk/broken-for-test")
    assert response.status_code == 500 and "服务器暂时出了问题" in response.data.decode()
    assert_security_headers(response)


def test_hsts_only_over_https(client, questionnaire):
    secure = client.get(f"/s/{questionnaire.public_token}", base_url="https://survey.example.cn")
    assert_security_headers(secure, secure=True)
    # A client cannot claim HTTPS for itself: forwarded headers count only from a trusted proxy.
    spoofed = client.get(f"/s/{questionnaire.public_token}", headers={"X-Forwarded-Proto": "https"})
    assert_security_headers(spoofed, secure=False)


def test_csp_names_the_proof_of_work_worker():
    assert _directives(CSP)["worker-src"] == "'self'"


# --- static files: fingerprinted and cached for good; the favicon -----------------------------------------

STATIC_LINK = re.compile(r'(?:href|src)="(/static/[^"]+)"')


def test_pages_link_static_files_by_a_fingerprint_of_their_content(logged_in, questionnaire):
    from survey.platform.static_files import FINGERPRINT_CHARS

    for path in (f"/s/{questionnaire.public_token}", "/desk/", f"/desk/questionnaires/{questionnaire.id}/results"):
        links = STATIC_LINK.findall(logged_in.get(path).data.decode())
        assert links, path
        for link in links:
            name, _, fingerprint = link.partition("?v=")
            content = (ROOT / name.lstrip("/")).read_bytes()
            assert fingerprint == hashlib.sha256(content).hexdigest()[:FINGERPRINT_CHARS], link


def test_a_fingerprinted_file_is_cached_for_a_year_and_others_are_revalidated(client, questionnaire):
    page = client.get(f"/s/{questionnaire.public_token}").data.decode()
    script = next(link for link in STATIC_LINK.findall(page) if "respond.js" in link)
    with client.get(script) as cached:
        assert cached.status_code == 200
        assert cached.cache_control.max_age == 365 * 24 * 3600
        assert cached.cache_control.public and cached.cache_control.immutable
        assert not cached.cache_control.no_cache
        assert_security_headers(cached)
    for plain in ("/static/js/respond.js", "/static/js/respond.js?v=000000000000"):  # none, or an old one
        with client.get(plain) as response:
            assert response.status_code == 200
            assert response.cache_control.no_cache and not response.cache_control.immutable, plain


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_fingerprinted_file_expires_a_year_ahead_not_when_it_is_sent(client, questionnaire, method):
    """``Expires`` equal to ``Date`` told HTTP/1.0 caches and proxies the file was stale on arrival,
    contradicting ``max-age=31536000, immutable``; a plain URL carries no ``Expires`` at all."""
    page = client.get(f"/s/{questionnaire.public_token}").data.decode()
    script = next(link for link in STATIC_LINK.findall(page) if "respond.js" in link)
    with client.open(script, method=method) as cached:
        assert cached.status_code == 200
        assert cached.headers.getlist("Expires") and len(cached.headers.getlist("Expires")) == 1
        ahead = (cached.expires - cached.date).total_seconds()
        assert abs(ahead - cached.cache_control.max_age) <= 5, (cached.headers["Date"], cached.headers["Expires"])
    for plain in ("/static/js/respond.js", "/static/js/respond.js?v=000000000000"):
        with client.open(plain, method=method) as response:
            assert response.cache_control.no_cache and "Expires" not in response.headers, plain


def test_a_changed_file_gets_a_new_address(tmp_path):
    from survey.platform.static_files import Fingerprints

    (tmp_path / "css").mkdir()
    sheet = tmp_path / "css" / "app.css"
    sheet.write_text("body { color: black; }")
    before = Fingerprints(tmp_path).of("css/app.css")
    sheet.write_text("body { color: navy; }")
    assert Fingerprints(tmp_path).of("css/app.css") != before, "a restart after a deploy sees the new content"
    watching = Fingerprints(tmp_path, watch=True)
    sheet.write_text("body { color: teal; } /* edited while the development server runs */")
    assert watching.of("css/app.css") == Fingerprints(tmp_path).of("css/app.css")
    assert watching.of("../secret.txt") is None and watching.of("css/missing.css") is None


def test_the_favicon_is_served_and_linked_from_both_layouts(client):
    with client.get("/favicon.ico") as icon:
        assert icon.status_code == 200 and icon.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
        assert icon.data[:4] == b"\x00\x00\x01\x00", "an ICO file"
        assert icon.cache_control.max_age and icon.cache_control.public
        assert_security_headers(icon)
    for layout in ("base_phone.html", "base_desk.html"):
        text = (TEMPLATES / layout).read_text(encoding="utf-8")
        assert "<link rel=\"icon\" href=\"{{ url_for('static', filename='favicon.ico') }}\"" in text, layout
    assert '<link rel="icon" href="/static/favicon.ico?v=' in client.get("/login").data.decode()


# --- the templates themselves -----------------------------------------------------------------

INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I | re.S)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
STYLE_ATTRIBUTE = re.compile(r"<[^>]*\sstyle\s*=", re.I | re.S)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.I)
JS_URL = re.compile(r"javascript:", re.I)


def _browser_templates() -> list[Path]:
    return [
        path
        for path in sorted(TEMPLATES.rglob("*.html"))
        if path.relative_to(TEMPLATES).parts[0] not in PDF_TEMPLATE_DIRS
    ]


def test_browser_templates_have_no_inline_script_or_style():
    templates = _browser_templates()
    assert len(templates) > 30
    problems = []
    for path in templates:
        text = path.read_text(encoding="utf-8")
        for name, pattern in (
            ("inline event handler", INLINE_HANDLER),
            ("inline script", INLINE_SCRIPT),
            ("style attribute", STYLE_ATTRIBUTE),
            ("style element", STYLE_ELEMENT),
            ("javascript: URL", JS_URL),
        ):
            if pattern.search(text):
                problems.append(f"{path.relative_to(ROOT)}: {name}")
    assert not problems, problems


def test_the_patterns_catch_what_they_must():
    assert INLINE_HANDLER.search('<button type="button" onclick="go()">')
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/js/respond.js" defer></script>')
    assert not INLINE_SCRIPT.search('<script type="application/json" id="results-data">{}</script>')
    assert STYLE_ATTRIBUTE.search('<p class="x" style="color: red">')
    assert not STYLE_ATTRIBUTE.search('<p data-style="x">')


def test_pdf_templates_are_only_rendered_for_weasyprint():
    """The PDF templates carry inline styles (WeasyPrint needs them); no view may send them as a page."""
    users = set()
    for path in sorted((ROOT / "survey").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if re.search(r"""["'](pdf|posters)/[\w.]+\.html["']""", text):
            users.add(str(path.relative_to(ROOT)))
    assert users == PDF_RENDERERS
    for name in PDF_RENDERERS:
        assert "weasyprint" in (ROOT / name).read_text(encoding="utf-8").lower(), name


def test_rendered_pages_have_no_inline_script_or_style(logged_in, questionnaire):
    for path in (f"/s/{questionnaire.public_token}", "/desk/", f"/desk/questionnaires/{questionnaire.id}"):
        page = logged_in.get(path).data.decode()
        assert not INLINE_HANDLER.search(page), path
        assert not INLINE_SCRIPT.search(page), path
        assert not STYLE_ATTRIBUTE.search(page), path
