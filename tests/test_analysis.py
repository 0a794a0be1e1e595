"""Analysis against hand-counted values and an independent library (statsmodels for Wilson)."""

from __future__ import annotations

from fractions import Fraction

import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from analysis.export import display_answer, responses_table
from analysis.numbers import percent, percent_of, wilson_interval
from analysis.rates import option_counts, question_rate
from analysis.results import compute_results
from survey.platform.csv_files import to_csv_bytes

SAT = {
    "key": "q1",
    "number": "1",
    "text": "您对治安满意吗？",
    "storage": "one",
    "measure": "satisfaction",
    "rate_label": None,
    "options": [
        {"key": "a", "text": "满意", "positive": True, "dont_know": False, "other": False},
        {"key": "b", "text": "基本满意", "positive": True, "dont_know": False, "other": False},
        {"key": "c", "text": "不满意", "positive": False, "dont_know": False, "other": False},
        {"key": "d", "text": "不清楚", "positive": False, "dont_know": True, "other": False},
    ],
}
MULTI = {
    "key": "q2",
    "number": "2",
    "text": "担心哪些问题？",
    "storage": "many",
    "measure": None,
    "rate_label": None,
    "options": [
        {"key": "a", "text": "盗窃", "positive": False, "dont_know": False, "other": False},
        {"key": "b", "text": "诈骗", "positive": False, "dont_know": False, "other": False},
        {"key": "z", "text": "其他", "positive": False, "dont_know": False, "other": True},
    ],
}
TEXT = {"key": "q3", "number": "3", "text": "建议", "storage": "text", "measure": None, "options": []}


def record(answers: dict, status: str = "valid") -> dict:
    return {"status": status, "answers": answers}


# Ten hand-counted respondents: q1 = a a a b b c d d (+ one unanswered, + one excluded "c").
RECORDS = [
    record({"q1": "a", "q2": ["a", "b"]}),
    record({"q1": "a", "q2": ["b"]}),
    record({"q1": "a", "q2": ["z"], "q2__other": "噪音"}),
    record({"q1": "b"}),
    record({"q1": "b", "q3": "多巡逻"}),
    record({"q1": "c", "q2": ["a"]}),
    record({"q1": "d"}),
    record({"q1": "d", "q3": "  "}),
    record({"q2": ["b"]}),
    record({"q1": "c"}, status="excluded"),
]


def test_counts_and_rate_by_hand():
    results = compute_results([SAT, MULTI, TEXT], {}, RECORDS, issued=12, small_n=30)
    assert (results.returned, results.valid, results.excluded) == (10, 9, 1)
    assert results.return_rate == "83.3"  # 10 / 12
    assert results.valid_rate == "75.0"  # 9 / 12
    q1 = results.questions[0]
    assert q1.answered == 8
    assert [(o.text, o.count) for o in q1.options] == [
        ("满意", 3),
        ("基本满意", 2),
        ("不满意", 1),
        ("不清楚", 2),
    ]
    assert q1.options[0].percent == "37.5"  # 3 / 8
    rate = q1.rate
    # 5 satisfied of 8 answered, the 2 "不清楚" left out of the denominator: 5 / 6.
    assert (rate.numerator, rate.denominator, rate.dont_know_count) == (5, 6, 2)
    assert rate.percent == "83.3"
    assert rate.small_sample is True
    assert rate.positive_options == ["满意", "基本满意"]


def test_dont_know_counted_as_not_satisfied():
    results = compute_results([SAT], {"dont_know": "not_satisfied"}, RECORDS)
    rate = results.questions[0].rate
    assert (rate.numerator, rate.denominator) == (5, 8)
    assert rate.percent == "62.5"


def test_multiple_choice_counts_each_ticked_option():
    results = compute_results([MULTI], {}, RECORDS)
    summary = results.questions[0]
    assert summary.answered == 5
    assert [o.count for o in summary.options] == [2, 3, 1]
    assert summary.other_texts == ["噪音"]
    assert summary.options[1].percent == "60.0"
    assert summary.rate is None


def test_text_answers_listed_without_blanks():
    summary = compute_results([TEXT], {}, RECORDS).questions[0]
    assert summary.texts == ["多巡逻"]
    assert summary.answered == 1


def test_overall_flags_small_samples():
    results = compute_results([SAT], {"overall": {"method": "question", "question": "q1"}}, RECORDS, small_n=6)
    assert results.overall.small_sample is False  # n = 6 is not below 6
    results = compute_results([SAT], {"overall": {"method": "mean"}}, RECORDS, small_n=7)
    assert results.overall.small_sample is True


def test_overall_from_one_question():
    results = compute_results([SAT], {"overall": {"method": "question", "question": "q1"}}, RECORDS)
    assert results.overall.percent == "83.3"
    assert results.overall.value == pytest.approx(5 / 6)


def test_overall_mean_of_item_rates_is_exact():
    second = {**SAT, "key": "q4", "number": "4"}
    records = [record({"q1": "a", "q4": "a"}), record({"q1": "a", "q4": "c"}), record({"q1": "c", "q4": "c"})]
    results = compute_results([SAT, second], {"overall": {"method": "mean"}}, records)
    # (2/3 + 1/3) / 2 = 1/2 exactly
    assert results.overall.exact == Fraction(1, 2)
    assert results.overall.percent == "50.0"
    assert [r.question_number for r in results.overall.items] == ["1", "4"]


def test_no_responses():
    results = compute_results([SAT, MULTI, TEXT], {}, [])
    assert (results.returned, results.valid) == (0, 0)
    assert results.return_rate is None
    rate = results.questions[0].rate
    assert rate.denominator == 0 and rate.percent is None and rate.interval is None
    assert results.overall is not None and results.overall.percent is None


def test_all_dont_know():
    results = compute_results([SAT], {}, [record({"q1": "d"}), record({"q1": "d"})])
    rate = results.questions[0].rate
    assert (rate.numerator, rate.denominator, rate.dont_know_count) == (0, 0, 2)
    assert rate.percent is None


def test_one_respondent():
    rate = compute_results([SAT], {}, [record({"q1": "b"})]).questions[0].rate
    assert rate.percent == "100.0"
    low, high = rate.interval
    assert high == 1.0 and 0 < low < 0.25


@pytest.mark.parametrize("successes,n", [(0, 1), (1, 1), (5, 6), (45, 50), (93, 100), (0, 385), (384, 385)])
def test_wilson_matches_statsmodels(successes, n):
    expected = proportion_confint(successes, n, alpha=0.05, method="wilson")
    assert wilson_interval(successes, n) == pytest.approx(expected, abs=1e-12)


def test_percent_rounds_half_up_from_the_exact_fraction():
    assert percent(1, 8) == "12.5"
    assert percent(1, 16) == "6.3"  # 6.25 → 6.3 (四舍五入), a float round would give 6.2
    assert percent(1, 16, places=2) == "6.25"
    assert percent(93, 100) == "93.0"
    assert percent(2, 3) == "66.7"
    assert percent(1, 0) is None
    assert percent_of(Fraction(1, 16)) == "6.3"


def test_option_counts_ignore_unknown_keys():
    column = pd.Series(["a", "x", None, "a"], dtype="object")
    answered, counts = option_counts(SAT, column)
    assert answered == 3
    assert [o.count for o in counts] == [2, 0, 0, 0]


def test_rate_needs_a_positive_option():
    assert (
        question_rate(
            {**SAT, "options": [{**o, "positive": False} for o in SAT["options"]]},
            pd.Series(["a"]),
            "exclude",
            30,
        )
        is None
    )


def test_display_and_csv_use_option_texts():
    answers = {"q1": "b", "q2": ["a", "z"], "q2__other": "噪音", "q3": "多巡逻"}
    assert display_answer(SAT, answers) == "基本满意"
    assert display_answer(MULTI, answers) == "盗窃、其他：噪音"
    table = responses_table([SAT, MULTI, TEXT], [{"id": 7, "answers": answers}], {"id": "编号"})
    assert list(table.columns) == ["编号", "1. 您对治安满意吗？", "2. 担心哪些问题？", "3. 建议"]
    data = to_csv_bytes(table)
    assert data.startswith(b"\xef\xbb\xbf")
    assert "盗窃、其他：噪音" in data.decode("utf-8-sig")
