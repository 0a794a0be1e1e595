"""``flask results --json``: the documented schema, the same numbers as the page."""

from __future__ import annotations

import json
import re

from survey.reporting import questionnaire_results
from tests.helpers import SEED_004_ANSWERS, make_project, published


def test_json_has_the_same_numbers_as_the_page(app, runner, logged_in, evaluator):
    questionnaire = published(make_project(evaluator))
    for index, q4 in enumerate(["a", "a", "b", "c", "a"]):
        app.test_client().post(
            f"/s/{questionnaire.public_token}", data={**SEED_004_ANSWERS, "q4": q4, "submission_id": f"s{index}"}
        )
    result = runner.invoke(args=["results", str(questionnaire.id), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["schema_version"] == 1
    assert data["counts"]["returned"] == data["counts"]["valid"] == 5
    q4 = next(q for q in data["questions"] if q["key"] == "q4")
    assert (q4["rate"]["numerator"], q4["rate"]["denominator"], q4["rate"]["percent"]) == (4, 5, "80.0")
    assert q4["rate"]["ci95"][0] < 0.8 < q4["rate"]["ci95"][1] and q4["rate"]["small_sample"] is True
    assert "回答本题的有效问卷数（5）" in q4["rate"]["definition"]
    page = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/results").data.decode()
    assert data["overall"]["percent"] + "%" in page
    assert q4["rate"]["definition"] in page
    embedded = json.loads(re.search(r'id="results-data">(.*?)</script>', page, re.S).group(1))
    assert embedded == data
    assert data["precision"]["required_sample_5"] == 385


def test_plain_text_summary(runner, evaluator):
    questionnaire = published(make_project(evaluator))
    result = runner.invoke(args=["results", str(questionnaire.id)])
    assert result.exit_code == 0 and "returned 0" in result.output
    assert runner.invoke(args=["results", "999999"]).exit_code != 0


def test_json_numbers_equal_the_results_object(app, runner, evaluator):
    questionnaire = published(make_project(evaluator), "public_safety")
    import random

    from survey.demo import _answer

    _answer(questionnaire, random.Random(3), 40)
    data = json.loads(runner.invoke(args=["results", str(questionnaire.id), "--json"]).output)
    results = questionnaire_results(questionnaire)
    assert data["overall"]["value"] == results.overall.value
    assert [q["answered"] for q in data["questions"]] == [s.answered for s in results.questions]
