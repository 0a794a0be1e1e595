"""Reading one cell as a question's answer, and the metadata cells (times, durations, channels).

``convert_value`` reads option text, option number (1-based) or letter (A, B, …), "其他〖text〗" or "其他：text" for
the "other" option with its text, several options joined by "┋" (问卷星) or "、" (our export); "(跳过)", "(空)" and
empty mean unanswered. ``convert_option_cell`` reads a one-column-per-option cell (1/0, √, 是/否).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from survey.collection.import_reading import clean_cell, normalized
from survey.questionnaires.qtypes import DATE_TEXT, get_type

BLANK = "__blank__"  # a value override meaning "treat as unanswered"
DEFAULT_CHANNEL = "import"
DEFAULT_TIMEZONE = "Asia/Shanghai"

SKIPPED = frozenset({"(跳过)", "(空)", "跳过"})
CHOICE_SKIPPED = frozenset({"-2", "-3"})  # 问卷星's numeric codes for "skipped" / "not shown"
TRUE_MARKS = frozenset({"1", "√", "✓", "✔", "●", "是", "选中", "已选", "y", "yes", "true"})
FALSE_MARKS = frozenset({"0", "否", "未选", "未选中", "n", "no", "false"})
SEPARATORS = re.compile(r"(┋|\||、|,|，|;|；)")
OTHER_BRACKET = re.compile(r"(.*?)\s*〖(.*)〗\s*", re.S)
DURATION_UNITS = re.compile(
    r"(?:(\d+)\s*(?:小时|时|h))?\s*(?:(\d+)\s*(?:分钟|分|min|m))?\s*(?:(\d+(?:\.\d+)?)\s*(?:秒钟|秒|sec|s)?)?",
    re.I,
)
DURATION_CLOCK = re.compile(r"(\d+):(\d{1,2})(?::(\d{1,2}))?")
UNKNOWN_TIME = frozenset({"时间不详", "unknown", "(空)", "(跳过)"})


class CellError(Exception):
    """A cell that cannot be read as the answer of its column's question."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


# --- converting cells --------------------------------------------------------------------------------


class Converted(NamedTuple):
    """A cell read as an answer: an option key, a list of keys, text, or ``None`` (unanswered)."""

    value: str | list[str] | None
    other: str | None = None


def is_blank(text: str, question: dict) -> bool:
    return not text or text in SKIPPED or (get_type(question["type"]).has_options and text in CHOICE_SKIPPED)


def several(question: dict) -> bool:
    """Whether a question's answer holds several option keys (a multiple choice)."""
    entry = get_type(question["type"])
    return entry.has_options and not entry.single


def match_main(question: dict, text: str, overrides: dict[str, str] | None) -> str | None:
    """The option key ``text`` names (by override, text, number or letter), ``BLANK``, or ``None``."""
    options = question["options"]
    if overrides and text in overrides:
        return overrides[text]
    for option in options:
        if clean_cell(option["text"]) == text:
            return option["key"]
    wanted = normalized(text)
    for option in options:
        if wanted and normalized(option["text"]) == wanted:
            return option["key"]
    if re.fullmatch(r"\d{1,3}", text) and 1 <= int(text) <= len(options):
        return options[int(text) - 1]["key"]
    if re.fullmatch(r"[A-Za-z]", text) and ord(text.upper()) - ord("A") < len(options):
        return options[ord(text.upper()) - ord("A")]["key"]
    return None


def _resolve(question: dict, token: str, overrides: dict[str, str] | None) -> tuple[str, str | None, str | None]:
    """(the value as written, the "other" text, the option key or ``BLANK`` or ``None`` if unknown).

    Options are matched on folded text; the respondent's "other" text is kept exactly as written.
    """
    raw, token = token.strip(), clean_cell(token)
    key = match_main(question, token, overrides)
    if key is not None:
        return token, None, key
    bracket = OTHER_BRACKET.fullmatch(raw)
    if bracket:
        main = clean_cell(bracket.group(1))
        return main, bracket.group(2).strip(), match_main(question, main, overrides)
    for option in question["options"]:
        for prefix in {option["text"].strip(), clean_cell(option["text"])} if option.get("other") else ():
            for colon in ("：", ":"):
                if raw.startswith(prefix + colon):
                    return clean_cell(option["text"]), raw[len(prefix) + 1 :].strip(), option["key"]
    return token, None, None


def option_pieces(
    question: dict, text: str, overrides: dict[str, str] | None
) -> list[tuple[str, str | None, str | None]]:
    """The options a cell holds; a multiple-choice cell is split on ┋ | 、 , ; keeping option texts whole."""
    if not several(question):
        return [_resolve(question, text, overrides)]
    parts = SEPARATORS.split(text)
    words, seps = parts[0::2], parts[1::2]
    found, i = [], 0
    while i < len(words):
        if not words[i].strip():
            i += 1
            continue
        for j in range(len(words) - 1, i - 1, -1):
            candidate = "".join(w + (seps[k] if k < j else "") for k, w in enumerate(words[i : j + 1], start=i))
            piece = _resolve(question, candidate, overrides)
            if piece[2] is not None:
                found.append(piece)
                i = j + 1
                break
        else:
            found.append((clean_cell(words[i]), None, None))
            i += 1
    return found


def _is_other(question: dict, key: str) -> bool:
    return any(o["key"] == key and o.get("other") for o in question.get("options", []))


def convert_value(question: dict, cell: Any, overrides: dict[str, str] | None = None) -> Converted:
    """A cell as the answer to ``question``; raises ``CellError`` for a value that is not an option."""
    raw = str(cell or "").strip()
    if is_blank(clean_cell(raw), question):
        return Converted(None)
    entry = get_type(question["type"])
    if not entry.has_options:
        return Converted(entry.imported(question, raw))  # free text is kept exactly as written (full-width too)
    keys, other = [], None
    for main, extra, key in option_pieces(question, raw, overrides):
        if key is None:
            raise CellError(_l("“%(value)s”不是本题的选项。", value=main))
        if key == BLANK:
            continue
        if extra and not _is_other(question, key):
            raise CellError(_l("选项“%(value)s”后面不能附带文字“%(extra)s”。", value=main, extra=extra))
        if key not in keys:
            keys.append(key)
        other = extra or other
    if not entry.single:
        return Converted(keys or None, other)
    if len(keys) > 1:
        raise CellError(_l("本题只能选一项，这里有 %(n)d 项。", n=len(keys)))
    return Converted(keys[0] if keys else None, other)


def convert_option_cell(question: dict, option: dict, cell: Any) -> Converted:
    """A one-column-per-option cell: 1 (chosen) or 0 / empty (not chosen); an "other" column may hold text."""
    raw = str(cell or "").strip()
    text = clean_cell(raw)
    mark = text.lower()
    if is_blank(text, question) or mark in FALSE_MARKS:
        return Converted(None)
    if mark in TRUE_MARKS or normalized(text) == normalized(option["text"]):
        return Converted([option["key"]])
    bracket = OTHER_BRACKET.fullmatch(raw)
    if option.get("other"):
        if bracket and (
            clean_cell(bracket.group(1)).lower() in TRUE_MARKS
            or normalized(bracket.group(1)) == normalized(option["text"])
        ):
            return Converted([option["key"]], bracket.group(2).strip() or None)
        return Converted([option["key"]], raw)  # the column holds what the respondent wrote
    raise CellError(_l("“%(value)s”无法识别：选项列应填 1（选中）或 0（未选）。", value=text))


def parse_duration(cell: Any) -> int | None:
    """所用时间 as seconds: "123秒", "2分3秒", "1小时2分", "123", "2:03"; ``ValueError`` if unreadable."""
    text = clean_cell(cell)
    if not text or text in SKIPPED:
        return None
    clock = DURATION_CLOCK.fullmatch(text)
    if clock:
        parts = [int(p) for p in clock.groups() if p is not None]
        return parts[0] * 60 + parts[1] if len(parts) == 2 else parts[0] * 3600 + parts[1] * 60 + parts[2]
    match = DURATION_UNITS.fullmatch(text)
    if not match or not any(match.groups()):
        raise ValueError(text)
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + round(float(seconds or 0))


def parse_submitted(cell: Any, timezone: str = DEFAULT_TIMEZONE) -> dt.datetime | None:
    """提交答卷时间 (local time of ``timezone``) as naive UTC; ``ValueError`` if unreadable."""
    text = clean_cell(cell)
    if not text or text.lower() in UNKNOWN_TIME:  # our own export writes 时间不详 for an unknown time
        return None
    match = DATE_TEXT.fullmatch(text)
    if not match:
        raise ValueError(text)
    local = dt.datetime(*(int(p or 0) for p in match.groups()), tzinfo=ZoneInfo(timezone))
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def channel_code(cell: str) -> str:
    text = cell.strip()
    if not text:
        return DEFAULT_CHANNEL
    # Our own export names imported rows "import" or "import:来源": they keep that code, never "import:import".
    code = text if text == DEFAULT_CHANNEL or text.startswith("import:") else f"import:{text}"
    return code[:32]
