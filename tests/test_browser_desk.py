"""The evaluator's whole flow in a real browser: sign in, build, publish, collect, watch results, export.

Done once at desktop size (1280×800) and once at phone size (375×667), each with its own project, on the
live demo server of ``tests/test_browser.py`` in Debian's Chromium. One response comes through the
public page (JavaScript off: the plain form every phone can send), the others through
``survey.respond.submit.store_response`` as the public page would store them. Screenshots of each main page go
to ``tests/artifacts/desk/`` (git-ignored) for people to look at.
"""

from __future__ import annotations

import csv
import io
import uuid
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tests.browser_support import DESKTOP, PHONE, keep_screenshot
from tests.test_browser import (  # noqa: F401 - fixtures and form helpers shared with the browser tests
    _fill,
    _full_answers,
    _login,
    _required_only,
    _unconditional,
    live,
)

SHOTS = Path(__file__).resolve().parent / "artifacts" / "desk"
TEMPLATE_TITLE = "群众安全感与满意度调查问卷"
EDITED = "在目前的社会治安环境下，您觉得自己和家人安全吗？"
SIZES = {"desktop": DESKTOP, "phone": PHONE}


def shot(page, size: str, name: str) -> None:
    """A full-page screenshot for people to look at."""
    keep_screenshot(page, SHOTS / f"desk-{name}-{size}.png")


def no_sideways_scroll(page) -> None:
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


def valid_count(page, live, questionnaire_id: int) -> int:  # noqa: F811
    """The 有效 figure of the results page, read as the evaluator sees it."""
    page.goto(live.url(f"/desk/questionnaires/{questionnaire_id}/results"))
    return int(page.locator("#valid").inner_text()) if page.locator("#valid").count() else 0


def store(live, questionnaire_id: int, answers: dict) -> None:  # noqa: F811
    """Store a response as the public page does, bypassing only the browser."""
    from survey.models import Questionnaire
    from survey.platform.extensions import db
    from survey.respond.submit import store_response

    with live.app.app_context():
        store_response(db.session.get(Questionnaire, questionnaire_id), answers, uuid.uuid4().hex)


@pytest.fixture(params=list(SIZES))
def evaluator_page(request, browser):  # noqa: F811
    """The evaluator's browser at one size; ``page.size_name`` names it in screenshots."""
    context = browser.new_context(**SIZES[request.param], accept_downloads=True)
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        page.size_name = request.param
        yield page
    finally:
        context.close()


def test_evaluator_builds_publishes_collects_and_exports(live, browser, evaluator_page):  # noqa: F811, C901
    page, size = evaluator_page, evaluator_page.size_name
    project_name = f"平安建设群众满意度评价（{size}）"

    # Sign in and create a project.
    page.goto(live.url("/login"))
    shot(page, size, "login")
    _login(page, live)
    shot(page, size, "projects")
    page.get_by_role("link", name="新建项目").first.click()
    page.fill("input[name=name]", project_name)
    page.fill("input[name=region]", "福建省泉州市丰泽区")
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/desk/projects/*")
    assert page.locator("h1").inner_text() == project_name
    assert page.locator("#no-questionnaires").is_visible()
    assert page.title() == f"项目概览 — {project_name} — 问卷评价"

    # A questionnaire from a library template.
    page.get_by_label(TEMPLATE_TITLE, exact=True).check()
    page.get_by_role("button", name="创建问卷").click()
    page.wait_for_url("**/desk/questionnaires/*")
    questionnaire_id = int(page.url.rstrip("/").rsplit("/", 1)[-1])
    assert page.locator("h1").inner_text() == TEMPLATE_TITLE

    # Edit the first question's wording in the builder.
    page.get_by_role("link", name="编辑问卷").first.click()
    page.wait_for_url("**/builder/**")
    shot(page, size, "builder")
    page.locator(".qrow").first.get_by_role("link", name="编辑", exact=True).click()
    page.fill("textarea[name=text], input[name=text]", EDITED)
    page.get_by_role("button", name="保存").first.click()
    page.wait_for_load_state()
    page.goto(live.url(f"/desk/questionnaires/{questionnaire_id}/builder/"))
    assert EDITED in page.locator(".qlist").first.inner_text()

    # Publish, then the QR code of the public link is there.
    page.goto(live.url(f"/desk/questionnaires/{questionnaire_id}"))
    page.get_by_role("button", name="发布问卷").click()
    page.wait_for_load_state()
    assert "问卷已发布" in page.locator(".flash").inner_text()
    qr = page.locator("img.qr")
    qr.wait_for()
    page.wait_for_function("document.querySelector('img.qr').naturalWidth > 0")
    public_link = page.locator("#public-link").inner_text()
    assert "/s/" in public_link
    no_sideways_scroll(page)
    shot(page, size, "questionnaire")

    # Closing asks first: the panel opens, nothing is closed by the first tap.
    page.locator("#close-confirm summary").click()
    assert page.get_by_role("button", name="确定关闭问卷").is_visible()
    page.locator("#close-confirm summary").click()

    # No responses yet: the results page says what to do next.
    assert valid_count(page, live, questionnaire_id) == 0
    assert "还没有有效回答" in page.locator("main").inner_text()

    # One response through the public page, on a phone with JavaScript off.
    with live.app.app_context():
        from survey.models import Questionnaire
        from survey.platform.extensions import db

        definition = db.session.get(Questionnaire, questionnaire_id).current_version.definition
    questions = _unconditional(definition)
    phone = browser.new_context(**PHONE, java_script_enabled=False)
    try:
        respondent = phone.new_page()
        respondent.goto(public_link)
        assert EDITED in respondent.locator("main").inner_text()
        _fill(respondent, questions, _required_only(questions))
        respondent.locator("#submit").click()
        respondent.wait_for_url("**/thanks")
    finally:
        phone.close()
    assert valid_count(page, live, questionnaire_id) == 1

    # Two more arrive; the results follow.
    store(live, questionnaire_id, _full_answers(questions))
    store(live, questionnaire_id, _required_only(questions))
    assert valid_count(page, live, questionnaire_id) == 3
    assert EDITED in page.locator("main").inner_text()
    no_sideways_scroll(page)
    shot(page, size, "results")

    # Exports: the CSV and the Excel workbook, as downloads.
    with page.expect_download() as csv_download:
        page.get_by_role("link", name="导出 CSV").first.click()
    download = csv_download.value
    assert download.suggested_filename == f"responses-{questionnaire_id}.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8-sig"))))
    assert len(rows) == 1 + 3
    assert any(EDITED in column for column in rows[0])

    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="Excel 工作簿").first.click()
    download = xlsx_download.value
    assert download.suggested_filename == f"results-{questionnaire_id}.xlsx"
    body = Path(download.path()).read_bytes()
    assert zipfile.is_zipfile(io.BytesIO(body))
    workbook = load_workbook(io.BytesIO(body), read_only=True)
    assert len(workbook.sheetnames) >= 2
    workbook.close()

    # The project dashboard shows the questionnaire with its count.
    page.goto(live.url("/desk/"))
    page.get_by_role("link", name=project_name).click()
    card = page.locator(f"#q-{questionnaire_id}")
    assert "3 份" in card.inner_text() and "收集中" in card.inner_text()
    assert page.locator("#stat-valid").inner_text() == "3"
    no_sideways_scroll(page)
    shot(page, size, "project")

    # Collection settings and the help page are reachable from here.
    page.goto(live.url(f"/desk/questionnaires/{questionnaire_id}/collection"))
    shot(page, size, "collection-settings")
    page.get_by_role("link", name="使用帮助").click()
    page.wait_for_url("**/help")
    assert page.locator("h1").inner_text() == "使用帮助"
    no_sideways_scroll(page)
    shot(page, size, "help")
