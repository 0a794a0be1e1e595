"""Every evaluator route, tried as an outsider: anonymous users go to login, other evaluators get 404."""

from __future__ import annotations

import pytest

from tests.conftest import login
from tests.helpers import make_project, published

LIBRARY = "/desk/templates/"  # the template library: the same for every signed-in evaluator


def desk_urls(app, project_id: int, questionnaire_id: int) -> list[tuple[str, str]]:
    """(method, url) for every evaluator route of every blueprint, filled with ids the caller must not reach.

    Arguments other than the project and questionnaire ids get plausible values from their converter,
    so routes added later (builder, collection, exports…) are covered without editing this test.
    """
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/desk/"):
            continue
        values = {}
        for name in rule.arguments:
            converter = rule._converters[name]
            if name in ("project_id", "questionnaire_id"):
                values[name] = project_id if name == "project_id" else questionnaire_id
            elif hasattr(converter, "items") or type(converter).__name__ == "AnyConverter":
                values[name] = sorted(converter.items)[0] if hasattr(converter, "items") else "png"
            elif type(converter).__name__ == "IntegerConverter":
                values[name] = 1
            elif rule.rule.startswith(LIBRARY):
                values[name] = "public_safety"  # a template's key
            else:
                values[name] = "q1"
        path = rule.build(values)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((method, path))
    return urls


@pytest.fixture
def foreign(app, evaluator):
    """A project of alice's with a published questionnaire."""
    project = make_project(evaluator)
    return project, published(project)


def test_route_list_covers_the_desk(app, foreign):
    project, questionnaire = foreign
    urls = {url for _method, url in desk_urls(app, project.id, questionnaire.id)}
    assert f"/desk/questionnaires/{questionnaire.id}/results" in urls
    assert f"/desk/questionnaires/{questionnaire.id}/responses.csv" in urls
    assert f"/desk/questionnaires/{questionnaire.id}/review" in urls
    assert len(urls) >= 30


def test_other_evaluator_gets_404_everywhere(app, client, foreign, other_evaluator):
    project, questionnaire = foreign
    assert login(client, "mallory", "mallory-password-1").status_code == 302
    checked = 0
    for method, url in desk_urls(app, project.id, questionnaire.id):
        if url in ("/desk/", "/desk/projects/new", "/desk/api-tokens/") or url.startswith(LIBRARY):
            continue  # the caller's own projects and API tokens; the library everyone shares
        response = client.open(url, method=method, data={"issued": "1", "template": "public_safety", "name": "x"})
        assert response.status_code == 404, f"{method} {url} gave {response.status_code}"
        checked += 1
    assert checked >= 10
    listing = client.get("/desk/").data.decode()
    assert project.name not in listing


def test_anonymous_is_sent_to_login_everywhere(app, client, foreign):
    project, questionnaire = foreign
    for method, url in desk_urls(app, project.id, questionnaire.id):
        response = client.open(url, method=method)
        assert response.status_code == 302, f"{method} {url}"
        assert "/login" in response.headers["Location"]


def test_member_reaches_every_get_route(app, logged_in, foreign):
    project, questionnaire = foreign
    for method, url in desk_urls(app, project.id, questionnaire.id):
        if method == "GET":
            # 404 only where the URL names a sub-object (a channel, a question…) that does not exist.
            assert logged_in.get(url).status_code in (200, 302, 404), url
            if url.startswith("/desk/jobs/"):
                continue  # an export job is the asker's own object: none exists here (tests/test_roles.py has one)
            if url.count("/") <= 4 or url.endswith(("/results", "/review", "/channels", "/units", "/paper")):
                assert logged_in.get(url).status_code in (200, 302), url


def test_wrong_password_and_unknown_user_are_refused(client, evaluator):
    for username, password in (("alice", "wrong-password"), ("nobody", "whatever-123")):
        response = login(client, username, password)
        assert response.status_code == 401
        assert "用户名或密码不正确。" in response.data.decode()
    assert client.get("/desk/").status_code == 302


def test_login_does_not_follow_offsite_next(client, evaluator):
    response = client.post("/login?next=//evil.example/x", data={"username": "alice", "password": "alice-password-1"})
    assert response.headers["Location"] == "/desk/"


def test_deactivated_account_cannot_sign_in(app, client, evaluator):
    from survey.platform.extensions import db

    evaluator.active = False
    db.session.commit()
    assert login(client, "alice", "alice-password-1").status_code == 401
