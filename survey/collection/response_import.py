"""Import responses from a spreadsheet: XLSX, XLS or CSV, our own export or a 问卷星 (Wenjuanxing) download.

The steps, each a plain function (no request objects here):

1. ``read_table`` turns the uploaded bytes into a header row and rows of text. The format is found
   from the content, never from the file name: XLSX (openpyxl, streamed), Excel 97-2003 XLS
   (python-calamine, after ``survey.platform.xlsx_guard.check_xls``) or CSV in UTF-8 (with or without BOM),
   UTF-16 or GBK/GB18030 (what 问卷星 and Excel on Chinese Windows write). Columns that hold IP
   addresses (问卷星's 来自IP, or values that look like addresses) are blanked at once: a raw IP is
   never kept, not even in the upload waiting for its mapping.
2. ``guess_mapping`` proposes what each column holds (a ``Plan``): a question by its number
   ("1、", "1.", "Q1", "第1题") and/or its text, a matrix item ("5(服务态度)"), one option of a
   multiple-choice question ("3(盗窃)", "3、…—盗窃"; cells 1/0), or response metadata
   (提交答卷时间, 所用时间, 来源, and our export's 状态 / 排除原因). The evaluator corrects it.
3. ``convert_value`` reads a cell as the question's answer: option text, option number (1-based) or
   letter (A, B, …), "其他〖text〗" or "其他：text" for the "other" option with its text, several
   options joined by "┋" (问卷星) or "、" (our export); "(跳过)", "(空)" and empty mean unanswered.
4. ``check_import`` runs every row through the respondent's own form (``forms.response.answers_reader``:
   the same validators and skip logic) and reports every bad row and cell; ``run_import`` stores all
   rows in one transaction, or nothing at all.

Mapping targets, one string per column: ``ignore``; ``meta:<field>``; ``ans:<answer key>`` (a question
or a matrix item, ``ans:grid.att``); ``opt:<question key>:<option key>`` (one column per option);
``other:<question key>`` (the text of the "other" option in its own column).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import ipaddress
import json
import re
import secrets
import unicodedata
import warnings
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import openpyxl
import python_calamine
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import null, update
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from survey.models import Channel, PendingImport, Questionnaire, Response, ReviewEvent, utcnow
from survey.platform.extensions import db
from survey.platform.xlsx_guard import MAX_ENTRIES, MAX_UNPACKED, XlsxRefused, check_xls, check_xlsx
from survey.questionnaires.definition import normalize_definition, numbered_questions
from survey.questionnaires.qtypes import DATE_TEXT, OTHER_SUFFIX, get_type, other_key
from survey.responses.coding import Coder
from survey.responses.quality import quality_flags

IGNORE = "ignore"
BLANK = "__blank__"  # a value override meaning "treat as unanswered"
COLUMN_CHANNEL = "column"  # channel taken from the 来源 column, as "import:<value>"
DEFAULT_CHANNEL = "import"
DEFAULT_TIMEZONE = "Asia/Shanghai"
MAPPING_FORMAT = "survey-import-mapping/1"  # a saved mapping file (plan_to_saved)
MAX_ROWS = 20_000
MAX_COLUMNS = 500
SAMPLE_VALUES = 3
MAX_VALUE_ROWS = 40  # distinct values listed per question on the mapping screen
UPLOAD_NAME = re.compile(r"^[A-Za-z0-9_-]{32}$")
UPLOAD_MAX_AGE = 24 * 3600  # uploads never imported are removed after a day
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls
# An XLSX is a ZIP: what it says it unpacks to is checked before openpyxl reads a byte of it (a small
# "zip bomb" can unpack to gigabytes). Python's zipfile never unpacks more than an entry declares.
XLSX_MAX_UNPACKED = MAX_UNPACKED  # see survey.platform.xlsx_guard
XLSX_MAX_ENTRIES = MAX_ENTRIES
# Files people pick by mistake (or on purpose): refused by their first bytes, whatever their name says.
FOREIGN_MAGIC = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!", b"BZh")
MARKUP_START = (b"<!doctype html", b"<html", b"<?xml", b"<table")

SKIPPED = frozenset({"(跳过)", "(空)", "跳过"})
CHOICE_SKIPPED = frozenset({"-2", "-3"})  # 问卷星's numeric codes for "skipped" / "not shown"
TRUE_MARKS = frozenset({"1", "√", "✓", "✔", "●", "是", "选中", "已选", "y", "yes", "true"})
FALSE_MARKS = frozenset({"0", "否", "未选", "未选中", "n", "no", "false"})
SEPARATORS = re.compile(r"(┋|\||、|,|，|;|；)")
OTHER_BRACKET = re.compile(r"(.*?)\s*〖(.*)〗\s*", re.S)
PAREN_ONLY = re.compile(r"[(（](.+)[)）]", re.S)
TYPE_TAG = re.compile(r"[\[【][^\]】]{0,8}题[\]】]")  # "[单选题]", "【多选题】"
# The clock an export names in a time column's title: "提交时间（北京时间）", "Submitted at (Beijing time, UTC+8)".
ZONE_LABEL = re.compile(r"\s*[(（]\s*(北京时间|beijing time|utc\s*[+-])[^)）]*[)）]\s*$", re.I)
NUMBER_PREFIX = re.compile(r"^(?:第\s*)?(?:[Qq]\s*)?(\d+(?:\.\d+)*)\s*题?\s*(?:[、.:]\s*|\s+|(?=\()|$)")
IP_HEADER = re.compile(r"(^|[^a-z])ip([^a-z]|$)")
DURATION_UNITS = re.compile(
    r"(?:(\d+)\s*(?:小时|时|h))?\s*(?:(\d+)\s*(?:分钟|分|min|m))?\s*(?:(\d+(?:\.\d+)?)\s*(?:秒钟|秒|sec|s)?)?",
    re.I,
)
DURATION_CLOCK = re.compile(r"(\d+):(\d{1,2})(?::(\d{1,2}))?")

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
VALID_MARKS = frozenset({"", "有效", "valid"})
EXCLUDED_MARKS = frozenset({"已排除", "排除", "无效", "excluded"})
UNKNOWN_TIME = frozenset({"时间不详", "unknown", "(空)", "(跳过)"})
OTHER_WITHOUT_TEXT = "other_without_text"  # the quality flag of an imported 其他 that has no text
MISSING_OTHER_STAND_IN = "\u2063"  # passes the form's "other needs text" check; never stored


class FileProblem(Exception):
    """The upload cannot be read as a table; ``message`` says why, in the evaluator's language."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class CellError(Exception):
    """A cell that cannot be read as the answer of its column's question."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


# --- reading the file -----------------------------------------------------------------------------


@dataclass
class Table:
    """A sheet as text: ``rows[i]`` came from file row ``row_numbers[i]``; the header is file row ``header_row``."""

    headers: list[str]
    rows: list[list[str]]
    sha256: str
    row_numbers: list[int] = field(default_factory=list)
    private: list[int] = field(default_factory=list)  # blanked columns (IP addresses)
    header_row: int = 1

    def data_row(self, position: int) -> int:
        """The data row ``rows[position]`` is in the file, counted as 问卷星 counts 序号: 1 under the header."""
        return self.row_numbers[position] - self.header_row


def read_table(data: bytes) -> Table:
    """The header row and data rows of an XLSX or CSV file; ``FileProblem`` if it is neither."""
    if not data.strip():
        raise FileProblem(_l("文件是空的。"))
    if data.startswith(b"PK\x03\x04"):
        _check_xlsx_archive(data)
        grid = _xlsx_grid(data)
    elif data.startswith(OLE_MAGIC):
        _check_xls_file(data)
        grid = _xls_grid(data)
    elif _is_foreign(data):
        raise FileProblem(
            _l("这不是 .xlsx、.xls 或 .csv 文件（可能是图片、PDF、压缩包或网页），请上传 Excel 工作簿或 CSV。")
        )
    else:
        grid = _csv_grid(_decode(data))
    table = _to_table(grid, hashlib.sha256(data).hexdigest())
    _refuse_lost_encoding(table.headers)
    _blank_private_columns(table)
    return table


def _lost_header(header: str) -> bool:
    """A header whose letters all became "?" or U+FFFD: digits, spaces and punctuation aside, nothing else is left."""
    if "\ufffd" in header:
        return True
    rest = re.sub(r"[\d\s.、:：()（）_\-]+", "", header)
    return len(rest) >= 2 and set(rest) <= {"?", "？"}


def _refuse_lost_encoding(headers: list[str]) -> None:
    """Refuse a file whose Chinese was lost in a conversion (saved as ASCII or Latin-1): "??????" or "�" headers.

    Such a file cannot be mapped to any question, and the text is gone for good: only a new download or a
    save in UTF-8 / GBK brings it back, so that is what the evaluator is told instead of "no column matches".
    """
    filled = [h for h in headers if h]
    lost = sum(_lost_header(h) for h in filled)
    if lost >= 2 or (filled and lost == len(filled)):
        raise FileProblem(
            _l(
                "文件中 %(n)d 列标题的中文变成了“?”或“�”：文件在转换编码时丢失了文字，无法恢复。"
                "请从问卷星重新下载，或在 Excel / WPS 中另存为“CSV UTF-8”或 GBK 编码的 CSV 后再导入。",
                n=lost,
            )
        )


def _is_foreign(data: bytes) -> bool:
    """An image, PDF, archive or web page (some systems save HTML under an .xls name): not a table to read."""
    return data.startswith(FOREIGN_MAGIC) or data.lstrip(b"\xef\xbb\xbf \t\r\n")[:16].lower().startswith(MARKUP_START)


def _check_xlsx_archive(data: bytes) -> None:
    """Refuse a ZIP that is not a workbook, or that would unpack to more than ``XLSX_MAX_UNPACKED``."""
    try:
        check_xlsx(data, XLSX_MAX_UNPACKED, XLSX_MAX_ENTRIES)
    except XlsxRefused as refused:
        if refused.reason == "unreadable":
            raise FileProblem(_l("无法读取这个 XLSX 文件，请确认它是 Excel 工作簿。")) from refused
        if refused.reason == "not_workbook":
            raise FileProblem(_l("这是一个 ZIP 压缩包，不是 Excel 工作簿（.xlsx）。")) from refused
        if refused.what == "strings":  # survey.platform.xlsx_guard: bounds on what openpyxl would parse
            message = _l("这个 XLSX 文件含有超过 %(n)d 个不同的文字（共享字符串），无法导入。", n=refused.limit)
            raise FileProblem(message) from refused
        if refused.what == "markup":
            message = _l(
                "这个 XLSX 文件的“%(part)s”部分超过 %(n)d 个 XML 标记，无法导入。请删去多余的内容。",
                part=refused.part,
                n=refused.limit,
            )
            raise FileProblem(message) from refused
        raise FileProblem(_too_big_message()) from refused


def _check_xls_file(data: bytes) -> None:
    """Refuse a compound file that is not an Excel 97-2003 workbook, or one over ``XLSX_MAX_UNPACKED``."""
    try:
        check_xls(data, XLSX_MAX_UNPACKED)
    except XlsxRefused as refused:
        if refused.reason == "too_big":
            limit = XLSX_MAX_UNPACKED // (1024 * 1024)
            raise FileProblem(_l("这个 XLS 文件超过 %(n)d MB，无法导入。请分成几个文件。", n=limit)) from refused
        raise FileProblem(_not_xls_message()) from refused


def _not_xls_message():
    """An OLE2 file that is no workbook (a Word document, a damaged download): what to do instead."""
    return _l(
        "这个文件不是 Excel 97-2003 工作簿（.xls），可能是 Word 文档或已损坏。"
        "请在 Excel 或 WPS 中打开后另存为 .xlsx 再导入。"
    )


def _xls_grid(data: bytes) -> list[tuple[int, list[str]]]:
    """The first sheet of an Excel 97-2003 .xls (问卷星's old downloads), read by python-calamine.

    Calamine decodes BIFF8's UTF-16 strings and, in older BIFF, the workbook's code page (936 for GBK).
    An .xls holds at most 65,536 rows and 256 columns, so the sheet calamine builds stays bounded; rows
    beyond ``MAX_ROWS`` are refused as they are read.
    """
    try:
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        if not workbook.sheet_names:
            raise FileProblem(_l("文件中没有表格内容。"))
        sheet = workbook.get_sheet_by_index(0)
        grid = []
        for number, values in enumerate(sheet.iter_rows(), start=1):
            grid.append((number, [_cell_text(v) for v in values[:MAX_COLUMNS]]))
            if len(grid) > MAX_ROWS + 1:
                raise FileProblem(_l("文件超过 %(n)d 行，请分成几个文件导入。", n=MAX_ROWS))
        return grid
    except FileProblem:
        raise
    except Exception as error:  # calamine raises its own errors for a damaged or encrypted workbook
        raise FileProblem(_l("无法读取这个 XLS 文件，请确认它是 Excel 工作簿（可能已加密或损坏）。")) from error


def _too_big_message():
    """The refusal of an archive over the limit, in the importers' shared words."""
    limit = XLSX_MAX_UNPACKED // (1024 * 1024)
    return _l("这个 XLSX 文件解压后超过 %(n)d MB，无法导入。请删去多余的工作表或分成几个文件。", n=limit)


def _xlsx_grid(data: bytes) -> list[tuple[int, list[str]]]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # style warnings of files written by other programs
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged or foreign zip
        raise FileProblem(_l("无法读取这个 XLSX 文件，请确认它是 Excel 工作簿。")) from error
    try:
        return _sheet_grid(workbook)
    except FileProblem:
        raise
    except Exception as error:  # a damaged sheet fails only while it is read, row by row
        raise FileProblem(_l("无法读取这个 XLSX 文件，请确认它是 Excel 工作簿。")) from error
    finally:
        workbook.close()


def _sheet_grid(workbook) -> list[tuple[int, list[str]]]:
    """The first sheet's rows as text, refusing more than ``MAX_ROWS``."""
    if not workbook.worksheets:
        raise FileProblem(_l("文件中没有表格内容。"))
    sheet = workbook.worksheets[0]
    if hasattr(sheet, "reset_dimensions"):
        sheet.reset_dimensions()  # some exporters write a wrong sheet size
    grid = []
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        if len(values) > MAX_COLUMNS:  # refused before the row is kept: a crafted sheet may claim column XFD
            if any(value not in (None, "") for value in values[MAX_COLUMNS:]):
                raise FileProblem(_l("文件超过 %(n)d 列，无法导入。", n=MAX_COLUMNS))
            values = values[:MAX_COLUMNS]
        grid.append((number, [_cell_text(v) for v in values]))
        if len(grid) > MAX_ROWS + 1:
            raise FileProblem(_l("文件超过 %(n)d 行，请分成几个文件导入。", n=MAX_ROWS))
    return grid


def _cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a person sees in it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d" if value.time() == dt.time() else "%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(int(value.total_seconds()))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ("utf-16",)
    elif data.startswith(codecs.BOM_UTF8):
        encodings = ("utf-8-sig",)
    else:
        encodings = ("utf-8", "gb18030")  # GB18030 is a superset of GBK and GB2312
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            return text
    raise FileProblem(_l("无法识别文件的格式或编码。请上传 .xlsx、.xls，或 UTF-8 / GBK 编码的 CSV 文件。"))


def _csv_grid(text: str) -> list[tuple[int, list[str]]]:
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    grid = []
    try:
        for number, values in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            grid.append((number, [v.strip() for v in values]))
            if len(grid) > MAX_ROWS + 1:
                raise FileProblem(_l("文件超过 %(n)d 行，请分成几个文件导入。", n=MAX_ROWS))
    except csv.Error as error:
        raise FileProblem(_l("CSV 文件格式有误：%(error)s", error=str(error))) from error
    return grid


def _to_table(grid: list[tuple[int, list[str]]], sha256: str) -> Table:
    grid = [(number, values) for number, values in grid if any(values)]
    if not grid:
        raise FileProblem(_l("文件中没有表格内容。"))
    width = max(max((i + 1 for i, v in enumerate(values) if v), default=0) for _n, values in grid)
    if width > MAX_COLUMNS:
        raise FileProblem(_l("文件超过 %(n)d 列，无法导入。", n=MAX_COLUMNS))
    padded = [(number, (values + [""] * width)[:width]) for number, values in grid]
    (header_number, headers), rows = padded[0], padded[1:]
    return Table(
        headers=headers,
        rows=[values for _n, values in rows],
        sha256=sha256,
        row_numbers=[number for number, _v in rows],
        header_row=header_number,
    )


def _is_ip(value: str) -> bool:
    candidate = re.split(r"[(（\s]", value.strip(), maxsplit=1)[0]  # 问卷星: "1.2.3.4(福建-泉州)"
    try:
        ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return True


def is_private_column(header: str, values: list[str]) -> bool:
    """A column holding IP addresses: by its header (来自IP, IP地址) or because its values are addresses."""
    if IP_HEADER.search(_clean(header).lower()):
        return True
    sample = [v for v in values if v][:50]
    return bool(sample) and sum(_is_ip(v) for v in sample) * 2 > len(sample)


def _blank_private_columns(table: Table) -> None:
    for index, header in enumerate(table.headers):
        if is_private_column(header, [row[index] for row in table.rows]):
            table.private.append(index)
            for row in table.rows:
                row[index] = ""


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


# --- targets and guessing ----------------------------------------------------------------------------


def _clean(value: Any) -> str:
    """Full-width forms folded (NFKC), surrounding space removed."""
    return unicodedata.normalize("NFKC", str(value or "")).strip()


def _norm(value: Any) -> str:
    """Text for comparison: folded, lower case, without spaces or punctuation."""
    return re.sub(r"[\W_]+", "", _clean(value)).lower()


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
        key, label, norm = question["key"], f"{question['number']}. {question['text']}", _norm(question["text"])
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
                        norm=norm + _norm(item["text"]),
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
                        norm=norm + _norm(option["text"]),
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
                        norm=norm + _norm(option["text"]),
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
        clean = ZONE_LABEL.sub("", TYPE_TAG.sub("", _clean(header))).strip()
        name = _norm(clean)
        if not name or IP_HEADER.search(clean.lower()):
            return IGNORE, 0.0
        for target, names in META_NAMES.items():
            if name in names:
                return target, 3.0
        match = NUMBER_PREFIX.match(clean)
        rest = clean[match.end() :].strip() if match else clean
        numbered = self._numbered(match.group(1), rest) if match else None
        rest_norm = _norm(rest)
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
            value = self._refine(question, item, _norm(rest), sub)
            if value:
                return self.targets[value]
        return None

    def _refine(self, question: dict, item: dict | None, rest_norm: str, sub: str | None) -> str | None:
        key = question["key"]
        if item is not None:
            return f"ans:{key}.{item['key']}"
        qnorm = _norm(question["text"])
        if get_type(question["type"]).has_items:
            found = _part(question["items"], sub, rest_norm, qnorm)
            return f"ans:{key}.{found['key']}" if found else None
        options = question.get("options", [])
        if _several(question):
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
        wanted = _norm(sub)
        return next((p for p in parts if _norm(p["text"]) == wanted), None)
    if not rest_norm or rest_norm == qnorm:
        return None
    found = [p for p in parts if _norm(p["text"]) and rest_norm.endswith(_norm(p["text"]))]
    return max(found, key=lambda p: len(_norm(p["text"])), default=None)


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
            overrides.setdefault(question["key"], {})[_clean(value)] = chosen
    channel = formdata.get("channel", DEFAULT_CHANNEL)
    missing_time = str(formdata.get("missing_time", "") or "").strip()
    confirmed = formdata.get("codes-ok") == "1"
    return Plan(mapping, overrides, channel if channel in channels else DEFAULT_CHANNEL, missing_time, confirmed)


def rows_without_time(table: Table, plan: Plan) -> int:
    """How many rows have no submission time: all of them when no column is mapped to 提交时间."""
    if "meta:submitted_at" not in plan.mapping:
        return len(table.rows)
    index = plan.mapping.index("meta:submitted_at")
    return sum(not _clean(row[index]) or _clean(row[index]).lower() in UNKNOWN_TIME for row in table.rows)


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
        entry = next((c for c in pending if _clean(c.get("header")) == _clean(header)), None)
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
            overrides.setdefault(key, {})[_clean(value)] = chosen
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


# --- converting cells --------------------------------------------------------------------------------


class Converted(NamedTuple):
    """A cell read as an answer: an option key, a list of keys, text, or ``None`` (unanswered)."""

    value: str | list[str] | None
    other: str | None = None


def _is_blank(text: str, question: dict) -> bool:
    return not text or text in SKIPPED or (get_type(question["type"]).has_options and text in CHOICE_SKIPPED)


def _several(question: dict) -> bool:
    """Whether a question's answer holds several option keys (a multiple choice)."""
    entry = get_type(question["type"])
    return entry.has_options and not entry.single


def _match_main(question: dict, text: str, overrides: dict[str, str] | None) -> str | None:
    """The option key ``text`` names (by override, text, number or letter), ``BLANK``, or ``None``."""
    options = question["options"]
    if overrides and text in overrides:
        return overrides[text]
    for option in options:
        if _clean(option["text"]) == text:
            return option["key"]
    wanted = _norm(text)
    for option in options:
        if wanted and _norm(option["text"]) == wanted:
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
    raw, token = token.strip(), _clean(token)
    key = _match_main(question, token, overrides)
    if key is not None:
        return token, None, key
    bracket = OTHER_BRACKET.fullmatch(raw)
    if bracket:
        main = _clean(bracket.group(1))
        return main, bracket.group(2).strip(), _match_main(question, main, overrides)
    for option in question["options"]:
        for prefix in {option["text"].strip(), _clean(option["text"])} if option.get("other") else ():
            for colon in ("：", ":"):
                if raw.startswith(prefix + colon):
                    return _clean(option["text"]), raw[len(prefix) + 1 :].strip(), option["key"]
    return token, None, None


def _pieces(question: dict, text: str, overrides: dict[str, str] | None) -> list[tuple[str, str | None, str | None]]:
    """The options a cell holds; a multiple-choice cell is split on ┋ | 、 , ; keeping option texts whole."""
    if not _several(question):
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
            found.append((_clean(words[i]), None, None))
            i += 1
    return found


def _is_other(question: dict, key: str) -> bool:
    return any(o["key"] == key and o.get("other") for o in question.get("options", []))


def convert_value(question: dict, cell: Any, overrides: dict[str, str] | None = None) -> Converted:
    """A cell as the answer to ``question``; raises ``CellError`` for a value that is not an option."""
    raw = str(cell or "").strip()
    if _is_blank(_clean(raw), question):
        return Converted(None)
    entry = get_type(question["type"])
    if not entry.has_options:
        return Converted(entry.imported(question, raw))  # free text is kept exactly as written (full-width too)
    keys, other = [], None
    for main, extra, key in _pieces(question, raw, overrides):
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
    text = _clean(raw)
    mark = text.lower()
    if _is_blank(text, question) or mark in FALSE_MARKS:
        return Converted(None)
    if mark in TRUE_MARKS or _norm(text) == _norm(option["text"]):
        return Converted([option["key"]])
    bracket = OTHER_BRACKET.fullmatch(raw)
    if option.get("other"):
        if bracket and (
            _clean(bracket.group(1)).lower() in TRUE_MARKS or _norm(bracket.group(1)) == _norm(option["text"])
        ):
            return Converted([option["key"]], bracket.group(2).strip() or None)
        return Converted([option["key"]], raw)  # the column holds what the respondent wrote
    raise CellError(_l("“%(value)s”无法识别：选项列应填 1（选中）或 0（未选）。", value=text))


def parse_duration(cell: Any) -> int | None:
    """所用时间 as seconds: "123秒", "2分3秒", "1小时2分", "123", "2:03"; ``ValueError`` if unreadable."""
    text = _clean(cell)
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
    text = _clean(cell)
    if not text or text.lower() in UNKNOWN_TIME:  # our own export writes 时间不详 for an unknown time
        return None
    match = DATE_TEXT.fullmatch(text)
    if not match:
        raise ValueError(text)
    local = dt.datetime(*(int(p or 0) for p in match.groups()), tzinfo=ZoneInfo(timezone))
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def _channel_code(cell: str) -> str:
    text = cell.strip()
    if not text:
        return DEFAULT_CHANNEL
    # Our own export names imported rows "import" or "import:来源": they keep that code, never "import:import".
    code = text if text == DEFAULT_CHANNEL or text.startswith("import:") else f"import:{text}"
    return code[:32]


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
            return Converted(None, None if _clean(raw) in ("", *SKIPPED) else raw)
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
        cell = _clean(row[index]) if index is not None else ""
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
            return _channel_code(row[self.meta["meta:channel"]])
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


def source_number(cell: str) -> int | None:
    """A 序号 cell as a positive whole number ("12", "12.0" from a spreadsheet), else ``None``."""
    match = re.fullmatch(r"0*(\d{1,9})(?:\.0+)?", _clean(cell))
    return int(match.group(1)) if match and int(match.group(1)) > 0 else None


def source_rows(table: Table, plan: Plan) -> list[int | None]:
    """Each row's source row as an import would store it (``None`` for a 序号 that is not a number)."""
    index = plan.mapping.index("meta:source_row") if "meta:source_row" in plan.mapping else None
    return [
        source_number(row[index]) if index is not None and _clean(row[index]) else table.data_row(position)
        for position, row in enumerate(table.rows)
    ]


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
    text = _clean(cell).lower()
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
    version_id = questionnaire.current_version_id
    coder = Coder.of(questionnaire.current_version.definition)  # once, not per row
    responses = [
        Response(
            questionnaire_id=questionnaire.id,
            version_id=version_id,
            mode="import",
            codes=coder.codes(r["answers"]),
            extras=coder.extras(r["answers"]),
            # NULL said outright: a plain None would let the column's default put the import's own time in.
            **{**r, "submitted_at": null() if r["submitted_at"] is None else r["submitted_at"]},
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
            text = _clean(row[index])
            if not _is_blank(text, question):
                counter.update(main for main, _extra, _key in _pieces(question, text, overrides))
    return [_question_values(q, counter, plan.overrides.get(q["key"], {})) for q, counter in by_question.values()]


def _question_values(question: dict, counter: Counter, overrides: dict[str, str]) -> QuestionValues:
    texts = {o["key"]: o["text"] for o in question["options"]}
    values = []
    for value, count in counter.most_common(MAX_VALUE_ROWS):
        auto = _match_main(question, value, None)
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
            text = _clean(cell)
            if _is_blank(text, question):
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
    pieces = SEPARATORS.split(text)[0::2] if _several(question) else [text]
    found = []
    for piece in (p.strip() for p in pieces):
        main = OTHER_BRACKET.fullmatch(piece)
        found.append(_clean(main.group(1)) if main else piece)
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
    key = _match_main(question, str(code), overrides)
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
        if seen.option is not None and _match_main(question, str(code), overrides) != seen.option
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
    wanted = _norm(text)
    return next((o["key"] for o in question["options"] if wanted and _norm(o["text"]) == wanted), None)


def _text_pieces(question: dict, cell: str) -> list[str]:
    """The option texts a 按选项文本 cell holds, the 其他 text taken off (other〖…〗 or 其他：…)."""
    return [main for main, _extra, _key in _pieces(question, str(cell or "").strip(), None)]


def _pairs(question: dict, code_cell: str, text_cell: str) -> list[tuple[int, str]]:
    """(code, text) pairs of one question on one row in both files; none when either is empty or they differ
    in how many options they hold."""
    code_text, text = _clean(code_cell), _clean(text_cell)
    if _is_blank(code_text, question) or _is_blank(text, question):
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
