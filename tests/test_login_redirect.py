"""Where signing in sends the browser: a path on this site only, whatever ``next`` says (issue 22, items 2 and 12).

Each payload is what the server reads from ``?next=`` (one layer of percent-encoding already undone) or, for the
``raw`` cases, what an attacker types into the address bar. Browsers drop tabs and newlines from a ``Location``
and read ``\\`` as ``/``, so ``/\\t/evil.example`` used to land on ``//evil.example``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from survey.platform.local_urls import is_local_path

DESK = "/desk/"
ALICE = {"username": "alice", "password": "alice-password-1"}

OFFSITE = [
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/x",
    "/\r\n/evil.example",
    "/%09/evil.example",  # the value itself percent-encoded once more
    "/%0a/x",
    "/%5Cevil.example",
    "/%2F/evil.example",
    "%2F%2Fevil.example",
    "/%252F/evil.example",
    "https://evil.example",
    "http:/evil.example",
    "HTTPS://evil.example/desk/",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    " /desk/",
    "/desk/ ",
    "\t/desk/",
    "/\u3000/evil.example",
    "／／evil.example",
    "/／evil.example",
    "＼＼evil.example",
    "/\u2028/evil.example",
    "evil.example",
    "",
]

NUL = "/\x00/evil.example"
RAW = ["/%09/evil.example", "/%0a/x", "/%0d%0a/evil.example", "%2F%2Fevil.example", "/%5C/evil.example", "/%E3%80%80/x"]


def _signed_in_to(client, location_query: dict | None = None, url: str = "/login"):
    return client.post(url, query_string=location_query, data=ALICE)


def _assert_local(response) -> str:
    assert response.status_code == 302, response.status_code
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert not parts.scheme and not parts.netloc, location
    assert location.startswith("/") and not location.startswith("//"), location
    assert not any(char.isspace() or char == "\\" or ord(char) < 32 for char in location), location
    return location


@pytest.mark.parametrize("payload", OFFSITE)
def test_offsite_or_odd_next_goes_to_the_desk(client, evaluator, payload):
    assert _assert_local(_signed_in_to(client, {"next": payload})) == DESK


@pytest.mark.parametrize("raw", RAW)
def test_offsite_next_typed_in_the_address_bar_goes_to_the_desk(client, evaluator, raw):
    assert _assert_local(client.post(f"/login?next={raw}", data=ALICE)) == DESK


@pytest.mark.parametrize(
    "target", ["/desk/", "/desk/projects/7", "/account/password", "/desk/projects/3?tab=%E6%BB%A1%E6%84%8F&x=%2F%2Fa"]
)
def test_a_path_on_this_site_is_still_followed(client, evaluator, target):
    assert _assert_local(_signed_in_to(client, {"next": target})) == target


def test_the_page_that_asked_for_sign_in_is_where_it_ends(client, evaluator):
    asked = client.get("/account/password")
    assert asked.status_code == 302
    login_url = asked.headers["Location"]
    assert "next=" in login_url
    assert _assert_local(client.post(login_url, data=ALICE)) == "/account/password"


def test_a_newline_in_next_is_no_server_error(client, evaluator):
    assert client.get("/login?next=/%0a/x").status_code == 200
    assert client.post("/login?next=/%0a/x", data={"username": "alice", "password": "wrong"}).status_code == 401


def test_a_nul_in_next_is_refused_or_goes_to_the_desk(client, evaluator):
    """A NUL in the query string may be refused before the view (400); it never leads off the site."""
    response = _signed_in_to(client, {"next": NUL})
    assert response.status_code == 400 or _assert_local(response) == DESK


@pytest.mark.parametrize("payload", [*OFFSITE, NUL])
def test_the_check_itself_refuses_every_payload(payload):
    assert not is_local_path(payload)


def test_the_check_refuses_what_only_shows_after_decoding_twice():
    assert not is_local_path("/%25%30%39/evil.example")  # %09 once decoded, a tab twice
    assert not is_local_path("/%25252F%25252Fevil" + "%2525" * 3)  # still changing after every layer
    assert is_local_path("/desk/?q=50%25")
