"""Sign-in lockout under guesses sent at once, and the same answers for names nobody has (issue 22, item 10).

Every attempt is counted in one atomic statement before its password is looked at: ten guesses sent together
are counted one after another, those past ``MAX_FAILED_LOGINS`` are refused without being checked, and the
right password among them does not sign in once the limit is reached. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from survey.accounts import users as accounts
from survey.models import LoginThrottle, User, utcnow
from survey.platform.extensions import db
from tests.conftest import login

RIGHT = "alice-password-1"
GUESSES = 10
WAIT = 20  # seconds a thread may wait for the others before the test gives up (never reached when it passes)


@pytest.fixture
def evaluations(monkeypatch):
    """Count the password checks, and hold every wrong one until ``release`` is set, so that all the wrong
    guesses are in flight together when the right one arrives."""
    original = accounts.check_password
    state = {"checked": 0, "release": threading.Event(), "lock": threading.Lock()}

    def held_check(user, password):
        with state["lock"]:
            state["checked"] += 1
        if password != RIGHT:
            state["release"].wait(WAIT)
        return original(user, password)

    monkeypatch.setattr(accounts, "check_password", held_check)
    return state


def _fire(app, username: str, passwords: list[str]) -> list[int]:
    """Send the sign-ins at once, one browser each, and return their statuses in the order of ``passwords``."""
    statuses: list[int | None] = [None] * len(passwords)
    start = threading.Barrier(len(passwords))

    def attempt(index: int) -> None:
        client = app.test_client()
        start.wait(WAIT)
        statuses[index] = login(client, username, passwords[index]).status_code

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(passwords))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert all(status is not None for status in statuses), statuses
    return statuses  # type: ignore[return-value]


def _in_flight(evaluations, statuses_done, expected: int) -> None:
    """Wait until ``expected`` wrong guesses are either held in their password check or answered."""
    deadline = time.monotonic() + WAIT
    while evaluations["checked"] + statuses_done() < expected and time.monotonic() < deadline:
        time.sleep(0.01)


def test_the_right_password_after_wrong_ones_in_flight_does_not_sign_in(app, evaluator, evaluations):
    """Nine wrong guesses in flight together, then the right one: the limit is already reached when it arrives
    (before the fix all ten were checked and the right one signed in)."""
    answered: list[int] = []

    def wrong(_index: int) -> None:
        answered.append(login(app.test_client(), "alice", "a-wrong-guess").status_code)

    threads = [threading.Thread(target=wrong, args=(i,)) for i in range(GUESSES - 1)]
    for thread in threads:
        thread.start()
    _in_flight(evaluations, lambda: len(answered), GUESSES - 1)
    right = app.test_client()
    assert login(right, "alice", RIGHT).status_code == 429
    evaluations["release"].set()
    for thread in threads:
        thread.join(WAIT)
    assert right.get("/desk/").status_code == 302  # not signed in
    assert evaluations["checked"] <= accounts.MAX_FAILED_LOGINS  # the rest were refused unseen
    assert sorted(answered) == [401] * (accounts.MAX_FAILED_LOGINS - 1) + [429] * (GUESSES - accounts.MAX_FAILED_LOGINS)
    db.session.expire_all()
    assert db.session.get(User, evaluator.id).locked_until > utcnow()


def test_ten_wrong_guesses_at_once_check_only_the_limit(app, evaluator, evaluations):
    """Ten at once: exactly ``MAX_FAILED_LOGINS`` passwords are looked at (before the fix, all ten)."""
    evaluations["release"].set()
    statuses = _fire(app, "alice", ["a-wrong-guess"] * GUESSES)
    assert evaluations["checked"] == accounts.MAX_FAILED_LOGINS
    assert Counter(statuses) == Counter(
        {401: accounts.MAX_FAILED_LOGINS - 1, 429: GUESSES - accounts.MAX_FAILED_LOGINS + 1}
    )


def test_once_locked_no_guess_at_once_signs_in(app, evaluator, evaluations):
    evaluations["release"].set()
    for _attempt in range(accounts.MAX_FAILED_LOGINS):
        login(app.test_client(), "alice", "a-wrong-guess")
    checked = evaluations["checked"]
    statuses = _fire(app, "alice", ["a-wrong-guess"] * (GUESSES - 1) + [RIGHT])
    assert statuses == [429] * GUESSES
    assert evaluations["checked"] == checked  # no password was looked at while locked


def test_guesses_at_once_get_the_same_answers_for_a_name_nobody_has(app, evaluator, evaluations):
    """The same burst against alice and against a name without an account: the same statuses (counted and
    locked alike)."""
    evaluations["release"].set()
    real = Counter(_fire(app, "alice", ["a-wrong-guess"] * GUESSES))
    unknown = Counter(_fire(app, "nobody", ["a-wrong-guess"] * GUESSES))
    assert (
        real == unknown == Counter({401: accounts.MAX_FAILED_LOGINS - 1, 429: GUESSES - accounts.MAX_FAILED_LOGINS + 1})
    )


def test_unknown_names_are_answered_exactly_like_real_ones(app, evaluator):
    """Wrong passwords one after another under a real name and under a name nobody has: the same statuses and
    the same pages, lock included, so the sign-in form does not tell which usernames exist."""

    def answers(username: str) -> list[tuple[int, str]]:
        client = app.test_client()
        pages = [login(client, username, "whatever-123") for _attempt in range(accounts.MAX_FAILED_LOGINS + 2)]
        return [(page.status_code, page.data.decode().replace(username, "NAME")) for page in pages]

    real, unknown = answers("alice"), answers("nobody")
    assert [status for status, _page in real] == [401] * (accounts.MAX_FAILED_LOGINS - 1) + [429] * 3
    assert unknown == real
    assert "用户名或密码不正确" in real[0][1] and "已被暂时锁定" in real[-1][1]


def test_a_name_nobody_has_costs_the_argon2_work_of_a_real_one(app, evaluator):
    """The stand-in hash checked for unknown names has the parameters real hashes have (before, it kept the
    ones of import time: with another hasher configured, unknown names took a different time than real ones)."""
    real = db.session.get(User, evaluator.id).password_hash
    login(app.test_client(), "nobody", "whatever-123")
    dummy = accounts._dummy_hash()
    assert not accounts._hasher.check_needs_rehash(dummy) and not accounts._hasher.check_needs_rehash(real)
    assert dummy.rsplit("$", 2)[0] == real.rsplit("$", 2)[0]  # argon2id, version, memory, time and lanes alike


def test_unknown_names_are_kept_as_keyed_hashes(app):
    for _attempt in range(2):
        login(app.test_client(), "someone-guessed", "whatever-123")
    rows = db.session.execute(db.select(LoginThrottle)).scalars().all()
    assert len(rows) == 1 and rows[0].failed_logins == 2 and "someone" not in rows[0].name_hash


def test_failures_a_day_apart_start_the_count_afresh(app, evaluator):
    for _attempt in range(accounts.MAX_FAILED_LOGINS - 1):
        login(app.test_client(), "alice", "a-wrong-guess")
    user = db.session.get(User, evaluator.id)
    user.last_login_attempt_at = utcnow() - accounts.FAILURE_MEMORY - accounts.LOCKOUT
    db.session.commit()
    assert login(app.test_client(), "alice", "a-wrong-guess").status_code == 401
    db.session.expire_all()
    assert db.session.get(User, evaluator.id).failed_logins == 1
