"""The weighting scheme of a questionnaire: stored settings, and what they come to on today's responses."""

from __future__ import annotations

from survey.models import Questionnaire, WeightingScheme
from survey.platform.extensions import db

SCHEME_FIELDS = (
    "enabled",
    "method",
    "tolerance",
    "max_iterations",
    "trim",
    "trim_low",
    "trim_high",
    "trim_multiple",
)


def save_scheme(questionnaire: Questionnaire, table_names: list[str], **settings) -> WeightingScheme:
    """Store the scheme (one per questionnaire). Trimming values that do not apply to the chosen trim are
    cleared, so the record says exactly what is used."""
    scheme = questionnaire.weighting or WeightingScheme(questionnaire=questionnaire, table_names=[])
    for name in SCHEME_FIELDS:
        setattr(scheme, name, settings[name])
    if scheme.trim != "bounds":
        scheme.trim_low = scheme.trim_high = None
    if scheme.trim != "median":
        scheme.trim_multiple = None
    known = {table.name for table in questionnaire.population_tables}
    scheme.table_names = [name for name in table_names if name in known]
    db.session.add(scheme)
    db.session.commit()
    return scheme
