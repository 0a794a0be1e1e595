"""Checking every row of a mapped upload and storing them all, or nothing.

``check_import`` runs every row through the respondent's own form (``forms.response.answers_reader``, passed in by
the import page or the CLI: the same validators and skip logic as a phone) and reports every bad row and cell;
``run_import`` stores all rows in one transaction, or nothing at all.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import null, update
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from survey.collection.import_cells import (
    DEFAULT_CHANNEL,
    DEFAULT_TIMEZONE,
    SKIPPED,
    CellError,
    Converted,
    channel_code,
    convert_option_cell,
    convert_value,
    parse_duration,
    parse_submitted,
)
from survey.collection.import_mapping import (
    COLUMN_CHANNEL,
    Plan,
    Target,
    TextCodes,
    all_targets,
    code_tables,
    given_time,
    rows_without_time,
    source_number,
    source_rows,
)
from survey.collection.import_reading import Table, clean_cell
from survey.models import Channel, Questionnaire, Response, ReviewEvent
from survey.platform.extensions import db
from survey.questionnaires.definition import normalize_definition, numbered_questions
from survey.questionnaires.qtypes import OTHER_SUFFIX, get_type, other_key
from survey.responses.capture import Arrival, response_row
from survey.responses.coding import Coder
from survey.responses.quality import quality_flags

VALID_MARKS = frozenset({"", "有效", "valid"})
EXCLUDED_MARKS = frozenset({"已排除", "排除", "无效", "excluded"})
OTHER_WITHOUT_TEXT = "other_without_text"  # the quality flag of an imported 其他 that has no text
MISSING_OTHER_STAND_IN = "\u2063"  # passes the form's "other needs text" check; never stored


# --- checking and importing --------------------------------------------------------------------------


@dataclass
class RowProblem:
    """One bad cell or row: file row number, column (index and header, ``None`` if not in the file), message."""

    row: int
    column: int | None
    header: str
    message: str


@dataclass
class Report:
    """The outcome of a check or an import."""

    total: int = 0
    general: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the import will do that the evaluator should know
    problems: list[RowProblem] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)
    imported: int = 0

    @property
    def ok(self) -> bool:
        return not self.general and not self.problems

    @property
    def bad_rows(self) -> int:
        return len({p.row for p in self.problems})


def submission_id(questionnaire_id: int, sha256: str, row_index: int) -> str:
    """The same row of the same file for the same questionnaire always gets the same id."""
    return hashlib.sha256(f"import:{questionnaire_id}:{sha256}:{row_index}".encode()).hexdigest()


# Reads one row's submitted values as the respondent's form would: (errors by field, answers). The import page
# and the CLI pass ``forms.response.answers_reader``: the checks are the form's, and this module imports no form.
AnswersReader = Callable[[MultiDict], tuple[dict[str, list[str]], dict[str, Any]]]
ReaderFactory = Callable[[dict], AnswersReader]


class _Checker:
    """Validates rows against one questionnaire version with one plan."""

    def __init__(self, questionnaire: Questionnaire, table: Table, plan: Plan, timezone: str, reader: ReaderFactory):
        self.questionnaire, self.table, self.plan, self.timezone = questionnaire, table, plan, timezone
        self.definition = normalize_definition(questionnaire.current_version.definition)
        self.read_answers = reader(self.definition)
        self.targets = all_targets(self.definition)
        self.columns: list[tuple[int, Target]] = []
        self.meta: dict[str, int] = {}
        self.field_columns: dict[str, int] = {}
        self.labels = {t.field: t.label for t in self.targets.values() if t.kind == "ans"}
        self.other_options = {
            q["key"]: {o["key"] for o in q.get("options", []) if o.get("other")}
            for q in numbered_questions(self.definition)
            if get_type(q["type"]).allow_other and any(o.get("other") for o in q.get("options", []))
        }
        self.option_columns: dict[str, list[int]] = {}  # question key -> its one-column-per-option columns

    def mapping_problems(self) -> list[str]:
        problems, seen = [], {}
        for index, value in enumerate(self.plan.mapping):
            target = self.targets.get(value)
            if target is None:
                problems.append(str(_l("第 %(n)d 列的对应项无效，请重新选择。", n=index + 1)))
                continue
            if target.kind == "ignore":
                continue
            if value in seen:
                problems.append(
                    str(
                        _l(
                            "第 %(a)d 列和第 %(b)d 列都对应到“%(label)s”，请只保留一列。",
                            a=seen[value] + 1,
                            b=index + 1,
                            label=target.label,
                        )
                    )
                )
                continue
            seen[value] = index
            if target.kind == "meta":
                self.meta[value] = index
            else:
                self.columns.append((index, target))
                self.field_columns.setdefault(target.field, index)
                if target.kind == "opt":
                    self.option_columns.setdefault(target.field, []).append(index)
        if not self.columns:
            problems.append(str(_l("没有任何一列对应到问卷的题目。")))
        return problems

    def check_row(self, position: int, row: list[str]) -> tuple[list[RowProblem], dict | None]:
        number = self.table.row_numbers[position]
        formdata, problems, failed = self._formdata(number, row)
        missing = self._missing_other_text(formdata)
        record = self._metadata(number, row, problems)
        record["source_row"] = self._source_row(position, row, problems)
        errors, answers = self.read_answers(formdata)
        for name, messages in errors.items():
            if name not in failed:
                problems.extend(self._problem(number, name, m) for m in messages)
        for key in missing:
            answers.pop(other_key(key), None)
        if not problems and not answers:
            problems.append(RowProblem(number, None, "", str(_l("这一行没有任何回答。"))))
        if problems:
            return problems, None
        record["answers"] = answers
        record["missing_other"] = [key for key in missing if key in answers]
        return [], record

    def _missing_other_text(self, formdata: MultiDict) -> list[str]:
        """Questions whose 其他 was chosen with no text (问卷星's 按选项序号 download never has it).

        The respondent's form refuses that; an import cannot ask the respondent, so the form is given a
        stand-in text to pass, which is removed again: the answer is stored as 其他 without text and flagged.
        """
        missing = []
        for key, option_keys in self.other_options.items():
            chosen = set(formdata.getlist(key)) & option_keys
            if chosen and not str(formdata.get(other_key(key)) or "").strip():
                formdata[other_key(key)] = MISSING_OTHER_STAND_IN
                missing.append(key)
        return missing

    def _formdata(self, number: int, row: list[str]) -> tuple[MultiDict, list[RowProblem], set[str]]:
        singles: dict[str, str] = {}
        picks: dict[str, list[str]] = {}
        others: dict[str, str] = {}
        problems, failed = [], set()
        for index, target in self.columns:
            question = target.question
            try:
                converted = self._convert(target, row[index])
            except CellError as error:
                problems.append(RowProblem(number, index, self.table.headers[index], str(error.message)))
                failed.update({target.field, question["key"], other_key(question["key"])})
                continue
            if isinstance(converted.value, list):
                picks.setdefault(question["key"], [])
                picks[question["key"]] += [k for k in converted.value if k not in picks[question["key"]]]
            elif converted.value is not None:
                singles[target.field] = converted.value
            if converted.other:
                others[other_key(question["key"])] = converted.other
        formdata = MultiDict(list(singles.items()) + list(others.items()))
        for key, chosen in picks.items():
            for option_key in chosen:
                formdata.add(key, option_key)
        return formdata, problems, failed

    def _convert(self, target: Target, cell: str) -> Converted:
        question = target.question
        if target.kind == "opt":
            return convert_option_cell(question, target.option, cell)
        if target.kind == "other":
            raw = str(cell or "").strip()
            return Converted(None, None if clean_cell(raw) in ("", *SKIPPED) else raw)
        return convert_value(question, cell, self.plan.overrides.get(question["key"]))

    def _metadata(self, number: int, row: list[str], problems: list[RowProblem]) -> dict:
        record: dict[str, Any] = {"submitted_at": None, "duration_seconds": None, "status": "valid"}
        readers = {
            "meta:submitted_at": (
                "submitted_at",
                lambda c: parse_submitted(c, self.timezone),
                _l("无法识别的时间“%(value)s”，请写成 2019-05-01 12:30:00。"),
            ),
            "meta:duration_seconds": (
                "duration_seconds",
                parse_duration,
                _l("无法识别的用时“%(value)s”，请写成秒数或“2分3秒”。"),
            ),
            "meta:status": ("status", _status, _l("状态“%(value)s”只能是“有效”或“已排除”。")),
        }
        for target, (name, reader, message) in readers.items():
            if target in self.meta:
                cell = row[self.meta[target]]
                try:
                    value = reader(cell)
                except ValueError:
                    index = self.meta[target]
                    problems.append(RowProblem(number, index, self.table.headers[index], message % {"value": cell}))
                    continue
                if value is not None:
                    record[name] = value
        reason = row[self.meta["meta:exclusion_reason"]].strip() if "meta:exclusion_reason" in self.meta else ""
        record["exclusion_reason"] = (reason or str(_l("导入前已排除"))) if record["status"] == "excluded" else None
        record["channel"] = self._channel(row)
        unit = row[self.meta["meta:unit_name"]].strip() if "meta:unit_name" in self.meta else ""
        record["unit_name"] = unit[:200] or None
        return record

    def _source_row(self, position: int, row: list[str], problems: list[RowProblem]) -> int | None:
        """问卷星's 序号 when a column is mapped to it, else (or where it is empty) the row's place in the file."""
        index = self.meta.get("meta:source_row")
        cell = clean_cell(row[index]) if index is not None else ""
        if not cell:
            return self.table.data_row(position)
        number = source_number(cell)
        if number is None:
            message = _l("序号“%(value)s”应为正整数。", value=cell)
            problems.append(RowProblem(self.table.row_numbers[position], index, self.table.headers[index], message))
        return number

    def _channel(self, row: list[str]) -> str:
        if self.plan.channel != COLUMN_CHANNEL:
            return self.plan.channel
        if "meta:channel" in self.meta:
            return channel_code(row[self.meta["meta:channel"]])
        return DEFAULT_CHANNEL

    def _problem(self, number: int, name: str | None, message: str) -> RowProblem:
        name = name or ""
        index = self.field_columns.get(name)
        if index is None and name.endswith(OTHER_SUFFIX):
            index = self.field_columns.get(name[: -len(OTHER_SUFFIX)])
        columns = self.option_columns.get(name[: -len(OTHER_SUFFIX)] if name.endswith(OTHER_SUFFIX) else name, [])
        if len(columns) > 1:  # one column per option: the problem is the question's, not its first option's
            headers = "、".join(self.table.headers[i] for i in columns)
            label = self.labels.get(name, name)
            return RowProblem(
                number, None, str(_l("%(label)s（列：%(headers)s）", label=label, headers=headers)), message
            )
        if index is not None:
            return RowProblem(number, index, self.table.headers[index], message)
        label = self.labels.get(name, name)
        return RowProblem(number, None, str(_l("（文件中没有这一题）%(label)s", label=label)), message)


def _repeated_source_rows(table: Table, plan: Plan) -> list[str]:
    """A note when one 序号 is on several rows: the response browser would find several for it."""
    if "meta:source_row" not in plan.mapping:
        return []
    repeated = sorted(n for n, k in Counter(source_rows(table, plan)).items() if n is not None and k > 1)
    if not repeated:
        return []
    shown = "、".join(str(n) for n in repeated[:10]) + ("…" if len(repeated) > 10 else "")
    return [str(_l("序号 %(numbers)s 在文件中不止出现一次，按序号查找这些答卷时会找到几份。", numbers=shown))]


def _status(cell: str) -> str:
    text = clean_cell(cell).lower()
    if text in VALID_MARKS:
        return "valid"
    if text in EXCLUDED_MARKS:
        return "excluded"
    raise ValueError(cell)


def _too_fast(questionnaire: Questionnaire, duration: int | None) -> list[str]:
    """The flag respondents get for answering faster than ``min_seconds``."""
    limit = questionnaire.min_seconds
    return ["too_fast"] if limit and duration is not None and duration < limit else []


def _already_imported(ids: list[str]) -> int:
    found = 0
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        query = db.select(db.func.count(Response.id)).where(Response.submission_id.in_(chunk))
        found += db.session.execute(query).scalar() or 0
    return found


def check_import(
    questionnaire: Questionnaire,
    table: Table,
    plan: Plan,
    timezone: str = DEFAULT_TIMEZONE,
    text: TextCodes | None = None,
    *,
    reader: ReaderFactory,
) -> Report:
    """A dry run: every row through the respondent's form; the report lists every bad row and cell.

    ``text``: what the same questionnaire's 按选项文本 download says each option number is; a code read
    otherwise, or one the text file cannot settle, is warned about with the code tables.
    """
    report = Report(total=len(table.rows))
    if questionnaire.current_version is None:
        report.general.append(str(_l("问卷尚未发布，发布后才能导入答卷。")))
        return report
    if not table.rows:
        report.general.append(str(_l("文件中只有标题行，没有答卷。")))
        return report
    checker = _Checker(questionnaire, table, plan, timezone, reader)
    missing_other: Counter = Counter()
    report.general.extend(checker.mapping_problems())
    if report.general:
        return report
    for position, row in enumerate(table.rows):
        problems, record = checker.check_row(position, row)
        report.problems.extend(problems)
        if record is not None:
            record["submission_id"] = submission_id(questionnaire.id, table.sha256, position)
            record["flags"] = quality_flags(checker.definition, record["answers"])
            record["flags"] += _too_fast(questionnaire, record["duration_seconds"])
            missing = record.pop("missing_other")
            if missing:
                record["flags"].append(OTHER_WITHOUT_TEXT)
                missing_other.update(missing)
            report.records.append(record)
    report.notes.extend(_missing_other_notes(checker, missing_other))
    report.notes.extend(_repeated_source_rows(table, plan))
    tables = code_tables(table, plan, checker.definition, text)
    report.notes.extend(warning for t in tables for warning in t.warnings)
    if tables and plan.codes_confirmed is False:
        report.general.append(str(_l("文件按选项序号记录答案：请核对每道题的序号对照表，勾选“序号对照无误”后再检查。")))
    _fill_missing_times(report, table, plan, timezone)
    ids = [submission_id(questionnaire.id, table.sha256, i) for i in range(len(table.rows))]
    existing = _already_imported(ids)
    if existing:
        report.general.append(str(_duplicate_message(existing)))
    return report


def _fill_missing_times(report: Report, table: Table, plan: Plan, timezone: str) -> None:
    """Rows without a time take the evaluator's date, or stay unknown: never the import's own time."""
    missing = rows_without_time(table, plan)
    if not missing:
        return
    try:
        given = given_time(plan, timezone)
    except (ValueError, OverflowError):
        report.general.append(str(_l("无法识别的日期“%(value)s”，请写成 2018-06-01。", value=plan.missing_time)))
        return
    for record in report.records:
        if record["submitted_at"] is None:
            record["submitted_at"] = given
    if given is None:
        report.notes.append(str(_l("%(n)d 行没有提交时间，将记为“时间不详”（不会用导入的时间代替）。", n=missing)))
    else:
        report.notes.append(str(_l("%(n)d 行没有提交时间，将记为 %(date)s。", n=missing, date=plan.missing_time)))


def _missing_other_notes(checker: _Checker, missing: Counter) -> list[str]:
    """Per question: how many rows chose 其他 without its text, naming the column that holds the 其他 mark."""
    notes = []
    for key, count in missing.items():
        question = next(q for q in numbered_questions(checker.definition) if q["key"] == key)
        other = next(o for o in question["options"] if o.get("other"))
        column = next(
            (
                checker.table.headers[i]
                for i, t in checker.columns
                if t.question["key"] == key
                and (t.kind == "ans" or (t.kind == "opt" and t.option["key"] == other["key"]))
            ),
            "",
        )
        notes.append(
            str(
                _l(
                    "“%(label)s”：%(n)d 行选了“%(option)s”（列“%(column)s”），但文件中没有填写的内容"
                    "（问卷星“按选项序号”下载不含这些文字）。这些答卷照常导入，“%(option)s”的内容记为未填写，"
                    "并标记为“选了其他但无内容”，可在答卷审核中查看。",
                    label=f"{question['number']}. {question['text']}",
                    n=count,
                    option=other["text"],
                    column=column,
                )
            )
        )
    return notes


def _duplicate_message(n: int):
    return _l("这个文件已经导入过这份问卷（其中 %(n)d 行已存在）。为避免重复，本次没有导入任何答卷。", n=n)


def run_import(
    questionnaire: Questionnaire,
    table: Table,
    plan: Plan,
    user_id: int | None = None,
    timezone: str = DEFAULT_TIMEZONE,
    text: TextCodes | None = None,
    *,
    reader: ReaderFactory,
) -> Report:
    """Check, then store every row in one transaction; any problem stores nothing."""
    report = check_import(questionnaire, table, plan, timezone, text, reader=reader)
    if not report.ok:
        return report
    coder = Coder.of(questionnaire.current_version.definition)  # once, not per row
    arrival = Arrival(questionnaire)
    responses = [
        Response(
            **{
                # the row every way in writes (survey.responses.capture.response_row), then what the file said
                **response_row(arrival, r["answers"], r["submission_id"], "import", r["flags"], coder, None),
                **r,
                # NULL said outright: a plain None would let the column's default put the import's own time in.
                "submitted_at": null() if r["submitted_at"] is None else r["submitted_at"],
            }
        )
        for r in report.records
    ]
    try:
        db.session.add_all(responses)
        _count(questionnaire, responses)
        db.session.flush()
        db.session.add_all(
            ReviewEvent(response_id=r.id, user_id=user_id, action="exclude", reason=r.exclusion_reason)
            for r in responses
            if r.status == "excluded"
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        report.general.append(str(_duplicate_message(len(responses))))
        return report
    except Exception:
        db.session.rollback()
        raise
    report.imported = len(responses)
    return report


def _count(questionnaire: Questionnaire, responses: list[Response]) -> None:
    """Add the imported responses to the questionnaire's counter (and a chosen channel's), atomically."""
    db.session.execute(
        update(Questionnaire)
        .where(Questionnaire.id == questionnaire.id)
        .values(accepted_count=Questionnaire.accepted_count + len(responses))
    )
    per_channel = Counter(r.channel for r in responses)
    for channel in questionnaire.channels:
        if per_channel.get(channel.code):
            db.session.execute(
                update(Channel)
                .where(Channel.id == channel.id)
                .values(accepted_count=Channel.accepted_count + per_channel[channel.code])
            )
