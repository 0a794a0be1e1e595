"""Paper entry (录入纸质问卷): the error summary names every refused question and links to its field,
and the page counts what was keyed in by channel."""

from __future__ import annotations

import re

import pytest

from survey.extensions import db
from survey.models import Response
from survey.paper import paper_fields
from tests.helpers import make_project, published


@pytest.fixture
def grid(evaluator):
    return published(make_project(evaluator), "service_grid")


def _typed_grid(questionnaire, **changes) -> dict[str, str]:
    """A complete, valid keyed-in service_grid questionnaire (option 1 everywhere), with ``changes``."""
    typed = {f"p_{row['key']}": "1" for row in paper_fields(questionnaire.current_version.definition) if row["legend"]}
    return {**typed, **{f"p_{key}": value for key, value in changes.items()}}


def _summary(html: str) -> str:
    match = re.search(r'<div class="notice error-summary"[^>]*>(.*?)</div>', html, re.S)
    assert match, "no error summary"
    return match.group(1)


def test_the_error_summary_lists_each_refused_question_with_its_number_reason_and_link(logged_in, grid):
    url = f"/desk/questionnaires/{grid.id}/paper"
    refused = logged_in.post(url, data=_typed_grid(grid, q9="9", q2="1000", q10="服务很好"))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    summary = _summary(html)
    items = re.findall(r"<li>(.*?)</li>", summary, re.S)
    assert len(items) == 2
    assert 'href="#p_q2"' in items[0] and "第 2 题" in items[0] and "999" in items[0]  # questionnaire order
    assert 'href="#p_q9"' in items[1] and "第 9 题" in items[1] and "请输入 1 到 6 之间的选项序号。" in items[1]
    assert 'id="p_q2"' in html and 'id="p_q9"' in html
    assert 'value="9"' in html and 'value="1000"' in html and 'value="服务很好"' in html  # what was typed is kept
    assert db.session.execute(db.select(db.func.count(Response.id))).scalar() == 0


def test_the_error_summary_names_a_matrix_row_and_a_missing_answer(logged_in, grid):
    rows = [row for row in paper_fields(grid.current_version.definition) if row["item"]]
    second = rows[1]
    typed = _typed_grid(grid, **{second["key"]: "", "q1": "7"})
    html = logged_in.post(f"/desk/questionnaires/{grid.id}/paper", data=typed).get_data(as_text=True)
    items = re.findall(r"<li>(.*?)</li>", _summary(html), re.S)
    assert len(items) == 2
    assert 'href="#p_q1"' in items[0] and "第 1 题" in items[0]
    assert f'href="#p_{second["key"]}"' in items[1] and f"第 {second['number']} 题" in items[1]
    assert "这是必答题" in items[1]
