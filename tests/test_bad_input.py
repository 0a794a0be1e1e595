"""Bad input gets a 400 or 404 in the right format, never a server error.

Each case was a 500 found from outside, most on PostgreSQL only: a NUL in a public link (PostgreSQL
refuses NUL in text), an id of 2³¹ or more on any ``<int:>`` route ("integer out of range"), an API page
of 10²⁰ (an OFFSET beyond bigint, answered with an HTML error page), a questionnaire file holding
``\\u0000``. Each runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import copy
import io
import json
import re

import pytest
from werkzeug.routing import IntegerConverter

from analysis.numbers import whole_number
from survey.accounts.api_tokens import issue_token
from survey.models import Questionnaire
from survey.platform.extensions import db
from survey.platform.web import at_most_pattern
from survey.questionnaires import publishing
from tests.helpers import ALL_TYPES, make_project

TOO_LARGE_ID = 2**31


@pytest.fixture
def questionnaire(evaluator):
    questionnaire = publishing.import_questionnaire(make_project(evaluator), copy.deepcopy(ALL_TYPES))
    publishing.publish(questionnaire)
    return questionnaire


def bearer(evaluator) -> dict:
    _token, secret = issue_token(evaluator, "test")
    return {"Authorization": f"Bearer {secret}"}


# --- NUL characters in links --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/s/%00", "/u/abc%00def", "/s/abc%00", "/desk/projects/%00"])
def test_a_nul_in_a_path_is_a_404_page(client, path):
    response = client.get(path)
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "找不到" in response.data.decode()


def test_a_nul_in_a_query_is_a_400(logged_in, questionnaire):
    response = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/responses?q=a%00b")
    assert response.status_code == 400 and response.mimetype == "text/html"


def test_a_nul_in_an_api_path_or_query_is_refused_in_json(client, evaluator, questionnaire):
    headers = bearer(evaluator)
    response = client.get("/api/v1/questionnaires/%00/results", headers=headers)
    assert response.status_code == 404 and response.is_json and response.get_json()["error"]
    response = client.get(f"/api/v1/questionnaires/{questionnaire.id}/responses?page=1%00", headers=headers)
    assert response.status_code == 400 and response.is_json and response.get_json()["error"]


# --- ids no database column can hold -----------------------------------------------------------------


def int_routes(app) -> list[tuple]:
    """(rule, method) of every route with an ``<int:>`` part, GET where it takes it, else its method."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not any(isinstance(c, IntegerConverter) for c in rule._converters.values()):
            continue
        methods = rule.methods - {"HEAD", "OPTIONS"}
        routes.append((rule, "GET" if "GET" in methods else sorted(methods)[0]))
    return sorted(routes, key=lambda route: route[0].rule)


def fill(rule, value: int, questionnaire: Questionnaire) -> str:
    """The rule's URL with every integer part ``value`` and every other part a plausible value."""
    path = rule.rule
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            part = str(value)
        else:
            part = questionnaire.public_token if "token" in name else "x"
        path = re.sub(rf"<(?:[^<>]*:)?{name}>", part, path)
    return path


def test_every_int_route_answers_an_id_of_two_to_the_31_with_404_not_500(app, logged_in, evaluator, questionnaire):
    evaluator.is_admin = True  # every desk and admin page is open to it: a 404 means the id, not the role
    db.session.commit()
    routes = int_routes(app)
    assert len(routes) > 50  # the desk, the API, the admin pages, the public routes
    api = bearer(evaluator)
    failures = []
    for rule, method in routes:
        url = fill(rule, TOO_LARGE_ID, questionnaire)
        headers = api if url.startswith("/api/") else {}
        response = logged_in.open(url, method=method, headers=headers)
        if response.status_code != 404:
            failures.append((method, url, response.status_code))
        elif url.startswith("/api/") and not response.is_json:
            failures.append((method, url, "not JSON"))
    assert failures == [], failures


def test_the_id_pattern_takes_exactly_the_numbers_up_to_its_bound():
    pattern = re.compile(at_most_pattern(2**31 - 1))
    for number in [*range(0, 2000), 2**31 - 1, 2**31, 2**31 + 1, 10**10 - 1, 10**20, 2147483639, 2147483650]:
        assert bool(pattern.fullmatch(str(number))) == (number < 2**31), number
        assert bool(pattern.fullmatch("000" + str(number))) == (number < 2**31), number
    assert re.compile(at_most_pattern(0)).fullmatch("0") and not re.compile(at_most_pattern(0)).fullmatch("1")


@pytest.mark.parametrize(
    ("text", "number"),
    [("12", 12), (" 007 ", 7), ("１２", 12), ("²", 2), (str(2**31 - 1), 2**31 - 1), (str(2**31), None)]
    + [("", None), ("-1", None), ("1.0", None), ("٣", None), ("1" * 5000, None), ("0" * 40 + "5", 5)],
)
def test_whole_number_reads_what_int_and_the_database_can_take(text, number):
    assert whole_number(text) == number
    assert whole_number("5", 4) is None and whole_number("4", 4) == 4


def test_the_largest_database_id_still_matches_its_route(logged_in, questionnaire):
    """2³¹ − 1 is a possible id: the route matches and the view answers that no such row exists."""
    assert logged_in.get(f"/desk/questionnaires/{2**31 - 1}").status_code == 404
    assert logged_in.get(f"/desk/questionnaires/{questionnaire.id}").status_code == 200


# --- the read API answers in JSON, errors included ---------------------------------------------------


@pytest.mark.parametrize("page", [str(10**20), str(2**63), str(2**31)])
def test_an_api_page_beyond_any_offset_is_a_json_400(client, evaluator, questionnaire, page):
    response = client.get(f"/api/v1/questionnaires/{questionnaire.id}/responses?page={page}", headers=bearer(evaluator))
    assert response.status_code == 400 and response.is_json
    assert response.get_json()["error"]


def test_the_last_allowed_api_page_is_empty_not_an_error(client, evaluator, questionnaire):
    url = f"/api/v1/questionnaires/{questionnaire.id}/responses?page={2**31 - 1}&per_page=1000"
    response = client.get(url, headers=bearer(evaluator))
    assert response.status_code == 200 and response.is_json


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/no-such-thing", 404),
        ("POST", "/api/v1/questionnaires/1/results", 405),
        ("DELETE", "/api/v1/questionnaires/1/responses", 405),
    ],
)
def test_api_errors_are_json(client, evaluator, method, path, status):
    response = client.open(path, method=method, headers=bearer(evaluator))
    assert response.status_code == status and response.is_json
    assert response.get_json()["error"]
    if status == 405:
        assert "GET" in response.headers["Allow"]


def test_a_wrong_method_on_a_page_is_a_plain_405_page(client):
    response = client.delete("/login")
    assert response.status_code == 405 and response.mimetype == "text/html"
    assert "请求方式" in response.data.decode() and "POST" in response.headers["Allow"]


# --- questionnaire files with characters that cannot be stored ---------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.update(title="问卷\x00标题"),
        lambda d: d["sections"][0]["questions"][0].update(text="题目\x00"),
        lambda d: d["sections"][0]["questions"][0]["options"][0].update(text="\ud800"),
        lambda d: d["sections"][0]["questions"][0].update({"备注\x00": "x"}),
    ],
    ids=["title", "question", "surrogate", "key"],
)
def test_a_questionnaire_file_with_unstorable_characters_is_refused_saying_where(logged_in, evaluator, change):
    project = make_project(evaluator)
    definition = copy.deepcopy(ALL_TYPES)
    change(definition)
    body = json.dumps(definition).encode()  # \u0000 and \ud800 as JSON escapes, as a hostile file has them
    assert b"\\u0000" in body or b"\\ud800" in body
    response = logged_in.post(
        f"/desk/projects/{project.id}/questionnaires/import",
        data={"file": (io.BytesIO(body), "q.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422, response.status_code
    assert "无法保存的字符" in response.data.decode()
    assert db.session.execute(db.select(Questionnaire)).scalars().all() == []


# --- numbers typed into desk forms and links: isdigit() took "²" and any length -------------------------


@pytest.mark.parametrize("typed", ["²", "①", str(10**20), "9" * 5000])
def test_desk_numbers_that_isdigit_takes_are_no_server_error(logged_in, questionnaire, typed):
    project = questionnaire.project
    response = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/responses?number={typed}")
    assert response.status_code == 200  # "没有第 N 号答卷" said on the list
    assert logged_in.get(f"/desk/templates/?project={typed}").status_code in (200, 404)
    population = logged_in.post(f"/desk/questionnaires/{questionnaire.id}/population", data={"population": typed})
    assert population.status_code == 302
    indicators = f"/desk/projects/{project.id}/indicators/"
    assert logged_in.post(indicators + "start", data={"source": f"project:{typed}"}).status_code in (200, 302, 422)
    assert logged_in.post(indicators + "start", data={"source": "template:seed_004_fengze"}).status_code == 302
    grades = logged_in.post(indicators + "grades", data={"grades": "优秀 85\n合格 0", "decimals": typed})
    assert grades.status_code == (302 if typed in ("²", "①") else 422)  # NFKC: "²" is 2, "①" is 1


def test_a_unit_list_with_a_count_beyond_an_integer_is_refused_by_row():
    from survey.collection.fieldwork import FieldworkError, read_list

    with pytest.raises(FieldworkError) as refused:
        read_list(f"名称,份数\n甲,{10**20}\n乙,²\n丙,3\n".encode())
    assert len(refused.value.problems) == 1 and str(10**20) in refused.value.problems[0]
