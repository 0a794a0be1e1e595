"""Indicator tables on the desk: start from a template or another project, edit, link to survey figures, print."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from analysis.scoring import RULES, Param, Rule, RuleError, Wording
from survey.collection.review import decide
from survey.indicators import indicators_views
from survey.indicators.links import link_value, linked_values
from survey.models import IndicatorTable, Response
from survey.platform.extensions import db
from tests.conftest import login
from tests.helpers import SEED_004_ANSWERS, make_project, published

TABLE = {
    "format": "indicator-table/1",
    "title": "测试评分表",
    "indicators": [
        {
            "key": "a",
            "name": "决策",
            "points": 20,
            "children": [
                {
                    "key": "a1",
                    "name": "项目立项",
                    "points": 20,
                    "children": [
                        {
                            "key": "a11",
                            "name": "立项依据充分性",
                            "points": 20,
                            "rule": {"type": "judgement"},
                            "input": {"score": 18, "justification": "依据不够充分"},
                        }
                    ],
                }
            ],
        },
        {
            "key": "b",
            "name": "效益",
            "points": 80,
            "children": [
                {
                    "key": "b1",
                    "name": "项目效益",
                    "points": 80,
                    "children": [
                        {
                            "key": "b11",
                            "name": "服务对象满意度",
                            "points": 10,
                            "rule": {"type": "proportional", "params": {"target": 100}},
                            "standard": "以问卷调查结果为准",
                        },
                        {
                            "key": "b12",
                            "name": "建设任务完成率",
                            "points": 70,
                            "rule": {"type": "proportional", "params": {"target": 100}},
                            "input": {"value": 100},
                        },
                    ],
                }
            ],
        },
    ],
}


@pytest.fixture(autouse=True)
def library(tmp_path, monkeypatch):
    """A template library of one table, so the tests do not depend on the real library's contents."""
    (tmp_path / "test_table.json").write_text(json.dumps(TABLE, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    monkeypatch.setattr(indicators_views, "LIBRARY", tmp_path)
    return tmp_path


def base(project) -> str:
    return f"/desk/projects/{project.id}/indicators/"


def started(client, project):
    response = client.post(base(project) + "start", data={"source": "template:test_table"})
    assert response.status_code == 302
    return db.session.execute(db.select(IndicatorTable).filter_by(project_id=project.id)).scalar_one()


def page(client, project) -> str:
    response = client.get(base(project))
    assert response.status_code == 200
    return response.data.decode()


def respond(app, questionnaire, choices, batch="a"):
    for index, q4 in enumerate(choices):
        answers = {**SEED_004_ANSWERS, "q4": q4, "submission_id": f"s{questionnaire.id}-{batch}{index}"}
        assert app.test_client().post(f"/s/{questionnaire.public_token}", data=answers).status_code in (200, 302, 303)


def test_start_from_a_template_and_see_the_attachment_layout(logged_in, evaluator):
    project = make_project(evaluator)
    offer = page(logged_in, project)
    assert "测试评分表" in offer and "template:test_table" in offer and "broken" not in offer
    row = started(logged_in, project)
    assert row.definition["indicators"][0]["key"] == "a"
    html = page(logged_in, project)
    assert 'rowspan="1"' in html and 'rowspan="2"' in html  # 效益 and 项目效益 span their two leaves
    assert "评价组根据核查情况在 0 到 20 分之间酌情打分" in html  # the rule in words
    assert "以问卷调查结果为准" in html  # the leaf's own standard
    assert 'id="total">88.00<' in html and 'id="grade">良<' in html  # 18 + 70; 满意度 not scored yet
    assert "依据不够充分" in html  # the 扣分 list
    assert 'id="unscored"' in html and "服务对象满意度" in html
    # a second start does nothing
    logged_in.post(base(project) + "start", data={"source": "template:test_table"})
    assert db.session.execute(db.select(db.func.count(IndicatorTable.id))).scalar_one() == 1
    assert "指标评分表" in logged_in.get(f"/desk/projects/{project.id}").data.decode()  # linked from the project


def leaf_of(project, *path) -> dict:
    db.session.expire_all()
    node = {"children": db.session.execute(db.select(IndicatorTable).filter_by(project_id=project.id)).scalar_one()
            .definition["indicators"]}  # fmt: skip
    for index in path:
        node = node["children"][index]
    return node


B12 = {"name": "建设任务完成率", "points": "70", "rule_type": "proportional", "mode": "entered"}


def test_editing_a_leaf_input_changes_score_total_and_grade(logged_in, evaluator):
    project = make_project(evaluator)
    started(logged_in, project)
    form = logged_in.get(base(project) + "nodes/b12").data.decode()
    assert 'name="p-proportional-target"' in form and "按完成比例计分" in form
    assert 'name="params"' not in form and "JSON" not in form  # no raw JSON anywhere
    data = {**B12, "p-proportional-target": "100", "i-proportional-value": "50",
            "justification": "半数点位未建成", "source": "验收报告"}  # fmt: skip
    assert logged_in.post(base(project) + "nodes/b12", data=data).status_code == 302
    html = page(logged_in, project)
    assert 'id="total">53.00<' in html and 'id="grade">差<' in html  # 18 + 35
    assert "半数点位未建成" in html
    leaf = leaf_of(project, 1, 0, 1)
    assert leaf["input"] == {"value": 50, "justification": "半数点位未建成", "source": "验收报告"}
    assert leaf["rule"] == {"type": "proportional", "params": {"target": 100, "unit": "%"}}


def _fieldset(html: str, rule: str) -> str:
    start = html.index(f'data-rule="{rule}"')
    return html[start : html.index(">", start)]


def test_only_the_selected_rules_fields_are_shown_and_switching_works_without_script(logged_in, evaluator):
    project = make_project(evaluator)
    row = started(logged_in, project)
    html = logged_in.get(base(project) + "nodes/b12").data.decode()
    assert "hidden" not in _fieldset(html, "proportional") and "hidden" in _fieldset(html, "threshold_step")
    assert 'name="choose_rule"' in html and "js/indicator-editor.js" in html and "<script>" not in html
    # Without a script: choose a rule, press 按所选规则填写, get that rule's fields; nothing is saved.
    before = json.dumps(row.definition, sort_keys=True)
    redraw = logged_in.post(
        base(project) + "nodes/b12", data={**B12, "rule_type": "threshold_step", "choose_rule": "1"}
    )
    html = redraw.data.decode()
    assert redraw.status_code == 200 and "hidden" not in _fieldset(html, "threshold_step")
    assert "hidden" in _fieldset(html, "proportional")
    for name in ("threshold", "step", "deduct", "partial", "unit"):
        assert f'name="p-threshold_step-{name}"' in html
    assert "满分线" in html and "每档跨度" in html and "不足一档时" in html and "个百分点" in html
    db.session.expire_all()
    assert json.dumps(db.session.get(IndicatorTable, row.id).definition, sort_keys=True) == before
    data = {**B12, "rule_type": "threshold_step", "p-threshold_step-threshold": "95", "p-threshold_step-step": "5",
            "p-threshold_step-deduct": "10", "p-threshold_step-partial": "floor", "p-threshold_step-unit": "%",
            "i-threshold_step-value": "89", "p-proportional-target": "junk"}  # fmt: skip
    assert logged_in.post(base(project) + "nodes/b12", data=data).status_code == 302  # other rules' boxes ignored
    leaf = leaf_of(project, 1, 0, 1)
    params = {"threshold": 95, "step": 5, "deduct": 10, "partial": "floor", "unit": "%"}
    assert leaf["rule"] == {"type": "threshold_step", "params": params}
    assert leaf["input"] == {"value": 89}
    assert 'id="total">78.00<' in page(logged_in, project)  # 18 + (70 − 10): one whole step below
    html = page(logged_in, project)
    assert "实际值达到 95% 及以上得满分 70 分；每低 5 个百分点扣 10 分（不足一档不扣），扣完为止。" in html


def test_tier_lists_are_repeatable_rows(logged_in, evaluator):
    project = make_project(evaluator)
    started(logged_in, project)
    tiers = {**B12, "rule_type": "tiers"}
    redraw = logged_in.post(base(project) + "nodes/b12", data={**tiers, "add_row": "tiers:tiers",
                                                                "p-tiers-tiers-0-min": "100"})  # fmt: skip
    html = redraw.data.decode()
    assert redraw.status_code == 200 and 'name="p-tiers-tiers-1-min"' in html  # one blank row more
    assert 'value="100"' in html  # what was typed stays
    data = {**tiers, "p-tiers-unit": "%",
            "p-tiers-tiers-0-min": "100", "p-tiers-tiers-0-points": "30",
            "p-tiers-tiers-1-min": "", "p-tiers-tiers-1-points": "",  # a blank row is dropped
            "p-tiers-tiers-2-min": "95", "p-tiers-tiers-2-points": "20",
            "p-tiers-tiers-3-min": "", "p-tiers-tiers-3-points": "0",  # no 达到: the rest
            "i-tiers-values-0-items": "一期", "i-tiers-values-0-values": "100",
            "i-tiers-values-1-items": "二期", "i-tiers-values-1-values": "96.5"}  # fmt: skip
    assert logged_in.post(base(project) + "nodes/b12", data=data).status_code == 302
    leaf = leaf_of(project, 1, 0, 1)
    assert leaf["rule"]["params"]["tiers"] == [{"min": 100, "points": 30}, {"min": 95, "points": 20},
                                               {"min": None, "points": 0}]  # fmt: skip
    assert leaf["input"] == {"items": ["一期", "二期"], "values": [100, 96.5]}
    assert 'id="total">68.00<' in page(logged_in, project)  # 18 + 30 + 20
    form = logged_in.get(base(project) + "nodes/b12").data.decode()
    assert 'name="p-tiers-tiers-2-min"' in form and 'value="二期"' in form  # shown back as rows
    missing = {**data, "p-tiers-tiers-0-points": ""}
    refused = logged_in.post(base(project) + "nodes/b12", data=missing)
    assert refused.status_code == 422 and "“档次”第 1 行：请填写“得分”。" in refused.data.decode()


def test_validation_errors_refuse_the_change_and_name_the_field(logged_in, evaluator):
    project = make_project(evaluator)
    row = started(logged_in, project)
    before = json.dumps(row.definition, sort_keys=True)
    data = {"name": "立项依据充分性", "points": "25", "rule_type": "judgement", "mode": "entered",
            "i-judgement-score": "18", "justification": "依据不够充分"}  # fmt: skip
    response = logged_in.post(base(project) + "nodes/a11", data=data)  # 25 under a parent of 20
    assert response.status_code == 422
    html = response.data.decode()
    assert "<strong>“项目立项”的下级指标</strong>：下级指标分值合计 25 分" in html, html[html.find("refused") :][:900]
    bad = {**data, "points": "20", "rule_type": "threshold_step", "p-threshold_step-threshold": "90",
           "p-threshold_step-step": "0", "p-threshold_step-deduct": "1"}  # fmt: skip
    response = logged_in.post(base(project) + "nodes/a11", data=bad)
    assert response.status_code == 422 and "“每档跨度”必须大于 0。" in response.data.decode()
    response = logged_in.post(base(project) + "nodes/a11", data={**bad, "p-threshold_step-threshold": "九十"})
    assert response.status_code == 422 and "<strong>满分线</strong>：请填写数字。" in response.data.decode()
    response = logged_in.post(base(project) + "nodes/a11", data={**data, "points": "20", "i-judgement-score": "21"})
    assert response.status_code == 422 and "得分应在 0 到 20 之间。" in response.data.decode()
    response = logged_in.post(base(project) + "nodes/a11", data={**data, "points": "20", "justification": ""})
    assert response.status_code == 422 and "酌情打分必须写明理由。" in response.data.decode()
    response = logged_in.post(base(project) + "nodes/a11", data={**data, "points": ""})
    assert response.status_code == 422 and "<strong>分值</strong>：请填写分值。" in response.data.decode()
    db.session.expire_all()
    assert json.dumps(db.session.get(IndicatorTable, row.id).definition, sort_keys=True) == before
    # with the parents adjusted the same change is saved; a total ≠ 100 is only a warning
    assert logged_in.post(base(project) + "nodes/a11", data={**data, "adjust_parents": "y"}).status_code == 302
    html = page(logged_in, project)
    assert "与 100 分相差 5 分" in html


class Bonus(Rule):
    """A rule the registry does not ship: points per item, one of two bases."""

    name, label, input_kind = "toy_bonus", "每项加分（测试）", "count"
    params = (
        Param("per_item", "每项加分", minimum=0, above=True, unit="分"),
        Param("basis", "计数口径", kind="choice", default="all", choices=(("all", "全部"), ("new", "新增"))),
    )
    inputs = (Param("items", "项数", required=False, minimum=0, unit="项"),)

    def score(self, params, points, entry):
        if "items" not in entry:
            raise RuleError("请填写项数。", "items")
        return min(points, Decimal(str(entry["items"])) * Decimal(str(params["per_item"])))

    def describe(self, params, points):
        return Wording("每项加 %(n)s 分，最高 %(points)s 分。", {"n": params["per_item"], "points": points})


def test_a_new_rule_needs_only_its_registry_entry_for_the_editor(logged_in, evaluator, monkeypatch):
    monkeypatch.setitem(RULES, Bonus.name, Bonus())
    project = make_project(evaluator)
    started(logged_in, project)
    html = logged_in.post(base(project) + "nodes/b12", data={**B12, "rule_type": "toy_bonus", "choose_rule": "1"})
    html = html.data.decode()
    assert "每项加分（测试）" in html and 'name="p-toy_bonus-per_item"' in html and "每项加分" in html
    assert 'name="p-toy_bonus-basis"' in html and ">新增<" in html and 'name="i-toy_bonus-items"' in html
    assert "hidden" not in _fieldset(html, "toy_bonus")
    data = {**B12, "rule_type": "toy_bonus", "p-toy_bonus-per_item": "0", "i-toy_bonus-items": "3"}
    refused = logged_in.post(base(project) + "nodes/b12", data=data)
    assert refused.status_code == 422 and "“每项加分”必须大于 0。" in refused.data.decode()
    data = {**data, "p-toy_bonus-per_item": "20", "p-toy_bonus-basis": "new"}
    assert logged_in.post(base(project) + "nodes/b12", data=data).status_code == 302
    leaf = leaf_of(project, 1, 0, 1)
    assert leaf["rule"] == {"type": "toy_bonus", "params": {"per_item": 20, "basis": "new"}}
    assert leaf["input"] == {"items": 3}
    html = page(logged_in, project)
    assert 'id="total">78.00<' in html and "每项加 20 分，最高 70 分。" in html  # 18 + 60


def test_links_use_dropdowns_from_the_database_and_are_checked(app, logged_in, evaluator, other_evaluator):
    project = make_project(evaluator)
    questionnaire = published(project)
    started(logged_in, project)
    foreign = published(make_project(other_evaluator, "别人的项目"))
    html = logged_in.get(base(project) + "nodes/b11").data.decode()
    chooser = html[html.index('id="questionnaire"') :][:600]
    assert f'value="{questionnaire.id}"' in chooser and f'value="{foreign.id}"' not in chooser, chooser
    assert "第 4 题 您对丰泽区的治安满意吗？" in html  # rated questions by number and text
    assert 'value="q1a"' not in html and 'value="q8"' not in html  # text questions have no rate
    assert 'value="web"' in html and 'id="link-options"' in html and 'type="application/json"' in html
    link = {"name": "服务对象满意度", "points": "10", "rule_type": "proportional", "p-proportional-target": "100",
            "mode": "link", "questionnaire": str(questionnaire.id), "figure": "rate", "question": "q4"}  # fmt: skip
    refused = logged_in.post(base(project) + "nodes/b11", data={**link, "questionnaire": str(foreign.id)})
    assert refused.status_code == 422 and "请选择本项目的一份问卷。" in refused.data.decode()
    refused = logged_in.post(base(project) + "nodes/b11", data={**link, "question": "q8"})
    assert refused.status_code == 422 and "<strong>题目</strong>：请选择一道计算满意率的题目。" in refused.data.decode()
    refused = logged_in.post(base(project) + "nodes/b11", data={**link, "figure": "return_rate", "channel": "web"})
    assert refused.status_code == 422 and "不能按渠道计算" in refused.data.decode()
    refused = logged_in.post(base(project) + "nodes/b11", data={**link, "channel": "nowhere"})
    assert refused.status_code == 422 and "所选渠道不属于这份问卷。" in refused.data.decode()
    tiers = {**link, "rule_type": "tiers", "p-tiers-tiers-0-min": "90", "p-tiers-tiers-0-points": "10"}
    refused = logged_in.post(base(project) + "nodes/b11", data=tiers)  # tiers score several values, not one
    assert refused.status_code == 422 and "“分档计分”不按一个实际值计分，不能取调查结果" in refused.data.decode()
    assert logged_in.post(base(project) + "nodes/b11", data={**link, "dimension": "x"}).status_code == 302
    assert leaf_of(project, 1, 0, 0)["input"] == {"link": {"questionnaire": questionnaire.id, "figure": "rate",
                                                           "question": "q4"}}  # fmt: skip
    form = logged_in.get(base(project) + "nodes/b11").data.decode()
    assert '<option selected value="q4">' in form or '<option value="q4" selected>' in form
    table = page(logged_in, project)
    assert f"{questionnaire.title} · 第 4 题满意率" in table  # the table names it in words
    assert "某题的" not in table  # the chooser's wording stays in the chooser


def test_linked_satisfaction_follows_responses_and_exclusions(app, logged_in, evaluator):
    project = make_project(evaluator)
    questionnaire = published(project)
    started(logged_in, project)
    link = {
        "name": "服务对象满意度",
        "points": "10",
        "rule_type": "proportional",
        "p-proportional-target": "100",
        "mode": "link",
        "questionnaire": str(questionnaire.id),
        "figure": "rate",
        "question": "q4",
    }
    assert logged_in.post(base(project) + "nodes/b11", data=link).status_code == 302
    html = page(logged_in, project)
    assert "关联" in html and questionnaire.title in html
    assert "还没有" in html  # no responses yet: listed with why
    respond(app, questionnaire, ["a", "a", "b", "c"])  # q4: 3 of 4 satisfied
    html = page(logged_in, project)
    assert 'id="total">95.50<' in html and 'id="grade">优<' in html  # 18 + 7.50 + 70
    assert f"{questionnaire.title} · 第 4 题满意率 = 75.00%" in html
    reason = "实际值 75%，为目标值 100% 的 75%，扣 2.5 分。"  # the rule applied to the live figure
    assert f"<td>{reason}</td>" in html
    sheet = load_workbook(io.BytesIO(logged_in.get(base(project) + "export.xlsx").data))["附件1"]
    reasons = {row[16] or row[15]: row[10] for row in sheet.iter_rows(min_row=3, values_only=True) if row[14]}
    assert reasons["b11"] == reason  # the Excel's 扣分原因 says the same as the desk
    row = db.session.execute(db.select(IndicatorTable)).scalar_one()
    assert linked_values(project, row.definition) == {"b11": Decimal(75)}
    unhappy = db.session.execute(db.select(Response).where(Response.answers["q4"].as_string() == "c")).scalar_one()
    decide(unhappy, evaluator, "exclude", "重复作答")
    assert 'id="total">98.00<' in page(logged_in, project)  # 100% satisfied now
    decide(unhappy, evaluator, "restore", "误判")
    respond(app, questionnaire, ["c", "c"], batch="b")
    value = link_value(project, {"questionnaire": questionnaire.id, "figure": "rate", "question": "q4"})
    assert value == Decimal(3) * 100 / Decimal(6) == Decimal(50)
    overall = link_value(project, {"questionnaire": questionnaire.id, "figure": "overall_rate"})
    assert isinstance(overall, Decimal) and 0 <= overall <= 100
    web = link_value(project, {"questionnaire": questionnaire.id, "figure": "rate", "question": "q4", "channel": "web"})
    assert web == value  # every answer came through the web link


def test_add_rename_delete_nodes_and_grades(logged_in, evaluator):
    project = make_project(evaluator)
    row = started(logged_in, project)
    added = logged_in.post(base(project) + "add", data={"parent": "a1", "name": "绩效目标明确性", "points": "5"})
    assert added.status_code == 422  # parents not adjusted: 20 ≠ 25
    ok = logged_in.post(
        base(project) + "add", data={"parent": "a1", "name": "绩效目标明确性", "points": "5", "adjust_parents": "1"}
    )
    assert ok.status_code == 302
    db.session.expire_all()
    a = db.session.get(IndicatorTable, row.id).definition["indicators"][0]
    assert a["points"] == 25 and [c["key"] for c in a["children"][0]["children"]] == ["a11", "a12"]
    rename = {"name": "决策（调整）", "points": "25"}
    assert logged_in.post(base(project) + "nodes/a", data=rename).status_code == 302
    assert "决策（调整）" in page(logged_in, project)
    assert logged_in.post(base(project) + "nodes/a12/delete", data={"adjust_parents": "1"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(IndicatorTable, row.id).definition["indicators"][0]["points"] == 20
    grades = {"grades": "优秀 85\n合格 0", "decimals": "1"}
    assert logged_in.post(base(project) + "grades", data=grades).status_code == 302
    html = page(logged_in, project)
    assert 'id="grade">优秀<' in html and 'id="total">88.0<' in html
    assert logged_in.post(base(project) + "grades", data={"grades": "优秀", "decimals": "1"}).status_code == 422
    assert logged_in.get(base(project) + "nodes/nope").status_code == 404
    refused = logged_in.post(base(project) + "nodes/a11/delete", data={"adjust_parents": "1"})  # a1's only child
    assert refused.status_code == 422 and "不能删除最后一个下级指标" in refused.data.decode()
    assert logged_in.get(base(project) + "?lang=en").status_code == 200


def test_copy_from_another_project(app, logged_in, evaluator):
    first = make_project(evaluator, "项目一")
    questionnaire = published(first)
    row = started(logged_in, first)
    definition = json.loads(json.dumps(row.definition))
    definition["indicators"][1]["children"][0]["children"][0]["input"] = {
        "link": {"questionnaire": questionnaire.id, "figure": "overall_rate"}
    }
    row.definition = definition
    db.session.commit()
    second = make_project(evaluator, "项目二")
    offer = page(logged_in, second)
    assert f"project:{first.id}" in offer and "项目一" in offer
    assert logged_in.post(base(second) + "start", data={"source": f"project:{first.id}"}).status_code == 302
    copy = db.session.execute(db.select(IndicatorTable).filter_by(project_id=second.id)).scalar_one()
    assert copy.definition["title"] == "测试评分表"
    assert copy.definition["indicators"][1]["children"][0]["children"][0]["input"] == {}  # the link is not carried


def test_print_view(logged_in, evaluator):
    project = make_project(evaluator)
    started(logged_in, project)
    for url in (base(project) + "print", base(project) + "?print=1"):
        html = logged_in.get(url).data.decode()
        assert "附件1" in html and "立项依据充分性" in html and 'id="total">88.00<' in html
        assert "/nodes/" not in html and "扣分情况" not in html


def test_another_evaluator_gets_404_everywhere(app, client, evaluator, other_evaluator):
    project = make_project(evaluator)
    other = make_project(other_evaluator, "别人的项目")
    db.session.add(IndicatorTable(project_id=project.id, definition=TABLE))
    db.session.commit()
    assert login(client, "mallory", "mallory-password-1").status_code == 302
    urls = [("GET", ""), ("GET", "print"), ("GET", "?print=1"), ("POST", "start"), ("GET", "nodes/a11")]
    urls += [("POST", "nodes/a11"), ("POST", "nodes/a11/delete"), ("GET", "add"), ("POST", "add")]
    urls += [("GET", "grades"), ("POST", "grades")]
    for method, tail in urls:
        response = client.open(base(project) + tail, method=method, data={"name": "x", "points": "1"})
        assert response.status_code == 404, f"{method} {tail}"
    # nor can an outsider's project copy alice's table
    response = client.post(base(other) + "start", data={"source": f"project:{project.id}"})
    assert response.status_code == 302
    assert db.session.execute(db.select(IndicatorTable).filter_by(project_id=other.id)).scalar_one_or_none() is None


def test_a_viewer_sees_the_editor_but_cannot_change_anything(app, client, evaluator, other_evaluator):
    from survey.models import ProjectMember

    project = make_project(evaluator)
    db.session.add(IndicatorTable(project_id=project.id, definition=TABLE))
    db.session.add(ProjectMember(project_id=project.id, user_id=other_evaluator.id, role="viewer"))
    db.session.commit()
    assert login(client, "mallory", "mallory-password-1").status_code == 302
    assert client.get(base(project) + "nodes/b12").status_code == 200
    for extra in ({"choose_rule": "1"}, {"add_row": "tiers:tiers"}, {"choose_questionnaire": "1"}, {}):
        response = client.post(base(project) + "nodes/b12", data={**B12, **extra})
        assert response.status_code == 403, extra
    db.session.expire_all()
    assert db.session.execute(db.select(IndicatorTable)).scalar_one().definition == TABLE


def test_without_script_another_questionnaire_lists_its_own_questions(logged_in, evaluator):
    project = make_project(evaluator)
    first = published(project)
    second = published(project, "public_safety")
    started(logged_in, project)
    data = {"name": "服务对象满意度", "points": "10", "rule_type": "proportional", "mode": "link",
            "questionnaire": str(second.id), "figure": "rate", "choose_questionnaire": "1"}  # fmt: skip
    redraw = logged_in.post(base(project) + "nodes/b11", data=data)
    html = redraw.data.decode()
    chooser = html[html.index('id="question"') :][:3000]
    assert redraw.status_code == 200 and "您对丰泽区的治安满意吗" not in chooser  # first's q4 is gone
    assert "第 1 题 在目前的社会治安环境下" in chooser and first.id != second.id
    assert f'<option selected value="{second.id}">' in html


def test_desk_and_excel_print_the_same_rule_in_words(logged_in, evaluator):
    import io

    from openpyxl import load_workbook

    project = make_project(evaluator)
    started(logged_in, project)
    html = page(logged_in, project)
    sheet = load_workbook(io.BytesIO(logged_in.get(base(project) + "export.xlsx").data))["附件1"]
    printed = [row[7] for row in sheet.iter_rows(min_row=3, values_only=True) if row[16] or row[15]]
    assert printed == ["评价组根据核查情况在 0 到 20 分之间酌情打分，并写明理由。", "以问卷调查结果为准",
                       "得分 = 实际值 ÷ 目标值（100%）× 70 分；达到目标值得满分 70 分。"]  # fmt: skip
    for text in printed:
        assert f'<td class="standard">{text}</td>' in html
