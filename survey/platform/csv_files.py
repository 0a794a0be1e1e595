"""Every CSV the service writes: UTF-8 with a byte-order mark, and no cell a spreadsheet would run as a formula.

Responses, codes, the bundle's files, unit lists, review and audit logs all pass through ``to_csv_bytes``, so a
respondent's text can never become a live formula in the evaluator's Excel or WPS. ``tests/test_csv_injection.py``
tries every route.
"""

from __future__ import annotations

import datetime as dt
import numbers
import re
from typing import Any

from analysis.lazy import lazy_module

pd = lazy_module("pandas")


# A cell whose text starts with one of these is read as a formula (or DDE command) by Excel, WPS or
# LibreOffice when the CSV is opened: ``=HYPERLINK(...)`` leaks the sheet, ``+cmd|' /C calc'!A0`` runs a program.
# WPS and Excel on Chinese systems also take the full-width (and small) forms of = + - @ as formula marks.
FORMULA_MARKS = frozenset("=+-@\t\r＝＋－＠﹦﹢﹣﹫")
# Leading blanks do not stop every spreadsheet from reading what follows as a formula, so they are looked past.
LEADING_BLANKS = " \u3000\n\xa0"
WATCHED = FORMULA_MARKS | frozenset(LEADING_BLANKS)
# A plain number written as text ("-3", "+2.5", "-1e5") is opened as that number, never as a formula, and
# quoting it would turn an answer of -3 into text: such cells are left as they are.
PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
SAFE_TYPES = (numbers.Number, dt.date, dt.time)  # numbers (numpy's too), dates and times: printed as data


def formula_safe(value: Any) -> Any:
    """A CSV cell that no spreadsheet will run: text that would start a formula gets a leading ``'``.

    The OWASP advice for CSV injection. Numbers (by type, and plain numbers written as text), dates and
    empty cells are data and stay as they are; any other object is judged by the text the CSV writer prints.
    """
    if isinstance(value, str):
        if not value or value[0] not in WATCHED:
            return value  # almost every cell: one look at its first character
        text = value.lstrip(LEADING_BLANKS)
        return "'" + value if text[:1] in FORMULA_MARKS and not PLAIN_NUMBER.fullmatch(text) else value
    if value is None or value is pd.NA or value is pd.NaT or isinstance(value, SAFE_TYPES):
        return value
    return formula_safe(str(value))


def _formula_safe_column(column: pd.Series) -> pd.Series:
    """``formula_safe`` over a column, judging each distinct value once (choice answers repeat a lot)."""
    try:
        distinct = pd.unique(column.to_numpy())
    except TypeError:  # unhashable cells (lists): one at a time
        return column.map(formula_safe)
    changed = {value: safe for value in distinct if (safe := formula_safe(value)) is not value}
    if not changed:
        return column
    risky = column.isin(list(changed))
    return column.where(~risky, column[risky].map(changed))


def formula_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of the frame with every text cell and column name made ``formula_safe``.

    Numeric columns are not looked at: their cells are numbers. Columns are addressed by position, so
    two questions with the same title cannot confuse it.
    """
    safe = frame.copy(deep=False)
    safe.columns = range(len(frame.columns))
    for position, dtype in enumerate(frame.dtypes):
        if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            safe[position] = _formula_safe_column(safe[position])
    safe.columns = [formula_safe(name) if isinstance(name, str) else name for name in frame.columns]
    return safe


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 with a byte-order mark so Excel and WPS open Chinese text correctly; formulas neutralised.

    Every CSV of the service (responses, codes, the bundle's files, unit lists, logs) is written here, so
    respondents' text cannot become a live formula in the evaluator's spreadsheet (``formula_safe``).
    """
    return formula_safe_frame(frame).to_csv(index=False).encode("utf-8-sig")


def table_csv(rows: list[dict], columns: list[str]) -> bytes:
    """Plain rows as a UTF-8-with-BOM CSV with the given column order (lists, logs)."""
    return to_csv_bytes(pd.DataFrame(rows, columns=columns))
