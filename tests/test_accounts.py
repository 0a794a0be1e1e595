"""Accounts: password policy, lockout and unlock, session rotation and versions, logout everywhere,
the administrator's user pages, and project member management (including the last-owner rule)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from survey.accounts import users as accounts
from survey.accounts.users import AccountError, create_user, password_problems
from survey.models import ProjectMember, User, utcnow
from survey.platform.extensions import db
from tests.conftest import login
from tests.helpers import make_project

ALICE = ("alice", "alice-password-1")


def reload(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


def signed_in(client) -> bool:
    """Whether the client's session still opens the desk (a redirect means it was sent to the login page)."""
    return client.get("/desk/").status_code == 200


# --- the password policy ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("short-1", "至少需要 10 个字符"),
        ("12345678901234", "不能全是数字"),
        ("aaaaaaaaaaaa", "同一个字符"),
        ("Carol-Long-Name", "不能与用户名相同"),
        ("Password123", "太常见"),
        ("woaini1314", "太常见"),
    ],
)
def test_policy_refuses_weak_passwords_in_words(app, password, expected):
    problems = password_problems(password, "carol-long-name")
    assert any(expected in problem for problem in problems), problems


def test_policy_accepts_a_reasonable_password(app):
    assert password_problems("春天-bus-7-lamp", "carol") == []
    assert password_problems("carol-is-here-2026", "carol") == []  # containing the username is allowed


def test_create_user_applies_the_policy(app):
    with pytest.raises(AccountError, match="至少需要 10 个字符"):
        create_user("carol", "short")
    with pytest.raises(AccountError, match="不能与用户名相同"):
        create_user("carolcarol", "CAROLCAROL")
    user = create_user("carol", "a-decent-passphrase")
    assert user.password_hash.startswith("$argon2id$") and user.password_changed_at is not None
    with pytest.raises(AccountError, match="已被使用"):
        create_user("carol", "another-decent-one")


def test_create_user_command_uses_the_policy(runner):
    weak = runner.invoke(args=["create-user", "dave", "--password", "1234567890"])
    assert weak.exit_code != 0 and "不能全是数字" in weak.output
    assert db.session.execute(db.select(User).filter_by(username="dave")).scalar_one_or_none() is None
    good = runner.invoke(args=["create-user", "dave", "--password", "dave-has-a-long-one"])
    assert good.exit_code == 0, good.output


# --- login throttling and lockout ---------------------------------------------------------------------


def test_five_failures_lock_the_account_and_say_for_how_long(app, client, evaluator):
    for _attempt in range(accounts.MAX_FAILED_LOGINS - 1):
        response = login(client, "alice", "wrong-password")
        assert response.status_code == 401 and "用户名或密码不正确" in response.data.decode()
    locked = login(client, "alice", "wrong-password")
    assert locked.status_code == 429
    assert "已被暂时锁定" in locked.data.decode() and "15 分钟" in locked.data.decode()
    # even the right password is refused while locked: guessing cannot go on
    again = login(client, *ALICE)
    assert again.status_code == 429 and not signed_in(client)
    assert reload(evaluator).locked_until > utcnow()


def test_lock_runs_out_and_success_resets_the_count(app, client, evaluator):
    for _attempt in range(3):
        login(client, "alice", "wrong-password")
    assert reload(evaluator).failed_logins == 3
    assert login(client, *ALICE).status_code == 302
    assert reload(evaluator).failed_logins == 0
    user = reload(evaluator)
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    client.post("/logout")
    assert login(client, *ALICE).status_code == 302


def test_locked_message_counts_down(app, evaluator):
    evaluator.locked_until = utcnow() + timedelta(minutes=3, seconds=10)
    db.session.commit()
    result = accounts.authenticate("alice", "alice-password-1")
    assert result.user is None and result.locked_minutes == 4


# --- sessions -----------------------------------------------------------------------------------------


def test_login_starts_a_fresh_session_carrying_the_version(client, evaluator):
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    assert login(client, *ALICE).status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session
        user_id, version, secret = session["_user_id"].split(":")
    assert (user_id, version) == (str(evaluator.id), str(evaluator.session_version)) and len(secret) >= 40


def test_stale_or_forged_session_versions_are_refused(app, client, evaluator):
    login(client, *ALICE)
    assert signed_in(client)
    with client.session_transaction() as session:
        session["_user_id"] = str(evaluator.id)  # the old format, without a version
    assert not signed_in(client)
    login(client, *ALICE)
    evaluator.session_version += 1
    db.session.commit()
    assert not signed_in(client)


def test_logout_everywhere_ends_every_session(app, evaluator):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, *ALICE)
    login(phone, *ALICE)
    assert signed_in(laptop) and signed_in(phone)
    response = phone.post("/logout-everywhere")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert not signed_in(phone) and not signed_in(laptop)
    assert reload(evaluator).session_version == 2
    assert login(laptop, *ALICE).status_code == 302 and signed_in(laptop)


def test_remember_me_cookie_dies_with_logout_everywhere(app, evaluator):
    browser, other = app.test_client(), app.test_client()
    browser.post("/login", data={"username": "alice", "password": "alice-password-1", "remember": "y"})
    assert browser.get_cookie("remember_token") is not None
    browser.delete_cookie("session")  # the browser was closed: only the remember-me cookie is left
    assert signed_in(browser)
    login(other, *ALICE)
    other.post("/logout-everywhere")
    browser.delete_cookie("session")
    assert not signed_in(browser)


def test_logout_also_forgets_the_remember_me_cookie(app, client, evaluator):
    client.post("/login", data={"username": "alice", "password": "alice-password-1", "remember": "y"})
    client.post("/logout")
    assert not signed_in(client)


def test_deactivated_account_loses_its_live_session(app, client, evaluator):
    login(client, *ALICE)
    evaluator.active = False
    db.session.commit()
    assert not signed_in(client)


# --- changing one's password --------------------------------------------------------------------------


def test_change_password_keeps_this_session_and_ends_the_others(app, evaluator):
    here, elsewhere = app.test_client(), app.test_client()
    login(here, *ALICE)
    login(elsewhere, *ALICE)
    assert here.get("/account/password").status_code == 200
    data = {
        "current_password": "alice-password-1",
        "new_password": "a-brand-new-phrase",
        "confirm": "a-brand-new-phrase",
    }
    assert here.post("/account/password", data=data).status_code == 302
    assert signed_in(here) and not signed_in(elsewhere)
    user = reload(evaluator)
    assert user.session_version == 2 and accounts.check_password(user, "a-brand-new-phrase")
    assert login(elsewhere, *ALICE).status_code == 401
    assert login(elsewhere, "alice", "a-brand-new-phrase").status_code == 302


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"current_password": "not-it-at-all", "new_password": "a-brand-new-phrase"}, "当前密码不正确"),
        ({"current_password": "alice-password-1", "new_password": "0123456789"}, "不能全是数字"),
        ({"current_password": "alice-password-1", "new_password": "alice-password-1"}, "不能与当前密码相同"),
        ({"current_password": "alice-password-1", "new_password": "a-brand-new-phrase", "confirm": "x"}, "不一致"),
    ],
)
def test_change_password_refusals_are_explained(logged_in, evaluator, data, message):
    data = {"confirm": data["new_password"], **data}
    response = logged_in.post("/account/password", data=data)
    assert response.status_code == 422 and message in response.data.decode()
    assert accounts.check_password(reload(evaluator), "alice-password-1")


def test_guessing_the_current_password_locks_the_account(logged_in, evaluator):
    data = {"current_password": "a-wrong-guess", "new_password": "a-brand-new-phrase", "confirm": "a-brand-new-phrase"}
    for _attempt in range(accounts.MAX_FAILED_LOGINS):
        response = logged_in.post("/account/password", data=data)
    assert response.status_code == 422 and "已被暂时锁定" in response.data.decode()
    right = logged_in.post("/account/password", data={**data, "current_password": "alice-password-1"})
    assert right.status_code == 422 and accounts.check_password(reload(evaluator), "alice-password-1")


def test_header_links_to_account_actions(logged_in, evaluator):
    page = logged_in.get("/desk/").data.decode()
    assert "/account/password" in page and "/logout-everywhere" in page
    assert "/admin/users" not in page
    evaluator.is_admin = True
    db.session.commit()
    assert "/admin/users" in logged_in.get("/desk/").data.decode()


# --- the administrator's pages ------------------------------------------------------------------------


@pytest.fixture
def admin_client(app, client):
    create_user("root", "root-has-a-long-pass", "管理员", is_admin=True)
    assert login(client, "root", "root-has-a-long-pass").status_code == 302
    return client


def admin(user: User, action: str, client):
    return client.post(f"/admin/users/{user.id}/{action}")


def test_non_admins_do_not_see_admin_pages(app, logged_in, evaluator):
    assert logged_in.get("/admin/users").status_code == 404
    assert logged_in.post(f"/admin/users/{evaluator.id}/grant_admin").status_code == 404
    assert not reload(evaluator).is_admin


def test_admin_creates_users_under_the_policy(admin_client):
    weak = admin_client.post("/admin/users", data={"username": "erin", "password": "erin"})
    assert weak.status_code == 422 and "至少需要 10 个字符" in weak.data.decode()
    bad_name = admin_client.post("/admin/users", data={"username": "erin smith", "password": "good-long-phrase"})
    assert bad_name.status_code == 422 and "用户名只能包含" in bad_name.data.decode()
    done = admin_client.post(
        "/admin/users", data={"username": "erin", "display_name": "Erin", "password": "good-long-phrase"}
    )
    assert done.status_code == 302
    erin = accounts.find_user("erin")
    assert erin is not None and not erin.is_admin and accounts.check_password(erin, "good-long-phrase")
    taken = admin_client.post("/admin/users", data={"username": "erin", "password": "good-long-phrase"})
    assert taken.status_code == 422 and "已被使用" in taken.data.decode()
    page = admin_client.get("/admin/users").data.decode()
    assert "erin" in page and "root" in page


def test_admin_reset_ends_the_users_sessions(app, admin_client, evaluator):
    alice = app.test_client()
    login(alice, *ALICE)
    assert admin_client.get(f"/admin/users/{evaluator.id}/password").status_code == 200
    weak = admin_client.post(f"/admin/users/{evaluator.id}/password", data={"password": "alice"})
    assert weak.status_code == 422 and "至少需要 10 个字符" in weak.data.decode()
    assert signed_in(alice)
    assert (
        admin_client.post(f"/admin/users/{evaluator.id}/password", data={"password": "reset-by-admin-1"}).status_code
        == 302
    )
    assert not signed_in(alice)
    assert login(alice, "alice", "reset-by-admin-1").status_code == 302


def test_admin_unlocks_a_locked_account(app, admin_client, evaluator):
    alice = app.test_client()
    for _attempt in range(accounts.MAX_FAILED_LOGINS):
        login(alice, "alice", "wrong-password")
    assert login(alice, *ALICE).status_code == 429
    assert "已锁定至" in admin_client.get("/admin/users").data.decode()
    assert admin(evaluator, "unlock", admin_client).status_code == 302
    assert login(alice, *ALICE).status_code == 302


def test_admin_deactivates_and_reactivates(app, admin_client, evaluator):
    alice = app.test_client()
    login(alice, *ALICE)
    admin(evaluator, "deactivate", admin_client)
    assert not signed_in(alice) and login(alice, *ALICE).status_code == 401
    admin(evaluator, "reactivate", admin_client)
    assert login(alice, *ALICE).status_code == 302


def test_admin_rights_and_the_last_admin(app, admin_client, evaluator):
    root = accounts.find_user("root")
    refused = admin_client.post(f"/admin/users/{root.id}/revoke_admin", follow_redirects=True)
    assert "最后一位管理员" in refused.data.decode() and reload(root).is_admin
    refused = admin_client.post(f"/admin/users/{root.id}/deactivate", follow_redirects=True)
    assert "不能停用自己的账户" in refused.data.decode() and reload(root).active
    admin(evaluator, "grant_admin", admin_client)
    assert reload(evaluator).is_admin
    admin(root, "revoke_admin", admin_client)  # alice is still an administrator, so root may step down
    assert not reload(root).is_admin
    assert admin_client.get("/admin/users").status_code == 404


def test_an_inactive_admin_does_not_count(app, admin_client, evaluator):
    root = accounts.find_user("root")
    evaluator.is_admin, evaluator.active = True, False
    db.session.commit()
    admin(root, "revoke_admin", admin_client)
    assert reload(root).is_admin


# --- project members ----------------------------------------------------------------------------------


@pytest.fixture
def shared(app, evaluator):
    """alice's project, and two more evaluators (bob and vera) who are not members yet."""
    project = make_project(evaluator)
    create_user("bob", "bob-password-long")
    create_user("vera", "vera-password-long")
    return project


def role_of(project, username: str) -> str | None:
    db.session.expire_all()
    member = db.session.get(ProjectMember, (project.id, accounts.find_user(username).id))
    return member.role if member else None


def test_owner_adds_members_by_username(logged_in, shared):
    url = f"/desk/projects/{shared.id}/members"
    page = logged_in.get(url)
    assert page.status_code == 200 and "添加成员" in page.data.decode()
    assert logged_in.post(url, data={"username": "bob", "role": "editor"}).status_code == 302
    assert logged_in.post(url, data={"username": " vera ", "role": "viewer"}).status_code == 302
    assert role_of(shared, "bob") == "editor" and role_of(shared, "vera") == "viewer"
    unknown = logged_in.post(url, data={"username": "nobody", "role": "viewer"})
    assert unknown.status_code == 422 and "找不到这个用户名" in unknown.data.decode()
    again = logged_in.post(url, data={"username": "bob", "role": "viewer"})
    assert again.status_code == 422 and "已经是本项目成员" in again.data.decode()
    as_owner = logged_in.post(url, data={"username": "vera", "role": "owner"})
    assert as_owner.status_code == 422  # owners are made by changing a member's role, not on adding
    listing = logged_in.get(url).data.decode()
    assert "bob" in listing and "vera" in listing and "查看者" in listing


def test_only_owners_manage_members(app, shared):
    from survey.accounts.access import add_member

    add_member(shared, accounts.find_user("bob"), "editor")
    add_member(shared, accounts.find_user("vera"), "viewer")
    alice_id = accounts.find_user("alice").id
    for username, password in (("bob", "bob-password-long"), ("vera", "vera-password-long")):
        client = app.test_client()
        login(client, username, password)
        page = client.get(f"/desk/projects/{shared.id}/members")
        assert page.status_code == 200 and "只有项目负责人" in page.data.decode()
        assert "添加成员" not in page.data.decode()
        base = f"/desk/projects/{shared.id}/members"
        for url, data in (
            (base, {"username": "mallory", "role": "viewer"}),
            (f"{base}/{alice_id}/role", {"role": "viewer"}),
            (f"{base}/{alice_id}/remove", {"confirm": "y"}),
        ):
            response = client.post(url, data=data)
            assert response.status_code == 403, (username, url)
        assert client.get(f"{base}/{alice_id}/remove").status_code == 403
    assert role_of(shared, "alice") == "owner"


def test_the_last_owner_cannot_be_demoted_or_removed(app, logged_in, shared, evaluator):
    from survey.accounts.access import add_member

    base = f"/desk/projects/{shared.id}/members"
    demoted = logged_in.post(f"{base}/{evaluator.id}/role", data={"role": "editor"}, follow_redirects=True)
    assert "至少要有一位负责人" in demoted.data.decode() and role_of(shared, "alice") == "owner"
    removed = logged_in.post(f"{base}/{evaluator.id}/remove", data={"confirm": "y"}, follow_redirects=True)
    assert "不能移除最后一位负责人" in removed.data.decode() and role_of(shared, "alice") == "owner"
    # with a second owner, alice may step down
    add_member(shared, accounts.find_user("bob"), "editor")
    bob_id = accounts.find_user("bob").id
    logged_in.post(f"{base}/{bob_id}/role", data={"role": "owner"})
    assert role_of(shared, "bob") == "owner"
    logged_in.post(f"{base}/{evaluator.id}/role", data={"role": "viewer"})
    assert role_of(shared, "alice") == "viewer"
    assert logged_in.post(f"{base}/{bob_id}/role", data={"role": "editor"}).status_code == 403


def test_removal_needs_a_confirmation(app, logged_in, shared):
    from survey.accounts.access import add_member

    add_member(shared, accounts.find_user("vera"), "viewer")
    vera_id = accounts.find_user("vera").id
    url = f"/desk/projects/{shared.id}/members/{vera_id}/remove"
    confirm_page = logged_in.get(url)
    assert confirm_page.status_code == 200 and "确定要把“vera”" in confirm_page.data.decode()
    unconfirmed = logged_in.post(url, data={})
    assert unconfirmed.status_code == 422 and "请勾选确认" in unconfirmed.data.decode()
    assert role_of(shared, "vera") == "viewer"
    assert logged_in.post(url, data={"confirm": "y"}).status_code == 302
    assert role_of(shared, "vera") is None
    vera = app.test_client()
    login(vera, "vera", "vera-password-long")
    assert vera.get(f"/desk/projects/{shared.id}").status_code == 404
    assert logged_in.get(f"/desk/projects/{shared.id}/members/999999/remove").status_code == 404


def test_deactivated_accounts_cannot_be_added(logged_in, shared):
    vera = accounts.find_user("vera")
    vera.active = False
    db.session.commit()
    response = logged_in.post(f"/desk/projects/{shared.id}/members", data={"username": "vera", "role": "viewer"})
    assert response.status_code == 422 and role_of(shared, "vera") is None
