"""Rounds of a series: linking a questionnaire to its previous round (another project's too), pairing a reworded
question, and the comparison on the results page, in the JSON, the workbook and the report text; the wrong user is
refused."""

from __future__ import annotations

import copy
import io
import json

import openpyxl
import pytest

from analysis.rounds import rate_change
from survey.accounts.access import add_member
from survey.models import Questionnaire, RoundLink
from survey.platform.extensions import db
from survey.questionnaires import publishing
from survey.responses.capture import enter_response
from survey.results.reporting import questionnaire_results
from tests.conftest import login
from tests.helpers import make_project
from tests.test_weighting_views import DEFINITION

# 2023: 乡 a 12 of 20 safe, 乡 b 8 of 20 → 50.0%; 2024: a 18 of 20, b 9 of 20 → 67.5%.
OLD = [("a", "y")] * 12 + [("a", "n")] * 8 + [("b", "y")] * 8 + [("b", "n")] * 12
NEW = [("a", "y")] * 18 + [("a", "n")] * 2 + [("b", "y")] * 9 + [("b", "n")] * 11


def round_of(evaluator, answers, key: str = "safe", project=None) -> Questionnaire:
    definition = copy.deepcopy(DEFINITION)
    definition["sections"][0]["questions"][2]["key"] = key
    questionnaire = publishing.import_questionnaire(project or make_project(evaluator), definition)
    publishing.publish(questionnaire)
    for number, (town, safe) in enumerate(answers):
        enter_response(questionnaire, {"town": town, "sex": "m", key: safe}, f"{questionnaire.id}-{number}")
    db.session.commit()
    return questionnaire


def link(client, questionnaire, previous, **pairs):
    data = {"previous": str(previous.id), "label": "2024 年", "previous_label": "2023 年", **pairs}
    return client.post(f"/desk/questionnaires/{questionnaire.id}/rounds/", data=data)


@pytest.fixture
def two_rounds(logged_in, evaluator):
    """Two years, in two projects; the newer round's question has a new key but the same wording."""
    old = round_of(evaluator, OLD)
    new = round_of(evaluator, NEW, key="safe2024")
    assert link(logged_in, new, old).status_code == 302
    db.session.expire_all()
    return old, new


def test_linked_rounds_compare_every_rate(two_rounds):
    old, new = two_rounds
    assert new.round_link.mapping == {"safe2024": "safe"}  # paired by the same wording
    results = questionnaire_results(new)
    comparison = results.rounds
    assert comparison.labels == ["2023 年", "2024 年"]
    series = comparison.rates[0]
    assert [f.rate.percent for f in series.rounds] == ["50.0", "67.5"]
    old_rate = questionnaire_results(old).questions[2].rate
    expected = rate_change(old_rate, results.questions[2].rate)
    assert series.change == expected and series.change.points == "17.5"
    assert comparison.overall.values == [("2023 年", 0.5), ("2024 年", 0.675)]
    towns = next(g for g in comparison.groups if g.group_key == "town")
    assert [(r.name, r.rank, r.percent) for r in towns.ranking] == [("城关镇", 1, "90.0"), ("北山乡", 2, "45.0")]
    assert [row.change.points for row in towns.rows] == ["30.0", "5.0"]


def test_comparison_on_the_page_json_workbook_and_report(logged_in, runner, two_rounds):
    _old, new = two_rounds
    html = logged_in.get(f"/desk/questionnaires/{new.id}/results").get_data(as_text=True)
    assert 'id="rounds"' in html and "<svg" in html and "提高 17.5 个百分点" in html
    data = json.loads(runner.invoke(args=["results", str(new.id), "--json"]).output)
    rounds = data["rounds"]
    assert rounds["labels"] == ["2023 年", "2024 年"] and rounds["rates"][0]["change"]["points"] == "17.5"
    text = runner.invoke(args=["results", str(new.id)]).output
    assert "2023 年 → 2024 年" in text and "提高 17.5 个百分点" in text
    assert rounds["rates"][0]["change"]["words"].startswith("提高 17.5 个百分点")
    from survey.reports.workbooks import questionnaire_workbook

    book = openpyxl.load_workbook(io.BytesIO(questionnaire_workbook(new, "zh_Hans_CN")))
    assert "多轮比较" in book.sheetnames
    from survey.reports.text import render_report, report_context, template_for

    text = render_report(template_for(new.project_id), report_context(new))
    assert "与2023 年相比，总体满意度由50.0%变为67.5%，提高 17.5 个百分点（变化不显著）" in text


def test_not_significant_change_says_so(logged_in, evaluator):
    old = round_of(evaluator, [("a", "y")] * 10 + [("a", "n")] * 10)
    new = round_of(evaluator, [("a", "y")] * 11 + [("a", "n")] * 9)
    response = link(logged_in, new, old)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    change = questionnaire_results(new).rounds.rates[0].change
    assert not change.significant
    html = logged_in.get(f"/desk/questionnaires/{new.id}/results").get_data(as_text=True)
    assert "提高 5.0 个百分点（变化不显著）" in html


def test_pairing_by_hand_and_unpairing(logged_in, two_rounds):
    _old, new = two_rounds
    assert link(logged_in, new, _old, **{"pair-safe2024": ""}).status_code == 302
    db.session.expire_all()
    assert new.round_link.mapping == {}
    assert questionnaire_results(new).rounds.rates[0].change is None
    assert link(logged_in, new, _old, **{"pair-safe2024": "safe"}).status_code == 302
    db.session.expire_all()
    assert new.round_link.mapping == {"safe2024": "safe"}


def test_a_loop_is_refused(logged_in, two_rounds):
    old, new = two_rounds
    response = link(logged_in, old, new)  # 2023's previous round cannot be 2024
    assert response.status_code == 422
    assert db.session.execute(db.select(RoundLink).filter_by(questionnaire_id=old.id)).first() is None


def test_wrong_users_are_refused(app, two_rounds, other_evaluator):
    old, new = two_rounds
    client = app.test_client()
    assert client.get(f"/desk/questionnaires/{new.id}/rounds/").status_code == 302
    login(client, "mallory", "mallory-password-1")
    assert client.get(f"/desk/questionnaires/{new.id}/rounds/").status_code == 404
    assert link(client, new, old).status_code == 404
    add_member(new.project, other_evaluator, "viewer")
    db.session.commit()
    assert client.get(f"/desk/questionnaires/{new.id}/rounds/").status_code == 200
    assert link(client, new, old).status_code == 403
    assert client.post(f"/desk/questionnaires/{new.id}/rounds/delete").status_code == 403


def test_previous_round_must_be_readable(client, evaluator, other_evaluator):
    """Mallory may edit her questionnaire but cannot link alice's project's questionnaire she cannot read."""
    alices = round_of(evaluator, OLD)
    mallory_project = make_project(other_evaluator, name="另一个项目")
    hers = round_of(other_evaluator, NEW, project=mallory_project)
    login(client, "mallory", "mallory-password-1")
    assert link(client, hers, alices).status_code == 422
    assert db.session.execute(db.select(RoundLink)).first() is None


def test_weighted_rounds_compare_weighted_figures(logged_in, two_rounds):
    """Both rounds weighted to the same population: every change, the groups' included, is the weighted one."""
    from analysis.rounds import estimate_change
    from tests.test_weighting_views import weighted_survey

    old, new = two_rounds
    weighted_survey(logged_in, old)
    weighted_survey(logged_in, new)
    db.session.expire_all()
    results = questionnaire_results(new)
    series = results.rounds.rates[0]
    before, now = series.rounds
    assert series.weighted_change == estimate_change(before.weighted, now.weighted)
    assert series.headline_change is series.weighted_change
    # 2023: a 12/20, b 8/20 → (0.6·8000 + 0.4·2000) / 10,000 = 56%; 2024: a 18/20, b 9/20 → 81%.
    assert (before.weighted.estimate, now.weighted.estimate) == (pytest.approx(0.56), pytest.approx(0.81))
    towns = next(g for g in results.rounds.groups if g.group_key == "town")
    assert all(row.current_weighted is not None for row in towns.rows)
    assert towns.rows[0].change.method == "weighted_normal"


def test_a_round_of_three_is_never_a_significant_change(logged_in, evaluator):
    """Three answers, all 安全, after 24 of 40: the overall (one rated question) is compared like the rate itself,
    with Newcombe's interval, which covers 0; a zero standard error never makes a change significant."""
    old = round_of(evaluator, NEW)
    new = round_of(evaluator, [("a", "y")] * 3)
    assert link(logged_in, new, old).status_code == 302
    db.session.expire_all()
    comparison = questionnaire_results(new).rounds
    overall, rate = comparison.overall.change, comparison.rates[0].change
    assert overall.method == rate.method == "newcombe_score"
    assert not overall.significant and overall.small_sample and (overall.low, overall.high) == (rate.low, rate.high)
