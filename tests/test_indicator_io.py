"""Indicator tables as YAML and as an Excel sheet in the 附件1 layout: round trips, located errors, CLI, import."""

from __future__ import annotations

import copy
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from analysis.indicators import reason_text, score_table
from analysis.scoring import RULES
from survey.indicators.table_files import IndicatorFormatError, dump_xlsx, dump_yaml, load_table
from survey.models import IndicatorTable
from survey.platform.extensions import db
from tests.conftest import login
from tests.helpers import make_project

LIBRARY = Path(__file__).resolve().parent.parent / "analysis" / "indicator_library"
TABLES = sorted(LIBRARY.glob("*.json"))


def library_table(stem: str) -> dict:
    return json.loads((LIBRARY / f"{stem}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", TABLES, ids=[p.stem for p in TABLES])
def test_yaml_and_xlsx_round_trips_are_lossless(path):
    table = json.loads(path.read_text(encoding="utf-8"))
    assert load_table(dump_yaml(table).encode("utf-8"), "t.yaml") == table
    assert load_table(dump_xlsx(table, score_table(table)), "t.xlsx") == table
    assert load_table(json.dumps(table, ensure_ascii=False).encode("utf-8"), "t.json") == table


def test_xlsx_has_the_attachment_layout_with_merged_cells_and_total():
    table = library_table("seed_002_xinjian")
    sheet = load_workbook(io.BytesIO(dump_xlsx(table, score_table(table))))["附件1"]
    headers = [cell.value for cell in sheet[2]]
    assert headers[:11] == ["一级指标", "分值", "二级指标", "分值", "三级指标", "分值", "指标说明", "评分标准",
                            "实际值", "得分", "扣分原因"]  # fmt: skip
    merged = [str(r) for r in sheet.merged_cells.ranges]
    assert any(r.startswith("A") and r.split(":")[0][1:] != r.split(":")[1][1:] for r in merged)  # 一级 names
    assert any(r.startswith("C") for r in merged)  # 二级 names
    assert any(r.startswith("B") for r in merged)  # 一级 分值 shown once
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=3)}
    assert rows["总分"][9].value == pytest.approx(93.07)
    assert rows["评价等级"][9].value == "优"


def _printed(sheet) -> list[list]:
    """The printed columns (A–K) of every row."""
    return [list(row[:11]) for row in sheet.iter_rows(values_only=True)]


def test_printed_columns_say_the_rules_in_words_not_codes_or_json():
    table = library_table("caiyu_2020_10")
    leaf = table["indicators"][2]["children"][1]["children"][0]  # 质量达标率: threshold_step, its own 评分标准
    leaf["input"] = {"value": 91.5, "source": "验收报告"}
    bare = copy.deepcopy(leaf)
    bare.pop("standard")
    bare["key"], bare["name"] = "c2_9", "无自定标准的指标"
    table["indicators"][2]["children"][1]["children"].append(bare)
    table["indicators"][2]["children"][1]["points"] += bare["points"]
    table["indicators"][2]["points"] += bare["points"]
    sheet = load_workbook(io.BytesIO(dump_xlsx(table, score_table(table))))["附件1"]
    printed = _printed(sheet)
    codes = set(RULES) | {'{"', "[{"}
    for row in printed[2:]:
        for value in row:
            assert not any(code in str(value or "") for code in codes), row
    by_name = {row[4] or row[2]: row for row in printed[2:]}
    assert by_name["质量达标率"][7] == leaf["standard"]
    assert by_name["无自定标准的指标"][7] == (
        "实际值达到 100% 及以上得满分 10 分；每低 5 个百分点扣 2 分（不足一档按一档扣），扣完为止。"
    )
    assert by_name["质量达标率"][8] == "91.5%" and by_name["质量达标率"][9] == 6  # two steps below → 6 of 10
    # Every hidden column stays out of print; the sheet reads back to the same table.
    assert all(sheet.column_dimensions[get_column_letter(c)].hidden for c in range(12, 19))
    assert load_table(dump_xlsx(table, score_table(table)), "t.xlsx") == table


def test_sheet_is_set_up_for_printing_on_a4_landscape():
    table = library_table("caiyu_2020_10")
    sheet = load_workbook(io.BytesIO(dump_xlsx(table, score_table(table))))["附件1"]
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToWidth == 1
    assert sheet.page_setup.fitToHeight == 0
    assert sheet.print_title_rows == "$2:$2"
    assert str(sheet.print_area).endswith(f"$A$1:$K${sheet.max_row}")
    assert sheet.cell(3, 7).alignment.wrap_text and sheet.column_dimensions["H"].width >= 30
    # Rows are as tall as their wrapped text: a long 指标说明 makes a taller row than a short one.
    heights = {row: sheet.row_dimensions[row].height for row in range(3, sheet.max_row + 1)}
    long_row = max(range(3, sheet.max_row - 1), key=lambda r: len(str(sheet.cell(r, 7).value or "")))
    assert heights[long_row] >= 14 * (len(sheet.cell(long_row, 7).value) * 1.75 // 38)
    assert min(heights.values()) >= 17
    # Text in the hidden columns (rule codes, JSON) wraps inside its own cell: none spills onto the page.
    for row in sheet.iter_rows(min_row=3, min_col=12):
        for cell in row:
            assert cell.value is None or cell.alignment.wrap_text, cell.coordinate


def test_linked_values_and_deduction_reasons_are_printed():
    table = library_table("seed_002_xinjian")
    leaf = table["indicators"][3]["children"][2]["children"][0]
    assert leaf["key"] == "d3_1"
    leaf["input"] = {"link": {"questionnaire": 1, "figure": "overall_rate"}}
    judged = table["indicators"][0]["children"][0]  # a 二级 leaf
    judged["rule"], judged["input"] = {"type": "judgement"}, {"score": 1, "justification": "立项依据不充分"}
    result = score_table(table, linked={"d3_1": Decimal("88.1234")})
    sheet = load_workbook(io.BytesIO(dump_xlsx(table, result)))["附件1"]
    by_key = {row[16] or row[15]: row for row in sheet.iter_rows(min_row=3, values_only=True) if row[14]}
    assert by_key["d3_1"][8] == "88.12%"
    assert by_key[judged["key"]][10] == "立项依据不充分"
    assert load_table(dump_xlsx(table, result), "t.xlsx") == table


def test_unmerged_rows_repeating_parent_names_also_load():
    table = library_table("seed_004_fengze")
    workbook = load_workbook(io.BytesIO(dump_xlsx(table, None)))
    sheet = workbook["附件1"]
    for cells in list(sheet.merged_cells.ranges):
        top = sheet.cell(cells.min_row, cells.min_col).value
        sheet.unmerge_cells(str(cells))
        for r in range(cells.min_row, cells.max_row + 1):
            sheet.cell(r, cells.min_col, top)
    out = io.BytesIO()
    workbook.save(out)
    assert load_table(out.getvalue(), "t.xlsx") == table


def test_bad_yaml_names_the_line():
    with pytest.raises(IndicatorFormatError) as error:
        load_table("format: indicator-table/1\nindicators:\n  - key: a\n    name: [oops\n".encode(), "t.yaml")
    assert error.value.problems[0][0].startswith("line ")


def test_xlsx_with_non_numeric_points_names_the_cell():
    table = library_table("seed_002_xinjian")
    workbook = load_workbook(io.BytesIO(dump_xlsx(table, None)))
    sheet = workbook["附件1"]
    sheet["F5"] = "五分"  # a 三级 分值 (or an empty level) on row 5
    sheet["B3"].value = "十八"  # 一级 分值
    out = io.BytesIO()
    workbook.save(out)
    with pytest.raises(IndicatorFormatError) as error:
        load_table(out.getvalue(), "t.xlsx")
    locations = [where for where, _wording in error.value.problems]
    assert "附件1!B3" in locations


def test_unknown_rule_is_located_in_xlsx_and_json():
    table = library_table("seed_002_xinjian")
    workbook = load_workbook(io.BytesIO(dump_xlsx(table, None)))
    sheet = workbook["附件1"]
    sheet["L3"] = "guesswork"  # 评分规则 (hidden)
    out = io.BytesIO()
    workbook.save(out)
    with pytest.raises(IndicatorFormatError) as error:
        load_table(out.getvalue(), "t.xlsx")
    assert [where for where, _w in error.value.problems] == ["附件1!L3"]
    broken = copy.deepcopy(table)
    broken["indicators"][0]["children"][0]["rule"]["type"] = "guesswork"
    with pytest.raises(IndicatorFormatError) as error:
        load_table(json.dumps(broken).encode(), "t.json")
    assert error.value.problems[0][0] == "indicators[0].children[0].rule"


@pytest.mark.parametrize("suffix", [".yaml", ".xlsx"])
def test_cli_scores_yaml_and_xlsx(runner, tmp_path, suffix):
    source = LIBRARY / "seed_002_xinjian.json"
    target = tmp_path / f"table{suffix}"
    result = runner.invoke(args=["indicators", "export", str(source), "-o", str(target)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["indicators", "score", str(target)])
    assert result.exit_code == 0, result.output
    assert "total 93.07  grade 优" in result.output
    result = runner.invoke(args=["indicators", "score", str(target), "--json"])
    assert json.loads(result.output)["total"] == "93.07"


def test_cli_prints_every_located_problem(runner, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: indicator-table/1\nindicators: [\n", encoding="utf-8")
    result = runner.invoke(args=["indicators", "check", str(bad)])
    assert result.exit_code == 1
    assert "line " in result.output and "YAML" in result.output


def base(project) -> str:
    return f"/desk/projects/{project.id}/indicators/"


def test_import_replaces_the_table_and_bad_upload_changes_nothing(app, logged_in, evaluator, client):
    project = make_project(evaluator)
    table = library_table("seed_002_xinjian")
    upload = {"file": (io.BytesIO(dump_xlsx(table, None)), "附件1.xlsx")}
    response = logged_in.post(base(project) + "import", data=upload, content_type="multipart/form-data")
    assert response.status_code == 302
    row = db.session.execute(db.select(IndicatorTable).filter_by(project_id=project.id)).scalar_one()
    assert row.definition == table
    page = logged_in.get(base(project)).data.decode()
    assert "export.xlsx" in page and "export.yaml" in page and "93.07" in page

    bad = dump_yaml(table).replace("type: judgement", "type: guesswork", 1).encode("utf-8")
    response = logged_in.post(
        base(project) + "import", data={"file": (io.BytesIO(bad), "t.yaml")}, content_type="multipart/form-data"
    )
    assert response.status_code == 422
    assert "indicators[" in response.data.decode()
    db.session.expire_all()
    assert db.session.get(IndicatorTable, row.id).definition == table

    exported = logged_in.get(base(project) + "export.xlsx")
    assert exported.status_code == 200
    assert load_table(exported.data, "t.xlsx") == table
    assert load_workbook(io.BytesIO(exported.data))["附件1"].cell(1, 1).value == table["title"]
    assert load_table(logged_in.get(base(project) + "export.yaml").data, "t.yaml") == table

    logged_in.post("/logout")
    from survey.accounts.users import create_user

    create_user("mallory", "mallory-password-1", "Mallory")
    login(client, "mallory", "mallory-password-1")
    for path in ("export.xlsx", "export.yaml", "import"):
        assert client.get(base(project) + path).status_code == 404
    response = client.post(
        base(project) + "import", data={"file": (io.BytesIO(bad), "t.yaml")}, content_type="multipart/form-data"
    )
    assert response.status_code == 404


def test_results_workbooks_attachment_sheet_prints_the_same_way():
    """The XlsxWriter copy of 附件1 (in the results workbooks) has the same print setup as the download."""
    from survey.reports.workbook_files import project_workbook

    table = library_table("seed_002_xinjian")
    body = project_workbook([], {}, indicators=(table, score_table(table)))
    sheet = load_workbook(io.BytesIO(body))["附件1"]
    standalone = load_workbook(io.BytesIO(dump_xlsx(table, score_table(table))))["附件1"]
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.paperSize == 9
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet.page_setup.fitToWidth in (None, 1)  # 1: default
    assert sheet.page_setup.fitToHeight == 0
    assert sheet.print_title_rows == standalone.print_title_rows == "$2:$2"
    assert sheet.print_area == standalone.print_area
    for row in range(1, standalone.max_row + 1):
        # XlsxWriter stores heights in whole pixels (0.75 pt)
        assert abs(sheet.row_dimensions[row].height - standalone.row_dimensions[row].height) <= 0.75, row
    assert _printed(sheet) == _printed(standalone)


def test_rule_deductions_print_the_rule_applied_to_the_actual_value():
    table = {
        "indicators": [
            {
                "key": "out",
                "name": "产出",
                "points": 100,
                "children": [
                    {"key": "budget", "name": "预算执行率", "points": 5,
                     "rule": {"type": "proportional", "params": {"target": 100}}, "input": {"value": 91.4}},
                    {"key": "sat", "name": "服务对象满意率", "points": 5,
                     "rule": {"type": "threshold_step", "params": {"threshold": 93, "step": 5, "deduct": 2}},
                     "input": {"link": {"questionnaire": 1, "figure": "rate", "question": "q5"}}},
                    {"key": "late", "name": "完成及时性", "points": 5,
                     "rule": {"type": "lateness", "params": {"steps": [{"max_months": 3, "deduct": 1}]}},
                     "input": {"months": 2}},
                    {"key": "rest", "name": "其他", "points": 85, "rule": {"type": "judgement"},
                     "input": {"score": 85, "justification": "无"}},
                ],
            }
        ]
    }  # fmt: skip
    result = score_table(table, linked={"sat": Decimal("57.142857")})
    sheet = load_workbook(io.BytesIO(dump_xlsx(table, result)))["附件1"]
    reasons = {row[15]: row[10] for row in sheet.iter_rows(min_row=3, values_only=True) if row[14] and row[15]}
    assert reasons["budget"] == "实际值 91.4%，为目标值 100% 的 91.4%，扣 0.43 分。"
    assert reasons["sat"] == "实际值 57.14%，低于满分线 93%，差 35.86 个百分点；每低 5 个百分点扣 2 分，扣 5 分。"
    assert reasons["late"].startswith("实际值 2个月，扣 1 分。评分标准：按时完成得 5 分")
    assert reasons["rest"] is None  # full points: no reason
    assert [reason_text(d.reason) for d in result.deductions] == [reasons["budget"], reasons["sat"], reasons["late"]]
