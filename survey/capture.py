"""Storing a response: one INSERT, all answers or nothing, idempotent on ``submission_id``."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from flask import current_app
from sqlalchemy.exc import IntegrityError

from survey.extensions import db
from survey.models import Questionnaire, Response, utcnow


def device_hash(device_token: str | None) -> str | None:
    """Keyed hash of the device cookie: lets us spot repeats without storing anything reusable."""
    if not device_token:
        return None
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, b"device:" + device_token.encode(), hashlib.sha256).hexdigest()


def seconds_since(started_iso: str | None, now: datetime) -> int | None:
    """Time taken, from the timestamp written into the form when it was served; ``None`` if unusable."""
    try:
        started = datetime.fromisoformat(started_iso or "")
    except ValueError:
        return None
    elapsed = int((now - started).total_seconds())
    return elapsed if 0 <= elapsed <= 7 * 24 * 3600 else None


def store_response(
    questionnaire: Questionnaire,
    answers: dict,
    submission_id: str,
    started_iso: str | None = None,
    device_token: str | None = None,
    channel: str = "web",
    flags: list[str] | None = None,
) -> tuple[Response, bool]:
    """Insert the response; return ``(response, created)``. A repeated ``submission_id`` stores nothing."""
    existing = db.session.execute(
        db.select(Response).filter_by(submission_id=submission_id)
    ).scalar_one_or_none()
    if existing is not None:
        return existing, False
    now = utcnow()
    response = Response(
        questionnaire_id=questionnaire.id,
        version_id=questionnaire.current_version_id,
        submission_id=submission_id,
        submitted_at=now,
        duration_seconds=seconds_since(started_iso, now),
        channel=channel,
        device_hash=device_hash(device_token),
        answers=answers,
        flags=flags or [],
    )
    db.session.add(response)
    try:
        db.session.commit()
    except IntegrityError:
        # Two taps raced past the check above; the other one won, and that is the stored response.
        db.session.rollback()
        winner = db.session.execute(db.select(Response).filter_by(submission_id=submission_id)).scalar_one()
        return winner, False
    return response, True
