"""End-to-end checks in a real browser: a phone in WeChat answers a questionnaire, an evaluator reads results.

The app runs on a live Werkzeug server (a temporary SQLite file, schema from the migrations, the
demo data) and Debian's Chromium is driven by Playwright. Screenshots of the key pages are saved in
``test-artifacts/screenshots/`` for people to look at.

Without ``/usr/bin/chromium`` the module is skipped, unless ``SURVEY_REQUIRE_SERVICES=1`` says the
browser must be there (CI), in which case it fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser_support import DESKTOP, PHONE, keep_screenshot, live_server, migrated_app

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-artifacts" / "screenshots"
MIN_TAP = 44  # px, the smallest comfortable tap target


@dataclass(frozen=True)
class Survey:
    """What the tests need of a demo questionnaire, copied out of the database session."""

    id: int
    token: str
    template_key: str
    questions: list[dict]


@dataclass(frozen=True)
class Live:
    """The running server and what the demo created."""

    app: object
    base_url: str
    username: str
    password: str
    surveys: dict[str, Survey]

    def url(self, path: str) -> str:
        return self.base_url + path


def _shot(page, name: str) -> Path:
    return keep_screenshot(page, SHOTS / f"{name}.png")


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A live server on a free port over a fresh, migrated database with the demo data."""
    from survey.projects.demo import ensure_demo

    app = migrated_app(tmp_path_factory.mktemp("browser"), TESTING=True)
    with app.app_context():
        login = ensure_demo()
        surveys = {
            q.template_key: Survey(q.id, q.public_token, q.template_key, _unconditional(q.current_version.definition))
            for q in login.questionnaires
        }
        username, password = login.username, login.password
    with live_server(app) as base_url:
        yield Live(app, base_url, username, password, surveys)


@pytest.fixture
def phone(browser):
    """A fresh phone (WeChat on Android, 375×667) with its own cookies."""
    context = browser.new_context(**PHONE)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def desktop(browser):
    """A fresh desktop browser window (1280×800)."""
    context = browser.new_context(**DESKTOP)
    context.set_default_timeout(15_000)
    try:
        yield context.new_page()
    finally:
        context.close()


# --- helpers ----------------------------------------------------------------------------------


def _responses(live: Live, survey: Survey) -> list[tuple[int, dict]]:
    """``(id, answers)`` of every stored response of ``survey``, oldest first."""
    from survey.models import Response
    from survey.platform.extensions import db

    with live.app.app_context():
        rows = db.session.execute(
            db.select(Response).filter_by(questionnaire_id=survey.id).order_by(Response.id)
        ).scalars()
        return [(row.id, dict(row.answers)) for row in rows]


def _option_index(question: dict, choose: str) -> int:
    return [o["key"] for o in question["options"]].index(choose)


def _click_option(page, question: dict, option_key: str) -> None:
    """Tap the label of an option, as a thumb would (not the tiny input itself)."""
    index = _option_index(question, option_key)
    page.locator(f"#q-{question['key']} label.option").nth(index).click()


def _full_answers(questions: list[dict]) -> dict:
    """An answer for every question: a plausible option, the "other" option with text, free text."""
    answers: dict = {}
    for number, question in enumerate(questions):
        key, options = question["key"], question.get("options", [])
        if question["type"] in ("single_choice", "rating"):
            plain = [o for o in options if not o.get("other")]
            answers[key] = plain[number % min(2, len(plain))]["key"]
        elif question["type"] == "multiple_choice":
            plain = [o["key"] for o in options if not o.get("other")]
            other = [o["key"] for o in options if o.get("other")]
            limit = question.get("max_choices") or len(options)
            picked = plain[: max(1, limit - len(other[:1]))] + other[:1]
            answers[key] = [o["key"] for o in options if o["key"] in picked]
            if other:
                answers[f"{key}__other"] = "共享单车乱停放占用人行道"
        elif question["type"] == "textarea":
            answers[key] = "希望晚上多巡逻，小区门口的路灯也该修一修了。"
        else:
            answers[key] = "东海街道办事处"
    return answers


def _unconditional(definition: dict) -> list[dict]:
    """Questions always shown (skip-logic follow-ups are exercised by their own test)."""
    return [
        q
        for section in definition["sections"]
        if not section.get("show_if")
        for q in section["questions"]
        if not q.get("show_if")
    ]


def _one_page(page) -> None:
    """Show every section at once, as without JavaScript (the steps are tested in test_browser_respondent.py)."""
    page.evaluate(
        "() => { document.getElementById('survey-form').classList.remove('stepped');"
        " document.getElementById('submit').hidden = false; }"
    )


def _fill(page, questions: list[dict], answers: dict) -> None:
    """Enter ``answers`` on the page: tap option labels, type into text boxes."""
    _one_page(page)
    for question in questions:
        key = question["key"]
        if key not in answers:
            continue
        value = answers[key]
        if question["type"] in ("single_choice", "rating"):
            _click_option(page, question, value)
        elif question["type"] == "multiple_choice":
            for option_key in value:
                _click_option(page, question, option_key)
        else:
            page.locator(f"#q-{key} [name='{key}']").fill(value)
        if f"{key}__other" in answers:
            page.locator(f"[name='{key}__other']").fill(answers[f"{key}__other"])


def _required_only(questions: list[dict]) -> dict:
    full = _full_answers(questions)
    keep = {q["key"] for q in questions if q.get("required")}
    return {k: v for k, v in full.items() if k.split("__")[0] in keep}


def _login(page, live: Live) -> None:
    page.goto(live.url("/login"))
    page.fill("input[name=username]", live.username)
    page.fill("input[name=password]", live.password)
    page.click("main form button[type=submit]")
    page.wait_for_url("**/desk/**")


# --- respondent -------------------------------------------------------------------------------


def test_phone_answers_every_question_and_the_response_is_stored(live, phone):
    survey = live.surveys["public_safety"]
    before = _responses(live, survey)
    answers = _full_answers(survey.questions)
    assert {q["type"] for q in survey.questions} >= {"rating", "multiple_choice", "textarea"}
    assert any(k.endswith("__other") for k in answers), "the test must exercise an 'other' option"

    phone.goto(live.url(f"/s/{survey.token}"))
    assert "MicroMessenger" in phone.evaluate("navigator.userAgent")
    _shot(phone, "public-questionnaire-phone")
    _fill(phone, survey.questions, answers)
    for question in survey.questions:
        if question["type"] == "multiple_choice":
            for option_key in answers[question["key"]]:
                assert phone.locator(f"#q-{question['key']} input[value='{option_key}']").is_checked()
    phone.click("#submit")
    phone.wait_for_url(f"**/s/{survey.token}/thanks")
    assert "提交成功" in phone.locator("h1").inner_text()
    _shot(phone, "thanks-phone")

    after = _responses(live, survey)
    new = [answers_ for id_, answers_ in after if id_ not in {i for i, _ in before}]
    assert len(after) == len(before) + 1
    assert new == [answers]


def test_missing_required_answer_is_shown_beside_the_question_and_answers_are_kept(live, phone):
    survey = live.surveys["public_safety"]
    before = len(_responses(live, survey))
    answers = _full_answers(survey.questions)
    # The last required choice question, so the error sits mid-page between answered questions.
    choice = ("rating", "single_choice")
    skipped = [q for q in survey.questions if q.get("required") and q["type"] in choice][-1]
    answers.pop(skipped["key"])

    phone.goto(live.url(f"/s/{survey.token}"))
    _fill(phone, survey.questions, answers)
    phone.click("#submit")
    phone.wait_for_load_state()

    error = phone.locator(f"#q-{skipped['key']} .error")
    error.wait_for()
    assert error.is_visible()
    assert "必答" in error.inner_text()
    assert phone.locator(".error").count() == 1, "only the unanswered question is marked"
    for question in survey.questions:
        key = question["key"]
        if key not in answers:
            continue
        if question["type"] in ("single_choice", "rating"):
            assert phone.locator(f"#q-{key} input[value='{answers[key]}']").is_checked(), key
        elif question["type"] == "multiple_choice":
            for option_key in answers[key]:
                assert phone.locator(f"#q-{key} input[value='{option_key}']").is_checked(), key
        else:
            assert phone.locator(f"#q-{key} [name='{key}']").input_value() == answers[key]
        if f"{key}__other" in answers:
            assert phone.locator(f"[name='{key}__other']").input_value() == answers[f"{key}__other"]
    phone.locator(f"#q-{skipped['key']}").scroll_into_view_if_needed()
    _shot(phone, "error-state-phone")
    assert len(_responses(live, survey)) == before


def test_skip_logic_shows_the_follow_up_only_when_it_applies(live, phone):
    survey = live.surveys["public_safety"]
    phone.goto(live.url(f"/s/{survey.token}"))
    follow_up = phone.locator("#q-q1w")
    assert follow_up.is_hidden()
    phone.locator("#q-q1 label.option", has_text="不太安全").click()
    assert follow_up.is_visible()
    phone.locator("#q-q1w label.option").first.click()
    phone.locator("#q-q1 label.option", has_text="很安全").click()
    assert follow_up.is_hidden()
    _shot(phone, "skip-logic-phone")
    before = len(_responses(live, survey))
    _fill(phone, survey.questions, {k: v for k, v in _full_answers(survey.questions).items() if k != "q1"})
    phone.click("#submit")
    phone.wait_for_url(f"**/s/{survey.token}/thanks")
    stored = _responses(live, survey)
    assert len(stored) == before + 1
    assert "q1w" not in stored[-1][1]  # hidden on the page, so not stored though it was ticked


def test_double_tap_on_submit_stores_one_response(live, phone):
    survey = live.surveys["public_safety"]
    before = len(_responses(live, survey))
    phone.goto(live.url(f"/s/{survey.token}"))
    _fill(phone, survey.questions, _required_only(survey.questions))
    phone.evaluate("() => { const b = document.getElementById('submit'); b.click(); b.click(); }")
    phone.wait_for_url(f"**/s/{survey.token}/thanks")
    assert len(_responses(live, survey)) == before + 1


def test_two_simultaneous_posts_of_one_form_store_one_response(live, phone):
    """Even without the page script (or with a flaky network retrying), the server stores one copy."""
    survey = live.surveys["public_safety"]
    before = len(_responses(live, survey))
    phone.goto(live.url(f"/s/{survey.token}"))
    _fill(phone, survey.questions, _required_only(survey.questions))
    statuses = phone.evaluate(
        """async () => {
            const form = document.getElementById('survey-form');
            const send = () => fetch(form.action, {method: 'POST', body: new FormData(form)});
            const replies = await Promise.all([send(), send()]);
            return replies.map(r => [r.status, new URL(r.url).pathname]);
        }"""
    )
    assert statuses == [[200, f"/s/{survey.token}/thanks"]] * 2
    assert len(_responses(live, survey)) == before + 1


@pytest.mark.parametrize("template_key", ["public_safety", "fengze_service_object"])
def test_no_sideways_scroll_at_320px_and_options_are_big_enough_to_tap(live, browser, template_key):
    survey = live.surveys[template_key]
    context = browser.new_context(**{**PHONE, "viewport": {"width": 320, "height": 640}})
    try:
        page = context.new_page()
        page.goto(live.url(f"/s/{survey.token}"))
        _one_page(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        heights = page.locator("label.option:visible").evaluate_all(
            "labels => labels.map(l => [l.textContent.trim(), l.getBoundingClientRect().height])"
        )
        assert len(heights) == sum(len(q.get("options", [])) for q in survey.questions)
        small = [(text, height) for text, height in heights if height < MIN_TAP]
        assert not small, f"option labels shorter than {MIN_TAP}px: {small}"
        assert page.locator("#submit").bounding_box()["height"] >= MIN_TAP
    finally:
        context.close()


# --- evaluator --------------------------------------------------------------------------------


def test_evaluator_sees_overall_satisfaction_on_desktop_and_phone(live, desktop, phone):
    survey = live.surveys["fengze_service_object"]
    results = f"/desk/questionnaires/{survey.id}/results"

    _login(desktop, live)
    desktop.goto(live.url(results))
    overall = desktop.locator("#overall")
    assert overall.is_visible()
    assert "%" in overall.inner_text()
    assert desktop.evaluate("document.documentElement.scrollWidth") <= 1280
    _shot(desktop, "results-desktop-1280")

    _login(phone, live)
    phone.goto(live.url(results))
    assert phone.locator("#overall").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    _shot(phone, "results-phone-375")


def test_questionnaire_page_shows_a_qr_code_of_the_public_link(live, desktop, tmp_path):
    survey = live.surveys["public_safety"]
    _login(desktop, live)
    desktop.goto(live.url(f"/desk/questionnaires/{survey.id}"))
    link = desktop.locator("#public-link").inner_text()
    assert link == live.url(f"/s/{survey.token}")
    qr = desktop.locator("img.qr")
    qr.wait_for()
    assert desktop.evaluate("img => img.complete && img.naturalWidth > 0", qr.element_handle())
    _shot(desktop, "questionnaire-qr-desktop")

    zxingcpp = pytest.importorskip("zxingcpp")
    image = pytest.importorskip("PIL.Image")
    png = tmp_path / "qr-element.png"
    qr.screenshot(path=str(png))
    with image.open(png) as picture:
        decoded = [result.text for result in zxingcpp.read_barcodes(picture)]
    png.unlink()
    assert decoded == [link]
