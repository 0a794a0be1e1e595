"""Words for figures: rate names and definitions, shared by the results page, the JSON and exports.

Analysis returns numbers and structure only; how a rate is named and defined in the reader's
language is decided here, once.
"""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import gettext as _

from analysis.rates import Rate
from analysis.scoring import Wording


def quoted_list(items: list[str]) -> str:
    """Option texts each in its own quotes, so texts containing commas stay readable."""
    if str(get_locale()) == "en":
        return ", ".join(f"“{item}”" for item in items)
    return "".join(f"“{item}”" for item in items)


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
