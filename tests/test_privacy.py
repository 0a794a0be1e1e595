"""Privacy: anonymous questionnaires, no raw IP or user agent anywhere, delete-all, retention purge, settings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import JSON, String, Text, cast

from survey.accounts.users import create_user
from survey.audit import trail as audit
from survey.collection import review
from survey.models import AuditEvent, Channel, ProjectMember, Response, ReviewEvent, UnitCode, utcnow
from survey.platform.extensions import db
from survey.privacy import retention as privacy
from survey.respond.public_views import DEVICE_COOKIE
from survey.respond.submit import store_response
from survey.responses.capture import Arrival
from tests.conftest import login
from tests.helpers import SEED_004_ANSWERS, make_project, published

CANARY_IP = "203.0.113.77"
CANARY_AGENT = "CanaryPhone/9.9 (zz-privacy-probe-4411)"


@pytest.fixture
def seed(evaluator):
    return published(make_project(evaluator))


def submit(client, questionnaire, sid: str, **environ):
    return client.post(
        f"/s/{questionnaire.public_token}", data={**SEED_004_ANSWERS, "submission_id": sid}, environ_base=environ
    )


def responses_of(questionnaire) -> list[Response]:
    query = db.select(Response).where(Response.questionnaire_id == questionnaire.id).order_by(Response.id)
    return list(db.session.execute(query).scalars())


def rows_containing(value: str) -> list[str]:
    """Every (table.column) whose text holds ``value``: all string, text and JSON columns of every table."""
    found = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
        for column in columns:
            query = db.select(db.func.count()).select_from(table).where(cast(column, Text).contains(value))
            if db.session.execute(query).scalar():
                found.append(f"{table.name}.{column.name}")
    return found


# --- no raw IP or user agent -----------------------------------------------------------------------------


def test_no_raw_ip_or_user_agent_is_stored_anywhere(app, logged_in, seed):
    seed.ip_limit, seed.one_per_device = 50, False
    db.session.commit()
    environ = {"REMOTE_ADDR": CANARY_IP, "HTTP_USER_AGENT": CANARY_AGENT}
    phone = app.test_client()
    assert phone.get(f"/s/{seed.public_token}", environ_base=environ).status_code == 200
    assert submit(phone, seed, "canary-1", **environ).status_code == 303
    # an evaluator action from the same address and browser goes into the audit log
    closed = logged_in.post(f"/desk/questionnaires/{seed.id}/close", environ_base=environ)
    assert closed.status_code == 302
    stored = responses_of(seed)[0]
    assert stored.ip_hash and len(stored.ip_hash) == 64 and stored.device_hash  # the keyed hashes are there ...
    assert db.session.execute(db.select(db.func.count(AuditEvent.id))).scalar() == 1
    for value in (CANARY_IP, CANARY_AGENT, "zz-privacy-probe", "203.0.113"):
        assert rows_containing(value) == [], value  # ... and the raw values nowhere
    assert rows_containing(stored.ip_hash) == ["response.ip_hash"]  # the scan does find what is there


# --- anonymous questionnaires ----------------------------------------------------------------------------


def test_anonymous_questionnaire_sets_no_cookie_and_stores_no_hashes(app, seed):
    seed.anonymous, seed.ip_limit, seed.one_per_device = True, 1, True
    db.session.commit()
    phone = app.test_client()
    page = phone.get(f"/s/{seed.public_token}")
    assert page.status_code == 200 and DEVICE_COOKIE not in page.headers.get("Set-Cookie", "")
    phone.set_cookie(DEVICE_COOKIE, "left-over-from-another-survey")
    assert submit(phone, seed, "anon-1").status_code == 303
    assert submit(phone, seed, "anon-2").status_code == 303  # neither the device nor the IP limit can apply
    assert [(r.device_hash, r.ip_hash) for r in responses_of(seed)] == [(None, None), (None, None)]


def test_identified_questionnaire_sets_the_cookie_and_keeps_hashes(app, seed):
    phone = app.test_client()
    page = phone.get(f"/s/{seed.public_token}")
    assert DEVICE_COOKIE in page.headers.get("Set-Cookie", "")
    assert submit(phone, seed, "id-1").status_code == 303
    assert responses_of(seed)[0].device_hash is not None


# --- settings ---------------------------------------------------------------------------------------------


def settings(client, questionnaire, **changes):
    data = {"ip_window_minutes": "60", "one_per_device": "y", **changes}
    return client.post(f"/desk/questionnaires/{questionnaire.id}/collection", data=data)


def test_settings_store_anonymous_retention_and_pow(logged_in, seed):
    assert settings(logged_in, seed, anonymous="y", retention_days="180", pow_bits="20").status_code == 302
    db.session.refresh(seed)
    assert (seed.anonymous, seed.retention_days, seed.pow_bits) == (True, 180, 20)
    page = logged_in.get(f"/desk/questionnaires/{seed.id}/collection").data.decode()
    assert "privacy-note" in page  # one-per-device is on but cannot apply to an anonymous questionnaire
    assert '<option selected value="20">' in page or '<option value="20" selected>' in page
    assert settings(logged_in, seed, pow_bits="", retention_days="").status_code == 302  # as a browser sends
    db.session.refresh(seed)
    assert (seed.anonymous, seed.retention_days, seed.pow_bits) == (False, None, None)
    assert "privacy-note" not in logged_in.get(f"/desk/questionnaires/{seed.id}/collection").data.decode()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"retention_days": "10"}, "请填写 30 到 3650 之间的天数。"),
        ({"retention_days": "4000"}, "请填写 30 到 3650 之间的天数。"),
        ({"pow_bits": "17"}, "请从列表中选择防刷题计算的强度。"),
        ({"pow_bits": "abc"}, "请从列表中选择防刷题计算的强度。"),
    ],
)
def test_settings_refuse_out_of_range_values(logged_in, seed, changes, message):
    refused = settings(logged_in, seed, **changes)
    assert refused.status_code == 422 and message in refused.data.decode()
    db.session.refresh(seed)
    assert (seed.retention_days, seed.pow_bits) == (None, None)


# --- delete all responses -----------------------------------------------------------------------------


def filled(questionnaire, evaluator, n: int = 3) -> None:
    """n responses: one through a channel, one through a unit code, one excluded with a review event."""
    channel = Channel(questionnaire=questionnaire, code="c1", name="北门")
    unit = UnitCode(questionnaire=questionnaire, unit_name="丰泽分局", max_uses=5)
    db.session.add_all([channel, unit])
    db.session.commit()
    arrivals = [Arrival(questionnaire, channel), Arrival(questionnaire, unit=unit)] + [Arrival(questionnaire)] * n
    stored = [store_response(a, dict(SEED_004_ANSWERS), f"d-{i}")[0] for i, a in enumerate(arrivals[:n])]
    review.decide(stored[-1], evaluator, "exclude", "测试排除")


def test_delete_page_shows_counts_and_export_links_first(logged_in, seed, evaluator):
    filled(seed, evaluator)
    page = logged_in.get(f"/desk/questionnaires/{seed.id}/responses/delete")
    html = page.data.decode()
    assert page.status_code == 200 and '<dd id="total">3</dd>' in html
    assert f"/desk/questionnaires/{seed.id}/responses.csv" in html and "bundle.zip" in html


def test_wrong_title_deletes_nothing(logged_in, seed, evaluator):
    filled(seed, evaluator)
    url = f"/desk/questionnaires/{seed.id}/responses/delete"
    refused = logged_in.post(url, data={"confirm_title": "不是这个标题"})
    assert refused.status_code == 422 and "输入的标题与问卷标题不一致" in refused.data.decode()
    assert len(responses_of(seed)) == 3 and db.session.execute(db.select(AuditEvent)).first() is None


def test_delete_removes_responses_review_events_and_counts(logged_in, seed, evaluator):
    filled(seed, evaluator)
    url = f"/desk/questionnaires/{seed.id}/responses/delete"
    done = logged_in.post(url, data={"confirm_title": f"  {seed.title} "})
    assert done.status_code == 302
    db.session.expire_all()
    assert responses_of(seed) == [] and db.session.execute(db.select(ReviewEvent)).first() is None
    assert seed.accepted_count == 0
    assert [c.accepted_count for c in seed.channels] == [0] and [u.used for u in seed.unit_codes] == [0]
    entry = db.session.execute(db.select(AuditEvent)).scalar_one()
    assert entry.action == "responses.delete_all" and entry.detail["deleted"] == 3 and entry.username == "alice"
    assert audit.verify_chain().intact
    assert "已删除这份问卷的全部 3 份答卷" in logged_in.get(done.headers["Location"]).data.decode()


def test_viewers_get_403_and_outsiders_404(app, client, seed, evaluator, other_evaluator):
    filled(seed, evaluator, 1)
    viewer = create_user("victor", "victor-password-1", "Victor")
    db.session.add(ProjectMember(project_id=seed.project_id, user_id=viewer.id, role="viewer"))
    db.session.commit()
    url = f"/desk/questionnaires/{seed.id}/responses/delete"
    assert login(client, "victor", "victor-password-1").status_code == 302
    assert client.get(url).status_code == 403
    assert client.post(url, data={"confirm_title": seed.title}).status_code == 403
    client.post("/logout")
    assert login(client, "mallory", "mallory-password-1").status_code == 302
    assert client.get(url).status_code == 404
    assert client.post(url, data={"confirm_title": seed.title}).status_code == 404
    assert len(responses_of(seed)) == 1


# --- retention ----------------------------------------------------------------------------------------


def aged(questionnaire, sid: str, days: float) -> Response:
    response = store_response(questionnaire, dict(SEED_004_ANSWERS), sid)[0]
    response.submitted_at = utcnow() - timedelta(days=days)
    db.session.commit()
    return response


def test_purge_after_closing_deletes_everything_once_the_period_has_passed(app, evaluator):
    project = make_project(evaluator)
    old, recent, kept = published(project), published(project), published(project)
    for questionnaire in (old, recent, kept):
        aged(questionnaire, f"p-{questionnaire.id}", 100)
        questionnaire.status = "closed"
    old.closed_at, recent.closed_at, kept.closed_at = (utcnow() - timedelta(days=d) for d in (40, 10, 400))
    old.retention_days, recent.retention_days, kept.retention_days = 30, 30, None
    db.session.commit()
    purged = privacy.purge_expired(utcnow())
    assert [(p.questionnaire_id, p.deleted, p.rule) for p in purged] == [(old.id, 1, "ended")]
    assert (len(responses_of(old)), len(responses_of(recent)), len(responses_of(kept))) == (0, 1, 1)
    db.session.refresh(old)
    assert old.accepted_count == 0
    entry = db.session.execute(db.select(AuditEvent)).scalar_one()
    assert (entry.action, entry.username, entry.user_id, entry.project_id) == ("responses.purge", "", None, project.id)
    assert entry.detail == {"deleted": 1, "rule": "ended", "retention_days": 30}
    assert privacy.purge_expired(utcnow()) == []  # nothing left: no second entry


def test_purge_of_an_open_questionnaire_deletes_only_old_submissions(app, evaluator):
    questionnaire = published(make_project(evaluator))
    questionnaire.retention_days = 30
    db.session.commit()
    aged(questionnaire, "old", 31)
    fresh = aged(questionnaire, "new", 29)
    purged = privacy.purge_expired(utcnow())
    assert [(p.deleted, p.rule) for p in purged] == [(1, "rolling")]
    assert [r.id for r in responses_of(questionnaire)] == [fresh.id]
    db.session.refresh(questionnaire)
    assert questionnaire.accepted_count == 1


def test_scheduled_end_counts_as_the_end(app, evaluator):
    questionnaire = published(make_project(evaluator))
    aged(questionnaire, "x", 1)  # submitted yesterday, but collection ended 60 days ago by its schedule
    questionnaire.closes_at, questionnaire.retention_days = utcnow() - timedelta(days=60), 30
    db.session.commit()
    assert privacy.ended_at(questionnaire, utcnow()) == questionnaire.closes_at
    assert [p.rule for p in privacy.purge_expired(utcnow())] == ["ended"]


def test_purge_expired_command_prints_what_it_deleted(app, runner, evaluator):
    questionnaire = published(make_project(evaluator))
    questionnaire.retention_days = 30
    db.session.commit()
    aged(questionnaire, "a", 45)
    aged(questionnaire, "b", 50)
    result = runner.invoke(args=["purge-expired"])
    assert result.exit_code == 0, result.output
    assert f"questionnaire {questionnaire.id}" in result.output and "deleted 2 response(s)" in result.output
    assert "purged 2 response(s) from 1 questionnaire(s)" in result.output
    again = runner.invoke(args=["purge-expired"])
    assert "purged 0 response(s) from 0 questionnaire(s)" in again.output


def test_no_code_path_reads_the_user_agent():
    """A grep, kept as a test: the user agent is never read, so it cannot be stored."""
    root = Path(__file__).resolve().parent.parent
    offenders = [
        str(path.relative_to(root))
        for folder in ("survey", "forms", "analysis")
        for path in (root / folder).rglob("*.py")
        if any(word in path.read_text(encoding="utf-8") for word in ("user_agent", "User-Agent", "HTTP_USER_AGENT"))
    ]
    assert offenders == []


def arrived(questionnaire, sid: str, submitted_days: float | None, received_days: float) -> Response:
    """A response submitted ``submitted_days`` ago (``None``: its time unknown, as an import without times)
    that this service stored ``received_days`` ago."""
    response = store_response(questionnaire, dict(SEED_004_ANSWERS), sid)[0]
    response.submitted_at = None if submitted_days is None else utcnow() - timedelta(days=submitted_days)
    response.received_at = utcnow() - timedelta(days=received_days)
    db.session.commit()
    return response


def test_rolling_retention_ages_a_response_of_unknown_time_by_its_arrival(app, evaluator):
    questionnaire = published(make_project(evaluator))
    questionnaire.retention_days = 30
    db.session.commit()
    arrived(questionnaire, "unknown-old", None, 31)
    kept_unknown = arrived(questionnaire, "unknown-new", None, 29)
    kept_known = arrived(questionnaire, "known-new", 29, 400)  # a known time wins over the arrival
    arrived(questionnaire, "known-old", 31, 1)  # imported yesterday, answered 31 days ago
    purged = privacy.purge_expired(utcnow())
    assert [(p.deleted, p.rule) for p in purged] == [(2, "rolling")]
    assert [r.id for r in responses_of(questionnaire)] == [kept_unknown.id, kept_known.id]


def test_every_stored_response_has_its_arrival_time_in_utc(app, evaluator):
    """The respondent path's compiled insert leaves received_at to the database: UTC whatever its session zone."""
    questionnaire = published(make_project(evaluator))
    if db.engine.dialect.name == "postgresql":
        db.session.execute(db.text("SET TIME ZONE 'Asia/Shanghai'"))  # 8 hours off UTC, were it taken locally
    before = utcnow()
    response = store_response(questionnaire, dict(SEED_004_ANSWERS), "arrival")[0]
    db.session.commit()
    stored = db.session.execute(db.select(Response.received_at).where(Response.id == response.id)).scalar_one()
    assert before - timedelta(minutes=5) <= stored <= utcnow() + timedelta(minutes=5)
