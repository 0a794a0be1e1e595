"""Reading an uploaded response file: XLSX, XLS or CSV, our own export or a 问卷星 (Wenjuanxing) download.

``read_table`` turns the uploaded bytes into a header row and rows of text. The format is found from the content,
never from the file name: XLSX (openpyxl, streamed, after ``survey.platform.xlsx_guard.check_xlsx``), Excel 97-2003
XLS (python-calamine, after ``check_xls``) or CSV in UTF-8 (with or without BOM), UTF-16 or GBK/GB18030 (what 问卷星
and Excel on Chinese Windows write). Columns that hold IP addresses (问卷星's 来自IP, or values that look like
addresses) are blanked at once: a raw IP is never kept, not even in the upload waiting for its mapping.

The import goes reading → cells (``import_cells``) → mapping (``import_mapping``) → checking and storing
(``import_checking``); each step is plain functions, no request objects.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import ipaddress
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from typing import Any

import python_calamine
from flask_babel import lazy_gettext as _l

from analysis.lazy import lazy_module
from survey.platform.xlsx_guard import MAX_ENTRIES, MAX_UNPACKED, XlsxRefused, check_xls, check_xlsx

openpyxl = lazy_module("openpyxl")

MAX_ROWS = 20_000
MAX_COLUMNS = 500
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the old binary .xls
# An XLSX is a ZIP: what it says it unpacks to is checked before openpyxl reads a byte of it (a small
# "zip bomb" can unpack to gigabytes). Python's zipfile never unpacks more than an entry declares.
XLSX_MAX_UNPACKED = MAX_UNPACKED  # see survey.platform.xlsx_guard
XLSX_MAX_ENTRIES = MAX_ENTRIES
# Files people pick by mistake (or on purpose): refused by their first bytes, whatever their name says.
FOREIGN_MAGIC = (b"%PDF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!", b"BZh")
MARKUP_START = (b"<!doctype html", b"<html", b"<?xml", b"<table")
IP_HEADER = re.compile(r"(^|[^a-z])ip([^a-z]|$)")


class FileProblem(Exception):
    """The upload cannot be read as a table; ``message`` says why, in the evaluator's language."""

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
    # The delimiter of the header line; of the first line that has one when a sheet pasted from a yearbook starts with
    # a one-cell title line.
    head = [line for line in text.split("\n", 5)[:5] if any(d in line for d in (",", "\t", ";"))] or [""]
    delimiter = max((",", "\t", ";"), key=head[0].count)
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
    if IP_HEADER.search(clean_cell(header).lower()):
        return True
    sample = [v for v in values if v][:50]
    return bool(sample) and sum(_is_ip(v) for v in sample) * 2 > len(sample)


def _blank_private_columns(table: Table) -> None:
    for index, header in enumerate(table.headers):
        if is_private_column(header, [row[index] for row in table.rows]):
            table.private.append(index)
            for row in table.rows:
                row[index] = ""


# --- targets and guessing ----------------------------------------------------------------------------


def clean_cell(value: Any) -> str:
    """Full-width forms folded (NFKC), surrounding space removed."""
    return unicodedata.normalize("NFKC", str(value or "")).strip()


def normalized(value: Any) -> str:
    """Text for comparison: folded, lower case, without spaces or punctuation."""
    return re.sub(r"[\W_]+", "", clean_cell(value)).lower()
