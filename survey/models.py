"""Typed SQLAlchemy 2.0 models.

A questionnaire is edited as a draft definition; publishing freezes it into a
``QuestionnaireVersion`` (a JSON snapshot, never rewritten), and every ``Response`` points at the
version it answered. Answers live in one JSON document per response, keyed by stable question
keys: a submission is one INSERT (stored whole or not at all), and analysis reads one row per
response instead of joining twenty answer rows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext
from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.platform.extensions import db
from survey.platform.server_time import utc_now
from survey.platform.tokens import new_link_token


def utcnow() -> datetime:
    """Timestamps are stored in UTC and shown in Asia/Shanghai by Flask-Babel."""
    return datetime.now(UTC).replace(tzinfo=None)


def new_public_token() -> str:
    """Short, unguessable link token a person can type from a poster (``survey.platform.tokens``: 10 characters of
    Crockford's base32, 50 bits, which keep the QR code small)."""
    return new_link_token()


class User(UserMixin, db.Model):
    """An evaluator account (评价组成员)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Login throttling: consecutive failures, and the time before which the account refuses logins.
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    # The last sign-in attempt: failures further apart than a day start the count afresh (survey.accounts.users).
    last_login_attempt_at: Mapped[datetime | None]
    # Bumped on "log out everywhere" and password change: sessions carrying an older number are refused.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    password_changed_at: Mapped[datetime | None]

    memberships: Mapped[list[ProjectMember]] = relationship(back_populates="user", cascade="all, delete-orphan")
    sessions: Mapped[list[UserSession]] = relationship(cascade="all, delete-orphan", passive_deletes=True)

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        """Flask-Login refuses sessions of deactivated accounts."""
        return self.active


class UserSession(db.Model):
    """One signed-in browser: signing out deletes its row, so every copy of that session cookie dies with it.

    Only the SHA-256 of the session's secret is kept (the secret lives in the signed cookie), as for API tokens.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginThrottle(db.Model):
    """Failed sign-ins under a username no account has, counted like ``User.failed_logins`` so that the
    answers (and the lock) for an unknown name are the same as for a real one. Keyed by a keyed hash."""

    name_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None]
    last_login_attempt_at: Mapped[datetime | None] = mapped_column(index=True)


class Project(db.Model):
    """An evaluation project (评价项目): one spending project evaluated for a finance bureau."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    region: Mapped[str] = mapped_column(String(100), default="")
    year: Mapped[int | None]
    evaluated_unit: Mapped[str] = mapped_column(String(200), default="")  # 被评价单位
    budget: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))  # 预算金额（元）
    evaluating_org: Mapped[str] = mapped_column(String(200), default="")  # 评价机构
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    members: Mapped[list[ProjectMember]] = relationship(back_populates="project", cascade="all, delete-orphan")
    questionnaires: Mapped[list[Questionnaire]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="Questionnaire.id"
    )


class ProjectMember(db.Model):
    """Who may see and change a project: every evaluator route checks this row exists."""

    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(
        String(20), default="owner"
    )  # owner / editor / viewer (survey.accounts.access.ROLES)

    project: Mapped[Project] = relationship(back_populates="members")
    user: Mapped[User] = relationship(back_populates="memberships")


class Questionnaire(db.Model):
    """A questionnaire of a project: a draft definition plus its frozen, published versions."""

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    template_key: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft / published / closed
    public_token: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_token)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)  # the editable draft
    issued_count: Mapped[int | None]  # 发放份数, entered by the evaluator
    # Collection rules (issue: collection in the field). All optional; None means "no limit".
    opens_at: Mapped[datetime | None]  # UTC
    closes_at: Mapped[datetime | None]  # UTC
    target: Mapped[int | None]  # target sample size (目标样本量)
    population: Mapped[int | None]  # 总体规模 N, for the finite-population correction
    quota: Mapped[int | None]  # stop accepting after this many submissions
    accepted_count: Mapped[int] = mapped_column(default=0, server_default="0")  # counter the quota is checked on
    one_per_device: Mapped[bool] = mapped_column(default=True, server_default="1")
    ip_limit: Mapped[int | None]  # at most this many submissions per hashed IP ...
    ip_window_minutes: Mapped[int] = mapped_column(default=60, server_default="60")  # ... in this window
    min_seconds: Mapped[int | None] = mapped_column(default=30)  # faster than this is flagged "too fast"
    # The number the newest response was given (第 N 号): claimed with the quota counter, never decremented,
    # so a number is never given twice even after responses are deleted (survey.responses.numbers).
    last_response_number: Mapped[int] = mapped_column(default=0, server_default="0")
    # Abuse control and privacy (issue: security). Proof-of-work difficulty in leading zero bits; None = off.
    pow_bits: Mapped[int | None]
    # Collect nothing identifying: no device cookie, no IP hash; one-per-device and IP limits cannot apply.
    anonymous: Mapped[bool] = mapped_column(default=False, server_default="0")
    retention_days: Mapped[int | None]  # responses older than this (after closing) are purged; None = keep
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("questionnaire_version.id", use_alter=True, ondelete="SET NULL")
    )

    project: Mapped[Project] = relationship(back_populates="questionnaires")
    versions: Mapped[list[QuestionnaireVersion]] = relationship(
        back_populates="questionnaire",
        foreign_keys="QuestionnaireVersion.questionnaire_id",
        cascade="all, delete-orphan",
        order_by="QuestionnaireVersion.number",
    )
    current_version: Mapped[QuestionnaireVersion | None] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )
    channels: Mapped[list[Channel]] = relationship(
        back_populates="questionnaire", cascade="all, delete-orphan", order_by="Channel.id"
    )
    unit_codes: Mapped[list[UnitCode]] = relationship(
        back_populates="questionnaire", cascade="all, delete-orphan", order_by="UnitCode.id"
    )
    population_tables: Mapped[list[PopulationTable]] = relationship(
        back_populates="questionnaire", cascade="all, delete-orphan", order_by="PopulationTable.id"
    )
    weighting: Mapped[WeightingScheme | None] = relationship(
        back_populates="questionnaire", cascade="all, delete-orphan", uselist=False
    )
    sample_plan: Mapped[SamplePlan | None] = relationship(
        back_populates="questionnaire", cascade="all, delete-orphan", uselist=False
    )
    round_link: Mapped[RoundLink | None] = relationship(
        back_populates="questionnaire",
        cascade="all, delete-orphan",
        uselist=False,
        foreign_keys="RoundLink.questionnaire_id",
    )


# The system channel's code and the name it is stored under: shown through gettext in the reader's language.
PAPER_CHANNEL = "paper"
PAPER_CHANNEL_NAME = "纸质问卷"  # a msgid (marked in survey.collection.collection_views), never translated when stored


class Channel(db.Model):
    """采集点/渠道: where answers come from (a community, a station, a hall, paper), with its own link."""

    __table_args__ = (UniqueConstraint("questionnaire_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))  # stored on responses: "web", "paper", "c3"…
    name: Mapped[str] = mapped_column(String(100))
    token: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_token)
    target: Mapped[int | None]
    quota: Mapped[int | None]
    issued: Mapped[int | None]  # 发放份数 for this channel (paper rounds)
    accepted_count: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="channels")

    @property
    def label(self) -> str:
        """The name to show: the system paper channel in the reader's language, unless the evaluator renamed it."""
        if self.code == PAPER_CHANNEL and self.name == PAPER_CHANNEL_NAME:
            return gettext(PAPER_CHANNEL_NAME)
        return self.name


class UnitCode(db.Model):
    """服务对象单位码: a serving-object unit's own link, usable ``max_uses`` times."""

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id", ondelete="CASCADE"), index=True)
    unit_name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_token)
    max_uses: Mapped[int] = mapped_column(default=1)
    used: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="unit_codes")


class QuestionnaireVersion(db.Model):
    """A frozen snapshot of a definition, made at publish; responses point here, so it never changes."""

    __table_args__ = (UniqueConstraint("questionnaire_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id", ondelete="CASCADE"))
    number: Mapped[int]
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="versions", foreign_keys=[questionnaire_id])


class Response(db.Model):
    """One submitted questionnaire with all its answers; excluded responses are kept with their reason."""

    __table_args__ = (
        Index("ix_response_questionnaire_status", "questionnaire_id", "status"),
        # The one-per-device and per-IP checks of every public submission (survey.responses.capture) read these
        # alone. They lead with the person: an index led by questionnaire_id ties with the one above on an
        # empty table, and a plan cached then reads every response of the questionnaire (migration 0012).
        Index("ix_response_device_questionnaire", "device_hash", "questionnaire_id"),
        Index("ix_response_ip_questionnaire", "ip_hash", "questionnaire_id", "submitted_at"),
        # 第 N 号 within the questionnaire: unique, and the response browser's order and pages.
        Index("ux_response_questionnaire_number", "questionnaire_id", "number", unique=True),
        # 来源行号（序号）: finding an imported response by its row in the file (the response browser's filter).
        Index("ix_response_questionnaire_source_row", "questionnaire_id", "source_row"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_version.id"))
    # Set when the form is served; a second POST with the same id (double tap, retry) stores nothing new.
    submission_id: Mapped[str] = mapped_column(String(64), unique=True)
    # None only for an imported response whose file had no time and no date was given (shown as 时间不详).
    submitted_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    # When this service stored the row (UTC), known for every row: retention ages a response whose
    # submitted_at is unknown by this instead (survey.privacy.retention). The database fills it for rows written
    # around the ORM (the respondent path's compiled insert, bulk loads). Only the database fills it: a Python
    # default would put the column into compiled inserts, whose parameters then carry NULL for it.
    received_at: Mapped[datetime] = mapped_column(server_default=utc_now())
    # 第 N 号: the questionnaire's own sequence, given at insert from ``Questionnaire.last_response_number``.
    # None only for rows written around the application (bulk loads); ``survey.responses.numbers`` fills those.
    number: Mapped[int | None]
    mode: Mapped[str] = mapped_column(String(8), default="web", server_default="web")  # web / paper / import
    # 来源行号（序号）of an imported response: 问卷星's 序号 (the column mapped to it), else its data row in the
    # file (the first row under the header is 1, as 序号 counts); None for responses not imported.
    source_row: Mapped[int | None]
    duration_seconds: Mapped[int | None]  # time taken, from serving the form to submitting it
    channel: Mapped[str] = mapped_column(String(32), default="web")
    device_hash: Mapped[str | None] = mapped_column(String(64))  # salted hash, never the raw token
    # valid / excluded (out of the rates, still a returned questionnaire) / voided (a keyed-in entry made in
    # error: out of every count, kept with its revisions)
    status: Mapped[str] = mapped_column(String(16), default="valid")
    exclusion_reason: Mapped[str | None] = mapped_column(Text)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    # One character per single-answer item of the version, derived from ``answers`` (survey.responses.coding): read
    # for a million responses in a second, where parsing a million JSON documents takes ten.
    codes: Mapped[str | None] = mapped_column(Text)
    extras: Mapped[str | None] = mapped_column(Text)  # the other answers, compact JSON (survey.responses.coding)
    # Quality flags set on arrival (e.g. "attention_failed"); the evaluator decides what to exclude.
    flags: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    unit_code_id: Mapped[int | None] = mapped_column(ForeignKey("unit_code.id", ondelete="SET NULL"), index=True)
    unit_name: Mapped[str | None] = mapped_column(String(200))  # copied: the response keeps its unit
    ip_hash: Mapped[str | None] = mapped_column(String(64))  # keyed hash, only when an IP limit is set
    reviewed: Mapped[bool] = mapped_column(default=False, server_default="0")  # flags looked at by an evaluator


class ReviewEvent(db.Model):
    """Append-only log of exclusion decisions: who excluded or kept which response, when and why."""

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(16))  # exclude / keep / restore / void / unvoid
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship()


class ResponseRevision(db.Model):
    """The answers a response had before an evaluator corrected, voided or restored it: nothing is overwritten
    without its previous state kept here (and an audit entry naming this row)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(16))  # correct / void / unvoid
    reason: Mapped[str] = mapped_column(Text)
    answers_before: Mapped[dict[str, Any]] = mapped_column(JSON)
    channel_before: Mapped[str] = mapped_column(String(32))
    status_before: Mapped[str] = mapped_column(String(16))
    answers_after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    channel_after: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User | None] = relationship()


class IndicatorTable(db.Model):
    """A project's indicator table (指标评分表, 附件1): the table JSON (``analysis.indicators``), one per project."""

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), unique=True)
    definition: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ApiToken(db.Model):
    """A read-API token of one evaluator: only the SHA-256 of the secret is kept; the secret is shown once."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the secret
    prefix: Mapped[str] = mapped_column(String(8))  # first characters of the secret, to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class AuditEvent(db.Model):
    """Append-only record of an evaluator action that changed or exported data (survey.audit.trail).

    Each row carries the SHA-256 of its own content chained to the previous row's hash, so deleting or
    editing a row breaks the chain. ``project_id`` is a plain integer, not a foreign key: deleting a
    project must not rewrite its history.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None]
    username: Mapped[str] = mapped_column(String(64), default="")
    project_id: Mapped[int | None] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class PendingImport(db.Model):
    """An uploaded response file waiting for its column mapping (survey.collection.imports_views), shared by every app
    server.

    ``content`` is the parsed table (IP columns already blanked, so no raw address is kept even here) as
    zlib-compressed JSON, not the file's bytes. Only its uploader may map it, only for its questionnaire;
    it is deleted after the import or discard, and expires after a day (``import_mapping.UPLOAD_MAX_AGE``).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)  # random, in the mapping screen's URL
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    size: Mapped[int]  # bytes of the uploaded file, as received
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class ReportTemplate(db.Model):
    """A project's own template for the report's satisfaction section (survey.reports.text); none = the default."""

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), unique=True)
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))


class WordTemplate(db.Model):
    """A project's own template of the Word report (survey.reports.word): a .docx kept in the database, checked
    whole before it is stored; none = the default one."""

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), unique=True)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    filename: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))


class ExportJob(db.Model):
    """A heavy download (results workbook, bundle, report PDF, data sets) made apart from the request that
    asked for it (``survey.jobs.queue``), so citizens' pages never wait behind it; shared by every app server.

    ``active_key`` (the asker, the export, its options and the data's state) is set only while the job is
    queued or running: a unique index makes the same request share one job. ``slot`` (1 … the per-user
    cap) is likewise held only while it runs: the unique (user, slot) pair caps how many one evaluator runs
    at once, across every process and server. ``content`` (the finished file, raw answers included) is
    kept for ``JOB_RESULT_SECONDS`` only, and deleted with the questionnaire, the project or its answers.
    """

    # SQLite would give a deleted job's id to the next one: a kept link must not lead to another file.
    __table_args__ = (UniqueConstraint("user_id", "slot"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), index=True)
    questionnaire_id: Mapped[int | None] = mapped_column(ForeignKey("questionnaire.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # a name in survey.jobs.queue.KINDS
    params: Mapped[dict[str, Any]] = mapped_column(JSON)  # the export's options (ids, language)
    key: Mapped[str] = mapped_column(String(64), index=True)
    active_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    slot: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued / running / done / failed
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)  # while queued or running
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    filename: Mapped[str] = mapped_column(String(200), default="")
    display_name: Mapped[str] = mapped_column(String(200), default="")
    mimetype: Mapped[str] = mapped_column(String(100), default="")
    size: Mapped[int | None]
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    error: Mapped[str] = mapped_column(Text, default="")

    project: Mapped[Project] = relationship(viewonly=True)
    questionnaire: Mapped[Questionnaire | None] = relationship(viewonly=True)


class PopulationTable(db.Model):
    """Population counts (七普, 统计年鉴) for one respondent-group question, or several cross-classified (乡镇 × 性别).

    ``question_keys`` name the group questions; each of ``cells`` is ``{"options": [option key per question],
    "count": people}``. Only tables that passed every check (``survey.weighting.margins``) are stored: each
    option of each question has one cell, and the count is a finite non-negative number.
    """

    __table_args__ = (UniqueConstraint("questionnaire_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(200), default="")  # where the counts come from, said in reports
    question_keys: Mapped[list[str]] = mapped_column(JSON)
    cells: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="population_tables")


class WeightingScheme(db.Model):
    """How a questionnaire's valid responses are weighted to its population tables (at most one scheme).

    Weights are computed from the valid responses each time figures are (an exclusion changes them) and never
    stored with a response. ``method`` is ``poststratify`` (one table, cross-classified or not) or ``rake``
    (every table named, iterative proportional fitting); ``trim`` is ``none``, ``bounds`` (``trim_low`` …
    ``trim_high``) or ``median`` (within ``trim_multiple`` × the median weight), then raked again.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id", ondelete="CASCADE"), unique=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    method: Mapped[str] = mapped_column(String(16), default="poststratify")
    table_names: Mapped[list[str]] = mapped_column(JSON)  # the population tables used, in raking order
    tolerance: Mapped[float] = mapped_column(default=1e-6)
    max_iterations: Mapped[int] = mapped_column(default=100)
    trim: Mapped[str] = mapped_column(String(16), default="none")
    trim_low: Mapped[float | None]
    trim_high: Mapped[float | None]
    trim_multiple: Mapped[float | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="weighting")


class SamplePlan(db.Model):
    """The designed sample: strata (a group question's options or the channels), how a total n is allocated to
    them, and the allocation that came out (``allocation``: stratum key → planned interviews)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id", ondelete="CASCADE"), unique=True)
    stratum_key: Mapped[str] = mapped_column(String(64))  # a group question's key
    table_name: Mapped[str] = mapped_column(String(100))  # the population table the strata's sizes come from
    method: Mapped[str] = mapped_column(String(16), default="proportional")  # proportional / equal / neyman
    total: Mapped[int]
    minimum: Mapped[int] = mapped_column(default=0)
    maximum: Mapped[int | None]
    expected_rate: Mapped[float | None]  # the rate Neyman allocation and the margins plan for; None = 0.5
    allocation: Mapped[dict[str, int]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="sample_plan")


class RoundLink(db.Model):
    """This questionnaire is a round of a series (群众安全感 2024) whose previous round is another questionnaire
    (2023), possibly of another project. ``mapping`` pairs this round's rated question keys with the previous
    round's (the same key unless the evaluator mapped a reworded question to another); a question left out is
    not compared. Following ``previous`` links gives the whole series, oldest first."""

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id", ondelete="CASCADE"), unique=True)
    previous_id: Mapped[int] = mapped_column(ForeignKey("questionnaire.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(50))  # this round's name in tables and charts: 2024 年
    previous_label: Mapped[str] = mapped_column(String(50))  # used when the previous round has no link of its own
    mapping: Mapped[dict[str, str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="round_link", foreign_keys=[questionnaire_id])
    previous: Mapped[Questionnaire] = relationship(foreign_keys=[previous_id])
