"""Bridge from the database to ``analysis``: load a questionnaire's responses and compute results."""

from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import replace

import orjson
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Text, cast, func

from analysis.frame import coded_frame, uncoded_keys
from analysis.lazy import lazy_module
from analysis.results import CHANNEL_COLUMN, ResponseSet, Results, compute_results
from analysis.weighting import WeightingError
from survey.models import Questionnaire, Response
from survey.platform.driver import plain_rows
from survey.platform.extensions import db
from survey.platform.localtime import local_text
from survey.questionnaires.definition import analysis_schema
from survey.responses.coding import Coder, layout
from survey.results.presenting import channel_label
from survey.results.rounds import compare
from survey.results.weighting_spec import weighting_spec

pd = lazy_module("pandas")

RECORD_COLUMNS = (
    Response.id,
    Response.number,
    Response.submitted_at,
    Response.duration_seconds,
    Response.channel,
    Response.unit_name,
    Response.status,
    Response.exclusion_reason,
    Response.answers,
    Response.flags,
    Response.source_row,  # 来源行号（序号）of an imported response, None for the others
)


def response_records(questionnaire: Questionnaire) -> list[dict]:
    """Every response of the questionnaire (all versions) as plain dicts, oldest first."""
    # Voided entries (keyed in by mistake, survey.collection.review.void) are not responses: kept, but out of every
    # file.
    mine = (Response.questionnaire_id == questionnaire.id, Response.status != "voided")
    query = db.select(*RECORD_COLUMNS).where(*mine).order_by(Response.id)
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
        .where(
            Response.questionnaire_id == questionnaire.id,
            Response.status == "valid",
            Response.unit_code_id.is_not(None),
        )
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


def display_records(questionnaire: Questionnaire, records: list[dict]) -> list[dict]:
    """Response records with time, status and channel in words, as the desk's CSV and workbook show them."""
    shown = []
    for record in records:
        shown.append(
            {
                **record,
                "submitted_at": local_text(record["submitted_at"]) or _("时间不详"),  # never an invented time
                "status": _("有效") if record["status"] == "valid" else _("已排除"),
                "channel": channel_label(record["channel"], questionnaire.channels),
                "id": evaluator_number(record),
                # "" rather than None: a column of whole numbers with gaps would otherwise be read as floats
                # by pandas, and the CSV would say 17.0
                "source_row": "" if record.get("source_row") is None else record["source_row"],
            }
        )
    return shown


def evaluator_number(record: dict) -> int:
    """The number an evaluator knows a response by in every file: 第 N 号 within its questionnaire (the row id
    only for a row not numbered yet)."""
    return record["number"] if record.get("number") is not None else record["id"]


def effective_issued(questionnaire: Questionnaire) -> int | None:
    """发放: the evaluator's figure; else the channels' issued counts summed; else the target sample."""
    if questionnaire.issued_count is not None:
        return questionnaire.issued_count
    by_channel = [c.issued for c in questionnaire.channels if c.issued is not None]
    return sum(by_channel) if by_channel else questionnaire.target


def _channel_group(questionnaire: Questionnaire, channels) -> dict | None:
    """A breakdown by channel, when valid answers came through more than one."""
    codes = sorted(set(channels))
    if len(codes) < 2:
        return None
    return {
        "text": _("渠道"),
        "options": [{"key": c, "text": channel_label(c, questionnaire.channels)} for c in codes],
    }


def _status_counts(questionnaire: Questionnaire) -> tuple[int, dict[str, int], int]:
    """Returned count, exclusion reasons and the number of flagged valid responses, counted in SQL."""
    query = (
        db.select(Response.status, Response.exclusion_reason, func.count())
        .where(Response.questionnaire_id == questionnaire.id)
        .group_by(Response.status, Response.exclusion_reason)
    )
    returned, reasons = 0, {}
    for status, reason, n in db.session.execute(query):
        if status == "voided":  # an entry made in error, not a returned questionnaire
            continue
        returned += n
        if status != "valid":
            reasons[reason or ""] = reasons.get(reason or "", 0) + n
    flagged = db.session.execute(
        db.select(func.count()).where(
            Response.questionnaire_id == questionnaire.id,
            Response.status == "valid",
            cast(Response.flags, Text) != "[]",
        )
    ).scalar()
    return returned, reasons, flagged


def fetch_plain(query) -> list[tuple]:
    """Run a read-only select in the session's transaction, its rows as plain tuples (``survey.platform.driver``)."""
    return plain_rows(db.session.connection(), query)


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while a million small objects are built.

    They hold no cycles, but allocating them keeps triggering collections that scan everything:
    measured, parsing 100,000 small JSON objects took 0.108 s with the collector and 0.048 s without.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load_response_set(questionnaire: Questionnaire, schema: list[dict]) -> ResponseSet:
    """Valid responses as a frame, from the stored codes and extras (fast), the answers JSON as fallback."""
    with gc_paused():
        return _load_response_set(questionnaire, schema)


def _load_response_set(questionnaire: Questionnaire, schema: list[dict]) -> ResponseSet:
    returned, reasons, flagged = _status_counts(questionnaire)
    columns = [Response.version_id, Response.channel, Response.codes, Response.extras]
    if _has_uncoded_rows(questionnaire):
        columns.append(Response.answers)
    query = db.select(*columns).where(Response.questionnaire_id == questionnaire.id, Response.status == "valid")
    rows = fetch_plain(query.order_by(Response.id))
    rows = [row if row[2] is not None else _derive(questionnaire, row) for row in rows]
    layouts = {v.id: layout(v.definition) for v in questionnaire.versions}
    frame = coded_frame(
        schema, layouts, [row[0] for row in rows], [row[2] for row in rows], _extra_columns(schema, rows)
    )
    frame[CHANNEL_COLUMN] = pd.Series([row[1] for row in rows], dtype="object")
    return ResponseSet(frame, returned, reasons, flagged)


def _extra_columns(schema: list[dict], rows: list[tuple]) -> dict[str, list]:
    """Multiple-choice, number and text answers from each row's small extras JSON."""
    keys = uncoded_keys(schema)
    if not keys:
        return {}
    parsed = [orjson.loads(row[3]) if row[3] else {} for row in rows]
    return {key: [extras.get(key) for extras in parsed] for key in keys}


def _derive(questionnaire: Questionnaire, row: tuple) -> tuple:
    """Codes and extras for a row stored without them (JSON comes as text on SQLite, parsed on PostgreSQL)."""
    answers = orjson.loads(row[4]) if isinstance(row[4], str | bytes) else row[4]
    coder = Coder.of(_version_definition(questionnaire, row[0]))
    return row[0], row[1], coder.codes(answers), coder.extras(answers)


def _has_uncoded_rows(questionnaire: Questionnaire) -> bool:
    query = db.select(Response.id).where(Response.questionnaire_id == questionnaire.id, Response.codes.is_(None))
    return db.session.execute(query.limit(1)).first() is not None


def _version_definition(questionnaire: Questionnaire, version_id: int) -> dict:
    return next(v.definition for v in questionnaire.versions if v.id == version_id)


def questionnaire_results(questionnaire: Questionnaire) -> Results:
    """The full results of a questionnaire, as the results page and CLI show them, with the weighted figures
    beside them when the questionnaire has a weighting scheme (or the reason it could not be applied), and the
    comparison with its previous rounds when it is a round of a series."""
    if questionnaire.round_link is None:
        return round_results(questionnaire, overall_se=False)
    results = round_results(questionnaire, overall_se=True)
    small_n = current_app.config["SMALL_SAMPLE_N"]
    comparison = compare(questionnaire, results, lambda q: round_results(q, overall_se=True), small_n)
    return replace(results, rounds=comparison)


def round_results(questionnaire: Questionnaire, overall_se: bool) -> Results:
    """One round's results, without the comparison with other rounds; ``overall_se`` adds the overall figure's
    standard error, which comparing rounds needs."""
    schema = schema_for(questionnaire)
    responses = load_response_set(questionnaire, schema)
    try:
        spec, problem = weighting_spec(questionnaire, schema), None
    except WeightingError as error:
        spec, problem = None, error
    results = compute_results(
        schema,
        settings_for(questionnaire),
        responses,
        issued=effective_issued(questionnaire),
        small_n=current_app.config["SMALL_SAMPLE_N"],
        channel_group=_channel_group(questionnaire, responses.frame[CHANNEL_COLUMN].unique()),
        weighting=spec,
        overall_se=overall_se,
    )
    return replace(results, weighting_error=problem) if problem else results
