"""Editing a questionnaire definition, one small change at a time: the work behind the builder.

Pure functions over a (normalised) definition dict: each takes the definition and returns a NEW
dict (a deep copy), never touching its argument, and never looks at a request or the database.
The caller validates the result with ``survey.questionnaires.definition.validate_definition`` before saving.

Keys are what answers and results line up on, so they are never rewritten: changing a text keeps
its key, and a new question, option, matrix item or section gets a fresh key. ``history`` (the
definitions of published versions) lets a fresh key also avoid keys that existed once and were
deleted, so old answers never attach to a new, different question.

A change that would break something else (deleting a question another question's ``show_if``
reads) is refused with a ``DefinitionError`` whose message names what depends on it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from flask_babel import lazy_gettext as _l

from survey.questionnaires.conditions import answer_keys
from survey.questionnaires.definition import (
    FORMAT,
    iter_questions,
    normalize_definition,
    numbered_questions,
    numbered_sections,
    sequential_numbers,
)
from survey.questionnaires.problems import DefinitionError, Problem
from survey.questionnaires.qtypes import STARTER_TYPE, get_type, option_letters

History = Iterable[dict]

COMMON_FIELDS = ("text", "number", "required", "help", "dimension", "measure", "rate_label", "text_en", "help_en")
OPTION_FIELDS = ("text", "score", "positive", "dont_know", "other", "text_en")
ITEM_FIELDS = ("text", "dimension", "text_en")
QUESTIONNAIRE_TEXTS = ("thanks", "title_en", "intro_en", "thanks_en")
SECTION_TEXTS = ("title_en", "intro_en")
# Kept when emptied or false: a text (validation then says it is empty) and the yes/no fields a form
# always sends; any other field set to None, "" or False is removed.
KEEP_WHEN_EMPTY = ("text", "required", "integer")


class UnknownKey(LookupError):
    """A section, question, option or item key that is not in the definition (the view answers 404)."""


class _Joined:
    """Several lazy labels shown as one, joined with “、” in the language of the page."""

    def __init__(self, parts: list[Any]):
        self.parts = parts

    def __str__(self) -> str:
        return "、".join(str(part) for part in self.parts)


# --- new definitions and questions ------------------------------------------------------------


def empty_definition(title: str) -> dict:
    """A questionnaire to start from: one section holding one placeholder rating question."""
    return {
        "format": FORMAT,
        "title": title,
        "intro": "",
        "settings": {"overall": {"method": "mean", "measure": "satisfaction"}, "dont_know": "exclude"},
        "sections": [{"key": "s1", "title": "", "intro": "", "questions": [new_question(STARTER_TYPE, "q1")]}],
    }


def new_question(qtype: str, key: str) -> dict:
    """A question of ``qtype`` with sensible defaults that pass validation, ready to be edited."""
    qtype_entry = get_type(qtype)  # an unknown type raises KeyError naming it
    question: dict[str, Any] = {
        "key": key,
        "type": qtype,
        "text": str(qtype_entry.default_text),
        "required": True,
    }
    question.update(qtype_entry.defaults())
    return question


# --- fresh keys -------------------------------------------------------------------------------


def _all_questions(definitions: Iterable[dict]) -> list[dict]:
    return [
        q
        for d in definitions
        for s in normalize_definition(d).get("sections", [])
        for q in s.get("questions", [])
        if isinstance(q, dict)
    ]


def _next_numbered(prefix: str, used: set[str]) -> str:
    """``prefix`` + one more than the highest number after it in ``used`` (q1a counts as 1)."""
    pattern = re.compile(rf"^{re.escape(prefix)}(\d+)")
    numbers = [int(m.group(1)) for key in used if isinstance(key, str) and (m := pattern.match(key))]
    number = max(numbers, default=0) + 1
    while f"{prefix}{number}" in used:
        number += 1
    return f"{prefix}{number}"


def new_question_key(definition: dict, history: History = ()) -> str:
    """A question key (``q12``) used neither now nor in any earlier version."""
    return _next_numbered("q", {q.get("key") for q in _all_questions([definition, *history])})


def new_section_key(definition: dict, history: History = ()) -> str:
    """A section key (``s3``) used neither now nor in any earlier version."""
    used = {s.get("key") for d in [definition, *history] for s in normalize_definition(d).get("sections", [])}
    return _next_numbered("s", used)


def _used_in_question(question_key: str, field: str, definitions: Iterable[dict]) -> set[str]:
    return {
        entry.get("key")
        for q in _all_questions(definitions)
        if q.get("key") == question_key
        for entry in q.get(field) or []
        if isinstance(entry, dict)
    }


def new_option_key(definition: dict, question_key: str, history: History = ()) -> str:
    """The option key after the last one used by this question (a, b, … z, aa), now or before."""
    used = _used_in_question(question_key, "options", [definition, *history])
    sequence = [index for index in range(26 * 27) if option_letters(index) in used]
    index = max(sequence, default=-1) + 1
    while option_letters(index) in used:
        index += 1
    return option_letters(index)


def new_item_key(definition: dict, question_key: str, history: History = ()) -> str:
    """A matrix item key (``a5``) this question has not used, now or before."""
    return _next_numbered("a", _used_in_question(question_key, "items", [definition, *history]))


# --- finding things ---------------------------------------------------------------------------


def _copy(definition: dict) -> dict:
    return normalize_definition(copy.deepcopy(definition))


def _section_index(definition: dict, section_key: str) -> int:
    for index, section in enumerate(definition["sections"]):
        if section.get("key") == section_key:
            return index
    raise UnknownKey(section_key)


def _position(definition: dict, question_key: str) -> tuple[int, int]:
    for s_index, section in enumerate(definition["sections"]):
        for q_index, question in enumerate(section["questions"]):
            if question.get("key") == question_key:
                return s_index, q_index
    raise UnknownKey(question_key)


def find_question(definition: dict, question_key: str) -> dict:
    """The question with this key (raises ``UnknownKey``)."""
    definition = normalize_definition(definition)
    s_index, q_index = _position(definition, question_key)
    return definition["sections"][s_index]["questions"][q_index]


def find_section(definition: dict, section_key: str) -> dict:
    """The section with this key (raises ``UnknownKey``)."""
    definition = normalize_definition(definition)
    return definition["sections"][_section_index(definition, section_key)]


def section_of(definition: dict, question_key: str) -> dict:
    """The section a question is in."""
    definition = normalize_definition(definition)
    return definition["sections"][_position(definition, question_key)[0]]


def _entry_index(entries: list[dict], key: str) -> int:
    for index, entry in enumerate(entries):
        if entry.get("key") == key:
            return index
    raise UnknownKey(key)


def _question_in(definition: dict, question_key: str) -> dict:
    s_index, q_index = _position(definition, question_key)
    return definition["sections"][s_index]["questions"][q_index]


# --- who depends on what ----------------------------------------------------------------------


def _simple_conditions(condition: Any) -> list[dict]:
    """The ``{"question": …, "any_of"/"none_of": …}`` parts of a (possibly nested) condition."""
    if not isinstance(condition, dict):
        return []
    if "all" in condition or "any" in condition:
        nested = condition.get("all", condition.get("any")) or []
        return [part for c in nested for part in _simple_conditions(c)]
    return [condition]


def question_label(definition: dict, question_key: str):
    """“第 5 题” for messages (the display number, or the key if the question is unknown)."""
    for question in numbered_questions(definition):
        if question.get("key") == question_key:
            return _l("第 %(number)s 题", number=question["number"])
    return question_key


def section_label(definition: dict, section_key: str):
    """A section by its title, or “第 2 部分” when it has none."""
    for index, section in enumerate(normalize_definition(definition)["sections"], start=1):
        if section.get("key") == section_key:
            title = (section.get("title") or "").strip()
            return _l("“%(title)s”部分", title=title) if title else _l("第 %(n)d 部分", n=index)
    return section_key


PLACE = re.compile(r"^sections\[(\d+)\](?:\.questions\[(\d+)\])?(?:\.(options|items)\[(\d+)\])?")


def problem_in_words(definition: dict, problem: Problem) -> str:
    """“第 3 题，第 2 个选项：选项文字不能为空……” rather than ``sections[0].questions[2].options[1]``."""
    where = problem_place(definition, problem.path)
    return str(_l("%(where)s：%(message)s", where=where, message=problem.message)) if where else str(problem.message)


def problem_place(definition: dict, path: str) -> str:
    """Where a problem's path points, in words ("" when it names no part a person would recognise).

    A problem with a question's number names the question by its place in the order ("第 9 道题"),
    since its number may be the very thing that is duplicated.
    """
    if path.split(".")[0].removesuffix("_en") in ("title", "intro", "source", "thanks"):
        return str(_l("问卷标题与卷首语"))
    if path.startswith("settings"):
        return str(_l("问卷设置"))
    match = PLACE.match(path)
    if not match:
        return ""
    try:
        sections = numbered_sections(definition)
        section = sections[int(match.group(1))]
        if match.group(2) is None:
            return str(section_label(definition, section["key"]))
        question = section["questions"][int(match.group(2))]
    except (IndexError, KeyError, TypeError):
        return ""
    if path.endswith(".number"):
        position = sum(len(s["questions"]) for s in sections[: int(match.group(1))]) + int(match.group(2)) + 1
        return str(_l("按顺序第 %(n)d 道题（“%(text)s”）", n=position, text=_shortened(question.get("text", ""))))
    parts = [str(_l("第 %(number)s 题", number=question["number"]))]
    if match.group(3):
        n = int(match.group(4)) + 1
        parts.append(str(_l("第 %(n)d 个选项", n=n) if match.group(3) == "options" else _l("第 %(n)d 个小题", n=n)))
    return str(_l("，")).join(parts)


def _shortened(text: str, limit: int = 20) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def dependents(
    definition: dict, keys: set[str], options: set[str] | None = None, skip: set[str] = frozenset()
) -> list[Any]:
    """Labels of the questions and sections whose ``show_if`` reads one of the answer ``keys``.

    With ``options``, only conditions naming one of those option keys count; questions and sections
    whose key is in ``skip`` (those being deleted together) are left out.
    """
    definition = normalize_definition(definition)
    found: list[Any] = []

    def reads(condition: Any) -> bool:
        return any(
            part.get("question") in keys
            and (options is None or bool(options & set(part.get("any_of", part.get("none_of")) or [])))
            for part in _simple_conditions(condition)
        )

    for section in definition["sections"]:
        if section.get("key") not in skip and reads(section.get("show_if")):
            found.append(section_label(definition, section["key"]))
        for question in section["questions"]:
            if question.get("key") not in skip and reads(question.get("show_if")):
                found.append(question_label(definition, question["key"]))
    return found


def _refuse_if_used(
    definition: dict,
    keys: set[str],
    path: str,
    what,
    options: set[str] | None = None,
    skip: set[str] = frozenset(),
) -> None:
    """Raise when a skip condition or the overall figure reads ``keys`` (and, if given, ``options``).

    ``definition`` is the one before the change, so questions are named by the numbers the
    evaluator sees.
    """
    users = dependents(definition, keys, options, skip)
    if users:
        raise DefinitionError(
            [
                Problem(
                    path,
                    _l(
                        "%(names)s的显示条件用到了%(what)s，不能删除。请先修改或取消那里的显示条件。",
                        names=_Joined(users),
                        what=what,
                    ),
                )
            ]
        )
    overall = (definition.get("settings") or {}).get("overall") or {}
    if options is None and overall.get("method") == "question" and overall.get("question") in keys:
        raise DefinitionError(
            [
                Problem(
                    path,
                    _l(
                        "总体满意度是按%(what)s计算的，不能删除。请先在“问卷设置”里改用其他题目或改为取平均值。",
                        what=what,
                    ),
                )
            ]
        )


# --- questionnaire ----------------------------------------------------------------------------


def update_questionnaire(
    definition: dict, title: str, intro: str = "", source: str | None = None, **texts: str | None
) -> dict:
    """Title, opening text and (optionally) where the wording comes from.

    ``texts`` sets the optional texts ``thanks`` (shown after submitting) and the English twins
    ``title_en``, ``intro_en``, ``thanks_en``; a blank one is removed, one not given stays as it is.
    """
    result = _copy(definition)
    result["title"] = title.strip()
    result["intro"] = _paragraphs(intro)
    if source is not None:
        if source.strip():
            result["source"] = source.strip()
        else:
            result.pop("source", None)
    _set_texts(result, texts, QUESTIONNAIRE_TEXTS)
    return result


def _paragraphs(text: str | None) -> str:
    """A multi-line text as typed in a browser: ``\r\n`` line ends made ``\n``, outer blanks trimmed."""
    return (text or "").replace("\r\n", "\n").strip()


def _set_texts(target: dict, texts: dict[str, str | None], allowed: tuple[str, ...]) -> None:
    """Set optional texts (``None`` leaves one alone, blank removes it); an unknown name is a bug."""
    for name, value in texts.items():
        _check_name(name, allowed)
        if value is not None:
            _set_field(target, name, _paragraphs(value))


def update_settings(
    definition: dict,
    method: str,
    question: str | None = None,
    measure: str | None = None,
    dont_know: str = "exclude",
) -> dict:
    """How the overall figure is computed (one question's rate, or the mean of a measure) and “不清楚”."""
    result = _copy(definition)
    if method == "question":
        overall = {"method": "question", "question": question or ""}
    else:
        overall = {"method": method, "measure": measure or "satisfaction"}
    result["settings"] = {**(result.get("settings") or {}), "overall": overall, "dont_know": dont_know}
    return result


# --- sections ---------------------------------------------------------------------------------


def add_section(
    definition: dict,
    title: str = "",
    intro: str = "",
    key: str | None = None,
    history: History = (),
    **texts: str | None,
) -> dict:
    """A new, empty section at the end (``texts``: its English ``title_en`` and ``intro_en``, if any)."""
    result = _copy(definition)
    key = key or new_section_key(result, history)
    section = {"key": key, "title": (title or "").strip(), "intro": _paragraphs(intro), "questions": []}
    _set_texts(section, texts, SECTION_TEXTS)
    result["sections"].append(section)
    return result


def update_section(definition: dict, section_key: str, title: str, intro: str = "", **texts: str | None) -> dict:
    """A section's title and intro text, and (``texts``) their English ``title_en`` and ``intro_en``."""
    result = _copy(definition)
    section = result["sections"][_section_index(result, section_key)]
    section["title"] = (title or "").strip()
    section["intro"] = _paragraphs(intro)
    _set_texts(section, texts, SECTION_TEXTS)
    return result


def _moved(entries: list, index: int, offset: int) -> None:
    target = index + offset
    if 0 <= target < len(entries):
        entries.insert(target, entries.pop(index))


def move_section(definition: dict, section_key: str, offset: int) -> dict:
    """Up (-1) or down (+1) one place; at either end nothing changes."""
    result = _copy(definition)
    _moved(result["sections"], _section_index(result, section_key), offset)
    return _renumbered(result)


def delete_section(definition: dict, section_key: str) -> dict:
    """Remove a section and its questions, unless something outside it depends on them."""
    result = _copy(definition)
    index = _section_index(result, section_key)
    questions = result["sections"][index]["questions"]
    keys = {key for q in questions for key in answer_keys(q)}
    skip = {section_key, *(q.get("key") for q in questions)}
    _refuse_if_used(result, keys, f"sections[{index}]", _l("这一部分的题目"), skip=skip)
    result["sections"].pop(index)
    return _renumbered(result)


# --- questions --------------------------------------------------------------------------------


def add_question(definition: dict, section_key: str, qtype: str, key: str | None = None, history: History = ()) -> dict:
    """A new question of ``qtype`` at the end of a section, with defaults (see ``new_question``)."""
    result = _copy(definition)
    section = result["sections"][_section_index(result, section_key)]
    section["questions"].append(new_question(qtype, key or new_question_key(result, history)))
    return _renumbered(result)


def update_question(definition: dict, question_key: str, **changes: Any) -> dict:
    """Set a question's fields; ``None`` or ``""`` removes an optional field. Key and type stay.

    ``number`` goes through ``set_number``, so the numbers stay all-or-none.
    """
    result = _copy(definition)
    question = _question_in(result, question_key)
    allowed = COMMON_FIELDS + get_type(question["type"]).settings
    number = changes.pop("number", question.get("number"))
    for name, value in changes.items():
        if name not in allowed:
            raise ValueError(f"{name!r} is not a field of a {question['type']} question")
        _set_field(question, name, value)
    return set_number(result, question_key, number)


def _set_field(target: dict, name: str, value: Any) -> None:
    value = value.strip() if isinstance(value, str) else value
    if (value is None or value == "" or value is False) and name not in KEEP_WHEN_EMPTY:
        target.pop(name, None)
    else:
        target[name] = value


def move_question(definition: dict, question_key: str, offset: int) -> dict:
    """Up (-1) or down (+1); at a section's edge it moves into the neighbouring section."""
    result = _copy(definition)
    s_index, q_index = _position(result, question_key)
    questions = result["sections"][s_index]["questions"]
    target = q_index + offset
    if 0 <= target < len(questions):
        questions.insert(target, questions.pop(q_index))
        return _renumbered(result)
    neighbour = s_index + offset
    if 0 <= neighbour < len(result["sections"]):
        question = questions.pop(q_index)
        other = result["sections"][neighbour]["questions"]
        if offset < 0:
            other.append(question)
        else:
            other.insert(0, question)
    return _renumbered(result)


def move_question_to_section(definition: dict, question_key: str, section_key: str) -> dict:
    """Move a question to the end of another section (to the end of its own: no change)."""
    result = _copy(definition)
    target = _section_index(result, section_key)
    s_index, q_index = _position(result, question_key)
    if s_index != target:
        question = result["sections"][s_index]["questions"].pop(q_index)
        result["sections"][target]["questions"].append(question)
    return _renumbered(result)


def delete_question(definition: dict, question_key: str) -> dict:
    """Remove a question, refusing when a skip condition or the overall figure depends on it."""
    result = _copy(definition)
    s_index, q_index = _position(result, question_key)
    question = result["sections"][s_index]["questions"][q_index]
    path = f"sections[{s_index}].questions[{q_index}]"
    _refuse_if_used(result, set(answer_keys(question)), path, _l("这道题"))
    result["sections"][s_index]["questions"].pop(q_index)
    return _renumbered(result)


def duplicate_question(definition: dict, question_key: str, key: str | None = None, history: History = ()) -> dict:
    """A copy right after the original, with a fresh key (its options keep theirs: they are per question).

    Explicit numbers are renumbered, so the copy of "1.1" is "1.2" and never a second "1.1".
    """
    result = _copy(definition)
    s_index, q_index = _position(result, question_key)
    original = result["sections"][s_index]["questions"][q_index]
    twin = copy.deepcopy(original)
    twin["key"] = key or new_question_key(result, history)
    suffix = str(_l("（副本）"))
    if len(twin["text"]) + len(suffix) <= 500:
        twin["text"] += suffix
    result["sections"][s_index]["questions"].insert(q_index + 1, twin)
    return _renumbered(result)


# --- question numbers -------------------------------------------------------------------------
# Numbers are automatic (by position) unless the author copies a printed form's numbers ("3.1").
# Explicit numbers are all-or-none and in order (``survey.questionnaires.definition.numbering_problems``): every
# change of order renumbers them, so adding, copying, moving or deleting never duplicates one.


def has_explicit_numbers(definition: dict) -> bool:
    """Whether the questions carry explicit numbers (a printed form's) rather than automatic ones."""
    return any("number" in question for question in iter_questions(normalize_definition(definition)))


def _renumbered(result: dict) -> dict:
    """``result`` (already a copy) with explicit numbers, if it has any, following the order again."""
    questions = iter_questions(result)
    if any("number" in question for question in questions):
        for question, number in zip(questions, sequential_numbers(questions), strict=True):
            question["number"] = number
    return result


def renumber(definition: dict) -> dict:
    """Explicit numbers rewritten to follow the order (follow-ups such as "3.1" stay follow-ups)."""
    return _renumbered(_copy(definition))


def clear_numbers(definition: dict) -> dict:
    """Every explicit number removed: questions are numbered 1, 2, 3 … by position."""
    result = _copy(definition)
    for question in iter_questions(result):
        question.pop("number", None)
    return result


def set_number(definition: dict, question_key: str, number: str | None) -> dict:
    """One question's explicit number, keeping numbers all-or-none.

    The first number typed in an automatically numbered questionnaire fixes every other question's
    current number, so only the typed one can be out of order (validation then says so); a number
    cleared while others keep theirs renumbers them all in order.
    """
    result = _copy(definition)
    question = _question_in(result, question_key)
    number = (number or "").strip()
    if number == question.get("number", ""):
        return result
    if not number:
        question.pop("number", None)
        return _renumbered(result)
    if not has_explicit_numbers(result):
        for numbered, original in zip(numbered_questions(result), iter_questions(result), strict=True):
            original["number"] = numbered["number"]
    question["number"] = number
    return result


# --- options ----------------------------------------------------------------------------------


def _option_value(name: str, value: Any) -> Any:
    if name == "dont_know" and value in ("true", "True"):
        return True
    return value


def add_option(
    definition: dict,
    question_key: str,
    text: str,
    key: str | None = None,
    history: History = (),
    **flags: Any,
) -> dict:
    """A new option at the end of a question's options, with a fresh key."""
    result = _copy(definition)
    question = _question_in(result, question_key)
    option = {"key": key or new_option_key(result, question_key, history), "text": text.strip()}
    for name, value in flags.items():
        _check_name(name, OPTION_FIELDS)
        _set_field(option, name, _option_value(name, value))
    question.setdefault("options", []).append(option)
    return result


def _check_name(name: str, allowed: tuple[str, ...]) -> None:
    if name not in allowed:
        raise ValueError(f"{name!r} is not one of {allowed}")


def update_option(definition: dict, question_key: str, option_key: str, **changes: Any) -> dict:
    """Change an option's text, score or flags; its key stays."""
    result = _copy(definition)
    options = _question_in(result, question_key).get("options") or []
    option = options[_entry_index(options, option_key)]
    for name, value in changes.items():
        _check_name(name, OPTION_FIELDS)
        _set_field(option, name, _option_value(name, value))
    return result


def move_option(definition: dict, question_key: str, option_key: str, offset: int) -> dict:
    """Up (-1) or down (+1) one place among the question's options."""
    result = _copy(definition)
    options = _question_in(result, question_key).get("options") or []
    _moved(options, _entry_index(options, option_key), offset)
    return result


def delete_option(definition: dict, question_key: str, option_key: str) -> dict:
    """Remove an option, unless a skip condition names it or it is the right answer of a check."""
    result = _copy(definition)
    s_index, q_index = _position(result, question_key)
    question = result["sections"][s_index]["questions"][q_index]
    index = _entry_index(question.get("options") or [], option_key)
    path = f"sections[{s_index}].questions[{q_index}].options[{index}]"
    _refuse_if_used(result, set(answer_keys(question)), path, _l("这个选项"), {option_key})
    if question.get("correct") == option_key:
        raise DefinitionError([Problem(path, _l("这个选项是本题的正确答案，不能删除。请先另选一个正确答案。"))])
    question["options"].pop(index)
    return result


def apply_option_rows(definition: dict, question_key: str, rows: list[dict], history: History = ()) -> dict:
    """Options as edited in one form: rows in the new order, each an existing option (``key``) or new.

    A row with ``remove`` deletes its option; a new row with no text is ignored; an existing option
    no row mentions stays (at the end), so a form older than the definition never deletes silently.
    """
    return _apply_rows(definition, question_key, rows, history, _ROW_OPTIONS)


def apply_item_rows(definition: dict, question_key: str, rows: list[dict], history: History = ()) -> dict:
    """Matrix items as edited in one form, with the same rules as ``apply_option_rows``."""
    return _apply_rows(definition, question_key, rows, history, _ROW_ITEMS)


def _apply_rows(definition: dict, question_key: str, rows: list[dict], history: History, kind: dict) -> dict:
    result = _copy(definition)
    existing = [e.get("key") for e in _question_in(result, question_key).get(kind["field"]) or []]
    order: list[str] = []
    for row in rows:
        key = row.get("key") if row.get("key") in existing else None
        fields = {name: row.get(name) for name in kind["fields"] if name in row}
        if key and row.get("remove"):
            result = kind["delete"](result, question_key, key)
        elif key:
            result = kind["update"](result, question_key, key, **fields)
            order.append(key)
        elif not row.get("remove") and (row.get("text") or "").strip():
            key = kind["new_key"](result, question_key, history)
            result = kind["add"](result, question_key, fields.pop("text"), key=key, **fields)
            order.append(key)
    entries = _question_in(result, question_key)[kind["field"]]
    rank = {key: index for index, key in enumerate(order)}
    entries.sort(key=lambda e: rank.get(e.get("key"), len(rank)))
    return result


# --- matrix items -----------------------------------------------------------------------------


def add_item(
    definition: dict,
    question_key: str,
    text: str,
    key: str | None = None,
    history: History = (),
    **fields: Any,
) -> dict:
    """A new item (row) of a matrix question, with a fresh key."""
    result = _copy(definition)
    question = _question_in(result, question_key)
    item = {"key": key or new_item_key(result, question_key, history), "text": text.strip()}
    for name, value in fields.items():
        _check_name(name, ITEM_FIELDS)
        _set_field(item, name, value)
    question.setdefault("items", []).append(item)
    return result


def update_item(definition: dict, question_key: str, item_key: str, **changes: Any) -> dict:
    """Change a matrix item's text or dimension; its key stays."""
    result = _copy(definition)
    items = _question_in(result, question_key).get("items") or []
    item = items[_entry_index(items, item_key)]
    for name, value in changes.items():
        _check_name(name, ITEM_FIELDS)
        _set_field(item, name, value)
    return result


def move_item(definition: dict, question_key: str, item_key: str, offset: int) -> dict:
    """Up (-1) or down (+1) one place among the matrix items."""
    result = _copy(definition)
    items = _question_in(result, question_key).get("items") or []
    _moved(items, _entry_index(items, item_key), offset)
    return result


def delete_item(definition: dict, question_key: str, item_key: str) -> dict:
    """Remove a matrix item, unless a skip condition or the overall figure reads it."""
    result = _copy(definition)
    s_index, q_index = _position(result, question_key)
    items = result["sections"][s_index]["questions"][q_index].get("items") or []
    index = _entry_index(items, item_key)
    path = f"sections[{s_index}].questions[{q_index}].items[{index}]"
    _refuse_if_used(result, {f"{question_key}.{item_key}"}, path, _l("这个小题"))
    items.pop(index)
    return result


_ROW_OPTIONS = {
    "field": "options",
    "fields": OPTION_FIELDS,
    "add": add_option,
    "update": update_option,
    "delete": delete_option,
    "new_key": new_option_key,
}
_ROW_ITEMS = {
    "field": "items",
    "fields": ITEM_FIELDS,
    "add": add_item,
    "update": update_item,
    "delete": delete_item,
    "new_key": new_item_key,
}


# --- skip logic -------------------------------------------------------------------------------


def _condition_target(definition: dict, kind: str, key: str) -> dict:
    if kind == "section":
        return definition["sections"][_section_index(definition, key)]
    if kind == "question":
        return _question_in(definition, key)
    raise ValueError(f"unknown condition target {kind!r}")


def set_condition(definition: dict, kind: str, key: str, source: str, values: list[str], mode: str = "any_of") -> dict:
    """Show a question (``kind="question"``) or section only when ``source`` is answered with ``values``.

    ``mode`` is ``any_of`` (one of these chosen) or ``none_of`` (answered, none of these chosen).
    Validation then checks ``source`` comes earlier and has these options.
    """
    if mode not in ("any_of", "none_of"):
        raise ValueError(f"unknown condition mode {mode!r}")
    result = _copy(definition)
    target = _condition_target(result, kind, key)
    if not values:
        raise DefinitionError([Problem("show_if", _l("请至少选择一个选项。"))])
    target["show_if"] = {"question": source, mode: list(dict.fromkeys(values))}
    return result


def clear_condition(definition: dict, kind: str, key: str) -> dict:
    """Always show the question or section."""
    result = _copy(definition)
    _condition_target(result, kind, key).pop("show_if", None)
    return result


def condition_sources(definition: dict, kind: str, key: str) -> list[dict]:
    """What a condition of this question or section may read: earlier choice questions and matrix items.

    Each entry: ``key`` (answer key), ``number``, ``text``, ``options`` (the question's options).
    """
    sources: list[dict] = []
    for section in numbered_sections(definition):
        if kind == "section" and section["key"] == key:
            return sources
        for question in section["questions"]:
            if kind == "question" and question["key"] == key:
                return sources
            entry = get_type(question["type"])
            if not entry.condition:
                continue
            if entry.has_items:
                for index, item in enumerate(question.get("items", []), start=1):
                    sources.append(
                        {
                            "key": f"{question['key']}.{item['key']}",
                            "number": f"{question['number']}.{index}",
                            "text": f"{question['text']} — {item['text']}",
                            "options": question["options"],
                        }
                    )
            else:
                sources.append(
                    {
                        "key": question["key"],
                        "number": question["number"],
                        "text": question["text"],
                        "options": question["options"],
                    }
                )
    return sources
