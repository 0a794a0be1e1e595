"""Questionnaire definitions: the JSON a draft holds, a version freezes and an import brings.

``validate_definition`` reports every problem by its path (``sections[0].questions[2].options[1].key``)
so an evaluator or an import can fix exactly what is wrong; type-specific checks live with each
type in the registry (``survey.questionnaires.qtypes``). ``analysis_schema`` turns a definition into the plain
storage-kind description ``analysis`` consumes, keeping analysis free of question types and Flask.
"""

from __future__ import annotations

import copy
import math
import re
from typing import Any

from flask_babel import lazy_gettext as _l

from survey.questionnaires.conditions import answer_keys
from survey.questionnaires.localize import ENGLISH_FIELDS, ENGLISH_SUFFIX
from survey.questionnaires.problems import DefinitionError, Problem
from survey.questionnaires.qtypes import NUMBER_LIMIT, QUESTION_TYPES, get_type, type_of

__all__ = [
    "DefinitionError",
    "Problem",
    "analysis_schema",
    "english_problems",
    "iter_questions",
    "normalize_definition",
    "number_labels",
    "numbered_questions",
    "numbered_sections",
    "numbering_problems",
    "sequential_numbers",
    "validate_definition",
]

FORMAT = "survey-questionnaire/1"
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# An explicit question number, as on a printed form: "7", a follow-up "7.1", at most three levels.
NUMBER_PATTERN = re.compile(r"^[1-9][0-9]{0,2}(?:\.[1-9][0-9]{0,2}){0,2}$")
MEASURES = ("satisfaction", "safety", "awareness", "participation")
OVERALL_METHODS = ("question", "mean", "weighted")
DONT_KNOW_POLICIES = ("exclude", "not_satisfied")
THANKS_LENGTH = 1000


def normalize_definition(definition: Any) -> Any:
    """A copy with ``sections``: a flat ``questions`` list becomes one untitled section ``s1``."""
    if not isinstance(definition, dict):
        return definition
    result = copy.deepcopy(definition)
    if "sections" not in result and "questions" in result:
        result["sections"] = [{"key": "s1", "title": "", "questions": result.pop("questions")}]
    result.setdefault("format", FORMAT)
    return result


def iter_questions(definition: dict) -> list[dict]:
    """Every question of a (normalised) definition, in order across sections."""
    return [q for section in definition.get("sections", []) for q in section.get("questions", [])]


def validate_definition(definition: Any, *, numbering: bool = True) -> None:
    """Raise ``DefinitionError`` listing every problem; return quietly for a sound definition.

    ``numbering=False`` leaves out ``numbering_problems``: for a definition that is already a
    published version (its numbers are what its respondents saw) or a draft whose numbers were
    broken before the change being checked.
    """
    if not isinstance(definition, dict):
        raise DefinitionError([Problem("$", _l("问卷定义必须是一个 JSON 对象。"))])
    flat = "sections" not in definition and "questions" in definition
    definition = normalize_definition(definition)
    # Nothing else is worth saying about a definition whose texts cannot even be stored.
    problems = _character_problems(definition) or _content_problems(definition, numbering)
    if problems:
        if flat:  # name paths as the author wrote them: questions[2], not sections[0].questions[2]
            problems = [Problem(p.path.replace("sections[0].questions", "questions", 1), p.message) for p in problems]
        raise DefinitionError(problems)


def _content_problems(definition: dict, numbering: bool) -> list[Problem]:
    """The problems of a normalised definition's fields, structure, conditions, numbers and settings."""
    problems = _top_level_problems(definition)
    sections = definition.get("sections")
    if not isinstance(sections, list) or not sections:
        problems.append(Problem("sections", _l("问卷至少要有一个部分。")))
        sections = []
    structure = _structure_problems(sections)
    problems.extend(structure)
    if not structure:  # conditions and numbers can only be checked against a sound structure
        problems.extend(_condition_problems(sections))
        if numbering:
            problems.extend(numbering_problems(definition))
    questions = [q for s in sections if isinstance(s, dict) for q in s.get("questions") or [] if isinstance(q, dict)]
    problems.extend(_settings_problems(definition.get("settings") or {}, questions))
    return problems


# NUL cannot be stored in PostgreSQL's text or JSON, and a lone UTF-16 surrogate (``"\ud800"`` in JSON) cannot
# be encoded at all: an imported file carrying either failed on saving with a server error.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MAX_CHARACTER_PROBLEMS = 20
UNSTORABLE_TEXT = _l("这段文字含有无法保存的字符（空字符或不成对的代理字符），请删去。")
UNSTORABLE_NAME = _l("名称含有无法保存的字符（空字符或不成对的代理字符），请删去。")


def _character_problems(value: Any, path: str = "") -> list[Problem]:
    """Every text (names too) holding a character that cannot be stored, by path; at most a screenful."""
    if isinstance(value, str):
        return [Problem(path or "$", UNSTORABLE_TEXT)] if UNSTORABLE.search(value) else []
    problems: list[Problem] = []
    if isinstance(value, dict):
        for key, entry in value.items():
            name = UNSTORABLE.sub("?", str(key))
            where = f"{path}.{name}" if path else name
            if name != str(key):
                problems.append(Problem(where, UNSTORABLE_NAME))
            problems.extend(_character_problems(entry, where))
    elif isinstance(value, list):
        for index, entry in enumerate(value):
            problems.extend(_character_problems(entry, f"{path}[{index}]"))
    return problems[:MAX_CHARACTER_PROBLEMS]


def _top_level_problems(definition: dict) -> list[Problem]:
    problems = []
    if definition.get("format", FORMAT) != FORMAT:
        problems.append(
            Problem(
                "format",
                _l(
                    "不认识的格式“%(value)s”，应为 %(expected)s。",
                    value=definition.get("format"),
                    expected=FORMAT,
                ),
            )
        )
    title = definition.get("title")
    if not isinstance(title, str) or not title.strip():
        problems.append(Problem("title", _l("问卷标题不能为空。")))
    elif len(title) > 200:
        problems.append(Problem("title", _l("问卷标题不能超过 200 个字。")))
    for name in ("intro", "source", "thanks"):
        if name in definition and not isinstance(definition[name], str):
            problems.append(Problem(name, _l("这一项必须是文字。")))
    if isinstance(definition.get("thanks"), str) and len(definition["thanks"]) > THANKS_LENGTH:
        problems.append(Problem("thanks", _l("感谢语不能超过 %(n)d 个字。", n=THANKS_LENGTH)))
    problems.extend(english_problems("", definition, "questionnaire"))
    return problems


def english_problems(path: str, entry: dict, level: str) -> list[Problem]:
    """Problems of the English twins (``text_en`` …) of one level: known field, text, not too long.

    An unknown ``…_en`` field is most likely a typo (``txt_en``) or a text respondents never see
    (``dimension_en``); saying so beats silently ignoring a translation someone wrote.
    """
    allowed = ENGLISH_FIELDS[level]
    problems = []
    for name, value in entry.items():
        if not isinstance(name, str) or not name.endswith(ENGLISH_SUFFIX):
            continue
        where = f"{path}.{name}" if path else name
        base = name.removesuffix(ENGLISH_SUFFIX)
        if base not in allowed:
            known = "、".join(field + ENGLISH_SUFFIX for field in allowed)
            problems.append(
                Problem(where, _l("这里没有英文字段“%(name)s”，可用的是：%(known)s。", name=name, known=known))
            )
        elif not isinstance(value, str):
            problems.append(Problem(where, _l("英文文本必须是文字。")))
        elif len(value) > allowed[base]:
            problems.append(Problem(where, _l("英文文本不能超过 %(n)d 个字符。", n=allowed[base])))
    return problems


def _structure_problems(sections: list) -> list[Problem]:
    problems: list[Problem] = []
    section_keys: set[str] = set()
    question_keys: set[str] = set()
    total = 0
    for s_index, section in enumerate(sections):
        path = f"sections[{s_index}]"
        if not isinstance(section, dict):
            problems.append(Problem(path, _l("每个部分必须是一个 JSON 对象。")))
            continue
        problems.extend(_key_problems(f"{path}.key", section.get("key"), section_keys, _l("部分编号")))
        problems.extend(english_problems(path, section, "section"))
        questions = section.get("questions")
        if not isinstance(questions, list):
            problems.append(Problem(f"{path}.questions", _l("“questions”必须是题目列表。")))
            continue
        total += len(questions)
        for q_index, question in enumerate(questions):
            problems.extend(_question_problems(f"{path}.questions[{q_index}]", question, question_keys))
    if sections and total == 0 and not problems:
        problems.append(Problem("sections", _l("问卷至少要有一道题。")))
    return problems


def _key_problems(path: str, key: Any, seen: set[str], what) -> list[Problem]:
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        return [
            Problem(
                path,
                _l("%(what)s须以小写字母开头，只含小写字母、数字和下划线，不超过 32 个字符。", what=what),
            )
        ]
    if key in seen:
        return [Problem(path, _l("%(what)s“%(key)s”重复了。", what=what, key=key))]
    seen.add(key)
    return []


def _question_problems(path: str, question: Any, seen: set[str]) -> list[Problem]:
    if not isinstance(question, dict):
        return [Problem(path, _l("每道题必须是一个 JSON 对象。"))]
    problems = _key_problems(f"{path}.key", question.get("key"), seen, _l("题目编号"))
    if question.get("type") not in QUESTION_TYPES:
        problems.append(
            Problem(
                f"{path}.type",
                _l(
                    "未知的题型“%(type)s”。可用的题型：%(types)s。",
                    type=question.get("type"),
                    types="、".join(QUESTION_TYPES),
                ),
            )
        )
        return problems
    text = question.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append(Problem(f"{path}.text", _l("题目文字不能为空。")))
    elif len(text) > 500:
        problems.append(Problem(f"{path}.text", _l("题目文字不能超过 500 个字。")))
    if question.get("measure") not in (None, *MEASURES):
        problems.append(Problem(f"{path}.measure", _l("未知的统计口径“%(m)s”。", m=question.get("measure"))))
    for flag in ("required",):
        if flag in question and not isinstance(question[flag], bool):
            problems.append(Problem(f"{path}.{flag}", _l("这一项只能是 true 或 false。")))
    for name in ("help", "dimension", "rate_label", "number"):
        if name in question and not isinstance(question[name], str):
            problems.append(Problem(f"{path}.{name}", _l("这一项必须是文字。")))
    problems.extend(get_type(question["type"]).check(question, path))
    problems.extend(english_problems(path, question, "question"))
    for level, field in (("option", "options"), ("item", "items")):
        entries = question.get(field)
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, dict):
                problems.extend(english_problems(f"{path}.{field}[{index}]", entry, level))
    return problems


def _condition_problems(sections: list[dict]) -> list[Problem]:
    """Every ``show_if`` must read earlier choice answers and name options they have."""
    earlier: dict[str, dict] = {}  # answer key -> the question it belongs to
    problems: list[Problem] = []
    for s_index, section in enumerate(sections):
        problems.extend(_one_condition(f"sections[{s_index}].show_if", section.get("show_if"), earlier))
        for q_index, question in enumerate(section["questions"]):
            path = f"sections[{s_index}].questions[{q_index}].show_if"
            problems.extend(_one_condition(path, question.get("show_if"), earlier))
            for key in answer_keys(question):
                earlier[key] = question
    return problems


def _one_condition(path: str, condition: Any, earlier: dict[str, dict]) -> list[Problem]:
    if condition is None:
        return []
    if not isinstance(condition, dict):
        return [Problem(path, _l("显示条件必须是一个 JSON 对象。"))]
    if "all" in condition or "any" in condition:
        nested = condition.get("all", condition.get("any"))
        if not isinstance(nested, list) or not nested:
            return [Problem(path, _l("“all”/“any”后面必须是非空的条件列表。"))]
        name = "all" if "all" in condition else "any"
        return [p for i, c in enumerate(nested) for p in _one_condition(f"{path}.{name}[{i}]", c, earlier)]
    key = condition.get("question")
    values = condition.get("any_of", condition.get("none_of"))
    if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
        return [Problem(path, _l("显示条件需要“any_of”或“none_of”选项编号列表。"))]
    source = earlier.get(key) if isinstance(key, str) else None
    if source is None:
        return [Problem(f"{path}.question", _l("显示条件引用的题目“%(key)s”不存在或不在本题之前。", key=key))]
    if not getattr(type_of(source), "condition", False):
        return [Problem(f"{path}.question", _l("显示条件只能引用选择题。"))]
    known = {o["key"] for o in source.get("options", [])}
    unknown = [v for v in values if v not in known]
    if unknown:
        return [Problem(path, _l("题目“%(key)s”没有选项“%(options)s”。", key=key, options="、".join(unknown)))]
    return []


def _settings_problems(settings: Any, questions: list[dict]) -> list[Problem]:
    if not isinstance(settings, dict):
        return [Problem("settings", _l("“settings”必须是一个 JSON 对象。"))]
    problems = []
    overall = settings.get("overall") or {"method": "mean"}
    if not isinstance(overall, dict) or overall.get("method") not in OVERALL_METHODS:
        problems.append(Problem("settings.overall.method", _l("总体满意度的计算方法只能是 question 或 mean。")))
    elif overall["method"] == "question":
        keys = {key for q in questions if "key" in q for key in answer_keys(q)}
        if overall.get("question") not in keys:
            problems.append(Problem("settings.overall.question", _l("总体满意度所用的题目不存在。")))
    elif overall["method"] == "weighted":
        weights = overall.get("weights")
        keys = {key for q in questions if "key" in q for key in answer_keys(q)}
        if not isinstance(weights, dict) or not weights or any(k not in keys for k in weights):
            message = _l("加权平均需要“题目编号: 权重”的列表，且题目必须存在。")
            problems.append(Problem("settings.overall.weights", message))
        elif any(not _finite(w) or w <= 0 for w in weights.values()):
            problems.append(Problem("settings.overall.weights", _l("权重必须是正数。")))
    elif overall.get("measure", "satisfaction") not in MEASURES:
        problems.append(Problem("settings.overall.measure", _l("未知的统计口径“%(m)s”。", m=overall.get("measure"))))
    population = settings.get("population")
    if population is not None and (isinstance(population, bool) or not isinstance(population, int) or population < 1):
        problems.append(Problem("settings.population", _l("总体规模必须是正整数。")))
    elif population is not None and population > NUMBER_LIMIT:
        problems.append(Problem("settings.population", _l("总体规模不能超过 %(n)s。", n=f"{NUMBER_LIMIT:,}")))
    if settings.get("dont_know", "exclude") not in DONT_KNOW_POLICIES:
        problems.append(Problem("settings.dont_know", _l("“不清楚”的处理方式只能是 exclude 或 not_satisfied。")))
    return problems


def _finite(value: Any) -> bool:
    """A JSON number that is finite: Python's JSON reader also takes ``NaN`` and ``Infinity``, which no
    sum or fraction survives (a weight of ``NaN`` passed ``w <= 0`` and failed later with a server error)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def numbered_sections(definition: dict) -> list[dict]:
    """Sections with every question's display number: its explicit ``number``, else its position.

    A question without ``number`` shows its position ("1", "2", … across the whole questionnaire).
    Explicit numbers are all-or-none and in order (``numbering_problems``, checked before saving and
    publishing), so the two never collide in anything saved since; this rule itself stays as it was,
    so a version published earlier keeps the numbers its respondents saw.
    """
    definition = normalize_definition(definition)
    index = 0
    result = []
    for section in definition["sections"]:
        questions = []
        for question in section["questions"]:
            index += 1
            questions.append({**question, "number": str(question.get("number") or index)})
        result.append({**section, "questions": questions})
    return result


def numbered_questions(definition: dict) -> list[dict]:
    """Every question with its display number, across sections."""
    return [q for section in numbered_sections(definition) for q in section["questions"]]


def number_labels(question: dict) -> list[str]:
    """The labels a numbered question takes in exports and imports: "5", and "5.1", "5.2" … per matrix item."""
    number = question["number"]
    items = question.get("items") if getattr(type_of(question), "has_items", False) else None
    return [number, *(f"{number}.{index}" for index in range(1, len(items or []) + 1))]


def sequential_numbers(questions: list[dict]) -> list[str]:
    """Numbers that follow the order, keeping each explicit number's depth: 1, 1.1, 2, 3, 3.1, 4 ….

    A question whose explicit number is "7.1" stays a follow-up ("n.1", "n.2" … of the question
    before it); any other question gets the next whole number. A follow-up opening the list counts
    under an unseen "1" (a printed form's "1.1 单位名称" under a heading "1"); one after a matrix
    question stays at the matrix's level, since "5.1" already names matrix 5's first item.
    """
    counters: list[int] = []
    numbers = []
    after_matrix = False
    for question in questions:
        number = question.get("number")
        depth = number.count(".") + 1 if isinstance(number, str) and NUMBER_PATTERN.match(number) else 1
        if after_matrix:  # "5.1" is the first item of matrix 5: no follow-up can be numbered under it
            depth = min(depth, len(counters))
        after_matrix = getattr(type_of(question), "has_items", False) and bool(question.get("items"))
        counters = counters[:depth]
        while len(counters) < depth:
            counters.append(1 if len(counters) < depth - 1 else 0)
        counters[-1] += 1
        numbers.append(".".join(str(n) for n in counters))
    return numbers


def _number_key(number: str) -> tuple[int, ...]:
    return tuple(int(part) for part in number.split("."))


def numbering_problems(definition: dict) -> list[Problem]:
    """Explicit question numbers (copied from a printed form) must be all-or-none, unique and in order.

    Without any ``number`` the questions are numbered by position and nothing can go wrong. The
    numbers blamed for the order are the fewest that break it (one mistyped "7" among 1 … 6 is
    the problem, not every number after it). Each problem says which number the question would get
    in order, so the author can type it, let the builder renumber, or drop every number.
    """
    definition = normalize_definition(definition)
    places = [
        (f"sections[{s}].questions[{q}].number", question)
        for s, section in enumerate(definition["sections"])
        for q, question in enumerate(section["questions"])
    ]
    questions = [question for _path, question in places]
    if not any("number" in question for question in questions):
        return []
    suggested = sequential_numbers(questions)
    ordered = _longest_increasing(questions)
    labels = {label for i in ordered for label in number_labels(questions[i])}
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, ((path, question), fix) in enumerate(zip(places, suggested, strict=True)):
        number = question.get("number")
        if fix == number or (fix in labels and fix != number):  # no single number mends it: renumber
            how = _l("请按顺序重新编号，或删去所有题号改用自动编号。")
        else:
            how = _l("请改为“%(fix)s”，或删去所有题号改用自动编号。", fix=fix)
        if number is None:
            problems.append(Problem(path, _l("其他题都有题号，这道题没有。%(how)s", how=how)))
        elif not NUMBER_PATTERN.match(number):
            message = _l("题号只能是数字，小题用“.”隔开（如 3.1），“%(number)s”不行。%(how)s", number=number, how=how)
            problems.append(Problem(path, message))
        elif number in seen or (index not in ordered and number in labels):
            problems.append(Problem(path, _l("题号“%(number)s”与其他题重复了。%(how)s", number=number, how=how)))
        elif index not in ordered:
            message = _l("题号“%(number)s”不合顺序，题号须从前往后递增。%(how)s", number=number, how=how)
            problems.append(Problem(path, message))
        else:
            seen.update(number_labels(question))
    return problems


def _longest_increasing(questions: list[dict]) -> set[int]:
    """Positions of the longest run of explicit numbers that increase, preferring earlier questions."""
    keys = {
        i: _number_key(q["number"])
        for i, q in enumerate(questions)
        if isinstance(q.get("number"), str) and NUMBER_PATTERN.match(q["number"])
    }
    positions = sorted(keys)
    longest: dict[int, int] = {}  # position → length of the longest increasing run starting there
    for i in reversed(positions):
        longest[i] = 1 + max((longest[j] for j in positions if j > i and keys[j] > keys[i]), default=0)
    kept: set[int] = set()
    length, last = max(longest.values(), default=0), None
    for i in positions:
        if length and longest[i] == length and (last is None or keys[i] > keys[last]):
            kept.add(i)
            length, last = length - 1, i
    return kept


def analysis_schema(definition: dict) -> list[dict]:
    """The plain description analysis needs: one entry per answer column (a matrix gives one per item)."""
    schema = []
    for question in numbered_questions(definition):
        schema.extend(get_type(question["type"]).schema_entries(question))
    return schema
