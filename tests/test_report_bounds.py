"""Report templates within bounds: operator results, output size, memory and wall time, each named in words.

An evaluator's template is text anyone with edit rights types; before these bounds nested ``range`` loops
held a worker for minutes, ``"x" * 50000000`` built a 100 MB page and ``7 ** (10**7)`` took seconds.
"""

from __future__ import annotations

import threading
import time

import pytest

from survey.models import ReportTemplate
from survey.platform.extensions import db
from survey.reports import sandbox as report_sandbox
from survey.reports.text import ReportTemplateError, render_report, save_template
from tests.helpers import SEED_004_ANSWERS, make_project, published

# an empty loop body calls no sandbox hook a deadline could be checked in; about 20 s of CPU in one process
NESTED_LOOPS = (
    "第一段\n{% for i in range(500) %}{% for j in range(1000) %}{% for k in range(1000) %}"
    "{% endfor %}{% endfor %}{% endfor %}"
)
STARTUP = 2.0  # seconds a render process may take to start on a loaded test machine


def refused(template: str, seconds: float | None = None) -> tuple[ReportTemplateError, float]:
    started = time.monotonic()
    with pytest.raises(ReportTemplateError) as caught:
        render_report(template, {}, seconds)
    return caught.value, time.monotonic() - started


@pytest.mark.parametrize(
    ("template", "kind", "words"),
    [
        ('{{ "x" * 50000000 }}', "too_large:repeat", "运算结果过大（字符串或列表的长度超过 100000），已停止。"),
        ("{{ 50000000 * 'x' }}", "too_large:repeat", "运算结果过大（字符串或列表的长度超过 100000），已停止。"),
        ("{{ (range(1000)|list) * 1000 }}", "too_large:repeat", "字符串或列表的长度超过 100000"),
        ("{{ 7 ** (10**7) }}", "too_large:number", "运算结果过大（整数超过 1233 位），已停止。"),
        ("{{ (2 ** 4000) * (2 ** 4000) }}", "too_large:number", "整数超过 1233 位"),
        ("{{ range(100000)|list|length }}", "too_large:range", "运算结果过大（range 最多生成 10000 个数），已停止。"),
        ('{% set s = "x" * 60000 %}{{ s + s }}', "too_large:repeat", "字符串或列表的长度超过 100000"),
        ('{{ "%0500000d" % 1 }}', "too_large:repeat", "字符串或列表的长度超过 100000"),
    ],
)
def test_operator_results_are_bounded_at_once_and_the_bound_is_named(app, template, kind, words):
    error, elapsed = refused(template)
    assert error.kind == kind
    assert error.message.startswith("报告模板第 1 行有误：") and words in error.message
    assert elapsed < STARTUP  # refused before the result is built, not at the deadline


def test_output_size_is_bounded(app):
    error, elapsed = refused('{% for i in range(10000) %}{{ "段落" * 50 }}\n{% endfor %}')
    assert error.kind == "too_long"
    assert error.message == f"报告模板有误：模板输出超过 {report_sandbox.MAX_OUTPUT_CHARS} 字，已停止。请检查循环。"
    assert elapsed < STARTUP


def test_memory_is_bounded_where_no_operator_bound_applies(app):
    """``~`` and filters such as ``center`` have no hook; the render process's memory cap stops them."""
    for template in (
        '{% set ns = namespace(v="x") %}{% for i in range(31) %}{% set ns.v = ns.v ~ ns.v %}{% endfor %}{{ ns.v }}',
        '{{ "x"|center(2000000000)|length }}',
    ):
        error, _elapsed = refused(template)
        assert error.kind == "too_large:memory"
        assert "运算结果过大（占用内存超过 512 MB），已停止。" in error.message


def test_wall_time_is_bounded_even_for_a_loop_with_an_empty_body(app):
    cpu, started = time.process_time(), time.monotonic()
    error, elapsed = refused(NESTED_LOOPS, seconds=1)
    assert error.kind == "timeout"
    assert error.message == "报告模板有误：模板运行超过 1 秒，已停止。请减少循环的次数。"
    assert 1 <= elapsed < 1 + STARTUP
    # the loops ran in another process: this one (a web worker's other threads) kept the interpreter
    assert time.process_time() - cpu < 0.5 * (time.monotonic() - started)


def test_the_deadline_holds_for_renders_started_from_threads(app):
    """Under gunicorn's gthread workers renders start from request threads; each one still stops in time."""
    outcomes: list[tuple[str, float]] = []

    def render():
        with app.app_context():
            started = time.monotonic()
            try:
                render_report(NESTED_LOOPS, {}, 1)
            except ReportTemplateError as error:
                outcomes.append((error.kind, time.monotonic() - started))

    threads = [threading.Thread(target=render) for _ in range(report_sandbox.MAX_RENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert [kind for kind, _elapsed in outcomes] == ["timeout"] * report_sandbox.MAX_RENDERS
    assert all(elapsed < 1 + STARTUP for _kind, elapsed in outcomes)


def test_renders_past_the_per_process_limit_are_turned_away_in_words(app, monkeypatch):
    monkeypatch.setattr(report_sandbox, "_slots", threading.BoundedSemaphore(1))
    report_sandbox._slots.acquire()  # another request's render holds the only slot
    error, elapsed = refused("{{ 1 }}", seconds=0.3)
    assert error.kind == "busy" and error.message == "同时生成的报告太多，请稍后再试。"
    assert elapsed < 0.3 + STARTUP


def test_a_plain_template_still_renders(app):
    assert render_report("共{{ n }}份\n\n{{ '好' * 3 }}{{ 2 ** 10 }}", {"n": 6}) == "共6份\n\n好好好1024"


@pytest.fixture
def questionnaire(app, evaluator):
    project = make_project(evaluator)
    questionnaire = published(project)
    answers = {**SEED_004_ANSWERS, "submission_id": f"b{questionnaire.id}"}
    assert app.test_client().post(f"/s/{questionnaire.public_token}", data=answers).status_code in (200, 302, 303)
    return questionnaire


def url(questionnaire) -> str:
    return f"/desk/questionnaires/{questionnaire.id}/report/"


def test_the_desk_refuses_to_save_a_runaway_template_and_says_which_bound(app, logged_in, questionnaire):
    started = time.monotonic()
    response = logged_in.post(url(questionnaire), data={"template": '{{ "x" * 50000000 }}'})
    assert response.status_code == 422
    assert "字符串或列表的长度超过 100000" in response.data.decode()
    assert time.monotonic() - started < 2 * STARTUP
    db.session.expire_all()
    assert db.session.execute(db.select(ReportTemplate)).scalars().all() == []


def test_a_runaway_template_saved_before_the_bounds_costs_a_view_no_more_than_the_deadline(
    app, logged_in, questionnaire, monkeypatch
):
    save_template(questionnaire.project_id, NESTED_LOOPS)
    monkeypatch.setattr(report_sandbox, "MAX_SECONDS", 1)
    started = time.monotonic()
    response = logged_in.get(url(questionnaire))
    assert response.status_code == 200
    assert "模板运行超过 1 秒，已停止。" in response.data.decode()
    assert time.monotonic() - started < 1 + 2 * STARTUP
