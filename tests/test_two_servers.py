"""Two app servers on two loopback ports, one PostgreSQL database and one Redis: nothing lives in one process.

Each server is a separate process (forked, serving the app with werkzeug's threaded server over real
HTTP); phones alternate between them. If a quota, the one-per-device rule, a rate limit or a session
lived in a process's memory, the second server would not see what the first one did and these fail.
The database is made by the Alembic migrations; Redis keys carry a prefix of this run and only those are
deleted afterwards.
"""

from __future__ import annotations

import http.client
import logging
import multiprocessing
import os
import socket
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
import redis
from flask_migrate import upgrade

from app import create_app
from survey.accounts.users import create_user
from survey.models import Questionnaire, Response
from survey.platform.extensions import db
from survey.questionnaires import publishing
from tests.conftest import PG_TEST_DB, fresh_postgres_database, make_config, unavailable
from tests.helpers import SEED_004_ANSWERS, hidden_value

REDIS_URL = os.environ.get("SURVEY_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
DEVICE_LIMIT = 3
QUOTA = 5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(port: int, config: dict) -> None:
    """A server process: its own app, its own database pool, its own (unused) memory."""
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    make_server("127.0.0.1", port, create_app(config), threaded=True).serve_forever()


class Phone:
    """A browser with its own cookie jar, talking HTTP to whichever server it is pointed at."""

    def __init__(self, cookies: dict | None = None):
        self.cookies = dict(cookies or {})

    def request(self, port: int, method: str, path: str, form: dict | None = None) -> tuple[int, str, dict]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode()
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return response.status, text, dict(response.headers)
        finally:
            connection.close()

    def answer(self, form_port: int, submit_port: int, token: str) -> int:
        """Open the form on one server and submit it (with its CSRF token) to another."""
        status, html, _headers = self.request(form_port, "GET", f"/s/{token}")
        if status != 200:
            return status
        return self.submit(submit_port, token, html)

    def submit(self, port: int, token: str, html: str) -> int:
        data = {
            **SEED_004_ANSWERS,
            "submission_id": hidden_value(html, "submission_id"),
            "started": hidden_value(html, "started"),
            "csrf_token": hidden_value(html, "csrf_token"),
        }
        return self.request(port, "POST", f"/s/{token}", data)[0]


def _redis() -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        unavailable(f"Redis not reachable at {REDIS_URL}: {error}")
    return client


def _wait_until_ready(port: int, process, deadline_seconds: float = 180) -> None:
    """Booting imports pandas, scipy and WeasyPrint: on a busy machine that takes a while."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        assert process.is_alive(), "an app server died while starting"
        try:
            if Phone().request(port, "GET", "/readyz")[0] == 200:
                return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"the app server on port {port} was not ready within {deadline_seconds} s")


@pytest.fixture(scope="module")
def servers():
    """Start two servers on one migrated PostgreSQL database and one Redis; yield the app and the ports."""
    store = _redis()
    url = fresh_postgres_database(f"{PG_TEST_DB}_two_servers")
    prefix = f"survey-two-servers-{uuid.uuid4().hex[:8]}"
    config = make_config(
        url,
        WTF_CSRF_ENABLED=True,
        REDIS_URL=REDIS_URL,
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=REDIS_URL,
        RATELIMIT_KEY_PREFIX=prefix,
        RATELIMIT_PER_DEVICE=f"{DEVICE_LIMIT} per minute",
        RATELIMIT_PER_CLIENT="10000 per minute",  # every phone here comes from 127.0.0.1
        RATELIMIT_FORM_PER_DEVICE="10000 per minute",
    )
    app = create_app(config)
    with app.app_context():
        upgrade()
        db.engine.dispose()  # no inherited connections in the forked servers
    store.close()
    ports = [_free_port(), _free_port()]
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_serve, args=(port, config), daemon=True) for port in ports]
    for process in processes:
        process.start()
    try:
        for port, process in zip(ports, processes, strict=True):
            _wait_until_ready(port, process)
        with app.app_context():
            yield app, ports
            db.session.remove()
            db.engine.dispose()
    finally:
        for process in processes:
            process.terminate()
            process.join(10)
        for key in store.scan_iter(f"*{prefix}*"):
            store.delete(key)
        store.close()


def _questionnaire(app, template: str = "fengze_service_object", **rules) -> Questionnaire:
    """A published questionnaire with the given collection rules, owned by a fresh evaluator."""
    owner = create_user(f"owner-{uuid.uuid4().hex[:6]}", "owner-password-1", "Owner")
    project = publishing.create_project(owner, name="雪亮工程绩效评价", region="丰泽区", year=2019)
    questionnaire = publishing.create_questionnaire(project, template)
    for name, value in rules.items():
        setattr(questionnaire, name, value)
    publishing.publish(questionnaire)
    db.session.commit()
    return questionnaire


def _stored(questionnaire: Questionnaire) -> int:
    db.session.expire_all()
    query = db.select(db.func.count(Response.id)).filter_by(questionnaire_id=questionnaire.id)
    return db.session.execute(query).scalar_one()


def test_quota_holds_across_servers_under_concurrent_submissions(servers):
    app, (first, second) = servers
    questionnaire = _questionnaire(app, quota=QUOTA, one_per_device=False)
    token = questionnaire.public_token
    phones = [Phone() for _ in range(12)]
    forms = [phone.request(first if i % 2 else second, "GET", f"/s/{token}")[1] for i, phone in enumerate(phones)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(
            pool.map(lambda i: phones[i].submit(first if i % 2 == 0 else second, token, forms[i]), range(len(phones)))
        )
    assert codes.count(303) == QUOTA, codes
    assert set(codes) == {303, 410}, codes  # the rest told the questionnaire is full
    assert _stored(questionnaire) == QUOTA
    db.session.refresh(questionnaire)
    assert questionnaire.accepted_count == QUOTA


def test_one_per_device_holds_across_servers(servers):
    app, (first, second) = servers
    questionnaire = _questionnaire(app, one_per_device=True)
    phone = Phone()
    assert phone.answer(first, first, questionnaire.public_token) == 303
    assert phone.answer(second, second, questionnaire.public_token) == 409  # same cookie, other server
    assert Phone().answer(second, second, questionnaire.public_token) == 303  # another phone is welcome
    assert _stored(questionnaire) == 2


def test_a_served_form_stores_one_response_on_either_server(servers):
    """Its start token is good for its own submission id, stored once whichever server gets it first."""
    app, (first, second) = servers
    questionnaire = _questionnaire(app, one_per_device=False)
    token, phone = questionnaire.public_token, Phone()
    html = phone.request(first, "GET", f"/s/{token}")[1]
    form = {
        **SEED_004_ANSWERS,
        **{name: hidden_value(html, name) for name in ("submission_id", "started", "csrf_token")},
    }
    assert phone.request(second, "POST", f"/s/{token}", form)[0] == 303
    assert phone.request(first, "POST", f"/s/{token}", form)[0] == 303  # a retry: the same response, thanked
    replay = phone.request(first, "POST", f"/s/{token}", {**form, "submission_id": uuid.uuid4().hex})
    assert replay[0] == 400 and "这份表单已经提交过" in replay[1]  # the device's third post: within its limit
    assert _stored(questionnaire) == 1


def test_rate_limit_counts_submissions_on_both_servers(servers):
    app, (first, second) = servers
    questionnaire = _questionnaire(app, one_per_device=False)
    phone = Phone({"sv_device": "one-phone-" + uuid.uuid4().hex})
    codes = [
        phone.answer(first, first if i % 2 == 0 else second, questionnaire.public_token)
        for i in range(DEVICE_LIMIT + 1)
    ]
    assert codes == [303] * DEVICE_LIMIT + [429]
    assert _stored(questionnaire) == DEVICE_LIMIT


def test_a_session_started_on_one_server_works_on_the_other(servers):
    app, (first, second) = servers
    create_user("carol", "carol-password-1", "Carol")
    evaluator = Phone()
    assert evaluator.request(second, "GET", "/desk/")[0] == 302  # not signed in anywhere yet
    html = evaluator.request(first, "GET", "/login")[1]
    form = {"username": "carol", "password": "carol-password-1", "csrf_token": hidden_value(html, "csrf_token")}
    assert evaluator.request(first, "POST", "/login", form)[0] == 302
    status, page, _headers = evaluator.request(second, "GET", "/desk/")
    assert status == 200 and "Carol" in page
    # Signing out on the second server ends the session for the first one too.
    html = evaluator.request(second, "GET", "/desk/")[1]
    assert evaluator.request(second, "POST", "/logout", {"csrf_token": hidden_value(html, "csrf_token")})[0] == 302
    assert evaluator.request(first, "GET", "/desk/")[0] == 302
