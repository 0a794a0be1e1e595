"""Every question type through the server (render, validate, store, analyse), skip logic on the server,
versions, and the portable format (import errors change nothing; the round trip is lossless)."""

from __future__ import annotations

import copy
import io
import json

import pytest

from survey.models import Questionnaire, QuestionnaireVersion, Response
from survey.platform.extensions import db
from survey.questionnaires import publishing
from survey.questionnaires.definition import validate_definition
from survey.questionnaires.portable import export_json, parse_definition
from survey.questionnaires.problems import DefinitionError
from survey.questionnaires.versioning import draft_changes
from survey.results.reporting import questionnaire_results
from tests.helpers import ALL_TYPES, ALL_TYPES_ANSWERS, make_project


@pytest.fixture
def all_types(evaluator):
    project = make_project(evaluator)
    questionnaire = publishing.import_questionnaire(project, copy.deepcopy(ALL_TYPES))
    # These tests post answers without the served form's signed start; timing is tested in test_ballot_stuffing.
    questionnaire.min_seconds = 0
    publishing.publish(questionnaire)
    return questionnaire


def submit(client, questionnaire, data, sid="s1"):
    return client.post(f"/s/{questionnaire.public_token}", data={**data, "submission_id": sid})


def stored() -> list[Response]:
    return db.session.execute(db.select(Response).order_by(Response.id)).scalars().all()


def test_all_types_definition_is_valid(app):
    validate_definition(ALL_TYPES)


def test_every_type_renders(client, all_types):
    html = client.get(f"/s/{all_types.public_token}").data.decode()
    for needle in (
        'name="grp"',
        'name="age"',
        'inputmode="numeric"',
        'type="date"',
        'name="safe"',
        'name="why"',
        'name="why__other"',
        'name="grid.att"',
        'name="grid.eff"',
        'name="chk"',
        'name="name"',
        'maxlength="20"',
        "<textarea",
        "data-show-if=",
        "基本情况",
        "服务评价",
    ):
        assert needle in html, needle
    assert "仅当第 4 题选择了“不太安全”“不安全”时回答本题" in html
    assert "（可多选，最多 2 项）" in html and "岁" in html


def test_every_type_is_stored(client, all_types):
    assert submit(client, all_types, ALL_TYPES_ANSWERS).status_code == 303
    response = stored()[0]
    assert response.answers == {
        "grp": "n",
        "age": 35,
        "day": "2019-05-01",
        "safe": "a",
        "grid.att": "a",
        "grid.eff": "d",
        "chk": "b",
        "one": "a",
        "name": "丰泽公安分局",
        "idea": "多巡逻",
    }
    assert response.flags == []


@pytest.mark.parametrize(
    "change,message",
    [
        ({"age": "十二"}, "请填写一个数字。"),
        ({"age": "17"}, "不能小于 18"),
        ({"age": "35.5"}, "请填写整数。"),
        ({"day": "2019-13-01"}, "请按“年-月-日”填写日期"),
        ({"day": "2018-12-31"}, "日期不能早于 2019-01-01。"),
        ({"grid.eff": ""}, "这是必答题，请作答。"),
        ({"grid.att": "q"}, "所选的选项不在本题的选项中"),
        ({"name": "很" * 21}, "回答太长了"),
        ({"grp": ""}, "这是必答题，请作答。"),
    ],
)
def test_every_type_validates(client, all_types, change, message):
    result = submit(client, all_types, {**ALL_TYPES_ANSWERS, **change})
    assert result.status_code == 422
    assert message in result.data.decode()
    assert stored() == []


def test_full_width_digits_are_numbers(client, all_types):
    submit(client, all_types, {**ALL_TYPES_ANSWERS, "age": "４２"})
    assert stored()[0].answers["age"] == 42


def test_hidden_question_is_neither_required_nor_stored(client, all_types):
    # q "why" is required but only shown when safe is c/d; section s3 only when one = b.
    data = {**ALL_TYPES_ANSWERS, "why": ["a"], "fix": "不会被保存"}
    assert submit(client, all_types, data).status_code == 303
    answers = stored()[0].answers
    assert "why" not in answers and "fix" not in answers


def test_shown_question_is_required_and_stored(client, all_types):
    data = {**ALL_TYPES_ANSWERS, "safe": "c", "one": "b"}
    result = submit(client, all_types, data)
    assert result.status_code == 422
    html = result.data.decode()
    assert html.count('<p class="error">这是必答题，请作答。</p>') == 2  # "why" and "fix" are now asked
    data.update({"why": ["a", "z"], "why__other": "噪音扰民", "fix": "加强夜间巡逻"})
    assert submit(client, all_types, data, sid="s2").status_code == 303
    answers = stored()[0].answers
    assert answers["why"] == ["a", "z"] and answers["why__other"] == "噪音扰民" and answers["fix"] == "加强夜间巡逻"


def test_max_choices_enforced_only_when_shown(client, all_types):
    data = {**ALL_TYPES_ANSWERS, "safe": "d", "why": ["a", "b", "z"], "why__other": "x"}
    assert "最多只能选择 2 项。" in submit(client, all_types, data).data.decode()


def test_attention_failure_flags_the_response(client, all_types):
    submit(client, all_types, {**ALL_TYPES_ANSWERS, "chk": "a"})
    assert stored()[0].flags == ["attention_failed"]


def test_every_type_is_analysed(client, all_types):
    rows = [
        {"grp": "n", "age": "30", "safe": "a", "grid.att": "a", "grid.eff": "d", "one": "a"},
        {"grp": "n", "age": "40", "safe": "b", "grid.att": "b", "grid.eff": "x", "one": "b", "fix": "改进"},
        {"grp": "s", "age": "50", "safe": "c", "why": ["b"], "grid.att": "e", "grid.eff": "a", "one": "a", "chk": "c"},
    ]
    for index, row in enumerate(rows):
        data = {**{k: v for k, v in ALL_TYPES_ANSWERS.items() if k not in ("age",)}, **row}
        assert submit(client, all_types, data, sid=f"r{index}").status_code == 303
    results = questionnaire_results(all_types)
    by_key = {s.question["key"]: s for s in results.questions}
    assert by_key["age"].numbers.mean == 40 and by_key["age"].numbers.std == 10
    assert by_key["safe"].rate.numerator == 2 and by_key["safe"].rate.denominator == 3
    assert by_key["why"].answered == 1  # shown and answered only for the one unsafe respondent
    att, eff = by_key["grid.att"].rate, by_key["grid.eff"].rate
    assert (att.numerator, att.denominator) == (2, 3)
    assert (eff.numerator, eff.denominator) == (1, 2)  # 不清楚 left out of the denominator
    assert by_key["grid.att"].question["dimension"] == "服务态度"
    assert by_key["chk"].attention_passed == 2 and by_key["chk"].rate is None
    assert by_key["fix"].texts == ["改进"]
    assert results.flagged == 1
    breakdown = results.breakdowns[0]
    assert breakdown.group["key"] == "grp"
    north = breakdown.rows[0]
    assert north.respondents == 2
    assert {r.question_key: (r.numerator, r.denominator) for r in north.rates}["one"] == (1, 2)


def test_results_page_shows_new_types(logged_in, client, all_types):
    submit(client, all_types, ALL_TYPES_ANSWERS)
    html = logged_in.get(f"/desk/questionnaires/{all_types.id}/results").data.decode()
    for needle in ("平均值", "服务态度", "注意力检测", "按“您所在的社区”分组"):
        assert needle in html, needle


# --- versions -----------------------------------------------------------------------------


def test_editing_a_published_questionnaire_makes_a_new_version(logged_in, client, all_types):
    submit(client, all_types, ALL_TYPES_ANSWERS)
    first_version = all_types.current_version_id
    draft = copy.deepcopy(all_types.definition)
    draft["sections"][1]["questions"][3]["text"] = "总体而言，您满意吗？"
    all_types.definition = draft
    db.session.commit()
    page = logged_in.get(f"/desk/questionnaires/{all_types.id}").data.decode()
    assert "有未发布的修改" in page and "这些修改不影响已收集的回答。" in page
    assert logged_in.post(f"/desk/questionnaires/{all_types.id}/publish").status_code == 302
    db.session.refresh(all_types)
    assert all_types.current_version.number == 2
    assert stored()[0].version_id == first_version  # old responses keep pointing at their version
    submit(client, all_types, ALL_TYPES_ANSWERS, sid="after")
    assert stored()[1].version_id == all_types.current_version_id
    results = questionnaire_results(all_types)
    one = next(s for s in results.questions if s.question["key"] == "one")
    assert one.answered == 2  # both versions line up by the stable key


def test_breaking_change_is_explained_and_needs_confirmation(logged_in, client, all_types):
    submit(client, all_types, ALL_TYPES_ANSWERS)
    draft = copy.deepcopy(all_types.definition)
    questions = draft["sections"][1]["questions"]
    questions[2]["options"] = [o for o in questions[2]["options"] if o["key"] != "a"] + [{"key": "c", "text": "一般"}]
    questions[3]["type"] = "textarea"
    draft["sections"][0]["questions"] = [q for q in draft["sections"][0]["questions"] if q["key"] != "day"]
    all_types.definition = draft
    db.session.commit()
    messages = [str(c.message) for c in draft_changes(all_types)]
    assert any("删除第 3 题“最近一次办事的日期”" in m for m in messages)
    assert any("删除第 8 题的选项“满意”" in m for m in messages)
    assert any("第 9 题的题型改变了" in m for m in messages)
    page = logged_in.get(f"/desk/questionnaires/{all_types.id}").data.decode()
    assert "我已了解上述影响，仍要发布新版本" in page
    refused = logged_in.post(f"/desk/questionnaires/{all_types.id}/publish", follow_redirects=True)
    assert "请先阅读说明并勾选确认" in refused.data.decode()
    db.session.refresh(all_types)
    assert all_types.current_version.number == 1
    logged_in.post(f"/desk/questionnaires/{all_types.id}/publish", data={"confirm": "y"})
    db.session.refresh(all_types)
    assert all_types.current_version.number == 2


def test_discard_restores_the_published_version(logged_in, all_types):
    all_types.definition = {**all_types.definition, "title": "改过的标题"}
    db.session.commit()
    logged_in.post(f"/desk/questionnaires/{all_types.id}/discard")
    db.session.refresh(all_types)
    assert all_types.definition["title"] == "全部题型"
    assert db.session.execute(db.select(db.func.count(QuestionnaireVersion.id))).scalar() == 1


# --- portable format ----------------------------------------------------------------------


def test_round_trip_is_lossless(app):
    assert parse_definition(export_json(ALL_TYPES).encode()) == ALL_TYPES
    flat = {"title": "扁平", "questions": [{"key": "q1", "type": "text", "text": "单位"}]}
    again = parse_definition(export_json(parse_definition(json.dumps(flat).encode())).encode())
    assert again["sections"][0]["questions"][0]["text"] == "单位"


@pytest.mark.parametrize(
    "payload,path,message",
    [
        (b"{not json", "$ (line 1, column 2)", "不是有效的 JSON"),
        (b"\xff\xfe", "$", "UTF-8"),
        (
            json.dumps({"title": "x", "questions": [{"key": "q1", "type": "slider", "text": "?"}]}).encode(),
            "questions[0].type",
            "未知的题型“slider”",
        ),
        (
            json.dumps(
                {
                    "title": "x",
                    "questions": [
                        {"key": "q1", "type": "text", "text": "a"},
                        {"key": "q1", "type": "text", "text": "b"},
                    ],
                }
            ).encode(),
            "questions[1].key",
            "重复了",
        ),
        (
            json.dumps({"title": "x", "questions": [{"key": "q1", "type": "single_choice", "text": "a"}]}).encode(),
            "questions[0].options",
            "至少要有两个选项",
        ),
        (
            json.dumps(
                {
                    "title": "x",
                    "questions": [
                        {"key": "q1", "type": "text", "text": "a", "show_if": {"question": "q2", "any_of": ["a"]}},
                        {
                            "key": "q2",
                            "type": "single_choice",
                            "text": "b",
                            "options": [{"key": "a", "text": "1"}, {"key": "b", "text": "2"}],
                        },
                    ],
                }
            ).encode(),
            "questions[0].show_if.question",
            "不在本题之前",
        ),
    ],
)
def test_import_errors_name_path_and_change_nothing(logged_in, evaluator, payload, path, message):
    project = make_project(evaluator)
    upload = {"file": (io.BytesIO(payload), "bad.json")}
    result = logged_in.post(
        f"/desk/projects/{project.id}/questionnaires/import", data=upload, content_type="multipart/form-data"
    )
    assert result.status_code == 422
    html = result.data.decode()
    assert f"<code>{path}</code>" in html and message in html
    assert db.session.execute(db.select(db.func.count(Questionnaire.id))).scalar() == 0


def test_problems_read_in_both_languages(app):
    with pytest.raises(DefinitionError) as caught:
        parse_definition(b'{"title": "x", "questions": [{"key": "q1", "type": "slider", "text": "?"}]}')
    line = caught.value.problems[0].bilingual()
    assert line.startswith("questions[0].type: 未知的题型“slider”") and " / Unknown question type" in line


def test_import_and_export_through_the_ui(logged_in, evaluator):
    project = make_project(evaluator)
    upload = {"file": (io.BytesIO(export_json(ALL_TYPES).encode()), "all.json")}
    result = logged_in.post(
        f"/desk/projects/{project.id}/questionnaires/import", data=upload, content_type="multipart/form-data"
    )
    assert result.status_code == 302
    questionnaire = db.session.execute(db.select(Questionnaire)).scalar_one()
    assert questionnaire.status == "draft" and questionnaire.definition == ALL_TYPES
    exported = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/definition.json")
    assert json.loads(exported.data) == ALL_TYPES


def test_cli_export_and_import(runner, evaluator, tmp_path):
    project = make_project(evaluator)
    questionnaire = publishing.import_questionnaire(project, copy.deepcopy(ALL_TYPES))
    target = tmp_path / "q.json"
    result = runner.invoke(args=["questionnaire", "export", str(questionnaire.id), "-o", str(target)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["questionnaire", "import", str(project.id), str(target), "--as", "alice"])
    assert result.exit_code == 0, result.output
    copies = db.session.execute(db.select(Questionnaire).order_by(Questionnaire.id)).scalars().all()
    assert len(copies) == 2 and copies[1].definition == copies[0].definition
    bad = tmp_path / "bad.json"
    bad.write_text('{"title": "", "questions": []}', encoding="utf-8")
    result = runner.invoke(args=["questionnaire", "import", str(project.id), str(bad), "--as", "alice"])
    assert result.exit_code != 0 and "nothing was imported" in result.output
    assert "title: 问卷标题不能为空。 / " in result.output
    assert db.session.execute(db.select(db.func.count(Questionnaire.id))).scalar() == 2
