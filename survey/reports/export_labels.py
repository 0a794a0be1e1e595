"""Column titles and sheet words of the exported files, in the current language.

The responses CSV (``survey.projects.desk_views``), the workbooks (``survey.reports.workbooks``) and the working-paper
bundle
(``survey.reports.bundle``) all title their columns and sheets with these words: they live here, not in any one
view, so every file says the same thing the same way.
"""

from __future__ import annotations

from flask_babel import gettext as _

from analysis.reliability import MIN_RESPONDENTS_FOR_ALPHA
from survey.platform.localtime import time_label


def export_labels() -> dict[str, str]:
    """Column titles of the response metadata, in the evaluator's language."""
    return {
        "id": _("编号"),
        "submitted_at": time_label(_("提交时间")),  # 提交时间（北京时间）: the values are on the same clock
        "duration_seconds": _("用时（秒）"),
        "channel": _("渠道"),
        "unit_name": _("单位"),
        "status": _("状态"),
        "exclusion_reason": _("排除原因"),
        "source_row": _("来源行号（序号）"),  # an imported response's row in its file (问卷星's 序号)
    }


def workbook_labels() -> dict[str, str]:
    """Sheet names and headers of the workbook, in the evaluator's language."""
    return {
        "sheet_counts": _("回收情况"),
        "sheet_rates": _("比率"),
        "sheet_frequencies": _("频数"),
        "sheet_breakdowns": _("分组"),
        "sheet_reliability": _("信度"),
        "sheet_responses": _("原始数据"),
        "sheet_weighted": _("加权结果"),
        "sheet_rounds": _("多轮比较"),
        "change_points": _("变化（个百分点）"),
        "ci_low_points": _("变化的 95% 置信区间下限"),
        "ci_high_points": _("变化的 95% 置信区间上限"),
        "change_words": _("表述"),
        "weighting_problem": _("无法加权"),
        "unweighted_percent": _("未加权"),
        "unweighted_n": _("未加权 n"),
        "weighted_percent": _("加权"),
        "standard_error_points": _("标准误（个百分点）"),
        "n_effective": _("有效样本量"),
        "weights_n": _("有效问卷"),
        "weights_total": _("权重总和"),
        "weights_minimum": _("最小权重"),
        "weights_median": _("权重中位数"),
        "weights_maximum": _("最大权重"),
        "weights_design_effect": _("设计效应（Kish）"),
        "weights_n_effective": _("有效样本量"),
        "weights_table": _("人口表"),
        "weights_category": _("类别"),
        "weights_sample_share": _("样本占比"),
        "weights_population": _("人口"),
        "weights_population_share": _("人口占比"),
        "weights_mean": _("平均权重"),
        "weights_exploding": _("权重过大"),
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
