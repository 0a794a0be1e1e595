"""A questionnaire's skip logic in words: the builder, the respondent page, the paper form and the report PDF all
say “第 1 题选择了“不太安全”” the same way."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import gettext as _

from survey.questionnaires.conditions import answer_keys
from survey.questionnaires.qtypes import get_type


def quoted_list(items: list[str]) -> str:
    """Option texts each in its own quotes, so texts containing commas stay readable."""
    if str(get_locale()) == "en":
        return ", ".join(f"“{item}”" for item in items)
    return "".join(f"“{item}”" for item in items)


def condition_index(sections: list[dict]) -> dict[str, dict]:
    """Answer key -> display number and option texts, for describing skip conditions in words."""
    index = {}
    for section in sections:
        for question in section["questions"]:
            options = {o["key"]: o["text"] for o in question.get("options", [])}
            per_item = get_type(question["type"]).has_items
            for position, key in enumerate(answer_keys(question), start=1):
                number = f"{question['number']}.{position}" if per_item else question["number"]
                index[key] = {"number": number, "options": options}
    return index


def describe_condition(condition: dict, index: dict[str, dict]) -> str:
    """A skip condition in words: “第 1 题选择了“不太安全”“不安全””."""
    if "all" in condition:
        return _("，并且").join(describe_condition(c, index) for c in condition["all"])
    if "any" in condition:
        return _("，或者").join(describe_condition(c, index) for c in condition["any"])
    entry = index.get(condition["question"], {"number": condition["question"], "options": {}})
    values = condition.get("any_of") or condition.get("none_of") or []
    options = quoted_list([entry["options"].get(v, v) for v in values])
    if "any_of" in condition:
        return _("第 %(number)s 题选择了%(options)s", number=entry["number"], options=options)
    return _("第 %(number)s 题没有选择%(options)s", number=entry["number"], options=options)
