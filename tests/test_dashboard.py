"""The project dashboard, the desk's empty states, confirmations and page titles, and the help page."""

from __future__ import annotations

import copy
import re
from decimal import Decimal

import pytest

from analysis.scoring import RULES
from survey.collection.review import decide, waiting_for_review
from survey.models import Channel, IndicatorTable, Response
from survey.platform.extensions import db
from survey.projects.dashboard import flags_waiting, indicator_summary, project_dashboard
from survey.questionnaires.qtypes import QUESTION_TYPES
from survey.responses.capture import enter_response
from tests.helpers import SEED_004_ANSWERS, make_project, published
from tests.test_indicators_views import TABLE


@pytest.fixture
def project(evaluator):
    return make_project(evaluator)


def answer(questionnaire, sid: str, channel: str | None = None, flags: list[str] | None = None, **changes) -> Response:
    """Store one response as the public page would (evaluator-side to skip the device rules)."""
    response, created = enter_response(
        questionnaire, {**SEED_004_ANSWERS, **changes}, sid, flags=flags, channel=channel
    )
    assert created
    return response


def dashboard_html(client, project) -> str:
    response = client.get(f"/desk/projects/{project.id}")
    assert response.status_code == 200
    return response.data.decode()


def test_counts_per_channel_against_targets(app, logged_in, project):
    questionnaire = published(project)
    questionnaire.target = 10
    db.session.add_all(
        [
            Channel(questionnaire=questionnaire, code="c1", name="东海街道", target=4),
            Channel(questionnaire=questionnaire, code="c2", name="清源街道", target=5),
        ]
    )
    db.session.commit()
    for n in range(3):
        answer(questionnaire, f"east{n}", channel="c1")
    answer(questionnaire, "web0")
    excluded = answer(questionnaire, "east-x", channel="c1")
    decide(excluded, project.members[0].user, "exclude", "重复")

    summary = project_dashboard(project).questionnaires[0]
    assert (summary.total.valid, summary.total.target, summary.total.percent, summary.excluded) == (4, 10, 40, 1)
    by_label = {c.label: (c.valid, c.target, c.percent) for c in summary.channels}
    assert by_label == {"东海街道": (3, 4, 75), "清源街道": (0, 5, 0), "网络（扫码/链接）": (1, None, None)}

    html = dashboard_html(logged_in, project)
    assert '<progress max="100" value="75"' in html and "3 / 4 份" in html
    assert '<progress max="100" value="40"' in html and "4 / 10 份" in html
    assert "已排除 1 份" in html and 'id="stat-valid">4<' in html


def test_progress_is_capped_for_the_bar_but_the_numbers_show_the_overshoot(app, logged_in, project):
    questionnaire = published(project)
    questionnaire.target = 2
    db.session.commit()
    for n in range(3):
        answer(questionnaire, f"s{n}")
    html = dashboard_html(logged_in, project)
    assert '<progress max="100" value="100"' in html and "3 / 2 份" in html


def test_flags_waiting_count_agrees_with_the_review_page(app, logged_in, project):
    first, second = published(project), published(project, "public_safety")
    answer(first, "plain")
    answer(first, "fast", flags=["too_fast"])
    answer(first, "two", flags=["too_fast", "straight_lining"])
    kept = answer(first, "kept", flags=["duplicate_device"])
    gone = answer(first, "gone", flags=["too_fast"])
    decide(kept, project.members[0].user, "keep", "看过，没问题")
    decide(gone, project.members[0].user, "exclude", "用时过短")
    assert flags_waiting(project) == {first.id: len(waiting_for_review(first))} == {first.id: 2}
    assert len(waiting_for_review(second)) == 0

    html = dashboard_html(logged_in, project)
    assert 'id="stat-flags">2<' in html
    assert f'href="/desk/questionnaires/{first.id}/review">2 份待审核' in html
    assert f'href="/desk/questionnaires/{second.id}/review"' not in html


def test_indicator_total_and_grade_are_the_table_pages(app, logged_in, project):
    questionnaire = published(project)
    table = copy.deepcopy(TABLE)
    leaf = table["indicators"][1]["children"][0]["children"][0]
    leaf["input"] = {"link": {"questionnaire": questionnaire.id, "figure": "rate", "question": "q4"}}
    db.session.add(IndicatorTable(project_id=project.id, definition=table))
    db.session.commit()

    before = indicator_summary(project)
    assert before.total == Decimal("88.00") and not before.complete  # the linked leaf has no answers yet
    html = dashboard_html(logged_in, project)
    assert "部分指标尚未打分" in html

    for n, q4 in enumerate(["a", "a", "b", "c"]):  # q4: 3 of 4 satisfied: 7.50 of 10
        answer(questionnaire, f"s{n}", q4=q4)
    after = indicator_summary(project)
    assert (after.total, after.grade, after.complete, after.total_points) == (Decimal("95.50"), "优", True, 100)
    table_page = logged_in.get(f"/desk/projects/{project.id}/indicators/").data.decode()
    assert 'id="total">95.50<' in table_page
    html = dashboard_html(logged_in, project)
    assert 'id="indicator-total">95.50<' in html and 'id="indicator-grade">优<' in html


def test_an_invalid_indicator_table_is_reported_not_scored(app, logged_in, project):
    table = copy.deepcopy(TABLE)
    table["indicators"][0]["points"] = "twenty"
    db.session.add(IndicatorTable(project_id=project.id, definition=table))
    db.session.commit()
    assert indicator_summary(project).invalid
    assert "指标评分表有错误" in dashboard_html(logged_in, project)


def test_empty_states_say_what_to_do_next(app, logged_in, evaluator):
    projects = logged_in.get("/desk/").data.decode()
    assert 'id="no-projects"' in projects and 'href="/desk/projects/new"' in projects

    project = make_project(evaluator)
    html = dashboard_html(logged_in, project)
    assert 'id="no-questionnaires"' in html and "还没有指标评分表" in html
    assert f'href="/desk/projects/{project.id}/indicators/"' in html

    from survey.questionnaires import publishing

    draft = publishing.create_questionnaire(project, "fengze_service_object")
    assert "还没有发布" in dashboard_html(logged_in, project)
    publishing.publish(draft)
    html = dashboard_html(logged_in, project)
    assert "还没有收到回答" in html
    assert logged_in.get(f"/desk/projects/{project.id}?lang=en").status_code == 200
    assert "还没有采集点" in html and f'href="/desk/questionnaires/{draft.id}/channels"' in html


def test_failed_create_shows_the_dashboard_again_with_the_error(logged_in, project):
    response = logged_in.post(f"/desk/projects/{project.id}/questionnaires", data={"title": "x"})
    assert response.status_code == 422
    html = response.data.decode()
    assert "请选择一个模板" in html and 'id="summary"' in html


def test_destructive_buttons_sit_behind_a_confirmation(app, logged_in, project):
    questionnaire = published(project)
    html = logged_in.get(f"/desk/questionnaires/{questionnaire.id}").data.decode()
    close = re.search(r'<details class="confirm" id="close-confirm">(.*?)</details>', html, re.S)
    assert close and f'action="/desk/questionnaires/{questionnaire.id}/close"' in close.group(1)
    assert html.count(f'action="/desk/questionnaires/{questionnaire.id}/close"') == 1  # only inside the panel

    db.session.add(Channel(questionnaire=questionnaire, code="c1", name="派出所"))
    db.session.commit()
    channels = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/channels").data.decode()
    delete = re.search(r'<details class="confirm">(.*?)</details>', channels, re.S)
    assert delete and "/delete" in delete.group(1) and "派出所" in delete.group(1)


def test_page_titles_name_the_page_the_project_and_the_service(logged_in, project):
    questionnaire = published(project)
    results = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/results").data.decode()
    title = re.search(r"<title>(.*?)</title>", results)
    assert title.group(1) == f"结果：{questionnaire.title} — {project.name} — 问卷评价"
    title = re.search(r"<title>(.*?)</title>", logged_in.get(f"/desk/projects/{project.id}").data.decode())
    assert title.group(1) == f"项目概览 — {project.name} — 问卷评价"
    assert "<title>评价项目 — 问卷评价</title>" in logged_in.get("/desk/").data.decode()


def test_help_page_in_chinese_and_english_lists_every_type_and_rule(client):
    html = client.get("/help").data.decode()
    assert "<title>使用帮助 — 问卷评价</title>" in html
    headings = (
        "工作流程",
        "题型",
        "采集点与二维码海报",
        "服务对象单位码",
        "答卷审核与排除",
        "口径",
        "评分规则",
        "导出",
    )
    for heading in headings:
        assert heading in html, heading
    for qtype in QUESTION_TYPES.values():
        assert f"<dt>{qtype.label}</dt>" in html
    for rule in RULES.values():
        assert f"<dt>{rule.label}</dt>" in html
    english = client.get("/help?lang=en")
    assert english.status_code == 200
    assert 'lang="en"' in english.data.decode()


def test_desk_header_links_to_help(logged_in):
    assert 'href="/help"' in logged_in.get("/desk/").data.decode()


def test_viewers_see_the_figures_but_no_buttons_that_change_things(app, client, project, other_evaluator):
    from survey.models import ProjectMember
    from tests.conftest import login

    questionnaire = published(project)
    db.session.add(ProjectMember(project_id=project.id, user_id=other_evaluator.id, role="viewer"))
    db.session.commit()
    assert login(client, "mallory", "mallory-password-1").status_code == 302
    html = dashboard_html(client, project)
    assert 'id="summary"' in html and f'id="q-{questionnaire.id}"' in html
    assert 'id="new-questionnaire"' not in html and f"/desk/projects/{project.id}/edit" not in html
    page = client.get(f"/desk/questionnaires/{questionnaire.id}").data.decode()
    assert 'id="close-confirm"' not in page and "/builder/" not in page and "/responses/delete" not in page


def test_editors_get_the_delete_all_responses_page_link(logged_in, project):
    questionnaire = published(project)
    page = logged_in.get(f"/desk/questionnaires/{questionnaire.id}").data.decode()
    assert f'href="/desk/questionnaires/{questionnaire.id}/responses/delete"' in page
