"""Signing out ends that session wherever its cookie was copied (issue 22, item 11).

A session carries a secret whose SHA-256 is a ``UserSession`` row: "退出" deletes the row, so the cookie and
every copy of it (and its remember-me cookie) are refused; other devices keep their own sessions. "Log out
everywhere", a password change or reset and deactivation end them all.
"""

from __future__ import annotations

import hashlib

from survey.accounts import users as accounts
from survey.accounts.api_tokens import issue_token
from survey.models import User, UserSession
from survey.platform.extensions import db
from tests.conftest import login

ALICE = ("alice", "alice-password-1")
SESSION = "session"
REMEMBER = "remember_token"


def signed_in(client) -> bool:
    """Whether the client still opens the desk (a sign-in page redirect means it does not)."""
    return client.get("/desk/").status_code == 200


def copy_of(app, source, name: str):
    """A second browser holding a copy of ``source``'s cookie ``name`` (as an attacker who copied it would)."""
    copy = app.test_client()
    copy.set_cookie(name, source.get_cookie(name).value)
    return copy


def test_a_copied_session_cookie_dies_with_sign_out(app, client, evaluator):
    login(client, *ALICE)
    copy = copy_of(app, client, SESSION)
    assert signed_in(copy)
    client.post("/logout")
    assert not signed_in(client)
    refused = copy.get("/desk/")
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    assert "评价端登录" in copy.get("/desk/", follow_redirects=True).data.decode()


def test_a_copied_remember_me_cookie_dies_with_sign_out(app, client, evaluator):
    client.post("/login", data={"username": "alice", "password": "alice-password-1", "remember": "y"})
    copy = copy_of(app, client, REMEMBER)  # only the long-lived cookie, as after closing the browser
    assert signed_in(copy)
    client.post("/logout")
    fresh_copy = copy_of(app, copy, REMEMBER)
    assert not signed_in(fresh_copy)


def test_signing_out_one_device_leaves_the_others_signed_in(app, evaluator):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, *ALICE)
    login(phone, *ALICE)
    phone.post("/logout")
    assert not signed_in(phone) and signed_in(laptop)
    assert db.session.execute(db.select(db.func.count(UserSession.id))).scalar_one() == 1


def test_password_change_ends_copies_taken_before_it_and_keeps_this_browser(app, client, evaluator):
    login(client, *ALICE)
    copy = copy_of(app, client, SESSION)
    data = {"current_password": ALICE[1], "new_password": "a-brand-new-phrase", "confirm": "a-brand-new-phrase"}
    assert client.post("/account/password", data=data).status_code == 302
    assert signed_in(client) and not signed_in(copy)


def test_deactivation_ends_every_session_row(app, client, evaluator):
    login(client, *ALICE)
    admin = accounts.create_user("root", "root-has-a-long-pass", is_admin=True)
    accounts.set_active(admin, db.session.get(User, evaluator.id), False)
    assert not signed_in(client)
    assert db.session.execute(db.select(UserSession).filter_by(user_id=evaluator.id)).first() is None


def test_the_session_secret_is_stored_only_as_its_hash(app, client, evaluator):
    login(client, *ALICE)
    with client.session_transaction() as session:
        secret = session["_user_id"].split(":")[2]
    stored = db.session.execute(db.select(UserSession.token_hash)).scalars().all()
    assert stored == [hashlib.sha256(secret.encode()).hexdigest()]


def test_a_session_from_before_sessions_had_rows_is_refused(app, client, evaluator):
    login(client, *ALICE)
    with client.session_transaction() as session:
        session["_user_id"] = f"{evaluator.id}:{evaluator.session_version}"  # the format before this change
    assert not signed_in(client)


def test_api_tokens_do_not_depend_on_the_desk_session(app, client, evaluator):
    _token, secret = issue_token(evaluator, "report script")
    login(client, *ALICE)
    client.post("/logout")
    response = app.test_client().get("/api/v1/projects", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
