"""The respondent page in a real browser: a phone in WeChat answers every library template.

Every template in ``survey/questionnaires/library/`` is published on a live server (a temporary SQLite file) and
Debian's Chromium, dressed as WeChat on a 375×667 phone, answers it the way a thumb would: section
by section through the steps, opening the skip-logic follow-ups, then submitting once. Also: the
same page with JavaScript off, a reload half-way, 320 px wide with the large-font setting, and a
refusal by the server. Screenshots of each step go to ``test-artifacts/respondent/``.

Without ``/usr/bin/chromium`` the module is skipped, unless ``SURVEY_REQUIRE_SERVICES=1`` says the
browser must be there (CI), in which case it fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from app import create_app
from survey.questionnaires.conditions import visible_questions
from survey.questionnaires.definition import iter_questions, normalize_definition
from tests.browser_support import PHONE, keep_screenshot, live_server

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-artifacts" / "respondent"
LIBRARY = sorted(path.stem for path in (ROOT / "survey" / "questionnaires" / "library").glob("*.json"))
MIN_TAP = 44  # px
# WeChat on an iPhone (the Android one is browser_support.PHONE's); both must work.
WECHAT_IOS_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI Language/zh_CN"
)
WECHAT_PHONE = {**PHONE, "user_agent": WECHAT_IOS_UA}


@dataclass(frozen=True)
class Published:
    """A published questionnaire as the tests need it (copied out of the database session)."""

    id: int
    token: str
    definition: dict


@dataclass(frozen=True)
class Site:
    """The running server and one published questionnaire per library template."""

    app: object
    base_url: str
    surveys: dict[str, Published]

    def url(self, path: str) -> str:
        return self.base_url + path


def shot(page, name: str, full_page: bool = False) -> Path:
    """Save a screenshot for people to look at (not compared by the tests)."""
    return keep_screenshot(page, SHOTS / f"{name}.png", full_page=full_page)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A live server over a fresh database with every library template published."""
    from survey.accounts.users import create_user
    from survey.platform.extensions import db
    from survey.questionnaires import publishing

    base = tmp_path_factory.mktemp("respondent")
    app = create_app(
        {
            "SURVEY_ENV": "testing",
            "TESTING": True,
            "SECRET_KEY": "respondent-browser-test-secret-not-for-production",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{base / 'survey.sqlite'}",
        }
    )
    with app.app_context():
        db.create_all()
        owner = create_user("g1-owner", "a long enough password 2026", "评价员")
        project = publishing.create_project(owner, name="手机答卷测试", evaluating_org="集美大学地方财政绩效研究中心")
        surveys = {}
        for key in LIBRARY:
            questionnaire = publishing.create_questionnaire(project, key)
            publishing.publish(questionnaire)
            db.session.commit()
            definition = normalize_definition(questionnaire.current_version.definition)
            surveys[key] = Published(questionnaire.id, questionnaire.public_token, definition)
        surveys["conditional_section"] = _with_conditional_section(project)
        surveys["kiosk"] = _kiosk(project)
    with live_server(app) as base_url:
        yield Site(app, base_url, surveys)
    with app.app_context():
        db.engine.dispose()


def _with_conditional_section(project) -> Published:
    """public_safety with its third section (治安关注) asked only of those who feel unsafe (q1 = d or e)."""
    from survey.platform.extensions import db
    from survey.questionnaires import publishing

    questionnaire = publishing.create_questionnaire(project, "public_safety", title="分部分跳题测试")
    definition = normalize_definition(questionnaire.definition)
    definition["sections"][2]["show_if"] = {"question": "q1", "any_of": ["d", "e"]}
    questionnaire.definition = definition
    publishing.publish(questionnaire)
    db.session.commit()
    return Published(questionnaire.id, questionnaire.public_token, normalize_definition(definition))


def _kiosk(project) -> Published:
    """public_safety on a shared tablet at a service hall: any number of answers per device."""
    from survey.platform.extensions import db
    from survey.questionnaires import publishing

    questionnaire = publishing.create_questionnaire(project, "public_safety", title="服务大厅平板")
    questionnaire.one_per_device = False
    publishing.publish(questionnaire)
    db.session.commit()
    return Published(questionnaire.id, questionnaire.public_token, normalize_definition(questionnaire.definition))


@pytest.fixture
def phone(browser):
    """A fresh phone (WeChat on iOS, 375×667) with its own cookies and storage; page errors fail the test."""
    context = browser.new_context(**WECHAT_PHONE)
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield page
        assert not errors, f"JavaScript errors on the page: {errors}"
    finally:
        context.close()


# --- answers planned from the definition ------------------------------------------------------------------


def _triggers(definition: dict) -> dict[str, str]:
    """Question key -> an option that opens a follow-up (so the walk goes through the skip logic)."""
    found: dict[str, str] = {}

    def visit(condition: dict | None) -> None:
        if not condition:
            return
        for part in condition.get("all", []) + condition.get("any", []):
            visit(part)
        if condition.get("any_of"):
            found.setdefault(condition["question"], condition["any_of"][0])

    for section in definition["sections"]:
        visit(section.get("show_if"))
        for question in section["questions"]:
            visit(question.get("show_if"))
    return found


def plan_answers(definition: dict) -> dict:
    """One plausible answer per question (page values: option keys, typed text)."""
    triggers = _triggers(definition)
    answers: dict = {}
    for number, question in enumerate(iter_questions(definition)):
        key, kind = question["key"], question["type"]
        plain = [o["key"] for o in question.get("options", []) if not o.get("other")]
        if kind == "attention":
            answers[key] = question["correct"]
        elif kind in ("single_choice", "rating", "group"):
            answers[key] = triggers.get(key, plain[number % min(2, len(plain))])
        elif kind == "multiple_choice":
            answers[key] = plain[:1]
        elif kind == "matrix":
            for index, item in enumerate(question["items"]):
                answers[f"{key}.{item['key']}"] = plain[index % min(2, len(plain))]
        elif kind == "number":
            answers[key] = str(int(question.get("min") or 0) + 3)
        elif kind == "date":
            answers[key] = "2026-05-01"
        elif kind == "textarea":
            answers[key] = "希望晚上多巡逻，小区门口的路灯也该修一修了。"
        else:
            answers[key] = "东海街道办事处"
    return answers


def expected_stored(definition: dict, answers: dict) -> dict:
    """What the server should store for the page answers: visible questions only, numbers as numbers."""
    shown = visible_questions(definition["sections"], answers.get)
    kinds = {q["key"]: q for q in iter_questions(definition)}
    stored = {}
    for key, value in answers.items():
        question = kinds[key.split(".")[0]]
        if question["key"] not in shown:
            continue
        stored[key] = int(value) if question["type"] == "number" else value
    return stored


def fill_question(page, question: dict, answers: dict) -> None:
    """Answer one question on the page as a thumb would: tap option labels, type into boxes."""
    key, kind = question["key"], question["type"]
    box = page.locator(f"#q-{key}")
    if kind == "matrix":
        for item in question["items"]:
            value = answers[f"{key}.{item['key']}"]
            box.locator(f"label.option:has(input[name='{key}.{item['key']}'][value='{value}'])").click()
    elif kind == "multiple_choice":
        for value in answers[key]:
            box.locator(f"label.option:has(input[value='{value}'])").click()
    elif "options" in question:
        box.locator(f"label.option:has(input[value='{answers[key]}'])").click()
    else:
        box.locator(f"[name='{key}']").fill(answers[key])


def responses(site: Site, survey: Published) -> list[dict]:
    """The answers of every stored response of ``survey``, oldest first."""
    from survey.models import Response
    from survey.platform.extensions import db

    with site.app.app_context():
        rows = db.session.execute(db.select(Response).filter_by(questionnaire_id=survey.id).order_by(Response.id))
        return [dict(row.answers) for row in rows.scalars()]


def visible_ids(page, selector: str) -> list[str]:
    return page.locator(f"{selector}:visible").evaluate_all("nodes => nodes.map(n => n.id)")


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


# --- the walk through every template ----------------------------------------------------------------------


@pytest.mark.parametrize("template", LIBRARY)
def test_phone_answers_each_template_step_by_step_through_skip_logic(site, phone, template):
    survey = site.surveys[template]
    definition = survey.definition
    answers = plan_answers(definition)
    before = len(responses(site, survey))
    sections = definition["sections"]
    stepped = len(sections) > 1

    phone.goto(site.url(f"/s/{survey.token}"))
    assert "MicroMessenger" in phone.evaluate("navigator.userAgent")
    progress = phone.locator("#progress")
    assert progress.is_visible()
    shot(phone, f"{template}-start")
    follow_ups_seen = []
    for number, section in enumerate(sections, start=1):
        section_box = phone.locator(f"#sec-{section['key']}")
        assert section_box.is_visible()
        if number > 1:
            shot(phone, f"{template}-step-{number}-top")  # what the phone shows right after "next"
        if stepped:
            assert visible_ids(phone, ".survey-section") == [f"sec-{section['key']}"], "one section at a time"
            assert f"第 {number} 步，共 {len(sections)} 步" in progress.inner_text()
        for question in section["questions"]:
            box = phone.locator(f"#q-{question['key']}")
            if question.get("show_if"):
                assert box.is_visible(), f"{question['key']} should open: its condition is answered to hold"
                follow_ups_seen.append(question["key"])
            fill_question(phone, question, answers)
        shot(phone, f"{template}-step-{number}", full_page=True)
        if number < len(sections):
            assert phone.locator("#submit").is_hidden()
            phone.click("#step-next")
    assert follow_ups_seen == [q["key"] for q in iter_questions(definition) if q.get("show_if")]
    done = phone.locator("#progress-answered").inner_text()
    total = len([q for q in iter_questions(definition)])
    assert done.replace(" ", "").startswith(f"已答{total}/{total}"), done
    if stepped:
        assert phone.locator("#step-back").is_visible()
    phone.click("#submit")
    phone.wait_for_url(f"**/s/{survey.token}/thanks")
    shot(phone, f"{template}-thanks")

    stored = responses(site, survey)
    assert len(stored) == before + 1
    assert stored[-1] == expected_stored(definition, answers)


def test_next_stops_at_an_unanswered_required_question_and_focuses_it(site, phone):
    survey = site.surveys["public_safety"]
    phone.goto(site.url(f"/s/{survey.token}"))
    phone.click("#step-next")
    first = phone.locator("#q-q1")
    assert "这是必答题，请作答。" in first.locator(".error").inner_text()
    assert first.get_attribute("aria-describedby") == "err-q1"
    assert phone.evaluate("document.activeElement.name") == "q1", "focus goes to the first problem"
    assert phone.locator("#q-q2 .error").is_visible(), "every unanswered required question on the step is marked"
    assert phone.locator("#sec-s2").is_hidden(), "still on the first step"
    shot(phone, "public_safety-step-error")
    phone.locator("#q-q1 label.option").nth(0).click()
    assert phone.locator("#q-q1 .error").count() == 0, "the message goes once the question is answered"
    phone.locator("#q-q2 label.option").nth(0).click()
    phone.click("#step-next")
    assert phone.locator("#sec-s2").is_visible()
    assert phone.evaluate("document.activeElement.id") == "sec-title-s2", "focus moves to the new step's heading"
    phone.click("#step-back")
    assert phone.locator("#q-q1 input[value='a']").is_checked(), "answers are kept between steps"


def test_steps_skip_a_section_whose_condition_does_not_hold(site, phone):
    survey = site.surveys["conditional_section"]
    before = len(responses(site, survey))
    phone.goto(site.url(f"/s/{survey.token}"))
    progress = phone.locator("#progress-step")
    assert progress.inner_text() == "第 1 步，共 3 步", "the conditional section is not counted while q1 is empty"
    phone.locator("#q-q1 label.option:has(input[value='d'])").click()
    assert progress.inner_text() == "第 1 步，共 4 步"
    phone.locator("#q-q1 label.option:has(input[value='a'])").click()
    assert progress.inner_text() == "第 1 步，共 3 步"
    phone.locator("#q-q2 label.option:has(input[value='a'])").click()
    phone.click("#step-next")
    phone.locator("#q-q3 label.option:has(input[value='a'])").click()
    phone.locator("#q-q4 label.option:has(input[value='a'])").click()
    phone.click("#step-next")
    assert visible_ids(phone, ".survey-section") == ["sec-s4"], "治安关注 is skipped"
    assert progress.inner_text() == "第 3 步，共 3 步"
    phone.click("#step-back")
    assert visible_ids(phone, ".survey-section") == ["sec-s2"], "and skipped on the way back too"
    phone.click("#step-next")
    phone.click("#submit")
    phone.wait_for_url(f"**/s/{survey.token}/thanks")
    stored = responses(site, survey)
    assert len(stored) == before + 1 and stored[-1] == {"q1": "a", "q2": "a", "q3": "a", "q4": "a"}


def test_with_javascript_off_the_whole_form_is_one_page_and_works(site, browser):
    survey = site.surveys["three_rates"]
    definition = survey.definition
    answers = plan_answers(definition)
    answers["q1"] = "c"  # does not open q1w; q1w is shown anyway (no script) and its answer must be dropped
    q1w = next(o["key"] for o in next(q for q in iter_questions(definition) if q["key"] == "q1w")["options"])
    answers["q1w"] = [q1w]
    before = len(responses(site, survey))
    context = browser.new_context(**WECHAT_PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(site.url(f"/s/{survey.token}"))
        assert len(visible_ids(page, ".survey-section")) == len(definition["sections"]), "every section on one page"
        assert page.locator("#progress").is_hidden() and page.locator("#step-next").is_hidden()
        assert page.locator("#q-q1w .condition").is_visible(), "the condition is said in words instead"
        assert page.locator("#q-q1w .other-box").is_visible(), "and every 其他 box is there to fill in"
        for question in iter_questions(definition):
            fill_question(page, question, answers)
        shot(page, "three_rates-no-javascript", full_page=True)
        page.click("#submit")
        page.wait_for_url(f"**/s/{survey.token}/thanks")
    finally:
        context.close()
    stored = responses(site, survey)
    assert len(stored) == before + 1
    assert "q1w" not in stored[-1]
    assert stored[-1] == expected_stored(definition, answers)


def test_a_partly_answered_questionnaire_survives_a_reload_and_is_stored_once(site, phone):
    survey = site.surveys["public_safety"]
    before = len(responses(site, survey))
    phone.goto(site.url(f"/s/{survey.token}"))
    phone.locator("#q-q1 label.option:has(input[value='b'])").click()
    phone.locator("#q-q2 label.option:has(input[value='a'])").click()
    phone.click("#step-next")
    phone.reload()

    assert phone.locator("#draft-notice").is_visible()
    assert phone.locator("#sec-s2").is_visible(), "back on the step where the respondent was"
    shot(phone, "public_safety-restored")
    phone.click("#step-back")
    assert phone.locator("#q-q1 input[value='b']").is_checked()
    assert phone.locator("#q-q2 input[value='a']").is_checked()
    assert "已答 2 / " in phone.locator("#progress-answered").inner_text()
    phone.click("#step-next")
    phone.locator("#q-q3 label.option:has(input[value='a'])").click()
    phone.locator("#q-q4 label.option:has(input[value='b'])").click()
    phone.click("#step-next")
    phone.click("#step-next")
    phone.click("#submit")
    phone.wait_for_url(f"**/s/{survey.token}/thanks")

    stored = responses(site, survey)
    assert len(stored) == before + 1
    assert stored[-1] == {"q1": "b", "q2": "a", "q3": "a", "q4": "b"}
    assert phone.evaluate("Object.keys(localStorage).filter(k => k.startsWith('survey-draft:'))") == []
    phone.goto(site.url(f"/s/{survey.token}"))
    assert phone.locator("h1").inner_text() == "您已经提交过", "one per device: said on opening, not after filling in"


def test_start_over_clears_the_draft(site, phone):
    survey = site.surveys["three_rates"]
    phone.goto(site.url(f"/s/{survey.token}"))
    phone.locator("#q-q1 label.option").first.click()
    phone.reload()
    assert phone.locator("#q-q1 input:checked").count() == 1
    phone.click("#draft-clear")
    assert phone.locator("#q-q1 input:checked").count() == 0
    phone.reload()
    assert phone.locator("#draft-notice").is_hidden()
    assert phone.locator("#q-q1 input:checked").count() == 0


def test_a_refusal_by_the_server_opens_the_step_with_the_problem(site, phone):
    survey = site.surveys["service_grid"]
    answers = plan_answers(survey.definition)
    phone.goto(site.url(f"/s/{survey.token}"))
    for section in survey.definition["sections"]:
        for question in section["questions"]:
            fill_question(phone, question, answers)
        if not phone.locator("#step-next").is_hidden():
            phone.click("#step-next")
    phone.evaluate("document.querySelector(\"[name='q2']\").value = '5000'")  # beyond the maximum, 999
    phone.click("#submit")
    phone.wait_for_load_state()
    problem = phone.locator("#q-q2")
    assert problem.locator(".error").is_visible()
    assert phone.locator("#sec-s1").is_visible() and phone.locator("#sec-s3").is_hidden()
    assert phone.locator("[name='q2']").get_attribute("aria-invalid") == "true"
    assert "err-q2" in phone.locator("[name='q2']").get_attribute("aria-describedby")
    assert phone.locator("#q-q1 input:checked").count() == 1, "the other answers are kept"
    shot(phone, "service_grid-server-error")
    phone.locator("[name='q2']").fill("12")
    for _ in survey.definition["sections"][1:]:
        phone.click("#step-next")
    phone.click("#submit")
    phone.wait_for_url(f"**/s/{survey.token}/thanks")
    assert responses(site, survey)[-1]["q2"] == 12


def test_language_switch_keeps_the_answers(site, phone):
    survey = site.surveys["public_safety"]
    phone.goto(site.url(f"/s/{survey.token}"))
    assert phone.locator(".lang-nav a[aria-current]").inner_text() == "中文"
    phone.locator("#q-q1 label.option").nth(1).click()
    phone.click(".lang-nav a[lang=en]")
    phone.wait_for_url("**lang=en")
    assert phone.locator("html").get_attribute("lang") == "en"
    assert phone.locator(".lang-nav a[aria-current]").inner_text() == "English"
    assert phone.locator("#step-next").inner_text() == "Next"
    assert phone.locator("#q-q1 input").nth(1).is_checked()
    shot(phone, "public_safety-english")


# --- a phone that answered; at most N ticks; the Back button between steps; notes only when they apply ------


def _through_public_safety(phone, site: Site, survey: Published, submit: bool = True) -> None:
    """Open public_safety and answer its required questions step by step, then submit (q5 to q7 are optional)."""
    phone.goto(site.url(f"/s/{survey.token}"))
    phone.locator("#q-q1 label.option:has(input[value='b'])").click()
    phone.locator("#q-q2 label.option:has(input[value='a'])").click()
    phone.click("#step-next")
    phone.locator("#q-q3 label.option:has(input[value='a'])").click()
    phone.locator("#q-q4 label.option:has(input[value='b'])").click()
    phone.click("#step-next")
    phone.click("#step-next")
    if submit:
        phone.click("#submit")


def drafts(phone) -> list[str]:
    return phone.evaluate("Object.keys(localStorage).filter(k => k.startsWith('survey-draft:'))")


def _shown_again_or_told(phone) -> str:
    """After Back to the form sent a moment ago: wait until the page settled (the script may ask the server
    afresh), then say what it shows: "told" (already answered), "blank" or "answers"."""
    phone.wait_for_load_state()
    phone.wait_for_function("document.readyState === 'complete' && !document.querySelector('[data-sent]')")
    if phone.locator("h1", has_text="您已经提交过").count():
        return "told"
    return "answers" if phone.locator("#survey-form input:checked").count() else "blank"


def test_a_phone_that_answered_is_told_so_on_opening_the_link_again(site, phone):
    survey = site.surveys["public_safety"]
    _through_public_safety(phone, site, survey)
    phone.wait_for_url(f"**/s/{survey.token}/thanks")
    assert drafts(phone) == [], "the stored answers are no longer kept as a draft"

    phone.goto(site.url(f"/s/{survey.token}"))
    assert phone.locator("h1").inner_text() == "您已经提交过"
    assert "每台设备只能提交一次" in phone.locator(".message").inner_text()
    assert phone.locator("#survey-form").count() == 0, "no form to fill in for nothing"
    shot(phone, "public_safety-answered-on-opening")
    phone.go_back()  # the thanks page
    phone.go_back()  # the form as it was sent
    assert _shown_again_or_told(phone) == "told", "Back does not offer the sent answers as a draft"
    assert phone.locator("#draft-notice:visible").count() == 0 and drafts(phone) == []


def test_a_phone_told_only_on_submitting_loses_its_draft_and_is_told_on_the_next_visit(site, phone):
    """A device that answered before the page could know it (its mark lost): the server's refusal says so,
    the refused answers are not kept as a draft, and the next visit is told at once."""
    survey = site.surveys["three_rates"]
    url = site.url(f"/s/{survey.token}")
    answers = plan_answers(survey.definition)

    def answer_all() -> None:
        phone.goto(url)
        for section in survey.definition["sections"]:
            for question in section["questions"]:
                if phone.locator(f"#q-{question['key']}").is_visible():
                    fill_question(phone, question, answers)
            if phone.locator("#step-next").is_visible():
                phone.click("#step-next")
        phone.click("#submit")

    answer_all()
    phone.wait_for_url(f"**/s/{survey.token}/thanks")
    phone.context.clear_cookies(name="sv_answered")
    answer_all()
    phone.wait_for_load_state()
    assert phone.locator("h1").inner_text() == "您已经提交过"
    assert drafts(phone) == []
    shot(phone, "three_rates-answered-on-submitting")
    phone.go_back()
    assert _shown_again_or_told(phone) == "told"
    assert phone.locator("text=已恢复您在这台设备上次没有提交的回答").count() == 0
    phone.goto(url)
    assert phone.locator("h1").inner_text() == "您已经提交过"


def test_a_shared_tablet_starts_each_respondent_on_a_blank_form(site, phone):
    """Where many people answer on one device, neither reopening nor Back shows the previous answers."""
    survey = site.surveys["kiosk"]
    before = len(responses(site, survey))
    _through_public_safety(phone, site, survey)
    phone.wait_for_url(f"**/s/{survey.token}/thanks")
    phone.go_back()
    assert _shown_again_or_told(phone) == "blank", "the next person does not see the last one's answers"
    assert phone.locator("#draft-notice").is_hidden()
    _through_public_safety(phone, site, survey)
    phone.wait_for_url(f"**/s/{survey.token}/thanks")
    assert len(responses(site, survey)) == before + 2


def test_a_fourth_tick_of_at_most_three_is_refused_on_the_phone_with_a_message(site, phone):
    survey = site.surveys["public_safety"]
    _through_public_safety(phone, site, survey, submit=False)
    phone.click("#step-back")  # q5 is on the third step, the one before the last
    q5 = phone.locator("#q-q5")
    assert q5.is_visible()
    assert q5.locator(".choice-limit[role=status]").inner_text() == "", "the live line is there, empty, beforehand"
    for value in ("a", "b", "c"):
        q5.locator(f"label.option:has(input[value='{value}'])").click()
    q5.locator("label.option:has(input[value='d'])").click()
    assert not q5.locator("input[value='d']").is_checked(), "the fourth tick is taken back"
    assert q5.locator("input:checked").count() == 3
    message = q5.locator(".choice-limit")
    assert message.is_visible() and "最多只能选择 3 项" in message.inner_text()
    assert message.get_attribute("role") == "status", "a screen reader reads it out"
    assert message.get_attribute("id") in q5.locator("input[value='d']").get_attribute("aria-describedby")
    shot(phone, "public_safety-fourth-tick-refused")
    q5.locator("label.option:has(input[value='a'])").click()
    assert message.inner_text() == "", "unticking one clears the message"
    q5.locator("label.option:has(input[value='d'])").click()
    assert q5.locator("input[value='d']").is_checked()
    phone.click("#step-next")
    phone.click("#submit")
    phone.wait_for_url(f"**/s/{survey.token}/thanks")
    assert responses(site, survey)[-1]["q5"] == ["b", "c", "d"]


def test_the_phones_back_button_goes_to_the_previous_step(site, phone):
    survey = site.surveys["public_safety"]
    url = site.url(f"/s/{survey.token}")
    phone.goto(site.url("/healthz"))  # a page before the questionnaire, where Back would otherwise lead
    phone.goto(url)
    phone.locator("#q-q1 label.option:has(input[value='b'])").click()
    phone.locator("#q-q2 label.option:has(input[value='a'])").click()
    phone.click("#step-next")
    phone.locator("#q-q3 label.option:has(input[value='a'])").click()
    phone.locator("#q-q4 label.option:has(input[value='b'])").click()
    phone.click("#step-next")
    assert visible_ids(phone, ".survey-section") == ["sec-s3"]

    phone.go_back()
    assert phone.url == url and visible_ids(phone, ".survey-section") == ["sec-s2"]
    assert "第 2 步，共 4 步" in phone.locator("#progress-step").inner_text()
    phone.go_back()
    assert phone.url == url and visible_ids(phone, ".survey-section") == ["sec-s1"]
    assert phone.locator("#q-q1 input[value='b']").is_checked(), "answers are kept"
    shot(phone, "public_safety-back-button-step-1")
    phone.go_forward()
    assert visible_ids(phone, ".survey-section") == ["sec-s2"]
    phone.click("#step-back")  # the page's own 上一步 walks the same history
    assert visible_ids(phone, ".survey-section") == ["sec-s1"]
    phone.go_forward()
    assert visible_ids(phone, ".survey-section") == ["sec-s2"]
    phone.reload()  # a reload stays on the step, and Back still goes to the one before
    assert visible_ids(phone, ".survey-section") == ["sec-s2"]
    phone.go_back()
    assert phone.url == url and visible_ids(phone, ".survey-section") == ["sec-s1"]
    phone.go_back()
    assert "/healthz" in phone.url, "Back from the first step leaves the questionnaire"


def test_steps_in_a_frame_leave_the_pages_history_alone(site, phone):
    """The builder shows the phone page in a frame: its steps must not fill the evaluator's Back button."""
    survey = site.surveys["public_safety"]
    phone.goto(site.url("/healthz"))
    phone.evaluate(
        "url => new Promise(done => { const frame = document.createElement('iframe');"
        " frame.onload = done; frame.src = url; frame.width = 375; frame.height = 700;"
        " document.body.appendChild(frame); })",
        site.url(f"/s/{survey.token}"),
    )
    frame = phone.frame_locator("iframe")
    before = phone.evaluate("history.length")
    frame.locator("#q-q1 label.option:has(input[value='b'])").click()
    frame.locator("#q-q2 label.option:has(input[value='a'])").click()
    frame.locator("#step-next").click()
    assert frame.locator("#sec-s2").is_visible()
    assert phone.evaluate("history.length") == before


def test_skip_notes_and_the_other_box_show_only_when_they_apply(site, phone):
    survey = site.surveys["public_safety"]
    phone.goto(site.url(f"/s/{survey.token}"))
    q1w = phone.locator("#q-q1w")
    assert q1w.is_hidden() and phone.locator(".condition:visible").count() == 0
    phone.locator("#q-q1 label.option:has(input[value='d'])").click()
    assert q1w.is_visible(), "the follow-up opens"
    assert q1w.locator(".condition").is_hidden(), "with the logic at work, the note in words is not needed"
    other = q1w.locator(".other-box")
    assert other.is_hidden(), "no 其他 box until 其他 is chosen"
    q1w.locator("label.option:has(input[value='a'])").click()
    assert other.is_hidden()
    q1w.locator("label.option:has(input[value='f'])").click()
    assert other.is_visible()
    q1w.locator(".other-input").fill("夜里小区门口没有路灯")
    shot(phone, "public_safety-other-box")
    q1w.locator("label.option:has(input[value='f'])").click()
    assert other.is_hidden()
    q1w.locator("label.option:has(input[value='f'])").click()
    assert q1w.locator(".other-input").input_value() == "夜里小区门口没有路灯", "the text is kept meanwhile"
    phone.locator("#q-q2 label.option:has(input[value='a'])").click()
    phone.click("#step-next")
    phone.locator("#q-q3 label.option:has(input[value='a'])").click()
    phone.locator("#q-q4 label.option:has(input[value='b'])").click()
    phone.click("#step-next")
    phone.click("#step-next")
    phone.click("#submit")
    phone.wait_for_url(f"**/s/{survey.token}/thanks")
    stored = responses(site, survey)[-1]
    assert stored["q1w"] == ["a", "f"] and stored["q1w__other"] == "夜里小区门口没有路灯"


@pytest.mark.parametrize("template", LIBRARY)
def test_no_sideways_scroll_at_320px_with_large_text_and_big_tap_targets(site, browser, template):
    survey = site.surveys[template]
    context = browser.new_context(**{**WECHAT_PHONE, "viewport": {"width": 320, "height": 568}})
    try:
        page = context.new_page()
        page.goto(site.url(f"/s/{survey.token}"))
        for font in ("100%", "150%"):  # the phone's large-font setting scales the root size
            page.evaluate(f"document.documentElement.style.fontSize = '{font}'")
            if font == "150%":
                page.evaluate("document.querySelector('fieldset.question').scrollIntoView()")
                shot(page, f"{template}-320-large-text")
            for view in ("first step", "every section at once"):
                if view == "every section at once":
                    page.evaluate("document.getElementById('survey-form').classList.remove('stepped')")
                assert no_sideways_scroll(page), f"sideways scroll at 320px, font {font}, {view}"
                small = page.locator("label.option:visible, button:visible, summary:visible, .lang-nav a").evaluate_all(
                    "els => els.map(e => [e.textContent.trim(), e.getBoundingClientRect().height])"
                    f".filter(([text, height]) => height < {MIN_TAP})"
                )
                assert not small, f"tap targets under {MIN_TAP}px ({font}, {view}): {small}"
            page.reload()
    finally:
        context.close()
