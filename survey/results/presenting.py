"""Words for figures: rate names and definitions, shared by the results page, the JSON and exports.

Analysis returns numbers and structure only; how a rate is named and defined in the reader's
language is decided here, once.
"""

from __future__ import annotations

from flask_babel import gettext as _

from analysis.rates import Rate
from analysis.reliability import ScaleReliability, alpha_band
from analysis.scoring import Wording
from analysis.weighted_results import WeightedFigures
from analysis.weighting import Estimate, WeightingError
from survey.questionnaires.describing import quoted_list


def channel_label(code: str, channels: list) -> str:
    """How a channel code reads: the built-in ones translated, the evaluator's by their name."""
    names = {c.code: c.label for c in channels}
    builtin = {"web": _("网络（扫码/链接）"), "paper": _("纸质问卷")}
    return names.get(code) or builtin.get(code) or code


def rate_name(rate: Rate) -> str:
    """满意率, 安全感率… or the questionnaire's own name for the rate."""
    if rate.label:
        return rate.label
    names = {
        "safety": _("安全感率"),
        "satisfaction": _("满意率"),
        "awareness": _("知晓率"),
        "participation": _("参与率"),
    }
    return names.get(rate.measure or "", _("正面评价率"))


def rate_definition(rate: Rate) -> str:
    """The rate's definition in one sentence, with its numerator and denominator."""
    values = {
        "name": rate_name(rate),
        "options": quoted_list(rate.positive_options),
        "num": rate.numerator,
        "den": rate.denominator,
        "dk": quoted_list(rate.dont_know_options),
        "count": rate.dont_know_count,
    }
    if not rate.dont_know_options:
        return _("口径：%(name)s = 选择%(options)s的人数（%(num)d）÷ 回答本题的有效问卷数（%(den)d）。", **values)
    if rate.dont_know_policy == "exclude":
        return _(
            "口径：%(name)s = 选择%(options)s的人数（%(num)d）÷ 回答本题的有效问卷数（%(den)d），"
            "选择%(dk)s的 %(count)d 人不计入分母。",
            **values,
        )
    return _(
        "口径：%(name)s = 选择%(options)s的人数（%(num)d）÷ 回答本题的有效问卷数（%(den)d），"
        "选择%(dk)s的 %(count)d 人计为不满意。",
        **values,
    )


def say(wording: Wording | str) -> str:
    """A sentence from ``analysis`` (msgid and values) in the reader's language; plain text as is.

    Values may themselves be wordings, or lists of them (joined with the list separator).
    """
    if isinstance(wording, str):
        return wording
    values = {}
    for name, value in wording.values.items():
        if isinstance(value, Wording):
            value = say(value)
        elif isinstance(value, list):
            value = _("；").join(say(part) for part in value)
        values[name] = value
    return _(wording.message, **values) if values else _(wording.message)


def alpha_band_name(alpha: float | None) -> str:
    """The usual reading of an α in words (很好, 好, 可接受, 勉强, 差); empty when there is no α."""
    names = {
        "excellent": _("很好"),
        "good": _("好"),
        "acceptable": _("可接受"),
        "questionable": _("勉强"),
        "poor": _("差"),
    }
    return names.get(alpha_band(alpha) or "", "")


def alpha_sentence(scale: ScaleReliability | None) -> str | None:
    """The scale's reliability in one sentence: α with its reading, items and n; or, when α is held back
    for too few complete respondents (``ScaleReliability.held_back``) or undefined, why there is none.

    The results page, workbook and report all say it this way, so no reader sees "α = 0.945（很好）" on
    three respondents. ``None`` when the questionnaire has no scale (fewer than two scored items).
    """
    if scale is None:
        return None
    if scale.held_back:
        return _(
            "完整作答的问卷只有 %(n)d 份（少于 %(min)d 份），样本太少，"
            "不计算 Cronbach α、删除该题后的 α 和校正的项总相关。",
            n=scale.n,
            min=scale.min_n,
        )
    if scale.alpha is None:
        return _("各题得分没有差异，无法计算 Cronbach α。")
    return _(
        "整体量表 Cronbach α = %(a)s（%(band)s），%(k)d 题，完整作答 %(n)d 份。",
        a=f"{scale.alpha:.3f}",
        band=alpha_band_name(scale.alpha),
        k=len(scale.items),
        n=scale.n,
    )


def weighting_method_name(method: str, trim: str = "none") -> str:
    """The weighting method in words: 事后分层 / 迭代加权（raking）, and the trimming if any."""
    names = {"poststratify": _("事后分层加权"), "rake": _("迭代加权（raking）")}
    name = names.get(method, method)
    if trim == "bounds":
        return _("%(name)s，权重限定在上下界之间后重新迭代", name=name)
    if trim == "median":
        return _("%(name)s，权重限定在中位数的若干倍之内后重新迭代", name=name)
    return name


def weighting_sentence(weighted: WeightedFigures) -> str:
    """How the weighted figures were obtained, with n and the effective n: said beside every weighted figure."""
    spec, summary = weighted.spec, weighted.summary
    tables = quoted_list([m.name + (f"（{m.source}）" if m.source else "") for m in spec.margins])
    return _(
        "加权口径：按人口表%(tables)s%(method)s；有效问卷 %(n)d 份，权重总和 %(total)s，"
        "设计效应（Kish）%(deff)s，有效样本量 %(neff)s。权重由当前有效问卷计算，剔除答卷后会随之改变。",
        tables=tables,
        method=weighting_method_name(spec.method, spec.trim),
        n=summary.n,
        total=f"{summary.total:,.0f}",
        deff=f"{summary.design_effect:.2f}",
        neff=f"{summary.n_effective:.1f}",
    )


def estimate_definition(estimate: Estimate) -> str:
    """A weighted rate's definition: Σw·y ÷ Σw over the same base as the unweighted rate, its SE and interval."""
    return _(
        "加权值 = 基数内各人权重 × 是否正面评价之和 ÷ 基数内权重之和；基数 %(n)d 份（有效样本量 %(neff)s），"
        "标准误按泰勒线性化在校准后的设计上计算，95%% 置信区间在 logit 尺度上求得。",
        n=estimate.n,
        neff=f"{estimate.n_effective:.1f}" if estimate.n_effective else "—",
    )


def weighting_problem(error: WeightingError | None) -> str | None:
    """Why weighting could not be applied, in the reader's language (the msgids are ``analysis``'s messages,
    extracted by scripts/i18n.sh from every ``WeightingError("…")``)."""
    return _(error.template, **error.params) if error is not None else None
