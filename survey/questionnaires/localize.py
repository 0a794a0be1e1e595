"""A questionnaire's own text in the respondent's language: English twins of the Chinese texts.

Every text a respondent reads may carry an English twin in a sibling field named ``<field>_en``
(``"text": "您感觉安全吗？", "text_en": "Do you feel safe?"``); ``ENGLISH_FIELDS`` lists which
fields, per level of the definition. ``localize_definition`` swaps the twins in for an English page
and keeps the Chinese wherever a twin is missing, so a half-translated questionnaire still reads
whole. Keys are never touched: answers, codes and analysis are the same in either language.

Pure functions over plain dicts (no Flask, no database), so the respondent page, the paper form and
tests all call the same thing.
"""

from __future__ import annotations

import copy
from typing import Any

ENGLISH_SUFFIX = "_en"
ENGLISH = "en"

# Which texts may have an English twin, per level, with the longest English text accepted (English
# runs longer than the Chinese it translates, so the limits are wider than the Chinese ones).
ENGLISH_FIELDS: dict[str, dict[str, int]] = {
    "questionnaire": {"title": 400, "intro": 10000, "thanks": 2000},
    "section": {"title": 400, "intro": 4000},
    "question": {"text": 1500, "help": 1000, "unit": 50},
    "option": {"text": 500},
    "item": {"text": 500},
}


def language_of(locale: Any) -> str:
    """``en`` for ``en``, ``en_US``, ``en-GB`` or a Babel ``Locale('en')``; ``zh`` for ``zh_Hans_CN``."""
    return str(locale or "").replace("-", "_").split("_")[0].lower()


def localize_definition(definition: dict, locale: Any) -> dict:
    """A copy of ``definition`` whose texts are in ``locale``'s language where the definition has them.

    Chinese (or any language without twins) gives an unchanged copy; English swaps in every
    non-blank ``<field>_en`` and leaves the Chinese text where there is none.
    """
    result = copy.deepcopy(definition)
    if language_of(locale) != ENGLISH or not isinstance(result, dict):
        return result
    for level, entry in _texts_holders(result):
        for name in ENGLISH_FIELDS[level]:
            english = entry.get(name + ENGLISH_SUFFIX)
            if isinstance(english, str) and english.strip():
                entry[name] = english
    return result


def english_coverage(definition: dict) -> tuple[int, int]:
    """(texts with an English twin, texts there are): how far a translation has got.

    Only non-blank Chinese texts count, so an empty section title or a missing help line never
    makes a questionnaire look unfinished.
    """
    done = total = 0
    for level, entry in _texts_holders(definition):
        for name in ENGLISH_FIELDS[level]:
            if isinstance(entry.get(name), str) and entry[name].strip():
                total += 1
                english = entry.get(name + ENGLISH_SUFFIX)
                done += isinstance(english, str) and bool(english.strip())
    return done, total


def _texts_holders(definition: dict) -> list[tuple[str, dict]]:
    """Every dict of a definition that holds respondent texts, with its level (flat or sectioned)."""
    if not isinstance(definition, dict):
        return []
    holders: list[tuple[str, dict]] = [("questionnaire", definition)]
    sections = definition.get("sections")
    if not isinstance(sections, list):
        sections = [{"questions": definition.get("questions")}]  # a flat definition: no section texts
    else:
        holders.extend(("section", s) for s in sections if isinstance(s, dict))
    for section in sections:
        questions = section.get("questions") if isinstance(section, dict) else None
        for question in questions if isinstance(questions, list) else []:
            if not isinstance(question, dict):
                continue
            holders.append(("question", question))
            for level, field in (("option", "options"), ("item", "items")):
                entries = question.get(field)
                if isinstance(entries, list):
                    holders.extend((level, e) for e in entries if isinstance(e, dict))
    return holders
