"""A citizen's submission through a public link: the link's rules, then the write, each as cheap as it can be.

The respondent path's speed measures for storing live here (``survey.respond`` holds them all): prebuilt Core
statements run on the driver's cursor (``survey.platform.driver``); on PostgreSQL the quota claims and the INSERT
are one autocommitted statement (``ONE_STATEMENT``: WITH … UPDATE … RETURNING, INSERT … SELECT), so no counter
row is locked across a round trip, falling back to separate statements (which say which limit was reached); the
device and IP checks keep the questionnaire out of the planner's reach (``unindexed``). The row itself is
``survey.responses.capture.response_row``, the one every way in writes.

Order of checks: a repeated ``submission_id`` is the same submission again (double tap, network retry) and
changes nothing; then the questionnaire's rules (schedule, one per device, a per-IP limit, the unit code's uses,
quotas) each refuse with a reason a citizen understands. Quota counters are claimed with a conditional
``UPDATE … WHERE count < quota``: both SQLite (one writer at a time) and PostgreSQL (row lock, re-checked after
the wait) make that atomic, so concurrent phones cannot overshoot a quota."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Connection, bindparam, exists, func, insert, literal_column, select
from sqlalchemy.exc import IntegrityError

from survey.models import Questionnaire, Response, utcnow
from survey.platform.driver import first_row
from survey.platform.errors import Refused
from survey.platform.extensions import db
from survey.platform.hashing import device_hash, keyed_hash
from survey.responses.capture import (
    CHANNEL_PLACES,
    CLAIM_CHANNEL,
    CLAIM_QUESTIONNAIRE,
    CLAIM_UNIT,
    CLAIMS_RETURNING_ID,
    INSERT_RESPONSE,
    NUMBER,
    QUESTIONNAIRE_PLACES,
    RESPONSE,
    UNIT_PLACES,
    Arrival,
    arrival_of,
    claim_statement,
    numbered,
    response_row,
    rolled_back,
    stored_id,
)
from survey.responses.coding import Coder


def seconds_since(started_iso: str | None, now: datetime) -> int | None:
    """Time taken, from the timestamp written into the form when it was served; ``None`` if unusable."""
    try:
        started = datetime.fromisoformat(started_iso or "")
    except ValueError:
        return None
    elapsed = int((now - started).total_seconds())
    return elapsed if 0 <= elapsed <= 7 * 24 * 3600 else None


def check_open(arrival: Arrival, now: datetime | None = None) -> None:
    """Raise ``Refused`` if the questionnaire (or the channel, or the unit code) takes no answers now."""
    questionnaire, now = arrival.questionnaire, now or utcnow()
    if questionnaire.status != "published" or (questionnaire.closes_at and now >= questionnaire.closes_at):
        raise Refused(_l("问卷已结束"), _l("这份问卷已经停止收集答卷，感谢您的关注。"), 410)
    if questionnaire.opens_at and now < questionnaire.opens_at:
        raise Refused(_l("问卷尚未开始"), _l("这份问卷还没有开始收集，请在开始时间之后再来填写。"), 403)
    if questionnaire.quota is not None and questionnaire.accepted_count >= questionnaire.quota:
        raise Refused(_l("问卷已收满"), _l("这份问卷已经收满所需的份数，感谢您的支持。"), 410)
    channel = arrival.channel
    if channel and channel.quota is not None and channel.accepted_count >= channel.quota:
        raise Refused(_l("本采集点已收满"), _l("这个采集点的问卷已经收满，感谢您的支持。"), 410)
    if arrival.unit and arrival.unit.used >= arrival.unit.max_uses:
        raise Refused(_l("单位码已用完"), _l("这个单位码的填写次数已经用完。如需再填，请联系评价组。"), 410)


def unindexed(column):
    """``column + 0``: the same value, which no index can serve (PostgreSQL and SQLite alike).

    The person checks below also name the questionnaire. Left indexable, ``questionnaire_id`` let the
    planner choose among every index it leads, and on a table without statistics PostgreSQL chose
    (questionnaire_id, status) with the device as a filter: a read of every response of the questionnaire
    on each submission, in a generic plan a connection then kept (1.2 ms of database time per submission
    after 1,000 responses, and growing). With the questionnaire out of reach the person's own index,
    which leads with the person's hash (migration 0012), is the only one left.
    """
    return column + literal_column("0")


# The statements of a submission are built once: SQLAlchemy then finds each one's compiled form in its
# cache without building and hashing a new statement object on every request.
DEVICE_ANSWERED = (
    select(RESPONSE.c.id)
    .where(RESPONSE.c.device_hash == bindparam("device"), unindexed(RESPONSE.c.questionnaire_id) == bindparam("qid"))
    .limit(1)
)
RECENT_FROM_IP = select(func.count()).where(
    RESPONSE.c.ip_hash == bindparam("ip_hash"),
    unindexed(RESPONSE.c.questionnaire_id) == bindparam("qid"),
    RESPONSE.c.submitted_at >= bindparam("since"),
)

# The columns a submission writes besides ``questionnaire_id`` (``status`` and ``reviewed`` as a new row has them).
WRITTEN = (
    "version_id", "submission_id", "submitted_at", "duration_seconds", "channel", "device_hash", "ip_hash",
    "unit_code_id", "unit_name", "answers", "codes", "extras", "flags", "status", "reviewed", "mode",
)  # fmt: skip


def _one_statement(link_places: tuple | None):
    """A submission's writes as one PostgreSQL statement: claim the places, insert the response, return its id.

    ``WITH claimed AS (UPDATE questionnaire … RETURNING id, number) INSERT INTO response … SELECT … FROM claimed``:
    the response is inserted only if its questionnaire's place was claimed, under the number claimed with it.
    With a channel or unit code the link's place is claimed first and the questionnaire's only if that
    succeeded; the response's
    ``questionnaire_id`` is then read from the questionnaire's claim, so a link place claimed while the
    questionnaire was full leaves a NULL there, the NOT NULL constraint fails the statement, and PostgreSQL
    undoes the link's claim with it. No row returned (nothing claimed) or that failure both mean some limit
    was reached, and nothing at all was written.
    """
    also, link_claim = (), None
    if link_places:
        link_table = link_places[0].__table__
        link_claim = claim_statement(*link_places, "link_row").returning(link_table.c.id).cte("claimed_link")
        also = (exists(select(link_claim.c.id)),)
    questionnaire_claim = (
        claim_statement(*QUESTIONNAIRE_PLACES, "questionnaire_row", *also)
        .returning(Questionnaire.__table__.c.id, NUMBER)
        .cte("claimed")
    )
    # Parameter names must not be column names of the claimed tables: SQLAlchemy would add them to the SET.
    values = [bindparam("new_" + name, type_=RESPONSE.c[name].type) for name in WRITTEN]
    claimed = (questionnaire_claim.c.id, questionnaire_claim.c[NUMBER.name])
    if link_places:
        claimed = tuple(select(column).scalar_subquery() for column in claimed)
        rows = select(*claimed, *values).select_from(link_claim)
    else:
        rows = select(*claimed, *values)
    return insert(RESPONSE).from_select(("questionnaire_id", "number", *WRITTEN), rows).returning(RESPONSE.c.id)


ONE_STATEMENT = {"questionnaire": _one_statement(None), "channel": _one_statement(CHANNEL_PLACES),
                 "unit": _one_statement(UNIT_PLACES)}  # fmt: skip

# The several-statement write (SQLite's, and PostgreSQL's when a limit was reached) as the driver's cursor runs
# it on the respondent page's own connection (``survey.platform.driver``): each statement names its parameters, and
# says what it did by the id it returns (the stored response's; a claimed place's row).
INSERT_RETURNING_ID = (
    insert(RESPONSE)
    .values({name: bindparam(name, type_=RESPONSE.c[name].type) for name in ("questionnaire_id", "number", *WRITTEN)})
    .returning(RESPONSE.c.id)
)


def _check_person(connection: Connection, arrival: Arrival, device: str | None, ip_hash: str | None) -> None:
    """One response per device (when set) and at most ``ip_limit`` per hashed IP in the window."""
    questionnaire = arrival.questionnaire
    if questionnaire.one_per_device and device and _answered_before(connection, arrival, device):
        message = _l("这台设备已经提交过这份问卷，每台设备只能提交一次。感谢您的参与！")
        raise Refused(_l("您已经提交过"), message, 409)
    if questionnaire.ip_limit and ip_hash:
        since = utcnow() - timedelta(minutes=questionnaire.ip_window_minutes)
        parameters = {"qid": questionnaire.id, "ip_hash": ip_hash, "since": since}
        recent = connection.execute(RECENT_FROM_IP, parameters).scalar()
        if recent >= questionnaire.ip_limit:
            raise Refused(_l("提交太频繁"), _l("同一网络在短时间内提交的问卷已达上限，请稍后再试。"), 429)


def _answered_before(connection: Connection, arrival: Arrival, device: str) -> bool:
    """Whether this device answered the questionnaire already: as the link lookup found it when it looked
    (``survey.respond.arrivals``, a submission), else by one indexed query (the desk, tests)."""
    if arrival.device_seen is not None and arrival.device_seen[0] == device:
        return arrival.device_seen[1]
    return _device_answered(connection, arrival.questionnaire.id, device)


def _device_answered(connection: Connection, questionnaire_id: int, device: str) -> bool:
    """Whether this device's hash is on a response to the questionnaire already (indexed lookup)."""
    parameters = {"device": device, "qid": questionnaire_id}
    return connection.execute(DEVICE_ANSWERED, parameters).first() is not None


def _claim(connection: Connection, statement, row_id: int, on_driver: bool) -> bool:
    """Run a ``claim_statement`` for one row; whether the place was claimed.

    ``on_driver``: on the driver's cursor (``survey.platform.driver``), where the claimed row's returned id says it.
    """
    if on_driver:
        return first_row(connection, CLAIMS_RETURNING_ID[statement], {"row_id": row_id}) is not None
    return connection.execute(statement, {"row_id": row_id}).rowcount == 1


def _claim_number(connection: Connection, arrival: Arrival, on_driver: bool) -> int:
    """Claim the questionnaire's place and the response's number, or raise ``Refused`` (the caller rolls back)."""
    number = numbered(connection, CLAIM_QUESTIONNAIRE, arrival.questionnaire.id, on_driver)
    if number is None:
        raise Refused(_l("问卷已收满"), _l("这份问卷已经收满所需的份数，您的回答没有被保存。感谢您的支持。"), 410)
    return number


def _claim_link_slots(connection: Connection, arrival: Arrival, on_driver: bool = False) -> None:
    """Claim the channel's or unit code's place this response needs, or raise ``Refused``."""
    if arrival.channel and not _claim(connection, CLAIM_CHANNEL, arrival.channel.id, on_driver):
        raise Refused(_l("本采集点已收满"), _l("这个采集点的问卷已经收满，您的回答没有被保存。感谢您的支持。"), 410)
    if arrival.unit and not _claim(connection, CLAIM_UNIT, arrival.unit.id, on_driver):
        message = _l("这个单位码的填写次数已经用完，您的回答没有被保存。如需再填，请联系评价组。")
        raise Refused(_l("单位码已用完"), message, 410)


def start_flags(questionnaire: Questionnaire, started: datetime | None) -> list[str]:
    """``too_fast`` for a public submission whose start the server did not sign (``survey.respond.form_token``).

    Its time taken is unknown: no token, or a time the client wrote itself, which is what a script writes to
    look slow. Judged too fast rather than trusted; an evaluator reviewing the flag sees no duration.
    """
    return ["too_fast"] if questionnaire.min_seconds and started is None else []


def arrival_flags(connection: Connection, arrival: Arrival, duration: int | None, device: str | None) -> list[str]:
    """Flags only the server can set: answered too fast, or a device that answered before."""
    flags, questionnaire = [], arrival.questionnaire
    if questionnaire.min_seconds and duration is not None and duration < questionnaire.min_seconds:
        flags.append("too_fast")
    if device and not questionnaire.one_per_device and _answered_before(connection, arrival, device):
        flags.append("duplicate_device")
    return flags


def submit_response(
    arrival: Arrival | Questionnaire,
    answers: dict,
    submission_id: str,
    started_iso: str | None = None,
    device_token: str | None = None,
    ip_address: str | None = None,
    flags: list[str] | None = None,
    channel: str | None = None,
    coder: Coder | None = None,
    connection: Connection | None = None,
) -> tuple[int, bool]:
    """A citizen's submission through a public link: ``(response id, created)``, or ``Refused``, nothing stored.

    The link's rules (schedule, one per device, the per-IP limit, quotas, the unit code's uses) are checked and
    its places claimed with the response's number (第 N 号), so that no phone overshoots a limit. ``arrival``
    may hold models or ``survey.respond.arrivals`` snapshots. ``connection`` is the respondent page's own Core
    connection, committed or rolled back here: on PostgreSQL (autocommit) the write is one statement
    (``ONE_STATEMENT``), on SQLite a transaction of statements on the driver's cursor. Without it the ORM
    session's connection is used the ordinary way (demo, tests), and the session committed or rolled back.
    ``channel`` records another channel code than the link's (tests).

    A ``submission_id`` that is already stored (double tap, network retry) stores nothing and returns the
    stored response, even when the rules would now refuse (full, closed, device already answered): that
    refusal is the first submission's own doing. The unique index decides races.
    """
    arrival, now = arrival_of(arrival), utcnow()
    device, ip_hash = _person_hashes(arrival.questionnaire, device_token, ip_address)
    own = connection is not None
    connection = connection if own else db.session.connection()
    try:
        check_open(arrival, now)
        _check_person(connection, arrival, device, ip_hash)
        duration = seconds_since(started_iso, now)
        flags = [*(flags or ()), *arrival_flags(connection, arrival, duration, device)]
        person = {"duration": duration, "device": device, "ip_hash": ip_hash, "channel": channel}
        row = response_row(arrival, answers, submission_id, "web", flags, coder, now, **person)
        if own and _autocommit(connection):
            outcome = _insert_in_one_statement(connection, arrival, row)
            if outcome is not None:
                return outcome
            _begin_transaction(connection)  # a limit was reached: the statements below say which, or store
        response_id = _claim_and_insert(connection, arrival, row, own and _returns_written_rows(connection))
        _commit(connection, own)
    except (Refused, IntegrityError):
        # Refused, or two taps raced past each other: a submission already stored is that response.
        stored = stored_id(rolled_back(connection, own), submission_id)
        if stored is None:
            raise
        return stored, False
    return response_id, True


def store_response(arrival: Arrival | Questionnaire, *args, **details) -> tuple[Response, bool]:
    """``submit_response`` (same arguments) through the ORM session, returning the stored ``Response`` row:
    a respondent's submission as the demo and the tests make it."""
    response_id, created = submit_response(arrival, *args, **details)
    return db.session.get(Response, response_id), created


def _person_hashes(questionnaire, device_token: str | None, ip_address: str | None) -> tuple[str | None, str | None]:
    """The device's and the IP's keyed hashes: none at all on an anonymous questionnaire (``survey.privacy.retention``),
    and the IP's only where a per-IP limit needs it."""
    if questionnaire.anonymous:
        return None, None
    return device_hash(device_token), keyed_hash("ip", ip_address) if questionnaire.ip_limit else None


def _claim_and_insert(connection: Connection, arrival: Arrival, row: dict, on_driver: bool) -> int:
    """A submission's several-statement write (SQLite's; PostgreSQL's when a limit was reached): claim the
    questionnaire's place with the response's number, insert the response, claim the link's place; its id.

    The writes come last and back to back: the first, the questionnaire's claim that also takes the response's
    number, takes SQLite's write lock (on PostgreSQL it locks the questionnaire's row), held until the commit,
    so nothing else runs then and no other response can take the same number. ``on_driver``: on the driver's
    cursor (the respondent page's own connection, ``survey.platform.driver``).
    """
    row["number"] = _claim_number(connection, arrival, on_driver)
    if on_driver:
        response_id = first_row(connection, INSERT_RETURNING_ID, row)[0]
    else:
        response_id = connection.execute(INSERT_RESPONSE, row).inserted_primary_key[0]
    _claim_link_slots(connection, arrival, on_driver)
    return response_id


def _commit(connection: Connection, own: bool) -> None:
    """Commit the submission: the page's own connection, or the ORM session that lent its connection."""
    if own:
        connection.commit()
    else:
        db.session.commit()


def _returns_written_rows(connection: Connection) -> bool:
    """Whether the database returns rows from INSERT and UPDATE (SQLite from 3.35, every PostgreSQL we take)."""
    dialect = connection.dialect
    return bool(dialect.insert_returning and dialect.update_returning)


def _autocommit(connection: Connection) -> bool:
    """Whether each statement on ``connection`` commits on its own (the respondent pages' on PostgreSQL)."""
    return connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"


def _insert_in_one_statement(connection: Connection, arrival: Arrival, row: dict) -> tuple[int, bool] | None:
    """Claim the places and insert the response in one autocommitted statement (``ONE_STATEMENT``):
    ``(id, True)`` when stored, ``(id of the stored one, False)`` for a repeated ``submission_id``, ``None``
    when a limit was reached and nothing was written.

    Why one statement: every submission claims a place on its questionnaire's row, so each one waits for the
    one before it to release that row lock. As separate statements in a transaction the lock was held over
    the UPDATE's and the COMMIT's round trips, and over the wait of the worker's thread for its turn on the
    CPU in between: under 50 phones most PostgreSQL sessions were found waiting on that lock. Here the lock
    is taken and released inside the server, for the time of one statement and its commit.
    """
    kind = "channel" if arrival.channel else "unit" if arrival.unit else "questionnaire"
    link = arrival.channel or arrival.unit
    parameters = {"new_" + name: value for name, value in row.items() if name in WRITTEN}
    parameters.update(questionnaire_row=arrival.questionnaire.id, link_row=link.id if link else None)
    try:
        returned = first_row(connection, ONE_STATEMENT[kind], parameters)  # on the driver's cursor (platform.driver)
        response_id = returned[0] if returned is not None else None
    except IntegrityError:
        connection.rollback()
        stored = stored_id(connection, row["submission_id"])
        # Either the same submission again, or a link's place claimed while the questionnaire was full
        # (undone with the statement).
        return (stored, False) if stored is not None else None
    return (response_id, True) if response_id is not None else None


def _begin_transaction(connection: Connection) -> None:
    """Leave autocommit: the statements that follow share one transaction, committed or rolled back at the end."""
    connection.rollback()
    connection.execution_options(isolation_level=connection.default_isolation_level)
