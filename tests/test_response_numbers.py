"""第 N 号: every response's number within its questionnaire, unique under concurrent submissions on both
databases, on every way in (phone, channel link, paper entry, the ORM), never given twice."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import insert

from survey.models import Channel, Questionnaire, Response
from survey.platform.extensions import db
from survey.respond.submit import store_response
from survey.responses.capture import enter_response
from survey.responses.numbers import fill_missing
from tests.helpers import SEED_004_ANSWERS, make_project, published


@pytest.fixture
def seed(evaluator):
    return published(make_project(evaluator))


def numbers(questionnaire_id: int) -> list[int | None]:
    query = db.select(Response.number).where(Response.questionnaire_id == questionnaire_id).order_by(Response.id)
    return list(db.session.execute(query).scalars())


def test_numbers_count_per_questionnaire_not_globally(app, evaluator):
    project = make_project(evaluator)
    first, second = published(project), published(project)
    for index, questionnaire in enumerate((first, first, second, first, second)):
        store_response(questionnaire, SEED_004_ANSWERS, f"per-q-{index}")
    assert numbers(first.id) == [1, 2, 3] and numbers(second.id) == [1, 2]
    db.session.refresh(first)
    assert first.last_response_number == 3


def test_concurrent_phones_on_two_links_and_paper_entries_get_distinct_consecutive_numbers(app, seed):
    """24 submissions at once through the questionnaire's link and a channel's (PostgreSQL's one statement,
    SQLite's claim-then-insert), with paper entries keyed in meanwhile: 1 … 30, each once."""
    channel = Channel(questionnaire=seed, code="c1", name="服务大厅")
    db.session.add(channel)
    db.session.commit()
    paths = [f"/s/{seed.public_token}", f"/s/{channel.token}"]
    barrier = threading.Barrier(8)

    def one_phone(index: int) -> int:
        client = app.test_client()
        if index < 8:
            barrier.wait()
        data = {**SEED_004_ANSWERS, "submission_id": f"numbered-{index:04d}"}
        return client.post(paths[index % 2], data=data).status_code

    def paper(index: int) -> None:
        with app.app_context():
            questionnaire = db.session.get(Questionnaire, seed.id)
            enter_response(questionnaire, SEED_004_ANSWERS, f"paper-{index}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        phones = pool.map(one_phone, range(24))
        typed = list(pool.map(paper, range(6)))
        statuses = list(phones)
    assert statuses == [303] * 24 and len(typed) == 6
    assert sorted(numbers(seed.id)) == list(range(1, 31))
    modes = dict(db.session.execute(db.select(Response.mode, db.func.count()).group_by(Response.mode)).all())
    assert modes == {"web": 24, "paper": 6}


def test_a_repeated_submission_takes_no_number(app, seed):
    client = app.test_client()
    data = {**SEED_004_ANSWERS, "submission_id": "double-tap-0001"}
    assert client.post(f"/s/{seed.public_token}", data=data).status_code == 303
    assert client.post(f"/s/{seed.public_token}", data=data).status_code == 303
    store_response(seed, SEED_004_ANSWERS, "next-one")
    assert numbers(seed.id) == [1, 2]


def test_numbers_are_not_given_again_after_responses_are_deleted(app, seed):
    for index in range(3):
        store_response(seed, SEED_004_ANSWERS, f"gone-{index}")
    db.session.execute(db.delete(Response))
    db.session.commit()
    store_response(seed, SEED_004_ANSWERS, "after")
    assert numbers(seed.id) == [4]


def test_rows_added_through_the_session_are_numbered_in_the_order_added(app, seed):
    """File imports add ORM rows: one counter claim per flush numbers them all, after what was there."""
    store_response(seed, SEED_004_ANSWERS, "before-import")
    rows = [
        Response(
            questionnaire_id=seed.id,
            version_id=seed.current_version_id,
            submission_id=f"imp-{i}",
            answers={"q2": "a"},
            mode="import",
        )  # fmt: skip
        for i in range(5)
    ]
    db.session.add_all(rows)
    db.session.commit()
    assert [r.number for r in rows] == [2, 3, 4, 5, 6]
    store_response(seed, SEED_004_ANSWERS, "after-import")
    assert numbers(seed.id) == [1, 2, 3, 4, 5, 6, 7]


def test_rows_written_around_the_application_are_numbered_on_first_browse(app, logged_in, seed):
    store_response(seed, SEED_004_ANSWERS, "numbered")
    base = {"questionnaire_id": seed.id, "version_id": seed.current_version_id, "answers": {}, "flags": [],
            "channel": "web", "status": "valid", "reviewed": False}  # fmt: skip
    db.session.execute(insert(Response.__table__), [{**base, "submission_id": f"bulk-{i}"} for i in range(3)])
    db.session.commit()
    assert numbers(seed.id) == [1, None, None, None]
    assert fill_missing(seed.id) == 3
    assert numbers(seed.id) == [1, 2, 3, 4]
    assert fill_missing(seed.id) == 0
    store_response(seed, SEED_004_ANSWERS, "later")
    assert numbers(seed.id)[-1] == 5
