"""Question types: one registry entry per type.

Each entry knows, for its type: its traits (``has_options``: a choice type; ``single``: one option key
per answer; ``has_items``: a grid; ``scored``, ``rated``, ``condition``, ``free_text``), the settings a
definition may hold (``settings``) and their checks (``check``), what the builder offers (``hint``,
``default_text``, ``defaults``), its form's inputs and their checks (``inputs``: ``forms.fields`` builds the
WTForms fields from them, so the domain never imports forms), the answers it stores
in the response's JSON (``answer``), a plausible demo answer (``demo_answer``), how an imported cell
reads (``imported``), and the columns analysis sees (``schema_entries``: storage kinds ``one`` option key,
``many`` option keys, ``number``, ``text``; ``measurement`` the datasets' level). Adding a type means adding
one class here and its partial ``templates/qtypes/<name>.html`` (how the phone page, the paper form and the
builder show it; see ``docs/ARCHITECTURE.md``); an unknown type raises ``KeyError`` naming it. No other
module of ``survey/``, ``forms/`` or ``analysis/`` names a type (``tests/test_type_registry.py``).

``read`` is optional: it reads a visible question's answers straight from the submitted values on the
common path where everything is in order (``survey.respond.reader.QuickReader``), and raises ``Unclear`` for
anything the full form would refuse or that it cannot judge; the WTForms form then decides and explains.
A type without it is always read through the form, only more slowly.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from flask_babel import lazy_gettext as _l

from survey.questionnaires.problems import Problem

OTHER_SUFFIX = "__other"
OTHER_TEXT_LIMIT = 200  # characters in an "other" option's text box
OPTION_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
DONT_KNOW_VALUES = (False, True, "exclude", "not_satisfied")


def other_key(question_key: str) -> str:
    """The answers-JSON key holding the free text of an "other" option."""
    return question_key + OTHER_SUFFIX


# The largest magnitude a number answer (and a question's bounds or an option's score) may have. Far beyond
# any count or amount a survey asks for, and small enough that sums, means and spreads over millions of
# answers stay finite and exact enough, and every export (Stata's doubles end near 8.99e307) can hold them.
NUMBER_LIMIT = 10**12
# A date as spreadsheets and 问卷星 write it (2019-05-01, 2019/5/1, 2019年5月1日, with or without a time).
DATE_TEXT = re.compile(
    r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[ T]+(\d{1,2})[:时](\d{1,2})(?:[:分](\d{1,2})(?:\.\d+)?秒?)?)?"
)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _within_limit(value: Any) -> bool:
    """A finite number no larger in magnitude than ``NUMBER_LIMIT``."""
    return _is_number(value) and abs(value) <= NUMBER_LIMIT


def schema_options(question: dict) -> list[dict]:
    """Options as analysis sees them: flags resolved to plain values."""
    return [
        {
            "key": o["key"],
            "text": o["text"],
            "score": o.get("score"),
            "positive": bool(o.get("positive")),
            "dont_know": o.get("dont_know") or False,
            "other": bool(o.get("other")),
        }
        for o in question.get("options", [])
    ]


Values = Callable[[str], list[str]]  # form field name -> the values submitted under it


class Unclear(Exception):
    """A quick read cannot vouch for an answer: the full form must validate it (and explain any refusal)."""


def first(values: list[str]) -> str | None:
    """What a single-valued field holds: the first value submitted, ``None`` when nothing was."""
    return values[0] if values else None


def blank(value: str | None) -> bool:
    """Empty as WTForms' required and optional checks see it: nothing, or only whitespace."""
    return value is None or not value.strip()


class Refused(ValueError):
    """An answer its question does not accept; ``message`` tells the respondent why."""

    def __init__(self, message: Any):
        super().__init__(message)
        self.message = message


# An answer check: (the answer as submitted, the submitted value of another input by name) -> None or ``Refused``.
Check = Callable[[Any, Callable[[str], Any]], None]


@dataclass(frozen=True)
class Input:
    """One input of a question's form, described for ``forms.fields.question_fields`` to build.

    ``kind``: ``one`` (one option key), ``many`` (several), ``line`` or ``box`` (text, one line or several);
    ``checks`` run after the required check; ``max_length`` (characters) says ``too_long`` when exceeded, or
    the form library's own words; an ``optional`` input (the "other" box) is never required.
    """

    kind: str
    checks: tuple[Check, ...] = ()
    max_length: int | None = None
    too_long: Any = None
    optional: bool = False


def _passes(check: Check, value) -> bool:
    """Whether one of this module's answer checks accepts ``value`` (one that reads no other input)."""
    try:
        check(value, _no_other)
    except Refused:
        return False
    return True


def _no_other(name: str) -> Any:
    raise LookupError(name)


class QuestionType:
    """Base for all types; subclasses set the class attributes and override what differs."""

    name: ClassVar[str]
    label: ClassVar[Any]
    hint: ClassVar[Any]  # the builder's one-line description under the label
    default_text: ClassVar[Any]  # the text of a new question, for the evaluator to change
    storage: ClassVar[str]
    measurement: ClassVar[str] = "nominal"  # SPSS/Stata level of a ``one`` column: nominal or ordinal
    has_options: ClassVar[bool] = False  # a choice type: its answers are option keys
    single: ClassVar[bool] = False  # one option key per answer cell
    has_items: ClassVar[bool] = False  # a grid: one answer per item, keyed ``question.item``
    scored: ClassVar[bool] = False  # options carry scores, positive and "don't know" flags
    rated: ClassVar[bool] = False  # may count towards a rate (measure, rate label, dimension)
    condition: ClassVar[bool] = False  # skip logic may depend on its answer
    free_text: ClassVar[bool] = False  # the answer is text kept as typed
    allow_other: ClassVar[bool] = False  # may have an "other (please write)" option
    attention: ClassVar[bool] = False  # a quality check with one right answer (``correct``)
    bounds: ClassVar[str | None] = None  # the builder's min/max inputs: their field prefix
    settings: ClassVar[tuple[str, ...]] = ()  # the type's own definition fields (besides the common ones)
    xlsform: ClassVar[dict[str, dict]] = {}  # XLSForm type words read as this type -> the fields they add
    multiline: ClassVar[str | None] = None  # the type an XLSForm ``multiline`` appearance turns it into

    def defaults(self) -> dict[str, Any]:
        """What a new question of this type holds besides key, type, text and ``required``."""
        return {}

    def parse_bound(self, text: str | None) -> Any:
        """A min or max as typed in the builder, as the definition stores it (``None`` when blank or unreadable)."""
        return None

    def demo_answer(self, question: dict, rng: random.Random, index: int) -> dict[str, Any]:
        """A plausible answer for the demo data (``index`` counts the demo respondents)."""
        return {}

    def imported(self, question: dict, text: str) -> Any:
        """A non-blank cell of an imported table as this question's answer, before the form checks it."""
        return text

    def check(self, question: dict, path: str) -> list[Problem]:
        """Type-specific problems of a question definition (common fields are checked elsewhere)."""
        return []

    def inputs(self, question: dict) -> dict[str, Input]:
        """The inputs of this question's form, keyed by form field name (``forms.fields`` builds them)."""
        raise NotImplementedError

    def answer(self, question: dict, form) -> dict[str, Any]:
        """The JSON entries this question adds to a response; empty when unanswered."""
        value = form[question["key"]].data
        value = value.strip() if isinstance(value, str) else value
        return {question["key"]: value} if value not in (None, "") else {}

    def read(self, question: dict, values: Values) -> dict[str, Any]:
        """``answer`` of a visible question whose form would validate, read without the form; else ``Unclear``."""
        raise Unclear

    def forged(self, question: dict, values: Values) -> bool:
        """Whether a hidden question was sent an option key it does not have (refused even when hidden)."""
        return False

    def schema_entries(self, question: dict) -> list[dict]:
        """Analysis columns of this question (one for most types)."""
        return [
            {
                "key": question["key"],
                "number": question["number"],
                "text": question["text"],
                "type": self.name,
                "storage": self.storage,
                "measurement": self.measurement,
                "measure": question.get("measure"),
                "rate_label": question.get("rate_label"),
                "dimension": question.get("dimension"),
                "options": schema_options(question),
            }
        ]


class _ChoiceType(QuestionType):
    """Shared by the option-based types: option checks, option texts and the "other" text box."""

    has_options = True
    condition = True
    allow_other = True

    def check(self, question: dict, path: str) -> list[Problem]:
        return _option_problems(path, question.get("options"), self.allow_other)

    def _other_input(self, question: dict) -> dict[str, Input]:
        if not any(option.get("other") for option in question["options"]):
            return {}
        return {other_key(question["key"]): Input("line", max_length=OTHER_TEXT_LIMIT, optional=True)}

    def _with_other(self, question: dict, form, chosen: list[str]) -> dict[str, Any]:
        other_keys = {o["key"] for o in question["options"] if o.get("other")}
        if other_keys & set(chosen):
            text = (form[other_key(question["key"])].data or "").strip()
            return {other_key(question["key"]): text} if text else {}
        return {}

    def _read_other(self, question: dict, values: Values, chosen: list[str]) -> dict[str, Any]:
        """The "other" text of ``read``: within its length, and filled in when "other" is chosen."""
        other_keys = {o["key"] for o in question["options"] if o.get("other")}
        if not other_keys:
            return {}
        text = first(values(other_key(question["key"]))) or ""
        if len(text) > OTHER_TEXT_LIMIT:
            raise Unclear
        if not other_keys & set(chosen):
            return {}
        if blank(text):
            raise Unclear  # _other_text_check refuses it
        return {other_key(question["key"]): text.strip()}

    def forged(self, question: dict, values: Values) -> bool:
        keys = {o["key"] for o in question["options"]}
        return any(value not in ("", None) and value not in keys for value in self._single_values(question, values))

    def _single_values(self, question: dict, values: Values) -> list[str | None]:
        """The value each of the question's radio groups holds."""
        return [first(values(question["key"]))]


class SingleChoice(_ChoiceType):
    """单选题: one option; may be rated (positive flags) and may have an "other" option."""

    name = "single_choice"
    label = _l("单选题")
    xlsform = {"select_one": {}}
    hint = _l("只能选一项，如“是/否”")
    default_text = _l("新的单选题（请修改题目文字）")
    storage = "one"
    single = True
    scored = True
    rated = True

    def defaults(self) -> dict[str, Any]:
        return {"options": _placeholder_options()}

    def demo_answer(self, question: dict, rng: random.Random, index: int) -> dict[str, Any]:
        option = pick_option(question["options"], rng)
        extra = {other_key(question["key"]): "希望继续加强夜间巡逻"} if option.get("other") else {}
        return {question["key"]: option["key"], **extra}

    def inputs(self, question: dict) -> dict[str, Input]:
        return {question["key"]: Input("one", (_other_text_check(question),)), **self._other_input(question)}

    def answer(self, question: dict, form) -> dict[str, Any]:
        value = form[question["key"]].data
        if not value:
            return {}
        return {question["key"]: value, **self._with_other(question, form, [value])}

    def read(self, question: dict, values: Values) -> dict[str, Any]:
        value = first(values(question["key"]))
        if not value:
            if question.get("required"):
                raise Unclear
            self._read_other(question, values, [])  # the box's own length check still applies
            return {}
        if value not in {o["key"] for o in question["options"]}:
            raise Unclear
        return {question["key"]: value, **self._read_other(question, values, [value])}


class RatingScale(SingleChoice):
    """量表题: 3–7 labelled levels (满意/基本满意/不满意…) shown as a scale; analysed like a single choice."""

    name = "rating"
    label = _l("评分量表题")
    xlsform = {}
    hint = _l("满意程度，默认 很满意…不满意 五级")
    default_text = _l("您对这项工作满意吗？（请修改题目文字）")
    measurement = "ordinal"

    def defaults(self) -> dict[str, Any]:
        return {"measure": "satisfaction", "options": rating_scale()}

    def check(self, question: dict, path: str) -> list[Problem]:
        problems = super().check(question, path)
        options = question.get("options")
        if not problems and isinstance(options, list):
            points = [o for o in options if not o.get("dont_know")]
            if not 3 <= len(points) <= 7:
                problems.append(Problem(f"{path}.options", _l("量表题应有 3 到 7 个等级（“不清楚”类选项不算）。")))
        return problems


class RespondentGroup(SingleChoice):
    """分组题: who answered (unit, community, age band); results can be broken down by it."""

    name = "group"
    label = _l("分组题（受访者类别）")
    xlsform = {}
    hint = _l("受访者类别，结果可按它分组")
    default_text = _l("您属于以下哪一类？（请修改题目文字）")
    allow_other = False
    scored = False

    def schema_entries(self, question: dict) -> list[dict]:
        return [{**entry, "group": True} for entry in super().schema_entries(question)]


class AttentionCheck(SingleChoice):
    """注意力检测题: one right answer; a wrong one flags the response for review, never enters rates."""

    name = "attention"
    label = _l("注意力检测题")
    xlsform = {}
    hint = _l("检验是否认真作答，不计入结果")
    default_text = _l("为确认您在认真作答，本题请选择“同意”。")
    allow_other = False
    scored = False
    rated = False
    attention = True
    settings = ("correct",)

    def defaults(self) -> dict[str, Any]:
        return {"options": [{"key": "a", "text": "同意"}, {"key": "b", "text": "不同意"}], "correct": "a"}

    def demo_answer(self, question: dict, rng: random.Random, index: int) -> dict[str, Any]:
        right, correct = rng.random() < 0.95, question["correct"]
        return {
            question["key"]: correct if right else next(o["key"] for o in question["options"] if o["key"] != correct)
        }

    def check(self, question: dict, path: str) -> list[Problem]:
        problems = super().check(question, path)
        keys = {o.get("key") for o in question.get("options") or [] if isinstance(o, dict)}
        if question.get("correct") not in keys:
            problems.append(Problem(f"{path}.correct", _l("注意力检测题必须指定一个存在的正确选项。")))
        return problems

    def schema_entries(self, question: dict) -> list[dict]:
        entries = super().schema_entries(question)
        for entry in entries:
            entry["attention_correct"] = question["correct"]
            entry["measure"] = None  # a quality check is never a satisfaction figure
            for option in entry["options"]:
                option["positive"] = False
        return entries


class MultipleChoice(_ChoiceType):
    """多选题: several options, optionally bounded, with an optional "other" text."""

    name = "multiple_choice"
    label = _l("多选题")
    xlsform = {"select_multiple": {}}
    hint = _l("可以选多项，如“您担心哪些问题”")
    default_text = _l("新的多选题（请修改题目文字）")
    storage = "many"
    scored = True
    rated = True
    settings = ("min_choices", "max_choices")

    def defaults(self) -> dict[str, Any]:
        return {"options": _placeholder_options()}

    def demo_answer(self, question: dict, rng: random.Random, index: int) -> dict[str, Any]:
        options = question["options"]
        plain = [o for o in options if not o.get("other")]
        picks = rng.sample(plain, rng.randint(1, min(len(plain), question.get("max_choices") or 3)))
        return {question["key"]: [o["key"] for o in options if o in picks]}

    def check(self, question: dict, path: str) -> list[Problem]:
        problems = super().check(question, path)
        low, high = question.get("min_choices"), question.get("max_choices")
        for name, value in (("min_choices", low), ("max_choices", high)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                problems.append(Problem(f"{path}.{name}", _l("选择数量限制必须是正整数。")))
        if isinstance(low, int) and isinstance(high, int) and low > high:
            problems.append(Problem(f"{path}.min_choices", _l("最少选择数不能大于最多选择数。")))
        return problems

    def inputs(self, question: dict) -> dict[str, Input]:
        checks = (_selection_bounds(question), _other_text_check(question))
        return {question["key"]: Input("many", checks), **self._other_input(question)}

    def answer(self, question: dict, form) -> dict[str, Any]:
        picked = set(form[question["key"]].data or [])
        chosen = [o["key"] for o in question["options"] if o["key"] in picked]
        if not chosen:
            return {}
        return {question["key"]: chosen, **self._with_other(question, form, chosen)}

    def read(self, question: dict, values: Values) -> dict[str, Any]:
        picked = values(question["key"])
        if self.forged(question, values) or (not picked and question.get("required")):
            raise Unclear
        chosen: list[str] = []
        if picked:  # an empty optional group skips the count and "other" checks, as Optional() does
            low, high = question.get("min_choices"), question.get("max_choices")
            if (low and len(picked) < low) or (high and len(picked) > high):
                raise Unclear
            chosen = [o["key"] for o in question["options"] if o["key"] in set(picked)]
        other = self._read_other(question, values, chosen)
        return {question["key"]: chosen, **other} if chosen else {}

    def forged(self, question: dict, values: Values) -> bool:
        keys = {o["key"] for o in question["options"]}
        return any(value not in keys for value in values(question["key"]))


class Matrix(_ChoiceType):
    """矩阵题: several items on one shared scale (the usual satisfaction grid); each item is a column."""

    name = "matrix"
    label = _l("矩阵量表题")
    hint = _l("多个小项共用一组满意度等级")
    default_text = _l("请对以下各项作出评价（请修改题目文字）")
    storage = "one"
    measurement = "ordinal"
    allow_other = False
    single = True
    has_items = True
    scored = True
    rated = True

    def defaults(self) -> dict[str, Any]:
        return {"measure": "satisfaction", "items": [{"key": "a1", "text": "小题一"}], "options": rating_scale()}

    def demo_answer(self, question: dict, rng: random.Random, index: int) -> dict[str, Any]:
        return {
            f"{question['key']}.{item['key']}": pick_option(question["options"], rng)["key"]
            for item in question["items"]
        }

    def check(self, question: dict, path: str) -> list[Problem]:
        problems = super().check(question, path)
        items = question.get("items")
        if not isinstance(items, list) or not items:
            return [*problems, Problem(f"{path}.items", _l("矩阵题至少要有一个小题。"))]
        seen: set[str] = set()
        for index, item in enumerate(items):
            where = f"{path}.items[{index}]"
            if not isinstance(item, dict):
                problems.append(Problem(where, _l("每个小题必须是一个 JSON 对象。")))
                continue
            key = item.get("key")
            if not isinstance(key, str) or not OPTION_KEY_PATTERN.match(key) or key in seen:
                problems.append(
                    Problem(f"{where}.key", _l("小题编号须为 1–16 个字母、数字、下划线或连字符，且不能重复。"))
                )
            seen.add(key)
            if not isinstance(item.get("text"), str) or not item["text"].strip():
                problems.append(Problem(f"{where}.text", _l("小题文字不能为空。")))
        return problems

    def inputs(self, question: dict) -> dict[str, Input]:
        return {f"{question['key']}.{item['key']}": Input("one") for item in question["items"]}

    def answer(self, question: dict, form) -> dict[str, Any]:
        result = {}
        for item in question["items"]:
            name = f"{question['key']}.{item['key']}"
            if form[name].data:
                result[name] = form[name].data
        return result

    def read(self, question: dict, values: Values) -> dict[str, Any]:
        keys, result = {o["key"] for o in question["options"]}, {}
        for item in question["items"]:
            name = f"{question['key']}.{item['key']}"
            value = first(values(name))
            if not value:
                if question.get("required"):
                    raise Unclear
                continue
            if value not in keys:
                raise Unclear
            result[name] = value
        return result

    def _single_values(self, question: dict, values: Values) -> list[str | None]:
        return [first(values(f"{question['key']}.{item['key']}")) for item in question["items"]]

    def schema_entries(self, question: dict) -> list[dict]:
        base = super().schema_entries(question)[0]
        return [
            {
                **base,
                "key": f"{question['key']}.{item['key']}",
                "number": f"{question['number']}.{index}",
                "text": f"{question['text']} — {item['text']}",
                "item_text": item["text"],
                "parent": question["key"],
                "dimension": item.get("dimension") or question.get("dimension"),
            }
            for index, item in enumerate(question["items"], start=1)
        ]


class NumberQuestion(QuestionType):
    """数字题: a count or an amount, bounded; full-width digits are accepted."""

    name = "number"
    label = _l("数字题")
    xlsform = {"integer": {"integer": True}, "decimal": {}}
    hint = _l("填一个数字，如次数、金额")
    default_text = _l("新的数字题（请修改题目文字）")
    storage = "number"
    measurement = "scale"
    bounds = "number"
    settings = ("min", "max", "integer", "unit", "unit_en")

    def defaults(self) -> dict[str, Any]:
        return {"min": 0, "integer": True}

    def parse_bound(self, text: str | None) -> Any:
        return parse_number(text) if (text or "").strip() else None

    def demo_answer(self, question: dict, rng: random.Random, index: int) -> dict[str, Any]:
        low, high = int(question.get("min", 0)), int(question.get("max", 20))
        return {question["key"]: rng.randint(low, min(high, low + 20))}

    def check(self, question: dict, path: str) -> list[Problem]:
        problems = []
        for name in ("min", "max"):
            if name in question and not _is_number(question[name]):
                problems.append(Problem(f"{path}.{name}", _l("上下限必须是数字。")))
            elif name in question and not _within_limit(question[name]):
                problems.append(Problem(f"{path}.{name}", _l("上下限的绝对值不能超过 %(n)s。", n=LIMIT_TEXT)))
        if not problems and question.get("min", -math.inf) > question.get("max", math.inf):
            problems.append(Problem(f"{path}.min", _l("下限不能大于上限。")))
        if "integer" in question and not isinstance(question["integer"], bool):
            problems.append(Problem(f"{path}.integer", _l("这一项只能是 true 或 false。")))
        return problems

    def inputs(self, question: dict) -> dict[str, Input]:
        return {question["key"]: Input("line", (_number_check(question),))}

    def answer(self, question: dict, form) -> dict[str, Any]:
        value = parse_number(form[question["key"]].data)
        if value is None:
            return {}
        return {question["key"]: int(value) if question.get("integer") else value}

    def read(self, question: dict, values: Values) -> dict[str, Any]:
        raw = _read_text(question, values)
        if not _passes(_number_check(question), raw):
            raise Unclear
        value = parse_number(raw)
        if value is None:
            return {}
        return {question["key"]: int(value) if question.get("integer") else value}


class DateQuestion(QuestionType):
    """日期题: a calendar date, stored as ``YYYY-MM-DD``."""

    name = "date"
    label = _l("日期题")
    xlsform = {"date": {}}
    hint = _l("填一个日期")
    default_text = _l("新的日期题（请修改题目文字）")
    storage = "text"
    bounds = "date"
    settings = ("min", "max")

    def parse_bound(self, text: str | None) -> Any:
        value = parse_date(text) if (text or "").strip() else None
        return value.isoformat() if value else None

    def demo_answer(self, question: dict, rng: random.Random, index: int) -> dict[str, Any]:
        return {question["key"]: f"2019-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"}

    def imported(self, question: dict, text: str) -> Any:
        """A spreadsheet date (2019/5/1, 2019年5月1日 12:00) as ``YYYY-MM-DD``; anything else is left to the form."""
        text = unicodedata.normalize("NFKC", text).strip()
        match = DATE_TEXT.fullmatch(text)
        if not match:
            return text  # the form's date check says how to write it
        year, month, day = (int(p) for p in match.groups()[:3])
        return f"{year:04d}-{month:02d}-{day:02d}"

    def check(self, question: dict, path: str) -> list[Problem]:
        problems = []
        for name in ("min", "max"):
            if name in question and parse_date(question[name]) is None:
                problems.append(Problem(f"{path}.{name}", _l("日期须写成 YYYY-MM-DD。")))
        return problems

    def inputs(self, question: dict) -> dict[str, Input]:
        return {question["key"]: Input("line", (_date_check(question),))}

    def answer(self, question: dict, form) -> dict[str, Any]:
        value = parse_date(form[question["key"]].data)
        return {question["key"]: value.isoformat()} if value else {}

    def read(self, question: dict, values: Values) -> dict[str, Any]:
        raw = _read_text(question, values)
        if not _passes(_date_check(question), raw):
            raise Unclear
        value = parse_date(raw)
        return {question["key"]: value.isoformat()} if value else {}


class ShortText(QuestionType):
    """填空题: one line, e.g. the respondent's unit."""

    name = "text"
    label = _l("填空题")
    xlsform = {"text": {}}
    multiline = "textarea"
    hint = _l("填一行字，如所在单位")
    default_text = _l("新的填空题（请修改题目文字）")
    storage = "text"
    free_text = True
    settings = ("max_length",)
    limit: ClassVar[int] = 200
    default_length: ClassVar[int] = 200
    input_kind: ClassVar[str] = "line"

    def check(self, question: dict, path: str) -> list[Problem]:
        value = question.get("max_length")
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= self.limit
        ):
            return [Problem(f"{path}.max_length", _l("字数上限应在 1 到 %(n)d 之间。", n=self.limit))]
        return []

    def defaults(self) -> dict[str, Any]:
        return {"required": False}

    def demo_answer(self, question: dict, rng: random.Random, index: int) -> dict[str, Any]:
        return {question["key"]: f"{2017 + index % 2}年{rng.randint(1, 12)}月"}

    def max_length(self, question: dict) -> int:
        """The longest answer accepted."""
        return question.get("max_length") or self.default_length

    def inputs(self, question: dict) -> dict[str, Input]:
        too_long = _l("回答太长了，请控制在 %(max)d 字以内。")  # WTForms fills in %(max)d
        return {question["key"]: Input(self.input_kind, max_length=self.max_length(question), too_long=too_long)}

    def read(self, question: dict, values: Values) -> dict[str, Any]:
        raw = _read_text(question, values)
        if raw is not None and len(raw) > self.max_length(question):
            raise Unclear
        value = raw.strip() if raw is not None else None
        return {question["key"]: value} if value else {}


def _read_text(question: dict, values: Values) -> str | None:
    """The one value of a text-like field, ``Unclear`` when a required one is blank."""
    raw = first(values(question["key"]))
    if question.get("required") and blank(raw):
        raise Unclear
    return raw


class LongText(ShortText):
    """问答题: free text such as suggestions."""

    name = "textarea"
    label = _l("问答题")
    xlsform = {}
    multiline = None
    hint = _l("填一段话，如意见和建议")
    default_text = _l("您还有什么意见和建议？")
    limit = 5000
    default_length = 2000
    input_kind = "box"

    def demo_answer(self, question: dict, rng: random.Random, index: int) -> dict[str, Any]:
        return {question["key"]: "建议增加夜间巡逻和重点路段的监控覆盖。"} if rng.random() < 0.3 else {}


# The default scale of a new rating or matrix question: text, score, whether it counts as satisfied.
RATING_SCALE = (
    ("很满意", 100, True),
    ("满意", 80, True),
    ("基本满意", 60, True),
    ("不太满意", 30, False),
    ("不满意", 0, False),
)


def option_letters(index: int) -> str:
    """0 → a, 25 → z, 26 → aa: the option-key sequence."""
    text = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        text = chr(ord("a") + rest) + text
    return text


def rating_scale(levels=RATING_SCALE) -> list[dict]:
    """Options of a satisfaction scale: keys a, b, c…, scores, the satisfied levels flagged positive."""
    options = []
    for index, (text, score, positive) in enumerate(levels):
        option = {"key": option_letters(index), "text": text, "score": score}
        if positive:
            option["positive"] = True
        options.append(option)
    return options


def _placeholder_options(count: int = 2) -> list[dict]:
    names = ("选项一", "选项二", "选项三", "选项四")
    return [{"key": option_letters(index), "text": names[index]} for index in range(count)]


def pick_option(options: list[dict], rng: random.Random) -> dict:
    """A demo respondent's option: mostly a positive one, sometimes a "don't know"."""
    weights = [6 if o.get("positive") else (1 if o.get("dont_know") else 1.5) for o in options]
    return rng.choices(options, weights)[0]


def _option_problems(path: str, options: Any, allow_other: bool) -> list[Problem]:
    if not isinstance(options, list) or len(options) < 2:
        return [Problem(f"{path}.options", _l("选择题至少要有两个选项。"))]
    problems, keys = [], set()
    for index, option in enumerate(options):
        where = f"{path}.options[{index}]"
        if not isinstance(option, dict):
            problems.append(Problem(where, _l("每个选项必须是一个 JSON 对象。")))
            continue
        key = option.get("key")
        if not isinstance(key, str) or not OPTION_KEY_PATTERN.match(key):
            problems.append(Problem(f"{where}.key", _l("选项编号须为 1–16 个字母、数字、下划线或连字符。")))
        elif key in keys:
            problems.append(Problem(f"{where}.key", _l("选项编号“%(key)s”重复了。", key=key)))
        keys.add(key)
        text = option.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > 200:
            problems.append(Problem(f"{where}.text", _l("选项文字不能为空，且不超过 200 个字。")))
        if option.get("score") is not None and not _is_number(option["score"]):
            problems.append(Problem(f"{where}.score", _l("选项分值必须是数字。")))
        elif option.get("score") is not None and not _within_limit(option["score"]):
            problems.append(Problem(f"{where}.score", _l("选项分值的绝对值不能超过 %(n)s。", n=LIMIT_TEXT)))
        if option.get("dont_know", False) not in DONT_KNOW_VALUES:
            problems.append(Problem(f"{where}.dont_know", _l("“不清楚”设置只能是 true、exclude 或 not_satisfied。")))
        if option.get("other") and not allow_other:
            problems.append(Problem(f"{where}.other", _l("这种题型不能有“其他”选项。")))
    return problems


def parse_number(raw: Any) -> float | int | None:
    """A number typed on a phone: full-width digits and separators normalised; ``None`` if not a number."""
    if raw is None:
        return None
    text = unicodedata.normalize("NFKC", str(raw)).strip().replace(",", "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    return int(value) if value.is_integer() and re.fullmatch(r"[+-]?\d+(\.0*)?", text) else value


def parse_date(raw: Any) -> dt.date | None:
    """An ISO date (``2019-05-01``; ``2019/5/1`` also accepted); ``None`` if not a date."""
    text = unicodedata.normalize("NFKC", str(raw or "")).strip().replace("/", "-")
    match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if not match:
        return None
    try:
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


LIMIT_TEXT = f"{NUMBER_LIMIT:,}"  # 1,000,000,000,000 in messages
TYPED_SHOWN = 30  # characters of a refused answer repeated in its message


def _number_check(question: dict):
    """The checks of a number answer: a finite number, whole if asked, within ``NUMBER_LIMIT`` and the bounds."""
    low, high = question.get("min"), question.get("max")

    def check(data, _other) -> None:
        if data in (None, "") or not str(data).strip():
            return
        value = parse_number(data)
        if value is None and not _too_large(data):
            raise Refused(_l("请填写一个数字。"))
        if value is None or abs(value) > NUMBER_LIMIT:
            raise Refused(_out_of_range(data))
        if question.get("integer") and not float(value).is_integer():
            raise Refused(_l("请填写整数。"))
        if low is not None and value < low:
            raise Refused(_l("不能小于 %(n)s。", n=low))
        if high is not None and value > high:
            raise Refused(_l("不能大于 %(n)s。", n=high))

    return check


def _too_large(raw: Any) -> bool:
    """Whether ``raw`` reads as a number too large for a float (``1e400``, ``inf``): out of range, not garbage."""
    text = unicodedata.normalize("NFKC", str(raw)).strip().replace(",", "")
    try:
        return math.isinf(float(text))
    except ValueError:
        return False


def _out_of_range(raw: Any):
    """The message for a number beyond ``NUMBER_LIMIT``, repeating (the start of) what was typed."""
    typed = str(raw).strip()
    typed = typed if len(typed) <= TYPED_SHOWN else typed[:TYPED_SHOWN] + "…"
    return _l("“%(typed)s”超出了可以填写的范围：请填写绝对值不超过 %(n)s 的数字。", typed=typed, n=LIMIT_TEXT)


def _date_check(question: dict):
    low, high = parse_date(question.get("min")), parse_date(question.get("max"))

    def check(data, _other) -> None:
        if not (data or "").strip():
            return
        value = parse_date(data)
        if value is None:
            raise Refused(_l("请按“年-月-日”填写日期，例如 2019-05-01。"))
        if low and value < low:
            raise Refused(_l("日期不能早于 %(d)s。", d=low.isoformat()))
        if high and value > high:
            raise Refused(_l("日期不能晚于 %(d)s。", d=high.isoformat()))

    return check


def _other_text_check(question: dict):
    """When an "other" option is chosen its text box must be filled, or the answer means nothing."""
    other_keys = {o["key"] for o in question["options"] if o.get("other")}

    def check(data, other) -> None:
        picked = data if isinstance(data, list) else [data]
        if other_keys & set(picked or []) and not (other(other_key(question["key"])) or "").strip():
            raise Refused(_l("您选择了“其他”，请填写具体内容。"))

    return check


def _selection_bounds(question: dict):
    """Enforce ``min_choices``/``max_choices`` of a multiple-choice question."""
    low, high = question.get("min_choices"), question.get("max_choices")

    def check(data, _other) -> None:
        count = len(data or [])
        if count and low and count < low:
            raise Refused(_l("请至少选择 %(n)d 项。", n=low))
        if high and count > high:
            raise Refused(_l("最多只能选择 %(n)d 项。", n=high))

    return check


QUESTION_TYPES: dict[str, QuestionType] = {
    t.name: t
    for t in (
        SingleChoice(),
        MultipleChoice(),
        RatingScale(),
        Matrix(),
        NumberQuestion(),
        DateQuestion(),
        ShortText(),
        LongText(),
        RespondentGroup(),
        AttentionCheck(),
    )
}


STARTER_TYPE = RatingScale.name  # the one question of a new, empty questionnaire


def type_of(question: dict) -> QuestionType | None:
    """The entry of a question's type, ``None`` for a type the registry does not know (definition checks say so)."""
    return QUESTION_TYPES.get(question.get("type"))  # type: ignore[arg-type]


def get_type(name: str) -> QuestionType:
    """Look a type up by name; an unknown name is a programming or import error, so it raises."""
    try:
        return QUESTION_TYPES[name]
    except KeyError:
        raise KeyError(f"unknown question type: {name!r}") from None
