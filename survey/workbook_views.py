"""The questionnaire workbook (XLSX): results, frequencies, breakdowns, reliability and raw responses."""

from __future__ import annotations

from flask import Blueprint, Response
from flask_babel import gettext as _
from flask_login import login_required

from analysis.export import responses_table
from analysis.workbook import results_workbook
from survey.access import member_questionnaire
from survey.desk import _export_labels
from survey.reporting import display_records, questionnaire_results, response_records, schema_for
from survey.results_json import results_dict

bp = Blueprint("workbook", __name__, url_prefix="/desk/questionnaires/<int:questionnaire_id>")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.before_request
@login_required
def require_login():
    """Signed-in evaluators only; membership is checked per route."""


@bp.get("/results.xlsx")
def results_xlsx(questionnaire_id: int):
    """Every figure of the results page, native charts and the raw responses as one Excel workbook."""
    questionnaire = member_questionnaire(questionnaire_id)
    data = results_dict(questionnaire, questionnaire_results(questionnaire))
    records = display_records(questionnaire, response_records(questionnaire))
    table = responses_table(schema_for(questionnaire), records, _export_labels())
    return Response(
        results_workbook(data, table, workbook_labels()),
        mimetype=XLSX,
        headers={"Content-Disposition": f"attachment; filename=results-{questionnaire.id}.xlsx"},
    )


def workbook_labels() -> dict[str, str]:
    """Sheet names and headers of the workbook, in the evaluator's language."""
    return {
        "sheet_counts": _("回收情况"),
        "sheet_rates": _("比率"),
        "sheet_frequencies": _("频数"),
        "sheet_breakdowns": _("分组"),
        "sheet_reliability": _("信度"),
        "sheet_responses": _("原始数据"),
        "figure": _("指标"),
        "value": _("数值"),
        "issued": _("发放份数"),
        "returned": _("回收份数"),
        "valid": _("有效份数"),
        "excluded": _("排除份数"),
        "return_rate": _("回收率"),
        "valid_rate": _("有效回收率"),
        "flagged": _("有提示的有效问卷"),
        "population": _("总体规模"),
        "required_sample_5": _("误差±%(margin)s所需样本量", margin="5%"),
        "required_sample_3": _("误差±%(margin)s所需样本量", margin="3%"),
        "exclusion_reason": _("排除原因"),
        "count": _("人数"),
        "number": _("题号"),
        "question": _("题目"),
        "name": _("名称"),
        "rate": _("比率"),
        "percent": _("百分比") + " (%)",
        "numerator": _("分子"),
        "denominator": _("分母（n）"),
        "ci_low": _("置信区间下限") + " (95%)",
        "ci_high": _("置信区间上限") + " (95%)",
        "margin": _("误差幅度"),
        "small_sample": _("小样本"),
        "yes": _("是"),
        "definition": _("定义"),
        "overall": _("总体"),
        "dimension": _("维度"),
        "index": _("满意度指数"),
        "overall_index": _("总体满意度指数"),
        "alpha": _("克朗巴赫α"),
        "questions": _("包含题目"),
        "rates_chart": _("各题比率"),
        "option": _("选项"),
        "share": _("占比"),
        "answered": _("作答人数"),
        "mean": _("平均值"),
        "median": _("中位数"),
        "minimum": _("最小值"),
        "maximum": _("最大值"),
        "std": _("标准差"),
        "group": _("分组"),
        "respondents": _("人数"),
        "n": "n",
        "p_value": _("p 值"),
        "distribution_test": _("选项分布检验"),
        "method": _("方法"),
        "statistic": _("统计量"),
        "df": _("自由度"),
        "band": _("信度评价"),
        "kmo": "KMO",
        "bartlett_chi2": _("Bartlett 球形检验 χ²"),
        "bartlett_p": _("Bartlett 检验 p 值"),
        "bartlett_n": _("Bartlett 检验样本量"),
        "alpha_if_deleted": _("删除该题后的α"),
        "item_total": _("校正的题总相关"),
    }
