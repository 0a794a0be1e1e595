"""The report's satisfaction section: default text from the figures, a team's template, the sandbox."""

from __future__ import annotations

import pytest

from survey.extensions import db
from survey.models import IndicatorTable, ReportTemplate
from survey.report_text import DEFAULT_TEMPLATE, ReportTemplateError, render_report, report_context
from survey.reporting import questionnaire_results
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
    assert "本次共发放问卷6份，回收6份，有效问卷6份" in text
    assert "回收率为100.0%，有效回收率为100.0%" in text
    results = questionnaire_results(answered)
    assert results.rates and [r["percent"] for r in context["rates"]] == [r.percent for r in results.rates]
    for rate in results.rates:
        assert f"的{rate.percent}%" in text or f"为{rate.percent}%" in text
        assert f"其中第{rate.question_number}题有效回答仅6份，样本量较小，结论仅供参考。" in text
    assert f"总体满意度为{results.overall.percent}%" in text
    assert "根据评分标准" not in text  # no indicator table yet
    html = logged_in.get(url(answered)).data.decode()
    assert "<textarea" in html and "readonly" in html and "本次共发放问卷6份，回收6份，有效问卷6份" in html


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
    assert f"根据评分标准该项指标得{indicator['score']}分。" in text


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
    assert "我组共回收6份问卷。" in html and "本次共发放问卷" not in html
    assert logged_in.post(url(answered) + "reset").status_code == 302
    assert stored_template(answered.project_id) is None
    assert "本次共发放问卷6份" in logged_in.get(url(answered)).data.decode()


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
