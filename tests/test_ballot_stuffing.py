"""Ballot stuffing from one client, and the respondent's page while the database is cut (issue 22, items 6 and 13).

What got through: one served form posted any number of times under new submission ids, a made-up device
cookie on every post (a new "device" each time, past one-per-device and the per-device rate limit), and
a client-written ``started`` (never too fast, any duration). Now the start time is signed with the
submission id (``survey.respond.form_token``), so a served form stores one response and the time taken is the
server's; the device cookie is signed (``survey.platform.device``). While the database is out of reach, a
submission is shown again with its answers and a word that they are kept (``survey.respond.public_views``).
"""

from __future__ import annotations

import sqlite3
import time
import uuid

import psycopg
import pytest
from sqlalchemy import event

from app import create_app
from survey.models import Questionnaire, Response
from survey.platform import device
from survey.platform.extensions import db
from survey.respond import form_token
from tests.conftest import make_config
from tests.helpers import SEED_004_ANSWERS, hidden_value, make_project, published

SERVED = ("submission_id", "started")
REPLAYED = "这份表单已经提交过，或不是本页面生成的"
KEPT = "您填写的内容仍保留在本页"


@pytest.fixture
def questionnaire(evaluator) -> Questionnaire:
    """A published questionnaire that lets a device answer more than once: only the token stops a replay."""
    questionnaire = published(make_project(evaluator))
    questionnaire.one_per_device = False
    db.session.commit()
    return questionnaire


def served(client, questionnaire: Questionnaire) -> dict:
    """Open the form like a phone: its submission id and signed start."""
    page = client.get(f"/s/{questionnaire.public_token}").data.decode()
    return {name: hidden_value(page, name) for name in SERVED}


def submit(client, questionnaire: Questionnaire, fields: dict, **answers):
    return client.post(f"/s/{questionnaire.public_token}", data={**SEED_004_ANSWERS, **answers, **fields})


def responses() -> list[Response]:
    db.session.expire_all()
    return list(db.session.execute(db.select(Response).order_by(Response.id)).scalars())


def test_one_served_form_stores_one_response_whatever_submission_id_it_is_posted_with(app, questionnaire):
    phone = app.test_client()
    form = served(phone, questionnaire)
    assert submit(phone, questionnaire, form).status_code == 303
    replays = [submit(phone, questionnaire, {**form, "submission_id": uuid.uuid4().hex}) for _ in range(5)]
    assert {replay.status_code for replay in replays} == {400}
    page = replays[0].data.decode()
    assert REPLAYED in page and "您的回答都还在" in page
    assert 'value="丰泽公安分局"' in page  # the answers come back on the page
    fresh = hidden_value(page, "submission_id")
    assert fresh != form["submission_id"] and hidden_value(page, "started") != form["started"]
    assert len(responses()) == 1


def test_the_same_submission_sent_again_is_the_same_response(app, questionnaire):
    """A phone retrying after a timeout: thanked again, stored once, whichever answers the retry carries."""
    phone = app.test_client()
    form = served(phone, questionnaire)
    assert submit(phone, questionnaire, form).status_code == 303
    again = submit(phone, questionnaire, form, q2="c")
    assert again.status_code == 303 and again.headers["Location"].endswith("/thanks")
    (stored,) = responses()
    assert stored.submission_id == form["submission_id"] and stored.answers["q2"] == "a"


def test_a_start_the_client_wrote_is_too_fast_and_times_nothing(app, questionnaire):
    phone = app.test_client()
    for started in ("2000-01-01T00:00:00", "", None):
        fields = {"submission_id": uuid.uuid4().hex} | ({"started": started} if started is not None else {})
        assert submit(phone, questionnaire, fields).status_code == 303
    stored = responses()
    assert len(stored) == 3
    assert all("too_fast" in response.flags and response.duration_seconds is None for response in stored)


def test_the_signed_start_times_the_response(app, questionnaire):
    phone = app.test_client()
    submission_id = uuid.uuid4().hex
    ten_minutes_ago = form_token.issue_start(questionnaire.id, submission_id, now=time.time() - 600)
    fields = {"submission_id": submission_id, "started": ten_minutes_ago}
    assert submit(phone, questionnaire, fields).status_code == 303
    assert submit(phone, questionnaire, served(phone, questionnaire)).status_code == 303  # posted at once
    slow, quick = responses()
    assert 599 <= slow.duration_seconds <= 610 and "too_fast" not in slow.flags
    assert quick.duration_seconds < 30 and "too_fast" in quick.flags


def test_a_start_token_made_up_or_for_another_questionnaire_is_refused(app, evaluator, questionnaire):
    other = published(make_project(evaluator, "另一个项目"))
    phone = app.test_client()
    form = served(phone, other)
    assert submit(phone, questionnaire, form).status_code == 400  # signed for the other questionnaire
    issued, _dot, signature = form["started"].partition(".")
    forged = f"{int(issued) - 600}.{signature}"  # an earlier time under the same signature
    own = served(phone, questionnaire)
    assert submit(phone, questionnaire, {**own, "started": forged}).status_code == 400
    assert submit(phone, questionnaire, {**own, "started": f"{issued}.{'0' * len(signature)}"}).status_code == 400
    assert responses() == []


def test_a_submission_with_a_made_up_device_cookie_counts_as_without_one(app, evaluator):
    questionnaire = published(make_project(evaluator))
    phone = app.test_client()
    form = served(phone, questionnaire)  # the page gave this phone a signed device cookie
    assert device.is_signed(phone.get_cookie("sv_device").value)
    assert submit(phone, questionnaire, form).status_code == 303
    for _ in range(3):  # a new "device" on every post, past one response per device
        phone.set_cookie("sv_device", uuid.uuid4().hex)
        assert submit(phone, questionnaire, {"submission_id": uuid.uuid4().hex}).status_code == 303
    stored = responses()
    assert stored[0].device_hash is not None
    assert [response.device_hash for response in stored[1:]] == [None, None, None]  # no made-up device stored
    assert all("too_fast" in response.flags for response in stored[1:])  # and no served form: untimed


def test_the_page_signed_device_answers_once(app, evaluator):
    questionnaire = published(make_project(evaluator))
    phone = app.test_client()
    assert submit(phone, questionnaire, served(phone, questionnaire)).status_code == 303
    again = {"submission_id": uuid.uuid4().hex, "started": ""}  # skip the page, which says "answered" already
    assert submit(phone, questionnaire, again).status_code == 409
    assert len(responses()) == 1


def test_a_phone_that_answered_with_an_unsigned_cookie_of_an_earlier_release_is_still_told_so(app, evaluator):
    from flask import make_response

    from survey.respond import answered

    questionnaire = published(make_project(evaluator))
    legacy = "an-earlier-releases-cookie"  # random, unsigned: what phones were given before
    with app.test_request_context("/"):
        marked = answered.mark(make_response(""), questionnaire.id, legacy)
    mark = marked.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
    phone = app.test_client()
    phone.set_cookie("sv_device", legacy)
    phone.set_cookie(answered.COOKIE, mark)
    page = phone.get(f"/s/{questionnaire.public_token}")
    assert page.status_code == 409 and "您已经提交过" in page.data.decode()
    stranger = app.test_client()
    stranger.set_cookie("sv_device", "made-up")
    stranger.set_cookie(answered.COOKIE, mark)  # a copied mark is no good with another cookie
    assert stranger.get(f"/s/{questionnaire.public_token}").status_code == 200


def test_a_device_cookie_signed_with_a_previous_key_still_counts(app):
    with app.test_request_context("/"):
        cookie = device.new_token()
    app.config["SECRET_KEY_FALLBACKS"] = [app.secret_key]
    app.secret_key = app.config["SECRET_KEY"] = "a-new-key-after-rotation-" + "x" * 20
    with app.test_request_context("/", headers={"Cookie": f"sv_device={cookie}"}):
        assert device.token() == cookie
    with app.test_request_context("/", headers={"Cookie": "sv_device=made-up.0123456789abcdef0123456789abcdef"}):
        assert device.token() is None


LIMITS = {"RATELIMIT_ENABLED": True, "RATELIMIT_PER_DEVICE": "3 per minute", "RATELIMIT_PER_CLIENT": "600 per minute"}


@pytest.mark.parametrize("app_config", [LIMITS])
def test_a_new_made_up_device_per_post_does_not_escape_the_device_limit(app, questionnaire):
    phone = app.test_client()
    codes = []
    for _ in range(4):
        phone.set_cookie("sv_device", uuid.uuid4().hex)
        codes.append(submit(phone, questionnaire, {"submission_id": uuid.uuid4().hex}).status_code)
    assert codes == [303, 303, 303, 429]  # counted by the client's address, as one device


def test_a_served_form_is_used_once_on_any_app_server(app, database_url, questionnaire):
    """The used-token memory is the database's unique submission id: another server sees it at once."""
    other_server = create_app(make_config(database_url))
    try:
        phone, same_phone_elsewhere = app.test_client(), other_server.test_client()
        form = served(phone, questionnaire)
        assert submit(phone, questionnaire, form).status_code == 303
        assert submit(same_phone_elsewhere, questionnaire, form).status_code == 303  # a retry: thanked
        replay = submit(same_phone_elsewhere, questionnaire, {**form, "submission_id": uuid.uuid4().hex})
        assert replay.status_code == 400 and REPLAYED in replay.data.decode()
        assert len(responses()) == 1
    finally:
        with other_server.app_context():
            db.engine.dispose()


# --- while the database is cut -------------------------------------------------------------------------------


class DatabaseCut:
    """The database refusing every new connection, as after a cut: the pool is emptied and reconnects fail."""

    def __init__(self):
        self.engine = db.engine

    def refuse(self, dialect, record, cargs, cparams):
        if dialect.name == "postgresql":
            raise psycopg.OperationalError("connection to server failed: Connection refused")
        raise sqlite3.OperationalError("unable to open database file")

    def __enter__(self):
        db.session.close()  # its connection goes back to the pool, which is emptied
        self.engine.dispose()
        event.listen(self.engine, "do_connect", self.refuse)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "do_connect", self.refuse)
        self.engine.dispose()


def test_a_submission_during_a_cut_is_shown_again_with_its_answers_kept(app, questionnaire):
    phone = app.test_client()
    form = served(phone, questionnaire)  # this server has read the link and its questions before the cut
    with DatabaseCut():
        refused = submit(phone, questionnaire, form)
    assert refused.status_code == 503 and int(refused.headers["Retry-After"]) > 0
    page = refused.data.decode()
    assert KEPT in page and "没有保存" in page and "稍后再点" in page
    assert 'value="丰泽公安分局"' in page and 'value="希望扩大覆盖"' in page  # the answers, kept
    assert {name: hidden_value(page, name) for name in SERVED} == form  # sent again later, stored once
    assert responses() == []
    assert submit(phone, questionnaire, form).status_code == 303
    assert submit(phone, questionnaire, form).status_code == 303
    assert len(responses()) == 1


def test_a_cut_while_storing_shows_the_answers_again(app, questionnaire, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def cut(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))

    phone = app.test_client()
    form = served(phone, questionnaire)
    monkeypatch.setattr("survey.respond.public_views.submit_response", cut)
    refused = submit(phone, questionnaire, form)
    assert refused.status_code == 503 and KEPT in refused.data.decode()
    assert 'value="丰泽公安分局"' in refused.data.decode()


def test_a_cut_before_the_link_was_ever_read_says_where_the_answers_are(app):
    with DatabaseCut():
        opened = app.test_client().get("/s/no-such-link-read-before")
        posted_elsewhere = app.test_client().post("/s/no-such-link-read-before", data=SEED_004_ANSWERS)
    assert opened.status_code == 503 and "不会丢失" in opened.data.decode()
    page = posted_elsewhere.data.decode()
    assert posted_elsewhere.status_code == 503 and "仍保留在上一页" in page and "返回" in page


# --- in a real browser: a phone whose submission was stored but whose answer never came back -----------------


def test_a_phone_that_lost_the_answer_to_its_submission_sends_it_again_and_it_is_stored_once(tmp_path, browser):
    """The server stores the submission, the connection drops before the phone hears back; reopening the link
    restores the draft with the first form's submission id and start token, so sending it again is thanked
    and not stored a second time (a new submission id would store it twice, the signed start alone would be
    refused)."""
    from survey.accounts.users import create_user
    from survey.questionnaires import publishing
    from tests.browser_support import PHONE, live_server, migrated_app

    app = migrated_app(tmp_path)
    with app.app_context():
        owner = create_user("alice", "alice-password-1", "Alice")
        questionnaire = publishing.create_questionnaire(
            publishing.create_project(owner, name="雪亮工程"), "public_safety"
        )
        questionnaire.one_per_device = False  # else the lost answer's "answered" mark would reach the phone anyway
        publishing.publish(questionnaire)
        token = questionnaire.public_token

    def stored() -> list[tuple[str, dict]]:
        with app.app_context():
            rows = db.session.execute(db.select(Response.submission_id, Response.answers)).all()
            db.session.remove()
            return [tuple(row) for row in rows]

    with live_server(app) as base:
        context = browser.new_context(**PHONE)
        context.set_default_timeout(15_000)
        phone = context.new_page()
        try:
            phone.goto(f"{base}/s/{token}")
            served_id = phone.locator("input[name=submission_id]").input_value()
            phone.locator("#q-q1 label.option:has(input[value='b'])").click()
            phone.locator("#q-q2 label.option:has(input[value='a'])").click()
            phone.click("#step-next")
            phone.locator("#q-q3 label.option:has(input[value='a'])").click()
            phone.locator("#q-q4 label.option:has(input[value='b'])").click()
            while phone.locator("#step-next").is_visible():
                phone.click("#step-next")

            def stored_then_lost(route):
                route.fetch(max_redirects=0)  # the server stores it ...
                route.abort("connectionreset")  # ... and the phone never hears back

            phone.route(
                f"**/s/{token}",
                lambda route: stored_then_lost(route) if route.request.method == "POST" else route.continue_(),
            )
            phone.click("#submit")
            phone.wait_for_timeout(500)
            assert [submission for submission, _answers in stored()] == [served_id]
            phone.unroute(f"**/s/{token}")

            phone.goto(f"{base}/s/{token}")  # the respondent opens the link again
            assert phone.locator("#draft-notice").is_visible()
            assert phone.locator("input[name=submission_id]").input_value() == served_id
            while phone.locator("#step-next").is_visible():
                phone.click("#step-next")
            phone.click("#submit")
            phone.wait_for_url(f"**/s/{token}/thanks")
        finally:
            context.close()
    assert stored() == [(served_id, {"q1": "b", "q2": "a", "q3": "a", "q4": "b"})]
