"""Native Word charts (``survey.reports.docx_charts``): chart parts with their data embedded, not pictures.

A report with a clustered bar chart (two rounds, 95% intervals, one missing figure) and a line chart (a trend with
a missing round) is saved and read back: the chart and workbook parts are there with Word's content types and
relationships; the chart XML names its series and categories, caches the figures (a gap where one is missing),
draws the intervals as custom error bars and sets Chinese in a CJK typeface; and the embedded workbook, where Word's
Edit Data opens, holds the same figures. Then LibreOffice draws the report as a PDF, and the chart text it draws
(titles, categories, data labels, axis ticks) must be in it: it read the charts, not some placeholder. Without
LibreOffice that check is skipped, except in CI (``SURVEY_REQUIRE_SERVICES=1``), where it must run.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pypdf
import pytest
from docx import Document
from lxml import etree

from survey.reports.docx_charts import (
    CHART_CONTENT_TYPE,
    RT_CHART,
    RT_PACKAGE,
    WORKBOOK_CONTENT_TYPE,
    BarSeries,
    LineSeries,
    add_bar_chart,
    add_line_chart,
)
from tests.conftest import unavailable

NS = {
    "c": "http://schemas.openxmlformats.org/drawingml/2006/chart",
    "a": "http://schemas.openxmlformats.org/drawingml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "wp": "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
}
CATEGORIES = ["治安巡逻", "窗口服务", "交通管理", "消防安全"]
BAR_TITLE = "各项服务满意度（95%置信区间）"
LINE_TITLE = "群众安全感趋势"
ROUNDS = ["2023年", "2024年", "2025年", "2026年"]
TIMEOUT = 120


def _report() -> bytes:
    """A report with a bar chart of two rounds with intervals (one figure missing) and a line chart."""
    document = Document()
    document.add_paragraph("满意度调查报告")
    add_bar_chart(
        document.add_paragraph(),
        title=BAR_TITLE,
        categories=CATEGORIES,
        series=[
            BarSeries(
                "2025年", [0.82, 0.75, None, 0.91], lows=[0.78, 0.70, None, 0.88], highs=[0.86, 0.80, None, 0.94]
            ),
            BarSeries("2026年", [0.85, 0.79, 0.66, 0.93], lows=[0.81, 0.74, 0.6, 0.9], highs=[0.89, 0.84, 0.72, 0.96]),
        ],
    )
    add_line_chart(
        document.add_paragraph(),
        title=LINE_TITLE,
        categories=ROUNDS,
        series=[
            LineSeries("安全感", [0.88, 0.9, None, 0.93], lows=[0.85, 0.87, None, 0.9], highs=[0.91, 0.93, None, 0.96])
        ],
    )
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def report() -> bytes:
    return _report()


def _charts(body: bytes) -> list:
    """The chart parts of the saved report, in the order of the document's relationships."""
    document = Document(io.BytesIO(body))
    rels = sorted(
        (r for r in document.part.rels.values() if r.reltype == RT_CHART), key=lambda r: r.target_part.partname
    )
    return [r.target_part for r in rels]


def _xml(part) -> etree._Element:
    return etree.fromstring(part.blob)


def _cached(ref: etree._Element) -> dict[int, str]:
    """A ``c:numCache`` or ``c:strCache`` as {point index: text}."""
    return {int(pt.get("idx")): pt.findtext("c:v", namespaces=NS) for pt in ref.iterfind(".//c:pt", NS)}


def test_chart_parts_and_relationships_are_as_word_writes_them(report):
    document = Document(io.BytesIO(report))
    charts = [r for r in document.part.rels.values() if r.reltype == RT_CHART]
    assert sorted(str(r.target_part.partname) for r in charts) == ["/word/charts/chart1.xml", "/word/charts/chart2.xml"]
    workbooks = set()
    for rel in charts:
        chart = rel.target_part
        assert chart.content_type == CHART_CONTENT_TYPE
        (package_rel,) = chart.rels.values()
        assert package_rel.reltype == RT_PACKAGE
        assert package_rel.target_part.content_type == WORKBOOK_CONTENT_TYPE
        workbooks.add(str(package_rel.target_part.partname))
        external = _xml(chart).find("c:externalData", NS)
        assert external.get(f"{{{NS['r']}}}id") == package_rel.rId
        assert external.find("c:autoUpdate", NS).get("val") == "0"
    assert workbooks == {f"/word/embeddings/Microsoft_Excel_Worksheet{n}.xlsx" for n in (1, 2)}
    # Each chart is an inline drawing in the body that names its chart part, with the title as alternative text.
    body = document.element.body
    inlines = body.xpath(".//w:drawing/wp:inline")
    assert len(inlines) == 2
    named = [i.xpath("./a:graphic/a:graphicData/c:chart/@r:id")[0] for i in inlines]
    assert {document.part.rels[rid].target_part.partname for rid in named} == {r.target_part.partname for r in charts}
    assert [i.xpath("./wp:docPr/@descr")[0] for i in inlines] == [BAR_TITLE, LINE_TITLE]
    assert len({i.xpath("./wp:docPr/@id")[0] for i in inlines}) == 2


def test_bar_chart_xml_carries_series_categories_figures_and_intervals(report):
    space = _xml(_charts(report)[0])
    assert space.find("c:date1904", NS).get("val") == "0"
    assert space.find("c:lang", NS).get("val") == "zh-CN"
    assert space.find("c:roundedCorners", NS).get("val") == "0"
    chart = space.find("c:chart", NS)
    assert "".join(chart.xpath("c:title//a:t/text()", namespaces=NS)) == BAR_TITLE
    assert chart.xpath("c:title//a:rPr/a:ea/@typeface", namespaces=NS) == ["宋体"]
    assert chart.find("c:autoTitleDeleted", NS).get("val") == "0"
    assert chart.find("c:legend", NS) is not None  # two series
    assert chart.find("c:plotVisOnly", NS).get("val") == "1"
    bars = chart.find("c:plotArea/c:barChart", NS)
    assert bars.find("c:barDir", NS).get("val") == "bar" and bars.find("c:grouping", NS).get("val") == "clustered"
    first, second = bars.findall("c:ser", NS)
    assert first.findtext("c:tx/c:strRef/c:f", namespaces=NS) == "Sheet1!$B$1"
    assert _cached(first.find("c:tx/c:strRef", NS)) == {0: "2025年"}
    assert second.findtext("c:tx/c:strRef/c:f", namespaces=NS) == "Sheet1!$C$1"
    assert first.findtext("c:cat/c:strRef/c:f", namespaces=NS) == "Sheet1!$A$2:$A$5"
    assert _cached(first.find("c:cat/c:strRef/c:strCache", NS)) == dict(enumerate(CATEGORIES))
    values = first.find("c:val/c:numRef", NS)
    assert values.findtext("c:f", namespaces=NS) == "Sheet1!$B$2:$B$5"
    assert values.findtext("c:numCache/c:formatCode", namespaces=NS) == "0.0%"
    assert values.find("c:numCache/c:ptCount", NS).get("val") == "4"
    assert {i: float(v) for i, v in _cached(values).items()} == {0: 0.82, 1: 0.75, 3: 0.91}  # no point 2: a gap
    assert [float(v) for v in _cached(second.find("c:val/c:numRef", NS)).values()] == [0.85, 0.79, 0.66, 0.93]
    # The intervals: custom error bars, plus = high − value and minus = value − low, from the sheet's columns.
    errors = first.find("c:errBars", NS)
    assert errors.find("c:errValType", NS).get("val") == "cust"
    assert errors.find("c:errBarType", NS).get("val") == "both"
    plus, minus = errors.find("c:plus/c:numRef", NS), errors.find("c:minus/c:numRef", NS)
    assert plus.findtext("c:f", namespaces=NS) == "Sheet1!$F$2:$F$5"
    assert minus.findtext("c:f", namespaces=NS) == "Sheet1!$G$2:$G$5"
    assert {i: float(v) for i, v in _cached(plus).items()} == pytest.approx({0: 0.04, 1: 0.05, 3: 0.03})
    assert {i: float(v) for i, v in _cached(minus).items()} == pytest.approx({0: 0.04, 1: 0.05, 3: 0.03})
    assert _cached(plus)[0] == "0.04"  # no float noise (0.040000000000000036) in the cache
    assert {i: float(v) for i, v in _cached(second.find("c:errBars/c:minus/c:numRef", NS)).items()} == pytest.approx(
        {0: 0.04, 1: 0.05, 2: 0.06, 3: 0.03}
    )
    # Shares: labels 0.0%, a 0%–100% axis; the first category at the top.
    assert first.find("c:dLbls/c:numFmt", NS).get("formatCode") == "0.0%"
    axis = chart.find("c:plotArea/c:valAx", NS)
    assert axis.find("c:numFmt", NS).get("formatCode") == "0%"
    assert float(axis.find("c:scaling/c:min", NS).get("val")) == 0.0
    assert float(axis.find("c:scaling/c:max", NS).get("val")) == 1.0
    assert chart.find("c:plotArea/c:catAx/c:scaling/c:orientation", NS).get("val") == "maxMin"
    # Chinese categories and labels draw in the CJK typeface too.
    assert set(space.xpath("//a:defRPr/a:ea/@typeface", namespaces=NS)) == {"宋体"}


def test_line_chart_xml_has_markers_intervals_and_a_gap(report):
    space = _xml(_charts(report)[1])
    chart = space.find("c:chart", NS)
    assert "".join(chart.xpath("c:title//a:t/text()", namespaces=NS)) == LINE_TITLE
    assert chart.find("c:legend", NS) is None  # one series: its name is the title's business
    lines = chart.find("c:plotArea/c:lineChart", NS)
    (ser,) = lines.findall("c:ser", NS)
    assert ser.find("c:marker/c:symbol", NS).get("val") == "circle"
    assert _cached(ser.find("c:cat/c:strRef/c:strCache", NS)) == dict(enumerate(ROUNDS))
    assert sorted(_cached(ser.find("c:val/c:numRef", NS))) == [0, 1, 3]
    assert sorted(_cached(ser.find("c:errBars/c:plus/c:numRef", NS))) == [0, 1, 3]
    assert chart.find("c:dispBlanksAs", NS).get("val") == "gap"


def test_embedded_workbook_holds_the_same_figures(report):
    chart = _charts(report)[0]
    (package_rel,) = chart.rels.values()
    blob = package_rel.target_part.blob
    formulas = openpyxl.load_workbook(io.BytesIO(blob))
    cached = openpyxl.load_workbook(io.BytesIO(blob), data_only=True)
    assert cached.sheetnames == ["Sheet1"]
    rows = list(cached["Sheet1"].iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == CATEGORIES
    assert rows[0][1:3] == ("2025年", "2026年")
    assert [row[1] for row in rows[1:]] == [0.82, 0.75, None, 0.91]
    assert [row[2] for row in rows[1:]] == [0.85, 0.79, 0.66, 0.93]
    assert [row[3] for row in rows[1:]] == [0.78, 0.70, None, 0.88]  # low
    assert [row[4] for row in rows[1:]] == [0.86, 0.80, None, 0.94]  # high
    assert [row[5] for row in rows[1:]] == pytest.approx([0.04, 0.05, None, 0.03])  # plus, as cached
    sheet = formulas["Sheet1"]
    assert sheet["F2"].value == "=MAX(0,E2-B2)" and sheet["G2"].value == "=MAX(0,B2-D2)"
    assert sheet["F4"].value is None  # the missing figure has no error bar to compute
    assert sheet["B2"].number_format == "0.0%"


def test_more_charts_in_a_reopened_report_get_new_part_names(report):
    document = Document(io.BytesIO(report))
    add_bar_chart(
        document.add_paragraph(),
        title="得分",
        categories=["甲", "乙"],
        series=[BarSeries("得分", [85.2, 90.1], color="#70ad47")],
        percent=False,
        horizontal=False,
    )
    buffer = io.BytesIO()
    document.save(buffer)
    charts = _charts(buffer.getvalue())
    assert [str(c.partname) for c in charts] == [f"/word/charts/chart{n}.xml" for n in (1, 2, 3)]
    (package_rel,) = charts[2].rels.values()
    assert str(package_rel.target_part.partname) == "/word/embeddings/Microsoft_Excel_Worksheet3.xlsx"
    space = _xml(charts[2])
    assert space.find(".//c:barDir", NS).get("val") == "col"
    assert space.find(".//c:ser/c:spPr//a:srgbClr", NS).get("val") == "70AD47"
    assert space.find(".//c:dLbls/c:numFmt", NS).get("formatCode") == "#,##0.0"
    axis = space.find(".//c:valAx", NS)
    assert axis.find("c:numFmt", NS).get("formatCode") == "General"
    assert float(axis.find("c:scaling/c:min", NS).get("val")) == 0.0  # bars start at zero
    assert axis.find("c:scaling/c:max", NS) is None
    assert space.find(".//c:errBars", NS) is None


@pytest.mark.parametrize(
    ("series", "message"),
    [
        (BarSeries("a", [0.1, 0.2, 0.3]), "3 values for 2 categories"),
        (BarSeries("a", [0.1, 0.2], lows=[0.0, 0.1], highs=[0.2]), "1 highs for 2 categories"),
    ],
)
def test_figures_must_match_the_categories(series, message):
    with pytest.raises(ValueError, match=message):
        add_bar_chart(Document().add_paragraph(), title="t", categories=["x", "y"], series=[series])


def test_a_series_needs_both_ends_of_its_interval_and_a_hex_colour():
    with pytest.raises(ValueError, match="both lows and highs"):
        BarSeries("a", [0.1], lows=[0.0])
    with pytest.raises(ValueError, match="hex RGB"):
        BarSeries("a", [0.1], color="blue")


# ---------------------------------------------------------------- LibreOffice


def test_libreoffice_draws_the_charts(report, tmp_path: Path):
    program = shutil.which("soffice") or shutil.which("libreoffice")
    if program is None:
        unavailable("LibreOffice (soffice) is not installed: apt-get install libreoffice-writer-nogui")
    source = tmp_path / "report.docx"
    source.write_bytes(report)
    out = tmp_path / "out"
    command = [
        program, f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}", "--headless", "--norestore",
        "--convert-to", "pdf", "--outdir", str(out), str(source),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    pdf = out / "report.pdf"
    assert done.returncode == 0 and pdf.exists(), (
        f"no PDF (is libreoffice-writer-nogui installed?): {done.stdout}{done.stderr}"
    )
    assert pdf.stat().st_size > 0
    # The chart text LibreOffice drew: so it read each chart from its part, caches and all.
    text = "".join(page.extract_text() for page in pypdf.PdfReader(pdf).pages)
    flat = text.replace(" ", "").replace("\n", "")
    for word in [BAR_TITLE, LINE_TITLE, *CATEGORIES, *ROUNDS, "2025年", "82.0%", "66.0%", "93.0%", "100%"]:
        assert word in flat, word
