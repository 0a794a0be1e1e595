"""The weighting page: population tables checked whole and stored only when right, the scheme, the weights'
distribution, and the weighted figures reaching the results page and JSON. Access by the wrong user is refused."""

from __future__ import annotations

import copy
import io
import json
import re
from pathlib import Path

import openpyxl
import pytest

from survey.accounts.access import add_member
from survey.models import PopulationTable, Questionnaire
from survey.platform.extensions import db
from survey.questionnaires import publishing
from survey.responses.capture import enter_response
from tests.conftest import login
from tests.helpers import make_project
from tests.test_results_json import output_keys

DEFINITION = {
    "format": "survey-questionnaire/1",
    "title": "群众安全感调查",
    "settings": {"overall": {"method": "mean", "measure": "safety"}},
    "sections": [
        {
            "key": "s1",
            "title": "基本情况",
            "questions": [
                {
                    "key": "town",
                    "type": "group",
                    "text": "您居住的乡镇",
                    "options": [{"key": "a", "text": "城关镇"}, {"key": "b", "text": "北山乡"}],
                },
                {
                    "key": "sex",
                    "type": "group",
                    "text": "性别",
                    "options": [{"key": "m", "text": "男"}, {"key": "f", "text": "女"}],
                },
                {
                    "key": "safe",
                    "type": "single_choice",
                    "text": "您感觉安全吗？",
                    "required": True,
                    "measure": "safety",
                    "options": [
                        {"key": "y", "text": "安全", "positive": True},
                        {"key": "n", "text": "不安全"},
                        {"key": "d", "text": "说不清", "dont_know": True},
                    ],
                },
            ],
        }
    ],
}
# Equal interviews per town; the small 乡 feels less safe. Town a: 16 of 20 safe; town b: 8 of 20 safe.
ANSWERS = (
    [{"town": "a", "sex": "m", "safe": "y"}] * 8
    + [{"town": "a", "sex": "f", "safe": "y"}] * 8
    + [{"town": "a", "sex": "f", "safe": "n"}] * 4
    + [{"town": "b", "sex": "m", "safe": "y"}] * 8
    + [{"town": "b", "sex": "m", "safe": "n"}] * 6
    + [{"town": "b", "sex": "f", "safe": "n"}] * 6
)
TOWN_ROWS = "乡镇\t人数\n城关镇\t8000\n北山乡\t2000\n"


@pytest.fixture
def survey_with_answers(evaluator) -> Questionnaire:
    project = make_project(evaluator)
    questionnaire = publishing.import_questionnaire(project, copy.deepcopy(DEFINITION))
    publishing.publish(questionnaire)
    for number, answers in enumerate(ANSWERS):
        enter_response(questionnaire, dict(answers), f"sid-{number}")
    db.session.commit()
    return questionnaire


def results_json(runner, questionnaire: Questionnaire) -> dict:
    """What ``flask results --json`` prints (the same dict the API and the page's charts use)."""
    outcome = runner.invoke(args=["results", str(questionnaire.id), "--json"])
    assert outcome.exit_code == 0, outcome.output
    return json.loads(outcome.output)


def page_url(questionnaire: Questionnaire, tail: str = "") -> str:
    return f"/desk/questionnaires/{questionnaire.id}/weighting/{tail}"


def post_scheme(client, questionnaire, tables: list[str], method: str = "poststratify", **overrides):
    """Post the weighting scheme form as the page sends it, with the usual settings unless overridden."""
    data = {"enabled": "y", "method": method, "tables": tables, "tolerance": "1e-6", "max_iterations": "100",
            "trim": "none", **overrides}  # fmt: skip
    return client.post(page_url(questionnaire, "scheme"), data=data)


def add_table(client, questionnaire, name, questions, rows=None, file=None):
    data = {"name": name, "source": "第七次全国人口普查", "questions": questions, "rows": rows or ""}
    if file is not None:
        data["file"] = (io.BytesIO(file), "population.xlsx")
    return client.post(page_url(questionnaire, "tables"), data=data, content_type="multipart/form-data")


def test_table_stored_and_weighted_figures_everywhere(logged_in, runner, survey_with_answers):
    questionnaire = survey_with_answers
    assert add_table(logged_in, questionnaire, "乡镇人口", ["town"], TOWN_ROWS).status_code == 302
    table = db.session.execute(db.select(PopulationTable)).scalar_one()
    assert table.cells == [{"options": ["a"], "count": 8000.0}, {"options": ["b"], "count": 2000.0}]
    response = post_scheme(logged_in, questionnaire, ["乡镇人口"])
    assert response.status_code == 302
    html = logged_in.get(page_url(questionnaire)).get_data(as_text=True)
    assert "事后分层加权" in html and 'id="deff"' in html and "城关镇" in html
    # Unweighted: 24 of 40 safe = 60.0%. Weighted: (16·400 + 8·100) / (20·400 + 20·100) = 72.0%.
    results = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/results").get_data(as_text=True)
    assert "60.0%" in results and "72.0%" in results and "加权口径" in results
    data = results_json(runner, questionnaire)
    weighted = data["weighted"]
    assert weighted["rates"]["safe"]["estimate"] == pytest.approx(0.72)
    assert weighted["rates"]["safe"]["n"] == 40 and weighted["summary"]["n_effective"] == pytest.approx(
        (40 * 250) ** 2 / (20 * 400**2 + 20 * 100**2)
    )


def test_bad_table_reports_every_problem_and_stores_nothing(logged_in, survey_with_answers):
    rows = "乡镇\t人数\n城关镇\t8000\n城关\t100\n北山乡\t-5\n城关镇\t1\n"
    response = add_table(logged_in, survey_with_answers, "乡镇人口", ["town"], rows)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "第 3 行：“城关”不是“您居住的乡镇”的选项" in html
    assert "第 4 行：人数“-5”不是非负的数" in html
    assert "第 5 行与第 2 行是同一类别" in html
    assert "城关镇\t8000" in html  # what was pasted is shown again
    assert db.session.execute(db.select(PopulationTable)).first() is None


def test_missing_category_and_empty_cell_are_named(logged_in, survey_with_answers):
    response = add_table(logged_in, survey_with_answers, "交叉", ["town", "sex"], "乡镇\t性别\t人数\n城关镇\t男\t10\n")
    assert "“城关镇 × 女”、“北山乡 × 男”、“北山乡 × 女”" in response.get_data(as_text=True)
    rows = "乡镇\t性别\t人数\n城关镇\t男\t10\n城关镇\t女\t10\n北山乡\t男\t10\n北山乡\t女\t0\n"
    response = add_table(logged_in, survey_with_answers, "交叉", ["town", "sex"], rows)
    assert "“北山乡 × 女”的人数为 0，但有 6 份有效回答" in response.get_data(as_text=True)
    assert db.session.execute(db.select(PopulationTable)).first() is None


def test_totals_must_agree_across_tables(logged_in, survey_with_answers):
    assert add_table(logged_in, survey_with_answers, "乡镇人口", ["town"], TOWN_ROWS).status_code == 302
    response = add_table(logged_in, survey_with_answers, "性别人口", ["sex"], "性别\t人数\n男\t5000\n女\t4000\n")
    assert response.status_code == 422
    assert "总人数 9000 与人口表“乡镇人口”的 10000 不一致" in response.get_data(as_text=True)


def test_xlsx_upload_and_blank_table(logged_in, survey_with_answers):
    blank = logged_in.get(page_url(survey_with_answers, "blank.csv?questions=town&questions=sex"))
    assert blank.status_code == 200
    text = blank.get_data().decode("utf-8-sig")
    assert text.splitlines() == ["您居住的乡镇,性别,人数", "城关镇,男,", "城关镇,女,", "北山乡,男,", "北山乡,女,"]
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (
        ["乡镇", "性别", "人数"],
        ["城关镇", "男", 4100],
        ["城关镇", "女", 3900],
        ["北山乡", "男", "1,000"],
        ["北山乡", "女", 1000],
    ):
        sheet.append(row)
    content = io.BytesIO()
    book.save(content)
    assert (
        add_table(logged_in, survey_with_answers, "乡镇×性别", ["town", "sex"], file=content.getvalue()).status_code
        == 302
    )
    table = db.session.execute(db.select(PopulationTable)).scalar_one()
    assert sum(cell["count"] for cell in table.cells) == 10_000


def test_scheme_that_cannot_apply_says_why_on_results(logged_in, runner, survey_with_answers):
    questionnaire = survey_with_answers
    add_table(logged_in, questionnaire, "乡镇人口", ["town"], TOWN_ROWS)
    add_table(logged_in, questionnaire, "性别人口", ["sex"], "性别\t人数\n男\t5000\n女\t5000\n")
    response = post_scheme(logged_in, questionnaire, ["乡镇人口", "性别人口"])
    assert response.status_code == 422 and "事后分层只能用一张人口表" in response.get_data(as_text=True)
    logged_in.post(
        page_url(questionnaire, "scheme"),
        data={
            "enabled": "y",
            "method": "rake",
            "tables": ["乡镇人口", "性别人口"],
            "tolerance": "1e-9",
            "max_iterations": "1",
            "trim": "none",
        },
    )
    html = logged_in.get(page_url(questionnaire)).get_data(as_text=True)
    assert "无法加权" in html and "未收敛" in html
    data = results_json(runner, questionnaire)
    assert data["weighted"] is None and "未收敛" in data["weighting_problem"]


def test_table_in_use_cannot_be_deleted(logged_in, survey_with_answers):
    questionnaire = survey_with_answers
    add_table(logged_in, questionnaire, "乡镇人口", ["town"], TOWN_ROWS)
    post_scheme(logged_in, questionnaire, ["乡镇人口"])
    table = db.session.execute(db.select(PopulationTable)).scalar_one()
    logged_in.post(page_url(questionnaire, f"tables/{table.id}/delete"))
    assert db.session.get(PopulationTable, table.id) is not None


def test_wrong_users_are_refused(client, survey_with_answers, other_evaluator):
    questionnaire = survey_with_answers
    assert client.get(page_url(questionnaire)).status_code == 302  # signed out: to the sign-in page
    login(client, "mallory", "mallory-password-1")
    assert client.get(page_url(questionnaire)).status_code == 404
    assert add_table(client, questionnaire, "乡镇人口", ["town"], TOWN_ROWS).status_code == 404
    add_member(questionnaire.project, other_evaluator, "viewer")
    db.session.commit()
    assert client.get(page_url(questionnaire)).status_code == 200
    assert add_table(client, questionnaire, "乡镇人口", ["town"], TOWN_ROWS).status_code == 403
    assert client.post(page_url(questionnaire, "scheme"), data={"method": "rake"}).status_code == 403
    assert db.session.execute(db.select(PopulationTable)).first() is None


def test_weighted_json_keys_are_documented(logged_in, runner, survey_with_answers):
    """Every key of the weighted block is in docs/analysis.md's schema, and every documented key is output."""
    questionnaire = survey_with_answers
    add_table(logged_in, questionnaire, "乡镇人口", ["town"], TOWN_ROWS)
    logged_in.post(
        page_url(questionnaire, "scheme"),
        data={
            "enabled": "y",
            "method": "rake",
            "tables": ["乡镇人口"],
            "tolerance": "1e-9",
            "max_iterations": "50",
            "trim": "median",
            "trim_multiple": "3",
        },
    )
    weighted = results_json(runner, questionnaire)["weighted"]
    text = (Path(__file__).parent.parent / "docs" / "analysis.md").read_text(encoding="utf-8")
    block = text[text.index("### Weighted figures") :]
    block = block[block.index("```") + 3 :]
    documented = set(re.findall(r'"([a-z][a-z0-9_]*)"', block[: block.index("```")]))
    assert documented == output_keys(weighted, data_maps={"rates", "indexes", "shares", "dimensions"})
    assert weighted["weighting"]["trim"]["kind"] == "median"


def test_sample_plan_allocates_and_compares_achieved(logged_in, survey_with_answers):
    """Equal allocation of 60 over two towns; 20 achieved in each against 30 planned: both under-covered, and the
    achieved mix (50/50) against the population's (80/20) fails the χ² test: 40·(0.5−0.8)²/0.8 + … = 22.5."""
    questionnaire = survey_with_answers
    add_table(logged_in, questionnaire, "乡镇人口", ["town"], TOWN_ROWS)
    response = logged_in.post(
        page_url(questionnaire, "plan"),
        data={"stratum": "town", "table": "乡镇人口", "method": "equal", "total": "60", "minimum": "0"},
    )
    assert response.status_code == 302
    db.session.refresh(questionnaire)
    assert questionnaire.sample_plan.allocation == {"a": 30, "b": 30}
    assert questionnaire.target is None  # a plan is not the number issued: no return rate against it
    html = logged_in.get(page_url(questionnaire)).get_data(as_text=True)
    assert 'id="allocation"' in html and "χ² = 22.50" in html and "样本不足" in html
    proportional = logged_in.post(
        page_url(questionnaire, "plan"),
        data={"stratum": "town", "table": "乡镇人口", "method": "proportional", "total": "50", "minimum": "15"},
    )
    assert proportional.status_code == 302
    db.session.refresh(questionnaire)
    assert questionnaire.sample_plan.allocation == {"a": 35, "b": 15}  # 40/10 by share, 乡 raised to its minimum


def test_sample_plan_refusal_says_why(logged_in, survey_with_answers):
    questionnaire = survey_with_answers
    add_table(logged_in, questionnaire, "乡镇人口", ["town"], TOWN_ROWS)
    response = logged_in.post(
        page_url(questionnaire, "plan"),
        data={"stratum": "town", "table": "乡镇人口", "method": "equal", "total": "10", "minimum": "7"},
    )
    assert response.status_code == 422
    assert "样本总量 10 少于各分层最低样本量之和 14" in response.get_data(as_text=True)
    assert questionnaire.sample_plan is None


def weighted_survey(client, questionnaire) -> None:
    add_table(client, questionnaire, "乡镇人口", ["town"], TOWN_ROWS)
    post_scheme(client, questionnaire, ["乡镇人口"])


def test_exports_carry_the_weights(app, logged_in, survey_with_answers):
    """The responses CSV gets a 权重 column, the .sav a weight variable set as SPSS's case weight (header field
    and pyreadstat reading it back), the .dta the column, and the bundle a weighting.json to redo every figure."""
    import zipfile

    import pyreadstat

    from survey.projects.desk_views import build_responses_csv
    from survey.reports.bundle import working_paper_bundle
    from survey.reports.dataset_files import SAV_WEIGHT_OFFSET
    from survey.reports.dataset_views import build_dta, build_sav

    questionnaire = survey_with_answers
    weighted_survey(logged_in, questionnaire)
    params = {"questionnaire_id": questionnaire.id}
    csv_text = build_responses_csv(params).body.decode("utf-8-sig")
    header, *rows = csv_text.splitlines()
    column = header.split(",").index("权重")
    assert sorted({row.split(",")[column] for row in rows}) == ["100.0", "400.0"]
    sav = build_sav(params).body
    assert int.from_bytes(sav[SAV_WEIGHT_OFFSET : SAV_WEIGHT_OFFSET + 4], "little") == 1
    path = Path(app.instance_path) / "weighted.sav"
    path.write_bytes(sav)
    frame, meta = pyreadstat.read_sav(str(path))
    assert frame.columns[0] == "weight" and frame["weight"].sum() == pytest.approx(10_000)
    assert meta.column_names_to_labels["weight"].startswith("权重")
    dta = Path(app.instance_path) / "weighted.dta"
    dta.write_bytes(build_dta(params).body)
    assert pyreadstat.read_dta(str(dta))[0]["weight"].sum() == pytest.approx(10_000)
    with zipfile.ZipFile(io.BytesIO(working_paper_bundle(questionnaire))) as archive:
        record = json.loads(archive.read("weighting.json"))
    assert record["weighted"]["weighting"]["tables"][0]["cells"] == [
        {"options": ["a"], "count": 8000.0},
        {"options": ["b"], "count": 2000.0},
    ]
    assert record["weighted"]["rates"]["safe"]["estimate"] == pytest.approx(0.72)


@pytest.mark.sqlite_only  # PSPP reads the file it is given: the database that fed it is not its subject
def test_sav_weight_is_on_in_pspp(app, logged_in, survey_with_answers, tmp_path):
    """GNU PSPP (Debian's pspp, installed by .ci/run, an independent reader of .sav files) opens the file with
    the weight on: SHOW WEIGHT names it and a frequency table counts 10,000 weighted cases."""
    import shutil
    import subprocess

    from survey.reports.dataset_views import build_sav
    from tests.conftest import unavailable

    if shutil.which("pspp") is None:
        unavailable("pspp not found: install Debian's pspp to check the .sav weight with an independent reader")
    questionnaire = survey_with_answers
    weighted_survey(logged_in, questionnaire)
    (tmp_path / "r.sav").write_bytes(build_sav({"questionnaire_id": questionnaire.id}).body)
    (tmp_path / "r.sps").write_text(f"GET FILE='{tmp_path / 'r.sav'}'.\nSHOW WEIGHT.\nFREQUENCIES town.\n")
    run = subprocess.run(["pspp", "-O", "format=txt", str(tmp_path / "r.sps")], capture_output=True, text=True)
    output = run.stdout + run.stderr
    assert "WEIGHT is weight" in output, output
    assert "10000.00" in output.replace(",", ""), output


def test_workbook_has_the_weighted_sheet(logged_in, survey_with_answers):
    questionnaire = survey_with_answers
    weighted_survey(logged_in, questionnaire)
    from survey.reports.workbooks import questionnaire_workbook

    book = openpyxl.load_workbook(io.BytesIO(questionnaire_workbook(questionnaire, "zh_Hans_CN")))
    sheet = book["加权结果"]
    rows = {row[0]: row for row in sheet.iter_rows(min_row=4, values_only=True) if row[0]}
    rate = next(row for name, row in rows.items() if name.startswith("3. "))
    assert rate[1] == pytest.approx(0.6) and rate[2] == 40 and rate[3] == pytest.approx(0.72) and rate[7] == 40
    assert rows["设计效应（Kish）"][1] == pytest.approx(40 * (20 * 400**2 + 20 * 100**2) / 10_000**2)
    assert "事后分层加权" in sheet.cell(1, 1).value


@pytest.mark.sqlite_only  # the PDF prints figures the other tests check on both databases
def test_report_pdf_shows_the_weighted_table(logged_in, survey_with_answers):
    questionnaire = survey_with_answers
    weighted_survey(logged_in, questionnaire)
    from pypdf import PdfReader

    from survey.reports.pdf import report_pdf

    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(report_pdf(questionnaire))).pages)
    assert "加权结果" in text and "72.0%" in text and "事后分层加权" in text


def test_indicator_leaf_may_take_the_weighted_figure(logged_in, survey_with_answers):
    from decimal import Decimal

    from survey.indicators.links import LinkError, clean_link, figure_wording, link_value
    from survey.results.presenting import say

    questionnaire = survey_with_answers
    project = questionnaire.project
    link = {"questionnaire": questionnaire.id, "figure": "rate", "question": "safe", "weighted": True}
    with pytest.raises(LinkError) as refused:
        link_value(project, link)
    assert "没有启用加权" in say(refused.value.wording)
    weighted_survey(logged_in, questionnaire)
    db.session.expire_all()  # the scheme was saved by a request of the test client
    assert link_value(project, {**link, "weighted": False}) == Decimal(60)
    assert abs(link_value(project, link) - Decimal(72)) < Decimal("1e-9")
    assert say(figure_wording(link)).endswith("（加权）")
    assert clean_link({**link, "channel": "web"}) == link  # a weighted figure is never by channel
    with pytest.raises(LinkError):
        link_value(project, {"questionnaire": questionnaire.id, "figure": "return_rate", "weighted": True})


def test_channels_as_strata_feed_targets_and_quotas(logged_in, runner, survey_with_answers):
    """Interviews organised by channel (one link per 乡镇): the channel is a stratum a table and a plan may use;
    the plan sets each channel's target and, when asked, its quota; weighting by channel works like any table."""
    from survey.models import Channel

    questionnaire = survey_with_answers
    for code, name in (("c1", "城关镇采集点"), ("c2", "北山乡采集点")):
        db.session.add(Channel(questionnaire=questionnaire, code=code, name=name))
    db.session.commit()
    for number, town in enumerate(["a"] * 3 + ["b"] * 2):
        enter_response(
            questionnaire, {"town": town, "sex": "m", "safe": "y"}, f"channel-{number}", channel=f"c{1 + (town == 'b')}"
        )
    db.session.commit()
    rows = "采集点\t人数\n城关镇采集点\t6000\n北山乡采集点\t3000\n网络（扫码/链接）\t1000\n"
    response = add_table(logged_in, questionnaire, "采集点人口", ["__channel"], rows)
    assert response.status_code == 302, response.get_data(as_text=True)
    plan = logged_in.post(
        page_url(questionnaire, "plan"),
        data={"stratum": "__channel", "table": "采集点人口", "method": "proportional", "total": "100", "quotas": "y"},
    )
    assert plan.status_code == 302
    db.session.expire_all()
    channels = {c.code: c for c in questionnaire.channels}
    assert (channels["c1"].target, channels["c1"].quota, channels["c2"].target) == (60, 60, 30)
    post_scheme(logged_in, questionnaire, ["采集点人口"])
    weighted = results_json(runner, questionnaire)["weighted"]
    # web: 40 answers, 24 safe, for 1,000 people; c1: 3 of 3 for 6,000; c2: 2 of 2 for 3,000
    # → (600 + 6000 + 3000) / 10,000
    assert weighted["rates"]["safe"]["estimate"] == pytest.approx(0.96)


def test_cli_table_scheme_plan_and_show(runner, evaluator, survey_with_answers, tmp_path):
    """The same checks from the command line: a bad file stored nothing and names its rows; a good one, a scheme
    and a plan are stored and recorded in the audit trail; ``show --json`` gives the weights' summary."""
    from survey.models import AuditEvent

    questionnaire = survey_with_answers
    bad = tmp_path / "bad.csv"
    bad.write_text("乡镇,人数\n城关,8000\n北山乡,2000\n", encoding="utf-8")
    outcome = runner.invoke(args=["weighting", "table", str(questionnaire.id), str(bad), "--name", "乡镇人口",
                                  "--questions", "town", "--as", "alice"])  # fmt: skip
    assert outcome.exit_code == 1 and "“城关”不是“您居住的乡镇”的选项" in outcome.output
    good = tmp_path / "good.csv"
    good.write_text("乡镇,人数\n城关镇,8000\n北山乡,2000\n", encoding="utf-8")
    outcome = runner.invoke(args=["weighting", "table", str(questionnaire.id), str(good), "--name", "乡镇人口",
                                  "--questions", "town", "--source", "七普", "--as", "alice"])  # fmt: skip
    assert outcome.exit_code == 0, outcome.output
    outcome = runner.invoke(args=["weighting", "scheme", str(questionnaire.id), "--method", "poststratify",
                                  "--tables", "乡镇人口", "--as", "alice"])  # fmt: skip
    assert outcome.exit_code == 0 and "事后分层加权" in outcome.output
    plan = ["--stratum", "town", "--table", "乡镇人口", "--method", "equal", "--total", "60"]
    outcome = runner.invoke(args=["weighting", "plan", str(questionnaire.id), *plan, "--as", "alice", "--json"])
    assert json.loads(outcome.output)["allocation"] == {"a": 30, "b": 30}
    shown = json.loads(runner.invoke(args=["weighting", "show", str(questionnaire.id), "--json"]).output)
    assert shown["weighting"]["summary"]["total"] == pytest.approx(10_000)
    assert shown["plan"]["allocation"] == {"a": 30, "b": 30}
    actions = [e.action for e in db.session.execute(db.select(AuditEvent)).scalars()]
    assert {"weighting.table", "weighting.scheme", "weighting.plan"} <= set(actions)
    refused = runner.invoke(args=["weighting", "scheme", str(questionnaire.id), "--method", "rake",
                                  "--tables", "乡镇人口", "--as", "nobody"])  # fmt: skip
    assert refused.exit_code == 1


def test_yearbook_layout_cross_table_with_totals(logged_in, survey_with_answers):
    """A cross table as a 统计年鉴 prints it: 乡镇 down, 性别 across, 合计 row and column (left out)."""
    rows = "乡镇\t男\t女\t合计\n城关镇\t4,100\t3,900\t8,000\n北山乡\t1000\t1000\t2000\n合计\t5100\t4900\t10000\n"
    assert add_table(logged_in, survey_with_answers, "乡镇×性别", ["town", "sex"], rows).status_code == 302
    table = db.session.execute(db.select(PopulationTable)).scalar_one()
    assert table.cells == [
        {"options": ["a", "m"], "count": 4100.0},
        {"options": ["a", "f"], "count": 3900.0},
        {"options": ["b", "m"], "count": 1000.0},
        {"options": ["b", "f"], "count": 1000.0},
    ]


def test_yearbook_sheet_with_title_row_and_longer_labels(logged_in, survey_with_answers):
    """A sheet copied from a yearbook: a title line above the header, 男性/女性 for the options 男/女."""
    rows = "表 2-3 各乡镇分性别人口\n乡镇\t男性\t女性\t合计\n城关镇\t4100\t3900\t8000\n北山乡\t1000\t1000\t2000\n"
    response = add_table(logged_in, survey_with_answers, "乡镇×性别", ["town", "sex"], rows)
    assert response.status_code == 302, response.get_data(as_text=True)
    table = db.session.execute(db.select(PopulationTable)).scalar_one()
    assert {(tuple(c["options"]), c["count"]) for c in table.cells} == {
        (("a", "m"), 4100.0),
        (("a", "f"), 3900.0),
        (("b", "m"), 1000.0),
        (("b", "f"), 1000.0),
    }


def test_totals_are_checked_against_their_cells(logged_in, survey_with_answers):
    """A 合计 column or row that is not the sum of its cells is named by its row; nothing is stored."""
    rows = "乡镇\t男\t女\t合计\n城关镇\t4000\t4000\t8100\n北山乡\t1000\t1000\t2000\n合计\t5000\t5000\t9999\n"
    response = add_table(logged_in, survey_with_answers, "乡镇×性别", ["town", "sex"], rows)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "第 2 行：合计 8100 与各格之和 8000 不符" in html and "第 4 行：合计 9999 与各格之和 10000 不符" in html
    single = add_table(
        logged_in, survey_with_answers, "乡镇人口", ["town"], "乡镇\t人数\n城关镇\t8000\n北山乡\t2000\n合计\t9000\n"
    )
    assert "第 4 行：合计 9000 与各格之和 10000 不符" in single.get_data(as_text=True)
    assert db.session.execute(db.select(PopulationTable)).first() is None
