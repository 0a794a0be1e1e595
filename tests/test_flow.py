"""The whole path through the test client: create, publish, answer, results, export."""

from __future__ import annotations

import csv
import io

from survey.models import Project, Questionnaire, Response
from survey.platform.extensions import db
from tests.helpers import SEED_004_ANSWERS, hidden_value, make_project, published


def test_evaluator_creates_publishes_and_reads_results(logged_in):
    client = logged_in
    response = client.post(
        "/desk/projects/new",
        data={
            "name": "丰泽区智慧丰泽项目",
            "region": "泉州",
            "year": "2018",
            "budget": "4443000",
            "evaluating_org": "集美大学",
        },
    )
    assert response.status_code == 302
    project = db.session.execute(db.select(Project)).scalar_one()
    assert project.budget == 4443000 and project.evaluating_org == "集美大学"
    response = client.post(f"/desk/projects/{project.id}/questionnaires", data={"template": "fengze_service_object"})
    assert response.status_code == 302
    questionnaire = db.session.execute(db.select(Questionnaire)).scalar_one()
    assert questionnaire.status == "draft"
    assert client.get(f"/s/{questionnaire.public_token}").status_code == 404  # not yet published
    assert client.post(f"/desk/questionnaires/{questionnaire.id}/publish").status_code == 302
    db.session.refresh(questionnaire)
    assert questionnaire.status == "published" and questionnaire.current_version.number == 1

    page = client.get(f"/desk/questionnaires/{questionnaire.id}")
    assert f"/s/{questionnaire.public_token}".encode() in page.data

    answers = [("a", "a"), ("a", "b"), ("b", "c"), ("c", "b"), ("a", "a"), ("b", "b")]  # (q4, q5)
    for index, (q4, q5) in enumerate(answers):
        respondent = client.application.test_client()  # each phone is its own device
        form = respondent.get(f"/s/{questionnaire.public_token}").data.decode()
        data = {
            **SEED_004_ANSWERS,
            "q4": q4,
            "q5": q5,
            "q1a": f"单位{index}",
            "submission_id": hidden_value(form, "submission_id"),
            "started": hidden_value(form, "started"),
        }
        result = respondent.post(f"/s/{questionnaire.public_token}", data=data)
        assert result.status_code == 303, result.data.decode()[:500]
        assert result.headers["Location"].endswith(f"/s/{questionnaire.public_token}/thanks")
    assert "提交成功" in respondent.get(f"/s/{questionnaire.public_token}/thanks").data.decode()

    results = client.get(f"/desk/questionnaires/{questionnaire.id}/results").data.decode()
    # q4 satisfied (满意 a / 基本满意 b): a a b a b = 5 of 6 → 83.3%; q5: a b b a b = 5 of 6.
    assert 'id="returned">6<' in results
    assert "83.3%" in results and "n = 6" in results
    assert "口径" in results

    export = client.get(f"/desk/questionnaires/{questionnaire.id}/responses.csv")
    assert export.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(export.data.decode("utf-8-sig"))))
    assert len(rows) == 6
    q4_column = "4. 您对丰泽区的治安满意吗？"
    satisfied = sum(row[q4_column] in ("满意", "基本满意") for row in rows)
    assert satisfied == 5  # the hand count of the export agrees with the page
    assert rows[0]["6. 您对“丰泽区社会治安综合治理”的评价？"] == "其他：希望扩大覆盖"


def test_missing_required_answer_is_shown_and_answers_kept(app, client, evaluator):
    questionnaire = published(make_project(evaluator))
    data = {**SEED_004_ANSWERS, "q4": "", "submission_id": "s1"}
    result = client.post(f"/s/{questionnaire.public_token}", data=data)
    assert result.status_code == 422
    html = result.data.decode()
    block = html[html.index('id="q-q4"') : html.index('id="q-q5"')]
    assert "这是必答题，请作答。" in block
    assert 'value="丰泽公安分局"' in html  # typed text kept
    assert 'value="b" checked' in html or 'checked value="b"' in html or "checked" in html[html.index('id="q-q3"') :]
    assert db.session.execute(db.select(db.func.count(Response.id))).scalar() == 0


def test_other_option_needs_its_text(client, evaluator):
    questionnaire = published(make_project(evaluator))
    result = client.post(f"/s/{questionnaire.public_token}", data={**SEED_004_ANSWERS, "q6__other": ""})
    assert result.status_code == 422
    assert "您选择了“其他”，请填写具体内容。" in result.data.decode()


def test_forged_option_is_refused_and_nothing_stored(client, evaluator):
    questionnaire = published(make_project(evaluator))
    result = client.post(f"/s/{questionnaire.public_token}", data={**SEED_004_ANSWERS, "q4": "zz"})
    assert result.status_code == 422
    assert "所选的选项不在本题的选项中" in result.data.decode()
    assert db.session.execute(db.select(db.func.count(Response.id))).scalar() == 0


def test_double_tap_stores_one_response(client, evaluator):
    questionnaire = published(make_project(evaluator))
    data = {**SEED_004_ANSWERS, "submission_id": "same-submission"}
    first = client.post(f"/s/{questionnaire.public_token}", data=data)
    second = client.post(f"/s/{questionnaire.public_token}", data=data)
    assert first.status_code == second.status_code == 303
    assert db.session.execute(db.select(db.func.count(Response.id))).scalar() == 1


def test_stored_response_is_whole_with_metadata(client, evaluator):
    questionnaire = published(make_project(evaluator))
    client.get(f"/s/{questionnaire.public_token}")  # sets the device cookie
    client.post(
        f"/s/{questionnaire.public_token}",
        data={**SEED_004_ANSWERS, "q2": "c", "started": "2000-01-01T00:00:00"},
    )
    response = db.session.execute(db.select(Response)).scalar_one()
    expected = {k: v for k, v in SEED_004_ANSWERS.items() if v} | {"q2": "c"}
    assert response.answers == expected
    assert response.version_id == questionnaire.current_version_id
    assert response.channel == "web" and response.status == "valid"
    assert len(response.device_hash) == 64
    assert response.duration_seconds is None  # an implausible start time is not trusted


def test_hidden_option_text_not_stored_when_other_not_chosen(client, evaluator):
    questionnaire = published(make_project(evaluator))
    client.post(f"/s/{questionnaire.public_token}", data={**SEED_004_ANSWERS, "q6": "a"})
    response = db.session.execute(db.select(Response)).scalar_one()
    assert "q6__other" not in response.answers


def test_closed_and_unknown_links(client, evaluator):
    questionnaire = published(make_project(evaluator))
    questionnaire.status = "closed"
    db.session.commit()
    closed = client.get(f"/s/{questionnaire.public_token}")
    assert closed.status_code == 410
    assert "这份问卷已经停止收集答卷" in closed.data.decode()
    assert client.post(f"/s/{questionnaire.public_token}", data=SEED_004_ANSWERS).status_code == 410
    unknown = client.get("/s/nope")
    assert unknown.status_code == 404
    assert "找不到这个页面" in unknown.data.decode()


def test_close_and_reopen_keep_one_version(logged_in, evaluator):
    questionnaire = published(make_project(evaluator))
    assert logged_in.post(f"/desk/questionnaires/{questionnaire.id}/close").status_code == 302
    assert logged_in.get(f"/s/{questionnaire.public_token}").status_code == 410
    logged_in.post(f"/desk/questionnaires/{questionnaire.id}/publish")
    db.session.refresh(questionnaire)
    assert questionnaire.status == "published"
    assert len(questionnaire.versions) == 1


def test_issued_count_drives_return_rates(logged_in, evaluator, client):
    questionnaire = published(make_project(evaluator))
    for index in range(3):
        client.post(f"/s/{questionnaire.public_token}", data={**SEED_004_ANSWERS, "submission_id": f"s{index}"})
    logged_in.post(f"/desk/questionnaires/{questionnaire.id}/issued", data={"issued": "4"})
    html = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/results").data.decode()
    assert "75.0%" in html  # 3 returned of 4 issued
    bad = logged_in.post(
        f"/desk/questionnaires/{questionnaire.id}/issued", data={"issued": "-1"}, follow_redirects=True
    )
    assert "发放份数应为非负整数。" in bad.data.decode()
    db.session.refresh(questionnaire)
    assert questionnaire.issued_count == 4


def test_project_form_errors_are_shown(logged_in):
    result = logged_in.post("/desk/projects/new", data={"name": "", "year": "1800"})
    assert result.status_code == 422
    html = result.data.decode()
    assert "请填写项目名称。" in html and "年度应在 2000 到 2100 之间。" in html


def test_respondent_page_is_chinese_by_default_and_english_on_request(client, evaluator):
    questionnaire = published(make_project(evaluator))
    assert "提交" in client.get(f"/s/{questionnaire.public_token}").data.decode()
    english = client.get(f"/s/{questionnaire.public_token}?lang=en").data.decode()
    assert "Submit" in english
