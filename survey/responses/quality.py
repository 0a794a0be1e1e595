"""Quality flags a response earns from its own answers, whoever sent it (a phone, a typist, an import, the demo)."""

from __future__ import annotations

from typing import Any

from survey.questionnaires.conditions import answer_keys
from survey.questionnaires.definition import iter_questions, normalize_definition
from survey.questionnaires.qtypes import get_type

STRAIGHT_LINE_MIN_ITEMS = 5


def quality_flags(definition: dict, answers: dict[str, Any]) -> list[str]:
    """Flags from the answers themselves: a failed attention check, or the same level on every scale item.

    Straight-lining is only judged over at least ``STRAIGHT_LINE_MIN_ITEMS`` answered scale items
    (rating questions and matrix items), where identical answers are unlikely from a reader.
    """
    flags = []
    scale_answers = []
    sectioned = definition if "sections" in definition else normalize_definition(definition)  # no copy if we can
    for question in iter_questions(sectioned):
        entry = get_type(question["type"])
        if entry.attention and question["key"] in answers:
            if answers[question["key"]] != question["correct"] and "attention_failed" not in flags:
                flags.append("attention_failed")
        elif entry.measurement == "ordinal":  # a satisfaction scale or a grid of them
            scale_answers.extend(answers[k] for k in answer_keys(question) if k in answers)
    if len(scale_answers) >= STRAIGHT_LINE_MIN_ITEMS and len(set(scale_answers)) == 1:
        flags.append("straight_lining")
    return flags
