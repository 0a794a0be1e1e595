"""The questionnaire's weighting scheme as ``analysis`` takes it: its population tables joined to the schema's
group questions. Weights are never read from the database: they are computed from the valid responses with the
figures (``analysis.weighted_results``)."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func

from analysis.results import CHANNEL_COLUMN
from analysis.weighted_results import PopulationMargin, WeightingSpec
from analysis.weighting import WeightingError
from survey.models import PopulationTable, Questionnaire, Response
from survey.platform.extensions import db
from survey.results.presenting import channel_label


def channel_question(questionnaire: Questionnaire) -> dict | None:
    """The channel (采集点) as a question a population table or a sample plan may use as strata, when interviews
    are organised by channel (one link per 乡镇, say): its options are the questionnaire's channels and any other
    channel its valid responses came through. ``None`` with fewer than two."""
    query = db.select(Response.channel).where(Response.questionnaire_id == questionnaire.id, Response.status == "valid")
    present = db.session.execute(query.group_by(Response.channel).order_by(func.min(Response.id))).scalars().all()
    codes = list(dict.fromkeys([c.code for c in questionnaire.channels] + [c for c in present if c]))
    if len(codes) < 2:
        return None
    return {
        "key": CHANNEL_COLUMN,
        "number": "",
        "text": _("采集点（渠道）"),
        "storage": "one",
        "options": [{"key": code, "text": channel_label(code, questionnaire.channels)} for code in codes],
    }


def weighting_spec(questionnaire: Questionnaire, schema: list[dict]) -> WeightingSpec | None:
    """The enabled scheme, or ``None``; ``WeightingError`` when a table it names is gone or no longer fits."""
    scheme = questionnaire.weighting
    if scheme is None or not scheme.enabled:
        return None
    tables = {table.name: table for table in questionnaire.population_tables}
    missing = [name for name in scheme.table_names if name not in tables]
    if missing:
        raise WeightingError("加权方案所用的人口表“%(name)s”已被删除", name=missing[0])
    return WeightingSpec(
        method=scheme.method,
        margins=tuple(population_margin(tables[name], schema) for name in scheme.table_names),
        tolerance=scheme.tolerance,
        max_iterations=scheme.max_iterations,
        trim=scheme.trim,
        trim_low=scheme.trim_low,
        trim_high=scheme.trim_high,
        trim_multiple=scheme.trim_multiple,
    )


def population_margin(table: PopulationTable, schema: list[dict]) -> PopulationMargin:
    """A stored table as a margin over the schema's questions; a question since removed is named."""
    by_key = {question["key"]: question for question in schema}
    if CHANNEL_COLUMN in table.question_keys:
        by_key[CHANNEL_COLUMN] = channel_question(table.questionnaire) or {"key": CHANNEL_COLUMN, "options": []}
    for key in table.question_keys:
        if key not in by_key:
            raise WeightingError("人口表“%(name)s”所用的题目已不在问卷中", name=table.name)
    counts = {tuple(cell["options"]): float(cell["count"]) for cell in table.cells}
    questions = tuple(by_key[key] for key in table.question_keys)
    return PopulationMargin(table.name, questions, counts, table.source)
