"""Response data sets for statistics packages: SPSS .sav, Stata .dta and a CSV of option codes.

The tables are built by ``analysis.datasets``; these views only load the responses of a questionnaire
the signed-in evaluator may see (others get 404) and name the metadata in the evaluator's language.
Submission times are on the project's clock (``survey.localtime``): the variable is named for its zone
(``submitted_utc8``) and labelled 提交时间（北京时间，UTC+8）, so the code CSV, which has no labels, says it too.
"""

from __future__ import annotations

from flask import Blueprint, Response
from flask_babel import gettext as _
from flask_login import login_required

from analysis.datasets import coded_table, codes_csv, write_dta, write_sav
from survey.access import member_questionnaire
from survey.localtime import time_label, time_variable, to_local
from survey.reporting import evaluator_number, response_records, schema_for

bp = Blueprint("datasets", __name__, url_prefix="/desk/questionnaires/<int:questionnaire_id>/data")


@bp.before_request
@login_required
def require_login():
    """Every data set needs a signed-in evaluator; membership is checked per route."""


def _table(questionnaire_id: int):
    """The coded table; submission times on the project's clock, named and labelled with their zone."""
    questionnaire = member_questionnaire(questionnaire_id)
    records = [
        {**r, "id": evaluator_number(r), "submitted_at": to_local(r["submitted_at"])}
        for r in response_records(questionnaire)
    ]
    table = coded_table(
        schema_for(questionnaire),
        records,
        time_name=time_variable(),
        meta_labels={
            "id": _("编号"),
            "submitted": time_label(_("提交时间"), offset=True),
            "duration": _("用时（秒）"),
            "channel": _("渠道"),
            "unit": _("单位"),
            "status": _("状态"),
            "exclusion_reason": _("排除原因"),
        },
        status_labels={"valid": _("有效"), "excluded": _("已排除")},
        choice_labels={0: _("未选"), 1: _("选中")},
    )
    return questionnaire, table


def _attachment(data: bytes, mimetype: str, filename: str) -> Response:
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f"attachment; filename={filename}"})


@bp.get("/responses.sav")
def responses_sav(questionnaire_id: int):
    """All responses as an SPSS file: codes with value labels, question texts as variable labels."""
    questionnaire, (frame, labels, values, measures) = _table(questionnaire_id)
    return _attachment(
        write_sav(frame, labels, values, measures), "application/x-spss-sav", f"responses-{questionnaire.id}.sav"
    )


@bp.get("/responses.dta")
def responses_dta(questionnaire_id: int):
    """All responses as a Stata file (format 118, UTF-8), labelled like the SPSS file."""
    questionnaire, (frame, labels, values, _measures) = _table(questionnaire_id)
    return _attachment(write_dta(frame, labels, values), "application/x-stata-dta", f"responses-{questionnaire.id}.dta")


@bp.get("/responses-codes.csv")
def responses_codes_csv(questionnaire_id: int):
    """All responses as a CSV of option codes (1..k; 0/1 per multiple-choice option), UTF-8 with BOM."""
    questionnaire, (frame, _labels, values, _measures) = _table(questionnaire_id)
    return _attachment(codes_csv(frame, values), "text/csv; charset=utf-8", f"responses-{questionnaire.id}-codes.csv")
