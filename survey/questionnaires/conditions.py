"""Skip logic: when a question or section is shown (``show_if``).

Pure functions over a definition and a lookup of answers, used by the server on every submission
(the authority: hidden questions are neither required nor stored) and mirrored by
``static/js/respond.js`` in the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from survey.questionnaires.qtypes import type_of

Lookup = Callable[[str], Any]  # answer key -> submitted value (option key, list of keys, or None)


def chosen(value: Any) -> set[str]:
    """The option keys an answer holds: one for single choice, several for multiple choice."""
    if value is None or value == "":
        return set()
    if isinstance(value, list | tuple | set):
        return {str(v) for v in value if v not in (None, "")}
    return {str(value)}


def holds(condition: dict | None, lookup: Lookup) -> bool:
    """Whether ``condition`` is true for the answers ``lookup`` returns; no condition means shown."""
    if not condition:
        return True
    if "all" in condition:
        return all(holds(c, lookup) for c in condition["all"])
    if "any" in condition:
        return any(holds(c, lookup) for c in condition["any"])
    picked = chosen(lookup(condition["question"]))
    if "any_of" in condition:
        return bool(picked & set(condition["any_of"]))
    return bool(picked) and not picked & set(condition.get("none_of", []))


def visible_questions(sections: list[dict], lookup: Lookup) -> set[str]:
    """Keys of the questions shown, evaluated in order so a hidden question hides what depends on it."""
    visible: set[str] = set()
    shown_answers: dict[str, Any] = {}

    def lookup_shown(key: str) -> Any:
        return shown_answers.get(key)

    for section in sections:
        section_shown = holds(section.get("show_if"), lookup_shown)
        for question in section["questions"]:
            if section_shown and holds(question.get("show_if"), lookup_shown):
                visible.add(question["key"])
                for answer_key in answer_keys(question):
                    shown_answers[answer_key] = lookup(answer_key)
    return visible


def answer_keys(question: dict) -> list[str]:
    """The keys a question's answers are stored and referenced under (a matrix has one per item)."""
    entry = type_of(question)
    if entry is not None and entry.has_items:
        return [f"{question['key']}.{item['key']}" for item in question.get("items", [])]
    return [question["key"]]
