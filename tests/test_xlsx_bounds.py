"""Uploaded workbooks that are small but cost a reader much: refused fast, in words, by every importer.

The attack of the hardening issue: a 373 KB .xlsx whose shared-strings table holds 9 million strings
(153 MB unpacked, under the 200 MB guard) held openpyxl for about a minute in each of the three importers
(responses, XLSForm questionnaires, indicator tables). ``survey.platform.xlsx_guard`` now counts strings and
markup while unpacking, before openpyxl reads a byte; the smaller documents get smaller bounds.
"""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from survey.collection import import_reading
from survey.indicators import table_files as indicator_io
from survey.indicators.table_files import IndicatorFormatError, load_table, say_plain
from survey.platform import xlsx_guard
from survey.questionnaires import xlsform
from survey.questionnaires.definition import DefinitionError
from survey.questionnaires.portable import parse_definition
from survey.questionnaires.xlsform import definition_from_xlsform
from tests.conftest import login
from tests.helpers import make_project, published

FAST = 3.0  # seconds; the unbounded reads took about 60 s of CPU each (measured figures in the report)
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def workbook(
    sheet_data: str | bytes = "",
    *,
    title: str = "Sheet1",
    strings: int = 0,
    strings_part: str = "xl/sharedStrings.xml",
    after_data: str = "",
) -> bytes:
    """A minimal .xlsx openpyxl reads: one sheet, and ``strings`` shared strings ("x") in ``strings_part``."""
    types = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        + (f'<Override PartName="/{strings_part}" ContentType="{STRINGS_TYPE}"/>' if strings else "")
        + "</Types>"
    )
    rels = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="xl/workbook.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
        "</Relationships>"
    )
    book = (
        f'<workbook xmlns="{MAIN}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f'<sheets><sheet name="{title}" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    book_rels = (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="worksheets/sheet1.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"/>'
        "</Relationships>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("_rels/.rels", rels)
        archive.writestr("xl/workbook.xml", book)
        archive.writestr("xl/_rels/workbook.xml.rels", book_rels)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f'<worksheet xmlns="{MAIN}"><sheetData>'.encode())
            sheet.write(sheet_data.encode() if isinstance(sheet_data, str) else sheet_data)
            sheet.write(f"</sheetData>{after_data}</worksheet>".encode())
        if strings:
            with archive.open(strings_part, "w", force_zip64=True) as table:
                table.write(f'<sst xmlns="{MAIN}" count="{strings}" uniqueCount="{strings}">'.encode())
                block = 100_000
                for start in range(0, strings, block):
                    table.write(b"<si><t>x</t></si>" * min(block, strings - start))
                table.write(b"</sst>")
    return buffer.getvalue()


def row(number: int, *texts: str) -> str:
    cells = "".join(
        f'<c r="{chr(65 + i)}{number}" t="inlineStr"><is><t>{text}</t></is></c>' for i, text in enumerate(texts)
    )
    return f'<row r="{number}">{cells}</row>'


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """The issue's attack: 9 million shared strings, 153 MB unpacked, under 400 KB."""
    data = workbook(row(1, "序号", "q1") + row(2, "1", "a"), strings=9_000_000)
    assert len(data) < 400 * 1024
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert 150_000_000 < sum(i.file_size for i in archive.infolist()) < xlsx_guard.MAX_UNPACKED
    return data


def timed(call, *args):
    started = time.process_time()
    try:
        call(*args)
    except Exception as error:  # noqa: BLE001 - the caller checks which
        return error, time.process_time() - started
    return None, time.process_time() - started


# ---------------------------------------------------------------- the attack, in each importer


def test_the_guard_refuses_nine_million_shared_strings_fast(bomb):
    error, cpu = timed(xlsx_guard.check_xlsx, bomb)
    assert isinstance(error, xlsx_guard.XlsxRefused)
    assert (error.reason, error.what, error.limit) == ("too_big", "strings", xlsx_guard.MAX_SHARED_STRINGS)
    assert error.part == "xl/sharedStrings.xml"
    assert cpu < FAST


def test_the_responses_importer_refuses_the_attack_fast(bomb):
    error, cpu = timed(import_reading.read_table, bomb)
    assert isinstance(error, import_reading.FileProblem)
    assert cpu < FAST


def test_the_xlsform_importer_refuses_the_attack_fast(bomb):
    error, cpu = timed(definition_from_xlsform, bomb)
    assert isinstance(error, DefinitionError)
    assert "解压后超过 20 MB" in str(error.problems[0].message)
    assert cpu < FAST


def test_the_indicator_importer_refuses_the_attack_fast(bomb):
    error, cpu = timed(load_table, bomb, "附件1.xlsx")
    assert isinstance(error, IndicatorFormatError)
    assert "解压后超过 8 MB" in say_plain(error.problems[0][1])
    assert cpu < FAST


def test_smaller_documents_have_smaller_string_bounds():
    """Under their size bounds, too: an XLSForm or indicator table never has 100,000 distinct texts."""
    data = workbook(row(1, "type", "name", "label"), title="survey", strings=300_000)
    error, cpu = timed(definition_from_xlsform, data)
    assert isinstance(error, DefinitionError) and cpu < FAST
    assert str(error.problems[0].message) == (
        f"这个 XLSX 文件含有超过 {xlsform.XLSX_MAX_STRINGS} 个不同的文字（共享字符串），无法导入。"
    )
    error, cpu = timed(load_table, data, "附件1.xlsx")
    assert isinstance(error, IndicatorFormatError) and cpu < FAST
    assert say_plain(error.problems[0][1]) == (
        f"这个 XLSX 文件含有超过 {indicator_io.XLSX_MAX_STRINGS} 个不同的文字（共享字符串），无法导入。"
    )


# ---------------------------------------------------------------- the bounds themselves


def test_a_renamed_shared_strings_part_is_found_by_its_content_type():
    """openpyxl finds the table by ``[Content_Types].xml``, whatever the part is called; so does the guard."""
    data = workbook(strings=2_000, strings_part="xl/words.bin")
    with pytest.raises(xlsx_guard.XlsxRefused) as refused:
        xlsx_guard.check_xlsx(data, max_strings=1_000)
    assert (refused.value.what, refused.value.part) == ("strings", "xl/words.bin")
    xlsx_guard.check_xlsx(data, max_strings=2_000)  # exactly at the bound is allowed


def test_markup_is_bounded_per_part_whatever_the_element_names():
    cells = "".join(f'<row r="{r}"><c r="A{r}"><v>1</v></c></row>' for r in range(1, 2_001))  # 12,000 "<"
    data = workbook(cells)
    with pytest.raises(xlsx_guard.XlsxRefused) as refused:
        xlsx_guard.check_xlsx(data, max_markup=11_000)
    assert (refused.value.what, refused.value.part) == ("markup", "xl/worksheets/sheet1.xml")
    xlsx_guard.check_xlsx(data, max_markup=12_010)


def test_a_shared_strings_table_is_bounded_by_its_markup_too():
    """Rich-text runs or foreign prefixes cannot hide strings from the bound: ``<`` is counted regardless."""
    rich = b"<si><r><t>a</t></r><r><t>b</t></r><r><t>c</t></r></si>" * 1_000  # 14 "<" per string
    buffer = io.BytesIO(workbook(strings=1))
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("xl/rich/sharedStrings.xml", b'<x:sst xmlns:x="' + MAIN.encode() + b'">' + rich + b"</x:sst>")
    with pytest.raises(xlsx_guard.XlsxRefused) as refused:
        xlsx_guard.check_xlsx(buffer.getvalue(), max_strings=1_500)
    assert (refused.value.what, refused.value.part) == ("markup", "xl/rich/sharedStrings.xml")


def test_a_response_sized_export_passes_the_guard():
    """2,000 rows × 30 shared-string cells: far inside every default bound, and quick to check."""
    sheet = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{chr(65 + c)}{r}" t="s"><v>0</v></c>' for c in range(26)) + "</row>"
        for r in range(1, 2_001)
    )
    error, cpu = timed(xlsx_guard.check_xlsx, workbook(sheet, strings=50_000))
    assert error is None and cpu < FAST


def test_merged_ranges_are_bounded_for_the_indicator_import():
    """A full openpyxl load makes an object per merged cell: one tag would otherwise ask for a million."""
    data = workbook(
        row(1, "一级指标"), title="附件1", after_data='<mergeCells count="1"><mergeCell ref="A2:T50001"/></mergeCells>'
    )
    error, cpu = timed(load_table, data, "附件1.xlsx")
    assert isinstance(error, IndicatorFormatError) and cpu < FAST
    assert say_plain(error.problems[0][1]) == (
        f"这个 XLSX 文件的合并单元格或链接范围共超过 {indicator_io.XLSX_MAX_RANGE_CELLS} 个单元格，无法导入。"
    )


def test_an_indicator_sheet_far_too_long_is_refused_before_it_is_walked():
    data = workbook(row(1, "一级指标") + row(indicator_io.MAX_SHEET_ROWS + 1, "x"), title="附件1")
    error, cpu = timed(load_table, data, "附件1.xlsx")
    assert isinstance(error, IndicatorFormatError) and cpu < FAST
    assert "超过 5000 行或 100 列" in say_plain(error.problems[0][1])


def test_xlsform_rows_are_read_no_wider_than_the_bound():
    """One empty cell in column XFD per row made openpyxl pad every row to 16,384 cells, each then read."""
    rows = "".join(f'<row r="{r}"><c r="XFD{r}"/></row>' for r in range(2, 15_002))
    data = workbook(row(1, "type", "name", "label") + rows, title="survey")
    error, cpu = timed(definition_from_xlsform, data)
    assert isinstance(error, DefinitionError) and cpu < FAST
    assert "没有可以导入的题目" in str(error.problems[0].message)  # what lies past column 200 is not read


def test_xlsform_rows_are_bounded():
    data = workbook(
        row(1, "type", "name", "label") + row(xlsform.MAX_SHEET_ROWS + 5, "text", "q1", "问"), title="survey"
    )
    error, cpu = timed(definition_from_xlsform, data)
    assert isinstance(error, DefinitionError) and cpu < FAST
    assert str(error.problems[0].message) == f"工作表“survey”超过 {xlsform.MAX_SHEET_ROWS} 行，无法导入。"


# ---------------------------------------------------------------- a questionnaire as JSON


@pytest.mark.parametrize("data", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000])
def test_a_questionnaire_json_nested_past_the_parser_stack_is_a_problem_not_a_crash(data):
    with pytest.raises(DefinitionError) as refused:
        parse_definition(data, "q.json")
    assert str(refused.value.problems[0].message) == "JSON 嵌套太深，不是一份问卷定义。"


# ---------------------------------------------------------------- through the desk's upload forms


def test_every_upload_form_refuses_the_attack_fast(app, client, evaluator, bomb):
    project = make_project(evaluator)
    questionnaire = published(project)
    assert login(client, "alice", "alice-password-1").status_code == 302
    for url in (
        f"/desk/questionnaires/{questionnaire.id}/import/",
        f"/desk/projects/{project.id}/questionnaires/import",
        f"/desk/projects/{project.id}/indicators/import",
    ):
        started = time.monotonic()
        response = client.post(url, data={"file": (io.BytesIO(bomb), "bomb.xlsx")}, content_type="multipart/form-data")
        assert response.status_code == 422, url
        assert "无法导入" in response.data.decode(), url
        assert time.monotonic() - started < 2 * FAST, url
