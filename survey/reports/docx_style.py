"""How the Word report looks: Chinese fonts set where Word and WPS read them, 三线表 tables, numbered captions.

Word picks a run's font for Chinese characters from ``w:rFonts/@w:eastAsia``; without it Word and WPS fall back to
whatever their East Asian default is, and a report typed in 宋体 comes back in a Latin font's fallback. So every run
this module makes, and every style it defines, names its East Asian font explicitly. Flask-free.
"""

from __future__ import annotations

from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import Table
from docx.text.paragraph import Paragraph
from docx.text.run import Run

BODY_FONT = "宋体"  # SimSun: the body of Chinese official reports
HEADING_FONT = "黑体"  # SimHei
CAPTION_FONT = "仿宋"  # FangSong: captions, notes and table text
LATIN_FONT = "Times New Roman"
BODY_SIZE = Pt(12)  # 小四
TABLE_SIZE = Pt(10.5)  # 五号
RULE_THICK = 12  # eighths of a point: 1.5 pt, the top and bottom rules of a 三线表
RULE_THIN = 6  # 0.75 pt, under the header row


def set_fonts(element, east_asian: str = BODY_FONT, latin: str = LATIN_FONT) -> None:
    """Name the fonts on a run's or a style's ``w:rPr``: East Asian for Chinese, Latin for the rest."""
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attribute, name in (("w:ascii", latin), ("w:hAnsi", latin), ("w:cs", latin), ("w:eastAsia", east_asian)):
        fonts.set(qn(attribute), name)


def add_run(paragraph: Paragraph, text: str, *, bold: bool = False, font: str = BODY_FONT, size=None) -> Run:
    """A run of text with its fonts named (see the module docstring)."""
    run = paragraph.add_run(text)
    run.bold = bold or None
    if size is not None:
        run.font.size = size
    set_fonts(run._r, font)
    return run


def style_document(document) -> None:
    """Normal text in 宋体 小四, headings in 黑体, with the East Asian fonts on the styles themselves, so text an
    evaluator types into the template inherits them."""
    normal = document.styles["Normal"]
    normal.font.size = BODY_SIZE
    set_fonts(normal.element, BODY_FONT)
    for name, size in (("Title", Pt(18)), ("Heading 1", Pt(16)), ("Heading 2", Pt(14)), ("Heading 3", Pt(12))):
        style = document.styles[name]
        style.font.size = size
        style.font.bold = True
        style.font.color.rgb = None
        set_fonts(style.element, HEADING_FONT)


def fonts_everywhere(document) -> None:
    """Give every run of the document (body, tables, headers and footers) an East Asian font if it has none: the
    template's own runs, typed by an evaluator, included."""
    parts = [document.part, *(s.header.part for s in document.sections), *(s.footer.part for s in document.sections)]
    for part in parts:
        for run in part.element.iter(qn("w:r")):
            rpr = run.find(qn("w:rPr"))
            fonts = rpr.find(qn("w:rFonts")) if rpr is not None else None
            if fonts is None or fonts.get(qn("w:eastAsia")) is None:
                if rpr is None:
                    rpr = OxmlElement("w:rPr")
                    run.insert(0, rpr)
                if fonts is None:
                    fonts = OxmlElement("w:rFonts")
                    rpr.insert(0, fonts)
                fonts.set(qn("w:eastAsia"), BODY_FONT)
                for attribute in ("w:ascii", "w:hAnsi"):
                    if fonts.get(qn(attribute)) is None:
                        fonts.set(qn(attribute), LATIN_FONT)


def caption(paragraph: Paragraph, label: str, number: int, title: str) -> Paragraph:
    """A caption, 表 3　各题比率 above a table or 图 1　… under a figure: centred, in 黑体, numbered in document
    order, kept on the page of what follows it."""
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.keep_with_next = True
    add_run(paragraph, f"{label} {number}　{title}", bold=True, font=HEADING_FONT, size=TABLE_SIZE)
    return paragraph


def note(paragraph: Paragraph, text: str) -> Paragraph:
    """A definition or source note under a table, in 仿宋 五号."""
    add_run(paragraph, text, font=CAPTION_FONT, size=TABLE_SIZE)
    return paragraph


def _border(name: str, size: int) -> OxmlElement:
    element = OxmlElement(f"w:{name}")
    element.set(qn("w:val"), "single" if size else "nil")
    if size:
        element.set(qn("w:sz"), str(size))
        element.set(qn("w:space"), "0")
        element.set(qn("w:color"), "000000")
    return element


def three_line(table: Table) -> None:
    """The 三线表 of Chinese reports: a thick rule above and below the table, a thin one under the header row,
    no vertical rules."""
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    properties = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for name, size in (("top", RULE_THICK), ("left", 0), ("bottom", RULE_THICK), ("right", 0)):
        borders.append(_border(name, size))
    borders.append(_border("insideH", 0))
    borders.append(_border("insideV", 0))
    properties.append(borders)
    for cell in table.rows[0].cells:
        cell_borders = OxmlElement("w:tcBorders")
        cell_borders.append(_border("bottom", RULE_THIN))
        cell._tc.get_or_add_tcPr().append(cell_borders)


def set_widths(table: Table, widths_cm: tuple[float, ...]) -> None:
    """Fixed column widths (Word reads each cell's width; a merged cell keeps its first column's)."""
    table.autofit = False
    for column, width in zip(table.columns, widths_cm, strict=False):
        column.width = Cm(width)  # the table grid, which LibreOffice and WPS lay out from
    for row in table.rows:
        for cell, width in zip(row.cells, widths_cm, strict=False):
            cell.width = Cm(width)


def fill_cell(cell, text: str, *, bold: bool = False, right: bool = False) -> None:
    """A table cell's text in 仿宋 五号 (numbers right-aligned)."""
    paragraph = cell.paragraphs[0]
    if right:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    add_run(paragraph, text, bold=bold, font=CAPTION_FONT, size=TABLE_SIZE)
