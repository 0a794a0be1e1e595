"""Words for figures: rate names and definitions, shared by the results page, the JSON and exports.

Analysis returns numbers and structure only; how a rate is named and defined in the reader's
language is decided here, once.
"""

from __future__ import annotations

from flask_babel import gettext as _

from analysis.rates import Rate
from analysis.reliability import ScaleReliability, alpha_band
from analysis.scoring import Wording
from survey.questionnaires.describing import quoted_list


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
