"""What each column of an uploaded file holds: targets, the guessed and corrected mapping (a ``Plan``), the
mapping screen's views and code tables, and the upload kept between the steps.

``guess_mapping`` proposes a question by its number ("1、", "1.", "Q1", "第1题") and/or its text, a matrix item
("5(服务态度)"), one option of a multiple-choice question ("3(盗窃)", "3、…—盗窃"; cells 1/0), or response metadata
(提交答卷时间, 所用时间, 来源, and our export's 状态 / 排除原因). The evaluator corrects it.

Mapping targets, one string per column: ``ignore``; ``meta:<field>``; ``ans:<answer key>`` (a question or a matrix
item, ``ans:grid.att``); ``opt:<question key>:<option key>`` (one column per option); ``other:<question key>`` (the
text of the "other" option in its own column). The parsed upload waits for its mapping in the database
(``PendingImport``), so any app server can continue it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import zlib
from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l

from survey.collection.import_cells import (
    BLANK,
    DEFAULT_CHANNEL,
    DEFAULT_TIMEZONE,
    OTHER_BRACKET,
    SEPARATORS,
    UNKNOWN_TIME,
    is_blank,
    match_main,
    option_pieces,
    several,
)
from survey.collection.import_reading import IP_HEADER, Table, clean_cell, normalized
from survey.models import PendingImport, Questionnaire, utcnow
from survey.platform.extensions import db
from survey.questionnaires.definition import normalize_definition, numbered_questions
from survey.questionnaires.qtypes import get_type, other_key

IGNORE = "ignore"
COLUMN_CHANNEL = "column"  # channel taken from the 来源 column, as "import:<value>"
MAPPING_FORMAT = "survey-import-mapping/1"  # a saved mapping file (plan_to_saved)
SAMPLE_VALUES = 3
MAX_VALUE_ROWS = 40  # distinct values listed per question on the mapping screen
UPLOAD_NAME = re.compile(r"^[A-Za-z0-9_-]{32}$")
UPLOAD_MAX_AGE = 24 * 3600  # uploads never imported are removed after a day
PAREN_ONLY = re.compile(r"[(（](.+)[)）]", re.S)
TYPE_TAG = re.compile(r"[\[【][^\]】]{0,8}题[\]】]")  # "[单选题]", "【多选题】"
# The clock an export names in a time column's title: "提交时间（北京时间）", "Submitted at (Beijing time, UTC+8)".
ZONE_LABEL = re.compile(r"\s*[(（]\s*(北京时间|beijing time|utc\s*[+-])[^)）]*[)）]\s*$", re.I)
NUMBER_PREFIX = re.compile(r"^(?:第\s*)?(?:[Qq]\s*)?(\d+(?:\.\d+)*)\s*题?\s*(?:[、.:]\s*|\s+|(?=\()|$)")

META_NAMES = {
    "meta:submitted_at": ("提交答卷时间", "提交时间", "答卷时间", "填写时间", "提交日期", "submittedat"),
    "meta:duration_seconds": ("所用时间", "用时", "用时秒", "答题时长", "作答时长", "答题用时", "timetakenseconds"),
    "meta:channel": ("来源", "渠道", "来源渠道", "channel"),
    "meta:unit_name": ("单位", "填写单位", "unit"),
    "meta:status": ("状态", "status"),
    "meta:exclusion_reason": ("排除原因", "reasonforexclusion"),
    "meta:source_row": ("序号",),  # 问卷星's own number of the answer; kept as the response's source row
}
META_LABELS = {
    "meta:submitted_at": _l("提交时间"),
    "meta:duration_seconds": _l("用时（秒）"),
    "meta:channel": _l("来源 / 渠道"),
    "meta:unit_name": _l("填写单位（单位码）"),
    "meta:status": _l("状态（有效 / 已排除）"),
    "meta:exclusion_reason": _l("排除原因"),
    "meta:source_row": _l("序号（来源行号）"),
}


# --- keeping the upload between steps --------------------------------------------------------------
# In the database (``PendingImport``), not on one server's disk: the mapping step may reach another app
# server than the upload did. What is kept is the parsed table with IP columns already blanked.


def _pack(table: Table) -> bytes:
    return zlib.compress(json.dumps(table.__dict__, ensure_ascii=False).encode("utf-8"))


def _unpack(content: bytes) -> Table | None:
    try:
        data = json.loads(zlib.decompress(content).decode("utf-8"))
        data.pop(PLAN_KEY, None)
        data.pop(TEXT_KEY, None)
        return Table(**data)
    except (zlib.error, ValueError, TypeError, AttributeError):
        return None


PLAN_KEY = "last_plan"  # the mapping last checked, kept with the upload (``remember_plan``)
TEXT_KEY = "text_export"  # the same questionnaire's 按选项文本 download, for the code tables (``save_text_export``)


def _kept(pending: PendingImport) -> dict:
    """Everything kept with an upload: its table's fields, the last plan, a text export."""
    try:
        data = json.loads(zlib.decompress(pending.content).decode("utf-8"))
    except (zlib.error, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _keep(pending: PendingImport, data: dict) -> None:
    pending.content = zlib.compress(json.dumps(data, ensure_ascii=False).encode("utf-8"))
    db.session.commit()


def remember_plan(token: str, questionnaire_id: int, user_id: int, table: Table, plan: Plan) -> None:
    """Keep the mapping just checked with the upload, so reopening it (after republishing, say) starts from it."""
    pending = _pending(token, questionnaire_id, user_id)
    if pending is None:
        return
    saved = {**plan_to_saved(plan, table), "missing_time": plan.missing_time}
    _keep(pending, {**_kept(pending), **table.__dict__, PLAN_KEY: saved})


def save_text_export(token: str, questionnaire_id: int, user_id: int, text_table: Table) -> None:
    """Keep the 按选项文本 download of the same questionnaire with the upload (replacing an earlier one)."""
    pending = _pending(token, questionnaire_id, user_id)
    if pending is not None:
        _keep(pending, {**_kept(pending), TEXT_KEY: text_table.__dict__})


def load_text_export(token: str, questionnaire_id: int, user_id: int) -> Table | None:
    """The text download kept with this upload, or ``None``."""
    pending = _pending(token, questionnaire_id, user_id)
    data = _kept(pending).get(TEXT_KEY) if pending is not None else None
    try:
        return Table(**data) if isinstance(data, dict) else None
    except TypeError:
        return None


def remembered_plan(token: str, questionnaire_id: int, user_id: int, table: Table, definition: dict, channels):
    """The mapping last checked for this upload, fitted to the current version: columns whose target is gone
    are guessed again, value overrides are kept where their option still exists; ``None`` if never checked."""
    pending = _pending(token, questionnaire_id, user_id)
    saved = _kept(pending).get(PLAN_KEY) if pending is not None else None
    if not isinstance(saved, dict):
        return None
    plan = plan_from_saved(saved, table, definition, channels).plan
    targets, guessed = all_targets(normalize_definition(definition)), default_plan(table, definition).mapping
    plan.mapping = [value if value in targets else guessed[i] for i, value in enumerate(plan.mapping)]
    plan.missing_time = str(saved.get("missing_time") or "")
    return plan


def save_upload(questionnaire_id: int, user_id: int, table: Table, size: int = 0) -> str:
    """Keep the parsed table for its uploader and questionnaire; return the random token naming it.

    Uploads older than ``UPLOAD_MAX_AGE`` are removed first, so abandoned ones never pile up.
    """
    purge_uploads(commit=False)
    token = secrets.token_urlsafe(24)
    pending = PendingImport(token=token, questionnaire_id=questionnaire_id, user_id=user_id, size=size)
    pending.content = _pack(table)
    db.session.add(pending)
    db.session.commit()
    return token


def _pending(token: str, questionnaire_id: int, user_id: int) -> PendingImport | None:
    """The unexpired upload ``token`` of this questionnaire made by this user, else ``None``."""
    if not UPLOAD_NAME.match(token):
        return None
    oldest = utcnow() - dt.timedelta(seconds=UPLOAD_MAX_AGE)
    query = db.select(PendingImport).where(
        PendingImport.token == token,
        PendingImport.questionnaire_id == questionnaire_id,
        PendingImport.user_id == user_id,
        PendingImport.created_at >= oldest,
    )
    return db.session.execute(query).scalar_one_or_none()


def load_upload(token: str, questionnaire_id: int, user_id: int) -> Table | None:
    """The table kept under ``token`` for this questionnaire and uploader, or ``None`` (unknown, expired,
    another questionnaire's or another evaluator's: they are all the same 404 to the caller)."""
    pending = _pending(token, questionnaire_id, user_id)
    return None if pending is None else _unpack(pending.content)


def delete_upload(token: str, questionnaire_id: int, user_id: int) -> None:
    """Remove a kept upload (after the import, or when the evaluator gives up)."""
    if UPLOAD_NAME.match(token):
        db.session.execute(
            db.delete(PendingImport).where(
                PendingImport.token == token,
                PendingImport.questionnaire_id == questionnaire_id,
                PendingImport.user_id == user_id,
            )
        )
        db.session.commit()


def purge_uploads(now: dt.datetime | None = None, max_age: int = UPLOAD_MAX_AGE, commit: bool = True) -> int:
    """Remove uploads older than ``max_age`` seconds that were never imported; return how many."""
    oldest = (now or utcnow()) - dt.timedelta(seconds=max_age)
    removed = db.session.execute(db.delete(PendingImport).where(PendingImport.created_at < oldest)).rowcount
    if commit:
        db.session.commit()
    return removed or 0


@dataclass(frozen=True)
class Target:
    """Something a column can hold."""

    value: str
    label: Any
    kind: str  # ignore / meta / ans / opt / other
    question: dict | None = None
    option: dict | None = None
    field: str = ""  # the form field it feeds
    norm: str = ""  # its text, for similarity


def question_targets(definition: dict) -> list[Target]:
    """Every answer target of a definition, in questionnaire order."""
    targets = []
    for question in numbered_questions(definition):
        key, label, norm = question["key"], f"{question['number']}. {question['text']}", normalized(question["text"])
        entry = get_type(question["type"])
        if entry.has_items:
            for item in question["items"]:
                targets.append(
                    Target(
                        f"ans:{key}.{item['key']}",
                        f"{label} — {item['text']}",
                        "ans",
                        question,
                        field=f"{key}.{item['key']}",
                        norm=norm + normalized(item["text"]),
                    )
                )
            continue
        targets.append(Target(f"ans:{key}", label, "ans", question, field=key, norm=norm))
        if entry.has_options and not entry.single:
            for option in question["options"]:
                targets.append(
                    Target(
                        f"opt:{key}:{option['key']}",
                        _l("%(q)s — 选项“%(o)s”（每个选项一列，1 为选中）", q=label, o=option["text"]),
                        "opt",
                        question,
                        option,
                        field=key,
                        norm=norm + normalized(option["text"]),
                    )
                )
        for option in question.get("options", []):
            if option.get("other"):
                targets.append(
                    Target(
                        f"other:{key}",
                        _l("%(q)s — “%(o)s”后填写的文字", q=label, o=option["text"]),
                        "other",
                        question,
                        option,
                        field=other_key(key),
                        norm=norm + normalized(option["text"]),
                    )
                )
    return targets


def all_targets(definition: dict) -> dict[str, Target]:
    """Target value -> target: "do not import", the metadata fields, then the questions."""
    targets = [Target(IGNORE, _l("不导入"), "ignore")]
    targets += [Target(value, label, "meta") for value, label in META_LABELS.items()]
    targets += question_targets(definition)
    return {t.value: t for t in targets}


def target_choices(definition: dict) -> list[tuple[str, Any]]:
    """(value, label) pairs for the mapping screen's selects."""
    return [(t.value, t.label) for t in all_targets(definition).values()]


def _similarity(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


class _Guesser:
    """Matches one header at a time to a target."""

    def __init__(self, definition: dict):
        self.targets = all_targets(definition)
        self.questions = numbered_questions(definition)
        self.by_number: dict[str, list[tuple[dict, dict | None]]] = {}
        for question in self.questions:
            self.by_number.setdefault(question["number"], []).append((question, None))
            for index, item in enumerate(question.get("items", []) if get_type(question["type"]).has_items else [], 1):
                self.by_number.setdefault(f"{question['number']}.{index}", []).append((question, item))
        self.by_position = {str(i): q for i, q in enumerate(self.questions, start=1)}
        self.text_targets = [t for t in self.targets.values() if t.kind in ("ans", "opt", "other")]

    def guess(self, header: str) -> tuple[str, float]:
        """(target, confidence): metadata names 3, a question number 1–2, text alone 0.6–1."""
        clean = ZONE_LABEL.sub("", TYPE_TAG.sub("", clean_cell(header))).strip()
        name = normalized(clean)
        if not name or IP_HEADER.search(clean.lower()):
            return IGNORE, 0.0
        for target, names in META_NAMES.items():
            if name in names:
                return target, 3.0
        match = NUMBER_PREFIX.match(clean)
        rest = clean[match.end() :].strip() if match else clean
        numbered = self._numbered(match.group(1), rest) if match else None
        rest_norm = normalized(rest)
        if numbered and (not rest_norm or PAREN_ONLY.fullmatch(rest)):
            return numbered.value, 1.5
        best, score = self._best_text(rest_norm or name)
        own = _similarity(rest_norm, numbered.norm) if numbered else 0.0
        # The number wins unless the text clearly names another question (问卷星 numbers 1, 2, 3, …
        # where a questionnaire may number 1.1, 1.2, 2, …).
        if numbered and score < own + 0.1:
            return numbered.value, 1.0 + own
        if best is not None and score >= 0.6:
            return best.value, score
        return (numbered.value, 1.0 + own) if numbered else (IGNORE, 0.0)

    def _numbered(self, number: str, rest: str) -> Target | None:
        """The target a numbered header names: by display number first, then by position (问卷星 counts 1, 2, …)."""
        paren = PAREN_ONLY.fullmatch(rest)
        sub = paren.group(1) if paren else None
        candidates = list(self.by_number.get(number, []))
        if number in self.by_position:
            candidates.append((self.by_position[number], None))
        for question, item in candidates:
            value = self._refine(question, item, normalized(rest), sub)
            if value:
                return self.targets[value]
        return None

    def _refine(self, question: dict, item: dict | None, rest_norm: str, sub: str | None) -> str | None:
        key = question["key"]
        if item is not None:
            return f"ans:{key}.{item['key']}"
        qnorm = normalized(question["text"])
        if get_type(question["type"]).has_items:
            found = _part(question["items"], sub, rest_norm, qnorm)
            return f"ans:{key}.{found['key']}" if found else None
        options = question.get("options", [])
        if several(question):
            found = None if (sub is None and rest_norm == qnorm) else _part(options, sub, rest_norm, qnorm)
            if found:
                return f"opt:{key}:{found['key']}"
            return f"ans:{key}" if sub is None else None
        if sub is not None:
            found = _part([o for o in options if o.get("other")], sub, rest_norm, qnorm)
            return f"other:{key}" if found else None
        return f"ans:{key}"

    def _best_text(self, name: str) -> tuple[Target | None, float]:
        best, score = None, 0.0
        for target in self.text_targets:
            matcher = SequenceMatcher(None, name, target.norm, autojunk=False)
            if matcher.real_quick_ratio() <= score or matcher.quick_ratio() <= score:
                continue
            ratio = matcher.ratio()
            if ratio > score:
                best, score = target, ratio
        return best, score


def _part(parts: list[dict], sub: str | None, rest_norm: str, qnorm: str) -> dict | None:
    """The item or option a header names: in "(…)", or at the end of "question text—option text"."""
    if sub is not None:
        wanted = normalized(sub)
        return next((p for p in parts if normalized(p["text"]) == wanted), None)
    if not rest_norm or rest_norm == qnorm:
        return None
    found = [p for p in parts if normalized(p["text"]) and rest_norm.endswith(normalized(p["text"]))]
    return max(found, key=lambda p: len(normalized(p["text"])), default=None)


def guess_mapping(headers: list[str], definition: dict) -> list[str]:
    """A target per column; when two columns want one target, the surer guess (then the earlier column) wins."""
    guesser = _Guesser(normalize_definition(definition))
    guesses = [guesser.guess(header) for header in headers]
    winners: dict[str, int] = {}
    for index, (target, confidence) in enumerate(guesses):
        if target != IGNORE and (target not in winners or confidence > guesses[winners[target]][1]):
            winners[target] = index
    return [target if winners.get(target) == index else IGNORE for index, (target, _c) in enumerate(guesses)]


# --- plans ------------------------------------------------------------------------------------------


@dataclass
class Plan:
    """What the evaluator decided: a target per column, value overrides per question, the channel."""

    mapping: list[str]
    overrides: dict[str, dict[str, str]] = field(default_factory=dict)  # question key -> {value: option key}
    channel: str = COLUMN_CHANNEL
    # The date (YYYY-MM-DD) given for rows without a submission time; "" leaves their time unknown.
    missing_time: str = ""
    # The evaluator ticked "the code tables are right" (None: not asked, e.g. a script with a saved mapping).
    codes_confirmed: bool | None = None


def default_plan(table: Table, definition: dict) -> Plan:
    """The guessed plan; columns with IP addresses are never imported."""
    mapping = guess_mapping(table.headers, definition)
    for index in table.private:
        mapping[index] = IGNORE
    channel = COLUMN_CHANNEL if "meta:channel" in mapping else DEFAULT_CHANNEL
    return Plan(mapping, {}, channel)


def plan_from_form(formdata, table: Table, definition: dict, channels: list[str]) -> Plan:
    """The plan the mapping screen submitted (``col-N``, ``channel``, ``vq-N``/``vt-N``/``vv-N``)."""
    mapping = [formdata.get(f"col-{i}", IGNORE) or IGNORE for i in range(len(table.headers))]
    for index in table.private:
        mapping[index] = IGNORE
    questions = {q["key"]: q for q in numbered_questions(definition)}
    overrides: dict[str, dict[str, str]] = {}
    n = 0
    while f"vq-{n}" in formdata:
        question = questions.get(formdata.get(f"vq-{n}", ""))
        value, chosen = formdata.get(f"vt-{n}", ""), formdata.get(f"vv-{n}", "")
        n += 1
        if question is None or not chosen:
            continue
        if chosen == BLANK or chosen in {o["key"] for o in question.get("options", [])}:
            overrides.setdefault(question["key"], {})[clean_cell(value)] = chosen
    channel = formdata.get("channel", DEFAULT_CHANNEL)
    missing_time = str(formdata.get("missing_time", "") or "").strip()
    confirmed = formdata.get("codes-ok") == "1"
    return Plan(mapping, overrides, channel if channel in channels else DEFAULT_CHANNEL, missing_time, confirmed)


def rows_without_time(table: Table, plan: Plan) -> int:
    """How many rows have no submission time: all of them when no column is mapped to 提交时间."""
    if "meta:submitted_at" not in plan.mapping:
        return len(table.rows)
    index = plan.mapping.index("meta:submitted_at")
    return sum(not clean_cell(row[index]) or clean_cell(row[index]).lower() in UNKNOWN_TIME for row in table.rows)


def given_time(plan: Plan, timezone: str = DEFAULT_TIMEZONE) -> dt.datetime | None:
    """The evaluator's date for rows without a time, as naive UTC of that day's start; ``ValueError`` if unreadable."""
    if not plan.missing_time:
        return None
    match = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", plan.missing_time)
    if not match:
        raise ValueError(plan.missing_time)
    local = dt.datetime(*(int(p) for p in match.groups()), tzinfo=ZoneInfo(timezone))
    return local.astimezone(dt.UTC).replace(tzinfo=None)


class SavedPlan(NamedTuple):
    """A saved mapping applied to a file: the plan, what stops it, and file columns it did not name."""

    plan: Plan
    problems: list[str]
    unmatched: list[str]


def plan_to_saved(plan: Plan, table: Table) -> dict:
    """A plan as a mapping file (``MAPPING_FORMAT``) a later import of the same export can reuse.

    Columns are named by their header, not their position, so a re-download with a column more or
    less still maps; value overrides and the channel are kept as chosen.
    """
    return {
        "format": MAPPING_FORMAT,
        "columns": [{"header": h, "target": t} for h, t in zip(table.headers, plan.mapping, strict=True)],
        "overrides": plan.overrides,
        "channel": plan.channel,
    }


def plan_from_saved(saved: Any, table: Table, definition: dict, channels: list[str]) -> SavedPlan:
    """The plan a mapping file gives this file; every problem is listed, none is silently dropped.

    A file column is matched to the next saved column with the same header (headers may repeat); a
    saved column that would import data but is missing from the file is a problem, a file column the
    mapping does not name is ignored and reported. Targets themselves are checked by ``check_import``.
    """
    if (
        not isinstance(saved, dict)
        or saved.get("format") != MAPPING_FORMAT
        or not isinstance(saved.get("columns"), list)
    ):
        message = _l("映射文件的格式不对：应为 %(format)s，含 columns 列表。", format=MAPPING_FORMAT)
        return SavedPlan(default_plan(table, definition), [str(message)], [])
    pending = [c for c in saved["columns"] if isinstance(c, dict)]
    mapping, unmatched = [], []
    for header in table.headers:
        entry = next((c for c in pending if clean_cell(c.get("header")) == clean_cell(header)), None)
        if entry is None:
            mapping.append(IGNORE)
            unmatched.append(header)
            continue
        pending.remove(entry)
        mapping.append(str(entry.get("target") or IGNORE))
    for index in table.private:
        mapping[index] = IGNORE
    problems = [
        str(_l("映射中的列“%(header)s”在文件中找不到。", header=c.get("header")))
        for c in pending
        if (c.get("target") or IGNORE) != IGNORE
    ]
    overrides, override_problems = _saved_overrides(saved.get("overrides") or {}, definition)
    channel = saved.get("channel", DEFAULT_CHANNEL)
    if channel not in channels:
        problems.append(str(_l("映射中的渠道“%(channel)s”不属于这份问卷。", channel=channel)))
        channel = DEFAULT_CHANNEL
    return SavedPlan(Plan(mapping, overrides, channel), problems + override_problems, unmatched)


def _saved_overrides(saved: Any, definition: dict) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Value overrides of a mapping file, keeping only questions and options this version has."""
    questions = {q["key"]: q for q in numbered_questions(definition)}
    overrides: dict[str, dict[str, str]] = {}
    problems = []
    for key, values in saved.items() if isinstance(saved, dict) else []:
        question = questions.get(key)
        if question is None or not isinstance(values, dict):
            problems.append(str(_l("映射中的题目“%(key)s”不在这份问卷中。", key=key)))
            continue
        options = {o["key"] for o in question.get("options", [])} | {BLANK}
        for value, chosen in values.items():
            if chosen not in options:
                problems.append(
                    str(
                        _l(
                            "映射把“%(value)s”对应到题目“%(key)s”没有的选项“%(option)s”。",
                            value=value,
                            key=key,
                            option=chosen,
                        )
                    )
                )
                continue
            overrides.setdefault(key, {})[clean_cell(value)] = chosen
    return overrides, problems


def app_timezone() -> str:
    """Times in an imported file are read in the zone the desk shows times in (the app's Babel zone)."""
    return current_app.config.get("BABEL_DEFAULT_TIMEZONE", DEFAULT_TIMEZONE)


def channel_choices(questionnaire: Questionnaire) -> list[tuple[str, Any]]:
    """How imported responses are labelled: by the 来源 column, or one fixed channel."""
    choices = [
        (COLUMN_CHANNEL, _l("按“来源”列记录（记为 import:来源）")),
        (DEFAULT_CHANNEL, _l("导入（import）")),
        ("paper", _l("纸质问卷（paper）")),
    ]
    taken = {value for value, _label in choices}
    choices += [(c.code, f"{c.name}（{c.code}）") for c in questionnaire.channels if c.code not in taken]
    return choices


def source_number(cell: str) -> int | None:
    """A 序号 cell as a positive whole number ("12", "12.0" from a spreadsheet), else ``None``."""
    match = re.fullmatch(r"0*(\d{1,9})(?:\.0+)?", clean_cell(cell))
    return int(match.group(1)) if match and int(match.group(1)) > 0 else None


def source_rows(table: Table, plan: Plan) -> list[int | None]:
    """Each row's source row as an import would store it (``None`` for a 序号 that is not a number)."""
    index = plan.mapping.index("meta:source_row") if "meta:source_row" in plan.mapping else None
    return [
        source_number(row[index]) if index is not None and clean_cell(row[index]) else table.data_row(position)
        for position, row in enumerate(table.rows)
    ]


# --- what the mapping screen shows --------------------------------------------------------------------


@dataclass
class ColumnView:
    """One column on the mapping screen."""

    index: int
    header: str
    target: str
    samples: list[str]
    private: bool


@dataclass
class ValueView:
    """One distinct value of a choice question in the file and the option it is read as."""

    question: str
    value: str
    count: int
    auto: str | None  # option text recognised automatically, or None
    chosen: str  # the evaluator's override ("" = automatic)


@dataclass
class QuestionValues:
    """The values of one choice question, with its options for the override selects."""

    key: str
    label: str
    options: list[tuple[str, str]]
    values: list[ValueView]
    more: int = 0  # distinct values not listed


def column_views(table: Table, plan: Plan) -> list[ColumnView]:
    """Each column with a few sample values and its current target."""
    views = []
    for index, header in enumerate(table.headers):
        samples: list[str] = []
        for row in table.rows:
            if row[index] and row[index] not in samples:
                samples.append(row[index])
            if len(samples) == SAMPLE_VALUES:
                break
        views.append(ColumnView(index, header, plan.mapping[index], samples, index in table.private))
    return views


def value_views(table: Table, plan: Plan, definition: dict) -> list[QuestionValues]:
    """For every choice question fed by a whole-answer column: its distinct values and their options."""
    targets = all_targets(normalize_definition(definition))
    by_question: dict[str, tuple[dict, Counter]] = {}
    for index, value in enumerate(plan.mapping):
        target = targets.get(value)
        if target is None or target.kind != "ans" or not get_type(target.question["type"]).has_options:
            continue
        question = target.question
        counter = by_question.setdefault(question["key"], (question, Counter()))[1]
        overrides = plan.overrides.get(question["key"])
        for row in table.rows:
            text = clean_cell(row[index])
            if not is_blank(text, question):
                counter.update(main for main, _extra, _key in option_pieces(question, text, overrides))
    return [_question_values(q, counter, plan.overrides.get(q["key"], {})) for q, counter in by_question.values()]


def _question_values(question: dict, counter: Counter, overrides: dict[str, str]) -> QuestionValues:
    texts = {o["key"]: o["text"] for o in question["options"]}
    values = []
    for value, count in counter.most_common(MAX_VALUE_ROWS):
        auto = match_main(question, value, None)
        values.append(ValueView(question["key"], value, count, texts.get(auto or ""), overrides.get(value, "")))
    return QuestionValues(
        key=question["key"],
        label=f"{question['number']}. {question['text']}",
        options=list(texts.items()),
        values=values,
        more=max(0, len(counter) - MAX_VALUE_ROWS),
    )


# --- code tables of files that hold option numbers (问卷星 按选项序号) -----------------------------------


CODE = re.compile(r"\d{1,3}")
CodedQuestion = tuple[dict, list[tuple[str, int]], Counter]  # question, its (target, column) pairs, code counts


@dataclass
class CodeTable:
    """How a question's option numbers in the file are read: 序号 n = the questionnaire's option n.

    问卷星 numbers options in its own questionnaire; a code that never occurs there cannot be seen here, so
    a gap (or a highest code other than the option count) is warned about and the evaluator confirms.
    ``evidence`` is what the same questionnaire's 按选项文本 download says each code is, when one is at hand;
    ``differs`` the codes read otherwise than it says.
    """

    key: str
    label: str
    rows: list[tuple[int, int, str]]  # code, rows in the file, what it is read as
    warnings: list[str]
    evidence: dict[int, CodeEvidence] = field(default_factory=dict)
    differs: set[int] = field(default_factory=set)


def _coded_columns(table: Table, plan: Plan, definition: dict) -> dict[str, CodedQuestion]:
    """Choice questions whose mapped whole-answer columns hold only option numbers: question key ->
    (question, its (target, column) pairs, how often each code occurs)."""
    targets = all_targets(normalize_definition(definition))
    found: dict[str, tuple[dict, list[tuple[str, int]], Counter, bool]] = {}
    for index, value in enumerate(plan.mapping):
        target = targets.get(value)
        if target is None or target.kind != "ans" or not get_type(target.question["type"]).has_options:
            continue
        question = target.question
        _question, columns, counter, coded = found.get(question["key"], (question, [], Counter(), True))
        columns.append((value, index))
        for cell, rows in Counter(row[index] for row in table.rows).items():  # each distinct cell read once
            text = clean_cell(cell)
            if is_blank(text, question):
                continue
            for piece in _code_pieces(question, text):
                if CODE.fullmatch(piece):
                    counter[int(piece)] += rows
                elif piece:
                    coded = False
        found[question["key"]] = (question, columns, counter, coded)
    return {key: (q, columns, c) for key, (q, columns, c, coded) in found.items() if coded and c}


def _code_pieces(question: dict, text: str) -> list[str]:
    """The option numbers a cell holds (several for multiple choice), an 其他〖…〗 text taken off."""
    pieces = SEPARATORS.split(text)[0::2] if several(question) else [text]
    found = []
    for piece in (p.strip() for p in pieces):
        main = OTHER_BRACKET.fullmatch(piece)
        found.append(clean_cell(main.group(1)) if main else piece)
    return found


def code_tables(table: Table, plan: Plan, definition: dict, text: TextCodes | None = None) -> list[CodeTable]:
    """A code table for every choice question whose mapped whole-answer column holds only option numbers."""
    evidence = text.evidence if text is not None else {}
    return [
        _code_table(q, c, plan.overrides.get(key), evidence.get(key, {}))
        for key, (q, _columns, c) in _coded_columns(table, plan, definition).items()
    ]


def _code_reading(question: dict, code: int, overrides: dict[str, str] | None, texts: dict[str, str]) -> str:
    """What code ``code`` is read as, in words: the questionnaire's option n, the evaluator's choice, or nothing."""
    key = match_main(question, str(code), overrides)
    own = question["options"][code - 1]["key"] if 1 <= code <= len(question["options"]) else None
    if key == BLANK:
        return str(_l("视为未作答"))
    if key is None:
        return str(_l("无法识别：本题只有 %(k)d 个选项，请在“选项对照”中选择", k=len(question["options"])))
    if key == own:
        return str(_l("问卷第 %(n)d 项：%(option)s", n=code, option=texts[key]))
    return str(_l("已改为：%(option)s", option=texts[key]))


def _code_table(
    question: dict, counter: Counter, overrides: dict[str, str] | None, evidence: dict[int, CodeEvidence]
) -> CodeTable:
    options = question["options"]
    texts = {o["key"]: o["text"] for o in options}
    label = f"{question['number']}. {question['text']}"
    rows = []
    for code in sorted(set(range(1, len(options) + 1)) | set(counter)):
        rows.append((code, counter.get(code, 0), _code_reading(question, code, overrides, texts)))
    highest, warnings = max(counter), []
    absent = [str(n) for n in range(1, highest + 1) if n not in counter]
    if absent:
        warnings.append(
            str(
                _l(
                    "“%(label)s”：文件中没有出现序号 %(codes)s。如果问卷星的这道题与本问卷的选项不完全相同，"
                    "后面的序号会错位，请逐项核对序号对照表。",
                    label=label,
                    codes="、".join(absent),
                )
            )
        )
    if highest != len(options):
        warnings.append(
            str(
                _l(
                    "“%(label)s”：文件中最大的序号是 %(max)d，而本题有 %(k)d 个选项，请逐项核对序号对照表。",
                    label=label,
                    max=highest,
                    k=len(options),
                )
            )
        )
    differs = {
        code
        for code, seen in evidence.items()
        if seen.option is not None and match_main(question, str(code), overrides) != seen.option
    }
    warnings += _evidence_warnings(question, label, evidence, differs, overrides)
    return CodeTable(question["key"], label, rows, warnings, evidence, differs)


# --- the code table from the same questionnaire's 按选项文本 download ------------------------------------
# 问卷星 gives the same answers in two downloads: option texts, or option numbers. The numbers file holds
# what 问卷星's own questionnaire numbered, which a code that never occurs makes impossible to read from the
# file alone; the rows with the same 序号 in the text file say what each number is.


@dataclass
class CodeEvidence:
    """What one code of the numbers file is, by the text file's answers on the rows with the same 序号."""

    texts: list[tuple[str, int]]  # the texts found for it, most common first, with how many rows
    option: str | None  # the option they all name, else None
    problem: str = ""  # "conflict": texts naming different options; "not_option": a text no option has


@dataclass
class TextCodes:
    """What a 按选项文本 download says about the option numbers of the upload, matched on 序号 row by row."""

    rows: int  # data rows of the text file
    matched: int = 0  # rows of the upload whose 序号 the text file has (once)
    evidence: dict[str, dict[int, CodeEvidence]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # why it cannot be used, or what did not match

    @property
    def usable(self) -> bool:
        return any(seen.option for codes in self.evidence.values() for seen in codes.values())


def _option_by_text(question: dict, text: str) -> str | None:
    """The option whose text ``text`` is (folded, without punctuation), never by number or letter."""
    wanted = normalized(text)
    return next((o["key"] for o in question["options"] if wanted and normalized(o["text"]) == wanted), None)


def _text_pieces(question: dict, cell: str) -> list[str]:
    """The option texts a 按选项文本 cell holds, the 其他 text taken off (other〖…〗 or 其他：…)."""
    return [main for main, _extra, _key in option_pieces(question, str(cell or "").strip(), None)]


def _pairs(question: dict, code_cell: str, text_cell: str) -> list[tuple[int, str]]:
    """(code, text) pairs of one question on one row in both files; none when either is empty or they differ
    in how many options they hold."""
    code_text, text = clean_cell(code_cell), clean_cell(text_cell)
    if is_blank(code_text, question) or is_blank(text, question):
        return []
    codes, texts = _code_pieces(question, code_text), _text_pieces(question, text_cell)
    if len(codes) != len(texts) or not all(CODE.fullmatch(c) for c in codes):
        return []
    return [(int(code), text) for code, text in zip(codes, texts, strict=True)]


def text_codes(table: Table, plan: Plan, definition: dict, text_table: Table) -> TextCodes:
    """Each option number of the upload's coded questions, as the text download's rows with the same 序号 read.

    The upload's 序号 is the column the evaluator mapped to it; the text file's is guessed. A 序号 found on
    several rows of the text file is left out (which row would it be?); so is a row whose number of options
    differs between the files. Evidence is kept per question and code, every text seen with its count.
    """
    definition = normalize_definition(definition)
    found = TextCodes(rows=len(text_table.rows))
    text_plan = default_plan(text_table, definition)
    if "meta:source_row" not in plan.mapping:
        found.problems.append(str(_l("请先把上传文件中的“序号”列对应到“序号（来源行号）”，才能按序号逐行对照。")))
    if "meta:source_row" not in text_plan.mapping:
        found.problems.append(str(_l("按选项文本文件中没有“序号”列，无法按序号逐行对照。")))
    if found.problems:
        return found
    by_number: dict[int, list[str] | None] = {}
    for number, row in zip(source_rows(text_table, text_plan), text_table.rows, strict=True):
        if number is not None:
            by_number[number] = None if number in by_number else row  # a repeated 序号 matches nothing
    text_columns = {value: index for index, value in enumerate(text_plan.mapping)}
    coded = _coded_columns(table, plan, definition)
    cells: dict[str, Counter] = {key: Counter() for key in coded}  # (code cell, text cell) -> rows
    for number, row in zip(source_rows(table, plan), table.rows, strict=True):
        other = by_number.get(number) if number is not None else None
        if other is None:
            continue
        found.matched += 1
        for key, (_question, columns, _counter) in coded.items():
            for value, index in columns:
                if value in text_columns:
                    cells[key][row[index], other[text_columns[value]]] += 1
    found.problems += _text_match_problems(found, len(table.rows), coded, text_columns)
    for key, pairs in cells.items():  # each distinct pair of cells read once, however many rows hold it
        question, seen = coded[key][0], {}
        for (code_cell, text_cell), rows in pairs.items():
            for code, text in _pairs(question, code_cell, text_cell):
                seen.setdefault(code, Counter())[text] += rows
        found.evidence[key] = {code: _evidence(question, texts) for code, texts in sorted(seen.items())}
    return found


def _evidence(question: dict, texts: Counter) -> CodeEvidence:
    options = {_option_by_text(question, text) for text in texts}
    listed = texts.most_common()
    if len(options) > 1:
        return CodeEvidence(listed, None, "conflict")
    option = options.pop()
    return CodeEvidence(listed, option, "" if option is not None else "not_option")


def _text_match_problems(found: TextCodes, rows: int, coded: dict, text_columns: dict[str, int]) -> list[str]:
    """What the evaluator should know about the matching: rows without a partner, questions the text file lacks."""
    problems = []
    if found.matched < rows:
        problems.append(
            str(
                _l(
                    "上传文件的 %(rows)d 行中，有 %(n)d 行的序号在按选项文本文件中找不到（或出现了不止一次），"
                    "这些行没有用来对照。",
                    rows=rows,
                    n=rows - found.matched,
                )
            )
        )
    for question, columns, _counter in coded.values():
        if not any(value in text_columns for value, _index in columns):
            label = f"{question['number']}. {question['text']}"
            problems.append(str(_l("按选项文本文件中找不到“%(label)s”这一题的列。", label=label)))
    return problems


def text_overrides(text: TextCodes) -> dict[str, dict[str, str]]:
    """The value overrides that read every code as the text file says (codes it cannot settle are left out)."""
    return {
        key: {str(code): seen.option for code, seen in codes.items() if seen.option is not None}
        for key, codes in text.evidence.items()
        if any(seen.option is not None for seen in codes.values())
    }


def take_text_codes(plan: Plan, text: TextCodes) -> int:
    """The evaluator accepted the text file's code table: it replaces the plan's overrides of those codes."""
    taken = text_overrides(text)
    for key, codes in taken.items():
        plan.overrides.setdefault(key, {}).update(codes)
    return sum(len(codes) for codes in taken.values())


def _evidence_warnings(question: dict, label: str, evidence: dict, differs: set[int], overrides) -> list[str]:
    """Codes the text file cannot settle, and codes read otherwise than it says."""
    texts = {o["key"]: o["text"] for o in question["options"]}
    warnings = []
    for code, seen in evidence.items():
        if seen.problem == "conflict":
            listed = "、".join(str(_l("“%(text)s”%(n)d 行", text=t, n=n)) for t, n in seen.texts)
            warnings.append(
                str(
                    _l(
                        "“%(label)s”：序号 %(code)d 在按选项文本文件中对应不同的选项（%(texts)s），"
                        "无法确定，请在“选项对照”中选择。",
                        label=label,
                        code=code,
                        texts=listed,
                    )
                )
            )
        elif seen.problem == "not_option":
            warnings.append(
                str(
                    _l(
                        "“%(label)s”：序号 %(code)d 在按选项文本文件中是“%(text)s”，本题没有这个选项。",
                        label=label,
                        code=code,
                        text=seen.texts[0][0],
                    )
                )
            )
    if differs:  # one line for the question: the table beside it shows each code
        code = min(differs)
        warnings.append(
            str(
                _l(
                    "“%(label)s”：按选项文本文件中有 %(n)d 个序号（%(codes)s）与现在的读法不同，例如序号 %(code)d 是"
                    "“%(text)s”，现在读作“%(read)s”。请看序号对照表的“按选项文本文件”一列。",
                    label=label,
                    n=len(differs),
                    codes="、".join(str(c) for c in sorted(differs)),
                    code=code,
                    text=texts[evidence[code].option],
                    read=_code_reading(question, code, overrides, texts),
                )
            )
        )
    return warnings
