"""Storing a response: checked, counted and inserted in one transaction, all of it or nothing.

Order of checks on submit: a repeated ``submission_id`` is the same submission again (double tap,
network retry) and changes nothing; then the questionnaire's rules (schedule, one per device, a
per-IP limit, the unit code's uses, quotas) each refuse with a reason a citizen understands.
Quota counters are claimed with a conditional ``UPDATE … WHERE count < quota``: both SQLite (one
writer at a time) and PostgreSQL (row lock, re-checked after the wait) make that atomic, so
concurrent phones cannot overshoot a quota.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from survey.coding import response_codes, response_extras
from survey.extensions import db
from survey.models import Channel, Questionnaire, Response, UnitCode, utcnow


class Refused(Exception):
    """A submission (or a visit) the questionnaire's rules turn away; ``status`` is the HTTP status."""

    def __init__(self, title, message, status: int):
        super().__init__(str(message))
        self.title, self.message, self.status = title, message, status


@dataclass(frozen=True)
class Arrival:
    """Where a respondent came from: the questionnaire, and optionally a channel or a unit code."""

    questionnaire: Questionnaire
    channel: Channel | None = None
    unit: UnitCode | None = None

    @property
    def channel_code(self) -> str:
        return self.channel.code if self.channel else "web"


def keyed_hash(kind: str, value: str | None) -> str | None:
    """HMAC of a device token or an IP: repeats can be spotted, the value cannot be recovered."""
    if not value:
        return None
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def device_hash(device_token: str | None) -> str | None:
    """Keyed hash of the device cookie."""
    return keyed_hash("device", device_token)


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


def _check_person(questionnaire: Questionnaire, device: str | None, ip_hash: str | None) -> None:
    """One response per device (when set) and at most ``ip_limit`` per hashed IP in the window."""
    if questionnaire.one_per_device and device:
        seen = db.session.execute(
            db.select(Response.id).filter_by(questionnaire_id=questionnaire.id, device_hash=device).limit(1)
        ).first()
        if seen:
            message = _l("这台设备已经提交过这份问卷，每台设备只能提交一次。感谢您的参与！")
            raise Refused(_l("您已经提交过"), message, 409)
    if questionnaire.ip_limit and ip_hash:
        since = utcnow() - timedelta(minutes=questionnaire.ip_window_minutes)
        recent = db.session.execute(
            db.select(db.func.count(Response.id)).where(
                Response.questionnaire_id == questionnaire.id,
                Response.ip_hash == ip_hash,
                Response.submitted_at >= since,
            )
        ).scalar()
        if recent >= questionnaire.ip_limit:
            raise Refused(_l("提交太频繁"), _l("同一网络在短时间内提交的问卷已达上限，请稍后再试。"), 429)


def _claim(model, row_id: int, limit_column, count_column) -> bool:
    """Add one to a counter unless its limit is reached; atomic on SQLite and PostgreSQL."""
    statement = (
        update(model)
        .where(model.id == row_id, (limit_column.is_(None)) | (count_column < limit_column))
        .values({count_column.key: count_column + 1})
    )
    return db.session.execute(statement).rowcount == 1


def _claim_slots(arrival: Arrival) -> None:
    """Claim the quota places this response needs, or raise ``Refused`` (the caller rolls back)."""
    if not _claim(Questionnaire, arrival.questionnaire.id, Questionnaire.quota, Questionnaire.accepted_count):
        raise Refused(_l("问卷已收满"), _l("这份问卷已经收满所需的份数，您的回答没有被保存。感谢您的支持。"), 410)
    if arrival.channel and not _claim(Channel, arrival.channel.id, Channel.quota, Channel.accepted_count):
        raise Refused(_l("本采集点已收满"), _l("这个采集点的问卷已经收满，您的回答没有被保存。感谢您的支持。"), 410)
    if arrival.unit and not _claim(UnitCode, arrival.unit.id, UnitCode.max_uses, UnitCode.used):
        message = _l("这个单位码的填写次数已经用完，您的回答没有被保存。如需再填，请联系评价组。")
        raise Refused(_l("单位码已用完"), message, 410)


def _advance_counters(arrival: Arrival) -> None:
    """Count an evaluator-entered response without enforcing limits (counters must match the rows)."""
    db.session.execute(
        update(Questionnaire)
        .where(Questionnaire.id == arrival.questionnaire.id)
        .values(accepted_count=Questionnaire.accepted_count + 1)
    )
    if arrival.channel:
        db.session.execute(
            update(Channel).where(Channel.id == arrival.channel.id).values(accepted_count=Channel.accepted_count + 1)
        )


def arrival_flags(questionnaire: Questionnaire, duration: int | None, device: str | None) -> list[str]:
    """Flags only the server can set: answered too fast, or a device that answered before."""
    flags = []
    if questionnaire.min_seconds and duration is not None and duration < questionnaire.min_seconds:
        flags.append("too_fast")
    if device and not questionnaire.one_per_device:
        seen = db.session.execute(
            db.select(Response.id).filter_by(questionnaire_id=questionnaire.id, device_hash=device).limit(1)
        ).first()
        if seen:
            flags.append("duplicate_device")
    return flags


def store_response(
    arrival: Arrival | Questionnaire,
    answers: dict,
    submission_id: str,
    started_iso: str | None = None,
    device_token: str | None = None,
    ip_address: str | None = None,
    flags: list[str] | None = None,
    channel: str | None = None,
    by_evaluator: bool = False,
) -> tuple[Response, bool]:
    """Check, count and insert; return ``(response, created)``. Raises ``Refused`` with nothing stored.

    ``by_evaluator`` is for answers an evaluator keys in (paper rounds): the schedule, the device and
    IP rules and the quotas guard the public link, not the desk, so only the counters are advanced.
    """
    if isinstance(arrival, Questionnaire):
        arrival = Arrival(arrival)
    questionnaire = arrival.questionnaire
    existing = db.session.execute(db.select(Response).filter_by(submission_id=submission_id)).scalar_one_or_none()
    if existing is not None:
        return existing, False
    now = utcnow()
    identifying = not questionnaire.anonymous  # anonymous: no device or IP hash at all (survey.privacy)
    device = device_hash(device_token) if identifying else None
    ip_hash = keyed_hash("ip", ip_address) if questionnaire.ip_limit and identifying else None
    duration = seconds_since(started_iso, now)
    try:
        if by_evaluator:
            _advance_counters(arrival)
            all_flags = list(flags or [])
        else:
            check_open(arrival, now)
            _check_person(questionnaire, device, ip_hash)
            all_flags = list(flags or []) + arrival_flags(questionnaire, duration, device)
            _claim_slots(arrival)
        response = Response(
            questionnaire_id=questionnaire.id,
            version_id=questionnaire.current_version_id,
            submission_id=submission_id,
            submitted_at=now,
            duration_seconds=duration,
            channel=channel or arrival.channel_code,
            device_hash=device,
            ip_hash=ip_hash,
            unit_code_id=arrival.unit.id if arrival.unit else None,
            unit_name=arrival.unit.unit_name if arrival.unit else None,
            answers=answers,
            codes=response_codes(questionnaire.current_version.definition, answers),
            extras=response_extras(questionnaire.current_version.definition, answers),
            flags=all_flags,
        )
        db.session.add(response)
        db.session.commit()
    except Refused:
        db.session.rollback()
        raise
    except IntegrityError:
        # Two taps raced past the first check; the other one won, and that is the stored response.
        db.session.rollback()
        winner = db.session.execute(db.select(Response).filter_by(submission_id=submission_id)).scalar_one()
        return winner, False
    return response, True
