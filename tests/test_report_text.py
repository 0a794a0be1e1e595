"""The report's satisfaction section: default text from the figures, a team's template, the sandbox."""

from __future__ import annotations

import copy
import html
import io
import re

import pypdf
import pytest

from analysis.mean_interval import mean_interval
from analysis.numbers import percent_of
from survey.collection.review import decide
from survey.models import IndicatorTable, ReportTemplate, Response
from survey.platform.extensions import db
from survey.reports.text import DEFAULT_TEMPLATE, ReportTemplateError, _small_sample, render_report, report_context
from survey.results.presenting import rate_name
from survey.results.reporting import questionnaire_results
from tests.conftest import login
from tests.helpers import SEED_004_ANSWERS, make_project, published

TABLE = {
    "format": "indicator-table/1",
    "title": "测试评分表",
    "indicators": [
        {
            "key": "b",
            "name": "效益",
            "points": 100,
            "children": [
                {
                    "key": "b1",
                    "name": "满意度",
                    "points": 100,
                    "children": [
                        {
                            "key": "b11",
                            "name": "服务对象满意度",
                            "points": 5,
                            "rule": {"type": "threshold_step", "params": {"threshold": 93, "step": 5, "deduct": 2}},
                        },
                        {
                            "key": "b12",
                            "name": "建设任务完成率",
                            "points": 95,
                            "rule": {"type": "proportional", "params": {"target": 100}},
                            "input": {"value": 100},
                        },
                    ],
                }
            ],
        }
    ],
}


@pytest.fixture
def answered(app, evaluator):
    """Seed 004's questionnaire, 6 issued and 6 returned, every answer the same."""
    project = make_project(evaluator)
    questionnaire = published(project)
    questionnaire.issued_count = 6
    db.session.commit()
    for index in range(6):
        answers = {**SEED_004_ANSWERS, "submission_id": f"r{questionnaire.id}-{index}"}
        assert app.test_client().post(f"/s/{questionnaire.public_token}", data=answers).status_code in (200, 302, 303)
    return questionnaire


def url(questionnaire) -> str:
    return f"/desk/questionnaires/{questionnaire.id}/report/"


def stored_template(project_id: int) -> ReportTemplate | None:
    """The project's template row, read afresh from the database."""
    db.session.expire_all()
    return db.session.execute(db.select(ReportTemplate).filter_by(project_id=project_id)).scalar_one_or_none()


def test_default_text_quotes_the_figures_and_the_caveats(app, logged_in, answered):
    context = report_context(answered)
    text = render_report(DEFAULT_TEMPLATE, context)
    assert "本次调查共发放问卷6份，回收6份，其中有效问卷6份" in text
    assert "回收率为100.0%，有效回收率为100.0%" in text
    results = questionnaire_results(answered)
    assert results.rates and [r["percent"] for r in context["rates"]] == [r.percent for r in results.rates]
    for rate in results.rates:
        bounds = rate.interval_percent
        assert f"的{rate_name(rate)}为{rate.percent}%（n=6，95%置信区间为{bounds[0]}%～{bounds[1]}%）" in text
    # the small samples in one sentence, every n said once, not one sentence per question
    numbers = "、".join(str(rate.question_number) for rate in results.rates)
    assert f"其中第{numbers}题的有效回答均仅6份，样本量较小，置信区间较宽，结论仅供参考。" in text
    assert text.count("样本量较小") == 1
    # the overall figure with what it rests on, its n and its (conservative) interval
    low, high = (percent_of(bound) for bound in mean_interval(results.overall.items))
    assert f"总体满意度为{results.overall.percent}%（第" in text
    assert f"有效问卷6份，各题n=6；95%置信区间为{low}%～{high}%，按各题置信区间上下限的平均计算，为保守估计）" in text
    assert "根据评分标准" not in text  # no indicator table yet
    assert "第 " not in text and "附表" not in text
    html = logged_in.get(url(answered)).data.decode()
    assert "<textarea" in html and "readonly" in html and "本次调查共发放问卷6份，回收6份，其中有效问卷6份" in html


def test_quotes_never_nest(app, answered):
    """A question text with its own “ ” is quoted with ‘ ’ inside the report's “ ”."""
    text = render_report(DEFAULT_TEMPLATE, report_context(answered))
    assert "“您对‘丰泽区社会治安综合治理’的评价？”" in text
    for quoted in re.findall(r"“([^”]*)”", text):
        assert "“" not in quoted, quoted


def test_exclusions_are_summed_up_by_reason(app, answered, evaluator):
    responses = db.session.execute(db.select(Response).filter_by(questionnaire_id=answered.id)).scalars().all()
    for response, reason in zip(responses, ["用时过短（3 秒）", "用时过短（3 秒）", "重复提交"], strict=False):
        decide(response, evaluator, "exclude", reason)
    db.session.commit()
    text = render_report(DEFAULT_TEMPLATE, report_context(answered))
    assert "其中有效问卷3份（剔除无效问卷3份，其中用时过短（3秒）2份、重复提交1份）" in text


def test_questions_of_different_n_are_grouped_by_n():
    rates = [
        {"number": "2", "denominator": 4, "small_sample": True},
        {"number": "3", "denominator": 6, "small_sample": True},
        {"number": "4", "denominator": 40, "small_sample": False},
        {"number": "5", "denominator": 6, "small_sample": True},
        {"number": "6", "denominator": 0, "small_sample": True},  # nobody answered: no rate to caution about
    ]
    small = _small_sample(rates)
    assert small["listing"] == "第2题（n=4）及第3、5题（n=6）" and small["same_n"] is None and small["count"] == 3


ENGLISH_WORD = re.compile(r"[A-Za-z]{2,}")


@pytest.mark.sqlite_only  # which language the report is written in does not depend on the database
def test_the_report_stays_chinese_when_the_desk_is_in_english(app, logged_in, answered):
    table = copy.deepcopy(TABLE)
    table["indicators"][0]["children"][0]["children"][0]["input"] = {
        "link": {"questionnaire": answered.id, "figure": "overall_rate"}
    }
    db.session.add(IndicatorTable(project_id=answered.project_id, definition=table))
    db.session.commit()
    page = logged_in.get(url(answered) + "?lang=en").data.decode()
    assert "Report template" in page  # the desk itself is in English
    generated = html.unescape(re.search(r"readonly>(.*?)</textarea>", page, re.S).group(1))
    assert "评分标准为：" in generated and "满意率为" in generated
    assert not ENGLISH_WORD.findall(generated), ENGLISH_WORD.findall(generated)
    pdf = logged_in.get(f"/desk/questionnaires/{answered.id}/report.pdf?lang=en").data
    text = re.sub(r"\s+", "", "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages))
    assert "满意度调查结果报告" in text and "评分标准为：" in text
    assert set(ENGLISH_WORD.findall(text)) <= {"Wilson"}, set(ENGLISH_WORD.findall(text))


def test_a_linked_indicator_states_its_score(app, logged_in, answered):
    table = {**TABLE}
    leaf = table["indicators"][0]["children"][0]["children"][0]
    table["indicators"][0]["children"][0]["children"][0] = {
        **leaf,
        "input": {"link": {"questionnaire": answered.id, "figure": "overall_rate"}},
    }
    db.session.add(IndicatorTable(project_id=answered.project_id, definition=table))
    db.session.commit()
    context = report_context(answered)
    assert [i["name"] for i in context["indicators"]] == ["服务对象满意度"]  # the unlinked leaf is not listed
    indicator = context["indicators"][0]
    assert indicator["points"] == "5" and "93" in indicator["rule"]
    text = render_report(DEFAULT_TEMPLATE, context)
    assert f"该指标取总体满意度{indicator['value']}%，根据评分标准得{indicator['score']}分。" in text


def test_an_edited_template_is_saved_and_used(app, logged_in, answered, evaluator):
    edited = (
        "我组共回收{{ returned }}份问卷。\n\n"
        "{% for r in small_sample_rates %}第{{ r.number }}题仅{{ r.denominator }}份。{% endfor %}"
    )
    response = logged_in.post(url(answered), data={"template": edited})
    assert response.status_code == 302
    stored = stored_template(answered.project_id)
    assert stored.text == edited and stored.updated_by == evaluator.id
    html = logged_in.get(url(answered)).data.decode()
    assert "我组共回收6份问卷。" in html and "本次调查共发放问卷" not in html
    assert logged_in.post(url(answered) + "reset").status_code == 302
    assert stored_template(answered.project_id) is None
    assert "本次调查共发放问卷6份" in logged_in.get(url(answered)).data.decode()


@pytest.mark.parametrize(
    ("broken", "words"),
    [
        ("第一行\n共{{ missing }}份", "第 2 行"),
        ("{{ ''.__class__ }}", "第 1 行"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "第 1 行"),
        ("{% if %}", "第 1 行"),
    ],
)
def test_a_broken_template_is_refused_and_not_saved(app, logged_in, answered, broken, words):
    with pytest.raises(ReportTemplateError):
        render_report(broken, report_context(answered))
    response = logged_in.post(url(answered), data={"template": broken})
    assert response.status_code == 422
    html = response.data.decode()
    assert "报告模板" in html and words in html
    assert stored_template(answered.project_id) is None


def test_another_evaluator_gets_404(app, client, answered, other_evaluator):
    assert login(client, "mallory", "mallory-password-1").status_code == 302
    assert client.get(url(answered)).status_code == 404
    assert client.post(url(answered), data={"template": "x"}).status_code == 404
    assert client.post(url(answered) + "reset").status_code == 404
    assert stored_template(answered.project_id) is None


def test_the_text_quotes_the_standard_the_attached_table_prints(app, answered):
    """A leaf with its own 评分标准 is quoted with that text, as the 附件1 prints it; names keep ‘ ’ inside “ ”."""
    table = copy.deepcopy(TABLE)
    leaf = table["indicators"][0]["children"][0]["children"][0]
    leaf["name"] = "“平安丰泽”服务对象满意度"
    leaf["standard"] = "满意度93%以上，为满分；每下降5个百分点，扣2分"
    leaf["input"] = {"link": {"questionnaire": answered.id, "figure": "overall_rate"}}
    db.session.add(IndicatorTable(project_id=answered.project_id, definition=table))
    db.session.commit()
    text = render_report(DEFAULT_TEMPLATE, report_context(answered))
    assert "“‘平安丰泽’服务对象满意度”指标分值5分，评分标准为：满意度93%以上，为满分；每下降5个百分点，扣2分。" in text
