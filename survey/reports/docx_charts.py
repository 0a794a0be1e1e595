"""Native Word charts in python-docx documents: bar and line charts with their data embedded as a workbook.

A chart drawn as a picture cannot be corrected by the evaluator who receives the report; a native chart can:
Word (and WPS, LibreOffice) shows it from the chart part's cached figures, and right-click → Edit Data opens
the embedded workbook, from which the chart is redrawn. So each chart is written as Word itself writes one:

- a chart part ``/word/charts/chartN.xml`` (DrawingML chart XML), related to the story part of the paragraph;
- an embedded workbook ``/word/embeddings/Microsoft_Excel_WorksheetN.xlsx`` related to the chart part and named
  in its ``c:externalData``; column A holds the categories, then one column per series, then for each series with
  an interval its low and high bounds and the plus and minus amounts the error bars are drawn from (formulas, so
  an edited value or bound moves its error bar);
- series formulas (``Sheet1!$B$2:$B$5``) that point into that workbook, each with a cache of the figures, which is
  what a reader draws before anyone edits the data;
- an inline ``w:drawing`` in a new run of the paragraph, whose ``c:chart`` element names the chart part.

Intervals (95% confidence intervals, say) are custom error bars (``c:errValType val="cust"``), the way they are
drawn in Word by hand. A missing figure (``None`` or NaN) is a gap: its point is left out of every cache.

Pure: no Flask. Every word on the chart or its sheet (title, category and series names, the interval columns'
headers) comes from the caller, in the reader's language; the text is set in a CJK typeface so Chinese draws.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import xlsxwriter
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml
from docx.package import Package
from docx.text.paragraph import Paragraph
from lxml import etree
from xlsxwriter.utility import xl_col_to_name

CHART_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.drawingml.chart+xml"
WORKBOOK_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RT_CHART = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/chart"
RT_PACKAGE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/package"
CHART_URI = "http://schemas.openxmlformats.org/drawingml/2006/chart"
NS = {
    "c": CHART_URI,
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
}
CHART_PARTNAME = "/word/charts/chart%d.xml"
WORKBOOK_PARTNAME = "/word/embeddings/Microsoft_Excel_Worksheet%d.xlsx"
SHEET = "Sheet1"

EAST_ASIAN_FONT = "宋体"  # the body font of Chinese government reports; Word and WPS map it to SimSun
LATIN_FONT = "Times New Roman"  # digits and Latin letters, as those reports set them
# The Office theme's accent colours, written out so every reader (not only Word's theme) shows the same colours.
PALETTE = ("4472C4", "ED7D31", "A5A5A5", "FFC000", "5B9BD5", "70AD47")
EMU_PER_CM = 360000
CAT_AX_ID, VAL_AX_ID = "500000001", "500000002"  # unique within a chart only, as Word's are
SHEET_LABELS = {"category": "", "low": "low", "high": "high", "plus": "+", "minus": "−"}
_HEX_COLOR = re.compile(r"#?[0-9A-Fa-f]{6}")


@dataclass(frozen=True)
class BarSeries:
    """One series of a chart: a figure per category and, optionally, an interval around each figure.

    ``lows`` and ``highs`` go together (an interval needs both ends); a point whose value or bound is ``None``
    gets no error bar. ``color`` is a hex RGB such as ``"4472C4"``; without it the series takes the palette's
    next colour. The same class serves line charts (``LineSeries``), one series per rate across rounds.
    """

    name: str
    values: list[float | None]
    lows: list[float | None] | None = None
    highs: list[float | None] | None = None
    color: str | None = None

    def __post_init__(self) -> None:
        """Refuse a half-given interval or a malformed colour here, where the caller can see which series."""
        if (self.lows is None) != (self.highs is None):
            raise ValueError(f"series {self.name!r}: give both lows and highs, or neither")
        if self.color is not None and not _HEX_COLOR.fullmatch(self.color):
            raise ValueError(f"series {self.name!r}: colour {self.color!r} is not a hex RGB such as 4472C4")

    @property
    def has_interval(self) -> bool:
        """Whether the series carries error bars (and interval columns on the sheet)."""
        return self.lows is not None


LineSeries = BarSeries


@dataclass(frozen=True)
class _Column:
    """A sheet column: its letter, header, figures (row by row) and, for the error-bar amounts, formulas."""

    letter: str
    header: str
    values: list[float | None]
    formulas: list[str | None] | None = None

    def range(self, rows: int) -> str:
        """The absolute reference of the column's figures, as series formulas name them."""
        return f"{SHEET}!${self.letter}$2:${self.letter}${rows + 1}"

    @property
    def header_ref(self) -> str:
        """The absolute reference of the column's header (the series name)."""
        return f"{SHEET}!${self.letter}$1"


@dataclass(frozen=True)
class _SeriesColumns:
    """The sheet columns a series is drawn from: values and, when it has an interval, the error-bar amounts."""

    series: BarSeries
    color: str
    values: _Column
    plus: _Column | None
    minus: _Column | None


@dataclass(frozen=True)
class _Chart:
    """Everything the chart XML and its workbook are written from, checked once."""

    kind: str  # "bar" or "line"
    title: str
    categories: list[str]
    series: list[_SeriesColumns]
    category_column: _Column
    interval_columns: list[_Column]
    percent: bool
    horizontal: bool
    number_format: str
    axis_range: tuple[float, float] | None
    latin_font: str
    east_asian_font: str


class _ChartPart(Part):
    """A chart part whose XML is written after its relationship to the workbook exists.

    The XML names the workbook by relationship id, and that id is only known once the workbook is related to
    this part; so the part is made empty, related, then given its XML.
    """

    def __init__(self, partname: PackURI, package: Package):
        super().__init__(partname, CHART_CONTENT_TYPE, b"", package)

    def set_xml(self, xml: bytes) -> None:
        """Set the serialized chart XML, once the workbook relationship id is known."""
        self._blob = xml


def add_bar_chart(
    paragraph: Paragraph,
    *,
    title: str,
    categories: list[str],
    series: list[BarSeries],
    percent: bool = True,
    horizontal: bool = True,
    width_cm: float = 15.0,
    height_cm: float | None = None,
    number_format: str | None = None,
    axis_range: tuple[float, float] | None = None,
    labels: Mapping[str, str] | None = None,
    latin_font: str = LATIN_FONT,
    east_asian_font: str = EAST_ASIAN_FONT,
) -> None:
    """Add a native clustered bar chart (horizontal bars by default) at the end of ``paragraph``.

    Several series are drawn side by side within each category (two survey rounds, say). With ``percent`` the
    values are shares from 0 to 1: the value axis runs from 0% to 100% and the data labels read ``0.0%``.
    ``number_format`` overrides the data labels' format, ``axis_range`` the value axis's (min, max), NaN for an
    end left automatic (bars of plain figures start at 0 by default); ``labels`` names the sheet's category and
    interval columns (keys of ``SHEET_LABELS``) in the reader's language. Horizontal bars list
    the first category at the top, as the table beside them does; their default height grows with the categories.
    """
    chart = _chart(
        "bar",
        title,
        categories,
        series,
        percent,
        horizontal,
        number_format,
        axis_range,
        labels,
        fonts=(latin_font, east_asian_font),
    )
    height = height_cm if height_cm is not None else _default_height(chart)
    _insert(paragraph, chart, width_cm, height)


def add_line_chart(
    paragraph: Paragraph,
    *,
    title: str,
    categories: list[str],
    series: list[LineSeries],
    percent: bool = True,
    width_cm: float = 15.0,
    height_cm: float | None = None,
    number_format: str | None = None,
    axis_range: tuple[float, float] | None = None,
    labels: Mapping[str, str] | None = None,
    latin_font: str = LATIN_FONT,
    east_asian_font: str = EAST_ASIAN_FONT,
) -> None:
    """Add a native line chart with markers at the end of ``paragraph``: a trend across survey rounds.

    ``categories`` are the rounds, left to right, and each series is one rate; intervals are drawn as error bars
    as in ``add_bar_chart``, and a missing round leaves a gap in its line. The other arguments are as there.
    """
    chart = _chart(
        "line",
        title,
        categories,
        series,
        percent,
        False,
        number_format,
        axis_range,
        labels,
        fonts=(latin_font, east_asian_font),
    )
    height = height_cm if height_cm is not None else _default_height(chart)
    _insert(paragraph, chart, width_cm, height)


# ---------------------------------------------------------------------------------------------- the chart's data


def _chart(
    kind: str,
    title: str,
    categories: list[str],
    series: list[BarSeries],
    percent: bool,
    horizontal: bool,
    number_format: str | None,
    axis_range: tuple[float, float] | None,
    labels: Mapping[str, str] | None,
    *,
    fonts: tuple[str, str],
) -> _Chart:
    """Check the figures against the categories and lay the sheet out: A categories, the series, the intervals."""
    if not categories:
        raise ValueError("a chart needs at least one category")
    if not series:
        raise ValueError("a chart needs at least one series")
    words = {**SHEET_LABELS, **(labels or {})}
    n = len(categories)
    for one in series:
        for name, figures in (("values", one.values), ("lows", one.lows), ("highs", one.highs)):
            if figures is not None and len(figures) != n:
                raise ValueError(f"series {one.name!r}: {len(figures)} {name} for {n} categories")
    value_columns = [
        _Column(xl_col_to_name(1 + i), one.name, [_number(v) for v in one.values]) for i, one in enumerate(series)
    ]
    next_index = 1 + len(series)
    interval_columns: list[_Column] = []
    laid_out: list[_SeriesColumns] = []
    for i, (one, values) in enumerate(zip(series, value_columns, strict=True)):
        color = (one.color or PALETTE[i % len(PALETTE)]).lstrip("#").upper()
        if not one.has_interval:
            laid_out.append(_SeriesColumns(one, color, values, None, None))
            continue
        low, high, plus, minus = _interval_columns(one, values, next_index, words)
        next_index += 4
        interval_columns += [low, high, plus, minus]
        laid_out.append(_SeriesColumns(one, color, values, plus, minus))
    category_column = _Column("A", words["category"], [None] * n)
    default_format = "0.0%" if percent else "#,##0.0"
    return _Chart(
        kind=kind,
        title=title,
        categories=[str(c) for c in categories],
        series=laid_out,
        category_column=category_column,
        interval_columns=interval_columns,
        percent=percent,
        horizontal=horizontal,
        number_format=number_format or default_format,
        axis_range=axis_range if axis_range is not None else _default_range(kind, percent, series),
        latin_font=fonts[0],
        east_asian_font=fonts[1],
    )


def _interval_columns(
    one: BarSeries, values: _Column, first: int, words: Mapping[str, str]
) -> tuple[_Column, _Column, _Column, _Column]:
    """The low, high, plus and minus columns of a series with an interval.

    Error bars are drawn from amounts above and below the value, not from the bounds, so the sheet carries both:
    the bounds a reader recognises and the amounts as formulas of them (``MAX(0, …)``: an interval that does
    not contain its estimate draws no bar on that side rather than a reversed one).
    """
    assert one.lows is not None and one.highs is not None
    letters = [xl_col_to_name(first + k) for k in range(4)]
    lows = [_number(v) for v in one.lows]
    highs = [_number(v) for v in one.highs]
    plus: list[float | None] = []
    minus: list[float | None] = []
    plus_formulas: list[str | None] = []
    minus_formulas: list[str | None] = []
    for row, (value, low, high) in enumerate(zip(values.values, lows, highs, strict=True), start=2):
        if value is None or low is None or high is None:  # no error bar on a gap or a half-known interval
            plus.append(None)
            minus.append(None)
            plus_formulas.append(None)
            minus_formulas.append(None)
            continue
        plus.append(_tidy(max(0.0, high - value)))
        minus.append(_tidy(max(0.0, value - low)))
        plus_formulas.append(f"=MAX(0,{letters[1]}{row}-{values.letter}{row})")
        minus_formulas.append(f"=MAX(0,{values.letter}{row}-{letters[0]}{row})")
    return (
        _Column(letters[0], f"{one.name} {words['low']}", lows),
        _Column(letters[1], f"{one.name} {words['high']}", highs),
        _Column(letters[2], f"{one.name} {words['plus']}", plus, plus_formulas),
        _Column(letters[3], f"{one.name} {words['minus']}", minus, minus_formulas),
    )


def _default_range(kind: str, percent: bool, series: list[BarSeries]) -> tuple[float, float] | None:
    """0%–100% for shares; bars of other figures start at zero, since a bar's length is read as its value.

    Left to itself a reader may start the axis near the smallest bar (82 for scores of 85 and 90), which makes
    a small difference look large. Lines of plain figures, and bars that go below zero, keep the automatic axis.
    """
    if percent:
        return (0.0, 1.0)
    figures = [n for one in series for v in [*one.values, *(one.lows or [])] if (n := _number(v)) is not None]
    if kind == "bar" and figures and min(figures) >= 0:
        return (0.0, math.nan)
    return None


def _number(value: float | None) -> float | None:
    """A figure as a float, or ``None`` for a gap: NaN (pandas' missing value) is a gap too."""
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) or math.isinf(number) else number


def _tidy(number: float) -> float:
    """Round away the float noise of a subtraction (0.07000000000000006) that would show in the cache."""
    return round(number, 12)


def _default_height(chart: _Chart) -> float:
    """A height in cm that gives each horizontal bar room for its label; other charts are landscape-shaped.

    Horizontal bars need height per category (more when several series share it); capped at a page's height.
    """
    if chart.kind == "bar" and chart.horizontal:
        per_category = 0.35 + 0.45 * len(chart.series)
        legend = 1.0 if len(chart.series) > 1 else 0.0
        return round(min(22.0, max(5.0, 2.2 + legend + per_category * len(chart.categories))), 2)
    return 9.0


# --------------------------------------------------------------------------------------------------- the parts


def _insert(paragraph: Paragraph, chart: _Chart, width_cm: float, height_cm: float) -> None:
    """Create the chart and workbook parts, relate them, and put the inline drawing in a new run."""
    story_part = paragraph.part
    package = story_part.package
    assert package is not None
    chart_part = _ChartPart(package.next_partname(CHART_PARTNAME), package)
    chart_rid = story_part.relate_to(chart_part, RT_CHART)
    workbook_part = Part(
        package.next_partname(WORKBOOK_PARTNAME), WORKBOOK_CONTENT_TYPE, _workbook_bytes(chart), package
    )
    workbook_rid = chart_part.relate_to(workbook_part, RT_PACKAGE)
    chart_part.set_xml(
        etree.tostring(_chart_space(chart, workbook_rid), xml_declaration=True, encoding="UTF-8", standalone=True)
    )
    shape_id = story_part.next_id
    inline = parse_xml(_inline_xml(chart_rid, shape_id, chart.title, width_cm, height_cm))
    paragraph.add_run()._r.add_drawing(inline)


def _inline_xml(rid: str, shape_id: int, title: str, width_cm: float, height_cm: float) -> str:
    """The ``wp:inline`` Word writes for a chart; the title doubles as the alternative text for screen readers."""
    cx, cy = round(width_cm * EMU_PER_CM), round(height_cm * EMU_PER_CM)
    descr = _attr(title)
    return (
        f'<wp:inline xmlns:wp="{NS["wp"]}" xmlns:a="{NS["a"]}" xmlns:r="{NS["r"]}" distT="0" distB="0" distL="0"'
        f' distR="0"><wp:extent cx="{cx}" cy="{cy}"/><wp:effectExtent l="0" t="0" r="0" b="0"/>'
        f'<wp:docPr id="{shape_id}" name="Chart {shape_id}" descr="{descr}"/><wp:cNvGraphicFramePr/>'
        f'<a:graphic><a:graphicData uri="{CHART_URI}"><c:chart xmlns:c="{CHART_URI}" r:id="{rid}"/>'
        "</a:graphicData></a:graphic></wp:inline>"
    )


def _attr(text: str) -> str:
    """Escape text for an XML attribute value."""
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def _workbook_bytes(chart: _Chart) -> bytes:
    """The embedded workbook: the same figures as the chart's caches, where Edit Data opens them.

    Shares keep their fractions with a ``0.0%`` format, so the sheet computes with them as Word expects.
    """
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet(SHEET)
    figure = workbook.add_format({"num_format": "0.0%" if chart.percent else "General"})
    sheet.write_string(0, 0, chart.category_column.header)
    for row, category in enumerate(chart.categories, start=1):
        sheet.write_string(row, 0, category)
    columns = [s.values for s in chart.series] + chart.interval_columns
    for index, column in enumerate(columns, start=1):
        sheet.write_string(0, index, column.header)
        for row, value in enumerate(column.values, start=1):
            formula = column.formulas[row - 1] if column.formulas else None
            if formula is not None:
                sheet.write_formula(row, index, formula, figure, value)
            elif value is not None:
                sheet.write_number(row, index, value, figure)
    sheet.set_column(0, 0, max(10, min(40, max(len(c) for c in chart.categories) * 2)))
    sheet.set_column(1, len(columns), 12)
    workbook.close()
    return buffer.getvalue()


# ----------------------------------------------------------------------------------------------- the chart XML


def _q(name: str) -> str:
    """A prefixed name (``c:ser``) as lxml's Clark notation."""
    prefix, local = name.split(":")
    return f"{{{NS[prefix]}}}{local}"


def _el(parent: etree._Element, name: str, val: str | None = None, **attrs: str) -> etree._Element:
    """Append a child; ``val`` is the ``val`` attribute that most chart elements carry."""
    child = etree.SubElement(parent, _q(name))
    if val is not None:
        child.set("val", val)
    for key, value in attrs.items():
        child.set(key, value)
    return child


def _chart_space(chart: _Chart, workbook_rid: str) -> etree._Element:
    """The whole ``c:chartSpace``, its children in the order of the schema (Word refuses any other order)."""
    space = etree.Element(_q("c:chartSpace"), nsmap={k: NS[k] for k in ("c", "a", "r")})
    _el(space, "c:date1904", "0")
    _el(space, "c:lang", "zh-CN")
    _el(space, "c:roundedCorners", "0")
    body = _el(space, "c:chart")
    if chart.title:
        _title(body, chart)
    _el(body, "c:autoTitleDeleted", "0" if chart.title else "1")
    plot_area = _el(body, "c:plotArea")
    _el(plot_area, "c:layout")
    (_bar_chart if chart.kind == "bar" else _line_chart)(plot_area, chart)
    _category_axis(plot_area, chart)
    _value_axis(plot_area, chart)
    if len(chart.series) > 1:
        legend = _el(body, "c:legend")
        _el(legend, "c:legendPos", "b")
        _el(legend, "c:overlay", "0")
    _el(body, "c:plotVisOnly", "1")
    _el(body, "c:dispBlanksAs", "gap")
    frame = _el(space, "c:spPr")  # no border round the chart: the report's layout frames it
    _el(frame, "a:noFill")
    _el(_el(frame, "a:ln"), "a:noFill")
    _text_properties(space, chart, size=900)
    external = _el(space, "c:externalData", **{_q("r:id"): workbook_rid})
    _el(external, "c:autoUpdate", "0")
    return space


def _fonts(run_properties: etree._Element, chart: _Chart) -> None:
    """Latin and East Asian typefaces on a run's properties: without ``a:ea`` some readers draw no Chinese."""
    _el(run_properties, "a:latin", typeface=chart.latin_font)
    _el(run_properties, "a:ea", typeface=chart.east_asian_font)


def _text_properties(parent: etree._Element, chart: _Chart, *, size: int, bold: bool = False) -> None:
    """A ``c:txPr``: the default text of the chart (or of an axis or labels) in the chart's fonts."""
    tx = _el(parent, "c:txPr")
    _el(tx, "a:bodyPr")
    _el(tx, "a:lstStyle")
    paragraph = _el(tx, "a:p")
    defaults = _el(_el(paragraph, "a:pPr"), "a:defRPr", sz=str(size), b="1" if bold else "0")
    _fonts(defaults, chart)
    _el(paragraph, "a:endParaRPr", lang="zh-CN")


def _title(body: etree._Element, chart: _Chart) -> None:
    """The chart title as rich text (a run in the chart's fonts), not overlaid on the plot."""
    title = _el(body, "c:title")
    rich = _el(_el(title, "c:tx"), "c:rich")
    _el(rich, "a:bodyPr")
    _el(rich, "a:lstStyle")
    paragraph = _el(rich, "a:p")
    _fonts(_el(_el(paragraph, "a:pPr"), "a:defRPr", sz="1200", b="1"), chart)
    run = _el(paragraph, "a:r")
    _fonts(_el(run, "a:rPr", lang="zh-CN", altLang="en-US", sz="1200", b="1"), chart)
    _el(run, "a:t").text = chart.title
    _el(title, "c:overlay", "0")


def _bar_chart(plot_area: etree._Element, chart: _Chart) -> None:
    """A clustered ``c:barChart``: horizontal bars (``bar``) or columns (``col``)."""
    bars = _el(plot_area, "c:barChart")
    _el(bars, "c:barDir", "bar" if chart.horizontal else "col")
    _el(bars, "c:grouping", "clustered")
    _el(bars, "c:varyColors", "0")
    for index, columns in enumerate(chart.series):
        ser = _series_head(bars, chart, index, columns)
        fill = _el(ser, "c:spPr")
        _el(_el(fill, "a:solidFill"), "a:srgbClr", columns.color)
        _el(ser, "c:invertIfNegative", "0")
        # Beyond the bar's end the label would sit on the error bar; with an interval it goes inside, at the base.
        _data_labels(ser, chart, "inBase" if columns.plus is not None else "outEnd")
        _series_tail(ser, chart, columns)
    _el(bars, "c:gapWidth", "60")
    _axis_ids(bars)


def _line_chart(plot_area: etree._Element, chart: _Chart) -> None:
    """A ``c:lineChart`` with a marker at each round, so a lone point between gaps still shows."""
    lines = _el(plot_area, "c:lineChart")
    _el(lines, "c:grouping", "standard")
    _el(lines, "c:varyColors", "0")
    for index, columns in enumerate(chart.series):
        ser = _series_head(lines, chart, index, columns)
        stroke = _el(_el(ser, "c:spPr"), "a:ln", w="28575", cap="rnd")
        _el(_el(stroke, "a:solidFill"), "a:srgbClr", columns.color)
        _el(stroke, "a:round")
        marker = _el(ser, "c:marker")
        _el(marker, "c:symbol", "circle")
        _el(marker, "c:size", "6")
        marker_fill = _el(marker, "c:spPr")
        _el(_el(marker_fill, "a:solidFill"), "a:srgbClr", columns.color)
        _el(_el(_el(marker_fill, "a:ln", w="9525"), "a:solidFill"), "a:srgbClr", columns.color)
        _data_labels(ser, chart, "t")
        _series_tail(ser, chart, columns)
        _el(ser, "c:smooth", "0")
    _el(lines, "c:marker", "1")
    _axis_ids(lines)


def _series_head(parent: etree._Element, chart: _Chart, index: int, columns: _SeriesColumns) -> etree._Element:
    """A ``c:ser`` with its index, order and name (a reference to its header cell, with the name cached)."""
    ser = _el(parent, "c:ser")
    _el(ser, "c:idx", str(index))
    _el(ser, "c:order", str(index))
    _str_ref(_el(ser, "c:tx"), columns.values.header_ref, [columns.series.name])
    return ser


def _series_tail(ser: etree._Element, chart: _Chart, columns: _SeriesColumns) -> None:
    """The error bars (when the series has an interval), then the categories and the values."""
    if columns.plus is not None and columns.minus is not None:
        _error_bars(ser, chart, columns.plus, columns.minus)
    rows = len(chart.categories)
    _str_ref(_el(ser, "c:cat"), chart.category_column.range(rows), chart.categories)
    _num_ref(_el(ser, "c:val"), columns.values.range(rows), columns.values.values, _cache_format(chart))


def _error_bars(ser: etree._Element, chart: _Chart, plus: _Column, minus: _Column) -> None:
    """Custom error bars from the plus and minus columns: how an interval is drawn in a Word chart.

    No ``c:errDir``: bar and line charts have error bars along the value axis only, and Word leaves it out.
    """
    bars = _el(ser, "c:errBars")
    _el(bars, "c:errBarType", "both")
    _el(bars, "c:errValType", "cust")
    _el(bars, "c:noEndCap", "0")
    rows = len(chart.categories)
    _num_ref(_el(bars, "c:plus"), plus.range(rows), plus.values, _cache_format(chart))
    _num_ref(_el(bars, "c:minus"), minus.range(rows), minus.values, _cache_format(chart))
    line = _el(_el(bars, "c:spPr"), "a:ln", w="9525")
    _el(_el(line, "a:solidFill"), "a:srgbClr", "404040")


def _data_labels(ser: etree._Element, chart: _Chart, position: str) -> None:
    """Each point's value beside it, in the chart's number format (``0.0%`` for shares)."""
    labels = _el(ser, "c:dLbls")
    _el(labels, "c:numFmt", formatCode=chart.number_format, sourceLinked="0")
    frame = _el(labels, "c:spPr")
    _el(frame, "a:noFill")
    _el(_el(frame, "a:ln"), "a:noFill")
    _text_properties(labels, chart, size=800)
    _el(labels, "c:dLblPos", position)
    for flag, on in (("showLegendKey", 0), ("showVal", 1), ("showCatName", 0), ("showSerName", 0)):
        _el(labels, f"c:{flag}", str(on))
    _el(labels, "c:showPercent", "0")
    _el(labels, "c:showBubbleSize", "0")


def _cache_format(chart: _Chart) -> str:
    """The format code of the cached figures, as the sheet's cells carry it."""
    return "0.0%" if chart.percent else "General"


def _str_ref(parent: etree._Element, formula: str, texts: Sequence[str]) -> None:
    """A ``c:strRef``: the formula and a cache of the texts (series name or categories)."""
    ref = _el(parent, "c:strRef")
    _el(ref, "c:f").text = formula
    cache = _el(ref, "c:strCache")
    _el(cache, "c:ptCount", str(len(texts)))
    for index, text in enumerate(texts):
        _el(_el(cache, "c:pt", idx=str(index)), "c:v").text = text


def _num_ref(parent: etree._Element, formula: str, values: Sequence[float | None], format_code: str) -> None:
    """A ``c:numRef``: the formula and a cache of the figures; a missing figure has no ``c:pt`` (a gap)."""
    ref = _el(parent, "c:numRef")
    _el(ref, "c:f").text = formula
    cache = _el(ref, "c:numCache")
    _el(cache, "c:formatCode").text = format_code
    _el(cache, "c:ptCount", str(len(values)))
    for index, value in enumerate(values):
        if value is not None:
            _el(_el(cache, "c:pt", idx=str(index)), "c:v").text = repr(value)


def _axis_ids(chart_group: etree._Element) -> None:
    """The two axes a chart group is plotted on."""
    _el(chart_group, "c:axId", CAT_AX_ID)
    _el(chart_group, "c:axId", VAL_AX_ID)


def _category_axis(plot_area: etree._Element, chart: _Chart) -> None:
    """The category axis; for horizontal bars it runs top-down (``maxMin``), so the first category is on top."""
    axis = _el(plot_area, "c:catAx")
    _el(axis, "c:axId", CAT_AX_ID)
    top_down = chart.kind == "bar" and chart.horizontal
    _el(_el(axis, "c:scaling"), "c:orientation", "maxMin" if top_down else "minMax")
    _el(axis, "c:delete", "0")
    _el(axis, "c:axPos", "l" if top_down else "b")
    _el(axis, "c:numFmt", formatCode="General", sourceLinked="1")
    _el(axis, "c:majorTickMark", "none" if top_down else "out")
    _el(axis, "c:minorTickMark", "none")
    _el(axis, "c:tickLblPos", "nextTo")
    _text_properties(axis, chart, size=900)
    _el(axis, "c:crossAx", VAL_AX_ID)
    _el(axis, "c:crosses", "autoZero")
    _el(axis, "c:auto", "1")
    _el(axis, "c:lblAlgn", "ctr")
    _el(axis, "c:lblOffset", "100")
    _el(axis, "c:noMultiLvlLbl", "0")


def _value_axis(plot_area: etree._Element, chart: _Chart) -> None:
    """The value axis with light gridlines; 0%–100% for shares.

    Under a top-down category axis it crosses at the last category (``crosses max``), so it stays at the bottom.
    """
    axis = _el(plot_area, "c:valAx")
    _el(axis, "c:axId", VAL_AX_ID)
    scaling = _el(axis, "c:scaling")
    _el(scaling, "c:orientation", "minMax")
    if chart.axis_range is not None:
        low, high = chart.axis_range
        if not math.isnan(high):  # NaN: only the minimum is fixed
            _el(scaling, "c:max", repr(float(high)))
        if not math.isnan(low):
            _el(scaling, "c:min", repr(float(low)))
    _el(axis, "c:delete", "0")
    top_down = chart.kind == "bar" and chart.horizontal
    _el(axis, "c:axPos", "b" if top_down else "l")
    grid = _el(_el(_el(axis, "c:majorGridlines"), "c:spPr"), "a:ln", w="6350")
    _el(_el(grid, "a:solidFill"), "a:srgbClr", "D9D9D9")
    _el(axis, "c:numFmt", formatCode="0%" if chart.percent else "General", sourceLinked="0")
    _el(axis, "c:majorTickMark", "out")
    _el(axis, "c:minorTickMark", "none")
    _el(axis, "c:tickLblPos", "nextTo")
    _text_properties(axis, chart, size=900)
    _el(axis, "c:crossAx", CAT_AX_ID)
    _el(axis, "c:crosses", "max" if top_down else "autoZero")
    _el(axis, "c:crossBetween", "between")
    if chart.percent and chart.axis_range == (0.0, 1.0):
        _el(axis, "c:majorUnit", "0.2")
