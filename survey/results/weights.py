"""Each response's weight, for the files that carry a 权重 column (CSV, workbook, .sav, .dta, the bundle)."""

from __future__ import annotations

from flask_babel import gettext as _

from analysis.weighted_results import compute_weights
from analysis.weighting import WeightingError
from survey.models import Questionnaire, Response
from survey.platform.extensions import db
from survey.results.reporting import load_response_set, schema_for
from survey.results.weighting_spec import weighting_spec

WEIGHT_FIELD = "weight"


def response_weights(questionnaire: Questionnaire) -> dict[int, float] | None:
    """Each valid response's weight by response id, as the figures use it; ``None`` without a scheme that applies.

    For exports: computed afresh from today's valid responses, exactly as ``questionnaire_results`` computes them
    (same frame, same order), never read from a stored column.
    """
    schema = schema_for(questionnaire)
    try:
        spec = weighting_spec(questionnaire, schema)
        if spec is None:
            return None
        frame = load_response_set(questionnaire, schema).frame
        weights = compute_weights(frame, spec) if len(frame) else None
    except WeightingError:
        return None
    if weights is None:
        return None
    query = db.select(Response.id).where(Response.questionnaire_id == questionnaire.id, Response.status == "valid")
    ids = db.session.execute(query.order_by(Response.id)).scalars().all()
    return dict(zip(ids, weights.weights.tolist(), strict=True))


def with_weights(questionnaire: Questionnaire, records: list[dict], labels: dict[str, str]):
    """Records and column titles with a 权重 column when the questionnaire is weighted (blank for responses not
    in the figures: excluded ones). Call before ``display_records``, while ``id`` is still the response id."""
    weights = response_weights(questionnaire)
    if weights is None:
        return records, labels
    return [{**r, WEIGHT_FIELD: weights.get(r["id"])} for r in records], {**labels, WEIGHT_FIELD: _("权重")}
