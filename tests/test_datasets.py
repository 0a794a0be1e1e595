"""Response data sets for statistics packages: SPSS .sav, Stata .dta and the CSV of option codes."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io

import pandas as pd
import pyreadstat
import pytest

from analysis.datasets import coded_table, variable_name
from survey.collection import review
from survey.models import Response, ReviewEvent
from survey.platform import localtime
from survey.platform.extensions import db
from survey.questionnaires import publishing
from survey.questionnaires.definition import analysis_schema
from tests.conftest import login
from tests.helpers import ALL_TYPES, ALL_TYPES_ANSWERS, make_project

ROWS = [
    {"grp": "n", "age": "30", "safe": "a", "grid.att": "a", "grid.eff": "d", "one": "a"},
    {"grp": "s", "age": "50", "safe": "c", "why": ["b", "z"], "why__other": "噪音扰民", "grid.att": "e", "one": "b",
     "fix": "夜间多巡逻"},
]  # fmt: skip


@pytest.fixture
def answered(client, evaluator):
    questionnaire = publishing.import_questionnaire(make_project(evaluator), copy.deepcopy(ALL_TYPES))
    publishing.publish(questionnaire)
    for index, row in enumerate(ROWS):
        data = {**ALL_TYPES_ANSWERS, **row, "submission_id": f"d{index}"}
        assert client.post(f"/s/{questionnaire.public_token}", data=data).status_code == 303
    return questionnaire


def download(client, questionnaire, name: str, tmp_path):
    response = client.get(f"/desk/questionnaires/{questionnaire.id}/data/{name}")
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=") and disposition.isascii()
    path = tmp_path / name
    path.write_bytes(response.data)
    return path


def check_common(frame: pd.DataFrame, meta) -> None:
    labels = meta.column_names_to_labels
    values = meta.variable_value_labels
    assert len(frame) == 2
    assert labels["grp"] == "您所在的社区" and labels["safe"] == "您感觉安全吗？"
    assert labels["grid_att"] == "请评价以下方面 — 服务态度"
    assert labels["why_b"] == "哪些问题让您担心？: 诈骗"
    assert values["safe"] == {1: "安全", 2: "比较安全", 3: "不太安全", 4: "不安全"}
    assert values["grp"] == {1: "北社区", 2: "南社区"}
    assert list(frame["safe"]) == [1, 3] and list(frame["grid_att"]) == [1, 5]
    assert frame["why_a"].isna()[0] and list(frame["why_a"][1:]) == [0]  # not shown to the first respondent
    assert list(frame["why_b"][1:]) == [1] and list(frame["why_z"][1:]) == [1]
    assert frame["why__other"][1] == "噪音扰民" and frame["fix"][1] == "夜间多巡逻"
    assert frame["name"][0] == "丰泽公安分局"
    assert list(frame["age"]) == [30, 50]
    assert all(name.isascii() and name[0].isalpha() and len(name) <= 32 for name in frame.columns)


def test_sav_has_labels_and_measures(logged_in, answered, tmp_path):
    frame, meta = pyreadstat.read_sav(
        str(download(logged_in, answered, "responses.sav", tmp_path)), apply_value_formats=False
    )
    check_common(frame, meta)
    measures = meta.variable_measure
    assert measures["safe"] == "ordinal" and measures["grid_att"] == "ordinal"
    assert measures["grp"] == "nominal" and measures["why_a"] == "nominal"
    assert measures["age"] == "scale"
    assert meta.column_names_to_labels["status"] == "状态"
    assert meta.variable_value_labels["status"] == {1: "有效", 2: "已排除"}


def test_dta_is_stata_118_with_labels(logged_in, answered, tmp_path):
    path = download(logged_in, answered, "responses.dta", tmp_path)
    assert b"<release>118</release>" in path.read_bytes()[:100]
    frame, meta = pyreadstat.read_dta(str(path), apply_value_formats=False)
    check_common(frame, meta)


def test_codes_csv_has_bom_and_codes(logged_in, answered):
    response = logged_in.get(f"/desk/questionnaires/{answered.id}/data/responses-codes.csv")
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
    lines = response.data.decode("utf-8-sig").splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["id", "submitted_utc8", "duration"] and "why_z" in header
    second = dict(zip(header, lines[2].split(","), strict=False))
    assert (second["grp"], second["safe"], second["why_b"], second["status"]) == ("2", "3", "1", "1")


def test_other_evaluator_gets_404(client, answered, other_evaluator):
    assert login(client, "mallory", "mallory-password-1").status_code == 302
    for name in ("responses.sav", "responses.dta", "responses-codes.csv"):
        assert client.get(f"/desk/questionnaires/{answered.id}/data/{name}").status_code == 404


def test_variable_names_are_valid_and_unique():
    taken: set[str] = set()
    names = [variable_name(key, taken) for key in ("q10.a1", "Q10_A1", "1st", "if", "问题", "x" * 40, "x" * 40)]
    assert names[:4] == ["q10_a1", "Q10_A1_2", "v1st", "v_if"]
    assert names[4] == "v"  # nothing ASCII left of the key
    assert len(names[5]) == 32 and len(names[6]) == 32 and names[5] != names[6]


def test_table_without_responses():
    frame, labels, values, measures = coded_table(analysis_schema(ALL_TYPES), [])
    assert len(frame) == 0 and "why_z" in frame.columns and set(labels) == set(frame.columns) == set(measures)
    assert values["one"] == {1: "满意", 2: "不满意"}


# --- times: every export on the project's clock, labelled ---------------------------------------

SUBMITTED_UTC = dt.datetime(2024, 5, 1, 23, 30, 5)  # stored naive UTC: 2024-05-02 07:30:05 in Beijing


def test_data_sets_name_responses_by_their_number_in_the_questionnaire(logged_in, answered, evaluator, tmp_path):
    """第 N 号, as the desk names them: a second questionnaire's responses are 1 and 2, not their row ids."""
    second = publishing.import_questionnaire(answered.project, copy.deepcopy(ALL_TYPES))
    publishing.publish(second)
    for index, row in enumerate(ROWS):
        data = {**ALL_TYPES_ANSWERS, **row, "submission_id": f"second{index}"}
        assert logged_in.post(f"/s/{second.public_token}", data=data).status_code == 303
    ids = db.session.execute(db.select(Response.id).where(Response.questionnaire_id == second.id)).scalars().all()
    assert sorted(ids) != [1, 2]
    codes = _csv(logged_in, f"/desk/questionnaires/{second.id}/data/responses-codes.csv")
    assert [row["id"] for row in codes] == ["1", "2"]
    for name, read in (("responses.sav", pyreadstat.read_sav), ("responses.dta", pyreadstat.read_dta)):
        frame, meta = read(str(download(logged_in, second, name, tmp_path)))
        assert list(frame["id"]) == [1, 2] and meta.column_names_to_labels["id"] == "编号", name


BEIJING_TEXT = "2024-05-02 07:30:05"


def _at_known_instant(answered, evaluator) -> Response:
    """The first response, submitted (and then excluded) at a known UTC instant."""
    response = (
        db.session.execute(db.select(Response).where(Response.questionnaire_id == answered.id).order_by(Response.id))
        .scalars()
        .first()
    )
    response.submitted_at = SUBMITTED_UTC
    db.session.commit()
    review.decide(response, evaluator, "exclude", "测试")
    for event in db.session.execute(db.select(ReviewEvent)).scalars():
        event.created_at = SUBMITTED_UTC
    db.session.commit()
    return response


def _csv(client, url: str) -> list[dict]:
    response = client.get(url)
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_every_export_gives_submission_times_in_beijing_time_and_says_so(logged_in, answered, evaluator, tmp_path):
    _at_known_instant(answered, evaluator)
    base = f"/desk/questionnaires/{answered.id}"
    text = _csv(logged_in, f"{base}/responses.csv")
    assert text[0]["提交时间（北京时间）"] == BEIJING_TEXT
    codes = _csv(logged_in, f"{base}/data/responses-codes.csv")
    assert list(codes[0])[:3] == ["id", "submitted_utc8", "duration"] and codes[0]["submitted_utc8"] == BEIJING_TEXT
    for name, read in (("responses.sav", pyreadstat.read_sav), ("responses.dta", pyreadstat.read_dta)):
        frame, meta = read(str(download(logged_in, answered, name, tmp_path)))
        assert frame["submitted_utc8"][0] == pd.Timestamp(BEIJING_TEXT), name
        assert meta.column_names_to_labels["submitted_utc8"] == "提交时间（北京时间，UTC+8）", name
    log = _csv(logged_in, f"{base}/review/log.csv")
    assert log[0]["时间（北京时间）"] == BEIJING_TEXT
    audit = _csv(logged_in, f"/desk/projects/{answered.project_id}/audit.csv")
    assert audit and all(
        row["时间（北京时间）"] == localtime.local_text(dt.datetime.fromisoformat(row["时间（UTC）"])) for row in audit
    )


@pytest.mark.parametrize("app_config", [{"BABEL_DEFAULT_TIMEZONE": "Asia/Bangkok"}])
def test_exports_follow_the_configured_zone(logged_in, answered, evaluator, tmp_path):
    _at_known_instant(answered, evaluator)
    base = f"/desk/questionnaires/{answered.id}"
    assert _csv(logged_in, f"{base}/responses.csv")[0]["提交时间（UTC+7）"] == "2024-05-02 06:30:05"
    assert _csv(logged_in, f"{base}/data/responses-codes.csv")[0]["submitted_utc7"] == "2024-05-02 06:30:05"
    frame, meta = pyreadstat.read_sav(str(download(logged_in, answered, "responses.sav", tmp_path)))
    assert meta.column_names_to_labels["submitted_utc7"] == "提交时间（UTC+7）"
    assert _csv(logged_in, f"{base}/review/log.csv")[0]["时间（UTC+7）"] == "2024-05-02 06:30:05"


def test_local_time_helper():
    assert localtime.to_local(SUBMITTED_UTC) == dt.datetime(2024, 5, 2, 7, 30, 5)
    assert localtime.to_local(SUBMITTED_UTC.replace(tzinfo=dt.UTC), "Asia/Kolkata") == dt.datetime(2024, 5, 2, 5, 0, 5)
    assert localtime.local_text(None) == "" and localtime.local_text(SUBMITTED_UTC) == BEIJING_TEXT
    assert localtime.utc_offset() == "UTC+8" and localtime.utc_offset("UTC") == "UTC"
    assert localtime.utc_offset("America/St_Johns", dt.datetime(2024, 1, 1)) == "UTC-3:30"
    assert localtime.utc_offset("America/New_York", dt.datetime(2024, 7, 1)) == "UTC-4", "summer time counts"
    assert localtime.time_variable() == "submitted_utc8"
    assert localtime.time_variable("America/St_Johns") in ("submitted_utcm3_30", "submitted_utcm2_30")
    assert localtime.time_label("提交时间") == "提交时间（北京时间）"
    assert localtime.time_label("提交时间", "Asia/Kolkata") == "提交时间（UTC+5:30）"
