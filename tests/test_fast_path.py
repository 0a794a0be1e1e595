"""The respondent side's fast path: one-query link lookup, page skeletons, and Core writes.

A blank page is served from a skeleton rendered once per link, version and language
(``survey.respond.public_views._skeleton``); these tests hold it to the page the template renders in full, check
that a link's own texts and a changed setting never leak between skeletons, and that a submission
repeated after the rules would now refuse it is acknowledged rather than refused or stored twice.
"""

from __future__ import annotations

import contextvars
import re
from pathlib import Path

import pytest

from forms.response import form_class_of
from survey.models import Channel, Questionnaire, Response, UnitCode
from survey.platform.extensions import db
from survey.questionnaires import publishing
from survey.respond import public_views as public
from survey.respond.arrivals import arrival_by_token
from tests.helpers import SEED_004_ANSWERS, hidden_value, make_project, published

LIBRARY = sorted(
    path.stem
    for path in (Path(__file__).resolve().parent.parent / "survey" / "questionnaires" / "library").glob("*.json")
)
PER_REQUEST = re.compile(r'(name="(?:csrf_token|submission_id|started)"[^>]*value=")[^"]*"')


def normalised(html: str) -> str:
    """The page with the per-request values blanked, whitespace between tags dropped and other runs made one."""
    return re.sub(r"\s+", " ", re.sub(r">\s+<", "><", PER_REQUEST.sub(r'\1"', html))).strip()


def full_render(app, questionnaire: Questionnaire, query: str = "") -> str:
    """The blank page as the template renders it from a form, without any skeleton.

    In a fresh context, as ``tests.conftest.IsolatedClient`` runs requests: the fixture's open app
    context would otherwise lend this request its ``g`` (and the locale cached there).
    """
    return contextvars.Context().run(_full_render, app, questionnaire.public_token, query)


def _full_render(app, token: str, query: str) -> str:
    with app.test_request_context(f"/s/{token}{query}"):
        app.preprocess_request()  # the before-request hooks: ``?lang=`` among them
        arrival = arrival_by_token(token)
        form = form_class_of(public._shown(arrival))()
        form.submission_id.data, form.started.data = "x" * 32, "2026-01-01T00:00:00"
        return public._render_form(arrival, form, action=f"/s/{token}", blank=True).get_data(as_text=True)


@pytest.mark.parametrize("template", LIBRARY)
def test_skeleton_page_is_the_full_render(app, client, evaluator, template):
    questionnaire = published(make_project(evaluator), template)
    for query in ("", "?lang=en"):
        served = [client.get(f"/s/{questionnaire.public_token}{query}").get_data(as_text=True) for _ in range(2)]
        assert hidden_value(served[0], "submission_id") != hidden_value(served[1], "submission_id")
        assert normalised(served[0]) == normalised(served[1]) == normalised(full_render(app, questionnaire, query))


def test_each_link_gets_its_own_skeleton(client, evaluator):
    questionnaire = published(make_project(evaluator))
    channel = Channel(questionnaire=questionnaire, code="c1", name="服务大厅")
    unit = UnitCode(questionnaire=questionnaire, unit_name="丰泽公安分局", max_uses=3)
    db.session.add_all([channel, unit])
    db.session.commit()
    for _ in range(2):  # the second round is served from the skeletons the first one made
        plain = client.get(f"/s/{questionnaire.public_token}").get_data(as_text=True)
        by_channel = client.get(f"/s/{channel.token}").get_data(as_text=True)
        by_unit = client.get(f"/u/{unit.code}").get_data(as_text=True)
        assert "服务大厅" not in plain and "丰泽公安分局" not in plain.split("<form")[0]
        assert "采集点：服务大厅" in by_channel and f'action="/s/{channel.token}"' in by_channel
        assert "填写单位：丰泽公安分局" in by_unit and f'action="/u/{unit.code}"' in by_unit


def test_each_changed_setting_shows_on_the_next_page_view(client, evaluator):
    """One change at a time, each after a page view, so each must reach the skeleton's key on its own."""
    questionnaire = published(make_project(evaluator))
    channel = Channel(questionnaire=questionnaire, code="c1", name="服务大厅")
    db.session.add(channel)
    db.session.commit()

    def view(path: str) -> str:
        client.delete_cookie("sv_device")
        return client.get(path).get_data(as_text=True)

    plain = f"/s/{questionnaire.public_token}"
    assert "会在您的手机上保存一个随机的设备标识" in view(plain)
    assert "加密、无法还原的摘要" not in view(plain)
    questionnaire.ip_limit = 5
    db.session.commit()
    assert "加密、无法还原的摘要" in view(plain)
    questionnaire.anonymous = True
    db.session.commit()
    assert "本问卷完全匿名" in view(plain)
    questionnaire.project.evaluating_org = "某某评价中心"
    db.session.commit()
    assert "某某评价中心" in view(plain)
    assert "采集点：服务大厅" in view(f"/s/{channel.token}")
    channel.name = "社区服务站"
    db.session.commit()
    assert "采集点：社区服务站" in view(f"/s/{channel.token}")


def test_an_anonymous_questionnaire_sets_no_device_cookie(client, evaluator):
    questionnaire = published(make_project(evaluator))
    questionnaire.anonymous = True
    db.session.commit()
    for _ in range(2):
        response = client.get(f"/s/{questionnaire.public_token}")
        assert response.status_code == 200 and "sv_device" not in response.headers.get("Set-Cookie", "")


def test_closing_takes_effect_at_once_on_page_and_submission(client, evaluator):
    questionnaire = published(make_project(evaluator))
    assert client.get(f"/s/{questionnaire.public_token}").status_code == 200
    publishing.close(questionnaire)
    db.session.commit()
    assert client.get(f"/s/{questionnaire.public_token}").status_code == 410
    assert client.post(f"/s/{questionnaire.public_token}", data=SEED_004_ANSWERS).status_code == 410
    assert db.session.execute(db.select(db.func.count(Response.id))).scalar() == 0


def test_unknown_and_unpublished_links_are_not_found(client, evaluator):
    draft = publishing.create_questionnaire(make_project(evaluator), "fengze_service_object")
    db.session.commit()
    assert client.get(f"/s/{draft.public_token}").status_code == 404
    assert client.get("/s/no-such-link").status_code == 404
    assert client.get("/u/no-such-code").status_code == 404
    assert client.post("/s/no-such-link", data=SEED_004_ANSWERS).status_code == 404


def test_a_repeat_of_a_stored_submission_is_acknowledged_when_the_rules_now_refuse(client, evaluator):
    """A phone that lost the first answer's acknowledgement and posts again must hear "stored", not "full"."""
    questionnaire = published(make_project(evaluator))
    questionnaire.quota = 1
    db.session.commit()
    client.get(f"/s/{questionnaire.public_token}")  # the device cookie: one per device is on
    data = {**SEED_004_ANSWERS, "submission_id": "first-submission-0001"}
    assert client.post(f"/s/{questionnaire.public_token}", data=data).status_code == 303
    assert client.post(f"/s/{questionnaire.public_token}", data=data).status_code == 303  # full, and same device
    other = {**SEED_004_ANSWERS, "submission_id": "second-submission-001"}
    refused = client.post(f"/s/{questionnaire.public_token}", data=other)
    assert refused.status_code in (409, 410)
    assert db.session.execute(db.select(db.func.count(Response.id))).scalar() == 1
    db.session.refresh(questionnaire)
    assert questionnaire.accepted_count == 1, "neither the repeat nor the refusal moved the counter"


def _statements_of(app, request) -> list[str]:
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


@pytest.mark.parametrize("link", ["questionnaire", "channel", "unit"])
def test_a_submission_checks_its_device_in_the_link_lookup_and_the_rule_still_holds(app, client, evaluator, link):
    """The link lookup also checks the device (survey.respond.arrivals DEVICE_SEEN): lookup, INSERT, counter UPDATE(s),
    with no query of its own for the one-per-device rule.

    And a device that answered is still refused on its next submission through any kind of link.
    """
    questionnaire = published(make_project(evaluator))
    url = f"/s/{questionnaire.public_token}"
    if link == "channel":
        channel = Channel(questionnaire_id=questionnaire.id, code="street", name="街道", token="chan-street")
        db.session.add(channel)
        url = "/s/chan-street"
    elif link == "unit":
        db.session.add(UnitCode(questionnaire_id=questionnaire.id, code="UNIT-0001", unit_name="某局", max_uses=5))
        url = "/u/UNIT-0001"
    db.session.commit()
    client.get(url)  # the device cookie
    first = {**SEED_004_ANSWERS, "submission_id": "device-rule-first-01"}
    sent = _statements_of(app, lambda: client.post(url, data=first))
    lookups = 2 if link == "channel" else 1  # a channel token is looked for among questionnaire tokens first
    assert all(statement.lstrip().upper().startswith("SELECT") for statement in sent[:lookups])
    assert "EXISTS" in sent[lookups - 1].upper()  # the lookup that found the link checked the device too
    if db.engine.dialect.name == "postgresql":  # the claims and the INSERT in one statement (ONE_STATEMENT)
        assert len(sent) == lookups + 1, sent
        write = " ".join(sent[lookups].upper().split())
        assert write.startswith("WITH") and "INSERT INTO RESPONSE" in write
        assert write.count("UPDATE ") == (1 if link == "questionnaire" else 2)
    else:
        claims = 1 if link == "questionnaire" else 2  # the questionnaire's counter, and the channel's or unit's
        assert len(sent) == lookups + 1 + claims, sent
        # the questionnaire's claim first (it takes the response's number, 第 N 号), then the INSERT
        assert sent[lookups].lstrip().upper().startswith("UPDATE QUESTIONNAIRE")
        assert sent[lookups + 1].lstrip().upper().startswith("INSERT INTO RESPONSE")
    again = {**SEED_004_ANSWERS, "submission_id": "device-rule-again-01"}
    assert client.post(url, data=again).status_code == 409
    assert db.session.execute(db.select(db.func.count(Response.id))).scalar() == 1


def test_channel_and_unit_counters_move_with_their_responses(client, evaluator):
    questionnaire = published(make_project(evaluator))
    channel = Channel(questionnaire=questionnaire, code="c1", name="服务大厅", quota=2)
    unit = UnitCode(questionnaire=questionnaire, unit_name="丰泽公安分局", max_uses=1)
    db.session.add_all([channel, unit])
    db.session.commit()
    for number, path in enumerate((f"/s/{channel.token}", f"/u/{unit.code}", f"/u/{unit.code}")):
        client.delete_cookie("sv_device")
        client.get(path)
        status = client.post(path, data={**SEED_004_ANSWERS, "submission_id": f"submission-{number:012d}"})
        assert status.status_code == (410 if number == 2 else 303)
    rows = db.session.execute(db.select(Response.channel, Response.unit_name).order_by(Response.id)).all()
    assert rows == [("c1", None), ("web", "丰泽公安分局")]
    for row in (questionnaire, channel, unit):
        db.session.refresh(row)
    assert (questionnaire.accepted_count, channel.accepted_count, unit.used) == (2, 1, 1)


@pytest.mark.parametrize("full", ["questionnaire", "unit"])
def test_a_place_claimed_on_one_counter_is_given_back_when_the_other_is_full(app, evaluator, full):
    """The page read room on both counters, then the other phones filled one before this submission wrote.

    Nothing may be stored and neither counter may move: on PostgreSQL the link's claim inside the one
    statement is undone with it (``survey.respond.submit.ONE_STATEMENT``), then the refusal names the full counter.
    """
    from survey.platform.errors import Refused
    from survey.respond.arrivals import arrival_by_unit, page_connection
    from survey.respond.submit import submit_response

    questionnaire = published(make_project(evaluator))
    questionnaire.quota = 10
    unit = UnitCode(questionnaire_id=questionnaire.id, code="UNIT-0042", unit_name="某局", max_uses=3)
    db.session.add(unit)
    db.session.commit()
    with app.test_request_context("/u/UNIT-0042", method="POST"), page_connection() as connection:
        arrival = arrival_by_unit("UNIT-0042", connection)
        connection.rollback()
        if full == "questionnaire":
            db.session.execute(db.update(Questionnaire).values(accepted_count=10))
        else:
            db.session.execute(db.update(UnitCode).values(used=3))
        db.session.commit()
        with pytest.raises(Refused) as refused:
            submit_response(arrival, dict(SEED_004_ANSWERS), submission_id="late-0001", connection=connection)
    assert ("问卷已收满" if full == "questionnaire" else "单位码已用完") == str(refused.value.title)
    db.session.refresh(questionnaire)
    db.session.refresh(unit)
    assert (questionnaire.accepted_count, unit.used) == ((10, 0) if full == "questionnaire" else (0, 3))
    assert db.session.execute(db.select(db.func.count(Response.id))).scalar() == 0


def _responses_of_people(questionnaire, count: int, networks: int) -> list[dict]:
    """``count`` response rows for the plan tests: each from its own device, spread over ``networks`` addresses."""
    from datetime import datetime

    return [
        {
            "questionnaire_id": questionnaire.id, "version_id": questionnaire.current_version_id,
            "submission_id": f"person-{i}", "submitted_at": datetime(2026, 5, 1), "channel": "web", "status": "valid",
            "device_hash": f"{i:064d}", "ip_hash": f"{i % networks:064d}", "answers": {}, "flags": [],
        }
        for i in range(count)
    ]  # fmt: skip


def _plan(statement, parameters: dict) -> str:
    """The database's query plan for one of the submission's statements, as text."""
    connection = db.session.connection()
    compiled = statement.compile(dialect=connection.dialect)
    values = compiled.construct_params(parameters)
    if connection.dialect.name == "sqlite":
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), tuple(values.values()))
        return " ".join(str(row[-1]) for row in rows)
    rows = connection.exec_driver_sql("EXPLAIN " + str(compiled), values)
    return " ".join(row[0] for row in rows)


def test_the_device_and_ip_checks_read_their_own_index(evaluator):
    """Each submission's person checks must not read every earlier response of the questionnaire.

    Before migration 0011, SQLite's planner answered both from (questionnaire_id, status): a scan of the
    questionnaire's responses on every submission, so submitting slowed down as answers came in. The
    plans are judged over a thousand responses with fresh statistics, all rolled back afterwards.
    """
    from datetime import datetime

    from sqlalchemy import insert, text

    from survey.respond.submit import DEVICE_ANSWERED, RECENT_FROM_IP

    questionnaire = published(make_project(evaluator))
    rows = _responses_of_people(questionnaire, 1000, networks=50)
    device = {"device": "d" * 64, "qid": questionnaire.id}
    ip = {"qid": questionnaire.id, "ip_hash": "i" * 64, "since": datetime(2026, 4, 1)}
    connection = db.session.connection()
    connection.execute(insert(Response.__table__), rows)
    plans = []
    try:
        if connection.dialect.name == "sqlite":  # SQLite without statistics, as a deployment runs it
            plans.append((_plan(DEVICE_ANSWERED, device), _plan(RECENT_FROM_IP, ip)))
        connection.execute(text("ANALYZE response"))
        plans.append((_plan(DEVICE_ANSWERED, device), _plan(RECENT_FROM_IP, ip)))
    finally:
        db.session.rollback()
    for device_plan, ip_plan in plans:
        assert "ix_response_device_questionnaire" in device_plan, device_plan
        assert "ix_response_ip_questionnaire" in ip_plan, ip_plan


def _cached_plan(statement, parameters: dict) -> str:
    """The plan a connection keeps for ``statement``: PostgreSQL's generic plan, SQLite's only plan.

    psycopg prepares a statement on its fifth run on a connection and PostgreSQL may then keep one
    generic plan, made without the parameters' values, for the connection's life.
    """
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        return _plan(statement, parameters)
    compiled = statement.compile(dialect=connection.dialect)
    names = list(compiled.construct_params(parameters))
    sql = str(compiled)
    for number, name in enumerate(names, start=1):
        sql = sql.replace(f"%({name})s", f"${number}")
    values = compiled.construct_params(parameters)
    connection.exec_driver_sql("SET LOCAL plan_cache_mode = force_generic_plan")
    connection.exec_driver_sql("PREPARE cached_plan AS " + sql)
    # EXECUTE takes no bound parameters: the test's own values, quoted as SQL literals.
    literals = ", ".join("'{}'".format(str(value).replace("'", "''")) for value in values.values())
    rows = connection.exec_driver_sql(f"EXPLAIN EXECUTE cached_plan({literals})")
    plan = " ".join(row[0] for row in rows)
    connection.exec_driver_sql("DEALLOCATE cached_plan")
    return plan


def test_plans_made_before_statistics_still_read_the_person_indexes(evaluator):
    """A new questionnaire's first submissions plan the person checks before ``response`` has statistics.

    With the questionnaire indexable, PostgreSQL's generic plan for the device check read (questionnaire_id,
    status) or the IP index with the device as a filter, which is every response of the questionnaire, and a
    connection kept that plan as the table grew: 0.8 to 1.1 ms of database time per submission under load
    instead of 0.03 ms. The plans are judged on an empty table and again over 300 unanalysed responses.
    """
    from datetime import datetime

    from sqlalchemy import insert

    from survey.respond.arrivals import DEVICE_LOOKUPS
    from survey.respond.submit import DEVICE_ANSWERED, RECENT_FROM_IP

    questionnaire = published(make_project(evaluator))
    rows = _responses_of_people(questionnaire, 300, networks=7)
    device = {"token": questionnaire.public_token, "device": "d" * 64}

    def three_plans() -> tuple[str, str, str]:
        return (
            _cached_plan(DEVICE_LOOKUPS["token"], device),
            _cached_plan(DEVICE_ANSWERED, {"device": "d" * 64, "qid": questionnaire.id}),
            _cached_plan(RECENT_FROM_IP, {"qid": questionnaire.id, "ip_hash": "i", "since": datetime(2026, 4, 1)}),
        )

    try:
        plans = [three_plans()]
        db.session.connection().execute(insert(Response.__table__), rows)
        plans.append(three_plans())
    finally:
        db.session.rollback()
    for arrival_plan, device_plan, ip_plan in plans:
        assert "ix_response_device_questionnaire" in arrival_plan, arrival_plan
        assert "ix_response_device_questionnaire" in device_plan, device_plan
        assert "ix_response_ip_questionnaire" in ip_plan, ip_plan


def test_lookups_read_on_the_drivers_cursor_give_what_sqlalchemy_gives(app, evaluator):
    """``survey.platform.driver.first_row`` skips SQLAlchemy's result machinery for the link lookups; the values must
    be the very ones SQLAlchemy returns (SQLite keeps dates as text and booleans as integers), for every
    lookup, with and without the device check, with dates set and unset."""
    from datetime import datetime

    from survey.platform.driver import first_row
    from survey.respond.arrivals import BY_CHANNEL, BY_TOKEN, BY_UNIT, DEVICE_LOOKUPS, page_connection

    questionnaire = published(make_project(evaluator))
    questionnaire.opens_at, questionnaire.closes_at = datetime(2026, 11, 1, 8, 30), datetime(2026, 12, 1, 17, 0, 5)
    questionnaire.one_per_device = True
    channel = Channel(questionnaire_id=questionnaire.id, code="street", name="街道", token="chan-street", quota=9)
    unit = UnitCode(questionnaire_id=questionnaire.id, code="UNIT-0009", unit_name="某局", max_uses=5)
    db.session.add_all([channel, unit])
    db.session.commit()
    cases = [
        (BY_TOKEN, {"token": questionnaire.public_token}),
        (DEVICE_LOOKUPS["token"], {"token": questionnaire.public_token, "device": "d" * 64}),
        (BY_CHANNEL, {"token": "chan-street"}),
        (DEVICE_LOOKUPS["channel"], {"token": "chan-street", "device": "d" * 64}),
        (BY_UNIT, {"code": "UNIT-0009"}),
        (DEVICE_LOOKUPS["unit"], {"code": "UNIT-0009", "device": "d" * 64}),
        (BY_TOKEN, {"token": "no-such-link"}),
    ]
    with page_connection() as connection:
        for statement, parameters in cases:
            expected = connection.execute(statement, parameters).first()
            row = first_row(connection, statement, parameters)
            assert (row is None) == (expected is None), parameters
            if expected is not None:
                assert list(row) == list(expected), parameters
                assert row._fields == expected._fields, parameters  # read by name: survey.respond.arrivals
                assert [type(value) for value in row] == [type(value) for value in expected], parameters


def test_a_write_on_the_drivers_cursor_stores_and_fails_as_through_sqlalchemy(app, evaluator):
    """``survey.platform.driver.first_row`` runs the PostgreSQL write: the values stored must be those given (JSON,
    dates, booleans through SQLAlchemy's bind processors), and a repeated submission id must surface as
    SQLAlchemy's ``IntegrityError``, which ``submit_response`` turns into "already stored"."""
    from datetime import datetime

    from sqlalchemy import bindparam, insert
    from sqlalchemy.exc import IntegrityError

    from survey.platform.driver import first_row
    from survey.respond.arrivals import page_connection

    questionnaire = published(make_project(evaluator))
    table = Response.__table__
    row = {
        "questionnaire_id": questionnaire.id, "version_id": questionnaire.current_version_id,
        "submission_id": "driver-write-0001", "submitted_at": datetime(2026, 11, 22, 9, 30, 15, 120000),
        "channel": "web", "status": "valid", "reviewed": True, "answers": {"q1": "a", "q9": ["b", "c"], "s": "好"},
        "flags": ["too_fast"], "codes": "ab", "extras": '{"s":"好"}',
    }  # fmt: skip
    values = {name: bindparam("new_" + name, type_=table.c[name].type) for name in row}
    statement = insert(table).values(values).returning(table.c.id)
    parameters = {"new_" + name: value for name, value in row.items()}
    with page_connection() as connection:
        stored_id = first_row(connection, statement, parameters)[0]
        connection.commit()
        with pytest.raises(IntegrityError):
            first_row(connection, statement, parameters)
        connection.rollback()
    stored = db.session.get(Response, stored_id)
    assert (stored.answers, stored.flags, stored.reviewed, stored.submitted_at) == (
        row["answers"], row["flags"], True, row["submitted_at"],
    )  # fmt: skip
    assert db.session.execute(db.select(db.func.count(Response.id))).scalar() == 1


def test_a_submission_on_the_pages_connection_stores_what_the_sessions_write_stores(app, evaluator):
    """The respondent page's own connection writes on the driver's cursor (on SQLite the several statements of
    ``INSERT_RETURNING_ID`` and ``CLAIMS_RETURNING_ID``; on PostgreSQL ``ONE_STATEMENT``); the ORM session's
    goes through SQLAlchemy's execution. The same submission must come out the same, column for column, and
    count the same places."""
    from survey.respond.arrivals import arrival_by_unit, page_connection
    from survey.respond.submit import submit_response

    questionnaire = published(make_project(evaluator))
    unit = UnitCode(questionnaire_id=questionnaire.id, code="UNIT-0007", unit_name="某局", max_uses=5)
    db.session.add(unit)
    db.session.commit()
    details = {"started_iso": "2000-01-01T00:00:00", "ip_address": "192.0.2.1", "flags": ["too_fast"]}
    answers = dict(SEED_004_ANSWERS)
    with app.test_request_context("/u/UNIT-0007", method="POST"):
        with page_connection() as connection:
            arrival = arrival_by_unit("UNIT-0007", connection)
            by_page, created = submit_response(
                arrival, answers, "via-page", device_token="1", connection=connection, **details
            )
        assert created
        arrival = arrival_by_unit("UNIT-0007")
        by_session, created = submit_response(arrival, answers, "via-session", device_token="2", **details)
        assert created
    db.session.expire_all()
    # one answer per device; 第 1, 2 号; each arrived at its own moment
    differing = ("id", "submission_id", "submitted_at", "received_at", "device_hash", "number")
    columns = [column for column in Response.__table__.c if column.name not in differing]
    stored = db.select(Response.id, *columns).where(Response.id.in_([by_page, by_session]))
    rows = {row.id: row._asdict() for row in db.session.execute(stored)}
    page_row, session_row = rows[by_page], rows[by_session]
    page_row.pop("id"), session_row.pop("id")
    assert page_row == session_row
    assert (page_row["answers"], page_row["unit_name"], page_row["status"], page_row["reviewed"]) == (
        SEED_004_ANSWERS, "某局", "valid", False,
    )  # fmt: skip
    db.session.refresh(unit)
    db.session.refresh(questionnaire)
    assert (unit.used, questionnaire.accepted_count) == (2, 2)
