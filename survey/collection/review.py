"""Reviewing responses: exclude or keep with a reason, restore, exclude by rule, correct or void a keyed-in
entry; nothing is ever deleted.

Every decision is appended to ``ReviewEvent`` (the exclusion log); the response row carries the
current state (``status``, ``exclusion_reason``, ``reviewed``) that counts and rates use. A correction or a
void also keeps the answers the response had in a ``ResponseRevision`` row and writes an audit entry
(``survey.audit.trail.record``) in the same transaction, so the change and its record commit together.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Text, cast, insert, update

from survey.audit import trail as audit
from survey.models import (
    Channel,
    Questionnaire,
    QuestionnaireVersion,
    Response,
    ResponseRevision,
    ReviewEvent,
    User,
    utcnow,
)
from survey.platform.csv_files import table_csv
from survey.platform.extensions import db
from survey.platform.localtime import local_text, time_label
from survey.questionnaires.conditions import answer_keys
from survey.questionnaires.definition import numbered_questions
from survey.questionnaires.qtypes import get_type, other_key
from survey.responses.browser import answer_rows, flag_condition
from survey.responses.coding import Coder

FLAG_LABELS = {
    "too_fast": _l("用时过短"),
    "straight_lining": _l("量表题全部选同一项"),
    "attention_failed": _l("注意力检测题答错"),
    "duplicate_device": _l("同一设备重复提交"),
    "other_without_text": _l("选了其他但无内容"),
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
    """Apply ``exclude``, ``keep`` or ``restore`` to a response and log it, in one commit.

    A voided entry is out of every count: only ``unvoid`` brings it back (and its counters with it).
    """
    if response.status == "voided":
        raise NotAllowed(_("已作废的答卷不能排除或恢复，请先撤销作废。"))
    if action == "exclude":
        response.status, response.exclusion_reason = "excluded", reason
    elif action in ("keep", "restore"):
        response.status, response.exclusion_reason = "valid", None
    else:
        raise ValueError(f"unknown review action {action!r}")
    response.reviewed = True
    db.session.add(ReviewEvent(response_id=response.id, user_id=user.id, action=action, reason=reason))
    db.session.commit()


WAITING_SHOWN = 100  # flagged responses listed at once on the review page (the browser lists them all)


def _waiting_conditions(questionnaire: Questionnaire) -> tuple:
    """Valid, not yet reviewed, with at least one flag (compared as stored JSON text, in SQL)."""
    return (
        Response.questionnaire_id == questionnaire.id,
        Response.status == "valid",
        Response.reviewed.is_(False),
        Response.flags.is_not(None),
        cast(Response.flags, Text).not_in(("[]", "null")),
    )


def waiting_for_review(questionnaire: Questionnaire, limit: int = WAITING_SHOWN) -> list[Response]:
    """Valid responses with flags nobody has looked at yet, oldest first (the first ``limit`` of them)."""
    query = db.select(Response).where(*_waiting_conditions(questionnaire)).order_by(Response.number).limit(limit)
    return [r for r in db.session.execute(query).scalars() if r.flags]


def waiting_count(questionnaire: Questionnaire) -> int:
    """How many flagged responses wait for a decision."""
    query = db.select(db.func.count()).select_from(Response).where(*_waiting_conditions(questionnaire))
    return db.session.execute(query).scalar_one()


def excluded(questionnaire: Questionnaire, limit: int = WAITING_SHOWN) -> list[Response]:
    """The most recently numbered excluded responses (kept in the database, out of every count and rate)."""
    query = (
        db.select(Response)
        .filter_by(questionnaire_id=questionnaire.id, status="excluded")
        .order_by(Response.number.desc())
        .limit(limit)
    )
    return list(db.session.execute(query).scalars())


def excluded_count(questionnaire: Questionnaire) -> int:
    query = db.select(db.func.count()).select_from(Response).filter_by(questionnaire_id=questionnaire.id)
    return db.session.execute(query.filter_by(status="excluded")).scalar_one()


def version_definitions(version_ids: set[int]) -> dict[int, dict]:
    """The definitions of the versions some responses answered, read once each."""
    if not version_ids:
        return {}
    query = db.select(QuestionnaireVersion.id, QuestionnaireVersion.definition)
    return dict(db.session.execute(query.where(QuestionnaireVersion.id.in_(version_ids))).all())


# --- the answers behind each flag ------------------------------------------------------------------------


@dataclass(frozen=True)
class Evidence:
    """What a flag was raised on: the questions and answers (or the time, or the other responses)."""

    flag: str
    note: str
    answers: list[tuple[str, str, str]]  # (question number, question text, answer in words)


def _option_words(question: dict, key) -> str:
    options = {o["key"]: o["text"] for o in question.get("options", [])}
    return options.get(key, str(key)) if key is not None else "—"


def _scale_answers(definition: dict, answers: dict) -> list[tuple[str, str, str]]:
    rows = []
    for question in numbered_questions(definition):
        entry = get_type(question["type"])
        if entry.measurement == "ordinal" and not entry.has_items and question["key"] in answers:
            rows.append((question["number"], question["text"], _option_words(question, answers[question["key"]])))
        elif entry.measurement == "ordinal" and entry.has_items:
            for index, (item, key) in enumerate(zip(question["items"], answer_keys(question), strict=True), 1):
                if key in answers:
                    words = _option_words(question, answers[key])
                    rows.append((f"{question['number']}.{index}", f"{question['text']} — {item['text']}", words))
    return rows


def _attention_answers(definition: dict, answers: dict) -> list[tuple[str, str, str]]:
    rows = []
    for question in numbered_questions(definition):
        if get_type(question["type"]).attention and answers.get(question["key"]) != question.get("correct"):
            given = _option_words(question, answers.get(question["key"]))
            right = _option_words(question, question.get("correct"))
            rows.append(
                (question["number"], question["text"], _("答“%(given)s”，应答“%(right)s”", given=given, right=right))
            )
    return rows


def _other_answers(definition: dict, answers: dict) -> list[tuple[str, str, str]]:
    """The questions whose 其他 was chosen but carries no text (an import from 问卷星's 按选项序号 download)."""
    rows = []
    for question in numbered_questions(definition):
        others = {o["key"]: o["text"] for o in question.get("options", []) if o.get("other")}
        given = answers.get(question["key"])
        chosen = [k for k in (given if isinstance(given, list) else [given]) if k in others]
        if chosen and not answers.get(other_key(question["key"])):
            rows.append(
                (question["number"], question["text"], _("选了“%(option)s”，未填内容", option=others[chosen[0]]))
            )
    return rows


def _same_device_numbers(response: Response) -> list[int]:
    if not response.device_hash:
        return []
    query = db.select(Response.number).where(
        Response.device_hash == response.device_hash,
        Response.questionnaire_id == response.questionnaire_id,
        Response.id != response.id,
    )
    return sorted(n for n in db.session.execute(query).scalars() if n is not None)


class FlagEvidence(list):
    """The ``Evidence`` of each flag of one response, plus ``answers``: every answer of the response in words
    (question number, answer), so a flag with no answers of its own (用时过短, 同一设备) can be judged on the page."""

    def __init__(self, items: list[Evidence], answers: list[tuple[str, str]]):
        super().__init__(items)
        self.answers = answers


def compact_answers(definition: dict, answers: dict) -> list[tuple[str, str]]:
    """The answered questions as (number, answer in words), in questionnaire order: the response browser's words
    (``answer_rows``), 其他 text included, so the review page and the response page never disagree."""
    rows = []
    for row in answer_rows(definition, answers):
        if row.answered:
            words = row.answer if not row.other or row.other in row.answer else f"{row.answer}（{row.other}）"
            rows.append((row.number, words))
    return rows


def flag_evidence(response: Response, definition: dict, min_seconds: int | None) -> FlagEvidence:
    """Beside each flag, the answers it was raised on, so an evaluator can judge it without opening the response;
    every answer of the response as well (``FlagEvidence.answers``)."""
    evidence = []
    for flag in response.flags or []:
        if flag == "too_fast":
            seconds = response.duration_seconds if response.duration_seconds is not None else "—"
            note = _("用时 %(s)s 秒，设定下限 %(min)s 秒", s=seconds, min=min_seconds or "—")
            evidence.append(Evidence(flag, note, []))
        elif flag == "straight_lining":
            rows = _scale_answers(definition, response.answers)
            evidence.append(Evidence(flag, _("%(n)d 道量表题的回答：", n=len(rows)), rows))
        elif flag == "attention_failed":
            evidence.append(Evidence(flag, "", _attention_answers(definition, response.answers)))
        elif flag == "other_without_text":
            evidence.append(
                Evidence(flag, _("导入的文件中没有这些“其他”的内容："), _other_answers(definition, response.answers))
            )
        elif flag == "duplicate_device":
            numbers = "、".join(_("第 %(n)d 号", n=n) for n in _same_device_numbers(response)) or "—"
            evidence.append(Evidence(flag, _("同一设备的其他答卷：%(list)s", list=numbers), []))
        else:
            evidence.append(Evidence(flag, "", []))
    return FlagEvidence(evidence, compact_answers(definition, response.answers or {}))


def review_log(questionnaire: Questionnaire) -> list[tuple[ReviewEvent, int | None]]:
    """Every decision on the questionnaire's responses, in order, with the response's number."""
    query = (
        db.select(ReviewEvent, Response.number)
        .join(Response, Response.id == ReviewEvent.response_id)
        .where(Response.questionnaire_id == questionnaire.id)
        .order_by(ReviewEvent.id)
    )
    return [(event, number) for event, number in db.session.execute(query)]


ACTION_NAMES = {
    "exclude": _l("排除"), "keep": _l("保留"), "restore": _l("恢复为有效"), "void": _l("作废"),
    "unvoid": _l("撤销作废"), "correct": _l("更正"),
}  # fmt: skip
"""Every decision code a ``ReviewEvent`` or ``ResponseRevision`` carries, in words: the one mapping the report PDF,
the response pages and the exclusion log CSV use."""


def decision_name(code: str) -> str:
    """A decision in words in the current language (the report's, inside the report's locale); an unknown code
    (a row from an older version) is named generically, never printed as its code."""
    return str(ACTION_NAMES.get(code, _l("其他操作")))


def exclusion_log_csv(questionnaire: Questionnaire) -> bytes:
    """The exclusion log (every exclude / keep / restore / void decision: who, when, why) as a UTF-8-with-BOM CSV."""
    columns = [_("答卷编号"), _("操作"), _("原因"), _("操作人"), time_label(_("时间"))]
    rows = [
        dict(
            zip(
                columns,
                (
                    number,
                    decision_name(event.action),
                    event.reason,
                    event.user.username if event.user else "",
                    local_text(event.created_at),
                ),
                strict=True,
            )
        )
        for event, number in review_log(questionnaire)
    ]
    return table_csv(rows, columns)


# --- correcting and voiding a keyed-in entry ------------------------------------------------------------


class NotAllowed(ValueError):
    """A change this response cannot take; ``str(error)`` says why in plain words."""


def _named(response: Response) -> str:
    return _("第 %(n)s 号答卷", n=response.number if response.number is not None else "—")


def _move_counters(questionnaire_id: int, channel_code: str, delta: int) -> None:
    """Keep the questionnaire's and the channel's counters equal to their counted rows."""
    db.session.execute(
        update(Questionnaire)
        .where(Questionnaire.id == questionnaire_id)
        .values(accepted_count=Questionnaire.accepted_count + delta)
    )
    _channel_counter(questionnaire_id, channel_code, delta)


def _channel_counter(questionnaire_id: int, channel_code: str, delta: int) -> None:
    db.session.execute(
        update(Channel)
        .where(Channel.questionnaire_id == questionnaire_id, Channel.code == channel_code)
        .values(accepted_count=Channel.accepted_count + delta)
    )


def _keep_revision(response: Response, user: User, action: str, reason: str, **after) -> ResponseRevision:
    revision = ResponseRevision(
        response_id=response.id,
        user_id=user.id,
        action=action,
        reason=reason,
        answers_before=dict(response.answers),
        channel_before=response.channel,
        status_before=response.status,
        **after,
    )
    db.session.add(revision)
    db.session.flush()
    return revision


def _audit(action: str, questionnaire: Questionnaire, response: Response, detail: dict) -> None:
    target = f"{questionnaire.title} (#{questionnaire.id}) · {_named(response)}"
    audit.record(action, questionnaire.project_id, target, {"number": response.number, **detail})


def correct(
    response: Response, user: User, answers: dict, channel: str, flags: list[str], definition: dict, reason: str
) -> ResponseRevision:
    """Replace a keyed-in entry's answers (and channel) with the typist's correction, keeping the previous ones.

    Codes are derived again from the new answers for the version the response answered; the quality flags
    are those of the new answers, to be reviewed again if they changed.
    """
    if response.mode != "paper":
        raise NotAllowed(_("只能更正录入的纸质问卷；网上和导入的答卷请用排除。"))
    if response.status == "voided":
        raise NotAllowed(_("已作废的答卷不能更正，请先撤销作废。"))
    revision = _keep_revision(response, user, "correct", reason, answers_after=answers, channel_after=channel)
    before = response.answers
    changed = sorted(k for k in set(answers) | set(before) if (answers.get(k) or None) != (before.get(k) or None))
    if channel != response.channel:  # the entry moves from one channel's count to the other's
        _channel_counter(response.questionnaire_id, response.channel, -1)
        _channel_counter(response.questionnaire_id, channel, +1)
    coder = Coder.of(definition)
    if flags != list(response.flags or []):
        response.reviewed = False
    response.answers, response.codes, response.extras = answers, coder.codes(answers), coder.extras(answers)
    response.flags, response.channel = flags, channel
    detail = {"revision": revision.id, "reason": reason, "changed": changed, "answers_before": revision.answers_before}
    if revision.channel_before != channel:
        detail["channel"] = {"before": revision.channel_before, "after": channel}
    _audit("response.correct", response_questionnaire(response), response, detail)
    db.session.commit()
    return revision


def response_questionnaire(response: Response) -> Questionnaire:
    return db.session.get(Questionnaire, response.questionnaire_id)


def void(response: Response, user: User, reason: str) -> ResponseRevision:
    """Take a keyed-in entry made in error out of every count, keeping it and its answers (作废)."""
    if response.mode != "paper":
        raise NotAllowed(_("只能作废录入的纸质问卷；网上和导入的答卷请用排除。"))
    if response.status == "voided":
        raise NotAllowed(_("这份答卷已经作废。"))
    revision = _keep_revision(response, user, "void", reason)
    _move_counters(response.questionnaire_id, response.channel, -1)
    response.status, response.exclusion_reason, response.reviewed = "voided", reason, True
    db.session.add(ReviewEvent(response_id=response.id, user_id=user.id, action="void", reason=reason))
    detail = {"revision": revision.id, "reason": reason, "status_before": revision.status_before}
    _audit("response.void", response_questionnaire(response), response, detail)
    db.session.commit()
    return revision


def unvoid(response: Response, user: User, reason: str) -> ResponseRevision:
    """Undo a void made by mistake: the entry counts again, as valid."""
    if response.status != "voided":
        raise NotAllowed(_("这份答卷没有作废。"))
    revision = _keep_revision(response, user, "unvoid", reason)
    _move_counters(response.questionnaire_id, response.channel, +1)
    response.status, response.exclusion_reason = "valid", None
    db.session.add(ReviewEvent(response_id=response.id, user_id=user.id, action="unvoid", reason=reason))
    _audit("response.unvoid", response_questionnaire(response), response, {"revision": revision.id, "reason": reason})
    db.session.commit()
    return revision


# --- excluding by rule ----------------------------------------------------------------------------------

RULE_KINDS = ("flag", "channel")
PREVIEW_SHOWN = 200


@dataclass(frozen=True)
class Rule:
    """Which valid responses to exclude: those with a flag, or those from a channel."""

    kind: str
    value: str

    def condition(self):
        if self.kind == "flag":
            return flag_condition(self.value)
        if self.kind == "channel":
            return Response.channel == self.value
        raise ValueError(f"unknown rule {self.kind!r}")


@dataclass(frozen=True)
class Preview:
    """Exactly what a rule would exclude now: how many, the first of them, and a digest of all of them.

    ``upto`` is the highest number at preview time: confirming excludes only responses up to it, so one that
    arrives in between is not excluded unseen; ``digest`` lets the confirmation check nothing else changed.
    """

    count: int
    shown: list[Response]
    upto: int
    digest: str


def _matching(questionnaire: Questionnaire, rule: Rule, upto: int | None):
    where = [Response.questionnaire_id == questionnaire.id, Response.status == "valid", rule.condition()]
    if upto is not None:
        where.append(Response.number <= upto)
    return where


def _digest(ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()


def preview_rule(questionnaire: Questionnaire, rule: Rule, upto: int | None = None) -> Preview:
    """What ``exclude_by_rule`` would exclude: read ids only, show the first ``PREVIEW_SHOWN`` responses."""
    if upto is None:  # first: a response arriving while the preview is read is then left out of it
        query = db.select(db.func.max(Response.number)).where(Response.questionnaire_id == questionnaire.id)
        upto = db.session.execute(query).scalar() or 0
    where = _matching(questionnaire, rule, upto)
    ids = list(db.session.execute(db.select(Response.id).where(*where).order_by(Response.id)).scalars())
    shown_query = db.select(Response).where(*where).order_by(Response.number).limit(PREVIEW_SHOWN)
    shown = list(db.session.execute(shown_query).scalars())
    return Preview(len(ids), shown, upto, _digest(ids))


def exclude_by_rule(
    questionnaire: Questionnaire, rule: Rule, user: User, reason: str, upto: int, digest: str
) -> int | None:
    """Exclude what the preview showed, with one reason; ``None`` (nothing done) if the matches changed since."""
    where = _matching(questionnaire, rule, upto)
    rows = db.session.execute(db.select(Response.id, Response.number).where(*where).order_by(Response.id)).all()
    if _digest([row.id for row in rows]) != digest:
        return None
    if rows:  # the same conditions, not a list of ids: tens of thousands would exceed a statement's parameters
        db.session.execute(
            update(Response)
            .where(*where)
            .values(status="excluded", exclusion_reason=reason, reviewed=True)
            .execution_options(synchronize_session=False)
        )
        now = utcnow()
        events = [{"response_id": row.id, "user_id": user.id, "action": "exclude", "reason": reason,
                   "created_at": now} for row in rows]  # fmt: skip
        db.session.execute(insert(ReviewEvent), events)
    detail = {"rule": {"kind": rule.kind, "value": rule.value}, "reason": reason, "count": len(rows),
              "numbers": [row.number for row in rows]}  # fmt: skip
    audit.record("responses.exclude_by_rule", questionnaire.project_id, f"{questionnaire.title} (#{questionnaire.id})",
                 detail)  # fmt: skip
    db.session.commit()
    return len(rows)
