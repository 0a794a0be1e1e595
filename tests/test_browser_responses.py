"""The response browser in Debian's Chromium, at desktop and phone size: key in a paper questionnaire against a
channel, find it in the list by its source, open it by its number, correct it, void it, and exclude flagged
responses by rule after the preview; the page never scrolls sideways (only the list's table does)."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.browser_support import DESKTOP, PHONE
from tests.test_browser import _login, live  # noqa: F401 - shared fixtures

SIZES = {"desktop": DESKTOP, "phone": PHONE}


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"], page.url


@pytest.fixture(params=list(SIZES))
def desk_page(request, browser):  # noqa: F811
    context = browser.new_context(**SIZES[request.param])
    context.set_default_timeout(20_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def _flagged(live, questionnaire_id: int, count: int) -> None:  # noqa: F811
    from survey.models import Questionnaire
    from survey.platform.extensions import db
    from survey.respond.submit import store_response

    with live.app.app_context():
        questionnaire = db.session.get(Questionnaire, questionnaire_id)
        for _index in range(count):  # blank responses sent in a few seconds
            store_response(questionnaire, {}, f"browser-fast-{uuid.uuid4().hex}", flags=["too_fast"])


def test_an_evaluator_finds_corrects_voids_and_excludes(live, desk_page):  # noqa: F811
    page = desk_page
    survey = live.surveys["public_safety"]
    base = f"/desk/questionnaires/{survey.id}"
    _login(page, live)
    # key in a paper questionnaire for the first channel offered
    page.goto(live.url(f"{base}/paper"))
    no_sideways_scroll(page)
    for field in page.locator("input[name^='p_'].code-input").all():
        field.fill("1")
    page.locator("#paper-form button[type=submit]").click()
    notice = page.locator(".flash-success").inner_text()
    number = int(re.search(r"第 (\d+) 号", notice).group(1))
    # find it among the keyed-in ones and open it
    page.goto(live.url(f"{base}/responses"))
    page.select_option("select[name=mode]", "paper")
    page.locator("form.filters button[type=submit]").click()
    assert f"第 {number} 号" in page.locator("#responses").inner_text()
    no_sideways_scroll(page)
    page.fill("#jump-number", str(number))
    page.locator("#jump button").click()
    assert page.locator("h1").inner_text() == f"第 {number} 号答卷"
    no_sideways_scroll(page)
    # correct it: the first question's answer becomes option 2
    page.get_by_role("link", name="更正录入").click()
    first = page.locator("input[name^='p_'].code-input").first
    first.fill("2")
    page.fill("input[name=reason]", "核对原件")
    page.locator("#paper-form button.primary").click()
    assert "已更正" in page.locator(".flash-success").inner_text()
    assert "核对原件" in page.locator("#history").inner_text()
    # void it
    page.fill("#reason-decide", "同一份录了两次")
    page.get_by_role("button", name="作废（录入有误）").click()
    assert "已作废" in page.locator("#facts").inner_text()
    # exclude flagged responses by rule, after the preview
    _flagged(live, survey.id, 2)
    page.goto(live.url(f"{base}/responses/exclude"))
    page.select_option("select[name=rule]", "flag:too_fast")
    page.get_by_role("button", name="预览").click()
    preview = page.locator("#preview").inner_text()
    count = int(re.search(r"将排除 (\d+) 份", preview).group(1))
    assert count >= 2
    no_sideways_scroll(page)
    page.locator("#confirm-form button[type=submit]").click()
    assert f"已按规则排除 {count} 份答卷" in page.locator(".flash-success").inner_text()
