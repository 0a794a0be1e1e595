"""The template library: declared order (general first), one-line descriptions, generic wording, and the
desk's list and preview pages (survey/questionnaires/library.py, survey/questionnaires/template_views.py)."""

from __future__ import annotations

import json

import pytest
from markupsafe import escape

from survey.accounts.access import add_member
from survey.accounts.users import create_user
from survey.models import Questionnaire
from survey.platform.extensions import db
from survey.questionnaires.library import load_template, template_info, template_keys
from tests.conftest import login
from tests.helpers import make_project


def test_general_templates_come_first_by_declared_rank():
    keys = template_keys()
    assert keys[:3] == ["public_safety", "service_grid", "three_rates"]
    assert keys[-1] == "fengze_service_object"  # one project's worked example comes last


@pytest.mark.parametrize("key", template_keys())
def test_every_template_has_a_description_in_both_languages(key):
    chinese, english = template_info(key), template_info(key, "en")
    assert chinese["description"] and english["description"] and chinese["description"] != english["description"]
    assert chinese["questions"] >= 5 and chinese["sections"] >= 1
    assert "library" not in load_template(key)  # the block about the template never reaches a questionnaire


@pytest.mark.parametrize("key", ["public_safety", "public_safety_4level", "three_rates", "service_grid"])
def test_general_templates_name_no_particular_project(key):
    text = json.dumps(load_template(key), ensure_ascii=False)
    assert "雪亮" not in text and "Sharp Eyes" not in text


def test_public_safety_asks_about_this_project():
    questions = [q for s in load_template("public_safety")["sections"] for q in s["questions"]]
    texts = {q["key"]: q["text"] for q in questions}
    assert any("本项目" in text for text in texts.values())
    assert "本项目" in load_template("public_safety")["intro"]


def test_library_page_lists_every_template_with_description(logged_in):
    page = logged_in.get("/desk/templates/").get_data(as_text=True)
    positions = [page.index(template_info(key)["title"]) for key in template_keys()]
    assert positions == sorted(positions)
    assert all(template_info(key)["description"] in page for key in template_keys())
    english = logged_in.get("/desk/templates/?lang=en").get_data(as_text=True)
    assert str(escape(template_info("public_safety", "en")["description"])) in english


def test_preview_shows_the_questions_numbered_with_options_and_conditions(logged_in):
    response = logged_in.get("/desk/templates/public_safety")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for section in load_template("public_safety")["sections"]:
        for question in section["questions"]:
            assert question["text"] in page
    assert "很安全" in page and "仅当第 1 题选择了" in page  # options and the skip condition in words
    assert 'action="/desk/projects/' not in page  # no project: nothing to create in
    assert logged_in.get("/desk/templates/nope").status_code == 404


def test_preview_from_a_project_creates_a_questionnaire(logged_in, evaluator):
    project = make_project(evaluator)
    page = logged_in.get(f"/desk/templates/three_rates?project={project.id}").get_data(as_text=True)
    assert f'action="/desk/projects/{project.id}/questionnaires"' in page and 'value="three_rates"' in page
    response = logged_in.post(f"/desk/projects/{project.id}/questionnaires", data={"template": "three_rates"})
    assert response.status_code == 302
    questionnaire = db.session.execute(db.select(Questionnaire)).scalar_one()
    assert questionnaire.template_key == "three_rates" and "library" not in questionnaire.definition


def test_preview_access(app, client, evaluator):
    project = make_project(evaluator)
    assert client.get("/desk/templates/public_safety").status_code == 302  # to the login page
    viewer = create_user("victor", "victor-password-1")
    add_member(project, viewer, "viewer")
    create_user("mallory", "mallory-password-1")
    login(client, "mallory", "mallory-password-1")
    assert client.get(f"/desk/templates/public_safety?project={project.id}").status_code == 404
    assert client.get(f"/desk/templates/?project={project.id}").status_code == 404
    assert client.get("/desk/templates/public_safety").status_code == 200
    client.post("/logout")
    login(client, "victor", "victor-password-1")
    page = client.get(f"/desk/templates/public_safety?project={project.id}").get_data(as_text=True)
    assert "用这个模板新建问卷" not in page and project.name in page


def test_project_page_describes_each_template_with_a_preview_link(logged_in, evaluator):
    project = make_project(evaluator)
    page = logged_in.get(f"/desk/projects/{project.id}").get_data(as_text=True)
    for key in template_keys():
        assert template_info(key)["description"] in page
        assert f"/desk/templates/{key}?project={project.id}" in page
    assert page.index(template_info("public_safety")["title"]) < page.index(
        template_info("fengze_service_object")["title"]
    )
