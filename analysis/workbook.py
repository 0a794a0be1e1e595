"""The questionnaire workbook: results JSON and the responses table as an XLSX file with native charts.

Pure: no Flask. Every word on the sheets (sheet names, headers) comes from ``labels``, which the caller
fills in the reader's language; a missing label falls back to its key. Shares are written as fractions
with a ``0.0%`` format, so Excel can compute with them; the rounded ``percent`` strings of the results
JSON are written beside them as numbers, so the workbook shows the same figures as the page.
"""

from __future__ import annotations

import io
import math
import re
from typing import Any

import pandas as pd
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

MAX_CHARTS = 30  # frequency charts per workbook; more would make the file slow to open
CHART_ROWS = 16  # rows a chart covers at its default size (288 px at 20 px a row, plus a margin)
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


class _Book:
    """The workbook with its formats and the label lookup."""

    def __init__(self, output: io.BytesIO, labels: dict[str, str]):
        self.wb = xlsxwriter.Workbook(
            output, {"in_memory": True, "constant_memory": False, "strings_to_numbers": False}
        )
        self.labels = labels
        self.header = self.wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
        self.title = self.wb.add_format({"bold": True, "font_size": 12})
        self.pct = self.wb.add_format({"num_format": "0.0%"})
        self.dec1 = self.wb.add_format({"num_format": "0.0"})
        self.dec2 = self.wb.add_format({"num_format": "0.00"})
        self.dec4 = self.wb.add_format({"num_format": "0.0000"})
        self.wrap = self.wb.add_format({"text_wrap": True, "valign": "top"})
        self.sheet_names: set[str] = set()

    def label(self, key: str) -> str:
        return self.labels.get(key, key)

    def sheet(self, key: str) -> Worksheet:
        name = _SHEET_NAME_BAD.sub("_", self.label(key)).strip("'")[:31] or key[:31]
        while name.lower() in self.sheet_names:
            name = (name[:28] + "_" + str(len(self.sheet_names)))[:31]
        self.sheet_names.add(name.lower())
        return self.wb.add_worksheet(name)

    def headers(self, ws: Worksheet, row: int, keys: list[str], col: int = 0) -> None:
        for offset, key in enumerate(keys):
            ws.write_string(row, col + offset, self.label(key), self.header)


def _cell(ws: Worksheet, row: int, col: int, value: Any, fmt=None) -> None:
    """Write one value: blanks for missing numbers, numbers as numbers, everything else as text."""
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif isinstance(value, int | float):
        ws.write_number(row, col, value, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def _number(text: str | None) -> float | None:
    """A rounded percent string (``"85.3"``) as a number."""
    return None if text is None else float(text)


def _fraction(numerator: int | None, denominator: int | None) -> float | None:
    return None if not denominator or numerator is None else numerator / denominator


def results_workbook(data: dict, responses: pd.DataFrame, labels: dict[str, str]) -> bytes:
    """The workbook of one questionnaire's results (``results_dict`` output) and its responses table."""
    output = io.BytesIO()
    book = _Book(output, labels)
    numbers = {q["key"]: q for q in data["questions"]}
    _counts_sheet(book, data)
    _rates_sheet(book, data, numbers)
    _frequency_sheet(book, data)
    _breakdown_sheet(book, data, numbers)
    _reliability_sheet(book, data, numbers)
    _responses_sheet(book, responses)
    book.wb.close()
    return output.getvalue()


def _counts_sheet(book: _Book, data: dict) -> None:
    ws = book.sheet("sheet_counts")
    counts, precision = data["counts"], data["precision"]
    issued = counts["issued"]
    book.headers(ws, 0, ["figure", "value"])
    rows: list[tuple[str, Any, Any]] = [
        ("issued", issued, None),
        ("returned", counts["returned"], None),
        ("valid", counts["valid"], None),
        ("excluded", counts["excluded"], None),
        ("return_rate", _fraction(counts["returned"], issued), book.pct),
        ("valid_rate", _fraction(counts["valid"], issued), book.pct),
        ("flagged", counts["flagged"], None),
        ("population", precision["population"], None),
        ("required_sample_5", precision["required_sample_5"], None),
        ("required_sample_3", precision["required_sample_3"], None),
    ]
    for row, (key, value, fmt) in enumerate(rows, start=1):
        ws.write_string(row, 0, book.label(key))
        _cell(ws, row, 1, value, fmt)
    top = len(rows) + 2
    book.headers(ws, top, ["exclusion_reason", "count"])
    for row, (reason, count) in enumerate(sorted(counts["exclusion_reasons"].items()), start=top + 1):
        ws.write_string(row, 0, reason)
        ws.write_number(row, 1, count)
    ws.freeze_panes(1, 0)
    ws.set_column(0, 0, 28)
    ws.set_column(1, 1, 14)


RATE_COLUMNS = [
    "number", "question", "name", "rate", "percent", "numerator", "denominator",
    "ci_low", "ci_high", "margin", "small_sample", "definition",
]  # fmt: skip


def _write_rate(book: _Book, ws: Worksheet, row: int, number: str, text: str, rate: dict) -> None:
    ci = rate.get("ci95") or [None, None]
    small = book.label("yes") if rate.get("small_sample") else ""
    values = [number, text, rate["name"], rate["value"], _number(rate["percent"]), rate["numerator"],
              rate["denominator"], ci[0], ci[1], rate["margin_of_error"], small, rate["definition"]]  # fmt: skip
    formats = [None, book.wrap, None, book.pct, book.dec1, None, None, book.pct, book.pct, book.pct, None, book.wrap]
    for col, (value, fmt) in enumerate(zip(values, formats, strict=True)):
        _cell(ws, row, col, value, fmt)


def _rates_sheet(book: _Book, data: dict, questions: dict[str, dict]) -> None:
    ws = book.sheet("sheet_rates")
    book.headers(ws, 0, RATE_COLUMNS)
    row = 1
    for question in data["questions"]:
        if question["rate"]:
            _write_rate(book, ws, row, str(question["number"]), question["text"], question["rate"])
            row += 1
    rated = row - 1
    overall = data.get("overall")
    if overall and overall.get("rate"):
        _write_rate(book, ws, row, book.label("overall"), book.label("overall"), overall["rate"])
        row += 1
    elif overall:
        ws.write_string(row, 0, book.label("overall"))
        ws.write_string(row, 2, book.label("overall"))
        _cell(ws, row, 3, overall.get("value"), book.pct)
        _cell(ws, row, 4, _number(overall.get("percent")), book.dec1)
        row += 1
    row += 1
    book.headers(ws, row, ["dimension", "rate", "percent", "index", "alpha", "questions"])
    for dimension in data["dimensions"]:
        row += 1
        keys = "、".join(str(questions[k]["number"]) if k in questions else k for k in dimension["questions"])
        values = [dimension["name"], dimension["value"], _number(dimension["percent"]), dimension["index"],
                  dimension["alpha"], keys]  # fmt: skip
        for col, (value, fmt) in enumerate(zip(values, [None, book.pct, book.dec1, book.dec1, book.dec2, None],
                                               strict=True)):  # fmt: skip
            _cell(ws, row, col, value, fmt)
    row += 2
    ws.write_string(row, 0, book.label("overall_index"), book.header)
    _cell(ws, row, 1, data.get("overall_index"), book.dec1)
    ws.freeze_panes(1, 0)
    for col, width in enumerate([8, 36, 14, 10, 10, 10, 10, 12, 12, 12, 10, 60]):
        ws.set_column(col, col, width, book.wrap if col in (1, 11) else None)
    if rated:
        chart = book.wb.add_chart({"type": "bar"})
        name = ws.get_name()
        chart.add_series({
            "name": book.label("rate"),
            "categories": [name, 1, 0, rated, 0],
            "values": [name, 1, 3, rated, 3],
            "data_labels": {"value": True, "num_format": "0.0%"},
        })  # fmt: skip
        chart.set_title({"name": book.label("rates_chart")})
        chart.set_x_axis({"min": 0, "max": 1, "num_format": "0%"})
        chart.set_y_axis({"reverse": True})
        chart.set_legend({"none": True})
        chart.set_size({"width": 640, "height": max(288, 24 * rated + 80)})
        ws.insert_chart(row + 2, 1, chart)


def _frequency_sheet(book: _Book, data: dict) -> None:
    ws = book.sheet("sheet_frequencies")
    name = ws.get_name()
    ws.set_column(0, 0, 40)
    ws.set_column(1, 2, 12)
    row, charts = 0, 0
    for question in data["questions"]:
        ws.write_string(row, 0, f"{question['number']}. {question['text']}", book.title)
        start = row
        row += 1
        options, stats = question["options"], question.get("numbers")
        answered = question["answered"]
        if options:
            book.headers(ws, row, ["option", "count", "share"])
            first = row + 1
            for option in options:
                row += 1
                ws.write_string(row, 0, option["text"])
                ws.write_number(row, 1, option["count"])
                _cell(ws, row, 2, _fraction(option["count"], answered), book.pct)
            last = row
        elif stats:
            for key in ("mean", "median", "minimum", "maximum", "std"):
                row += 1
                ws.write_string(row, 0, book.label(key))
                _cell(ws, row, 1, stats.get(key), book.dec2)
        row += 1
        ws.write_string(row, 0, book.label("answered"))
        ws.write_number(row, 1, answered)
        if options and charts < MAX_CHARTS:
            chart = book.wb.add_chart({"type": "bar"})
            chart.add_series({
                "name": book.label("share"),
                "categories": [name, first, 0, last, 0],
                "values": [name, first, 2, last, 2],
                "data_labels": {"value": True, "num_format": "0.0%"},
            })  # fmt: skip
            chart.set_title({"name": f"{question['number']}. {question['text']}"[:200]})
            chart.set_legend({"none": True})
            chart.set_x_axis({"min": 0, "num_format": "0%"})
            chart.set_y_axis({"reverse": True})
            ws.insert_chart(start, 4, chart)
            charts += 1
            row = max(row, start + CHART_ROWS)
        row += 2


def _breakdown_sheet(book: _Book, data: dict, questions: dict[str, dict]) -> None:
    ws = book.sheet("sheet_breakdowns")
    ws.set_column(0, 0, 24)
    ws.set_column(1, 60, 11)
    row = 0
    for breakdown in data["breakdowns"]:
        ws.write_string(row, 0, f"{book.label('group')}: {breakdown['group']['text']}", book.title)
        row += 1
        keys = [k for k in questions if any(k in r["rates"] for r in breakdown["rows"])]
        ws.write_string(row, 0, book.label("group"), book.header)
        ws.write_string(row, 1, book.label("respondents"), book.header)
        for i, key in enumerate(keys):
            q = questions[key]
            ws.merge_range(row, 2 + 2 * i, row, 3 + 2 * i, f"{q['number']}. {q['text']}", book.header)
        row += 1
        ws.write_blank(row, 0, None, book.header)
        ws.write_blank(row, 1, None, book.header)
        for i in range(len(keys)):
            ws.write_string(row, 2 + 2 * i, book.label("rate"), book.header)
            ws.write_string(row, 3 + 2 * i, book.label("n"), book.header)
        for group_row in breakdown["rows"]:
            row += 1
            ws.write_string(row, 0, group_row["text"])
            ws.write_number(row, 1, group_row["respondents"])
            for i, key in enumerate(keys):
                rate = group_row["rates"].get(key)
                if rate:
                    _cell(ws, row, 2 + 2 * i, rate["value"], book.pct)
                    _cell(ws, row, 3 + 2 * i, rate["denominator"])
        row += 1
        ws.write_string(row, 0, book.label("p_value"), book.header)
        for i, key in enumerate(keys):
            test = breakdown["tests"].get(key)
            if test:
                _cell(ws, row, 2 + 2 * i, test["p_value"], book.dec4)
                ws.write_string(row, 3 + 2 * i, str(test["method"]))
        row = _distribution_tests(book, ws, row + 2, breakdown, questions) + 2


def _distribution_tests(book: _Book, ws: Worksheet, row: int, breakdown: dict, questions: dict) -> int:
    tests = [(k, t) for k, t in breakdown["distribution_tests"].items() if t]
    if not tests:
        return row
    book.headers(ws, row, ["distribution_test", "method", "statistic", "df", "p_value"])
    for key, test in tests:
        row += 1
        q = questions.get(key)
        ws.write_string(row, 0, f"{q['number']}. {q['text']}" if q else key)
        ws.write_string(row, 1, str(test["method"]))
        _cell(ws, row, 2, test.get("statistic"), book.dec2)
        _cell(ws, row, 3, test.get("df"))
        _cell(ws, row, 4, test.get("p_value"), book.dec4)
    return row


def _reliability_sheet(book: _Book, data: dict, questions: dict[str, dict]) -> None:
    ws = book.sheet("sheet_reliability")
    ws.set_column(0, 0, 40)
    ws.set_column(1, 3, 16)
    reliability = data["reliability"]
    scale, bartlett = reliability["scale"], reliability["bartlett"]
    book.headers(ws, 0, ["figure", "value"])
    rows: list[tuple[str, Any, Any]] = [
        ("alpha", scale and scale["alpha"], book.dec2),
        ("band", scale and scale["band"], None),
        ("n", scale and scale["n"], None),
        ("kmo", reliability["kmo"], book.dec2),
        ("bartlett_chi2", bartlett and bartlett["chi_square"], book.dec2),
        ("df", bartlett and bartlett["df"], None),
        ("bartlett_p", bartlett and bartlett["p_value"], book.dec4),
        ("bartlett_n", bartlett and bartlett["n"], None),
    ]
    for row, (key, value, fmt) in enumerate(rows, start=1):
        ws.write_string(row, 0, book.label(key))
        _cell(ws, row, 1, value, fmt)
    ws.freeze_panes(1, 0)
    if not scale:
        return
    row = len(rows) + 2
    book.headers(ws, row, ["question", "alpha_if_deleted", "item_total"])
    for item in scale["items"]:
        row += 1
        q = questions.get(item["key"])
        ws.write_string(row, 0, f"{q['number']}. {q['text']}" if q else item["key"])
        _cell(ws, row, 1, item["alpha_if_deleted"], book.dec2)
        _cell(ws, row, 2, item["corrected_item_total"], book.dec2)


def _responses_sheet(book: _Book, responses: pd.DataFrame) -> None:
    ws = book.sheet("sheet_responses")
    for col, column in enumerate(responses.columns):
        ws.write_string(0, col, str(column), book.header)
        ws.set_column(col, col, min(40, max(10, len(str(column)) + 2)))
    for row, values in enumerate(responses.itertuples(index=False, name=None), start=1):
        for col, value in enumerate(values):
            _cell(ws, row, col, value.item() if hasattr(value, "item") else value)
    ws.freeze_panes(1, 1)
    if len(responses.columns):
        ws.autofilter(0, 0, max(len(responses), 1), len(responses.columns) - 1)
