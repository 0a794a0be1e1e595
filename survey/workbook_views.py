"""The Excel workbooks: one questionnaire's results (with the raw responses) and a whole project's.

Both stream the raw responses into the file (``analysis.workbook.ResponseRows``): records are turned into
display rows in small batches while the sheet is written, never into one table in memory.

A workbook is written in its own language (``?language=zh|en``, else the desk's): every word in it, the
labels, the rates' names and definitions, the channel and status of each response, is put into words
under that locale, whatever language the desk is in.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, request
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import login_required

from analysis.export import response_columns, response_rows
from analysis.indicators import TableScore
from analysis.reliability import MIN_RESPONDENTS_FOR_ALPHA
from analysis.workbook import QuestionnaireSheets, ResponseRows, results_workbook
from analysis.workbook import project_workbook as workbook_of_project
from survey import jobs
from survey.access import member_project, member_questionnaire
from survey.desk import _export_labels
from survey.downloads import heavy_download
from survey.extensions import db
from survey.indicator_links import current_score
from survey.indicator_sheet import table_of
from survey.jobs import JobFile
from survey.models import Project, Questionnaire
from survey.reporting import display_records, questionnaire_results, response_records, schema_for
from survey.results_json import results_dict

bp = Blueprint("workbook_views", __name__, url_prefix="/desk")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
BATCH = 1000  # records put into words at a time while the responses sheet is written
LANGUAGES = {"zh": "zh_Hans_CN", "en": "en"}  # ?language= → the locale a workbook is written in


@bp.before_request
@login_required
def require_login():
    """Signed-in evaluators only; membership is checked per route."""


@bp.get("/questionnaires/<int:questionnaire_id>/results.xlsx")
def results_xlsx(questionnaire_id: int):
    """Every figure of the results page, native charts, the project's 附件1 table and the raw responses."""
    questionnaire = member_questionnaire(questionnaire_id)
    params = {"questionnaire_id": questionnaire.id, "workbook_locale": workbook_locale()}
    return heavy_download(
        "results_xlsx", params, project_id=questionnaire.project_id, questionnaire_id=questionnaire.id
    )


@bp.get("/projects/<int:project_id>/workbook.xlsx")
def project_workbook(project_id: int):
    """One workbook for the project (any member, viewers included, may download it)."""
    project = member_project(project_id)
    return heavy_download(
        "project_workbook", {"project_id": project.id, "workbook_locale": workbook_locale()}, project_id=project.id
    )


def build_results_xlsx(params: dict) -> JobFile:
    """The results workbook as an export job builds it (``survey.jobs``), from ids alone."""
    questionnaire = db.session.get(Questionnaire, params["questionnaire_id"])
    if questionnaire is None:
        raise LookupError("the questionnaire is gone")
    body = questionnaire_workbook(questionnaire, params["workbook_locale"])
    return JobFile(body, f"results-{questionnaire.id}.xlsx", XLSX)


def build_project_workbook(params: dict) -> JobFile:
    """The project workbook as an export job builds it."""
    project = db.session.get(Project, params["project_id"])
    if project is None:
        raise LookupError("the project is gone")
    body = project_file(project, params["workbook_locale"])
    return JobFile(body, f"project-{project.id}.xlsx", XLSX, f"{project.name}.xlsx")


jobs.register("results_xlsx", lambda: _("结果工作簿（Excel）"), build_results_xlsx)
jobs.register("project_workbook", lambda: _("项目工作簿（Excel）"), build_project_workbook)


def workbook_locale() -> str:
    """The language asked for with ``?language=zh|en``; otherwise the desk's."""
    return LANGUAGES.get(request.args.get("language", ""), str(get_locale()))


def questionnaire_workbook(questionnaire: Questionnaire, locale: str | None = None) -> bytes:
    """The results workbook of one questionnaire in ``locale`` (default: the current one); also what
    ``bench/export.py`` measures."""
    with force_locale(locale or str(get_locale())):
        data = results_dict(questionnaire, questionnaire_results(questionnaire), text_limit=0)
        table = scored_table(questionnaire.project)
        return results_workbook(data, responses_of(questionnaire), workbook_labels(), table)


def project_file(project: Project, locale: str | None = None) -> bytes:
    """A summary of the project's published questionnaires, its 附件1 table, then each questionnaire's sheets,
    in ``locale``; each questionnaire's responses are loaded only when its sheets are written."""
    with force_locale(locale or str(get_locale())):
        parts = [
            QuestionnaireSheets(results_dict(q, questionnaire_results(q), text_limit=0), lambda q=q: responses_of(q))
            for q in published_questionnaires(project)
        ]
        return workbook_of_project(parts, workbook_labels(), scored_table(project))


def published_questionnaires(project: Project) -> list[Questionnaire]:
    """The questionnaires with a frozen version (published or closed); drafts have no responses to report."""
    return [q for q in project.questionnaires if q.current_version is not None]


def responses_of(questionnaire: Questionnaire) -> ResponseRows:
    """The raw responses as rows in words (option texts, times, channels), produced while they are written."""
    labels = _export_labels()
    schema = schema_for(questionnaire)
    records = response_records(questionnaire)

    def displayed() -> Iterator[dict]:
        for start in range(0, len(records), BATCH):
            yield from display_records(questionnaire, records[start : start + BATCH])

    return ResponseRows(response_columns(schema, labels), response_rows(schema, displayed(), labels))


def scored_table(project: Project) -> tuple[dict, TableScore | None] | None:
    """The project's indicator table with its current score (linked leaves from the results), if it has one;
    a table with errors is shown without scores, as on its own page."""
    row = table_of(project)
    if row is None:
        return None
    return row.definition, current_score(project, row.definition)


def workbook_labels() -> dict[str, str]:
    """Sheet names and headers of the workbook, in the evaluator's language."""
    return {
        "sheet_counts": _("回收情况"),
        "sheet_rates": _("比率"),
        "sheet_frequencies": _("频数"),
        "sheet_breakdowns": _("分组"),
        "sheet_reliability": _("信度"),
        "sheet_responses": _("原始数据"),
        "sheet_summary": _("问卷汇总"),
        "sheet_prefix": _("工作表前缀"),
        "questionnaire": _("问卷"),
        "status": _("状态"),
        "status_published": _("收集中"),
        "status_closed": _("已关闭"),
        "status_draft": _("草稿"),
        "overall_rate": _("总体满意度"),
        "overall_method_mean": _("口径：总体满意度 = 各题满意率的算术平均"),
        "overall_method_weighted": _("口径：总体满意度 = 各题满意率按设定权重的加权平均"),
        "return_rate_definition": _("口径：回收率 = 回收份数 ÷ 发放份数；有效回收率 = 有效份数 ÷ 发放份数。"),
        "summary_note": _("只列出已发布的问卷；每份问卷的工作表以本表的前缀开头（如 Q1）。"),
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
        "ci_below": _("区间下侧（个百分点）"),
        "ci_above": _("区间上侧（个百分点）"),
        "max_margin": _("最大误差范围（p = 0.5，个百分点）"),
        "margin_note": _(
            "区间下侧 = 比率 − 95% 置信区间下限，区间上侧 = 上限 − 比率（Wilson 区间不对称，比率为 0 或 100% 时"
            "一侧为 0）；最大误差范围 = 1.96 × √(0.25 ÷ n)，即 p = 0.5 时的误差，只取决于样本量，"
            "填写总体规模时做有限总体校正。"
        ),
        "small_sample": _("小样本"),
        "yes": _("是"),
        "definition": _("定义"),
        "overall": _("总体"),
        "dimension": _("维度"),
        "index": _("满意度指数"),
        "overall_index": _("总体满意度指数"),
        "alpha": _("克朗巴赫α"),
        "questions": _("包含题目"),
        "list_separator": _("、"),
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
        "band_excellent": _("很好"),
        "band_good": _("好"),
        "band_acceptable": _("可接受"),
        "band_questionable": _("勉强"),
        "band_poor": _("差"),
        "alpha_n": _("完整作答份数"),
        "alpha_held_back": _(
            "完整作答的问卷少于 %(min)d 份，样本太少，不计算克朗巴赫α、删除该题后的α和校正的题总相关。",
            min=MIN_RESPONDENTS_FOR_ALPHA,
        ),
        "kmo_held_back": _(
            "题目或完整作答的问卷太少（至少 3 题，且问卷数不少于题数的 5 倍和 30 份），不计算 KMO 与 Bartlett 检验。"
        ),
        "method_chi2": _("卡方检验"),
        "method_fisher": _("Fisher 精确检验"),
        "kmo": "KMO",
        "bartlett_chi2": _("Bartlett 球形检验 χ²"),
        "bartlett_p": _("Bartlett 检验 p 值"),
        "bartlett_n": _("Bartlett 检验样本量"),
        "alpha_if_deleted": _("删除该题后的α"),
        "item_total": _("校正的题总相关"),
    }
