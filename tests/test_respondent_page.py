"""The respondent page as the server renders it: privacy notice, language switch, hooks for the page
script (draft key, steps), accessible errors, and its weight on a slow network.

The behaviour in a browser is in ``tests/test_browser_respondent.py`` and ``tests/test_a11y.py``.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest

from survey.platform.extensions import db
from tests.helpers import SEED_004_ANSWERS, make_project, published

LIBRARY = sorted(
    path.stem
    for path in (Path(__file__).resolve().parent.parent / "survey" / "questionnaires" / "library").glob("*.json")
)
PAGE_BUDGET = 60 * 1024  # bytes of HTML + CSS + JS, gzip-compressed, for a phone on a slow network


def page(client, questionnaire, query: str = "") -> str:
    response = client.get(f"/s/{questionnaire.public_token}{query}")
    assert response.status_code == 200
    return response.data.decode()


def test_privacy_notice_says_a_device_cookie_is_used_and_no_ip_address_is_stored(client, evaluator):
    questionnaire = published(make_project(evaluator))
    html = page(client, questionnaire)
    assert "设备标识（Cookie）" in html and "不保存您的 IP 地址" in html
    assert "完全匿名" not in html
    assert "加密、无法还原的摘要" not in html, "no IP hash is kept without an IP limit, so none is mentioned"
    questionnaire.ip_limit = 5
    db.session.commit()
    assert "加密、无法还原的摘要" in page(client, questionnaire)


def test_privacy_notice_of_an_anonymous_questionnaire_says_nothing_identifying_is_collected(client, evaluator):
    questionnaire = published(make_project(evaluator))
    questionnaire.anonymous = True
    db.session.commit()
    html = page(client, questionnaire)
    assert "本问卷完全匿名" in html and "不设置设备标识 Cookie" in html
    assert "会在您的手机上保存一个随机的设备标识" not in html


def test_language_switch_offers_both_languages_and_marks_the_current_one(client, evaluator):
    questionnaire = published(make_project(evaluator))
    chinese = page(client, questionnaire)
    assert re.search(r'<a href="\?lang=zh_Hans_CN"[^>]*aria-current="true"[^>]*>中文</a>', chinese)
    assert re.search(r'<a href="\?lang=en" lang="en" hreflang="en">English</a>', chinese)
    english = page(client, questionnaire, "?lang=en")
    assert '<html lang="en">' in english
    assert re.search(r'<a href="\?lang=en"[^>]*aria-current="true"[^>]*>English</a>', english)


def test_language_switch_is_hidden_when_answers_are_shown_back_with_errors(client, evaluator):
    """Without JavaScript, following the switch (a new GET) would lose the answers on the page."""
    questionnaire = published(make_project(evaluator))
    page(client, questionnaire)
    refused = client.post(f"/s/{questionnaire.public_token}", data={**SEED_004_ANSWERS, "q2": ""})
    assert refused.status_code == 422
    assert "lang-nav" not in refused.data.decode()


def test_form_carries_the_draft_key_and_restores_a_draft_only_on_a_fresh_page(client, evaluator):
    questionnaire = published(make_project(evaluator))
    fresh = page(client, questionnaire)
    key = f"{questionnaire.public_token}:{questionnaire.current_version.number}"
    assert f'data-draft="{key}" data-restore="yes"' in fresh
    data = {**SEED_004_ANSWERS, "q2": ""}
    refused = client.post(f"/s/{questionnaire.public_token}", data=data)
    assert refused.status_code == 422
    assert f'data-draft="{key}" data-restore="no"' in refused.data.decode(), "the posted answers win over a draft"


def test_thanks_page_clears_the_draft_without_inline_script(client, evaluator):
    questionnaire = published(make_project(evaluator))
    html = client.get(f"/s/{questionnaire.public_token}/thanks").data.decode()
    assert f'data-clear-draft="{questionnaire.public_token}"' in html
    assert re.search(r'<script src="/static/js/respond\.js\?v=[0-9a-f]{12}" defer></script>', html)
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "the CSP forbids inline scripts"


def test_server_errors_are_tied_to_their_question(client, evaluator):
    questionnaire = published(make_project(evaluator))
    data = {**SEED_004_ANSWERS, "q2": "", "q1a": ""}
    html = client.post(f"/s/{questionnaire.public_token}", data=data).data.decode()
    fieldset = re.search(r'<fieldset class="question has-error" id="q-q2"[^>]*>', html).group(0)
    assert 'aria-describedby="err-q2"' in fieldset
    assert re.search(r'<div class="errors" id="err-q2"><p class="error">这是必答题，请作答。</p></div>', html)
    assert re.search(r'<input aria-invalid="true" id="q2-0"', html), "each option of the group is marked invalid"
    text_box = re.search(r'<input[^>]*name="q1a"[^>]*>', html).group(0)
    assert 'aria-labelledby="lg-q1a"' in text_box and 'aria-describedby="err-q1a"' in text_box
    assert 'aria-invalid="true"' in text_box
    assert '<legend id="lg-q1a">' in html


def test_steps_and_progress_are_rendered_hidden_for_the_script(client, evaluator):
    """Without JavaScript none of this shows: the page is one long form with a submit button."""
    questionnaire = published(make_project(evaluator), "three_rates")
    html = page(client, questionnaire)
    assert '<div class="progress" id="progress" hidden>' in html
    assert re.search(r'<button type="button" class="step-back" id="step-back" hidden>', html)
    assert re.search(r'<button type="button" class="primary step-next" id="step-next" hidden>', html)
    assert re.search(r'<button type="submit" class="submit primary" id="submit"(?![^>]*hidden)', html)
    assert html.count('class="survey-section"') == 5
    assert 'data-text="第 {step} 步，共 {total} 步"' in html


@pytest.mark.parametrize("template", LIBRARY)
def test_page_is_light_and_never_blocks_on_a_script(client, evaluator, template):
    """Everything the page loads, gzip-compressed, within the budget; scripts deferred, nothing from elsewhere."""
    questionnaire = published(make_project(evaluator), template)
    html = page(client, questionnaire)
    assets = re.findall(r'<(?:link rel="stylesheet" href|script src)="([^"]+)"', html)
    assert {Path(a.partition("?")[0]).name for a in assets} == {"app.css", "respond.css", "respond.js"}, assets
    assert all(a.startswith("/static/") for a in assets), "nothing from another site"
    assert all(tag.endswith(" defer></script>") for tag in re.findall(r"<script[^>]*></script>", html))
    total = len(gzip.compress(html.encode()))
    for asset in assets:
        with client.get(asset) as response:
            body = response.data
        assert body, asset
        total += len(gzip.compress(body))
    assert total <= PAGE_BUDGET, f"{template}: {total} bytes gzip-compressed"


def test_page_script_uses_nothing_an_old_wechat_browser_lacks():
    """WeChat's in-app browser on older phones: no modules, no ES2020 syntax, storage access guarded."""
    script = (Path(__file__).resolve().parent.parent / "static" / "js" / "respond.js").read_text(encoding="utf-8")
    code = re.sub(r"//[^\n]*", "", script)  # comments may say anything
    assert not re.search(r"^\s*(import|export)\b", code, re.MULTILINE), "no ES modules"
    assert "?." not in code and "??" not in code, "no optional chaining or nullish coalescing"
    assert not re.search(r"\b(let|const|class)\s", code) and "=>" not in code, "plain functions and var only"
    assert "window.localStorage" in code and re.search(r"try \{\s*var store = window\.localStorage", code)


# --- a device that answered, told on opening the link (survey.respond.answered) ------------------------------------


def _statements(app, request) -> list[str]:
    """The SQL statements one request sends through the app's engine."""
    from sqlalchemy import event

    sent: list[str] = []

    def note(_connection, _cursor, statement, *_args) -> None:
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        request()
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    return sent


def test_a_device_that_answered_is_told_on_opening_without_a_query_more(app, client, evaluator):
    questionnaire = published(make_project(evaluator))
    url = f"/s/{questionnaire.public_token}"
    client.get(url)  # the version's definition is read once, on the first page view
    before = _statements(app, lambda: client.get(url))
    stored = client.post(url, data=SEED_004_ANSWERS)
    assert stored.status_code == 303 and "sv_answered=" in stored.headers["Set-Cookie"]
    holder = {}
    after = _statements(app, lambda: holder.update(page=client.get(url)))
    told = holder["page"]
    html = told.data.decode()
    assert told.status_code == 409 and "您已经提交过" in html and "每台设备只能提交一次" in html
    assert "<form" not in html, "no form to fill in for nothing"
    assert f'data-clear-draft="{questionnaire.public_token}"' in html, "the device's draft goes too"
    assert len(after) == len(before) == 1, "the link lookup only: the cookie answers the rest"
    assert "EXISTS" not in after[0].upper()


def test_the_mark_counts_for_its_own_device_and_questionnaire_only(client, evaluator):
    project = make_project(evaluator)
    first, second = published(project), published(project)
    client.get(f"/s/{first.public_token}")
    assert client.post(f"/s/{first.public_token}", data=SEED_004_ANSWERS).status_code == 303
    assert "您已经提交过" in client.get(f"/s/{first.public_token}").data.decode()
    assert "您已经提交过" not in page(client, second), "another questionnaire is not marked"
    mark = client.get_cookie("sv_answered").value
    qid, _, signature = mark.partition("-")
    client.set_cookie("sv_answered", f"{second.id}-{signature}")  # a mark copied to another questionnaire
    assert "您已经提交过" not in page(client, second)
    client.set_cookie("sv_answered", mark)
    client.set_cookie("sv_device", "another-device")  # the mark is bound to the device that answered
    assert "您已经提交过" not in page(client, first)


def test_marks_of_several_questionnaires_are_kept_together(client, evaluator):
    project = make_project(evaluator)
    surveys = [published(project) for _ in range(3)]
    client.get(f"/s/{surveys[0].public_token}")
    for questionnaire in surveys:
        assert client.post(f"/s/{questionnaire.public_token}", data=SEED_004_ANSWERS).status_code == 303
    for questionnaire in surveys:
        assert "您已经提交过" in client.get(f"/s/{questionnaire.public_token}").data.decode()


def test_a_refusal_for_answering_twice_marks_the_device_and_clears_its_draft(client, evaluator):
    """A device that answered before its mark (or lost it) hears it on submitting, and then on opening."""
    questionnaire = published(make_project(evaluator))
    url = f"/s/{questionnaire.public_token}"
    client.get(url)
    assert client.post(url, data=SEED_004_ANSWERS).status_code == 303
    client.delete_cookie("sv_answered")
    assert "您已经提交过" not in page(client, questionnaire)
    again = client.post(url, data={**SEED_004_ANSWERS, "submission_id": "second-try-0000001"})
    html = again.data.decode()
    assert again.status_code == 409 and "您已经提交过" in html
    assert f'data-clear-draft="{questionnaire.public_token}"' in html
    assert "sv_answered=" in again.headers["Set-Cookie"]
    assert "您已经提交过" in client.get(url).data.decode()


def test_no_mark_where_a_device_may_answer_again_or_is_not_identified(client, evaluator):
    kiosk = published(make_project(evaluator))
    kiosk.one_per_device = False
    db.session.commit()
    client.get(f"/s/{kiosk.public_token}")
    assert client.post(f"/s/{kiosk.public_token}", data=SEED_004_ANSWERS).status_code == 303
    assert 'id="survey-form"' in page(client, kiosk), "a shared tablet serves the next person a form"
    anonymous = published(make_project(evaluator))
    anonymous.anonymous = True
    db.session.commit()
    stored = client.post(f"/s/{anonymous.public_token}", data=SEED_004_ANSWERS)
    assert stored.status_code == 303 and "sv_answered" not in stored.headers.get("Set-Cookie", "")
    assert 'id="survey-form"' in page(client, anonymous)


def test_a_maximum_of_ticks_and_the_other_box_are_marked_for_the_script(client, evaluator):
    questionnaire = published(make_project(evaluator), "public_safety")
    html = page(client, questionnaire)
    q5 = re.search(r'<fieldset class="question" id="q-q5"[^>]*>', html).group(0)
    assert 'data-max-choices="3"' in q5 and 'data-max-message="最多只能选择 3 项。' in q5
    assert re.search(r'<div class="other-box" data-other-options="g">\s*<label class="other" for="q5__other">', html)
    assert re.search(r'<fieldset class="question" id="q-q1"[^>]*>', html).group(0).find("data-max") < 0
    assert 'autocomplete="off"' in re.search(r"<form[^>]*>", html).group(0), "Back never refills a sent form"
