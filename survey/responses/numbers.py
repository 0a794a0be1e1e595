"""第 N 号: a response's number within its questionnaire, as evaluators name responses ("第 50 号" of four).

Numbers come from one counter per questionnaire, ``Questionnaire.last_response_number``, which only ever
grows: a number is never given twice, even after responses are deleted. Each way of storing a response
claims its number while it holds the questionnaire's row (PostgreSQL's row lock, SQLite's write lock), so two
concurrent submissions cannot share one, and the unique index (questionnaire_id, number) would refuse it if
they did:

* the respondent's path and the desk's paper entry, in ``survey.responses.capture``: the UPDATE that claims the quota
  place also takes the number (on PostgreSQL inside the one statement that inserts the response);
* rows added through the ORM session (file imports, the demo, tests): ``number_new_responses`` before each
  flush, one UPDATE per questionnaire for all of its new rows;
* rows written around the application (a bulk load): ``fill_missing`` numbers them in id order the first
  time the response browser opens the questionnaire.
"""

from __future__ import annotations

from collections import defaultdict

from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import Connection, event, inspect, select, update

from survey.models import Questionnaire, Response
from survey.platform.extensions import db

COUNTER = Questionnaire.__table__.c.last_response_number


def claim_numbers(connection: Connection, questionnaire_id: int, count: int) -> int:
    """Take ``count`` consecutive numbers of the questionnaire; the first one.

    The UPDATE locks the counter (row lock, or SQLite's write lock) until the transaction ends, so reading
    the new value back in the same transaction is safe where RETURNING is missing.
    """
    statement = (
        update(Questionnaire.__table__)
        .where(Questionnaire.__table__.c.id == questionnaire_id)
        .values({COUNTER.name: COUNTER + count})
    )
    if connection.dialect.update_returning:
        last = connection.execute(statement.returning(COUNTER)).scalar_one()
    else:
        connection.execute(statement)
        last = connection.execute(select(COUNTER).where(Questionnaire.__table__.c.id == questionnaire_id)).scalar_one()
    return last - count + 1


def _insert_order(response: Response) -> tuple:
    """The order the session will insert new rows in (the order they were added)."""
    return (getattr(inspect(response), "insert_order", 0) or 0, id(response))


def number_new_responses(session, _context, _instances) -> None:
    """Before a flush, give each new ``Response`` without a number the next ones of its questionnaire."""
    waiting: dict[int, list[Response]] = defaultdict(list)
    for instance in session.new:
        if isinstance(instance, Response) and instance.number is None and instance.questionnaire_id is not None:
            waiting[instance.questionnaire_id].append(instance)
    for questionnaire_id, responses in waiting.items():
        first = claim_numbers(session.connection(), questionnaire_id, len(responses))
        for offset, response in enumerate(sorted(responses, key=_insert_order)):
            response.number = first + offset


def fill_missing(questionnaire_id: int) -> int:
    """Number, in id order, the questionnaire's responses that were written without a number; how many.

    A cheap indexed probe when there are none (the usual case). Commits when it numbered any.
    """
    missing = (Response.questionnaire_id == questionnaire_id, Response.number.is_(None))
    if db.session.execute(db.select(Response.id).where(*missing).limit(1)).first() is None:
        return 0
    claim_numbers(db.session.connection(), questionnaire_id, 0)  # lock the counter before reading the rows
    ids = list(db.session.execute(db.select(Response.id).where(*missing).order_by(Response.id)).scalars())
    first = claim_numbers(db.session.connection(), questionnaire_id, len(ids))
    db.session.execute(
        update(Response),
        [{"id": response_id, "number": first + offset} for offset, response_id in enumerate(ids)],
    )
    db.session.commit()
    return len(ids)


def init_app(_app) -> None:
    """Number ORM-added responses on every Flask-SQLAlchemy session (once per process)."""
    if not event.contains(FlaskSession, "before_flush", number_new_responses):
        event.listen(FlaskSession, "before_flush", number_new_responses)
