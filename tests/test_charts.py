"""Charts on the results page: vendored ECharts (no CDN), drawn from the page's JSON, under the CSP.

The first tests need no browser: the vendored files and their licences are there and served, and
the results page loads them and carries the data they are drawn from. The browser tests reuse the
live server, demo data and Debian Chromium of ``tests/test_browser.py``: the demo user opens the
results of the public-safety questionnaire on a phone (375 px) and a desktop (1280 px), the SVG
charts are drawn with no console error and no CSP violation, the phone does not scroll sideways,
and the page prints. Screenshots and the PDF are saved in ``test-artifacts/`` for people to look at.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests import test_browser
from tests.browser_support import keep_screenshot
from tests.helpers import SEED_004_ANSWERS, make_project, published

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "static" / "vendor" / "echarts"
ECHARTS_URL = "/static/vendor/echarts/echarts.min.js"
CHARTS_URL = "/static/js/results-charts.js"
CHARTS_CSS_URL = "/static/css/charts.css"
ARTIFACTS = ROOT / "test-artifacts"

# The live server with the demo data (headless Debian Chromium is the ``browser`` fixture of tests/conftest.py).
live = test_browser.live

# Recorded in the page before any of its scripts run: CSP violations as the browser reports them.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
window.__printEvents = [];
window.addEventListener('beforeprint', () => window.__printEvents.push('before'));
window.addEventListener('afterprint', () => window.__printEvents.push('after'));
"""


def _echarts_version() -> str:
    found = re.search(r'version\s*=\s*"(\d+\.\d+\.\d+)"', (VENDOR / "echarts.min.js").read_text(encoding="utf-8"))
    assert found, "the version string of ECharts was not found in echarts.min.js"
    return found.group(1)


# --- without a browser ------------------------------------------------------------------------


def test_echarts_is_vendored_with_its_licence_and_listed():
    script = VENDOR / "echarts.min.js"
    assert script.stat().st_size > 500_000, "the full minified build, not a stub"
    assert "Apache License" in (VENDOR / "LICENSE").read_text(encoding="utf-8")
    assert "Apache ECharts" in (VENDOR / "NOTICE").read_text(encoding="utf-8")
    assert "BSD" in (VENDOR / "LICENSE-zrender").read_text(encoding="utf-8")
    readme = (ROOT / "static" / "vendor" / "README.md").read_text(encoding="utf-8")
    assert "echarts/echarts.min.js" in readme
    assert _echarts_version() in readme, "static/vendor/README.md must name the vendored version"
    assert "cdn" not in script.read_text(encoding="utf-8")[:2000].lower()


def _static(client, url: str) -> tuple[int, str, bytes]:
    with client.get(url) as response:
        return response.status_code, response.mimetype, response.get_data()


def test_results_page_loads_the_vendored_charts_and_carries_their_data(app, logged_in, evaluator):
    questionnaire = published(make_project(evaluator))
    for index, q4 in enumerate(["a", "a", "b", "c", "a"]):
        app.test_client().post(
            f"/s/{questionnaire.public_token}", data={**SEED_004_ANSWERS, "q4": q4, "submission_id": f"s{index}"}
        )
    response = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/results")
    assert response.status_code == 200
    page = response.data.decode()

    # ECharts first, then the chart script; both deferred, both from this server.
    scripts = re.findall(r"<script\b([^>]*)>", page)
    sources = [re.search(r'src="([^"]+)"', attrs).group(1) for attrs in scripts if "src=" in attrs]
    assert [s.split("?")[0] for s in sources[-2:]] == [ECHARTS_URL, CHARTS_URL]  # ?v= fingerprints aside
    assert all("defer" in attrs for attrs in scripts if "src=" in attrs)
    assert not [s for s in sources if s.startswith(("http:", "https:", "//"))], "no CDN"
    assert re.search(rf'href="{re.escape(CHARTS_CSS_URL)}(\?v=[0-9a-f]+)?"', page)
    # The CSP allows no inline script or style attribute: every inline <script> is a JSON data block.
    assert all('type="application/json"' in attrs for attrs in scripts if "src=" not in attrs)
    assert " style=" not in page
    # Fixed words reach the script through data attributes, translated on the server.
    tag = next(attrs for attrs in scripts if CHARTS_URL in attrs)
    assert 'id="results-charts"' in tag and 'data-question="第 {n} 题"' in tag and 'data-count="人数"' in tag

    # One empty container per choice question, inside that question's section; the rates card.
    data = json.loads(re.search(r'id="results-data">(.*?)</script>', page, re.S).group(1))
    choice = [q["key"] for q in data["questions"] if q["options"]]
    assert choice
    for key in choice:
        section = re.search(rf'<section class="card question-result" id="q-{key}">(.*?)</section>', page, re.S)
        assert f'<div class="chart" data-chart="dist" data-key="{key}" aria-hidden="true"></div>' in section.group(1)
    assert re.search(r'<section class="card chart-card" id="rates-chart" hidden>', page), "shown by the script"
    rates = [q["rate"] for q in data["questions"] if q["rate"]]
    assert rates
    q4 = next(q["rate"] for q in data["questions"] if q["key"] == "q4")
    assert q4["denominator"] == 5 and q4["small_sample"] is True
    assert 0 <= q4["ci95"][0] < q4["value"] < q4["ci95"][1] <= 1
    assert all({"name", "percent", "value", "ci95", "denominator", "small_sample"} <= set(r) for r in rates)

    # The vendored files are served by the app itself.
    status, mimetype, body = _static(logged_in, ECHARTS_URL)
    assert (status, mimetype) == (200, "text/javascript") and body == (VENDOR / "echarts.min.js").read_bytes()
    assert _static(logged_in, CHARTS_URL)[:2] == (200, "text/javascript")
    assert _static(logged_in, CHARTS_CSS_URL)[:2] == (200, "text/css")


# --- in a browser -----------------------------------------------------------------------------


def _open_results(browser, live, viewport: dict, **context_options):
    context = browser.new_context(viewport=viewport, locale="zh-CN", **context_options)
    context.set_default_timeout(15_000)
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204))  # the app has none; not our concern
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: m.type in ("error", "warning") and problems.append(f"console {m.type}: {m.text}"))
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.add_init_script(WATCH_CSP)
    test_browser._login(page, live)
    survey = live.surveys["public_safety"]
    page.goto(live.url(f"/desk/questionnaires/{survey.id}/results"))
    return context, page, problems


@pytest.mark.parametrize(
    ("width", "height", "phone"), [(375, 800, True), (1280, 900, False)], ids=["phone-375", "desktop-1280"]
)
def test_charts_are_drawn_on_phone_and_desktop_without_errors(live, browser, width, height, phone):
    options = {"device_scale_factor": 2, "is_mobile": True, "has_touch": True} if phone else {}
    context, page, problems = _open_results(browser, live, {"width": width, "height": height}, **options)
    try:
        page.wait_for_selector("html.charts-ready")
        data = json.loads(page.locator("#results-data").text_content())
        choice = [q["key"] for q in data["questions"] if q["options"] and q["answered"]]
        rated = [q for q in data["questions"] if q["rate"] and q["rate"]["denominator"]]
        assert "q1" in choice and rated and data["dimensions"], "the demo data must exercise every chart"

        assert page.locator("#q-q1 .chart svg").count() == 1
        for key in choice:
            assert page.locator(f"#q-{key} .chart.is-drawn svg").count() == 1, key
        assert page.locator("#rates-chart").is_visible()
        assert page.locator("#rates-chart .chart svg").count() == 1
        assert page.locator("#dimensions .chart svg").count() == 1
        # One bar label per option / rate / dimension, drawn as SVG text from the data.
        q1_text = page.locator("#q-q1 .chart svg").text_content()
        assert all(o["text"] in q1_text for o in data["questions"][0]["options"])
        rates_text = page.locator("#rates-chart svg").text_content()
        for q in rated:
            assert f"n = {q['rate']['denominator']}" in rates_text and q["rate"]["percent"] + "%" in rates_text
        dims_text = page.locator("#dimensions .chart svg").text_content()
        assert all(d["name"] in dims_text for d in data["dimensions"])

        # Every chart fits its card; the page does not scroll sideways.
        overflow = page.eval_on_selector_all(
            ".chart.is-drawn",
            "els => els.filter(e => e.querySelector('svg').getBoundingClientRect().width > e.clientWidth + 1)"
            ".map(e => e.dataset.key || e.dataset.chart)",
        )
        assert overflow == []
        assert page.evaluate("document.documentElement.scrollWidth") <= width

        # A tooltip (HTML built from classes, no inline style markup) shows the full option text.
        chart = page.locator("#q-q1 .chart")
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        where = (box["x"] + box["width"] / 2, box["y"] + 12)
        page.touchscreen.tap(*where) if phone else page.mouse.move(*where)
        tip = page.locator("#q-q1 .chart-tip")
        tip.wait_for(state="visible")
        assert data["questions"][0]["options"][0]["text"] in tip.inner_text()
        if not phone:
            page.mouse.move(0, 0)

        # Resizing redraws to the new width.
        page.set_viewport_size({"width": width - 40, "height": height})
        page.wait_for_function(
            "w => document.querySelector('#q-q1 .chart svg').getAttribute('width') <= w", arg=width - 40
        )
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_function(
            "() => { const c = document.querySelector('#q-q1 .chart');"
            " return +c.querySelector('svg').getAttribute('width') === c.clientWidth; }"
        )

        keep_screenshot(page, test_browser.SHOTS / f"results-charts-{width}.png")
        if not phone:
            ARTIFACTS.mkdir(exist_ok=True)
            pdf = ARTIFACTS / "results-print.pdf"
            page.pdf(path=str(pdf), format="A4", print_background=True, margin={"top": "12mm", "bottom": "12mm"})
            assert pdf.read_bytes().startswith(b"%PDF")
            text = "".join(p.extract_text() for p in pytest.importorskip("pypdf").PdfReader(pdf).pages)
            assert "n = 40" in text, "the charts are printed as SVG (vector text), not left out"
            assert page.evaluate("window.__printEvents") == ["before", "after"]
            # Back at screen width after printing.
            assert page.evaluate(
                "() => { const c = document.querySelector('#q-q1 .chart');"
                " return +c.querySelector('svg').getAttribute('width') === c.clientWidth; }"
            )

        assert page.evaluate("window.__cspViolations") == []
        assert problems == []
    finally:
        context.close()


def test_without_javascript_the_page_is_complete_and_leaves_no_empty_chart_space(live, browser):
    context, page, problems = _open_results(browser, live, {"width": 375, "height": 800}, java_script_enabled=False)
    try:
        assert page.locator("#rates-chart").is_hidden()
        heights = page.eval_on_selector_all(".chart", "els => els.map(e => e.getBoundingClientRect().height)")
        assert heights and set(heights) == {0}
        assert page.locator("#q-q1 table.dist tbody tr").count() == 6, "the table still has every number"
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert problems == []
    finally:
        context.close()
