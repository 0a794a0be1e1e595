"""Uncertainty, index, reliability and association tests against hand values and independent libraries
(statsmodels, pingouin, factor_analyzer, scipy), plus property tests."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pingouin
import pytest
from factor_analyzer.factor_analyzer import calculate_bartlett_sphericity, calculate_kmo
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from analysis.association import association_test
from analysis.index import item_index, mean_index
from analysis.numbers import wilson_interval
from analysis.rates import Rate
from analysis.reliability import MIN_RESPONDENTS_FOR_ALPHA, alpha_band, cronbach_alpha, scale_reliability, sphericity
from analysis.uncertainty import interval_sides, margin_of_error, max_margin_of_error, required_sample

# fmt: off
FIVE = {"key": "q", "storage": "one", "options": [
    {"key": "a", "score": 100}, {"key": "b", "score": 80}, {"key": "c", "score": 60},
    {"key": "d", "score": 30}, {"key": "e", "score": 0}, {"key": "x", "score": None, "dont_know": True}]}
# fmt: on
LIKERT = {"key": "l", "storage": "one", "options": [{"key": str(i), "score": i} for i in range(1, 6)]}


def test_required_sample_sizes():
    assert required_sample(0.05) == 385  # the textbook figure
    assert required_sample(0.03) == 1068
    assert required_sample(0.05, population=10_000) == 370  # 384.15 / (1 + 383.15/10000) = 369.97
    assert required_sample(0.05, population=500) == 218


def test_margin_of_error_by_hand():
    # p = 0.9, n = 100: 1.96 * sqrt(0.09/100) = 0.0588
    assert margin_of_error(90, 100) == pytest.approx(1.959963984540054 * 0.03)
    # with N = 1000 the fpc is sqrt(900/999)
    assert margin_of_error(90, 100, population=1000) == pytest.approx(1.959963984540054 * 0.03 * math.sqrt(900 / 999))
    assert margin_of_error(0, 0) is None
    assert margin_of_error(6, 6, population=6) == 0  # a census has no sampling error


def rate_of(successes: int, n: int, population: int | None = None) -> Rate:
    return Rate("q", "1", "satisfaction", None, successes, n, ["满意"], [], 0, "exclude", n < 30, population)


def test_a_100_percent_rate_has_a_one_sided_interval_not_a_zero_margin():
    # 3 of 3: Wilson's low end is n/(n + z²) = 3/(3 + 3.8415) = 0.4385; the high end is exactly 1
    z = 1.959963984540054
    rate = rate_of(3, 3)
    assert rate.interval == pytest.approx((3 / (3 + z * z), 1.0), abs=1e-15)
    assert rate.interval == pytest.approx(proportion_confint(3, 3, alpha=0.05, method="wilson"), abs=1e-12)
    assert rate.interval_percent == ("43.9", "100.0")
    assert rate.interval_sides == pytest.approx((1 - 3 / (3 + z * z), 0.0), abs=1e-15)
    assert rate.interval_sides_percent == ("56.1", "0.0")
    # the margin at p = 0.5 depends on n alone: 1.96 × √(0.25/3) = 0.5658
    assert rate.max_margin == pytest.approx(z * math.sqrt(0.25 / 3))
    assert rate.max_margin_percent == "56.6"
    assert margin_of_error(3, 3) == 0  # what the page used to print as "±0.0": never shown any more


@pytest.mark.parametrize(
    "successes,n,sides,max_margin",
    [(0, 5, ("0.0", "43.4"), "43.8"), (4, 5, ("42.4", "16.4"), "43.8"), (45, 50, ("11.4", "5.7"), "13.9")],
)
def test_interval_sides_by_hand(successes, n, sides, max_margin):
    # 4 of 5: Wilson 0.37553–0.96378 (statsmodels), so 80 − 37.553 = 42.4 and 96.378 − 80 = 16.4 points;
    # 45 of 50: 0.78640–0.95652 around 90: 11.4 below, 5.7 above; 1.96 × √(0.25/50) = 13.9
    rate = rate_of(successes, n)
    low, high = proportion_confint(successes, n, alpha=0.05, method="wilson")
    assert rate.interval_sides == pytest.approx((successes / n - low, high - successes / n), abs=1e-12)
    assert rate.interval_sides_percent == sides
    assert rate.max_margin_percent == max_margin


def test_max_margin_is_what_the_required_sample_plans_for():
    assert max_margin_of_error(385) == pytest.approx(0.049944, abs=1e-6)  # ±5 points needs 385 …
    assert max_margin_of_error(384) > 0.05  # … and 384 is one too few
    for margin, population in [(0.05, None), (0.03, None), (0.05, 10_000), (0.05, 500), (0.03, 2000)]:
        n = required_sample(margin, population)
        assert max_margin_of_error(n, population) <= margin < max_margin_of_error(n - 1, population)
    assert max_margin_of_error(100, population=1000) == pytest.approx(0.098 * math.sqrt(900 / 999), abs=1e-4)
    assert max_margin_of_error(0) is None and rate_of(0, 0).interval_sides is None
    assert rate_of(0, 0).max_margin is None


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=3000), st.integers(min_value=1, max_value=3000))
def test_sides_add_up_to_the_interval_and_the_max_margin_bounds_the_normal_one(successes, n):
    successes = min(successes, n)
    low, high = wilson_interval(successes, n)
    below, above = interval_sides(successes / n, (low, high))
    assert below >= 0 and above >= 0 and below + above == pytest.approx(high - low, abs=1e-12)
    assert max_margin_of_error(n) >= margin_of_error(successes, n) - 1e-15


def test_alpha_is_held_back_below_30_complete_respondents(survey_items):
    complete = survey_items.dropna()
    assert MIN_RESPONDENTS_FOR_ALPHA == 30
    few = scale_reliability(complete.iloc[:29])
    assert few.held_back and few.n == 29 and few.alpha is None and few.min_n == 30
    assert [(i.alpha_if_deleted, i.corrected_item_total) for i in few.items] == [(None, None)] * 6
    # missing answers count against n: 31 rows, 2 incomplete, leave 29 complete
    with_gaps = pd.concat([complete.iloc[:29], survey_items.iloc[[3, 50]]])
    assert scale_reliability(with_gaps).held_back
    enough = scale_reliability(complete.iloc[:30])
    expected, _ci = pingouin.cronbach_alpha(complete.iloc[:30])
    assert not enough.held_back and enough.alpha == pytest.approx(expected, abs=1e-12)
    assert all(i.alpha_if_deleted is not None for i in enough.items)
    # three respondents in full agreement would read "很好"; it is held back, not banded
    three = pd.DataFrame({"a": [100, 80, 30], "b": [100, 80, 0], "c": [80, 80, 30]})
    assert cronbach_alpha(three) > 0.9 and scale_reliability(three).alpha is None
    assert not scale_reliability(complete[["i0"]]).held_back  # one item: no scale at all, not "too few people"


def test_index_by_hand():
    column = pd.Series(["a", "b", "b", "e", "x", None], dtype="object")
    value = item_index(FIVE, column)
    assert value.n == 4 and value.value == pytest.approx((100 + 80 + 80 + 0) / 4)
    likert = item_index(LIKERT, pd.Series(["5", "4", "3", "1"], dtype="object"))
    assert likert.value == pytest.approx((13 / 4 - 1) / 4 * 100)  # (mean − 1)/4 × 100
    assert mean_index([value, likert]) == pytest.approx((65 + 56.25) / 2)
    assert item_index(FIVE, pd.Series([None], dtype="object")).value is None


@pytest.fixture(scope="module")
def survey_items() -> pd.DataFrame:
    """200 respondents × 6 correlated 5-point items with a few missing values."""
    rng = np.random.default_rng(7)
    trait = rng.normal(size=200)
    data = {f"i{k}": np.clip(np.round(3 + trait + rng.normal(scale=0.9, size=200)), 1, 5) for k in range(6)}
    frame = pd.DataFrame(data)
    frame.iloc[[3, 50, 77], [1, 4, 2]] = np.nan
    return frame


def test_alpha_matches_pingouin(survey_items):
    expected, _ci = pingouin.cronbach_alpha(survey_items, nan_policy="listwise")
    assert cronbach_alpha(survey_items) == pytest.approx(expected, abs=1e-12)


def test_alpha_if_deleted_and_item_total_by_definition(survey_items):
    result = scale_reliability(survey_items)
    complete = survey_items.dropna()
    assert result.n == len(complete) == 197
    for item in result.items:
        rest = complete.drop(columns=[item.key])
        expected_alpha, _ = pingouin.cronbach_alpha(rest)
        assert item.alpha_if_deleted == pytest.approx(expected_alpha, abs=1e-12)
        r, _p = stats.pearsonr(complete[item.key], rest.sum(axis=1))
        assert item.corrected_item_total == pytest.approx(r, abs=1e-12)
    assert alpha_band(result.alpha) in ("good", "excellent")


def test_kmo_and_bartlett_match_factor_analyzer(survey_items):
    complete = survey_items.dropna()
    result = sphericity(survey_items)
    chi2, p = calculate_bartlett_sphericity(complete)
    _per_item, kmo = calculate_kmo(complete)
    assert result.kmo == pytest.approx(kmo, abs=1e-10)
    assert result.chi_square == pytest.approx(chi2, rel=1e-10)
    assert result.df == 15 and result.p_value == pytest.approx(p, abs=1e-12)


def test_edge_cases_of_reliability():
    constant = pd.DataFrame({"a": [3, 3, 3], "b": [3, 3, 3]})
    assert cronbach_alpha(constant) is None  # zero variance: undefined, not an error
    assert cronbach_alpha(pd.DataFrame({"a": [1.0]})) is None
    assert sphericity(pd.DataFrame({"a": [1, 2], "b": [2, 1], "c": [1, 1]})) is None  # too few respondents
    assert alpha_band(0.59) == "poor" and alpha_band(0.7) == "acceptable" and alpha_band(0.9) == "excellent"


def test_chi_square_matches_scipy_and_fisher_for_small_2x2():
    table = [[30, 10], [20, 25], [15, 30]]
    result = association_test(table)
    chi2, p, df, _ = stats.chi2_contingency(table, correction=False)
    assert (result.method, result.df) == ("chi2", df)
    assert result.statistic == pytest.approx(chi2) and result.p_value == pytest.approx(p)
    small = association_test([[5, 1], [1, 4]])
    assert small.method == "fisher"
    assert small.p_value == pytest.approx(stats.fisher_exact([[5, 1], [1, 4]])[1])
    assert association_test([[3, 0], [0, 0]]) is None  # one row and one column left: nothing to test


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2000), st.integers(min_value=1, max_value=2000))
def test_wilson_interval_contains_the_rate_and_stays_in_0_1(successes, n):
    successes = min(successes, n)
    low, high = wilson_interval(successes, n)
    assert 0 <= low <= successes / n <= high <= 1


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "d", "e", "x", None]), max_size=60))
def test_index_stays_in_0_100(values):
    result = item_index(FIVE, pd.Series(values, dtype="object"))
    assert result.value is None or 0 <= result.value <= 100


def test_results_page_shows_index_precision_dimensions_and_reliability(app, logged_in, evaluator):
    from survey.platform.extensions import db
    from survey.questionnaires import publishing
    from tests.helpers import make_project

    questionnaire = publishing.create_questionnaire(make_project(evaluator), "service_grid")
    publishing.publish(questionnaire)
    version_definition = questionnaire.current_version.definition
    import random

    from survey.projects.demo import _answer

    # 20 scale items: KMO needs 100 complete rows; about 4 in 10 generated respondents answer every item
    _answer(questionnaire, random.Random(5), 300)
    html = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/results").data.decode()
    for needle in ("满意度指数", "样本量与精度", "需要 385 份", "分维度结果", "Cronbach α", "删除该题后的 α", "KMO = "):
        assert needle in html, needle
    logged_in.post(f"/desk/questionnaires/{questionnaire.id}/population", data={"population": "1000"})
    db.session.refresh(questionnaire)
    assert questionnaire.population == 1000
    assert questionnaire.current_version.definition == version_definition  # versions are never rewritten
    assert "需要 278 份" in logged_in.get(f"/desk/questionnaires/{questionnaire.id}/results").data.decode()


def test_breakdown_index_and_distribution_by_hand():
    from analysis.results import compute_results

    # fmt: off
    group = {"key": "g", "number": "1", "text": "社区", "storage": "one", "group": True,
             "options": [{"key": "n", "text": "北"}, {"key": "s", "text": "南"}]}
    item = {**FIVE, "key": "q", "number": "2", "text": "满意吗", "measure": "satisfaction",
            "options": [{**o, "text": o["key"], "positive": o["key"] in "abc"} for o in FIVE["options"]]}
    records = [{"status": "valid", "answers": {"g": g, "q": q}}
               for g, q in [("n", "a"), ("n", "b"), ("n", "x"), ("s", "e"), ("s", "c"), ("s", "c"), (None, "a")]]
    # fmt: on
    results = compute_results([group, item], {}, records)
    breakdown = results.breakdowns[0]
    north, south = breakdown.rows
    assert (north.respondents, south.respondents) == (3, 3)  # the respondent without a group is in neither
    assert north.index == pytest.approx(90) and south.index == pytest.approx(40)  # (100+80)/2, (0+60+60)/3
    assert (north.rates[0].numerator, north.rates[0].denominator) == (2, 2)
    table = [[1, 1, 0, 0, 0, 1], [0, 0, 2, 0, 1, 0]]
    expected = stats.chi2_contingency(np.array(table)[:, [0, 1, 2, 4, 5]], correction=False)
    assert breakdown.distribution_tests["q"].p_value == pytest.approx(expected[1])


def test_results_page_holds_alpha_back_for_three_respondents(app, logged_in, evaluator):
    import random

    from survey.projects.demo import _answer
    from tests.helpers import make_project, published

    questionnaire = published(make_project(evaluator), "public_safety")
    _answer(questionnaire, random.Random(1), 3)
    html = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/results").data.decode()
    section = html[html.index('id="reliability"') :]
    section = section[: section.index("</section>")]
    assert "（少于 30 份），样本太少，不计算 Cronbach α、删除该题后的 α 和校正的项总相关。" in section
    assert "Cronbach α =" not in section and "删除该题后的 α</th>" not in section
    assert not any(f"（{band}）" in section for band in ("很好", "好", "可接受", "勉强", "差"))
    dimensions = html[html.index('id="dimensions"') :]
    assert "完整作答少于 30 份的维度不计算 α" in dimensions[: dimensions.index("</section>")]
