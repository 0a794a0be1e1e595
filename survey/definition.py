"""Questionnaire definitions: the JSON a draft holds and a version freezes.

``validate_definition`` checks a definition and names every problem by its path
(``questions[2].options[1].key``), so an evaluator or an import can fix exactly what is wrong.
It also turns a definition into the storage-kind schema that ``analysis`` consumes, keeping
analysis free of question types and of Flask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from survey.qtypes import QUESTION_TYPES, get_type

FORMAT = "survey-questionnaire/1"
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MEASURES = ("satisfaction", "safety", "awareness", "participation")
OVERALL_METHODS = ("question", "mean")
DONT_KNOW_POLICIES = ("exclude", "not_satisfied")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a definition, located by its path."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class DefinitionError(ValueError):
    """Raised with every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def validate_definition(definition: Any) -> None:
    """Raise ``DefinitionError`` listing every problem; return quietly for a sound definition."""
    problems: list[Problem] = []
    if not isinstance(definition, dict):
        raise DefinitionError([Problem("$", _("问卷定义必须是一个 JSON 对象。"))])
    if not str(definition.get("title") or "").strip():
        problems.append(Problem("title", _("问卷标题不能为空。")))
    questions = definition.get("questions")
    if not isinstance(questions, list) or not questions:
        problems.append(Problem("questions", _("问卷至少要有一道题。")))
        questions = []
    seen: set[str] = set()
    for index, question in enumerate(questions):
        problems.extend(_question_problems(f"questions[{index}]", question, seen))
    problems.extend(_settings_problems(definition.get("settings") or {}, questions))
    if problems:
        raise DefinitionError(problems)


def _question_problems(path: str, question: Any, seen: set[str]) -> list[Problem]:
    if not isinstance(question, dict):
        return [Problem(path, _("每道题必须是一个 JSON 对象。"))]
    problems = []
    key = question.get("key")
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        problems.append(Problem(f"{path}.key", _("题目编号须以小写字母开头，只含小写字母、数字和下划线。")))
    elif key in seen:
        problems.append(Problem(f"{path}.key", _("题目编号“%(key)s”重复了。", key=key)))
    else:
        seen.add(key)
    if question.get("type") not in QUESTION_TYPES:
        problems.append(Problem(f"{path}.type", _("未知的题型“%(type)s”。", type=question.get("type"))))
        return problems
    if not str(question.get("text") or "").strip():
        problems.append(Problem(f"{path}.text", _("题目文字不能为空。")))
    if question.get("measure") not in (None, *MEASURES):
        problems.append(Problem(f"{path}.measure", _("未知的统计口径“%(m)s”。", m=question.get("measure"))))
    if get_type(question["type"]).has_options:
        problems.extend(_option_problems(path, question.get("options")))
    return problems


def _option_problems(path: str, options: Any) -> list[Problem]:
    if not isinstance(options, list) or len(options) < 2:
        return [Problem(f"{path}.options", _("选择题至少要有两个选项。"))]
    problems, keys = [], set()
    for index, option in enumerate(options):
        where = f"{path}.options[{index}]"
        if not isinstance(option, dict):
            problems.append(Problem(where, _("每个选项必须是一个 JSON 对象。")))
            continue
        key = option.get("key")
        if not isinstance(key, str) or not key or len(key) > 16:
            problems.append(Problem(f"{where}.key", _("选项编号不能为空，且不超过 16 个字符。")))
        elif key in keys:
            problems.append(Problem(f"{where}.key", _("选项编号“%(key)s”重复了。", key=key)))
        keys.add(key)
        if not str(option.get("text") or "").strip():
            problems.append(Problem(f"{where}.text", _("选项文字不能为空。")))
        score = option.get("score")
        if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
            problems.append(Problem(f"{where}.score", _("选项分值必须是数字。")))
    return problems


def _settings_problems(settings: dict, questions: list) -> list[Problem]:
    problems = []
    overall = settings.get("overall") or {"method": "mean"}
    if overall.get("method") not in OVERALL_METHODS:
        problems.append(
            Problem("settings.overall.method", _("总体满意度的计算方法只能是 question 或 mean。"))
        )
    elif overall["method"] == "question":
        keys = {q.get("key") for q in questions if isinstance(q, dict)}
        if overall.get("question") not in keys:
            problems.append(Problem("settings.overall.question", _("总体满意度所用的题目不存在。")))
    if settings.get("dont_know", "exclude") not in DONT_KNOW_POLICIES:
        problems.append(
            Problem("settings.dont_know", _("“不清楚”的处理方式只能是 exclude 或 not_satisfied。"))
        )
    return problems


def numbered_questions(definition: dict) -> list[dict]:
    """Questions with their display number filled in ("1", "2", … unless the definition sets one)."""
    result = []
    for index, question in enumerate(definition["questions"], start=1):
        result.append({**question, "number": str(question.get("number") or index)})
    return result


def analysis_schema(definition: dict) -> list[dict]:
    """The plain description analysis needs: key, number, text, storage kind, measure and options."""
    return [
        {
            "key": q["key"],
            "number": q["number"],
            "text": q["text"],
            "storage": get_type(q["type"]).storage,
            "measure": q.get("measure"),
            "rate_label": q.get("rate_label"),
            "options": [
                {
                    "key": o["key"],
                    "text": o["text"],
                    "score": o.get("score"),
                    "positive": bool(o.get("positive")),
                    "dont_know": bool(o.get("dont_know")),
                    "other": bool(o.get("other")),
                }
                for o in q.get("options", [])
            ],
        }
        for q in numbered_questions(definition)
    ]
