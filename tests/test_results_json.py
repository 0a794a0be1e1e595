"""``flask results --json``: the documented schema, the same numbers as the page."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from statsmodels.stats.proportion import proportion_confint

from analysis.index import item_index, mean_index
from survey.projects.demo import _answer
from survey.questionnaires import publishing
from survey.results.reporting import load_response_set, questionnaire_results, schema_for
from tests.helpers import SEED_004_ANSWERS, make_project, published

DOCS = Path(__file__).resolve().parent.parent / "docs" / "analysis.md"
DATA_MAPS = {"exclusion_reasons", "rates", "tests", "distribution_tests"}  # keyed by reasons or question keys


def test_json_has_the_same_numbers_as_the_page(app, runner, logged_in, evaluator):
    questionnaire = published(make_project(evaluator))
    for index, q4 in enumerate(["a", "a", "b", "c", "a"]):
        app.test_client().post(
            f"/s/{questionnaire.public_token}", data={**SEED_004_ANSWERS, "q4": q4, "submission_id": f"s{index}"}
        )
    result = runner.invoke(args=["results", str(questionnaire.id), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["schema_version"] == 2
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
    _answer(questionnaire, random.Random(3), 40)
    data = json.loads(runner.invoke(args=["results", str(questionnaire.id), "--json"]).output)
    results = questionnaire_results(questionnaire)
    assert data["overall"]["value"] == results.overall.value
    assert [q["answered"] for q in data["questions"]] == [s.answered for s in results.questions]


def test_a_100_percent_rate_states_its_interval_sides_not_a_zero_margin(app, runner, logged_in, evaluator):
    questionnaire = published(make_project(evaluator))
    for index in range(3):
        app.test_client().post(
            f"/s/{questionnaire.public_token}", data={**SEED_004_ANSWERS, "q4": "a", "submission_id": f"s{index}"}
        )
    data = json.loads(runner.invoke(args=["results", str(questionnaire.id), "--json"]).output)
    rate = next(q for q in data["questions"] if q["key"] == "q4")["rate"]
    assert (rate["numerator"], rate["denominator"]) == (3, 3)
    low, high = proportion_confint(3, 3, alpha=0.05, method="wilson")
    assert rate["ci95"] == pytest.approx([low, high], abs=1e-12)
    assert rate["ci95_half_widths"] == pytest.approx([1 - low, 0.0], abs=1e-12)  # 0.5615 below, nothing above
    assert rate["max_margin_of_error"] == pytest.approx(1.959963984540054 * (0.25 / 3) ** 0.5)
    assert "margin_of_error" not in rate
    page = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/results").data.decode()
    figure = page[page.index('id="q-q4"') :]
    figure = figure[: figure.index("</section>")]
    assert "95% 置信区间 43.9%–100.0%" in figure
    assert "区间两侧 −56.1 / +0.0 个百分点" in figure and "最大误差范围 ±56.6 个百分点（p = 0.5）" in figure
    assert "±0.0" not in page
    assert "“区间两侧”是 95% Wilson 置信区间两端与比率之差" in page  # the definition, once, under 样本量与精度


def documented_keys() -> set[str]:
    """Every key the results-JSON block of docs/analysis.md names (quoted names; values like "a|b" are not keys)."""
    text = DOCS.read_text(encoding="utf-8")
    block = text[text.index("## `flask results") :]
    block = block[block.index("```") + 3 :]
    block = block[: block.index("```")]
    return set(re.findall(r'"([a-z][a-z0-9_]*)"', block))


def output_keys(value, found: set[str] | None = None, data_maps: set[str] = DATA_MAPS) -> set[str]:
    """Every key in a JSON value, recursively; the keys of data maps (reasons, question keys) are data, not schema."""
    found = set() if found is None else found
    if isinstance(value, dict):
        for key, inner in value.items():
            found.add(key)
            for item in inner.values() if key in data_maps and isinstance(inner, dict) else [inner]:
                output_keys(item, found, data_maps)
    elif isinstance(value, list):
        for item in value:
            output_keys(item, found, data_maps)
    return found


@pytest.fixture
def grid(app, evaluator):
    """The service-grid questionnaire (a group question, a number, matrices with dimensions) with 300 answers:
    enough complete rows for α and KMO, a breakdown with tests."""
    questionnaire = publishing.create_questionnaire(make_project(evaluator), "service_grid")
    publishing.publish(questionnaire)
    _answer(questionnaire, random.Random(5), 300)
    return questionnaire


def test_every_documented_key_is_in_the_json_and_every_key_is_documented(app, runner, grid):
    data = json.loads(runner.invoke(args=["results", str(grid.id), "--json"]).output)
    assert data["breakdowns"] and data["reliability"]["bartlett"] and data["reliability"]["scale"]["alpha"]
    documented, given = documented_keys(), output_keys(data)
    assert "index" in documented and "ci95_half_widths" in documented
    assert documented - given == set(), "documented but not in `flask results --json`"
    assert given - documented == set(), "in `flask results --json` but not documented"
    row_keys = re.search(r'"rows": \[\{([^]]*?)"rates"', DOCS.read_text(encoding="utf-8")).group(1)
    for breakdown in data["breakdowns"]:
        for row in breakdown["rows"]:
            assert set(re.findall(r'"([a-z_]+)"', row_keys)) | {"rates"} == set(row)


def test_breakdown_rows_carry_the_groups_satisfaction_index(app, runner, grid):
    data = json.loads(runner.invoke(args=["results", str(grid.id), "--json"]).output)
    schema = schema_for(grid)
    frame = load_response_set(grid, schema).frame
    scored = [q for q in schema if item_index(q, frame[q["key"]]) is not None]
    breakdown = next(b for b in data["breakdowns"] if b["group"]["key"] != "__channel")
    checked = 0
    for row in breakdown["rows"]:
        members = frame[frame[breakdown["group"]["key"]] == row["key"]]
        expected = mean_index([item_index(q, members[q["key"]]) for q in scored])  # from the group's own answers
        assert row["index"] == (None if expected is None else pytest.approx(expected, abs=1e-9))
        checked += expected is not None
    assert checked >= 2
    whole = questionnaire_results(grid).breakdowns[0]
    assert [row["index"] for row in breakdown["rows"]] == [row.index for row in whole.rows]
