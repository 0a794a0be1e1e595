"""What a respondent's link resolves to, read with one Core query per request.

Every page view and every submission starts by turning ``/s/<token>`` or ``/u/<code>`` into the
questionnaire, its published version and the channel or unit code. Through the ORM that was three to
four queries and identity-map bookkeeping on each request, a fifth of a submission's time. Here it is
one ``SELECT`` of the few columns the respondent side reads, into frozen snapshots.

The snapshots carry the same attribute names as the models (``questionnaire.quota``,
``channel.accepted_count``, ``unit.unit_name``…), so ``survey.capture.check_open``, ``survey.pow`` and
the respondent templates take either. Nothing is cached between requests: status, schedule and
counters are read fresh every time, so several app servers always agree. Only the version's definition,
which never changes once published, is read lazily and only when ``survey.frozen`` has not cached it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from survey.capture import Arrival
from survey.extensions import db
from survey.models import Channel, Project, Questionnaire, QuestionnaireVersion, UnitCode

Q, V, P = Questionnaire.__table__.c, QuestionnaireVersion.__table__.c, Project.__table__.c
QUESTIONNAIRE_COLUMNS = (
    Q.id, Q.title, Q.status, Q.public_token, Q.opens_at, Q.closes_at, Q.quota, Q.accepted_count,
    Q.one_per_device, Q.ip_limit, Q.ip_window_minutes, Q.min_seconds, Q.pow_bits, Q.anonymous,
    Q.current_version_id, V.number, V.created_at, P.evaluating_org,
)  # fmt: skip
C, U = Channel.__table__.c, UnitCode.__table__.c
CHANNEL_COLUMNS = (C.id, C.code, C.name, C.quota, C.accepted_count)
UNIT_COLUMNS = (U.id, U.unit_name, U.max_uses, U.used)


@dataclass(frozen=True)
class VersionRef:
    """The published version: what ``survey.frozen`` keys its cache on; the definition only on demand."""

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


BY_TOKEN = _base().where(Q.public_token == bindparam("token"))
BY_CHANNEL = (
    _base(*CHANNEL_COLUMNS).join(Channel.__table__, C.questionnaire_id == Q.id).where(C.token == bindparam("token"))
)
BY_UNIT = _base(*UNIT_COLUMNS).join(UnitCode.__table__, U.questionnaire_id == Q.id).where(U.code == bindparam("code"))


def _questionnaire(row) -> QuestionnaireSnapshot:
    """The questionnaire part of a row of ``_base`` (columns in ``QUESTIONNAIRE_COLUMNS`` order)."""
    *rules, version_id, number, created_at, org = row[: len(QUESTIONNAIRE_COLUMNS)]
    qid, title, status, token, opens_at, closes_at, quota, accepted, one_per_device, *rest = rules
    ip_limit, window, min_seconds, pow_bits, anonymous = rest
    return QuestionnaireSnapshot(
        id=qid,
        title=title,
        status=status,
        public_token=token,
        opens_at=opens_at,
        closes_at=closes_at,
        quota=quota,
        accepted_count=accepted,
        one_per_device=bool(one_per_device),
        ip_limit=ip_limit,
        ip_window_minutes=window,
        min_seconds=min_seconds,
        pow_bits=pow_bits,
        anonymous=bool(anonymous),
        current_version_id=version_id,
        current_version=VersionRef(version_id, qid, number, created_at),
        project=ProjectRef(org),
    )


def arrival_by_token(token: str, connection: Connection | None = None) -> Arrival | None:
    """The arrival behind a questionnaire link or a channel link; ``None`` if unknown or never published.

    ``connection`` is the respondent page's own (``survey.public``); by default the ORM session's.
    """
    connection = connection or db.session.connection()
    row = connection.execute(BY_TOKEN, {"token": token}).first()
    if row is not None:
        return Arrival(_questionnaire(row))
    row = connection.execute(BY_CHANNEL, {"token": token}).first()
    if row is None:
        return None
    return Arrival(_questionnaire(row), channel=ChannelSnapshot(*row[len(QUESTIONNAIRE_COLUMNS) :]))


def arrival_by_unit(code: str, connection: Connection | None = None) -> Arrival | None:
    """The arrival behind a unit code; ``None`` if unknown or its questionnaire was never published."""
    row = (connection or db.session.connection()).execute(BY_UNIT, {"code": code}).first()
    if row is None:
        return None
    return Arrival(_questionnaire(row), unit=UnitSnapshot(*row[len(QUESTIONNAIRE_COLUMNS) :]))


@contextmanager
def page_connection(writing: bool) -> Iterator[Connection]:
    """The respondent pages' own Core connection, outside the ORM session (whose bookkeeping per request
    cost more than the queries here).

    A page view only reads, in autocommit on PostgreSQL: its one SELECT is then one round trip instead of
    BEGIN, SELECT and ROLLBACK. (SQLite starts no transaction for a SELECT anyway.) A submission's reads
    and writes share one transaction, which ``survey.capture.insert_response`` commits or rolls back;
    whatever is left open is rolled back when the connection goes back to the pool.
    """
    with db.engine.connect() as connection:
        if not writing and connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection
