"""Accessibility of the respondent page: the vendored axe-core finds no serious or critical violation.

Every library template is checked in Chinese (three of them in English too), fresh, with the per-step errors the
page script shows, with the errors the server sends back, and the thank-you page. axe-core is
injected from ``tests/vendor/axe-core/axe.min.js`` (nothing fetched); the page's CSP forbids
injected scripts, so these contexts, and only these, are opened with ``bypass_csp=True``.
The evaluator pages are checked in ``tests/test_a11y_desk.py`` with the same helpers.
"""

from __future__ import annotations

import pytest

from tests.browser_support import axe_violations, describe_violations
from tests.test_browser_respondent import LIBRARY, WECHAT_PHONE, shot, site  # noqa: F401 - fixtures

LANGUAGES = {"zh": "zh_Hans_CN", "en": "en"}
# Every template in Chinese; in English the templates that between them hold every question type.
CASES = [(template, "zh") for template in LIBRARY] + [
    (template, "en") for template in ("fengze_service_object", "police_enforcement", "service_grid")
]


@pytest.fixture
def axe_phone(browser):  # noqa: F811 - the fixture imported above
    """A WeChat phone whose pages accept the injected axe-core script."""
    context = browser.new_context(**WECHAT_PHONE, bypass_csp=True)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def assert_accessible(page, what: str) -> None:
    violations = axe_violations(page)
    assert not violations, f"axe-core on {what}:\n{describe_violations(violations)}"


@pytest.mark.parametrize(("template", "language"), CASES)
def test_respondent_page_has_no_serious_violations(site, axe_phone, template, language):  # noqa: F811
    page = axe_phone
    token = site.surveys[template].token
    page.goto(site.url(f"/s/{token}?lang={LANGUAGES[language]}"))
    assert page.locator("html").get_attribute("lang") == ("en" if language == "en" else "zh-CN")
    assert_accessible(page, f"{template} ({language}), fresh")

    page.click("#step-next" if page.locator("#step-next").is_visible() else "#submit")
    assert page.locator(".question.has-error").count() > 0, "the page shows its per-step errors"
    assert_accessible(page, f"{template} ({language}), errors shown by the page")

    # Skip the page's own check (form.submit() fires no submit event) to get the server's error page.
    with page.expect_navigation():
        page.evaluate("HTMLFormElement.prototype.submit.call(document.getElementById('survey-form'))")
    assert page.locator("#error-summary").is_visible()
    assert_accessible(page, f"{template} ({language}), errors sent back by the server")
    if template == "police_enforcement":
        shot(page, f"a11y-server-errors-{language}")


def test_thanks_page_has_no_serious_violations(site, axe_phone):  # noqa: F811
    axe_phone.goto(site.url(f"/s/{site.surveys['public_safety'].token}/thanks"))
    assert_accessible(axe_phone, "the thank-you page")


def test_every_question_is_a_group_with_a_name_and_errors_are_tied_to_it(site, axe_phone):  # noqa: F811
    """What axe cannot judge: each question is a fieldset named by its legend, the error is its description."""
    page = axe_phone
    page.goto(site.url(f"/s/{site.surveys['service_grid'].token}"))
    groups = page.locator("fieldset.question").evaluate_all(
        "sets => sets.map(s => [s.id, s.querySelector(':scope > legend') ? s.querySelector(':scope > legend').id : ''])"
    )
    assert groups and all(legend == f"lg-{key[2:]}" for key, legend in groups), groups
    boxes = page.locator("fieldset.question input[type=text], fieldset.question textarea").evaluate_all(
        "els => els.filter(e => !e.classList.contains('other-input')).map(e => e.getAttribute('aria-labelledby'))"
    )
    assert boxes and all(label and label.startswith("lg-") for label in boxes), boxes
    page.click("#step-next")
    described = page.locator("#q-q1").get_attribute("aria-describedby")
    assert described == "err-q1" and page.locator("#err-q1").inner_text() == "这是必答题，请作答。"
