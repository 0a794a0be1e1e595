"""What a respondent's link resolves to, read with one Core query per request.

Every page view and every submission starts by turning ``/s/<token>`` or ``/u/<code>`` into the
questionnaire, its published version and the channel or unit code. Through the ORM that was three to
four queries and identity-map bookkeeping on each request, a fifth of a submission's time. Here it is
one ``SELECT`` of the few columns the respondent side reads, into frozen snapshots.

The snapshots carry the same attribute names as the models (``questionnaire.quota``,
``channel.accepted_count``, ``unit.unit_name``…), so ``survey.respond.submit.check_open``, ``survey.respond.pow`` and
the respondent templates take either. Nothing is cached between requests: status, schedule and
counters are read fresh every time, so several app servers always agree (``last_seen`` keeps each link's
last snapshot only to show a submission again with its answers while the database is out). Only the
version's definition, which never changes once published, is read lazily and only when ``survey.respond.frozen``
has not cached it.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, exists, select
from sqlalchemy.exc import DBAPIError

from survey.models import (
    PAPER_CHANNEL,
    Channel,
    Project,
    Questionnaire,
    QuestionnaireVersion,
    Response,
    UnitCode,
)
from survey.platform.driver import first_row
from survey.platform.extensions import db
from survey.respond.submit import unindexed
from survey.responses.capture import Arrival

LOG = logging.getLogger(__name__)
# The columns a lookup reads, each under a name of its own in the row (``row.channel_quota``): the snapshots
# are filled by those names, whatever the columns' order.
Q, V, P = Questionnaire.__table__.c, QuestionnaireVersion.__table__.c, Project.__table__.c
QUESTIONNAIRE_COLUMNS = (
    Q.id, Q.title, Q.status, Q.public_token, Q.opens_at, Q.closes_at, Q.quota, Q.accepted_count,
    Q.one_per_device, Q.ip_limit, Q.ip_window_minutes, Q.min_seconds, Q.pow_bits, Q.anonymous,
    Q.current_version_id, V.number.label("version_number"), V.created_at.label("version_created_at"),
    P.evaluating_org,
)  # fmt: skip
C, U = Channel.__table__.c, UnitCode.__table__.c
CHANNEL_COLUMNS = (
    C.id.label("channel_id"), C.code, C.name, C.quota.label("channel_quota"),
    C.accepted_count.label("channel_accepted_count"),
)  # fmt: skip
UNIT_COLUMNS = (U.id.label("unit_id"), U.unit_name, U.max_uses, U.used)
R = Response.__table__.c
# On a submission the lookup also says whether the device's hash is on a response to the questionnaire
# already (the one-per-device rule of ``survey.responses.capture``): one statement, and one PostgreSQL round trip,
# fewer.
# The questionnaire is kept from the planner's reach for the reason ``unindexed`` gives.
DEVICE_SEEN = (
    exists().where(R.device_hash == bindparam("device"), unindexed(R.questionnaire_id) == Q.id).label("device_seen")
)


@dataclass(frozen=True)
class VersionRef:
    """The published version: what ``survey.respond.frozen`` keys its cache on; the definition only on demand."""

    id: int
    questionnaire_id: int
    number: int
    created_at: datetime

    @property
    def definition(self) -> dict[str, Any]:
        """The frozen definition, read when a cache needs it (once per version and server)."""
        return db.session.execute(select(V.definition).where(V.id == self.id)).scalar_one()


@dataclass(frozen=True)
class ProjectRef:
    """The little of the project the respondent page shows."""

    evaluating_org: str | None


@dataclass(frozen=True)
class QuestionnaireSnapshot:
    """A questionnaire's rules and counters as read at the start of this request."""

    id: int
    title: str
    status: str
    public_token: str
    opens_at: datetime | None
    closes_at: datetime | None
    quota: int | None
    accepted_count: int
    one_per_device: bool
    ip_limit: int | None
    ip_window_minutes: int
    min_seconds: int | None
    pow_bits: int | None
    anonymous: bool
    current_version_id: int
    current_version: VersionRef
    project: ProjectRef


@dataclass(frozen=True)
class ChannelSnapshot:
    """A channel (采集点) link's code, name and counter."""

    id: int
    code: str
    name: str
    quota: int | None
    accepted_count: int


@dataclass(frozen=True)
class UnitSnapshot:
    """A unit code's name and uses."""

    id: int
    unit_name: str
    max_uses: int
    used: int


def _base(*extra) -> Any:
    """The questionnaire with its current version and project, plus ``extra`` columns."""
    return (
        select(*QUESTIONNAIRE_COLUMNS, *extra)
        .join_from(Questionnaire.__table__, QuestionnaireVersion.__table__, V.id == Q.current_version_id)
        .join(Project.__table__, P.id == Q.project_id)
    )


def _lookups(*device: Any) -> tuple:
    """The three lookups (questionnaire link, channel link, unit code), with ``device`` columns last."""
    by_token = _base(*device).where(Q.public_token == bindparam("token"))
    by_channel = (
        _base(*CHANNEL_COLUMNS, *device)
        .join(Channel.__table__, C.questionnaire_id == Q.id)
        .where(C.token == bindparam("token"), C.code != PAPER_CHANNEL)  # paper is keyed in, never answered online
    )
    by_unit = (
        _base(*UNIT_COLUMNS, *device)
        .join(UnitCode.__table__, U.questionnaire_id == Q.id)
        .where(U.code == bindparam("code"))
    )
    return by_token, by_channel, by_unit


BY_TOKEN, BY_CHANNEL, BY_UNIT = _lookups()
DEVICE_LOOKUPS = dict(zip(("token", "channel", "unit"), _lookups(DEVICE_SEEN), strict=True))


def _questionnaire(row) -> QuestionnaireSnapshot:
    """The questionnaire part of a lookup's row (``QUESTIONNAIRE_COLUMNS``), by column name."""
    return QuestionnaireSnapshot(
        id=row.id,
        title=row.title,
        status=row.status,
        public_token=row.public_token,
        opens_at=row.opens_at,
        closes_at=row.closes_at,
        quota=row.quota,
        accepted_count=row.accepted_count,
        one_per_device=bool(row.one_per_device),
        ip_limit=row.ip_limit,
        ip_window_minutes=row.ip_window_minutes,
        min_seconds=row.min_seconds,
        pow_bits=row.pow_bits,
        anonymous=bool(row.anonymous),
        current_version_id=row.current_version_id,
        current_version=VersionRef(row.current_version_id, row.id, row.version_number, row.version_created_at),
        project=ProjectRef(row.evaluating_org),
    )


def _channel(row) -> ChannelSnapshot:
    """The channel part of a channel link's row (``CHANNEL_COLUMNS``), by column name."""
    return ChannelSnapshot(
        id=row.channel_id,
        code=row.code,
        name=row.name,
        quota=row.channel_quota,
        accepted_count=row.channel_accepted_count,
    )


def _unit(row) -> UnitSnapshot:
    """The unit code part of a unit code's row (``UNIT_COLUMNS``), by column name."""
    return UnitSnapshot(id=row.unit_id, unit_name=row.unit_name, max_uses=row.max_uses, used=row.used)


def _lookup(connection: Connection | None, statement: Any, parameters: dict):
    """A lookup's first row: on the respondent page's own connection on the driver's cursor
    (``survey.platform.driver``); on the ORM session's (desk, tests), which may be inside a transaction, the ordinary
    way. Either row reads by column name."""
    if connection is None:
        return db.session.connection().execute(statement, parameters).first()
    return first_row(connection, statement, parameters)


def arrival_by_token(token: str, connection: Connection | None = None, device: str | None = None) -> Arrival | None:
    """The arrival behind a questionnaire link or a channel link; ``None`` if unknown or never published.

    ``connection`` is the respondent page's own (``survey.respond.public_views``); by default the ORM session's. With
    ``device`` (a submission's device hash) the arrival also says whether that device answered already.
    """
    parameters = {"token": token, "device": device}
    row = _lookup(connection, DEVICE_LOOKUPS["token"] if device else BY_TOKEN, parameters)
    if row is not None:
        return _remember("token", token, _arrival(row, device))
    row = _lookup(connection, DEVICE_LOOKUPS["channel"] if device else BY_CHANNEL, parameters)
    if row is None:
        return None
    return _remember("token", token, _arrival(row, device, channel=_channel(row)))


def arrival_by_unit(code: str, connection: Connection | None = None, device: str | None = None) -> Arrival | None:
    """The arrival behind a unit code; ``None`` if unknown or its questionnaire was never published."""
    row = _lookup(connection, DEVICE_LOOKUPS["unit"] if device else BY_UNIT, {"code": code, "device": device})
    if row is None:
        return None
    return _remember("unit", code, _arrival(row, device, unit=_unit(row)))


LAST_SEEN_LINKS = 1024  # links whose last lookup this process keeps for the page shown while the database is out
_last_seen: OrderedDict[tuple[str, str], Arrival] = OrderedDict()
_last_seen_lock = threading.Lock()


def _remember(kind: str, link: str, arrival: Arrival) -> Arrival:
    """Keep the arrival this process last read for a link (``last_seen``); returns it unchanged."""
    with _last_seen_lock:
        _last_seen[(kind, link)] = replace(arrival, device_seen=None)
        _last_seen.move_to_end((kind, link))
        if len(_last_seen) > LAST_SEEN_LINKS:
            _last_seen.popitem(last=False)
    return arrival


def last_seen(kind: str, link: str) -> Arrival | None:
    """The arrival this process last read for a link (``kind`` ``token`` or ``unit``), or ``None``.

    For one purpose only: while the database cannot be reached, a submission is shown again filled in, with
    its answers, instead of a page that has lost them (``survey.respond.public_views``). Nothing is decided on it (its
    status and counters may be stale): nothing is stored while the database is out anyway.
    """
    with _last_seen_lock:
        return _last_seen.get((kind, link))


def _arrival(
    row, device: str | None, channel: ChannelSnapshot | None = None, unit: UnitSnapshot | None = None
) -> Arrival:
    """An ``Arrival`` from a lookup's row: its questionnaire, the link read from it, and with ``device`` whether
    that device answered already (``DEVICE_SEEN``)."""
    seen = (device, bool(row.device_seen)) if device else None
    return Arrival(_questionnaire(row), channel=channel, unit=unit, device_seen=seen)


@contextmanager
def page_connection() -> Iterator[Connection]:
    """The respondent pages' own Core connection, outside the ORM session (whose bookkeeping per request
    cost more than the queries here).

    On PostgreSQL each statement commits on its own (autocommit): a page view's one SELECT is then one
    round trip instead of BEGIN, SELECT and ROLLBACK, and a submission writes in one statement
    (``survey.respond.submit.ONE_STATEMENT``), so the questionnaire's counter row is never locked across a round
    trip. When a submission has to fall back to several statements it opens a transaction itself. On
    SQLite (which starts no transaction for a SELECT anyway) a submission's reads and writes share one
    transaction, which ``survey.respond.submit.submit_response`` commits or rolls back; whatever is left open is
    rolled back when the connection goes back to the pool.
    """
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection


def once_more_if_disconnected(view: Callable) -> Callable:
    """Run a submission's view a second time, on a new connection, when its pooled one proves dead.

    Pooled connections are pinged only after lying idle (``survey.platform.extensions.ping_after_idle``), so one the
    database dropped while it was in recent use (a restart, a failover) fails on its first statement, and
    SQLAlchemy reopens the pool's older connections. A submission carries its ``submission_id``, so running
    it again is safe even if its write landed just before the connection went: the second run finds it
    stored and thanks the respondent (``submit_response``). Only the view runs again, not the request's
    hooks, so the rate limits count the submission once. Reads are run again by ``survey.platform.web.SurveyFlask``.
    """

    @functools.wraps(view)
    def run(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            LOG.warning("database connection lost during %s; the request is run once more", view.__name__)
            return view(*args, **kwargs)

    return run
