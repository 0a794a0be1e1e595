"""ProxyFix: behind a trusted proxy the app sees the real scheme, host and client; without one it trusts nothing."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from survey.models import Response
from survey.platform.extensions import db
from tests.conftest import login
from tests.helpers import SEED_004_ANSWERS, hidden_value, make_project, published

PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "real.host", "X-Forwarded-For": "198.51.100.23"}


@pytest.fixture
def questionnaire(evaluator):
    return published(make_project(evaluator))


@pytest.mark.parametrize("app_config", [{"PROXY_FIX_HOPS": 1}])
def test_links_and_qr_codes_use_the_proxys_scheme_and_host(app, client, questionnaire):
    login(client, "alice", "alice-password-1")
    page = client.get(f"/desk/questionnaires/{questionnaire.id}", headers=PROXY).data.decode()
    assert f"https://real.host/s/{questionnaire.public_token}" in page
    png = client.get(f"/desk/questionnaires/{questionnaire.id}/qr.png", headers=PROXY)
    decoded = [result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))]
    assert decoded == [f"https://real.host/s/{questionnaire.public_token}"]


@pytest.mark.parametrize("app_config", [{"PROXY_FIX_HOPS": 1}])
def test_hsts_is_sent_when_the_proxy_says_https(app, client):
    assert "max-age=" in client.get("/login", headers=PROXY).headers["Strict-Transport-Security"]
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_forwarded_headers_are_ignored_without_a_trusted_proxy(app, client, questionnaire):
    response = client.get("/login", headers=PROXY)
    assert "Strict-Transport-Security" not in response.headers  # a client cannot claim HTTPS
    login(client, "alice", "alice-password-1")
    page = client.get(f"/desk/questionnaires/{questionnaire.id}", headers=PROXY).data.decode()
    assert "real.host" not in page


def _submissions(app, token: str, headers_for_each_phone: list[dict]) -> list[int]:
    """Different phones (each its own cookie) submit once each, with the given headers."""
    codes = []
    for headers in headers_for_each_phone:
        phone = app.test_client()
        html = phone.get(f"/s/{token}", headers=headers).data.decode()
        data = {
            **SEED_004_ANSWERS,
            "submission_id": hidden_value(html, "submission_id"),
            "started": hidden_value(html, "started"),
        }
        codes.append(phone.post(f"/s/{token}", data=data, headers=headers).status_code)
    return codes


LIMITED = {"RATELIMIT_ENABLED": True, "RATELIMIT_PER_CLIENT": "1 per minute"}


@pytest.mark.parametrize("app_config", [{**LIMITED, "PROXY_FIX_HOPS": 1}])
def test_forwarded_for_is_the_limit_key_behind_a_trusted_proxy(app, questionnaire):
    first = {**PROXY, "X-Forwarded-For": "198.51.100.1"}
    second = {**PROXY, "X-Forwarded-For": "198.51.100.2"}
    # Two citizens behind the same proxy are two clients, not one ...
    assert _submissions(app, questionnaire.public_token, [first, second]) == [303, 303]
    # ... and the same citizen again is refused.
    assert _submissions(app, questionnaire.public_token, [first]) == [429]
    stored = db.session.execute(db.select(Response.ip_hash)).scalars().all()
    assert "198.51.100.1" not in stored and len(stored) == 2


@pytest.mark.parametrize("app_config", [LIMITED])
def test_forwarded_for_cannot_dodge_the_limit_without_a_trusted_proxy(app, questionnaire):
    first = {**PROXY, "X-Forwarded-For": "198.51.100.1"}
    second = {**PROXY, "X-Forwarded-For": "198.51.100.2"}
    # The header is a client's claim here: both requests come from the same address and share one count.
    assert _submissions(app, questionnaire.public_token, [first, second]) == [303, 429]
