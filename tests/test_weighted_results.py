"""Weighted figures beside the unweighted ones (analysis.weighted_results): by hand, against the R-checked
primitives of analysis.weighting, and by property (a sample already in the population's proportions gives the
unweighted figures back)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.results import compute_results
from analysis.weighted_results import PopulationMargin, WeightingSpec, margin_cells
from analysis.weighting import poststratify, weighted_share


def option(key: str, text: str, positive: bool = False, dont_know: bool = False) -> dict:
    return {"key": key, "text": text, "positive": positive, "dont_know": dont_know, "other": False}


TOWN = {
    "key": "town",
    "number": "1",
    "text": "您居住的乡镇",
    "storage": "one",
    "measure": None,
    "group": True,
    "options": [option("a", "城关镇"), option("b", "北山乡")],
}
SEX = {
    "key": "sex",
    "number": "2",
    "text": "性别",
    "storage": "one",
    "measure": None,
    "group": True,
    "options": [option("m", "男"), option("f", "女")],
}


def rated(key: str, number: str, dimension: str) -> dict:
    return {
        "key": key,
        "number": number,
        "text": f"第{number}题",
        "storage": "one",
        "measure": "satisfaction",
        "rate_label": None,
        "dimension": dimension,
        "options": [
            {**option("y", "满意", positive=True), "score": 100},
            {**option("n", "不满意"), "score": 0},
            option("d", "不知道", dont_know=True),
        ],
    }


SCHEMA = [TOWN, SEX, rated("q1", "3", "治安"), rated("q2", "4", "治安"), rated("q3", "5", "服务")]
TOWN_TABLE = PopulationMargin("乡镇", (TOWN,), {("a",): 8000, ("b",): 2000})
SEX_TABLE = PopulationMargin("性别", (SEX,), {("m",): 5000, ("f",): 5000})


def records(rows: list[tuple]) -> list[dict]:
    keys = ("town", "sex", "q1", "q2", "q3")
    return [{"status": "valid", "answers": {k: v for k, v in zip(keys, row, strict=True) if v}} for row in rows]


# Equal interviews per town (the small 乡 oversampled) and the 乡 less satisfied.
ROWS = (
    [("a", "m", "y", "y", "y")] * 9
    + [("a", "f", "y", "n", "d")] * 6
    + [("a", "f", "n", "y", "y")] * 5
    + [("b", "m", "n", "n", "y")] * 8
    + [("b", "f", "y", "d", "n")] * 7
    + [("b", "m", "d", "n", None)] * 5
)


def results(spec: WeightingSpec | None, rows=ROWS, settings_=None):
    return compute_results(SCHEMA, settings_ or {"dont_know": "exclude"}, records(rows), weighting=spec)


def test_poststratified_rate_by_hand():
    """Town a: 20 respondents for 8,000 people (weight 400); town b: 20 for 2,000 (weight 100).
    q1 positive: a 15 of 20, b 7 of 15 (5 don't know left out): (15·400 + 7·100) / (20·400 + 15·100) = 6700/9500."""
    figures = results(WeightingSpec("poststratify", (TOWN_TABLE,))).weighted
    assert figures is not None
    assert set(np.unique(figures.weights.weights)) == {400.0, 100.0}
    q1 = figures.rates["q1"]
    assert q1.estimate == pytest.approx(6700 / 9500, abs=1e-15)
    assert q1.n == 35
    assert figures.summary.total == pytest.approx(10_000)
    # Option shares over all who answered (don't know included): 满意 (15·400 + 7·100) / (20·400 + 20·100).
    assert figures.shares["q1"] == pytest.approx([6700 / 10_000, (5 * 400 + 8 * 100) / 10_000, 500 / 10_000])


def test_every_figure_matches_the_r_checked_primitives():
    """Rates, domains and means of rates are the primitives' (compared with R in tests/test_weighting.py)."""
    unweighted = results(None)
    figures = results(WeightingSpec("poststratify", (TOWN_TABLE,))).weighted
    frame_rows = records(ROWS)
    town = np.array([r["answers"]["town"] for r in frame_rows])
    weights = poststratify(town, {"a": 8000, "b": 2000}, name="乡镇")
    np.testing.assert_allclose(figures.weights.weights, weights.weights, rtol=1e-15)
    for key in ("q1", "q2", "q3"):
        answers = np.array([r["answers"].get(key, "") for r in frame_rows])
        y, base = (answers == "y").astype(float), np.isin(answers, ["y", "n"])
        expected = weighted_share(weights, y, base)
        assert figures.rates[key].estimate == pytest.approx(expected.estimate, abs=1e-15)
        assert figures.rates[key].standard_error == pytest.approx(expected.standard_error, rel=1e-12)
        summary = next(s for s in unweighted.questions if s.question["key"] == key)
        assert figures.rates[key].n == summary.rate.denominator  # the same base as the unweighted rate
        rows = next(b for b in figures.breakdowns if b.group_key == "town").rows
        for row in rows:
            domain = weighted_share(weights, y, base, town == row.key)
            assert row.rates[key].estimate == pytest.approx(domain.estimate, abs=1e-15)
            assert row.rates[key].standard_error == pytest.approx(domain.standard_error, rel=1e-12)
    # The dimension 治安 is the mean of q1 and q2; the overall the mean of all three rates.
    治安 = figures.dimensions["治安"].estimate
    assert 治安 == pytest.approx((figures.rates["q1"].estimate + figures.rates["q2"].estimate) / 2, abs=1e-15)
    overall = sum(figures.rates[k].estimate for k in ("q1", "q2", "q3")) / 3
    assert figures.overall.estimate == pytest.approx(overall, abs=1e-15)


def test_overall_by_one_question_and_by_weights():
    spec = WeightingSpec("poststratify", (TOWN_TABLE,))
    one = results(spec, settings_={"overall": {"method": "question", "question": "q3"}}).weighted
    assert one.overall.estimate == one.rates["q3"].estimate
    mixed = results(spec, settings_={"overall": {"method": "weighted", "weights": {"q1": 0.2, "q3": 0.8}}}).weighted
    expected = 0.2 * mixed.rates["q1"].estimate + 0.8 * mixed.rates["q3"].estimate
    assert mixed.overall.estimate == pytest.approx(expected, abs=1e-15)


def test_dont_know_counted_as_not_satisfied_stays_in_the_base():
    figures = results(WeightingSpec("poststratify", (TOWN_TABLE,)), settings_={"dont_know": "not_satisfied"}).weighted
    assert figures.rates["q1"].n == 40
    assert figures.rates["q1"].estimate == pytest.approx(6700 / 10_000, abs=1e-15)


def test_raking_two_tables_meets_both():
    figures = results(WeightingSpec("rake", (TOWN_TABLE, SEX_TABLE), tolerance=1e-12)).weighted
    w = figures.weights.weights
    town = np.array([row[0] for row in ROWS])
    sex = np.array([row[1] for row in ROWS])
    assert w[town == "a"].sum() == pytest.approx(8000) and w[sex == "f"].sum() == pytest.approx(5000)
    assert figures.weights.converged and figures.summary.design_effect > 1


def test_cross_classified_table_labels_cells_by_option_text():
    cross = PopulationMargin(
        "乡镇 × 性别", (TOWN, SEX), {("a", "m"): 4000, ("a", "f"): 4000, ("b", "m"): 1000, ("b", "f"): 1000}
    )
    figures = results(WeightingSpec("poststratify", (cross,))).weighted
    assert [c.label for c in figures.cells] == ["城关镇 × 男", "城关镇 × 女", "北山乡 × 男", "北山乡 × 女"]
    assert [c.respondents for c in figures.cells] == [9, 11, 13, 7]


def test_missing_group_answer_is_refused_by_name():
    rows = [*ROWS, (None, "m", "y", "y", "y")]
    outcome = results(WeightingSpec("poststratify", (TOWN_TABLE,)), rows=rows)
    assert outcome.weighted is None
    assert "1 份回答缺少“乡镇”的分类" in str(outcome.weighting_error)
    assert outcome.weighting_error.template and outcome.weighting_error.params["count"] == 1
    assert outcome.overall is not None  # the unweighted figures stand


def test_population_cell_without_respondents_is_refused():
    table = PopulationMargin("乡镇", (TOWN,), {("a",): 8000, ("b",): 2000})
    rows = [row for row in ROWS if row[0] == "a"]
    outcome = results(WeightingSpec("poststratify", (table,)), rows=rows)
    assert "“北山乡” 有人口但没有回答" in str(outcome.weighting_error)


def test_exploding_cell_is_flagged():
    """Two respondents standing for a fifth of the population: flagged, not dropped."""
    rows = [row for row in ROWS if row[0] == "a"] + [("b", "m", "y", "y", "y")] * 2
    figures = results(WeightingSpec("poststratify", (TOWN_TABLE,)), rows=rows).weighted
    assert [c.label for c in figures.exploding] == ["北山乡"]
    assert figures.rates["q1"].n == 22


def test_poststratify_refuses_two_tables():
    outcome = results(WeightingSpec("poststratify", (TOWN_TABLE, SEX_TABLE)))
    assert "事后分层只能用一张人口表" in str(outcome.weighting_error)


def trimmed(low: float, high: float) -> WeightingSpec:
    return WeightingSpec(
        "rake",
        (TOWN_TABLE, SEX_TABLE),
        tolerance=1e-10,
        max_iterations=1000,
        trim="bounds",
        trim_low=low,
        trim_high=high,
    )


def test_trimmed_weights_stay_within_bounds_and_margins():
    """Raked weights run from 97.4 to 409.1; capped at 405 (floor 90) they still meet both tables."""
    figures = results(trimmed(90.0, 405.0)).weighted
    w = figures.weights.weights
    assert w.min() >= 90 - 1e-9 and w.max() <= 405 + 1e-9 and figures.weights.trimmed["count"] > 0
    assert w[np.array([row[0] for row in ROWS]) == "a"].sum() == pytest.approx(8000, rel=1e-9)


def test_bounds_too_tight_for_a_cell_are_refused_by_name():
    """20 respondents at most 380 each cannot stand for 城关镇's 8,000 people."""
    error = results(trimmed(120.0, 380.0)).weighting_error
    assert "“城关镇”有 20 人回答、人口 8000" in str(error)


def test_margin_cells_mark_unanswered():
    import pandas as pd

    frame = pd.DataFrame({"town": pd.Categorical(["a", None, "b"], categories=["a", "b"])})
    cells, population = margin_cells(frame, TOWN_TABLE)
    assert list(cells.codes) == [0, -1, 1] and population == {"城关镇": 8000.0, "北山乡": 2000.0}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("ab"), st.sampled_from("ynd")), min_size=4, max_size=40), st.integers(1, 50))
def test_population_in_sample_proportions_gives_unweighted_figures(answers, scale):
    """When each town's people are in proportion to its respondents, every weight is equal and every weighted
    figure equals the unweighted one."""
    rows = [(town, "m", a, a, a) for town, a in answers]
    counts = {t: sum(1 for town, _ in answers if town == t) for t in "ab"}
    if not all(counts.values()):
        return
    table = PopulationMargin("乡镇", (TOWN,), {(t,): n * scale for t, n in counts.items()})
    outcome = results(WeightingSpec("poststratify", (table,)), rows=rows)
    figures = outcome.weighted
    for summary in outcome.questions:
        if summary.rate and summary.rate.denominator:
            assert figures.rates[summary.question["key"]].estimate == pytest.approx(summary.rate.value, abs=1e-12)
            assert figures.rates[summary.question["key"]].n == summary.rate.denominator
    assert figures.summary.design_effect == pytest.approx(1.0, abs=1e-12)
