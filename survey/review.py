"""Reviewing responses: exclude or keep with a reason, restore; nothing is ever deleted.

Every decision is appended to ``ReviewEvent`` (the exclusion log); the response row carries the
current state (``status``, ``exclusion_reason``, ``reviewed``) that counts and rates use.
"""

from __future__ import annotations

from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from analysis.export import table_csv
from survey.extensions import db
from survey.models import Questionnaire, Response, ReviewEvent, User
from survey.reporting import DISPLAY_TIME

FLAG_LABELS = {
    "too_fast": _l("用时过短"),
    "straight_lining": _l("量表题全部选同一项"),
    "attention_failed": _l("注意力检测题答错"),
    "duplicate_device": _l("同一设备重复提交"),
}


def flag_label(flag: str) -> str:
    """A flag in words for the review list and exports."""
    return str(FLAG_LABELS.get(flag, flag))


def suggested_reason(response: Response, min_seconds: int | None) -> str:
    """A starting text for the reason box, from the response's flags."""
    parts = []
    for flag in response.flags or []:
        if flag == "too_fast" and response.duration_seconds is not None:
            parts.append(
                str(_l("用时过短（%(s)d 秒，低于 %(min)d 秒）", s=response.duration_seconds, min=min_seconds or 0))
            )
        else:
            parts.append(flag_label(flag))
    return "；".join(parts)


def decide(response: Response, user: User, action: str, reason: str) -> None:
    """Apply ``exclude``, ``keep`` or ``restore`` to a response and log it, in one commit."""
    if action == "exclude":
        response.status, response.exclusion_reason = "excluded", reason
    elif action in ("keep", "restore"):
        response.status, response.exclusion_reason = "valid", None
    else:
        raise ValueError(f"unknown review action {action!r}")
    response.reviewed = True
    db.session.add(ReviewEvent(response_id=response.id, user_id=user.id, action=action, reason=reason))
    db.session.commit()


def waiting_for_review(questionnaire: Questionnaire) -> list[Response]:
    """Valid responses with flags nobody has looked at yet, oldest first."""
    query = (
        db.select(Response)
        .where(Response.questionnaire_id == questionnaire.id, Response.status == "valid", Response.reviewed.is_(False))
        .order_by(Response.id)
    )
    return [r for r in db.session.execute(query).scalars() if r.flags]


def excluded(questionnaire: Questionnaire) -> list[Response]:
    """Excluded responses (kept in the database, out of every count and rate)."""
    query = db.select(Response).filter_by(questionnaire_id=questionnaire.id, status="excluded").order_by(Response.id)
    return list(db.session.execute(query).scalars())


def review_log(questionnaire: Questionnaire) -> list[ReviewEvent]:
    """Every decision on the questionnaire's responses, in order."""
    query = (
        db.select(ReviewEvent)
        .join(Response, Response.id == ReviewEvent.response_id)
        .where(Response.questionnaire_id == questionnaire.id)
        .order_by(ReviewEvent.id)
    )
    return list(db.session.execute(query).scalars())


def exclusion_log_csv(questionnaire: Questionnaire) -> bytes:
    """The exclusion log (every exclude / keep / restore decision: who, when, why) as a UTF-8-with-BOM CSV."""
    names = {"exclude": _("排除"), "keep": _("保留"), "restore": _("恢复为有效")}
    columns = [_("答卷编号"), _("操作"), _("原因"), _("操作人"), _("时间")]
    rows = [
        dict(
            zip(
                columns,
                (
                    event.response_id,
                    names.get(event.action, event.action),
                    event.reason,
                    event.user.username if event.user else "",
                    format_datetime(event.created_at, DISPLAY_TIME),
                ),
                strict=True,
            )
        )
        for event in review_log(questionnaire)
    ]
    return table_csv(rows, columns)
