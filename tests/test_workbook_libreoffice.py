"""The workbooks open cleanly: well-formed parts Excel would not “repair”, and LibreOffice reads the values.

Excel's repair prompt comes from parts that break the OOXML rules it enforces (a sheet XML that does not
parse, duplicate or invalid sheet names, cells or rows out of order, overlapping merges, a shared-string index
past the table, a defined name pointing nowhere, a part missing from the package). Those rules are checked on
the file itself. Then LibreOffice (``soffice --headless``, as on a reviewer's machine) converts both workbooks
to CSV and back to XLSX, and the figures must come through. Without LibreOffice the conversions are skipped,
except in CI (``SURVEY_REQUIRE_SERVICES=1``), where they must run.
"""

from __future__ import annotations

import csv
import io
import random
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest

from survey.indicators.table_files import SHEET
from survey.models import IndicatorTable
from survey.platform.extensions import db
from survey.projects.demo import _answer
from survey.results.reporting import questionnaire_results
from tests.conftest import unavailable
from tests.helpers import make_project, published
from tests.test_workbook import SHEETS, library_table

NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
    "ct": "http://schemas.openxmlformats.org/package/2006/content-types",
}
BAD_SHEET_CHARACTERS = set("[]:*?/\\")
CELL = re.compile(r"^([A-Z]{1,3})([0-9]+)$")
TIMEOUT = 300  # seconds for one conversion on a busy 2-core machine


@pytest.fixture
def project(app, evaluator):
    """Two answered questionnaires (one with an exclusion-free random sample) and the seed 002 table."""
    project = make_project(evaluator)
    first = published(project, "public_safety")
    second = published(project)
    _answer(first, random.Random(5), 25)
    _answer(second, random.Random(6), 9)
    db.session.add(IndicatorTable(project_id=project.id, definition=library_table("seed_002_xinjian")))
    db.session.commit()
    return project


@pytest.fixture
def workbooks(logged_in, project) -> dict[str, bytes]:
    first = project.questionnaires[0]
    results = logged_in.get(f"/desk/questionnaires/{first.id}/results.xlsx")
    whole = logged_in.get(f"/desk/projects/{project.id}/workbook.xlsx")
    assert results.status_code == whole.status_code == 200
    return {"results": results.data, "project": whole.data}


# ---------------------------------------------------------------- the package, part by part


def _xml(archive: zipfile.ZipFile, name: str) -> ElementTree.Element:
    return ElementTree.fromstring(archive.read(name))  # our own file: every part must parse


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def _cell(reference: str) -> tuple[int, int]:
    match = CELL.match(reference.replace("$", ""))
    assert match, reference
    return int(match.group(2)), _column_number(match.group(1))


def _sheet_parts(archive: zipfile.ZipFile) -> list[tuple[str, str]]:
    """``(sheet name, part name)`` in workbook order, resolved through the workbook's relationships."""
    workbook = _xml(archive, "xl/workbook.xml")
    rels = {r.get("Id"): r.get("Target") for r in _xml(archive, "xl/_rels/workbook.xml.rels")}
    parts = []
    for sheet in workbook.find("m:sheets", NS):
        target = rels[sheet.get(f"{{{NS['r']}}}id")]
        parts.append((sheet.get("name"), "xl/" + target.removeprefix("/xl/")))
    return parts


def check_package(body: bytes) -> list[str]:  # noqa: C901 - one list of the rules, in the order Excel reads
    """Every rule above, on one file; returns the sheet names."""
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    names = set(archive.namelist())
    for name in names:
        if name.endswith((".xml", ".rels")):
            _xml(archive, name)
    overrides = {o.get("PartName") for o in _xml(archive, "[Content_Types].xml").findall("ct:Override", NS)}
    sheets = _sheet_parts(archive)
    sheet_names = [name for name, _part in sheets]
    assert len({n.lower() for n in sheet_names}) == len(sheet_names), sheet_names
    for name in sheet_names:
        assert 0 < len(name.encode("utf-16-le")) // 2 <= 31 and not set(name) & BAD_SHEET_CHARACTERS, name
        assert not name.startswith("'") and not name.endswith("'") and name.lower() != "history", name
    for _name, part in sheets:
        assert part in names and "/" + part in overrides, part

    strings = 0
    if "xl/sharedStrings.xml" in names:
        table = _xml(archive, "xl/sharedStrings.xml")
        strings = len(table.findall("m:si", NS))
        assert int(table.get("uniqueCount", strings)) == strings
    for _name, part in sheets:
        sheet = _xml(archive, part)
        last_row = 0
        for row in sheet.iterfind("m:sheetData/m:row", NS):
            number = int(row.get("r"))
            assert number > last_row, f"{part}: row {number} after {last_row}"
            last_row, last_column = number, 0
            for cell in row.iterfind("m:c", NS):
                r, c = _cell(cell.get("r"))
                assert r == number and c > last_column, f"{part}: cell {cell.get('r')} out of order"
                last_column = c
                if cell.get("t") == "s":
                    assert int(cell.find("m:v", NS).text) < strings, f"{part}: {cell.get('r')}"
        merged: set[tuple[int, int]] = set()
        for merge in sheet.iterfind("m:mergeCells/m:mergeCell", NS):
            (r1, c1), (r2, c2) = (_cell(x) for x in merge.get("ref").split(":"))
            area = {(r, c) for r in range(r1, r2 + 1) for c in range(c1, c2 + 1)}
            assert len(area) > 1 and not area & merged, f"{part}: merge {merge.get('ref')} overlaps"
            merged |= area
    defined = _xml(archive, "xl/workbook.xml").find("m:definedNames", NS)
    for name in defined if defined is not None else []:
        local = name.get("localSheetId")
        assert local is None or 0 <= int(local) < len(sheets), name.get("name")
        target = re.match(r"^'?(.+?)'?!", name.text or "")
        assert target and target.group(1).replace("''", "'") in sheet_names, name.text
    return sheet_names


def test_both_workbooks_are_well_formed_packages(workbooks):
    results = check_package(workbooks["results"])
    assert results == [*SHEETS[:-1], SHEET, SHEETS[-1]]
    whole = check_package(workbooks["project"])
    assert whole[:2] == ["问卷汇总", SHEET] and len(whole) == 2 + 2 * len(SHEETS)


def test_the_package_check_catches_what_excel_repairs(workbooks):
    """The rules can fail: a duplicate sheet name and a cell out of order are both caught."""
    for old, new in ((b'name="\xe6\xaf\x94\xe7\x8e\x87"', b'name="\xe5\x9b\x9e\xe6\x94\xb6\xe6\x83\x85\xe5\x86\xb5"'),
                     (b'<c r="A3"', b'<c r="Z3"')):  # fmt: skip
        source = zipfile.ZipFile(io.BytesIO(workbooks["results"]))
        output = io.BytesIO()
        with zipfile.ZipFile(output, "w") as target:
            for item in source.infolist():
                data = source.read(item)
                if item.filename in ("xl/workbook.xml", "xl/worksheets/sheet1.xml"):
                    data = data.replace(old, new, 1)
                target.writestr(item, data)
        with pytest.raises(AssertionError):
            check_package(output.getvalue())


# ---------------------------------------------------------------- LibreOffice


def soffice() -> str:
    path = shutil.which("soffice") or shutil.which("libreoffice")
    if path is None:
        unavailable("LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui")
    return path


def convert(folder: Path, files: dict[str, bytes], target: str) -> Path:
    """Convert the files with a throw-away LibreOffice profile; the converted files land in ``folder/out``."""
    program = soffice()
    for name, body in files.items():
        (folder / f"{name}.xlsx").write_bytes(body)
    out = folder / "out"
    command = [
        program, f"-env:UserInstallation={(folder / 'profile').as_uri()}", "--headless", "--norestore",
        "--convert-to", target, "--outdir", str(out), *(str(folder / f"{name}.xlsx") for name in files),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert done.returncode == 0, done.stderr
    assert "Error" not in done.stderr and "Error" not in done.stdout, done.stdout + done.stderr
    return out


def _csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def test_libreoffice_reads_every_sheet_as_csv(app, workbooks, project, tmp_path):
    # Filter options: comma, double quote, UTF-8 (76), from row 1, …, formatted as shown (false), every sheet (-1).
    out = convert(tmp_path, workbooks, "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1")
    first = project.questionnaires[0]
    results = questionnaire_results(first)
    for name, prefix in (("results", ""), ("project", "Q1 ")):
        counts = {row[0]: row[1] for row in _csv(out / f"{name}-{prefix}回收情况.csv") if len(row) > 1}
        assert counts["回收份数"] == str(results.returned) == "25"
        assert counts["有效份数"] == str(results.valid)
        raw = _csv(out / f"{name}-{prefix}原始数据.csv")
        assert len(raw) == 1 + 25 and raw[0][:2] == ["编号", "提交时间（北京时间）"]
        attachment = {row[0]: row for row in _csv(out / f"{name}-{SHEET}.csv") if row}
        assert float(attachment["总分"][9]) == pytest.approx(93.07) and attachment["评价等级"][9] == "优"
    summary = _csv(out / "project-问卷汇总.csv")
    assert [row[1] for row in summary[1:3]] == [q.title for q in project.questionnaires]
    assert [row[4] for row in summary[1:3]] == ["25", "9"]


def test_libreoffice_saves_them_again_with_the_values(app, workbooks, project, tmp_path):
    out = convert(tmp_path, workbooks, "xlsx:Calc MS Excel 2007 XML")
    for name in workbooks:
        original = openpyxl.load_workbook(io.BytesIO(workbooks[name]))
        resaved = openpyxl.load_workbook(out / f"{name}.xlsx")
        assert resaved.sheetnames == original.sheetnames
        for title in original.sheetnames:
            before = [[c for c in row] for row in original[title].iter_rows(values_only=True)]
            after = [[c for c in row] for row in resaved[title].iter_rows(values_only=True)]
            assert _trimmed(after) == _trimmed(before), title
        assert {str(r) for r in resaved[SHEET].merged_cells.ranges} == {
            str(r) for r in original[SHEET].merged_cells.ranges
        }


def _trimmed(rows: list[list]) -> list[list]:
    """Rows without trailing empty cells or rows; "" is empty; numbers compared to 9 significant digits."""

    def value(cell):
        if isinstance(cell, float):
            return float(f"{cell:.9g}")
        return None if cell == "" else cell

    cleaned = [[value(c) for c in row] for row in rows]
    cleaned = [row[: max((i + 1 for i, c in enumerate(row) if c not in (None, "")), default=0)] for row in cleaned]
    while cleaned and not cleaned[-1]:
        cleaned.pop()
    return cleaned
