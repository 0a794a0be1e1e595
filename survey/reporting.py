"""Bridge from the database to ``analysis``: load a questionnaire's responses and compute results."""

from __future__ import annotations

from flask import current_app
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


def schema_for(questionnaire: Questionnaire) -> list[dict]:
    """The schema results line up on: the current published version's, else the draft's."""
    version = questionnaire.current_version
    return analysis_schema(version.definition if version else questionnaire.definition)


def settings_for(questionnaire: Questionnaire) -> dict:
    """Analysis settings of the version results are computed for."""
    version = questionnaire.current_version
    return (version.definition if version else questionnaire.definition).get("settings", {})


def questionnaire_results(questionnaire: Questionnaire) -> Results:
    """The full results of a questionnaire, as the results page and CLI show them."""
    return compute_results(
        schema_for(questionnaire),
        settings_for(questionnaire),
        response_records(questionnaire),
        issued=questionnaire.issued_count,
        small_n=current_app.config["SMALL_SAMPLE_N"],
    )
