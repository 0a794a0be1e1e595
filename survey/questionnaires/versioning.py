"""What a new version would change for responses already collected.

Results line up across versions by stable question and option keys. Deleting an answered
question or option, or changing an answered question's type, breaks that alignment for the old
answers (they stay stored, but the new version cannot show them); a changed option text silently
changes what old answers mean. These are explained to the evaluator before publishing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from survey.models import Questionnaire, Response
from survey.platform.extensions import db
from survey.questionnaires.conditions import answer_keys, chosen
from survey.questionnaires.definition import iter_questions, normalize_definition, numbered_questions


@dataclass(frozen=True)
class Change:
    """One consequence of publishing the draft; ``breaking`` ones need the evaluator's confirmation."""

    breaking: bool
    message: Any  # lazy string


def answer_usage(questionnaire: Questionnaire) -> dict[str, Counter]:
    """For each answer key, how often each option key (or any text, as ``""``) was given."""
    usage: dict[str, Counter] = {}
    query = db.select(Response.answers).where(Response.questionnaire_id == questionnaire.id)
    for (answers,) in db.session.execute(query):
        for key, value in answers.items():
            counter = usage.setdefault(key, Counter())
            counter.update(chosen(value) if isinstance(value, str | list) else {""})
    return usage


def draft_changes(questionnaire: Questionnaire) -> list[Change]:
    """Consequences of publishing the draft over the current version; empty if nothing was answered."""
    if questionnaire.current_version is None:
        return []
    return compare(questionnaire.current_version.definition, questionnaire.definition, answer_usage(questionnaire))


def has_unpublished_changes(questionnaire: Questionnaire) -> bool:
    """Whether the draft differs from the version respondents currently answer."""
    version = questionnaire.current_version
    return version is not None and normalize_definition(version.definition) != questionnaire.definition


def compare(old: dict, new: dict, usage: dict[str, Counter]) -> list[Change]:
    """Changes from ``old`` to ``new`` that affect answers recorded in ``usage``."""
    new_questions = {q["key"]: q for q in iter_questions(normalize_definition(new))}
    changes: list[Change] = []
    for question in numbered_questions(old):
        answered = sum(sum(usage.get(key, Counter()).values()) for key in answer_keys(question))
        if not answered:
            continue
        replacement = new_questions.get(question["key"])
        if replacement is None:
            changes.append(
                Change(
                    True,
                    _l(
                        "删除第 %(n)s 题“%(text)s”：已有 %(count)d 个回答，"
                        "新版本的结果中不再显示这些回答（原始数据仍保留）。",
                        n=question["number"],
                        text=question["text"],
                        count=answered,
                    ),
                )
            )
        elif replacement["type"] != question["type"]:
            changes.append(
                Change(
                    True,
                    _l(
                        "第 %(n)s 题的题型改变了：已有的 %(count)d 个回答无法与新版本对齐。",
                        n=question["number"],
                        count=answered,
                    ),
                )
            )
        else:
            changes.extend(_option_changes(question, replacement, usage))
    return changes


def _option_changes(old: dict, new: dict, usage: dict[str, Counter]) -> list[Change]:
    counts: Counter = Counter()
    for key in answer_keys(old):
        counts.update(usage.get(key, Counter()))
    new_options = {o["key"]: o for o in new.get("options", [])}
    changes = []
    for option in old.get("options", []):
        used = counts.get(option["key"], 0)
        if not used:
            continue
        replacement = new_options.get(option["key"])
        if replacement is None:
            changes.append(
                Change(
                    True,
                    _l(
                        "删除第 %(n)s 题的选项“%(text)s”：已有 %(count)d 人选择，这些回答在新版本的结果中不再计入。",
                        n=old["number"],
                        text=option["text"],
                        count=used,
                    ),
                )
            )
        elif replacement["text"] != option["text"]:
            changes.append(
                Change(
                    False,
                    _l(
                        "第 %(n)s 题的选项“%(old)s”改为“%(new)s”：已选择它的 %(count)d 个回答将按新文字统计。",
                        n=old["number"],
                        old=option["text"],
                        new=replacement["text"],
                        count=used,
                    ),
                )
            )
    removed_items = {i["key"] for i in old.get("items", [])} - {i["key"] for i in new.get("items", [])}
    for item in old.get("items", []):
        used = sum(usage.get(f"{old['key']}.{item['key']}", Counter()).values())
        if item["key"] in removed_items and used:
            changes.append(
                Change(
                    True,
                    _l(
                        "删除第 %(n)s 题的小题“%(text)s”：已有 %(count)d 个回答，新版本的结果中不再显示。",
                        n=old["number"],
                        text=item["text"],
                        count=used,
                    ),
                )
            )
    return changes
