"""The response browser: find responses by channel, unit, mode, date, flag and status, page through them,
and read one with its answers in words.

Built for a questionnaire of 50,000 responses: the list reads only the columns it shows (never the answers),
one page at a time in the order of the unique index (questionnaire_id, number), and counts in SQL. Flags
are matched as stored JSON text (``"too_fast"`` with its quotes), which both databases do without parsing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import Text, cast, func

from analysis.export import display_answer
from survey.models import Questionnaire, QuestionnaireVersion, Response, ResponseRevision, ReviewEvent
from survey.platform.extensions import db
from survey.platform.localtime import export_zone
from survey.questionnaires.definition import analysis_schema
from survey.questionnaires.qtypes import OTHER_SUFFIX

PAGE_SIZE = 50
STATUS_NAMES = {"valid": _l("有效"), "excluded": _l("已排除"), "voided": _l("已作废")}
MODE_NAMES = {"web": _l("在线填写"), "paper": _l("纸质录入"), "import": _l("文件导入")}
FLAGS = ("too_fast", "straight_lining", "attention_failed", "duplicate_device", "other_without_text")

LIST_COLUMNS = (
    Response.id,
    Response.number,
    Response.submitted_at,
    Response.duration_seconds,
    Response.channel,
    Response.unit_name,
    Response.mode,
    Response.status,
    Response.exclusion_reason,
    Response.flags,
    Response.source_row,
)


@dataclass(frozen=True)
class Filters:
    """What the evaluator narrowed the list to; empty values mean "any"."""

    status: str = ""
    channel: str = ""
    unit: int | None = None
    mode: str = ""
    flag: str = ""
    date_from: date | None = None  # Beijing dates, inclusive
    date_to: date | None = None
    source_row: int | None = None  # 来源行号（序号）: an imported response's row in its file

    def conditions(self, questionnaire_id: int) -> list:
        """SQL conditions for these filters (the questionnaire's own responses only)."""
        where = [Response.questionnaire_id == questionnaire_id]
        if self.status:
            where.append(Response.status == self.status)
        if self.channel:
            where.append(Response.channel == self.channel)
        if self.unit is not None:
            where.append(Response.unit_code_id == self.unit)
        if self.mode:
            where.append(Response.mode == self.mode)
        if self.flag:
            where.append(flag_condition(self.flag))
        if self.source_row is not None:  # read from the (questionnaire_id, source_row) index
            where.append(Response.source_row == self.source_row)
        if self.date_from:
            where.append(Response.submitted_at >= utc_start_of(self.date_from))
        if self.date_to:
            where.append(Response.submitted_at < utc_start_of(self.date_to + timedelta(days=1)))
        return where

    def query_args(self) -> dict[str, Any]:
        """The filters as URL arguments (pagination links keep them)."""
        values = {
            "status": self.status, "channel": self.channel, "unit": self.unit, "mode": self.mode, "flag": self.flag,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None, "source_row": self.source_row,
        }  # fmt: skip
        return {name: value for name, value in values.items() if value not in (None, "")}


def flag_condition(flag: str):
    """Responses carrying ``flag`` (one of ``FLAGS``), matched in the stored JSON text."""
    if flag not in FLAGS:
        raise ValueError(f"unknown flag {flag!r}")
    return cast(Response.flags, Text).like(f'%"{flag}"%')


def utc_start_of(day: date) -> datetime:
    """Midnight of a date on the desk's clock (北京时间 by default) as the naive UTC time responses are stored in."""
    return datetime.combine(day, time(), ZoneInfo(export_zone())).astimezone(UTC).replace(tzinfo=None)


@dataclass
class Page:
    """One page of the list: its rows (no answers), the number of matches and the page position."""

    rows: list[Any]
    total: int
    page: int
    pages: int
    filters: Filters = field(default_factory=Filters)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def browse(questionnaire: Questionnaire, filters: Filters, page: int = 1, size: int = PAGE_SIZE) -> Page:
    """The matching responses, newest number first, one page of them."""
    where = filters.conditions(questionnaire.id)
    total = db.session.execute(db.select(func.count()).select_from(Response).where(*where)).scalar_one()
    pages = max(1, -(-total // size))
    page = min(max(1, page), pages)
    query = db.select(*LIST_COLUMNS).where(*where).order_by(Response.number.desc()).offset((page - 1) * size)
    rows = db.session.execute(query.limit(size)).all()
    return Page(rows, total, page, pages, filters)


def response_by_number(questionnaire: Questionnaire, number: int) -> Response | None:
    """The questionnaire's response 第 ``number`` 号, if there is one."""
    query = db.select(Response).where(Response.questionnaire_id == questionnaire.id, Response.number == number)
    return db.session.execute(query).scalar_one_or_none()


def neighbours(questionnaire: Questionnaire, number: int) -> tuple[int | None, int | None]:
    """The numbers before and after ``number`` that exist (deleted numbers are skipped)."""
    mine = Response.questionnaire_id == questionnaire.id
    before = db.select(func.max(Response.number)).where(mine, Response.number < number)
    after = db.select(func.min(Response.number)).where(mine, Response.number > number)
    return db.session.execute(before).scalar(), db.session.execute(after).scalar()


@dataclass(frozen=True)
class AnswerRow:
    """One answer as the detail page shows it: the question's number and text, the answer in words."""

    key: str
    number: str
    text: str
    answer: str
    other: str = ""
    answered: bool = True


def answer_rows(definition: dict, answers: dict) -> list[AnswerRow]:
    """Every question of the version the response answered, with its answer in words ("—" when not shown or
    left blank); the 其他 text on its own as well as in the answer."""
    rows = []
    without_other = {key: value for key, value in answers.items() if not key.endswith(OTHER_SUFFIX)}
    for entry in analysis_schema(definition):
        value = answers.get(entry["key"])
        answered = value not in (None, "", [])
        question_key = entry["key"].split(".")[0]
        other = answers.get(question_key + OTHER_SUFFIX) or ""
        words = display_answer(entry, without_other) if answered else ""
        rows.append(AnswerRow(entry["key"], str(entry["number"]), entry["text"], words, str(other), answered))
    return rows


def version_definition(response: Response) -> dict:
    """The definition of the version this response answered (its questions as they were asked)."""
    return db.session.get(QuestionnaireVersion, response.version_id).definition


def history(response: Response) -> list[ResponseRevision | ReviewEvent]:
    """Every decision and correction on the response, oldest first."""
    events = db.session.execute(db.select(ReviewEvent).where(ReviewEvent.response_id == response.id)).scalars()
    revisions = db.session.execute(  # voids are in the review events already; corrections only here
        db.select(ResponseRevision).where(
            ResponseRevision.response_id == response.id, ResponseRevision.action == "correct"
        )
    ).scalars()
    return sorted([*events, *revisions], key=lambda item: (item.created_at, item.id))
