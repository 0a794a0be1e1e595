"""Keying in paper questionnaires: option numbers typed on the keyboard become a response.

An evaluator types ``2`` for the second option, ``135`` or ``1 3 5`` for several; texts as written.
The typed codes are turned into the same form data a phone would send and go through the same
validation and skip logic, so a keyed-in paper response is held to the same rules as an online one.
"""

from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from survey.models import Response
from survey.platform.extensions import db
from survey.questionnaires.conditions import answer_keys
from survey.questionnaires.definition import numbered_questions
from survey.questionnaires.qtypes import get_type


def paper_fields(definition: dict) -> list[dict]:
    """One input per answer key, with its number, text and the option legend the typist needs."""
    rows = []
    for question in numbered_questions(definition):
        options = question.get("options", [])
        legend = [(index, option["text"]) for index, option in enumerate(options, start=1)]
        for position, key in enumerate(answer_keys(question), start=1):
            item = question["items"][position - 1]["text"] if get_type(question["type"]).has_items else None
            number = f"{question['number']}.{position}" if item else question["number"]
            rows.append({"key": key, "question": question, "number": number, "item": item, "legend": legend})
        if any(option.get("other") for option in options):
            rows.append(
                {
                    "key": question["key"] + "__other",
                    "question": question,
                    "number": question["number"],
                    "item": None,
                    "legend": [],
                    "other": True,
                }
            )
    return rows


def _codes(typed: str, count: int) -> list[int] | None:
    """Option numbers in what was typed; ``None`` if it is not made of numbers."""
    text = unicodedata.normalize("NFKC", typed).strip()
    if not text:
        return []
    if re.fullmatch(r"\d+", text) and count < 10:
        return [int(ch) for ch in text]
    parts = [p for p in re.split(r"[\s,，、;；]+", text) if p]
    return [int(p) for p in parts] if all(p.isdigit() for p in parts) else None


def formdata_from_typed(definition: dict, typed: dict[str, str]) -> tuple[MultiDict, dict[str, str]]:
    """Form data a phone would have sent, and errors by answer key for numbers that name no option."""
    data: MultiDict = MultiDict()
    errors: dict[str, str] = {}
    for row in paper_fields(definition):
        value = typed.get(row["key"], "")
        question = row["question"]
        if row.get("other") or not get_type(question["type"]).has_options:
            data.add(row["key"], value)
            continue
        options = question["options"]
        codes = _codes(value, len(options))
        if codes is None or any(not 1 <= code <= len(options) for code in codes):
            errors[row["key"]] = str(_l("请输入 1 到 %(n)d 之间的选项序号。", n=len(options)))
            continue
        if get_type(question["type"]).single and len(codes) > 1:
            errors[row["key"]] = str(_l("这是单选题，只能输入一个序号。"))
            continue
        for code in codes:
            data.add(row["key"], options[code - 1]["key"])
    return data, errors


def typed_from_answers(definition: dict, answers: dict) -> dict[str, str]:
    """What a typist would have keyed in for ``answers`` (the inverse of ``formdata_from_typed``): to correct it."""
    typed = {}
    for row in paper_fields(definition):
        value, question = answers.get(row["key"]), row["question"]
        if value in (None, "", []):
            continue
        if row.get("other") or not get_type(question["type"]).has_options:
            typed[row["key"]] = str(value)
            continue
        positions = {option["key"]: index for index, option in enumerate(question["options"], start=1)}
        codes = [str(positions[key]) for key in (value if isinstance(value, list) else [value]) if key in positions]
        typed[row["key"]] = ("" if len(question["options"]) < 10 else " ").join(codes)
    return typed


def error_list(definition: dict, errors: dict[str, str]) -> list[dict]:
    """The refused entry's errors in questionnaire order, each with the number shown beside its field and
    the field's id to link to, so the typist sees every mistake at the top and jumps to it; an error on no
    field (the channel, a refusal) comes first, without a link."""
    listed = [{"anchor": None, "number": None, "other": False, "message": errors[""]}] if errors.get("") else []
    keys = set()
    for row in paper_fields(definition):
        keys.add(row["key"])
        if errors.get(row["key"]):
            entry = {"anchor": f"p_{row['key']}", "number": row["number"], "other": bool(row.get("other"))}
            listed.append({**entry, "message": errors[row["key"]]})
    listed.extend(
        {"anchor": None, "number": None, "other": False, "message": message}
        for key, message in errors.items()
        if key and key not in keys and message
    )
    return listed


def entered_by_channel(questionnaire_id: int) -> dict[str, int]:
    """Paper questionnaires keyed in per channel code (voided entries left out): a channel's own counter also
    holds its online answers, which the typist did not enter."""
    query = (
        db.select(Response.channel, db.func.count(Response.id))
        .where(Response.questionnaire_id == questionnaire_id, Response.mode == "paper", Response.status != "voided")
        .group_by(Response.channel)
    )
    return {code: count for code, count in db.session.execute(query).all()}
