"""Collection in the field: channels, unit codes, schedule, quotas (also under concurrency),
one response per person, paper entry, quality flags and the review of flagged responses."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import zxingcpp
from PIL import Image

from survey.models import Channel, Response, ReviewEvent, UnitCode, utcnow
from survey.platform.extensions import db
from survey.results.reporting import questionnaire_results
from tests.helpers import SEED_004_ANSWERS, hidden_value, make_project, published


@pytest.fixture
def seed(evaluator):
    return published(make_project(evaluator))


def count(**filters) -> int:
    query = db.select(db.func.count(Response.id)).filter_by(**filters)
    return db.session.execute(query).scalar()


def post(client, path, sid, **changes):
    return client.post(path, data={**SEED_004_ANSWERS, **changes, "submission_id": sid})


def test_channel_has_its_own_link_qr_and_results(app, logged_in, seed):
    response = logged_in.post(f"/desk/questionnaires/{seed.id}/channels", data={"name": "东海街道社区", "target": "50"})
    assert response.status_code == 302
    channel = db.session.execute(db.select(Channel)).scalar_one()
    assert channel.code == "c1" and channel.target == 50
    page = logged_in.get(f"/desk/questionnaires/{seed.id}/channels").data.decode()
    assert f"/s/{channel.token}" in page
    png = logged_in.get(f"/desk/questionnaires/{seed.id}/channels/{channel.id}/qr.png").data
    assert [c.text for c in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))] == [
        f"http://localhost/s/{channel.token}"
    ]
    phone = app.test_client()
    assert "采集点：东海街道社区" in phone.get(f"/s/{channel.token}").data.decode()
    assert post(phone, f"/s/{channel.token}", "a").status_code == 303
    assert post(app.test_client(), f"/s/{seed.public_token}", "b").status_code == 303
    assert count(channel="c1") == 1 and count(channel="web") == 1
    db.session.refresh(channel)
    assert channel.accepted_count == 1
    results = logged_in.get(f"/desk/questionnaires/{seed.id}/results").data.decode()
    assert "按“渠道”分组" in results and "东海街道社区" in results
    export = logged_in.get(f"/desk/questionnaires/{seed.id}/responses.csv").data.decode("utf-8-sig")
    assert "东海街道社区" in export and "网络（扫码/链接）" in export


def test_channel_with_answers_cannot_be_deleted(app, logged_in, seed):
    logged_in.post(f"/desk/questionnaires/{seed.id}/channels", data={"name": "派出所"})
    channel = db.session.execute(db.select(Channel)).scalar_one()
    post(app.test_client(), f"/s/{channel.token}", "a")
    logged_in.post(f"/desk/questionnaires/{seed.id}/channels/{channel.id}/delete")
    assert db.session.get(Channel, channel.id) is not None


def test_questionnaire_quota_closes_collection(app, seed):
    seed.quota = 2
    db.session.commit()
    for sid in ("a", "b"):
        assert post(app.test_client(), f"/s/{seed.public_token}", sid).status_code == 303
    refused = post(app.test_client(), f"/s/{seed.public_token}", "c")
    assert refused.status_code == 410 and "收满" in refused.data.decode()
    assert app.test_client().get(f"/s/{seed.public_token}").status_code == 410
    assert count() == 2


def test_channel_quota(app, seed):
    channel = Channel(questionnaire=seed, code="c1", name="服务大厅", quota=1)
    db.session.add(channel)
    db.session.commit()
    assert post(app.test_client(), f"/s/{channel.token}", "a").status_code == 303
    assert post(app.test_client(), f"/s/{channel.token}", "b").status_code == 410
    assert post(app.test_client(), f"/s/{seed.public_token}", "c").status_code == 303  # the main link still works


def test_quota_holds_under_concurrent_submissions(app, seed):
    seed.quota = 10
    db.session.commit()
    path = f"/s/{seed.public_token}"  # read before the threads: ORM attributes need this app context
    barrier = threading.Barrier(8)

    def one_phone(index: int) -> int:
        client = app.test_client()
        if index < 8:
            barrier.wait()
        return post(client, path, f"race-{index}").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(one_phone, range(24)))
    assert statuses.count(303) == 10 and statuses.count(410) == 14
    db.session.refresh(seed)
    assert count() == 10 and seed.accepted_count == 10


@pytest.mark.parametrize("tighter", ["channel", "questionnaire"])
def test_a_channel_and_its_questionnaire_quota_hold_together_under_concurrent_submissions(app, seed, tighter):
    """A submission through a channel claims a place on the channel and one on the questionnaire: both or neither.

    On PostgreSQL both claims and the INSERT are one statement (``survey.respond.submit.ONE_STATEMENT``); a channel
    place claimed while the questionnaire is full must be undone with it, so the counters still match the rows.
    """
    seed.quota = 4 if tighter == "questionnaire" else 40
    channel = Channel(questionnaire=seed, code="c1", name="服务大厅", quota=4 if tighter == "channel" else 40)
    db.session.add(channel)
    db.session.commit()
    path = f"/s/{channel.token}"
    barrier = threading.Barrier(8)

    def one_phone(index: int) -> tuple[int, str]:
        client = app.test_client()
        if index < 8:
            barrier.wait()
        response = post(client, path, f"race-{tighter}-{index}")
        return response.status_code, response.data.decode()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(one_phone, range(16)))
    statuses = [status for status, _page in answers]
    assert statuses.count(303) == 4 and statuses.count(410) == 12, statuses
    full = "这个采集点的问卷已经收满" if tighter == "channel" else "这份问卷已经收满所需的份数"
    assert all(full in page for status, page in answers if status == 410)
    db.session.refresh(seed)
    db.session.refresh(channel)
    assert count() == 4 and seed.accepted_count == 4 and channel.accepted_count == 4


def test_schedule(app, seed):
    seed.opens_at = utcnow() + timedelta(days=1)
    db.session.commit()
    early = app.test_client().get(f"/s/{seed.public_token}")
    assert early.status_code == 403 and "还没有开始" in early.data.decode()
    seed.opens_at, seed.closes_at = utcnow() - timedelta(days=2), utcnow() - timedelta(days=1)
    db.session.commit()
    late = app.test_client().get(f"/s/{seed.public_token}")
    assert late.status_code == 410 and "停止收集" in late.data.decode()


def test_settings_form_stores_beijing_time_as_utc(logged_in, seed):
    response = logged_in.post(
        f"/desk/questionnaires/{seed.id}/collection",
        data={
            "opens_at": "2026-12-01T08:00",
            "closes_at": "2026-12-31T20:00",
            "target": "400",
            "quota": "450",
            "one_per_device": "y",
            "ip_window_minutes": "60",
            "min_seconds": "40",
        },
    )
    assert response.status_code == 302
    db.session.refresh(seed)
    assert seed.opens_at.isoformat() == "2026-12-01T00:00:00" and seed.quota == 450 and seed.min_seconds == 40
    bad = logged_in.post(
        f"/desk/questionnaires/{seed.id}/collection",
        data={"opens_at": "2026-12-31T08:00", "closes_at": "2026-12-01T08:00", "ip_window_minutes": "60"},
    )
    assert bad.status_code == 422 and "结束时间必须晚于开始时间" in bad.data.decode()


def test_one_response_per_device(app, seed):
    phone = app.test_client()
    phone.get(f"/s/{seed.public_token}")  # sets the device cookie
    assert post(phone, f"/s/{seed.public_token}", "a").status_code == 303
    again = post(phone, f"/s/{seed.public_token}", "b")
    assert again.status_code == 409 and "这台设备已经提交过这份问卷" in again.data.decode()
    assert post(phone, f"/s/{seed.public_token}", "a").status_code == 303  # the same submission again: fine
    assert count() == 1


def test_repeat_device_is_flagged_when_allowed(app, seed):
    seed.one_per_device = False
    db.session.commit()
    phone = app.test_client()
    phone.get(f"/s/{seed.public_token}")
    post(phone, f"/s/{seed.public_token}", "a")
    post(phone, f"/s/{seed.public_token}", "b")
    flags = [r.flags for r in db.session.execute(db.select(Response).order_by(Response.id)).scalars()]
    assert "duplicate_device" not in flags[0] and "duplicate_device" in flags[1]


def test_ip_limit_uses_only_a_hash(app, seed):
    seed.ip_limit = 2
    db.session.commit()
    for sid in ("a", "b"):
        assert post(app.test_client(), f"/s/{seed.public_token}", sid).status_code == 303
    refused = post(app.test_client(), f"/s/{seed.public_token}", "c")
    assert refused.status_code == 429 and "稍后再试" in refused.data.decode()
    for response in db.session.execute(db.select(Response)).scalars():
        assert response.ip_hash and "127.0.0.1" not in response.ip_hash and len(response.ip_hash) == 64


def test_unit_codes(app, logged_in, seed):
    response = logged_in.post(
        f"/desk/questionnaires/{seed.id}/units",
        data={"units": "丰泽公安分局\n丰泽区司法局\n丰泽公安分局\n", "uses": "1"},
    )
    assert response.status_code == 302
    units = db.session.execute(db.select(UnitCode).order_by(UnitCode.id)).scalars().all()
    assert [u.unit_name for u in units] == ["丰泽公安分局", "丰泽区司法局"]
    phone = app.test_client()
    assert "填写单位：丰泽公安分局" in phone.get(f"/u/{units[0].code}").data.decode()
    assert post(phone, f"/u/{units[0].code}", "a").status_code == 303
    used_up = post(app.test_client(), f"/u/{units[0].code}", "b")
    assert used_up.status_code == 410 and "单位码" in used_up.data.decode()
    stored = db.session.execute(db.select(Response)).scalar_one()
    assert stored.unit_name == "丰泽公安分局" and stored.unit_code_id == units[0].id
    table = logged_in.get(f"/desk/questionnaires/{seed.id}/units").data.decode()
    assert "已填写单位：1 / 2" in table
    csv = logged_in.get(f"/desk/questionnaires/{seed.id}/units.csv").data.decode("utf-8-sig")
    assert f"/u/{units[1].code}" in csv
    assert app.test_client().get("/u/nonexistent").status_code == 404


def test_paper_entry_by_option_numbers(logged_in, seed):
    typed = {
        "p_q1a": "丰泽区城管局",
        "p_q2": "1",
        "p_q3": "2",
        "p_q4": "1",
        "p_q5": "3",
        "p_q6": "4",
        "p_q6__other": "希望扩大",
        "p_q7": "２",
    }
    response = logged_in.post(f"/desk/questionnaires/{seed.id}/paper", data=typed)
    assert response.status_code == 302
    stored = db.session.execute(db.select(Response)).scalar_one()
    assert stored.channel == "paper"
    assert stored.answers == {
        "q1a": "丰泽区城管局",
        "q2": "a",
        "q3": "b",
        "q4": "a",
        "q5": "c",
        "q6": "d",
        "q6__other": "希望扩大",
        "q7": "b",
    }
    bad = logged_in.post(f"/desk/questionnaires/{seed.id}/paper", data={**typed, "p_q4": "7", "p_q5": ""})
    html = bad.data.decode()
    assert bad.status_code == 422 and "请输入 1 到 3 之间的选项序号" in html and "这是必答题" in html
    assert 'value="丰泽区城管局"' in html  # what was typed is kept
    logged_in.post(f"/desk/questionnaires/{seed.id}/paper/issued", data={"issued": "4"})
    results = questionnaire_results(seed)
    assert results.issued == 4 and results.return_rate == "25.0"


def test_paper_entry_allowed_after_closing(logged_in, seed):
    seed.status = "closed"
    db.session.commit()
    typed = {"p_q1a": "单位", "p_q2": "1", "p_q3": "1", "p_q4": "1", "p_q5": "1", "p_q6": "1", "p_q7": "1"}
    assert logged_in.post(f"/desk/questionnaires/{seed.id}/paper", data=typed).status_code == 302


def test_too_fast_and_straight_lining_are_flagged(app, evaluator):
    safety = published(make_project(evaluator), "public_safety")
    phone = app.test_client()
    page = phone.get(f"/s/{safety.public_token}").data.decode()
    served = {name: hidden_value(page, name) for name in ("submission_id", "started")}  # signed together
    same = {"q1": "a", "q2": "a", "q3": "a", "q4": "a"}
    phone.post(f"/s/{safety.public_token}", data={**same, **served})
    response = db.session.execute(db.select(Response)).scalar_one()
    assert "too_fast" in response.flags  # answered in under 30 seconds
    assert "straight_lining" not in response.flags  # only 4 scale items: too few to judge


def test_review_excludes_keeps_and_restores_with_a_log(app, logged_in, seed):
    for sid in ("a", "b", "c"):
        post(app.test_client(), f"/s/{seed.public_token}", sid, started=utcnow().isoformat(timespec="seconds"))
    ids = [r.id for r in db.session.execute(db.select(Response).order_by(Response.id)).scalars()]
    page = logged_in.get(f"/desk/questionnaires/{seed.id}/review").data.decode()
    assert "待审核 3 份" in page and "用时过短" in page
    base = f"/desk/questionnaires/{seed.id}/responses"
    assert logged_in.post(f"{base}/{ids[0]}/exclude", data={"reason": ""}).status_code == 302
    assert db.session.get(Response, ids[0]).status == "valid"  # no reason, no decision
    logged_in.post(f"{base}/{ids[0]}/exclude", data={"reason": "用时过短（3 秒）"})
    logged_in.post(f"{base}/{ids[1]}/keep", data={"reason": "核实为真实作答"})
    results = questionnaire_results(seed)
    assert (results.returned, results.valid, results.excluded) == (3, 2, 1)
    assert all(rate.denominator <= 2 for rate in results.rates)
    logged_in.post(f"{base}/{ids[0]}/restore", data={"reason": "复核后恢复"})
    assert questionnaire_results(seed).valid == 3
    assert db.session.execute(db.select(db.func.count(ReviewEvent.id))).scalar() == 3
    log = logged_in.get(f"/desk/questionnaires/{seed.id}/review/log.csv").data.decode("utf-8-sig")
    assert "用时过短（3 秒）" in log and "核实为真实作答" in log and "复核后恢复" in log and "alice" in log
    assert count() == 3  # nothing deleted


def test_collection_routes_refuse_another_questionnaires_objects(app, logged_in, seed, evaluator):
    other = published(make_project(evaluator, "另一个项目"))
    channel = Channel(questionnaire=other, code="c1", name="别处")
    db.session.add(channel)
    db.session.commit()
    assert logged_in.get(f"/desk/questionnaires/{seed.id}/channels/{channel.id}/qr.png").status_code == 404
    post(app.test_client(), f"/s/{other.public_token}", "z")
    response = db.session.execute(db.select(Response)).scalar_one()
    assert (
        logged_in.post(
            f"/desk/questionnaires/{seed.id}/responses/{response.id}/exclude", data={"reason": "x"}
        ).status_code
        == 404
    )


PAPER_TYPED = {"p_q1a": "单位", "p_q2": "1", "p_q3": "1", "p_q4": "1", "p_q5": "1", "p_q6": "1", "p_q7": "1"}


def test_paper_entry_is_stored_against_the_chosen_channel(app, logged_in, seed):
    """Paper rounds are collected at 采集点 too: the entry page offers every channel, paper first, keeps the
    choice for the next entry, and counts the entry on the chosen channel with its number."""
    channel = Channel(questionnaire=seed, code="c1", name="东海街道社区")
    db.session.add(channel)
    db.session.commit()
    url = f"/desk/questionnaires/{seed.id}/paper"
    page = logged_in.get(url).data.decode()
    options = page[page.index('name="channel"') : page.index("</select>")]
    assert options.index("纸质问卷") < options.index("东海街道社区")
    stored = logged_in.post(url, data={**PAPER_TYPED, "channel": "c1"})
    assert stored.status_code == 302 and "channel=c1" in stored.location
    again = logged_in.get(stored.location).data.decode()
    assert "第 1 号" in again and "东海街道社区" in again
    assert 'value="c1" selected' in again or 'selected value="c1"' in again
    assert logged_in.post(url, data={**PAPER_TYPED, "channel": "nowhere"}).status_code == 422
    logged_in.post(url, data=PAPER_TYPED)  # without a choice: the paper channel
    rows = db.session.execute(db.select(Response.number, Response.channel, Response.mode).order_by(Response.id)).all()
    assert [tuple(r) for r in rows] == [(1, "c1", "paper"), (2, "paper", "paper")]
    db.session.refresh(channel)
    paper = db.session.execute(db.select(Channel).filter_by(code="paper")).scalar_one()
    assert channel.accepted_count == 1 and paper.accepted_count == 1


def test_the_paper_channel_is_named_in_the_readers_language(app, logged_in, seed):
    """The system channel is stored under its msgid and shown through gettext; a renamed one keeps its name."""
    logged_in.get(f"/desk/questionnaires/{seed.id}/paper?lang=en")
    paper = db.session.execute(db.select(Channel).filter_by(code="paper")).scalar_one()
    assert paper.name == "纸质问卷"  # not the English of whoever opened the page first
    english = logged_in.get(f"/desk/questionnaires/{seed.id}/channels?lang=en").data.decode()
    assert "Paper questionnaire" in english
    chinese = logged_in.get(f"/desk/questionnaires/{seed.id}/channels?lang=zh_Hans_CN").data.decode()
    assert "纸质问卷" in chinese and "Paper questionnaire" not in chinese
    edit = f"/desk/questionnaires/{seed.id}/channels/{paper.id}"
    logged_in.post(edit + "?lang=en", data={"name": "Paper questionnaire"})  # saved unchanged in English
    db.session.refresh(paper)
    assert paper.name == "纸质问卷"
    logged_in.post(edit, data={"name": "街道纸质问卷"})
    db.session.refresh(paper)
    assert paper.label == "街道纸质问卷"


def test_review_shows_the_answers_behind_each_flag_and_names_responses_by_number(app, logged_in, evaluator):
    other = published(make_project(evaluator, "先有的项目"))
    post(app.test_client(), f"/s/{other.public_token}", "elsewhere")  # global id 1, not this questionnaire's
    safety = published(make_project(evaluator), "public_safety")
    definition = safety.current_version.definition
    questions = [q for s in definition["sections"] for q in s["questions"]]
    answers = {"q1": "a", "q2": "a", "q3": "a", "q4": "a"}
    from survey.respond.submit import store_response

    response, _created = store_response(safety, answers, "flagged-1", flags=["straight_lining"])
    assert response.number == 1 and response.id != 1
    page = logged_in.get(f"/desk/questionnaires/{safety.id}/review").data.decode()
    assert "第 1 号答卷" in page and f"第 {response.id} 号答卷" not in page
    scale = [q for q in questions if q["type"] == "rating" and q["key"] in answers]
    first_option = scale[0]["options"][0]["text"]
    assert f"<strong>{first_option}</strong>" in page  # the answer beside the flag
    assert f"responses/{response.number}" in page  # a link to the whole response
