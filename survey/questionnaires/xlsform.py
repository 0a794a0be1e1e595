"""Import the common XLSForm subset (what KoboToolbox and ODK users have) as a questionnaire definition.

An XLSForm is an .xlsx workbook with a ``survey`` sheet (one row per question or group), a ``choices``
sheet (the option lists) and an optional ``settings`` sheet. ``definition_from_xlsform`` turns it into
the ``survey-questionnaire/1`` format (docs/questionnaire-format.md). Like every import it is all or
nothing: it collects every problem, each named by sheet and spreadsheet row (``survey!7``) so the
author can fix the workbook they know, and raises ``DefinitionError`` with all of them.

What is imported: ``select_one`` / ``select_multiple`` (optionally ``or_other``), ``text``, ``integer``,
``decimal``, ``date``, groups (as sections) and ``relevant`` expressions of the usual shapes
(``${x} = 'v'``, ``${x} != 'v'``, ``selected(${x}, 'v')``, ``not(selected(…))``, joined by ``and`` /
``or`` with optional parentheses). Notes and metadata rows carry no answer and are skipped;
``constraint``, ``calculation`` and appearance details other than ``multiline`` are ignored.

Languages: the Chinese column of a field (``label::Chinese (zh)``) gives the text; an English column
(``label::English (en)``) gives its English twin (``text_en``, ``help_en``, option ``text_en``, section
and form ``title_en``; ``survey.questionnaires.localize``), kept only when it differs from the text itself.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l

from analysis.lazy import lazy_module
from survey.platform import xlsx_guard
from survey.platform.xlsx_guard import XlsxRefused, check_xlsx
from survey.questionnaires.definition import DefinitionError, Problem, validate_definition
from survey.questionnaires.qtypes import QUESTION_TYPES, get_type

openpyxl = lazy_module("openpyxl")

FORMAT = "survey-questionnaire/1"
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
OPTION_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
KEY_LENGTH = 32
# An XLSForm is a few hundred rows (a long choice list a few thousand): bounded well below a response
# export, so that a small crafted upload cannot hold a worker (survey.platform.xlsx_guard counts before openpyxl).
XLSX_MAX_UNPACKED = 20 * 1024 * 1024
XLSX_MAX_STRINGS = 100_000
XLSX_MAX_MARKUP = 2_000_000
MAX_SHEET_ROWS = 20_000  # rows read per sheet, empty ones included
MAX_SHEET_COLUMNS = 200  # a row is read this wide; cells further right are not read

# Rows that record something about the interview rather than ask a question.
SKIPPED_TYPES = frozenset(
    {
        "note",
        "start",
        "end",
        "today",
        "deviceid",
        "subscriberid",
        "simserial",
        "phonenumber",
        "username",
        "email",
        "audit",
        "calculate",
        "hidden",
        "start-geopoint",
        "imei",
        "background-audio",
        "xml-external",
        "csv-external",
        "end_repeat",
    }
)
# XLSForm type words as the registry reads them (``QuestionType.xlsform``): plain ones, and the select_* ones
# that name a choice list.
SIMPLE_TYPES: dict[str, dict[str, Any]] = {
    word: {"type": entry.name, **extra}
    for entry in QUESTION_TYPES.values()
    if not entry.has_options
    for word, extra in entry.xlsform.items()
}
SELECT_TYPES = {word: entry.name for entry in QUESTION_TYPES.values() if entry.has_options for word in entry.xlsform}
SELECT_PATTERN = re.compile(r"^(select_one|select_multiple)\s+(\S+)(\s+or_other)?$")
TRUE_VALUES = frozenset({"yes", "true", "1", "true()", "y", "是"})
CHINESE_LANGUAGE = re.compile(r"(^|[^a-z])zh([^a-z]|$)|chinese|中文|汉语|漢語|简体|繁體|普通话")
ENGLISH_LANGUAGE = re.compile(r"(^|[^a-z])en([^a-z]|$)|english|英文|英语")
ENGLISH = "::en"  # a field's English columns are filed under "<field>::en" ("label::en")
OTHER_OPTION = {"key": "other", "text": "其他", "other": True}


def definition_from_xlsform(data: bytes, title: str = "导入的问卷") -> dict:
    """The questionnaire definition an XLSForm workbook describes; ``DefinitionError`` lists every problem.

    ``title`` is used when the ``settings`` sheet gives no ``form_title``. The result is checked with
    ``validate_definition``, so a definition returned here can be saved as it is.
    """
    sheets = _read_workbook(data)
    survey = sheets.get("survey")
    if survey is None:
        raise DefinitionError([Problem("survey", _l("文件中没有名为“survey”的工作表。"))])
    importer = _Importer(survey, _choice_lists(sheets.get("choices")))
    sections = importer.run()
    if importer.problems:
        raise DefinitionError(importer.problems)
    result = {"format": FORMAT, "title": _form_title(sheets.get("settings")) or title, "sections": sections}
    _add_english(result, "title", _form_title(sheets.get("settings"), ENGLISH))
    validate_definition(result)
    return result


# --- reading the workbook ---------------------------------------------------------------------------


@dataclass
class _Sheet:
    """One sheet's rows and where each field's columns are, best column first."""

    name: str
    header_row: int = 0
    columns: dict[str, list[int]] = field(default_factory=dict)
    rows: list[tuple[int, tuple]] = field(default_factory=list)

    def value(self, row: tuple, name: str) -> str:
        """The field's text in this row: the first non-empty of its columns (e.g. Chinese label first)."""
        for index in self.columns.get(name, ()):
            if index < len(row):
                text = _cell_text(row[index])
                if text:
                    return text
        return ""


def _read_workbook(data: bytes) -> dict[str, _Sheet]:
    """The XLSForm sheets by lower-cased name; a file openpyxl cannot read is one problem, not a crash.

    The archive is looked at first (``survey.platform.xlsx_guard``): one that would unpack too big, or whose
    strings or markup would cost openpyxl too much, is refused before openpyxl unpacks it.
    """
    try:
        check_xlsx(
            data,
            min(XLSX_MAX_UNPACKED, xlsx_guard.MAX_UNPACKED),
            max_strings=XLSX_MAX_STRINGS,
            max_markup=XLSX_MAX_MARKUP,
        )
    except XlsxRefused as refused:
        if refused.reason == "too_big":
            raise DefinitionError([Problem("$", _refusal(refused))]) from refused
        # anything else damaged is named by openpyxl's failure below, as before
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            return {
                sheet.title.strip().lower(): _read_sheet(sheet.title.strip().lower(), sheet)
                for sheet in workbook.worksheets
                if sheet.title.strip().lower() in ("survey", "choices", "settings")
            }
        finally:
            workbook.close()
    except SheetTooLarge as refused:
        raise DefinitionError([Problem("$", refused.message)]) from None
    except Exception as error:  # any unreadable upload is the file's fault, reported as such
        raise DefinitionError([Problem("$", _l("无法读取这个文件：它不是有效的 .xlsx 工作簿。"))]) from error


def _refusal(refused: XlsxRefused):
    """Which bound of ``survey.platform.xlsx_guard`` the upload passed, in words (the indicator import's words)."""
    if refused.what == "strings":
        return _l("这个 XLSX 文件含有超过 %(n)d 个不同的文字（共享字符串），无法导入。", n=refused.limit)
    if refused.what == "markup":
        return _l(
            "这个 XLSX 文件的“%(part)s”部分超过 %(n)d 个 XML 标记，无法导入。请删去多余的内容。",
            part=refused.part,
            n=refused.limit,
        )
    limit = max(1, (refused.limit or xlsx_guard.MAX_UNPACKED) // (1024 * 1024))
    return _l("这个 XLSX 文件解压后超过 %(n)d MB，无法导入。请删去多余的工作表或分成几个文件。", n=limit)


class SheetTooLarge(Exception):
    """A sheet past ``MAX_SHEET_ROWS``, with the words for it."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def _read_sheet(name: str, worksheet) -> _Sheet:
    """Header (the first non-empty row) and the non-empty rows after it, with 1-based row numbers.

    At most ``MAX_SHEET_ROWS`` rows (empty ones count: a sheet may jump to row 1,048,576) are read, and
    only the first ``MAX_SHEET_COLUMNS`` columns of each (no XLSForm has more): openpyxl pads every row to
    its last cell, so one empty cell in column XFD would make each row 16,384 wide.
    """
    worksheet.reset_dimensions()  # some writers store a wrong size; read what is really there
    sheet = _Sheet(name)
    rows = worksheet.iter_rows(max_col=MAX_SHEET_COLUMNS, values_only=True)
    for number, row in enumerate(rows, start=1):
        if number > MAX_SHEET_ROWS:
            raise SheetTooLarge(_l("工作表“%(sheet)s”超过 %(n)d 行，无法导入。", sheet=name, n=MAX_SHEET_ROWS))
        if not any(_cell_text(cell) for cell in row):
            continue
        if not sheet.header_row:
            sheet.header_row, sheet.columns = number, _columns(row)
        else:
            sheet.rows.append((number, tuple(row)))
    return sheet


def _columns(header: tuple) -> dict[str, list[int]]:
    """Column indexes per field, case-insensitive; ``label::中文`` comes before ``label`` before others.

    Kobo writes one column per language (``label::Chinese (zh)``, ``label::English (en)``); respondents
    here read Chinese first, so a field's text is its Chinese column's. English columns are also filed
    under ``<field>::en`` for the English twins.
    """
    ranked: dict[str, list[tuple[int, int]]] = {}
    for index, cell in enumerate(header):
        base, _, language = _cell_text(cell).partition("::")
        base = "_".join(base.lower().split())
        if not base:
            continue
        language = language.strip().lower()
        rank = 1 if not language else 0 if CHINESE_LANGUAGE.search(language) else 2
        ranked.setdefault(base, []).append((rank, index))
        if rank == 2 and ENGLISH_LANGUAGE.search(language):
            ranked.setdefault(base + ENGLISH, []).append((0, index))
    return {base: [index for _, index in sorted(found)] for base, found in ranked.items()}


def _cell_text(value: Any) -> str:
    """A cell as the text the author sees: 1.0 stored by Excel for 1 reads "1", TRUE reads "true"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _form_title(settings: _Sheet | None, language: str = "") -> str:
    """``form_title`` (``language=ENGLISH``: its English column) from the first row of ``settings``."""
    if settings is None or not settings.rows:
        return ""
    return settings.value(settings.rows[0][1], "form_title" + language)


def _add_english(target: dict, name: str, english: str) -> None:
    """Set ``<name>_en`` when the English text says something the text itself does not already."""
    if english and english != target.get(name):
        target[name + "_en"] = english


@dataclass
class _Choice:
    row: int
    name: str
    label: str
    label_en: str = ""


def _choice_lists(sheet: _Sheet | None) -> dict[str, list[_Choice]]:
    """The ``choices`` sheet grouped by list name (``list_name`` or ``list name``), in sheet order."""
    lists: dict[str, list[_Choice]] = {}
    if sheet is None:
        return lists
    for number, row in sheet.rows:
        list_name = sheet.value(row, "list_name")
        if list_name:
            label, label_en = sheet.value(row, "label"), sheet.value(row, "label" + ENGLISH)
            choice = _Choice(number, sheet.value(row, "name"), label, label_en)
            lists.setdefault(list_name, []).append(choice)
    return lists


# --- keys ---------------------------------------------------------------------------------------------


def _sanitised_key(name: str, prefix: str) -> str:
    """A valid key for an XLSForm name, deterministically: lower-case, ``_`` for other characters,
    ``prefix`` when it does not start with a letter, at most 32 characters."""
    key = re.sub(r"[^a-z0-9_]", "_", name.strip().lower())
    if not key[:1].isalpha():
        key = prefix + key
    return key[:KEY_LENGTH]


def _unique_key(key: str, taken: set[str]) -> str:
    """``key``, or ``key_2``, ``key_3`` … when names collide after sanitising (``Age`` and ``age``)."""
    candidate, n = key, 2
    while candidate in taken:
        suffix = f"_{n}"
        candidate = key[: KEY_LENGTH - len(suffix)] + suffix
        n += 1
    taken.add(candidate)
    return candidate


def _normalised_type(raw: str) -> str:
    """``begin group`` and ``begin_group`` read alike; list names keep their case, as XLSForm's do."""
    words = raw.split()
    if not words:
        return ""
    head = words[0].lower()
    if head.startswith("select_") and len(words) > 1:
        return " ".join([head, words[1], *(w.lower() for w in words[2:])])
    return "_".join([head, *(w.lower() for w in words[1:])])


def _is_true(text: str) -> bool:
    """XLSForm's ``required``: yes / true / 1 / true() in any case."""
    return text.strip().lower() in TRUE_VALUES


# --- the survey sheet ----------------------------------------------------------------------------------


class _Importer:
    """Walks the survey rows once, building sections and collecting every problem with its row."""

    def __init__(self, survey: _Sheet, choices: dict[str, list[_Choice]]):
        self.survey = survey
        self.choices = choices
        self.problems: list[Problem] = []
        self.sections: list[dict] = []
        self.current: dict | None = None  # the section questions go into; None outside a group
        self.depth = 0  # group nesting
        self.group_row = 0
        self.section_keys: set[str] = set()
        self.question_keys: set[str] = set()
        self.first_rows: dict[str, int] = {}  # every name in the sheet -> its first row
        self.emitted: dict[str, dict] = {}  # XLSForm name -> imported question
        self.broken: set[str] = set()  # names of rows already reported, not to be reported again
        self.options: dict[str, list[dict] | None] = {}  # list name -> options (None: reported)

    def problem(self, row: int, message: Any, sheet: str = "survey") -> None:
        self.problems.append(Problem(f"{sheet}!{row}", message))

    def run(self) -> list[dict]:
        """Sections in order of appearance, without empty ones (a group holding only notes)."""
        if not self._has_columns():
            return []
        for number, row in self.survey.rows:
            name = self.survey.value(row, "name")
            if name and not _normalised_type(self.survey.value(row, "type")).startswith("end_"):
                self.first_rows.setdefault(name, number)
        for number, row in self.survey.rows:
            self._row(number, row)
        if self.depth:
            self.problem(self.group_row, _l("分组没有结束：缺少对应的 end group。"))
        sections = [s for s in self.sections if s["questions"]]
        if not sections and not self.problems:
            self.problems.append(Problem("survey", _l("问卷里没有可以导入的题目。")))
        return sections

    def _has_columns(self) -> bool:
        """The survey sheet needs ``type``, ``name`` and a label column; say which are missing."""
        missing = [c for c in ("type", "name", "label") if c not in self.survey.columns]
        if missing:
            where = f"survey!{self.survey.header_row or 1}"
            message = _l("survey 工作表缺少这些列：%(columns)s。", columns="、".join(missing))
            self.problems.append(Problem(where, message))
        return not missing

    def _row(self, number: int, row: tuple) -> None:
        kind = _normalised_type(self.survey.value(row, "type"))
        if not kind:
            if self.survey.value(row, "name") or self.survey.value(row, "label"):
                self.problem(number, _l("这一行没有填写题型（type）。"))
        elif kind == "begin_group":
            self._begin_group(number, row)
        elif kind == "end_group":
            self._end_group(number)
        elif kind not in SKIPPED_TYPES:
            self._question(number, row, kind)

    # groups

    def _begin_group(self, number: int, row: tuple) -> None:
        """A top-level group becomes a section; its ``relevant`` becomes the section's ``show_if``."""
        self.depth += 1
        if self.depth > 1:
            self.problem(number, _l("暂不支持嵌套的分组（group 里面的 group）。"))
            return
        self.group_row = number
        name, label = self.survey.value(row, "name"), self.survey.value(row, "label")
        wanted = _sanitised_key(name, "s") if name else f"s{len(self.sections) + 1}"
        key = _unique_key(wanted, self.section_keys)
        section: dict[str, Any] = {"key": key}
        if label:
            section["title"] = label
            _add_english(section, "title", self.survey.value(row, "label" + ENGLISH))
        relevant = self.survey.value(row, "relevant")
        if relevant:
            condition = self._condition(number, relevant)
            if condition:
                section["show_if"] = condition
        section["questions"] = []
        self.sections.append(section)
        self.current = section

    def _end_group(self, number: int) -> None:
        if not self.depth:
            self.problem(number, _l("多余的 end group：前面没有对应的 begin group。"))
            return
        self.depth -= 1
        if not self.depth:
            self.current = None

    def _section(self) -> dict:
        """The section for the next question: the open group's, or a new default one (``s1``, ``s2`` …)
        for each run of questions outside groups, so questions stay in the order of the sheet."""
        if self.current is None:
            n = 1
            while f"s{n}" in self.section_keys:
                n += 1
            self.current = {"key": _unique_key(f"s{n}", self.section_keys), "questions": []}
            self.sections.append(self.current)
        return self.current

    # questions

    def _question(self, number: int, row: tuple, kind: str) -> None:
        """One question row, filed under its XLSForm name so later ``relevant`` expressions can use it.

        A row with a problem is remembered as broken: conditions on it are not reported a second time.
        """
        name, label = self.survey.value(row, "name"), self.survey.value(row, "label")
        spec = self._type_fields(number, kind, self.survey.value(row, "type"))
        if not name:
            self.problem(number, _l("题目缺少名称（name）。"))
        elif self.first_rows.get(name, number) != number:
            row_used = self.first_rows[name]
            self.problem(number, _l("名称“%(name)s”重复了，第 %(row)d 行已经用过。", name=name, row=row_used))
            return
        if not label:
            self.problem(number, _l("题目缺少文字（label）。"))
        relevant = self.survey.value(row, "relevant")
        condition = self._condition(number, relevant) if relevant else None
        if spec is None or not name or not label or (relevant and condition is None):
            self.broken.add(name)
            return
        multiline = get_type(spec["type"]).multiline
        if multiline and "multiline" in self.survey.value(row, "appearance").lower():
            spec["type"] = multiline
        key = _unique_key(_sanitised_key(name, "q"), self.question_keys)
        question = {"key": key, "type": spec.pop("type")}
        question.update(text=label, **spec, required=_is_true(self.survey.value(row, "required")))
        _add_english(question, "text", self.survey.value(row, "label" + ENGLISH))
        hint = self.survey.value(row, "hint")
        if hint:
            question["help"] = hint
            _add_english(question, "help", self.survey.value(row, "hint" + ENGLISH))
        if condition:
            question["show_if"] = condition
        self._section()["questions"].append(question)
        self.emitted[name] = question

    def _type_fields(self, number: int, kind: str, raw: str) -> dict[str, Any] | None:
        """``type`` and its extra fields (``options``, ``integer``); None after reporting a problem."""
        if kind in SIMPLE_TYPES:
            return dict(SIMPLE_TYPES[kind])
        match = SELECT_PATTERN.match(kind)
        if match:
            options = self._options(number, match[2])
            if options is None:
                return None
            if match[3] and not any(o["key"] == OTHER_OPTION["key"] for o in options):
                options = [*options, dict(OTHER_OPTION)]
            return {"type": SELECT_TYPES[match[1]], "options": options}
        if kind in SELECT_TYPES:
            self.problem(number, _l("选择题“%(type)s”后面缺少选项列表的名称。", type=raw))
        else:
            self.problem(number, _l("不支持的题型“%(type)s”。", type=raw))
        return None

    def _options(self, number: int, list_name: str) -> list[dict] | None:
        """A choice list as options, checked once (its problems name the ``choices`` rows)."""
        if list_name not in self.choices:
            self.problem(number, _l("选项列表“%(name)s”不存在。", name=list_name))
            return None
        if list_name not in self.options:
            self.options[list_name] = self._check_options(number, list_name, self.choices[list_name])
        options = self.options[list_name]
        return [dict(o) for o in options] if options is not None else None

    def _check_options(self, number: int, list_name: str, choices: list[_Choice]) -> list[dict] | None:
        before = len(self.problems)
        options: list[dict] = []
        for choice in choices:
            if not OPTION_KEY_PATTERN.match(choice.name):
                message = _l(
                    "选项名称“%(name)s”不合要求：须为 1–16 个英文字母、数字、下划线或连字符。",
                    name=choice.name,
                )
                self.problem(choice.row, message, "choices")
            elif any(o["key"] == choice.name for o in options):
                message = _l("选项名称“%(name)s”在列表“%(list)s”中重复了。", name=choice.name, list=list_name)
                self.problem(choice.row, message, "choices")
            if not choice.label:
                self.problem(choice.row, _l("选项缺少文字（label）。"), "choices")
            option = {"key": choice.name, "text": choice.label}
            _add_english(option, "text", choice.label_en)
            options.append(option)
        if len(options) < 2:
            self.problem(number, _l("选项列表“%(name)s”至少要有两个选项。", name=list_name))
        return options if len(self.problems) == before else None

    # conditions

    def _condition(self, number: int, expression: str) -> dict | None:
        """``relevant`` as ``show_if``; None after reporting why it cannot be imported."""
        found: list[Problem] = []

        def resolve(name: str, operator: str, value: str) -> dict:
            return self._comparison(number, name, operator, value, found)

        try:
            condition = _ConditionParser(_tokens(expression), resolve).parse()
        except _Unrecognised:
            self.problem(number, _l("无法识别的显示条件：“%(expression)s”。", expression=expression))
            return None
        self.problems.extend(found)
        return None if found else condition

    def _comparison(self, number: int, name: str, operator: str, value: str, found: list[Problem]) -> dict:
        """One ``${name} op 'value'`` as a condition; problems go to ``found`` (kept only if it parses)."""
        field_name = "none_of" if operator in ("!=", "not selected") else "any_of"
        where = f"survey!{number}"
        question = self.emitted.get(name)
        if question is None:
            if name not in self.broken:
                found.append(Problem(where, self._reference_message(number, name)))
            return {"question": name, field_name: [value]}
        if question["type"] not in SELECT_TYPES.values():
            found.append(Problem(where, _l("显示条件只能引用选择题，“%(name)s”不是选择题。", name=name)))
        elif operator in ("=", "!=") and not get_type(question["type"]).single:
            found.append(Problem(where, _l("多选题“%(name)s”的显示条件请用 selected(…) 表示。", name=name)))
        elif value not in {o["key"] for o in question["options"]}:
            message = _l("显示条件中的题目“%(name)s”没有名为“%(value)s”的选项。", name=name, value=value)
            found.append(Problem(where, message))
        return {"question": question["key"], field_name: [value]}

    def _reference_message(self, number: int, name: str) -> Any:
        """Why ``${name}`` cannot be used: unknown, not earlier, or not an imported question."""
        row = self.first_rows.get(name)
        if row is None:
            return _l("显示条件引用的题目“%(name)s”不存在。", name=name)
        if row >= number:
            return _l("显示条件只能引用前面的题目，“%(name)s”在第 %(row)d 行。", name=name, row=row)
        return _l("显示条件引用的“%(name)s”不是可以导入的题目。", name=name)


# --- relevant expressions -------------------------------------------------------------------------------


class _Unrecognised(Exception):
    """The expression is outside the supported subset."""


TOKEN_PATTERN = re.compile(
    r"""\s*(?:
        \$\{\s*(?P<ref>[^}\s]+)\s*\}
      | '(?P<single>[^']*)'
      | "(?P<double>[^"]*)"
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op>!=|=|\(|\)|,)
      | (?P<word>[A-Za-z_][A-Za-z0-9_-]*)
    )""",
    re.VERBOSE,
)


def _tokens(expression: str) -> list[tuple[str, str]]:
    """(kind, text) pairs: ``ref`` for ``${name}``, ``value`` for a literal, ``op``, ``word``."""
    tokens, position, text = [], 0, expression.strip()
    while position < len(text):
        match = TOKEN_PATTERN.match(text, position)
        if match is None:
            raise _Unrecognised
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind in ("single", "double", "number"):
            kind, value = "value", value.strip()
        elif kind == "word":
            value = value.lower()
        tokens.append((kind, value))
        position = match.end()
    return tokens


class _ConditionParser:
    """Recursive descent over ``or`` / ``and`` (``and`` binds tighter, as in XPath) and parentheses."""

    def __init__(self, tokens: list[tuple[str, str]], resolve: Callable[[str, str, str], dict]):
        self.tokens = tokens
        self.position = 0
        self.resolve = resolve

    def parse(self) -> dict:
        condition = self._any()
        if self.position != len(self.tokens):
            raise _Unrecognised
        return condition

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.position] if self.position < len(self.tokens) else ("end", "")

    def _accept(self, kind: str, text: str) -> bool:
        if self._peek() == (kind, text):
            self.position += 1
            return True
        return False

    def _expect(self, kind: str, text: str | None = None) -> str:
        found_kind, found_text = self._peek()
        if found_kind != kind or (text is not None and found_text != text):
            raise _Unrecognised
        self.position += 1
        return found_text

    def _any(self) -> dict:
        parts = [self._all()]
        while self._accept("word", "or"):
            parts.append(self._all())
        return _combined("any", parts)

    def _all(self) -> dict:
        parts = [self._atom()]
        while self._accept("word", "and"):
            parts.append(self._atom())
        return _combined("all", parts)

    def _atom(self) -> dict:
        if self._accept("op", "("):
            condition = self._any()
            self._expect("op", ")")
            return condition
        if self._accept("word", "selected"):
            return self._selected(negated=False)
        if self._accept("word", "not"):
            self._expect("op", "(")
            self._expect("word", "selected")
            condition = self._selected(negated=True)
            self._expect("op", ")")
            return condition
        return self._compare()

    def _selected(self, negated: bool) -> dict:
        """``selected(${x}, 'v')``, the form for multiple choice (and valid for single choice too)."""
        self._expect("op", "(")
        name = self._expect("ref")
        self._expect("op", ",")
        value = self._expect("value")
        self._expect("op", ")")
        return self.resolve(name, "not selected" if negated else "selected", value)

    def _compare(self) -> dict:
        """``${x} = 'v'`` or ``${x} != 'v'`` (either side first)."""
        if self._peek()[0] == "ref":
            name = self._expect("ref")
            operator = self._operator()
            value = self._expect("value")
        else:
            value = self._expect("value")
            operator = self._operator()
            name = self._expect("ref")
        return self.resolve(name, operator, value)

    def _operator(self) -> str:
        kind, text = self._peek()
        if kind != "op" or text not in ("=", "!="):
            raise _Unrecognised
        self.position += 1
        return text


def _combined(kind: str, parts: list[dict]) -> dict:
    """``{"any": […]}`` / ``{"all": […]}``, flattened, merging ``x = 'a' or x = 'b'`` into one ``any_of``
    (and ``x != 'a' and x != 'b'`` into one ``none_of``); a single part is returned as it is."""
    merge_field = "any_of" if kind == "any" else "none_of"
    flat = [inner for part in parts for inner in (part[kind] if kind in part else [part])]
    merged: list[dict] = []
    by_question: dict[str, dict] = {}
    for part in flat:
        if set(part) != {"question", merge_field}:
            merged.append(part)
        elif part["question"] in by_question:
            values = by_question[part["question"]][merge_field]
            values.extend(v for v in part[merge_field] if v not in values)
        else:
            part = {"question": part["question"], merge_field: list(part[merge_field])}
            by_question[part["question"]] = part
            merged.append(part)
    return merged[0] if len(merged) == 1 else {kind: merged}
