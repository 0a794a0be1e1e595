"""Bridge from the database to ``analysis``: load a questionnaire's responses and compute results."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func

from analysis.results import Results, compute_results
from survey.definition import analysis_schema
from survey.extensions import db
from survey.models import Questionnaire, Response

RECORD_COLUMNS = (
    Response.id,
    Response.submitted_at,
    Response.duration_seconds,
    Response.channel,
    Response.unit_name,
    Response.status,
    Response.exclusion_reason,
    Response.answers,
    Response.flags,
)


def response_records(questionnaire: Questionnaire) -> list[dict]:
    """Every response of the questionnaire (all versions) as plain dicts, oldest first."""
    query = (
        db.select(*RECORD_COLUMNS).where(Response.questionnaire_id == questionnaire.id).order_by(Response.id)
    )
    return [row._asdict() for row in db.session.execute(query)]


def response_counts(questionnaire: Questionnaire) -> dict[str, int]:
    """Number of responses by status (valid / excluded), without loading their answers."""
    query = (
        db.select(Response.status, func.count())
        .where(Response.questionnaire_id == questionnaire.id)
        .group_by(Response.status)
    )
    counts = {"valid": 0, "excluded": 0}
    counts.update({status: n for status, n in db.session.execute(query)})
    counts["total"] = counts["valid"] + counts["excluded"]
    return counts


def channel_counts(questionnaire: Questionnaire) -> dict[str, dict[str, int]]:
    """Responses by channel code and status (``{"c1": {"valid": 3, "excluded": 1}}``)."""
    query = (
        db.select(Response.channel, Response.status, func.count())
        .where(Response.questionnaire_id == questionnaire.id)
        .group_by(Response.channel, Response.status)
    )
    counts: dict[str, dict[str, int]] = {}
    for channel, status, n in db.session.execute(query):
        counts.setdefault(channel, {"valid": 0, "excluded": 0})[status] = n
    return counts


def unit_counts(questionnaire: Questionnaire) -> dict[int, int]:
    """Valid responses per unit code id."""
    query = (
        db.select(Response.unit_code_id, func.count())
        .where(Response.questionnaire_id == questionnaire.id, Response.status == "valid",
               Response.unit_code_id.is_not(None))
        .group_by(Response.unit_code_id)
    )
    return dict(db.session.execute(query).all())


def schema_for(questionnaire: Questionnaire) -> list[dict]:
    """The schema results line up on: the current published version's, else the draft's."""
    version = questionnaire.current_version
    return analysis_schema(version.definition if version else questionnaire.definition)


def settings_for(questionnaire: Questionnaire) -> dict:
    """Analysis settings of the version results are computed for."""
    version = questionnaire.current_version
    settings = dict((version.definition if version else questionnaire.definition).get("settings") or {})
    if questionnaire.population:
        settings["population"] = questionnaire.population
    return settings


def effective_issued(questionnaire: Questionnaire) -> int | None:
    """发放: the evaluator's figure; else the channels' issued counts summed; else the target sample."""
    if questionnaire.issued_count is not None:
        return questionnaire.issued_count
    by_channel = [c.issued for c in questionnaire.channels if c.issued is not None]
    return sum(by_channel) if by_channel else questionnaire.target


def channel_label(code: str, channels: list) -> str:
    """How a channel code reads: the built-in ones translated, the evaluator's by their name."""
    names = {c.code: c.name for c in channels}
    builtin = {"web": _("网络（扫码/链接）"), "paper": _("纸质问卷")}
    return names.get(code) or builtin.get(code) or code


def _channel_group(questionnaire: Questionnaire, records: list[dict]) -> dict | None:
    """A breakdown by channel, when answers came through more than one."""
    codes = sorted({r["channel"] for r in records if r["status"] == "valid"})
    if len(codes) < 2:
        return None
    return {
        "text": _("渠道"),
        "options": [{"key": c, "text": channel_label(c, questionnaire.channels)} for c in codes],
    }


def questionnaire_results(questionnaire: Questionnaire) -> Results:
    """The full results of a questionnaire, as the results page and CLI show them."""
    records = response_records(questionnaire)
    return compute_results(
        schema_for(questionnaire),
        settings_for(questionnaire),
        records,
        issued=effective_issued(questionnaire),
        small_n=current_app.config["SMALL_SAMPLE_N"],
        channel_group=_channel_group(questionnaire, records),
    )
