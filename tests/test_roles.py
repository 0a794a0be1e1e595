"""The access matrix: every evaluator route, tried as anonymous, as an outsider and as a viewer member.

The routes come from ``app.url_map``, so a route added later is tried without editing this file; every
URL is filled with the ids of real objects of alice's project (a channel, a unit code, a response, an
upload, an indicator node…), so an outsider's 404 comes from the access check and not from a missing
row. A route this file cannot classify, or whose arguments it cannot fill, fails the test: whoever adds
it must decide who may reach it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from survey.accounts.access import add_member
from survey.accounts.api_tokens import issue_token
from survey.collection import import_mapping, import_reading
from survey.models import (
    Channel,
    ExportJob,
    IndicatorTable,
    PopulationTable,
    Project,
    Questionnaire,
    Response,
    UnitCode,
    User,
)
from survey.platform.extensions import db
from tests.conftest import login
from tests.helpers import SEED_004_ANSWERS, make_project, published

# Reachable without an evaluator session: respondents, health checks, the help page, static files, sign-in.
PUBLIC_BLUEPRINTS = {"public", "health", "help"}
PUBLIC_ENDPOINTS = {"static", "healthz", "index", "auth.login", "favicon"}
# The read API authenticates with bearer tokens, not sessions; tried separately below.
TOKEN_BLUEPRINTS = {"api"}
# Routes that act only on the caller's own account: there is nothing of anyone else's to reach.
OWN_ACCOUNT = {
    "desk.projects",
    "desk.new_project",
    "api_tokens.index",
    "api_tokens.create",
    "auth.logout",
    "auth.logout_everywhere",
    "auth.change_password",
    # The template library is the same for every evaluator; a project named by ?project= is checked separately.
    "library.index",
    "library.preview",
}
# Routes about one user-owned object other than a project: an outsider names alice's and must get 404.
USER_OBJECTS = {"api_tokens.revoke", "jobs.progress", "jobs.download"}  # a token; an export job (survey.jobs.queue)
# Project pages a viewer may not even GET: confirmation pages that lead only to an owner's or editor's action.
NOT_FOR_VIEWERS = {
    "members.remove", "privacy.delete_responses", "collection.paper", "imports.mapping", "responses.correct",
}  # fmt: skip
VIEWER_REFUSAL = "您在此项目中只有查看权限"

TABLE = {
    "format": "indicator-table/1",
    "title": "测试评分表",
    "indicators": [
        {
            "key": "a",
            "name": "决策",
            "points": 30,
            "children": [
                {"key": "a1", "name": "立项依据充分性", "points": 20, "rule": {"type": "judgement"}},
                {"key": "a2", "name": "服务对象满意度", "points": 10, "rule": {"type": "judgement"}},
            ],
        }
    ],
}


@dataclass
class World:
    """alice's project with one of everything, a viewer (vera) and an outsider (mallory) with her own project."""

    project: Project
    questionnaire: Questionnaire
    values: dict[str, object]
    vera: User
    alice_token: str


@pytest.fixture
def world(app, evaluator, other_evaluator) -> World:
    from survey.accounts.users import create_user

    project = make_project(evaluator)
    questionnaire = published(project)
    make_project(other_evaluator, name="别人的项目")
    channel = Channel(questionnaire_id=questionnaire.id, code="c1", name="服务大厅")
    unit = UnitCode(questionnaire_id=questionnaire.id, unit_name="丰泽公安分局")
    db.session.add_all([channel, unit, IndicatorTable(project_id=project.id, definition=TABLE)])
    db.session.commit()
    answers = {**SEED_004_ANSWERS, "submission_id": "matrix-1"}
    assert app.test_client().post(f"/s/{questionnaire.public_token}", data=answers).status_code == 303
    response = db.session.execute(db.select(Response)).scalar_one()
    table = import_reading.read_table("1、您所在的社区,地址\n北社区,x\n".encode())
    upload = import_mapping.save_upload(questionnaire.id, evaluator.id, table)
    api_token, alice_secret = issue_token(evaluator, "matrix")
    vera = create_user("vera", "vera-password-long", "Vera")
    add_member(project, vera, "viewer")
    job = ExportJob(
        user_id=evaluator.id, project_id=project.id, questionnaire_id=questionnaire.id, kind="results_xlsx",
        params={}, key="k" * 64, status="done", content=b"PK", size=2, filename="results.xlsx",
    )  # fmt: skip
    population = PopulationTable(questionnaire_id=questionnaire.id, name="人口", question_keys=["q1"], cells=[])
    db.session.add_all([job, population])
    db.session.commit()
    first_section = questionnaire.definition["sections"][0]
    values = {
        "project_id": project.id,
        "questionnaire_id": questionnaire.id,
        "channel_id": channel.id,
        "unit_id": unit.id,
        "response_id": response.id,
        "number": response.number,  # the response browser names responses by their number (第 N 号)
        "token": upload,
        "token_id": api_token.id,
        "job_id": job.id,
        "table_id": population.id,
        "user_id": evaluator.id,
        "question_key": first_section["questions"][0]["key"],
        "section_key": first_section["key"],
        "kind": "questions",
    }
    return World(project, questionnaire, values, vera, alice_secret)


def _argument(rule, name: str, values: dict) -> object:
    """A real value for one URL argument, or a failure telling the author of a new route what to add."""
    converter = rule._converters[name]
    if name == "key":  # the builder's condition key is a question's; the indicator editor's a node's
        if rule.endpoint.startswith("library."):
            return "public_safety"  # a template's key
        return "a1" if rule.endpoint.startswith("indicators.") else values["question_key"]
    if name in values:
        return values[name]
    if type(converter).__name__ == "AnyConverter":
        return sorted(converter.items)[0]
    pytest.fail(f"{rule.endpoint}: no real value for <{name}>; add one to the world fixture in tests/test_roles.py")


def routes(app, world: World, kinds: set[str]) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) of every route of the given kinds: project, admin, own, user_object."""
    found = []
    for rule in app.url_map.iter_rules():
        kind = classify(rule)
        if kind not in kinds:
            continue
        path = rule.build({name: _argument(rule, name, world.values) for name in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, path))
    return found


def classify(rule) -> str:
    """Who a route is for; a route nobody has thought about fails here."""
    blueprint = rule.endpoint.rpartition(".")[0]
    if blueprint in PUBLIC_BLUEPRINTS or rule.endpoint in PUBLIC_ENDPOINTS:
        return "public"
    if blueprint in TOKEN_BLUEPRINTS:
        return "token"
    if rule.endpoint in OWN_ACCOUNT:
        return "own"
    if rule.endpoint in USER_OBJECTS:
        return "user_object"
    if blueprint == "admin":
        return "admin"
    if {"project_id", "questionnaire_id"} & set(rule.arguments):
        return "project"
    pytest.fail(
        f"{rule.endpoint} ({rule.rule}) is not in the access matrix: check access in the view "
        "(survey.accounts.access) and classify it in tests/test_roles.py"
    )


EVALUATOR_ROUTES = {"project", "admin", "own", "user_object"}
POST_DATA = {"name": "x", "title": "x", "username": "mallory", "role": "owner", "confirm": "y", "reason": "x"}


def test_every_route_is_classified(app, world):
    kinds = {classify(rule) for rule in app.url_map.iter_rules()}
    assert {"public", "token", "project", "admin", "own"} <= kinds
    urls = {url for _endpoint, _method, url in routes(app, world, {"project"})}
    assert f"/desk/projects/{world.project.id}/members" in urls
    assert f"/desk/questionnaires/{world.questionnaire.id}/responses/{world.values['response_id']}/exclude" in urls
    assert len(urls) >= 60


def test_anonymous_is_sent_to_login(app, client, world):
    checked = 0
    for endpoint, method, url in routes(app, world, EVALUATOR_ROUTES):
        response = client.open(url, method=method, data=POST_DATA)
        if response.status_code == 302:
            assert "/login" in response.headers["Location"], f"{method} {url}"
        else:
            assert response.status_code == 401, f"{endpoint}: {method} {url} gave {response.status_code}"
        checked += 1
    assert checked >= 80


def test_outsider_gets_404_on_real_objects(app, client, world):
    assert login(client, "mallory", "mallory-password-1").status_code == 302
    checked = 0
    for endpoint, method, url in routes(app, world, {"project", "admin", "user_object"}):
        response = client.open(url, method=method, data=POST_DATA)
        assert response.status_code == 404, f"{endpoint}: {method} {url} gave {response.status_code}"
        checked += 1
    assert checked >= 80
    # and nothing was changed on the way
    db.session.expire_all()
    assert world.questionnaire.status == "published" and len(world.project.members) == 2
    assert db.session.execute(db.select(Response)).scalar_one().status == "valid"


def test_viewer_reads_but_cannot_change(app, client, world):
    before = _state(world)
    assert login(client, "vera", "vera-password-long").status_code == 302
    reads = refusals = 0
    for endpoint, method, url in routes(app, world, {"project"}):
        response = client.open(url, method=method, data=POST_DATA)
        if method == "GET" and endpoint not in NOT_FOR_VIEWERS:
            assert response.status_code in (200, 302), f"{endpoint}: GET {url} gave {response.status_code}"
            if response.status_code == 302:
                assert "/login" not in response.headers["Location"], url
            reads += 1
        else:
            assert response.status_code == 403, f"{endpoint}: {method} {url} gave {response.status_code}"
            if method != "GET":
                assert VIEWER_REFUSAL in response.data.decode(), url
            refusals += 1
    assert reads >= 25 and refusals >= 35
    assert _state(world) == before


def _state(world: World) -> dict:
    """What a viewer's refused requests must leave untouched."""
    db.session.expire_all()
    questionnaire = db.session.get(Questionnaire, world.questionnaire.id)
    return {
        "project": world.project.name,
        "status": questionnaire.status,
        "definition": questionnaire.definition,
        "channels": [(c.id, c.name) for c in questionnaire.channels],
        "units": [u.id for u in questionnaire.unit_codes],
        "responses": [(r.id, r.status) for r in db.session.execute(db.select(Response)).scalars()],
        "members": sorted((m.user_id, m.role) for m in world.project.members),
        "table": db.session.execute(db.select(IndicatorTable.definition)).scalar_one(),
        "issued": questionnaire.issued_count,
    }


def test_editor_may_change_but_not_manage_members(app, client, world):
    from survey.accounts.users import create_user

    editor = create_user("eddie", "eddie-password-long")
    add_member(world.project, editor, "editor")
    login(client, "eddie", "eddie-password-long")
    q = world.questionnaire.id
    assert client.post(f"/desk/questionnaires/{q}/issued", data={"issued": "40"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Questionnaire, q).issued_count == 40
    members = f"/desk/projects/{world.project.id}/members"
    assert client.get(members).status_code == 200
    assert client.post(members, data={"username": "mallory", "role": "viewer"}).status_code == 403


def test_viewer_sees_the_project_in_the_list(app, client, world):
    login(client, "vera", "vera-password-long")
    assert world.project.name in client.get("/desk/").data.decode()


def test_template_helpers_follow_the_role(app, client, world):
    from flask import render_template_string

    from survey.accounts import access

    template = "{{ can_edit(p) }} {{ is_owner(p) }} {{ can_edit(q) }}"
    with app.test_request_context():
        from flask_login import login_user

        login_user(world.vera)
        assert render_template_string(template, p=world.project, q=world.questionnaire) == "False False False"
        assert access.role_in(world.project.id) == "viewer"
        login_user(db.session.get(User, world.values["user_id"]))
        assert render_template_string(template, p=world.project, q=world.questionnaire) == "True True True"


# --- the read API: tokens, not sessions ---------------------------------------------------------------


def test_api_refuses_anonymous_and_outsiders_and_lets_a_viewer_read(app, client, world, other_evaluator):
    token_routes = [rule for rule in app.url_map.iter_rules() if classify(rule) == "token" and "GET" in rule.methods]
    _token, mallory_secret = issue_token(other_evaluator, "outsider")
    _token, vera_secret = issue_token(world.vera, "viewer")
    checked = 0
    for rule in token_routes:
        url = rule.build({name: _argument(rule, name, world.values) for name in rule.arguments})[1]
        assert client.get(url).status_code == 401, url
        if rule.arguments:
            outsider = client.get(url, headers={"Authorization": f"Bearer {mallory_secret}"})
            assert outsider.status_code == 404, url
        viewer = client.get(url, headers={"Authorization": f"Bearer {vera_secret}"})
        assert viewer.status_code == 200, url
        checked += 1
    assert checked >= 4
