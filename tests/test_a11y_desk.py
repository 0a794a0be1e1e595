"""Accessibility of the main evaluator pages: the vendored axe-core finds no serious or critical violation.

axe-core (tests/vendor/axe-core, MPL-2.0) is injected into each page of a live demo server in Debian's
Chromium, at desktop and phone size. The context bypasses the page's Content-Security-Policy only so
the test can add axe's script; the pages themselves are served exactly as in production.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser_support import DESKTOP, PHONE
from tests.test_browser import _login, live  # noqa: F401 - fixtures shared with the browser tests

AXE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
BLOCKING = ("serious", "critical")


def desk_pages(live) -> dict[str, str]:  # noqa: F811
    """The evaluator's main pages on the demo data, by name."""
    from survey.models import Project
    from survey.platform.extensions import db

    with live.app.app_context():
        project_id = db.session.execute(db.select(Project.id)).scalars().first()
    public, service = live.surveys["public_safety"].id, live.surveys["fengze_service_object"].id
    return {
        "projects": "/desk/",
        "project": f"/desk/projects/{project_id}",
        "questionnaire": f"/desk/questionnaires/{public}",
        "builder": f"/desk/questionnaires/{public}/builder/",
        "results": f"/desk/questionnaires/{service}/results",
        "collection-settings": f"/desk/questionnaires/{public}/collection",
        "channels": f"/desk/questionnaires/{public}/channels",
        "review": f"/desk/questionnaires/{public}/review",
        "weighting": f"/desk/questionnaires/{public}/weighting/",
        "rounds": f"/desk/questionnaires/{public}/rounds/",
        "word-template": f"/desk/projects/{project_id}/word-template",
        "help": "/help",
    }


def violations(page) -> list[str]:
    """Serious and critical axe violations of the loaded page, one readable line each."""
    page.add_script_tag(content=AXE)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — " + "; ".join(n["target"][0] for n in v["nodes"][:5])
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


@pytest.fixture(params=["desktop", "phone"])
def page(request, browser):  # noqa: F811
    """A page at desktop or phone size that lets the test inject axe despite the CSP."""
    context = browser.new_context(**(DESKTOP if request.param == "desktop" else PHONE), bypass_csp=True)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_login_page_has_no_serious_violations(live, page):  # noqa: F811
    page.goto(live.url("/login"))
    assert violations(page) == []


def test_main_evaluator_pages_have_no_serious_violations(live, page):  # noqa: F811
    _login(page, live)
    found = {}
    for name, path in desk_pages(live).items():
        response = page.goto(live.url(path))  # returns once the page has loaded: no page fetches anything later
        assert response.status == 200, name
        page.evaluate("() => document.fonts.ready.then(() => true)")  # and web fonts are in before axe measures
        if problems := violations(page):
            found[name] = problems
    assert found == {}


def test_the_check_can_fail(live, page):  # noqa: F811
    """A page with an unlabelled field and low-contrast text is reported: the check is not a no-op."""
    _login(page, live)
    page.goto(live.url("/desk/"))
    page.evaluate(
        """() => {
            const main = document.querySelector('main');
            main.insertAdjacentHTML('beforeend', '<input type="text" id="bad-input">');
            main.insertAdjacentHTML('beforeend', '<p id="bad-text" class="pale">淡淡的字</p>');
            document.getElementById('bad-text').style.color = '#ddd';
        }"""
    )
    ids = {line.split(" ")[0] for line in violations(page)}
    assert {"label", "color-contrast"} <= ids
