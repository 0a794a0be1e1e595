"""Non-finite numbers: number answers are bounded, and every JSON the service writes is valid JSON.

An odds ratio of infinity (two responses suffice) or an answer of 1e308 (whose mean overflows) used to be
written as ``Infinity``: the results page's charts all failed to parse their data, the API answered with
something no JSON parser reads, and the Stata file failed with a server error. Each check here parses JSON
strictly (``allow_nan=False`` on writing, no ``Infinity``/``NaN`` constants on reading).
"""

from __future__ import annotations

import copy
import json
import math
import re

import pandas as pd
import pyreadstat
import pytest
from flask import jsonify

from analysis.association import association_test
from analysis.numbers import finite_data
from survey.accounts.api_tokens import issue_token
from survey.models import Questionnaire, Response, utcnow
from survey.platform.extensions import db
from survey.questionnaires import publishing
from survey.questionnaires.definition import DefinitionError, validate_definition
from survey.questionnaires.qtypes import NUMBER_LIMIT
from survey.respond.submit import store_response
from tests import test_browser
from tests.helpers import ALL_TYPES, ALL_TYPES_ANSWERS, make_project


def strict_json(text: str | bytes):
    """Parse as a browser's ``JSON.parse`` does: ``Infinity`` and ``NaN`` are errors."""

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


DEFINITION = copy.deepcopy(ALL_TYPES)
DEFINITION["sections"][0]["questions"].append({"key": "amount", "type": "number", "text": "金额"})
DEFINITION["sections"][0]["questions"].append({"key": "count", "type": "number", "text": "次数", "integer": True})


@pytest.fixture
def questionnaire(evaluator):
    questionnaire = publishing.import_questionnaire(make_project(evaluator), copy.deepcopy(DEFINITION))
    publishing.publish(questionnaire)
    return questionnaire


def submit(app, questionnaire, sid: str, **answers):
    data = {**ALL_TYPES_ANSWERS, **answers, "submission_id": sid}
    return app.test_client().post(f"/s/{questionnaire.public_token}", data=data)


def stored() -> list[Response]:
    return db.session.execute(db.select(Response).order_by(Response.id)).scalars().all()


def page_data(client, questionnaire) -> dict:
    page = client.get(f"/desk/questionnaires/{questionnaire.id}/results")
    assert page.status_code == 200
    return strict_json(re.search(r'id="results-data">(.*?)</script>', page.data.decode(), re.S).group(1))


def api_results(client, evaluator, questionnaire) -> dict:
    _token, secret = issue_token(evaluator, "test")
    response = client.get(
        f"/api/v1/questionnaires/{questionnaire.id}/results", headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 200 and response.mimetype == "application/json"
    return strict_json(response.data)


# --- statistics that cannot be computed -------------------------------------------------------------


def test_fisher_with_a_zero_cell_gives_no_odds_ratio_and_says_why():
    test = association_test([[1, 0], [0, 1]])
    assert test.method == "fisher" and test.statistic is None and test.statistic_note == "zero_cell"
    assert test.p_value == pytest.approx(1.0)
    assert association_test([[3, 1], [1, 3]]).statistic == pytest.approx(9.0)


def test_two_responses_with_an_infinite_odds_ratio_keep_the_page_api_and_cli_json_valid(
    app, logged_in, evaluator, questionnaire, runner
):
    assert submit(app, questionnaire, "a", grp="n", one="a").status_code == 303
    assert submit(app, questionnaire, "b", grp="s", one="b", fix="改进").status_code == 303
    for data in (page_data(logged_in, questionnaire), api_results(app.test_client(), evaluator, questionnaire)):
        test = data["breakdowns"][0]["tests"]["one"]
        assert test["method"] == "fisher" and test["statistic"] is None
        assert test["statistic_note"].startswith("无法计算")
    result = runner.invoke(args=["results", str(questionnaire.id), "--json"])
    assert result.exit_code == 0, result.output
    assert strict_json(result.output)["breakdowns"][0]["tests"]["one"]["statistic"] is None


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # numpy's, as the sums overflow
def test_figures_of_answers_stored_before_the_bound_are_null_with_a_note(app, logged_in, evaluator, questionnaire):
    """Answers of 1e308 stored before numbers were bounded: their mean is infinite, written as null."""
    for sid in ("a", "b"):
        assert submit(app, questionnaire, sid, amount="5").status_code == 303
    for response in stored():  # as the respondent path stored them then: answers and their fast copy
        response.answers = {**response.answers, "amount": 1e308}
        response.extras = json.dumps({**json.loads(response.extras), "amount": 1e308})
    db.session.commit()
    for data in (page_data(logged_in, questionnaire), api_results(app.test_client(), evaluator, questionnaire)):
        numbers = next(q for q in data["questions"] if q["key"] == "amount")["numbers"]
        assert numbers["mean"] is None and numbers["mean_note"].startswith("无法计算")
        assert numbers["maximum"] == 1e308 and numbers["answered"] == 2  # what is finite stays
    page = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/results").data.decode()
    shown = re.search(r'id="q-amount".*?<dl class="facts numbers">(.*?)</dl>', page, re.S).group(1)
    assert "inf" not in shown and "nan" not in shown and "无法计算" in shown
    assert logged_in.get(f"/desk/questionnaires/{questionnaire.id}/results.xlsx").status_code == 200
    for name in ("responses.dta", "responses.sav"):  # 1e308 is beyond Stata's doubles: missing there
        assert logged_in.get(f"/desk/questionnaires/{questionnaire.id}/data/{name}").status_code == 200, name


def test_finite_data_nulls_every_non_finite_float_and_notes_why():
    data = {"a": math.inf, "b": [1.5, -math.inf, {"c": math.nan}], "d": (2, math.nan), "e": "inf", "f": None}
    clean = finite_data(data, "无法计算")
    assert clean == {"a": None, "a_note": "无法计算", "b": [1.5, None, {"c": None, "c_note": "无法计算"}],
                     "d": [2, None], "e": "inf", "f": None}  # fmt: skip
    assert json.dumps(clean, allow_nan=False)
    assert finite_data({"x": math.inf, "x_note": "own reason"}, "generic") == {"x": None, "x_note": "own reason"}


def test_the_app_never_writes_infinity_as_json(app):
    assert strict_json(app.json.dumps({"x": math.inf, "y": [math.nan, 1]})) == {"x": None, "y": [None, 1]}
    with app.test_request_context("/api/v1/anything"):
        assert strict_json(jsonify(value=-math.inf).get_data()) == {"value": None}
    rendered = app.jinja_env.from_string("{{ data|tojson }}").render(data={"v": math.inf})
    assert strict_json(rendered) == {"v": None}


# --- number answers are bounded --------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["1e308", "-1e308", "1e400", "inf", "-Infinity", "1000000000001", "１e13", "1" + "0" * 26]
)
def test_a_number_beyond_the_bound_is_refused_saying_so_and_keeping_what_was_typed(app, questionnaire, typed):
    response = submit(app, questionnaire, "x", amount=typed)
    html = response.data.decode()
    assert response.status_code == 422 and not stored()
    assert "超出了可以填写的范围" in html and "1,000,000,000,000" in html
    assert f'value="{typed}"' in html  # the box still holds what was typed


@pytest.mark.parametrize("typed", ["nan", "NaN", "-nan"])
def test_not_a_number_is_refused(app, questionnaire, typed):
    response = submit(app, questionnaire, "x", amount=typed)
    assert response.status_code == 422 and "请填写一个数字" in response.data.decode() and not stored()


def test_an_integer_answer_of_ten_to_the_26_is_refused_not_a_server_error(app, questionnaire):
    response = submit(app, questionnaire, "x", count="1" + "0" * 26)
    assert response.status_code == 422 and "超出了可以填写的范围" in response.data.decode() and not stored()


def test_numbers_at_the_bound_are_stored_and_every_export_reads_them(app, logged_in, questionnaire, tmp_path):
    assert submit(app, questionnaire, "a", amount="1e12", count="-1000000000000").status_code == 303
    assert submit(app, questionnaire, "b", amount="-999999999999.5", count="7").status_code == 303
    assert [r.answers["amount"] for r in stored()] == [NUMBER_LIMIT, -999999999999.5]
    data = page_data(logged_in, questionnaire)
    assert next(q for q in data["questions"] if q["key"] == "amount")["numbers"]["maximum"] == NUMBER_LIMIT
    for name in ("responses.dta", "responses.sav"):
        response = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/data/{name}")
        assert response.status_code == 200, name
        (tmp_path / name).write_bytes(response.data)
    frame, _meta = pyreadstat.read_dta(str(tmp_path / "responses.dta"))
    assert list(frame["amount"]) == [1e12, -999999999999.5] and list(frame["count"]) == [-1e12, 7]
    assert isinstance(frame, pd.DataFrame)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"min": 0, "max": 1e13}, "max"),
        ({"min": -1e300}, "min"),
    ],
)
def test_a_number_question_cannot_be_bounded_beyond_the_limit(app, change, path):
    definition = copy.deepcopy(DEFINITION)
    definition["sections"][0]["questions"][-1].update(change)
    with pytest.raises(DefinitionError) as caught:
        validate_definition(definition)
    assert [p.path for p in caught.value.problems] == [f"sections[0].questions[6].{path}"]


@pytest.mark.parametrize("weight", [math.nan, math.inf])
def test_non_finite_weights_and_scores_are_definition_problems(app, weight):
    definition = copy.deepcopy(DEFINITION)
    definition["settings"] = {"overall": {"method": "weighted", "weights": {"one": weight}}}
    definition["sections"][1]["questions"][2]["options"][0]["score"] = 1e300
    with pytest.raises(DefinitionError) as caught:
        validate_definition(definition)
    assert {p.path for p in caught.value.problems} == {
        "settings.overall.weights",
        "sections[1].questions[2].options[0].score",
    }


# --- in a browser: the charts of a page with an infinite odds ratio ----------------------------------

live = test_browser.live  # a live server over SQLite with the demo data (Chromium: tests/conftest.py's ``browser``)


def test_every_chart_is_drawn_when_a_breakdown_has_an_infinite_odds_ratio(live, browser):
    """Two responses, one per group, each answering "one" differently: Fisher's odds ratio is infinite.
    It used to reach the page as ``Infinity``, JSON.parse failed, and not one chart was drawn."""
    with live.app.app_context():
        project = db.session.get(Questionnaire, live.surveys["public_safety"].id).project
        questionnaire = publishing.import_questionnaire(project, copy.deepcopy(DEFINITION))
        publishing.publish(questionnaire)
        for sid, group, one in (("a", "n", "a"), ("b", "s", "b")):
            answers = {
                **ALL_TYPES_ANSWERS,
                "grp": group,
                "one": one,
                "age": 35,
                **({"fix": "改进"} if one == "b" else {}),
            }
            store_response(questionnaire, answers, sid, utcnow().isoformat())
        questionnaire_id = questionnaire.id
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.set_default_timeout(15_000)
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        test_browser._login(page, live)
        page.goto(live.url(f"/desk/questionnaires/{questionnaire_id}/results"))
        page.wait_for_selector("html.charts-ready")
        data = strict_json(page.locator("#results-data").text_content())
        assert data["breakdowns"][0]["tests"]["one"]["statistic"] is None
        answered = [q["key"] for q in data["questions"] if q["options"] and q["answered"]]
        assert len(answered) == 6  # every chart with data: 6 distributions, the rates and the dimensions
        for key in answered:
            assert page.locator(f'.chart[data-chart="dist"][data-key="{key}"].is-drawn svg').count() == 1, key
        assert page.locator("#rates-chart .chart.is-drawn svg").count() == 1
        assert page.locator("#dimensions .chart.is-drawn svg").count() == 1
        assert errors == []
    finally:
        context.close()
