"""Storing a response, whoever sends it: one row builder (``response_row``) and the counters every way in keeps.

Two ways in, around that builder: a citizen's submission through a public link
(``survey.respond.submit.submit_response``), checked against the link's rules with every speed measure of the
respondent path, and an evaluator's entry at the desk or an import (``enter_response``, or the import's rows built
here too), only counted. The claim statements (a conditional ``UPDATE … WHERE count < quota``) are shared by both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from survey.models import Channel, Questionnaire, Response, UnitCode, utcnow
from survey.platform.driver import first_row
from survey.platform.extensions import db
from survey.responses.coding import Coder


@dataclass(frozen=True)
class Arrival:
    """Where a respondent came from: the questionnaire, and optionally a channel or a unit code.

    The public pages fill it with ``survey.respond.arrivals`` snapshots (same attribute names, read in one
    query); the desk fills it with models. Everything here reads attributes only, so either works.
    """

    questionnaire: Questionnaire
    channel: Channel | None = None
    unit: UnitCode | None = None
    # (device hash, whether it is on a response to the questionnaire already), when the link lookup asked.
    device_seen: tuple[str, bool] | None = None

    @property
    def channel_code(self) -> str:
        return self.channel.code if self.channel else "web"


RESPONSE = Response.__table__
STORED_ID = select(RESPONSE.c.id).where(RESPONSE.c.submission_id == bindparam("submission_id"))
INSERT_RESPONSE = insert(RESPONSE)


# Each counter a submission claims a place on: the model, its limit column and its count column.
QUESTIONNAIRE_PLACES = (Questionnaire, "quota", "accepted_count")
CHANNEL_PLACES = (Channel, "quota", "accepted_count")
UNIT_PLACES = (UnitCode, "max_uses", "used")


def claim_statement(model, limit_name: str, count_name: str, row: str = "row_id", *also):
    """``count += 1`` on one row unless its limit is reached: atomic on SQLite and PostgreSQL.

    ``row`` names the parameter holding the row's id; ``also`` are further conditions. On the questionnaire
    the same UPDATE also takes the response's number (第 N 号, ``last_response_number += 1``): the row lock
    (PostgreSQL) or the write lock (SQLite) that makes the claim atomic makes the number unique, at no extra
    statement.
    """
    columns = model.__table__.c
    limit_column, count_column = columns[limit_name], columns[count_name]
    values = {count_name: count_column + 1}
    if model is Questionnaire:
        values[NUMBER.name] = NUMBER + 1
    return (
        update(model.__table__)
        .where(columns.id == bindparam(row), (limit_column.is_(None)) | (count_column < limit_column), *also)
        .values(values)
    )


NUMBER = Questionnaire.__table__.c.last_response_number
CLAIM_QUESTIONNAIRE = claim_statement(*QUESTIONNAIRE_PLACES)
CLAIM_CHANNEL = claim_statement(*CHANNEL_PLACES)
CLAIM_UNIT = claim_statement(*UNIT_PLACES)
NEW_ROW = {"status": "valid", "reviewed": False}
CLAIMS_RETURNING_ID = {
    CLAIM_QUESTIONNAIRE: CLAIM_QUESTIONNAIRE.returning(NUMBER),  # the response's number
    **{claim: claim.returning(claim.table.c.id) for claim in (CLAIM_CHANNEL, CLAIM_UNIT)},
}
# An evaluator's entry counts without limits, and takes its number the same way.
ADVANCE_QUESTIONNAIRE = (
    update(Questionnaire.__table__)
    .where(Questionnaire.__table__.c.id == bindparam("row_id"))
    .values({"accepted_count": Questionnaire.__table__.c.accepted_count + 1, NUMBER.name: NUMBER + 1})
)


def numbered(connection: Connection, statement, questionnaire_id: int, on_driver: bool) -> int | None:
    """Run an UPDATE of the questionnaire that takes the next number; the number, or None if it changed nothing.

    The number is read back in the same transaction, after the UPDATE: the row stays locked (PostgreSQL) or the
    database stays locked for writing (SQLite) until the commit, so no other submission can take it between.
    """
    parameters = {"row_id": questionnaire_id}
    if on_driver:
        row = first_row(connection, CLAIMS_RETURNING_ID[statement], parameters)
        return None if row is None else row[0]
    if connection.dialect.update_returning:
        return connection.execute(statement.returning(NUMBER), parameters).scalar()
    if connection.execute(statement, parameters).rowcount != 1:
        return None
    return connection.execute(select(NUMBER).where(Questionnaire.__table__.c.id == questionnaire_id)).scalar()


def _advance_counters(connection: Connection, arrival: Arrival) -> int:
    """Count an evaluator-entered response without enforcing limits (counters must match the rows); its number."""
    number = numbered(connection, ADVANCE_QUESTIONNAIRE, arrival.questionnaire.id, on_driver=False)
    if arrival.channel is not None:
        columns = Channel.__table__.c
        connection.execute(
            update(Channel.__table__)
            .where(columns.id == arrival.channel.id)
            .values(accepted_count=columns.accepted_count + 1)
        )
    return number


def response_row(
    arrival: Arrival,
    answers: dict,
    submission_id: str,
    mode: str,
    flags: list[str],
    coder: Coder | None,
    now: datetime,
    *,
    duration: int | None = None,
    device: str | None = None,
    ip_hash: str | None = None,
    channel: str | None = None,
) -> dict:
    """The response's row, as every way in writes it (all columns but its number, claimed with the write).

    One builder, so that a phone's submission and an evaluator's entry cannot drift apart: codes and extras
    from the version's ``coder`` (``survey.respond.frozen`` has it cached; without it, it is worked out from the
    version's definition), the unit code's name copied, a new row's status and review said outright (the
    driver's statements run no Python-side default). ``mode``: ``web``, ``paper`` or ``import``.
    """
    questionnaire, unit = arrival.questionnaire, arrival.unit
    coder = coder or Coder.of(questionnaire.current_version.definition)
    return {
        "questionnaire_id": questionnaire.id,
        "version_id": questionnaire.current_version_id,
        "submission_id": submission_id,
        "submitted_at": now,
        "duration_seconds": duration,
        "channel": channel or arrival.channel_code,
        "device_hash": device,
        "ip_hash": ip_hash,
        "unit_code_id": unit.id if unit else None,
        "unit_name": unit.unit_name if unit else None,
        "answers": answers,
        "codes": coder.codes(answers),
        "extras": coder.extras(answers),
        "flags": flags,
        "mode": mode,
        **NEW_ROW,
    }


def enter_response(
    arrival: Arrival | Questionnaire,
    answers: dict,
    submission_id: str,
    flags: list[str] | None = None,
    channel: str | None = None,
    mode: str = "paper",
    coder: Coder | None = None,
) -> tuple[Response, bool]:
    """An evaluator's entry (a paper questionnaire keyed in at the desk; ``mode`` ``import`` for a sheet read
    from a file): the stored ``Response`` and whether it is new.

    The schedule, the device and IP rules and the quotas guard the public link, not the desk: none is checked,
    and the counters are advanced without limits, as they must match the rows; the number is taken with them.
    Nothing of a device, an IP or a time taken is stored. In the ORM session, committed here; a
    ``submission_id`` already stored stores nothing and gives the stored response.
    """
    arrival = arrival_of(arrival)
    row = response_row(arrival, answers, submission_id, mode, list(flags or ()), coder, utcnow(), channel=channel)
    connection = db.session.connection()
    try:
        row["number"] = _advance_counters(connection, arrival)
        response_id = connection.execute(INSERT_RESPONSE, row).inserted_primary_key[0]
        db.session.commit()
    except IntegrityError:
        response_id = stored_id(rolled_back(connection, own=False), submission_id)
        if response_id is None:
            raise
        return db.session.get(Response, response_id), False
    return db.session.get(Response, response_id), True


def arrival_of(arrival: Arrival | Questionnaire) -> Arrival:
    """A questionnaire alone arrives by its own link (desk, demo, tests)."""
    return Arrival(arrival) if isinstance(arrival, Questionnaire) else arrival


def rolled_back(connection: Connection, own: bool) -> Connection:
    """Roll the submission back; the connection to look further with (the session hands out a new one)."""
    if own:
        connection.rollback()
        return connection
    db.session.rollback()
    return db.session.connection()


def stored_id(connection: Connection, submission_id: str) -> int | None:
    """The id of the response already stored under ``submission_id``, if any."""
    return connection.execute(STORED_ID, {"submission_id": submission_id}).scalar()
