"""The indicator editor in a real browser: a rule's own fields, tier rows and survey links, with and without
JavaScript, at phone (375×667) and desktop (1280×800) size.

Runs on the live demo server of ``tests/test_browser.py`` in Debian's Chromium. Screenshots go to
``tests/artifacts/indicators/`` (git-ignored) for people to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser_support import DESKTOP, PHONE, keep_screenshot
from tests.test_browser import _login, live  # noqa: F401 - fixtures shared with the browser tests

SHOTS = Path(__file__).resolve().parent / "artifacts" / "indicators"
SIZES = {"desktop": DESKTOP, "phone": PHONE}


def shot(page, name: str) -> None:
    keep_screenshot(page, SHOTS / f"{name}.png")


def _project_with_table(live) -> tuple[int, int]:  # noqa: F811
    """The demo project with the seed 002 table started (once), and its first questionnaire."""
    import json

    from survey.indicators.indicators_views import LIBRARY
    from survey.models import IndicatorTable, Project
    from survey.platform.extensions import db

    with live.app.app_context():
        project = db.session.execute(db.select(Project).order_by(Project.id)).scalars().first()
        if db.session.execute(db.select(IndicatorTable).filter_by(project_id=project.id)).scalar_one_or_none() is None:
            table = json.loads((LIBRARY / "seed_002_xinjian.json").read_text(encoding="utf-8"))
            db.session.add(IndicatorTable(project_id=project.id, definition=table))
            db.session.commit()
        return project.id, min(q.id for q in project.questionnaires)


def _visible_rules(page) -> list[str]:
    return page.eval_on_selector_all(
        "fieldset.rule-fields[data-rule]", "els => els.filter(e => !e.hidden).map(e => e.dataset.rule)"
    )


@pytest.mark.parametrize("size", list(SIZES))
def test_rule_fields_rows_and_link_switch_in_place_with_javascript(live, browser, size):  # noqa: F811
    project_id, questionnaire_id = _project_with_table(live)
    context = browser.new_context(**SIZES[size])
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        _login(page, live)
        page.goto(live.url(f"/desk/projects/{project_id}/indicators/nodes/d3_1"))  # 服务对象满意度
        assert _visible_rules(page) == [page.input_value("select[name=rule_type]")]  # only the chosen rule's
        assert not page.is_visible("button[name=choose_rule]")  # the script switches in place
        shot(page, f"editor-threshold-{size}")
        page.check("input[name=mode][value=entered]")
        page.select_option("select[name=rule_type]", "tiers")
        assert _visible_rules(page) == ["tiers"]
        assert page.is_visible("input[name=p-tiers-tiers-0-min]")
        page.click("button[data-add-row='p-tiers-tiers-rows']")
        assert page.is_visible("input[name=p-tiers-tiers-1-min]")  # a row more, no reload
        assert page.get_attribute("input[name=p-tiers-tiers-1-min]", "aria-label") == "达到 2"
        page.fill("input[name=p-tiers-tiers-0-min]", "95")
        page.fill("input[name=p-tiers-tiers-0-points]", "5")
        page.fill("input[name=p-tiers-tiers-1-points]", "2")
        page.fill("input[name=i-tiers-values-0-values]", "96")
        shot(page, f"editor-tiers-{size}")
        page.select_option("select[name=rule_type]", "proportional")  # a rule scored on one value, for a link
        page.fill("input[name=p-proportional-target]", "100")
        page.check("input[name=mode][value=link]")
        assert not page.is_visible("[data-mode=entered]") and page.is_visible("[data-mode=link]")
        page.select_option("select[name=questionnaire]", str(questionnaire_id))
        page.select_option("select[name=figure]", "overall_rate")
        assert not page.is_visible("select[name=question]") and page.is_visible("select[name=channel]")
        page.select_option("select[name=figure]", "rate")
        questions = page.eval_on_selector_all("select[name=question] option", "os => os.map(o => o.textContent)")
        assert len(questions) > 1 and questions[1].startswith("第 ")
        page.select_option("select[name=question]", index=1)
        shot(page, f"editor-link-{size}")
        width = page.viewport_size["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.click("form.indicator-editor button.primary")
        page.wait_for_url("**/indicators/")
        assert "已保存" in page.content()
        shot(page, f"table-{size}")
    finally:
        context.close()


def test_without_javascript_the_rule_is_chosen_first(live, browser):  # noqa: F811
    project_id, _questionnaire_id = _project_with_table(live)
    context = browser.new_context(**PHONE, java_script_enabled=False)
    context.set_default_timeout(20_000)
    try:
        page = context.new_page()
        _login(page, live)
        page.goto(live.url(f"/desk/projects/{project_id}/indicators/nodes/a1"))  # a judgement leaf (二级)
        assert _visible_rules(page) == ["judgement"]
        page.select_option("select[name=rule_type]", "linear")
        assert _visible_rules(page) == ["judgement"]  # nothing changes until the button
        page.click("button[name=choose_rule]")
        assert _visible_rules(page) == ["linear"]
        page.fill("input[name=p-linear-low]", "80")
        page.fill("input[name=p-linear-high]", "60")
        page.fill("input[name=i-linear-value]", "70")
        page.click("form.indicator-editor button.primary")
        assert "满分值必须大于零分值。" in page.content()  # refused, the field named in words
        shot(page, "editor-nojs-refused-phone")
        page.fill("input[name=p-linear-high]", "100")
        page.click("form.indicator-editor button.primary")
        assert "已保存" in page.content()
    finally:
        context.close()
