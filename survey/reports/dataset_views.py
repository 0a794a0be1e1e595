"""Response data sets for statistics packages: SPSS .sav, Stata .dta and a CSV of option codes.

The tables are built by ``analysis.datasets``; these views only load the responses of a questionnaire
the signed-in evaluator may see (others get 404) and name the metadata in the evaluator's language.
Submission times are on the project's clock (``survey.platform.localtime``): the variable is named for its zone
(``submitted_utc8``) and labelled 提交时间（北京时间，UTC+8）, so the code CSV, which has no labels, says it too.
"""

from __future__ import annotations

from flask import Blueprint
from flask_babel import gettext as _
from flask_login import login_required

from analysis.datasets import coded_table
from survey.accounts.access import member_questionnaire
from survey.jobs import queue as jobs
from survey.jobs.downloads import heavy_download
from survey.jobs.queue import JobFile
from survey.models import Questionnaire
from survey.platform.extensions import db
from survey.platform.localtime import time_label, time_variable, to_local
from survey.reports.dataset_files import codes_csv, write_dta, write_sav
from survey.results.reporting import evaluator_number, response_records, schema_for
from survey.results.weights import WEIGHT_FIELD, response_weights

bp = Blueprint("datasets", __name__, url_prefix="/desk/questionnaires/<int:questionnaire_id>/data")


@bp.before_request
@login_required
def require_login():
    """Every data set needs a signed-in evaluator; membership is checked per route."""


def _table(questionnaire: Questionnaire):
    """The coded table; submission times on the project's clock, named and labelled with their zone. A weighted
    questionnaire's table starts with the ``weight`` variable (blank for responses not in the figures)."""
    raw = response_records(questionnaire)
    weights = response_weights(questionnaire)
    records = [{**r, "id": evaluator_number(r), "submitted_at": to_local(r["submitted_at"])} for r in raw]
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
            "source_row": _("来源行号（序号）"),
        },
        status_labels={"valid": _("有效"), "excluded": _("已排除")},
        choice_labels={0: _("未选"), 1: _("选中")},
    )
    if weights is not None:
        frame, labels, values, measures = table
        frame.insert(0, WEIGHT_FIELD, [weights.get(r["id"]) for r in raw])
        labels = {WEIGHT_FIELD: _("权重（加权到人口表，已剔除的答卷为空）"), **labels}
        table = (frame, labels, values, {WEIGHT_FIELD: "scale", **measures})
    return table


def _offer(kind: str, questionnaire_id: int):
    """The data set as an export job (``survey.jobs.queue``), or at once with jobs off; members only."""
    questionnaire = member_questionnaire(questionnaire_id)
    params = {"questionnaire_id": questionnaire.id}
    return heavy_download(kind, params, project_id=questionnaire.project_id, questionnaire_id=questionnaire.id)


def _questionnaire(params: dict) -> Questionnaire:
    questionnaire = db.session.get(Questionnaire, params["questionnaire_id"])
    if questionnaire is None:
        raise LookupError("the questionnaire is gone")
    return questionnaire


@bp.get("/responses.sav")
def responses_sav(questionnaire_id: int):
    """All responses as an SPSS file: codes with value labels, question texts as variable labels."""
    return _offer("responses_sav", questionnaire_id)


@bp.get("/responses.dta")
def responses_dta(questionnaire_id: int):
    """All responses as a Stata file (format 118, UTF-8), labelled like the SPSS file."""
    return _offer("responses_dta", questionnaire_id)


@bp.get("/responses-codes.csv")
def responses_codes_csv(questionnaire_id: int):
    """All responses as a CSV of option codes (1..k; 0/1 per multiple-choice option), UTF-8 with BOM."""
    return _offer("responses_codes_csv", questionnaire_id)


def build_sav(params: dict) -> JobFile:
    """The SPSS file, built from the questionnaire's id (in an export job or the request)."""
    questionnaire = _questionnaire(params)
    frame, labels, values, measures = _table(questionnaire)
    weight = WEIGHT_FIELD if WEIGHT_FIELD in frame.columns else None
    return JobFile(
        write_sav(frame, labels, values, measures, weight=weight),
        f"responses-{questionnaire.id}.sav",
        "application/x-spss-sav",
    )


def build_dta(params: dict) -> JobFile:
    """The Stata file, built from the questionnaire's id."""
    questionnaire = _questionnaire(params)
    frame, labels, values, _measures = _table(questionnaire)
    return JobFile(write_dta(frame, labels, values), f"responses-{questionnaire.id}.dta", "application/x-stata-dta")


def build_codes_csv(params: dict) -> JobFile:
    """The CSV of option codes, built from the questionnaire's id."""
    questionnaire = _questionnaire(params)
    frame, _labels, values, _measures = _table(questionnaire)
    return JobFile(codes_csv(frame, values), f"responses-{questionnaire.id}-codes.csv", "text/csv; charset=utf-8")


jobs.register("responses_sav", lambda: _("SPSS 数据（.sav）"), build_sav)
jobs.register("responses_dta", lambda: _("Stata 数据（.dta）"), build_dta)
jobs.register("responses_codes_csv", lambda: _("CSV（选项代码）"), build_codes_csv)
