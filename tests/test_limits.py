"""Rate limits on public links and sign-in: per device, per link, per client; the 429 page; the switch."""

from __future__ import annotations

import os
import uuid

import pytest
import redis

from app import create_app
from survey.models import Response
from survey.platform import device
from survey.platform.extensions import db
from survey.platform.hashing import keyed_hash
from survey.platform.limits import client_key, device_key
from tests.conftest import login, make_config, unavailable
from tests.helpers import SEED_004_ANSWERS, hidden_value, make_project, published

LIMITS = {
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_PER_DEVICE": "3 per minute",
    "RATELIMIT_PER_QUESTIONNAIRE": "600 per minute",
    "RATELIMIT_PER_CLIENT": "600 per minute",
    "RATELIMIT_LOGIN": "2 per minute",
}
REDIS_TEST_URL = os.environ.get("SURVEY_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def app_config() -> dict:
    return dict(LIMITS)


@pytest.fixture
def questionnaire(evaluator):
    """A published questionnaire that lets one phone answer many times, so only the rate limit stops it."""
    questionnaire = published(make_project(evaluator))
    questionnaire.one_per_device = False
    db.session.commit()
    return questionnaire


def answer(client, token: str):
    """Open the form (which sets the device cookie) and submit a complete, valid answer."""
    page = client.get(f"/s/{token}")
    assert page.status_code == 200
    html = page.data.decode()
    data = {
        **SEED_004_ANSWERS,
        "submission_id": hidden_value(html, "submission_id"),
        "started": hidden_value(html, "started"),
    }
    return client.post(f"/s/{token}", data=data)


def signed_device(value: str) -> str:
    """A device cookie as the respondent page hands it out (``survey.platform.device``), for the app in context."""
    return device.sign(value)


def stored() -> int:
    return db.session.execute(db.select(db.func.count(Response.id))).scalar_one()


def test_one_device_is_limited_and_told_to_wait_with_its_answers_kept(app, questionnaire):
    phone = app.test_client()
    token = questionnaire.public_token
    assert [answer(phone, token).status_code for _ in range(3)] == [303, 303, 303]
    refused = answer(phone, token)
    assert refused.status_code == 429
    page = refused.data.decode()
    assert 'class="phone"' in page  # the respondent's layout, not the desk
    assert "稍等一分钟" in page and "答案没有丢失" in page and "返回" in page
    assert f'href="/s/{token}"' not in page  # a fresh form would be empty: "back" keeps the answers
    assert int(refused.headers["Retry-After"]) > 0
    assert stored() == 3  # the refused submission stored nothing
    other_phone = app.test_client()
    assert answer(other_phone, token).status_code == 303  # another device is not affected
    assert stored() == 4


def test_unit_code_submissions_count_towards_the_same_device_limit(app, questionnaire):
    from survey.models import UnitCode

    unit = UnitCode(questionnaire=questionnaire, code="UNITLIM1", unit_name="丰泽公安分局", max_uses=10)
    db.session.add(unit)
    db.session.commit()
    phone = app.test_client()
    for _ in range(2):
        assert answer(phone, questionnaire.public_token).status_code == 303
    page = phone.get("/u/UNITLIM1").data.decode()
    data = {
        **SEED_004_ANSWERS,
        "submission_id": hidden_value(page, "submission_id"),
        "started": hidden_value(page, "started"),
    }
    assert phone.post("/u/UNITLIM1", data=data).status_code == 303
    data["submission_id"] = uuid.uuid4().hex
    assert phone.post("/u/UNITLIM1", data=data).status_code == 429


@pytest.mark.parametrize("app_config", [{**LIMITS, "RATELIMIT_PER_QUESTIONNAIRE": "2 per minute"}])
def test_one_link_is_limited_across_devices(app, questionnaire):
    token = questionnaire.public_token
    codes = [answer(app.test_client(), token).status_code for _ in range(3)]
    assert codes == [303, 303, 429]
    assert stored() == 2


@pytest.mark.parametrize("app_config", [{**LIMITS, "RATELIMIT_FORM_PER_DEVICE": "2 per minute"}])
def test_opening_the_form_has_its_own_looser_limit(app, questionnaire):
    phone = app.test_client()
    phone.set_cookie("sv_device", signed_device("a-returning-phone"))
    token = questionnaire.public_token
    assert [phone.get(f"/s/{token}").status_code for _ in range(3)] == [200, 200, 429]
    page = phone.get(f"/s/{token}").data.decode()
    assert "请等待一分钟后再打开问卷" in page and f'href="/s/{token}"' in page


def test_sign_in_is_limited_per_client(app, client, evaluator):
    assert login(client, "alice", "wrong-1").status_code == 401
    assert login(client, "alice", "wrong-2").status_code == 401
    refused = login(client, "alice", "alice-password-1")
    assert refused.status_code == 429
    assert "请等待一分钟后再试" in refused.data.decode() and 'class="phone"' not in refused.data.decode()
    assert client.get("/login").status_code == 200  # showing the form is not counted


def test_keys_are_keyed_hashes_never_the_raw_address(app):
    with app.test_request_context("/s/x", environ_base={"REMOTE_ADDR": "203.0.113.7"}):
        assert device_key() == client_key() == "ip:" + keyed_hash("ip", "203.0.113.7")
        assert "203.0.113.7" not in device_key()
    cookie = signed_device("abc123")
    with app.test_request_context("/s/x", headers={"Cookie": f"sv_device={cookie}"}):
        assert device_key() == "device:" + keyed_hash("device", cookie)


@pytest.mark.parametrize("app_config", [{}])
def test_limits_are_off_in_tests_unless_turned_on(app, questionnaire):
    assert app.config["RATELIMIT_ENABLED"] is False
    phone = app.test_client()
    assert all(answer(phone, questionnaire.public_token).status_code == 303 for _ in range(12))


def test_limits_can_be_switched_off_by_environment_for_benchmarks(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite")
    monkeypatch.setenv("SURVEY_ENV", "production")
    assert create_app().config["RATELIMIT_ENABLED"] is True  # on by default in production
    monkeypatch.setenv("FLASK_RATELIMIT_ENABLED", "false")
    app = create_app()
    assert app.config["RATELIMIT_ENABLED"] is False and "survey_limiter" not in app.extensions


def test_storage_follows_redis_url(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite")
    assert create_app().config["RATELIMIT_STORAGE_URI"] == "memory://"
    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6379/2")
    assert create_app().config["RATELIMIT_STORAGE_URI"] == "redis://cache.internal:6379/2"


def test_two_apps_on_one_redis_share_the_counts(database_url, evaluator):
    """What several app servers rely on: a device's submissions on either server count together."""
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        unavailable(f"Redis not reachable at {REDIS_TEST_URL}: {error}")
    prefix = f"survey-test-{uuid.uuid4().hex[:8]}"
    config = make_config(database_url, **LIMITS, RATELIMIT_STORAGE_URI=REDIS_TEST_URL, RATELIMIT_KEY_PREFIX=prefix)
    first, second = create_app(config), create_app(config)
    questionnaire = published(make_project(evaluator))
    questionnaire.one_per_device = False
    db.session.commit()
    try:
        phone_on_first, phone_on_second = first.test_client(), second.test_client()
        with first.app_context():
            cookie = signed_device("same-phone-token")  # the page signed it: a made-up one is no device
        phone_on_first.set_cookie("sv_device", cookie)
        phone_on_second.set_cookie("sv_device", cookie)
        codes = [
            answer(phone_on_first if i % 2 == 0 else phone_on_second, questionnaire.public_token).status_code
            for i in range(4)
        ]
        assert codes == [303, 303, 303, 429]
    finally:
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)
        client.close()
        for app in (first, second):
            with app.app_context():
                db.engine.dispose()


@pytest.mark.parametrize(
    "app_config", [{**LIMITS, "RATELIMIT_API": "3 per minute", "RATELIMIT_API_PER_CLIENT": "60/minute"}]
)
def test_read_api_is_limited_per_token_with_a_json_refusal(app, client, evaluator):
    from survey.accounts.api_tokens import issue_token

    _token, first = issue_token(evaluator, "报表脚本")
    _token, second = issue_token(evaluator, "另一个脚本")
    statuses = [
        client.get("/api/v1/projects", headers={"Authorization": f"Bearer {first}"}).status_code for _ in range(4)
    ]
    assert statuses == [200, 200, 200, 429]
    refused = client.get("/api/v1/projects", headers={"Authorization": f"Bearer {first}"})
    # A moving minute: the wait is until the oldest counted call leaves it (60 s, or 59 after a second's tick).
    assert refused.status_code == 429 and refused.is_json and 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "请求太频繁" in refused.get_json()["error"]
    assert client.get("/api/v1/projects", headers={"Authorization": f"Bearer {second}"}).status_code == 200


@pytest.mark.parametrize(
    "app_config", [{**LIMITS, "RATELIMIT_API": "60/minute", "RATELIMIT_API_PER_CLIENT": "3/minute"}]
)
def test_guessing_api_tokens_is_limited_per_client(app, client):
    statuses = [
        client.get("/api/v1/projects", headers={"Authorization": f"Bearer guess-{n}"}).status_code for n in range(5)
    ]
    assert statuses[:3] == [401, 401, 401] and statuses[3:] == [429, 429], statuses
