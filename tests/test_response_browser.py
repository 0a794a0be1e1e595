"""The response browser: list, filter, page and open responses by their number; correct or void a keyed-in entry
(kept, audited); exclude by rule after an exact preview; roles (viewers read, 403 on changes; outsiders 404)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from survey.accounts.access import add_member
from survey.accounts.users import create_user
from survey.audit.trail import verify_chain
from survey.models import AuditEvent, Channel, Questionnaire, Response, ResponseRevision, ReviewEvent, utcnow
from survey.platform.extensions import db
from survey.respond.submit import store_response
from survey.responses.capture import enter_response
from survey.results.reporting import questionnaire_results, response_counts
from tests.conftest import login
from tests.helpers import SEED_004_ANSWERS, make_project, published


@pytest.fixture
def seed(evaluator):
    return published(make_project(evaluator))


def base(seed) -> str:
    return f"/desk/questionnaires/{seed.id}/responses"


def numbers_on(page: str) -> list[int]:
    return [int(n) for n in re.findall(r"第 (\d+) 号</a>", page)]


def keyed_in(seed, **changes) -> Response:
    response, _created = enter_response(seed, {**SEED_004_ANSWERS, **changes}, f"paper-{utcnow().timestamp()}",
                                        channel="paper")  # fmt: skip
    return response


def test_list_shows_numbers_newest_first_and_pages(app, logged_in, seed):
    for index in range(53):
        store_response(seed, SEED_004_ANSWERS, f"list-{index}")
    first = logged_in.get(base(seed)).data.decode()
    assert "共 53 份答卷" in first and numbers_on(first) == list(range(53, 3, -1))
    second = logged_in.get(base(seed) + "?page=2").data.decode()
    assert numbers_on(second) == [3, 2, 1]
    assert logged_in.get(base(seed) + "?page=99").status_code == 200  # past the end: the last page
    jump = logged_in.get(base(seed) + "?number=17")
    assert jump.status_code == 302 and jump.location.endswith("/responses/17")
    missing = logged_in.get(base(seed) + "?number=999", follow_redirects=True).data.decode()
    assert "没有第 999 号答卷" in missing


def test_filters_by_channel_mode_flag_status_unit_and_date(app, logged_in, seed):
    channel = Channel(questionnaire=seed, code="c1", name="东海街道")
    db.session.add(channel)
    db.session.commit()
    store_response(seed, SEED_004_ANSWERS, "web-1")
    store_response(seed, SEED_004_ANSWERS, "fast-1", flags=["too_fast"])
    store_response(seed, SEED_004_ANSWERS, "c1-1", channel="c1")
    paper = keyed_in(seed)
    old = store_response(seed, SEED_004_ANSWERS, "old-1")[0]
    old.submitted_at = utcnow() - timedelta(days=40)
    old.status = "excluded"
    db.session.commit()

    def listed(query: str) -> list[int]:
        return sorted(numbers_on(logged_in.get(base(seed) + query).data.decode()))

    assert listed("?channel=c1") == [3]
    assert listed("?mode=paper") == [paper.number]
    assert listed("?flag=too_fast") == [2]
    assert listed("?status=excluded") == [5]
    assert listed("?status=valid") == [1, 2, 3, 4]
    recent = (utcnow() - timedelta(days=2)).date().isoformat()
    assert listed(f"?date_from={recent}") == [1, 2, 3, 4]
    assert listed(f"?date_to={(utcnow() - timedelta(days=30)).date().isoformat()}") == [5]
    assert listed("?channel=nonsense&flag=made_up") == [1, 2, 3, 4, 5]  # unknown values are ignored, not a 500
    page = logged_in.get(base(seed) + "?channel=c1").data.decode()
    assert "东海街道" in page and "共 1 份答卷" in page


def test_detail_shows_every_answer_in_words_with_the_other_text(app, logged_in, seed):
    response, _ = store_response(seed, SEED_004_ANSWERS, "detail-1")
    page = logged_in.get(f"{base(seed)}/{response.number}").data.decode()
    assert "第 1 号答卷" in page
    assert "希望扩大覆盖" in page  # 其他 text
    assert "丰泽公安分局" in page  # a text answer
    assert logged_in.get(f"{base(seed)}/99").status_code == 404


def test_correcting_a_paper_entry_keeps_the_old_answers_and_audits(app, logged_in, seed):
    entry = keyed_in(seed)
    url = f"{base(seed)}/{entry.number}/correct"
    form = logged_in.get(url).data.decode()
    assert 'name="p_q2" value="1"' in form  # the typed codes of the stored answers
    typed = {f"p_{k}": v for k, v in re.findall(r'name="p_([^"]+)" value="([^"]*)"', form)}
    typed["p_q2"] = "2"
    refused = logged_in.post(url, data={**typed, "channel": "paper", "reason": ""})
    assert refused.status_code == 422
    done = logged_in.post(url, data={**typed, "channel": "paper", "reason": "核对原件，第2题录错"})
    assert done.status_code == 302
    db.session.refresh(entry)
    assert entry.answers["q2"] == "b" and entry.status == "valid"
    revision = db.session.execute(db.select(ResponseRevision)).scalar_one()
    assert revision.answers_before["q2"] == "a" and revision.answers_after["q2"] == "b"
    assert revision.reason == "核对原件，第2题录错"
    event = db.session.execute(db.select(AuditEvent).filter_by(action="response.correct")).scalar_one()
    assert event.detail["number"] == entry.number and event.detail["changed"] == ["q2"]
    assert event.detail["answers_before"]["q2"] == "a"
    assert verify_chain().intact
    page = logged_in.get(f"{base(seed)}/{entry.number}").data.decode()
    assert "核对原件，第2题录错" in page and "更正前的回答" in page


def test_web_responses_cannot_be_corrected_or_voided(app, logged_in, seed):
    response, _ = store_response(seed, SEED_004_ANSWERS, "web-only")
    assert logged_in.get(f"{base(seed)}/{response.number}/correct").status_code == 302
    logged_in.post(f"{base(seed)}/{response.number}/void", data={"reason": "试图作废"})
    db.session.refresh(response)
    assert response.status == "valid"


def test_voiding_takes_an_entry_out_of_every_count_and_keeps_it(app, logged_in, seed):
    store_response(seed, SEED_004_ANSWERS, "web-kept")
    entry = keyed_in(seed)
    paper = db.session.execute(db.select(Channel).filter_by(code="paper")).scalar_one_or_none()
    url = f"{base(seed)}/{entry.number}"
    assert logged_in.post(url + "/void", data={"reason": ""}).status_code == 302
    db.session.refresh(entry)
    assert entry.status == "valid"  # no reason, no change
    assert logged_in.post(url + "/void", data={"reason": "同一份问卷录了两次"}).status_code == 302
    db.session.refresh(entry)
    seed = db.session.get(Questionnaire, seed.id)
    db.session.refresh(seed)
    assert entry.status == "voided" and entry.answers == SEED_004_ANSWERS
    assert seed.accepted_count == 1 and (paper is None or paper.accepted_count == 0)
    assert response_counts(seed)["total"] == 1
    results = questionnaire_results(seed)
    assert (results.returned, results.valid, results.excluded) == (1, 1, 0)  # not a returned questionnaire
    export = logged_in.get(f"/desk/questionnaires/{seed.id}/responses.csv").data.decode("utf-8-sig")
    assert len(export.strip().splitlines()) == 2  # the header and the web response only
    assert db.session.execute(db.select(AuditEvent).filter_by(action="response.void")).scalar_one()
    decide = f"/desk/questionnaires/{seed.id}/responses/{entry.id}/exclude"
    assert logged_in.post(decide, data={"reason": "x", "back": "detail"}).status_code == 302
    db.session.refresh(entry)
    assert entry.status == "voided"  # excluding a voided entry is refused
    assert logged_in.post(url + "/unvoid", data={"reason": "作废错了"}).status_code == 302
    db.session.refresh(entry)
    db.session.refresh(seed)
    assert entry.status == "valid" and seed.accepted_count == 2
    actions = list(db.session.execute(db.select(ReviewEvent.action).order_by(ReviewEvent.id)).scalars())
    assert actions == ["void", "unvoid"]


def test_exclude_by_rule_previews_exactly_and_confirms(app, logged_in, seed):
    for index in range(3):
        store_response(seed, SEED_004_ANSWERS, f"fast-{index}", flags=["too_fast"])
    store_response(seed, SEED_004_ANSWERS, "slow")
    preview = logged_in.get(f"{base(seed)}/exclude?rule=flag:too_fast").data.decode()
    assert "将排除 3 份有效答卷" in preview and sorted(numbers_on(preview)) == [1, 2, 3]
    fields = dict(re.findall(r'name="(rule|upto|digest)" type="hidden" value="([^"]*)"', preview))
    if len(fields) < 3:
        fields = dict(re.findall(r'id="(rule|upto|digest)" name="[^"]+" type="hidden" value="([^"]*)"', preview))
    assert set(fields) == {"rule", "upto", "digest"}
    store_response(seed, SEED_004_ANSWERS, "fast-late", flags=["too_fast"])  # arrives after the preview
    done = logged_in.post(f"{base(seed)}/exclude", data={**fields, "reason": "用时过短"})
    assert done.status_code == 302
    statuses = dict(db.session.execute(db.select(Response.number, Response.status)).all())
    assert statuses == {1: "excluded", 2: "excluded", 3: "excluded", 4: "valid", 5: "valid"}
    event = db.session.execute(db.select(AuditEvent).filter_by(action="responses.exclude_by_rule")).scalar_one()
    assert event.detail["numbers"] == [1, 2, 3] and event.detail["count"] == 3
    log = logged_in.get(f"/desk/projects/{seed.project_id}/audit").data.decode()
    assert "按规则排除 3 份答卷" in log
    # confirming the same preview again changes nothing: its matches are gone
    again = logged_in.post(f"{base(seed)}/exclude", data={**fields, "reason": "用时过短"})
    assert again.status_code == 302 and "rule=" in again.location
    assert db.session.execute(db.select(db.func.count(ReviewEvent.id))).scalar() == 3


def test_roles_viewers_browse_but_change_nothing_and_outsiders_see_nothing(app, client, seed, evaluator):
    entry = keyed_in(seed)
    viewer = create_user("vera", "vera-password-1", "Vera")
    add_member(seed.project, viewer, "viewer")
    create_user("mallory", "mallory-password-1", "Mallory")
    url = base(seed)
    login(client, "vera", "vera-password-1")
    assert client.get(url).status_code == 200
    assert client.get(f"{url}/{entry.number}").status_code == 200
    assert client.get(f"{url}/exclude?rule=flag:too_fast").status_code == 200
    assert client.get(f"{url}/{entry.number}/correct").status_code == 403
    for path in ("/void", "/unvoid", "/correct"):
        assert client.post(f"{url}/{entry.number}{path}", data={"reason": "x"}).status_code == 403, path
    assert client.post(f"{url}/{entry.id}/exclude", data={"reason": "x"}).status_code == 403
    assert client.post(f"{url}/exclude", data={"reason": "x"}).status_code == 403
    client.post("/logout")
    login(client, "mallory", "mallory-password-1")
    for path in ("", f"/{entry.number}", f"/{entry.number}/correct", "/exclude"):
        assert client.get(url + path).status_code == 404, path
    assert client.post(f"{url}/{entry.number}/void", data={"reason": "x"}).status_code == 404


def test_deleting_a_voided_entry_does_not_uncount_it_twice(app, evaluator, seed):
    from survey.collection import review
    from survey.privacy import retention as privacy

    store_response(seed, SEED_004_ANSWERS, "web-a")
    entry = keyed_in(seed)
    review.void(entry, evaluator, "录重了")
    privacy.delete_responses(seed, Response.status == "voided")
    db.session.commit()
    questionnaire = db.session.get(Questionnaire, seed.id)
    db.session.refresh(questionnaire)
    assert questionnaire.accepted_count == 1
    assert db.session.execute(db.select(db.func.count(ResponseRevision.id))).scalar() == 0  # gone with it


def test_flag_evidence_and_answer_rows_put_every_answer_in_words(app):
    """Unit level, on every question type: each flag's evidence and the detail page's rows."""
    from survey.collection.review import flag_evidence
    from survey.questionnaires.definition import normalize_definition
    from survey.responses.browser import answer_rows
    from tests.helpers import ALL_TYPES

    definition = normalize_definition(ALL_TYPES)
    answers = {"safe": "a", "grid.att": "b", "grid.eff": "b", "chk": "a", "why": ["a", "z"], "why__other": "噪音",
               "name": "张三"}  # fmt: skip
    flags = ["too_fast", "straight_lining", "attention_failed", "duplicate_device"]
    response = Response(answers=answers, flags=flags, duration_seconds=9, device_hash=None)
    evidence = {e.flag: e for e in flag_evidence(response, definition, 30)}
    assert "9" in evidence["too_fast"].note and "30" in evidence["too_fast"].note
    assert [words for _n, _t, words in evidence["straight_lining"].answers] == ["安全", "满意", "满意"]
    assert [number for number, _t, _w in evidence["straight_lining"].answers][1:] == ["6.1", "6.2"]
    (attention,) = evidence["attention_failed"].answers
    assert "很满意" in attention[2] and "满意" in attention[2]
    assert "—" in evidence["duplicate_device"].note
    rows = {row.key: row for row in answer_rows(definition, answers)}
    assert rows["why"].answer == "盗窃、其他" and rows["why"].other == "噪音"
    assert rows["grid.att"].number == "6.1" and rows["grid.att"].answer == "满意"
    assert rows["name"].answer == "张三" and not rows["idea"].answered


def test_a_repeated_device_is_shown_with_the_numbers_of_its_other_responses(app, seed):
    from survey.collection.review import flag_evidence

    seed.one_per_device = False
    db.session.commit()
    with app.test_request_context():
        store_response(seed, SEED_004_ANSWERS, "device-first", device_token="phone-1")
        second, _ = store_response(seed, SEED_004_ANSWERS, "device-second", device_token="phone-1")
    assert second.flags == ["duplicate_device"]
    (evidence,) = flag_evidence(second, seed.current_version.definition, seed.min_seconds)
    assert "第 1 号" in evidence.note and "第 2 号" not in evidence.note
