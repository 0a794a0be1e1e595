"""The questionnaire and project workbooks: results JSON and the responses as XLSX files with native charts.

Pure: no Flask. Every word on the sheets (sheet names, headers) comes from ``labels``, which the caller
fills in the reader's language; a missing label falls back to its key. Shares are written as fractions
with a ``0.0%`` format, so Excel can compute with them; the rounded ``percent`` strings of the results
JSON are written beside them as numbers, so the workbook shows the same figures as the page. The indicator
table is drawn from ``survey.indicators.table_files.attachment_layout``, the same layout as its own 附件1 download.

Memory: the raw responses are written row by row into a constant-memory sheet (a temporary file), from
any iterable of rows, so a 100,000-response export never holds the cells, or a DataFrame of them, at once.
"""

from __future__ import annotations

import io
import math
import re
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from analysis.indicators import TableScore
from analysis.lazy import lazy_module
from survey.indicators.table_files import SHEET as INDICATOR_SHEET
from survey.indicators.table_files import STYLES, attachment_layout

pd = lazy_module("pandas")

MAX_CHARTS = 30  # frequency charts per workbook; more would make the file slow to open
CHART_ROWS = 16  # rows a chart covers at its default size (288 px at 20 px a row, plus a margin)
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")
SHEET_NAME_MAX = 31  # Excel's limit, counted in UTF-16 code units


@dataclass
class ResponseRows:
    """The raw responses as column names and rows; ``rows`` may be a generator, consumed once while writing."""

    columns: list[str]
    rows: Iterable[Sequence[Any]]

    @classmethod
    def of(cls, responses: ResponseRows | pd.DataFrame) -> ResponseRows:
        """Accept a DataFrame too (the working-paper bundle builds one for its CSV)."""
        if isinstance(responses, pd.DataFrame):
            return cls([str(c) for c in responses.columns], responses.itertuples(index=False, name=None))
        return responses


@dataclass
class QuestionnaireSheets:
    """One questionnaire of a project workbook: its results (``results_dict``) and, loaded only when its
    sheets are written, its responses (so one questionnaire's records are in memory at a time)."""

    data: dict
    responses: Callable[[], ResponseRows | pd.DataFrame]


class _StreamedWorksheet(Worksheet):
    """A worksheet in constant-memory mode, whatever the workbook's mode.

    XlsxWriter picks the mode per workbook, but the 附件1 sheet needs cells merged across rows, which
    constant-memory sheets cannot write; only the raw responses need streaming. The mode is one entry of
    the set-up data XlsxWriter hands each new sheet (``add_worksheet(worksheet_class=…)``).
    """

    def _initialize(self, init_data: dict) -> None:
        super()._initialize({**init_data, "constant_memory": True})


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def sheet_name(text: str, prefix: str = "", fallback: str = "Sheet") -> str:
    """A valid Excel sheet name: no ``[]:*?/\\``, no apostrophe at either end, at most 31 UTF-16 units."""
    name = (prefix + _SHEET_NAME_BAD.sub("_", text)).strip("'").strip() or fallback
    while _utf16_len(name) > SHEET_NAME_MAX:
        name = name[:-1]
    name = name.rstrip("'").strip()
    return "_History" if name.lower() == "history" else name  # a name Excel reserves


class _Book:
    """The workbook with its formats, the label lookup and the sheet names used so far."""

    def __init__(self, output: io.BytesIO, labels: dict[str, str]):
        # Not in_memory: that mode turns constant-memory sheets off and keeps every sheet's XML in memory.
        # Its temporary files go where the caller's process keeps them (``tempfile.gettempdir()``, which the
        # app points at its private scratch folder), named explicitly rather than left to XlsxWriter.
        options = {"in_memory": False, "constant_memory": False, "strings_to_numbers": False}
        self.wb = xlsxwriter.Workbook(output, {**options, "tmpdir": tempfile.gettempdir()})
        self.labels = labels
        self.prefix = ""
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

    def sheet(self, key: str, streamed: bool = False, literal: bool = False) -> Worksheet:
        """A new sheet named by the label of ``key`` (or ``key`` itself), after the current prefix, unique."""
        text = key if literal else self.label(key)
        name = sheet_name(text, self.prefix, key[:SHEET_NAME_MAX])
        base, n = name, 1
        while name.lower() in self.sheet_names:
            n += 1
            stem, suffix = base, f"_{n}"
            while _utf16_len(stem + suffix) > SHEET_NAME_MAX:
                stem = stem[:-1]
            name = stem + suffix
        self.sheet_names.add(name.lower())
        return self.wb.add_worksheet(name, worksheet_class=_StreamedWorksheet if streamed else None)

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


def results_workbook(
    data: dict,
    responses: ResponseRows | pd.DataFrame,
    labels: dict[str, str],
    indicators: tuple[dict, TableScore | None] | None = None,
) -> bytes:
    """The workbook of one questionnaire's results (``results_dict`` output), the project's indicator table
    in the 附件1 layout (``indicators``: the table and its score, when the project has one) and the responses."""
    output = io.BytesIO()
    book = _Book(output, labels)
    _questionnaire_sheets(book, data, responses, indicators)
    book.wb.close()
    return output.getvalue()


def _questionnaire_sheets(
    book: _Book, data: dict, responses: ResponseRows | pd.DataFrame, indicators: tuple | None = None
) -> None:
    numbers = {q["key"]: q for q in data["questions"]}
    _counts_sheet(book, data)
    _rates_sheet(book, data, numbers)
    _frequency_sheet(book, data)
    _breakdown_sheet(book, data, numbers)
    if data.get("weighted") or data.get("weighting_problem"):
        _weighted_sheet(book, data, numbers)
    if data.get("rounds"):
        _rounds_sheet(book, data["rounds"])
    _reliability_sheet(book, data, numbers)
    if indicators is not None:
        indicator_sheet(book, *indicators)
    _responses_sheet(book, ResponseRows.of(responses))


def responses_workbook(responses: ResponseRows | pd.DataFrame, labels: dict[str, str]) -> bytes:
    """The raw responses alone as a one-sheet workbook (the sheet named by ``labels["sheet_responses"]``)."""
    output = io.BytesIO()
    book = _Book(output, labels)
    _responses_sheet(book, ResponseRows.of(responses))
    book.wb.close()
    return output.getvalue()


def project_workbook(
    parts: list[QuestionnaireSheets],
    labels: dict[str, str],
    indicators: tuple[dict, TableScore | None] | None = None,
) -> bytes:
    """One workbook for a project: a summary of every questionnaire, the 附件1 indicator sheet, then each
    questionnaire's sheets, their names prefixed ``Q1 ``, ``Q2 `` … as listed on the summary."""
    output = io.BytesIO()
    book = _Book(output, labels)
    prefixes = [f"Q{number} " for number in range(1, len(parts) + 1)]
    _summary_sheet(book, [part.data for part in parts], prefixes)
    if indicators is not None:
        indicator_sheet(book, *indicators)
    for prefix, part in zip(prefixes, parts, strict=True):
        book.prefix = prefix
        _questionnaire_sheets(book, part.data, part.responses())
    book.prefix = ""
    book.wb.close()
    return output.getvalue()


SUMMARY_COLUMNS = [
    "sheet_prefix", "questionnaire", "status", "issued", "returned", "valid", "excluded", "return_rate",
    "valid_rate", "overall_rate", "percent", "numerator", "denominator", "ci_low", "ci_high",
    "small_sample", "overall_index", "definition",
]  # fmt: skip


def _summary_sheet(book: _Book, datas: list[dict], prefixes: list[str]) -> None:
    """One row per questionnaire: counts, return rates (n = issued) and the overall rate with its n and 口径."""
    ws = book.sheet("sheet_summary")
    book.headers(ws, 0, SUMMARY_COLUMNS)
    formats = [None, book.wrap, None, None, None, None, None, book.pct, book.pct, book.pct, book.dec1,
               None, None, book.pct, book.pct, None, book.dec1, book.wrap]  # fmt: skip
    for row, (prefix, data) in enumerate(zip(prefixes, datas, strict=True), start=1):
        for col, (value, fmt) in enumerate(zip(_summary_values(book, prefix, data), formats, strict=True)):
            _cell(ws, row, col, value, fmt)
    row = len(datas) + 2
    for key in ("return_rate_definition", "summary_note"):
        ws.write_string(row, 0, book.label(key))
        row += 1
    ws.freeze_panes(1, 2)
    for col, width in enumerate([8, 36, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 12, 12, 8, 12, 60]):
        ws.set_column(col, col, width)


def _summary_values(book: _Book, prefix: str, data: dict) -> list[Any]:
    """A questionnaire's summary row, in ``SUMMARY_COLUMNS`` order; the 口径 of an overall figure without a
    single rate (a mean of rates) is its method in words."""
    counts, overall = data["counts"], data.get("overall") or {}
    rate = overall.get("rate") or {}
    ci = rate.get("ci95") or [None, None]
    definition = (rate.get("definition") or book.label(f"overall_method_{overall.get('method')}")) if overall else None
    return [
        prefix.strip(), data["questionnaire"]["title"], book.label(f"status_{data['questionnaire']['status']}"),
        counts["issued"], counts["returned"], counts["valid"], counts["excluded"],
        _fraction(counts["returned"], counts["issued"]), _fraction(counts["valid"], counts["issued"]),
        overall.get("value"),
        _number(overall.get("percent")), rate.get("numerator"), rate.get("denominator"), ci[0], ci[1],
        book.label("yes") if overall.get("small_sample") else "", data.get("overall_index"), definition,
    ]  # fmt: skip


def indicator_sheet(book: _Book, table: dict, score: TableScore | None) -> None:
    """The indicator table in the 附件1 layout (``attachment_layout``), named “附件1” so that
    ``survey.indicators.table_files.load_table`` reads the table back from this workbook too."""
    layout = attachment_layout(table, score)
    ws = book.sheet(INDICATOR_SHEET, literal=True)
    formats = {name: book.wb.add_format(_xlsxwriter_format(spec)) for name, spec in STYLES.items()}
    covered = set()
    for first_row, first_col, last_row, last_col in layout.merges:
        value, style = layout.cells.get((first_row, first_col), (None, None))
        fmt = formats.get(style)
        ws.merge_range(first_row - 1, first_col - 1, last_row - 1, last_col - 1, "", fmt)
        _cell(ws, first_row - 1, first_col - 1, value, fmt)
        covered.update((r, c) for r in range(first_row, last_row + 1) for c in range(first_col, last_col + 1))
    for (row, col), (value, style) in sorted(layout.cells.items()):
        if (row, col) not in covered:
            _cell(ws, row - 1, col - 1, value, formats.get(style))
    for col, width in enumerate(layout.widths):
        ws.set_column(col, col, width, None, {"hidden": col + 1 in layout.hidden})
    for row, height in layout.heights.items():
        ws.set_row(row - 1, height)
    ws.freeze_panes(layout.freeze[0] - 1, layout.freeze[1] - 1)
    _indicator_page(ws, layout)


def _indicator_page(ws, layout) -> None:
    """The 附件1 sheet's print setup from its layout: A4 landscape, one page wide, header row repeated."""
    if layout.landscape:
        ws.set_landscape()
    ws.set_paper(layout.paper)
    ws.fit_to_pages(layout.fit_width, 0)
    ws.center_horizontally()
    left, right, top, bottom = layout.margins
    ws.set_margins(left=left, right=right, top=top, bottom=bottom)
    ws.repeat_rows(layout.repeat_rows[0] - 1, layout.repeat_rows[1] - 1)
    first_row, first_col, last_row, last_col = layout.print_area
    ws.print_area(first_row - 1, first_col - 1, last_row - 1, last_col - 1)
    ws.set_footer("&C第 &P 页，共 &N 页")


def _xlsxwriter_format(spec: dict[str, Any]) -> dict[str, Any]:
    """One ``survey.indicators.table_files.STYLES`` entry as XlsxWriter format properties."""
    properties: dict[str, Any] = {"valign": "vcenter", "text_wrap": bool(spec.get("wrap"))}
    if spec.get("bold"):
        properties["bold"] = True
    if spec.get("size"):
        properties["font_size"] = spec["size"]
    if spec.get("align"):
        properties["align"] = spec["align"]
    if spec.get("border"):
        properties["border"] = 1
    if spec.get("fill"):
        properties["bg_color"] = "#" + spec["fill"]
    return properties


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
    "ci_low", "ci_high", "ci_below", "ci_above", "max_margin", "small_sample", "definition",
]  # fmt: skip


def _points(share: float | None) -> float | None:
    """A share of 1 as percentage points (0.561 → 56.1), for the columns headed "个百分点"."""
    return None if share is None else share * 100


def _write_rate(book: _Book, ws: Worksheet, row: int, number: str, text: str, rate: dict) -> None:
    """One rate with its interval, the interval's two sides and the maximum margin (p = 0.5), the latter
    three in percentage points: a 100% rate has a zero upper side, never a "±0" margin."""
    ci = rate.get("ci95") or [None, None]
    sides = rate.get("ci95_half_widths") or [None, None]
    small = book.label("yes") if rate.get("small_sample") else ""
    values = [number, text, rate["name"], rate["value"], _number(rate["percent"]), rate["numerator"],
              rate["denominator"], ci[0], ci[1], _points(sides[0]), _points(sides[1]),
              _points(rate["max_margin_of_error"]), small, rate["definition"]]  # fmt: skip
    formats = [None, book.wrap, None, book.pct, book.dec1, None, None, book.pct, book.pct, book.dec1, book.dec1,
               book.dec1, None, book.wrap]  # fmt: skip
    for col, (value, fmt) in enumerate(zip(values, formats, strict=True)):
        _cell(ws, row, col, value, fmt)


def _rates_sheet(book: _Book, data: dict, questions: dict[str, dict]) -> None:
    ws = book.sheet("sheet_rates")
    book.headers(ws, 0, RATE_COLUMNS)
    ws.set_row(0, 48)  # three lines: the interval and margin headers wrap in their 12-character columns
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
    ws.write_string(row, 0, book.label("margin_note"))
    row += 2
    book.headers(ws, row, ["dimension", "rate", "percent", "index", "alpha", "questions", "alpha_n"])
    for dimension in data["dimensions"]:
        row += 1
        numbers = [str(questions[k]["number"]) if k in questions else k for k in dimension["questions"]]
        keys = book.labels.get("list_separator", "、").join(numbers)
        values = [dimension["name"], dimension["value"], _number(dimension["percent"]), dimension["index"],
                  dimension["alpha"], keys, dimension.get("alpha_n")]  # fmt: skip
        formats = [None, book.pct, book.dec1, book.dec1, book.dec2, None, None]
        for col, (value, fmt) in enumerate(zip(values, formats, strict=True)):
            _cell(ws, row, col, value, fmt)
    if any(d.get("alpha_held_back") for d in data["dimensions"]):
        row += 1
        ws.write_string(row, 0, book.label("alpha_held_back"))
    row += 2
    ws.write_string(row, 0, book.label("overall_index"), book.header)
    _cell(ws, row, 1, data.get("overall_index"), book.dec1)
    ws.freeze_panes(1, 0)
    for col, width in enumerate([8, 36, 14, 10, 10, 10, 10, 12, 12, 12, 12, 12, 10, 60]):
        ws.set_column(col, col, width, book.wrap if col in (1, 13) else None)
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
        first = 3  # group, respondents, index, then two columns per rated question
        for col, key in enumerate(["group", "respondents", "index"]):
            ws.write_string(row, col, book.label(key), book.header)
        for i, key in enumerate(keys):
            q = questions[key]
            ws.merge_range(row, first + 2 * i, row, first + 1 + 2 * i, f"{q['number']}. {q['text']}", book.header)
        row += 1
        for col in range(first):
            ws.write_blank(row, col, None, book.header)
        for i in range(len(keys)):
            ws.write_string(row, first + 2 * i, book.label("rate"), book.header)
            ws.write_string(row, first + 1 + 2 * i, book.label("n"), book.header)
        for group_row in breakdown["rows"]:
            row += 1
            ws.write_string(row, 0, group_row["text"])
            ws.write_number(row, 1, group_row["respondents"])
            _cell(ws, row, 2, group_row.get("index"), book.dec1)
            for i, key in enumerate(keys):
                rate = group_row["rates"].get(key)
                if rate:
                    _cell(ws, row, first + 2 * i, rate["value"], book.pct)
                    _cell(ws, row, first + 1 + 2 * i, rate["denominator"])
        row += 1
        ws.write_string(row, 0, book.label("p_value"), book.header)
        for i, key in enumerate(keys):
            test = breakdown["tests"].get(key)
            if test:
                _cell(ws, row, first + 2 * i, test["p_value"], book.dec4)
                ws.write_string(row, first + 1 + 2 * i, book.label(f"method_{test['method']}"))
        row = _distribution_tests(book, ws, row + 2, breakdown, questions) + 2


WEIGHTED_COLUMNS = [
    "figure", "unweighted_percent", "unweighted_n", "weighted_percent", "ci_low", "ci_high",
    "standard_error_points", "n", "n_effective", "definition",
]  # fmt: skip


def _write_estimate(book: _Book, ws: Worksheet, row: int, name: str, unweighted: tuple, estimate: dict | None) -> None:
    """One weighted figure beside its unweighted one: estimate, interval, SE (percentage points), n, n_eff."""
    e = estimate or {}
    ci = e.get("ci95") or [None, None]
    se = e.get("standard_error")
    values = [name, unweighted[0], unweighted[1], e.get("estimate"), ci[0], ci[1], _points(se), e.get("n"),
              e.get("n_effective"), e.get("definition")]  # fmt: skip
    formats = [book.wrap, book.pct, None, book.pct, book.pct, book.pct, book.dec2, None, book.dec1, book.wrap]
    for col, (value, fmt) in enumerate(zip(values, formats, strict=True)):
        _cell(ws, row, col, value, fmt)


def _rounds_sheet(book: _Book, rounds: dict) -> None:
    """多轮比较: each rate in every round, the change since the previous round in points with its 95% interval,
    p-value and words, then each group's change and ranking."""
    ws = book.sheet("sheet_rounds")
    labels = rounds["labels"]
    ws.set_column(0, 0, 30, book.wrap)
    ws.set_column(1, len(labels) + 5, 12)
    ws.set_column(len(labels) + 6, len(labels) + 6, 40, book.wrap)
    headers = ["figure", *labels, "change_points", "ci_low_points", "ci_high_points", "p_value", "n", "change_words"]
    for col, text in enumerate(headers):
        ws.write_string(0, col, book.label(text) if col == 0 or col > len(labels) else text, book.header)
    row = 1
    overall = rounds.get("overall")
    if overall:
        values = [v["value"] for v in overall["values"]]
        _round_row(book, ws, row, book.label("overall"), values, overall["weighted_change"] or overall["change"])
        row += 1
    for rate in rounds["rates"]:
        values = [f["rate"]["value"] if f["rate"] else None for f in rate["rounds"]]
        change = rate["weighted_change"] or rate["change"]
        _round_row(book, ws, row, f"{rate['number']}. {rate['name']}", values, change)
        row += 1
    for group in rounds["groups"]:
        row += 1
        ws.write_string(row, 0, f"{book.label('group')}: {group['group_text']} · {group['question']}", book.title)
        for entry, ranked in zip(group["rows"], _ranks(group), strict=True):
            row += 1
            values = [None] * (len(labels) - 2) + [
                (entry["previous"] or {}).get("value"),
                (entry["current"] or {}).get("value"),
            ]
            _round_row(book, ws, row, f"{ranked} {entry['text']}".strip(), values, entry["change"])
    ws.freeze_panes(1, 1)


def _ranks(group: dict) -> list[str]:
    """Each row's rank in the newest round ("1", "2", "2", …; "" without a value), in the rows' order."""
    by_name = {r["name"]: r["rank"] for r in group["ranking"]}
    return [str(by_name.get(entry["text"]) or "") for entry in group["rows"]]


def _round_row(book: _Book, ws: Worksheet, row: int, name: str, values: list, change: dict | None) -> None:
    _cell(ws, row, 0, name, book.wrap)
    for col, value in enumerate(values, start=1):
        _cell(ws, row, col, value, book.pct)
    if change:
        col = len(values) + 1
        extra = [_number(change["points"]), _points(change["low"]), _points(change["high"]), change["p_value"],
                 f"{change['n1']} / {change['n2']}", change["words"]]  # fmt: skip
        for offset, (value, fmt) in enumerate(
            zip(extra, [book.dec1, book.dec1, book.dec1, book.dec4, None, book.wrap], strict=True)
        ):
            _cell(ws, row, col + offset, value, fmt)


WEIGHT_CELL_COLUMNS = [
    "weights_table", "weights_category", "respondents", "weights_sample_share", "weights_population",
    "weights_population_share", "weights_mean", "weights_exploding",
]  # fmt: skip
WEIGHT_SUMMARY_KEYS = ("n", "total", "minimum", "median", "maximum", "design_effect", "n_effective")


def _weighted_sheet(book: _Book, data: dict, questions: dict[str, dict]) -> None:
    """加权结果: each rate, dimension and the overall figure weighted beside unweighted, the weights' summary and
    each category's weight, and the weighted breakdowns; or why weighting could not be applied."""
    ws = book.sheet("sheet_weighted")
    ws.set_landscape()
    ws.fit_to_pages(1, 0)  # printed one page wide: the definition column stays on the page
    ws.set_column(0, 0, 30, book.wrap)
    ws.set_column(1, 8, 11)
    ws.set_column(9, 9, 60, book.wrap)
    weighted = data.get("weighted")
    if weighted is None:
        ws.write_string(0, 0, book.label("weighting_problem"), book.title)
        ws.write_string(1, 0, data.get("weighting_problem") or "")
        return
    ws.merge_range(0, 0, 0, 9, weighted["weighting"]["sentence"], book.wrap)
    ws.set_row(0, 48)
    book.headers(ws, 2, WEIGHTED_COLUMNS)
    ws.set_row(2, 32)  # two lines: the interval and standard-error headers wrap
    row = _weighted_figures(book, ws, 3, data, weighted)
    row = _weights_summary(book, ws, row + 1, weighted)
    row = _weight_cells(book, ws, row + 1, weighted)
    _weighted_breakdowns(book, ws, row, data, weighted, questions)
    ws.freeze_panes(3, 1)


def _weighted_figures(book: _Book, ws: Worksheet, row: int, data: dict, weighted: dict) -> int:
    """The overall figure, the dimensions and every rate: weighted beside unweighted. Returns the next row."""
    overall = data.get("overall")
    rows = []
    if weighted.get("overall"):
        rows.append((book.label("overall"), (overall.get("value") if overall else None, None), weighted["overall"]))
    for dimension in data["dimensions"]:
        if dimension["name"] in weighted["dimensions"]:
            name = f"{book.label('dimension')}: {dimension['name']}"
            rows.append((name, (dimension["value"], None), weighted["dimensions"][dimension["name"]]))
    for question in data["questions"]:
        rate = question["rate"]
        if rate and question["key"] in weighted["rates"]:
            name = f"{question['number']}. {rate['name']}"
            rows.append((name, (rate["value"], rate["denominator"]), weighted["rates"][question["key"]]))
    for offset, (name, unweighted, estimate) in enumerate(rows):
        _write_estimate(book, ws, row + offset, name, unweighted, estimate)
    return row + len(rows)


def _weights_summary(book: _Book, ws: Worksheet, row: int, weighted: dict) -> int:
    """n, the total, min/median/max, Kish's design effect and the effective n of the weights."""
    for offset, key in enumerate(WEIGHT_SUMMARY_KEYS):
        ws.write_string(row + offset, 0, book.label(f"weights_{key}"), book.header)
        _cell(ws, row + offset, 1, weighted["summary"][key], book.dec2 if key != "n" else None)
    return row + len(WEIGHT_SUMMARY_KEYS)


def _weight_cells(book: _Book, ws: Worksheet, row: int, weighted: dict) -> int:
    """Each category of each table: respondents and people, their shares, the mean weight, the exploding flag."""
    book.headers(ws, row, WEIGHT_CELL_COLUMNS)
    formats = [None, None, None, book.pct, None, book.pct, book.dec2, None]
    for cell in weighted["weighting"]["cells"]:
        row += 1
        flag = book.label("yes") if cell["exploding"] else ""
        values = [cell["margin"], cell["label"], cell["respondents"], cell["sample_share"], cell["population"],
                  cell["population_share"], cell["mean_weight"], flag]  # fmt: skip
        for col, (value, fmt) in enumerate(zip(values, formats, strict=True)):
            _cell(ws, row, col, value, fmt)
    return row + 1


def _weighted_breakdowns(book: _Book, ws: Worksheet, row: int, data: dict, weighted: dict, questions: dict) -> None:
    """Each group's weighted rates, one row per group and question."""
    titles = {q["key"]: q["text"] for q in data["questions"]}
    for breakdown in weighted["breakdowns"]:
        row += 1
        ws.write_string(
            row, 0, f"{book.label('group')}: {titles.get(breakdown['group'], breakdown['group'])}", book.title
        )
        for group_row in breakdown["rows"]:
            for key, estimate in group_row["rates"].items():
                row += 1
                number = questions[key]["number"] if key in questions else key
                _write_estimate(book, ws, row, f"{group_row['text']} · {number}", (None, None), estimate)
        row += 1


def _distribution_tests(book: _Book, ws: Worksheet, row: int, breakdown: dict, questions: dict) -> int:
    tests = [(k, t) for k, t in breakdown["distribution_tests"].items() if t]
    if not tests:
        return row
    book.headers(ws, row, ["distribution_test", "method", "statistic", "df", "p_value"])
    for key, test in tests:
        row += 1
        q = questions.get(key)
        ws.write_string(row, 0, f"{q['number']}. {q['text']}" if q else key)
        ws.write_string(row, 1, book.label(f"method_{test['method']}"))
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
    band = scale and scale["band"]
    rows: list[tuple[str, Any, Any]] = [
        ("alpha", scale and scale["alpha"], book.dec2),
        ("band", band and book.label(f"band_{band}"), None),
        ("alpha_n", scale and scale["n"], None),
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
    row = len(rows) + 1
    if scale and scale.get("held_back"):
        ws.write_string(row, 0, book.label("alpha_held_back"))
        row += 1
    if reliability["kmo"] is None:
        ws.write_string(row, 0, book.label("kmo_held_back"))
        row += 1
    if not scale:
        return
    row += 1
    book.headers(ws, row, ["question", "alpha_if_deleted", "item_total"])
    for item in scale["items"]:
        row += 1
        q = questions.get(item["key"])
        ws.write_string(row, 0, f"{q['number']}. {q['text']}" if q else item["key"])
        _cell(ws, row, 1, item["alpha_if_deleted"], book.dec2)
        _cell(ws, row, 2, item["corrected_item_total"], book.dec2)


def _responses_sheet(book: _Book, responses: ResponseRows) -> None:
    """One row per response, streamed: each row goes to the sheet's temporary file as soon as it is written."""
    ws = book.sheet("sheet_responses", streamed=True)
    for col, column in enumerate(responses.columns):
        ws.write_string(0, col, str(column), book.header)
        ws.set_column(col, col, min(40, max(10, len(str(column)) + 2)))
    rows = 0
    for row, values in enumerate(responses.rows, start=1):
        for col, value in enumerate(values):
            _cell(ws, row, col, value.item() if hasattr(value, "item") else value)
        rows = row
    ws.freeze_panes(1, 1)
    if responses.columns:
        ws.autofilter(0, 0, max(rows, 1), len(responses.columns) - 1)
