"""Privacy of respondents: anonymous questionnaires, deleting responses, and the retention period.

* ``Questionnaire.anonymous``: nothing identifying is kept — no device cookie is set, no device hash and no
  IP hash are stored (``survey.respond.submit.store_response`` and ``survey.respond.public_views._render_form``
  check the flag),
  so the one-per-device and per-network limits cannot apply. Raw IPs and user agents are never stored at all
  (``tests/test_privacy.py`` scans every text column of every table for them).
* Deleting responses removes them with their review events and takes them off the counters (quota,
  channels, unit codes) in the same transaction as the audit entry (``survey.audit.trail.record``). Counters are
  decremented by what was actually deleted (``DELETE … RETURNING``), never overwritten with a recount, so a
  phone submitting at the same moment is neither lost nor double counted.
* Retention (``retention_days``): ``purge_expired(now)`` deletes

  - every response of a questionnaire once ``retention_days`` have passed since it ended, where it ended
    at ``closed_at`` (closed by an evaluator) or else at ``closes_at`` (its scheduled end) if that is past;
  - for a questionnaire that has not ended, each response ``retention_days`` after it was submitted, or,
    when its submission time is unknown (an import without times), after it arrived here (``received_at``).

  It is meant to run daily (``flask purge-expired``, e.g. from cron or a systemd timer).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import case, delete, func, update

from survey.audit import trail as audit
from survey.jobs import queue as jobs
from survey.models import Channel, Questionnaire, Response, ReviewEvent, UnitCode
from survey.platform.extensions import db


def settings_notes(questionnaire: Questionnaire) -> list[str]:
    """Rules on the settings page that the privacy choices switch off, so the evaluator is not surprised."""
    notes = []
    if questionnaire.anonymous and (questionnaire.one_per_device or questionnaire.ip_limit):
        notes.append(_("本问卷设为不收集识别信息：“每台设备只能提交一次”和“同一网络最多提交份数”不会生效。"))
    return notes


def response_count(questionnaire: Questionnaire) -> dict[str, int]:
    """How many responses there are (valid and excluded) and review events hang on them: what a delete removes."""
    total, excluded = db.session.execute(
        db.select(
            db.func.count(Response.id),
            db.func.coalesce(db.func.sum(case((Response.status == "excluded", 1), else_=0)), 0),
        ).where(Response.questionnaire_id == questionnaire.id)
    ).one()
    events = db.session.execute(
        db.select(db.func.count(ReviewEvent.id))
        .join(Response, ReviewEvent.response_id == Response.id)
        .where(Response.questionnaire_id == questionnaire.id)
    ).scalar()
    return {"total": int(total), "excluded": int(excluded), "review_events": int(events)}


def _minus(column, amount: int):
    """``column - amount`` floored at zero, in SQL (works on SQLite and PostgreSQL)."""
    return case((column > amount, column - amount), else_=0)


def _uncount(questionnaire: Questionnaire, gone: list) -> None:
    """Take deleted responses off the questionnaire's, channels' and unit codes' counters."""
    db.session.execute(
        update(Questionnaire)
        .where(Questionnaire.id == questionnaire.id)
        .values(accepted_count=_minus(Questionnaire.accepted_count, len(gone)))
    )
    for code, amount in Counter(row.channel for row in gone).items():
        db.session.execute(
            update(Channel)
            .where(Channel.questionnaire_id == questionnaire.id, Channel.code == code)
            .values(accepted_count=_minus(Channel.accepted_count, amount))
        )
    for unit_id, amount in Counter(row.unit_code_id for row in gone if row.unit_code_id).items():
        db.session.execute(update(UnitCode).where(UnitCode.id == unit_id).values(used=_minus(UnitCode.used, amount)))


def delete_responses(questionnaire: Questionnaire, *conditions) -> int:
    """Delete the questionnaire's responses matching ``conditions`` (all if none) and uncount them; no commit."""
    where = (Response.questionnaire_id == questionnaire.id, *conditions)
    options = {"synchronize_session": False}
    matching = db.select(Response.id).where(*where)
    db.session.execute(delete(ReviewEvent).where(ReviewEvent.response_id.in_(matching)), execution_options=options)
    gone = db.session.execute(
        delete(Response).where(*where).returning(Response.channel, Response.unit_code_id, Response.status),
        execution_options=options,
    ).all()
    _uncount(questionnaire, [row for row in gone if row.status != "voided"])  # a void was uncounted already
    jobs.forget(questionnaire.id, questionnaire.project_id)  # finished exports holding those answers go too
    db.session.expire(questionnaire)
    return len(gone)


def _target(questionnaire: Questionnaire) -> str:
    return f"{questionnaire.title} (#{questionnaire.id})"


def delete_all_responses(questionnaire: Questionnaire) -> int:
    """The evaluator's 删除全部答卷: responses, review events and counters, with its audit entry, in one commit."""
    try:
        deleted = delete_responses(questionnaire)
        audit.record(
            "responses.delete_all",
            questionnaire.project_id,
            _target(questionnaire),
            {"deleted": deleted, "args": {"questionnaire_id": questionnaire.id}},
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return deleted


def ended_at(questionnaire: Questionnaire, now: datetime) -> datetime | None:
    """When collection ended: closed by an evaluator, or its scheduled end if that has passed."""
    if questionnaire.closed_at is not None:
        return questionnaire.closed_at
    if questionnaire.closes_at is not None and questionnaire.closes_at <= now:
        return questionnaire.closes_at
    return None


@dataclass(frozen=True)
class Purged:
    """One questionnaire's share of a purge: what was deleted and by which rule."""

    questionnaire_id: int
    title: str
    deleted: int
    rule: str  # "ended": all responses, the retention after the end has passed; "rolling": old submissions


def response_age_from():
    """When a response's retention starts: its submission, or its arrival here when that time is unknown."""
    return func.coalesce(Response.submitted_at, Response.received_at)


def _purge_one(questionnaire: Questionnaire, now: datetime) -> Purged | None:
    keep_for = timedelta(days=questionnaire.retention_days)
    end = ended_at(questionnaire, now)
    if end is not None:
        if now < end + keep_for:
            return None
        rule, deleted = "ended", delete_responses(questionnaire)
    else:
        rule, deleted = "rolling", delete_responses(questionnaire, response_age_from() < now - keep_for)
    if not deleted:
        db.session.rollback()
        return None
    detail = {"deleted": deleted, "rule": rule, "retention_days": questionnaire.retention_days}
    audit.record("responses.purge", questionnaire.project_id, _target(questionnaire), detail)
    db.session.commit()
    return Purged(questionnaire.id, questionnaire.title, deleted, rule)


def purge_expired(now: datetime) -> list[Purged]:
    """Apply every questionnaire's retention period; each questionnaire commits on its own with its entry.
    Finished export files kept past their time are deleted too (their process may have gone before it did)."""
    jobs.reap()
    query = db.select(Questionnaire).where(Questionnaire.retention_days.is_not(None)).order_by(Questionnaire.id)
    purged = []
    for questionnaire in db.session.execute(query).scalars().all():
        try:
            result = _purge_one(questionnaire, now)
        except Exception:
            db.session.rollback()
            raise
        if result is not None:
            purged.append(result)
    return purged
