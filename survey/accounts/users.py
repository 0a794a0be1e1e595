"""Evaluator accounts: argon2 hashes, the password policy, login lockout, sessions and their versions, admin rules.

Everything here is plain functions on ``User`` rows so the sign-in view, the admin pages, the CLI and the
tests share one set of rules. Messages are plain Chinese (translated by Flask-Babel) because they are
shown to the person who has to act on them.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Table, case, or_
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from survey.models import LoginThrottle, User, UserSession, utcnow
from survey.platform.extensions import db
from survey.platform.hashing import keyed_hash

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
MAX_FAILED_LOGINS = 5  # consecutive wrong passwords before the account is locked
LOCKOUT = timedelta(minutes=15)
FAILURE_MEMORY = timedelta(days=1)  # failures further apart than this are not "in a row" any more
SESSION_LIFETIME = timedelta(days=365)  # Flask-Login's remember-me default, when the config names none
# Verified against for unknown usernames (and locked accounts), made by the hasher in use: see _dummy_hash.
_dummy: tuple[PasswordHasher, str] | None = None

# The passwords people reach for first (Chinese and international leak lists), compared case-insensitively.
# Short ones are refused by the length rule anyway; these are the ones that pass it.
COMMON_PASSWORDS = frozenset(
    """
    password123 password1234 password12345 passw0rd123 p@ssw0rd123 p@ssword123 qwertyuiop qwerty1234
    qwerty12345 qwerty123456 1q2w3e4r5t 1qaz2wsx3edc zaq12wsxcde3 1qaz@wsx3edc q1w2e3r4t5 abc1234567
    abcd123456 abc123456789 a123456789 aa123456789 aaa123456789 asdfghjkl1 asdfghjkl; zxcvbnm123
    iloveyou12 iloveyou123 admin12345 admin123456 administrator woaini1314 woaini520520 qq123456789
    wang123456 zhang123456 li12345678 changeme123 welcome123 letmein123 sunshine123 football123
    princess123 baseball123 1234567890a a1234567890 123456789a 123456789abc abcdefghij abcdefg123
    password!! password01 password1! passwordpassword test123456 user123456 root123456 mima123456
    mima12345678 gongan123456 gonganju123 police1234 police12345
    """.split()
)


class AccountError(ValueError):
    """A refused account change; ``str(error)`` is the plain message to show."""


@dataclass(frozen=True)
class LoginResult:
    """What a sign-in attempt came to: the user on success, or how long the account stays locked."""

    user: User | None = None
    locked_minutes: int | None = None


# --- hashes -----------------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    """An argon2id hash with the library's current parameters."""
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    """True when ``password`` matches; rehashes in place when the parameters have since been raised."""
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        db.session.commit()
    return True


def _dummy_hash() -> str:
    """A hash with the current hasher's parameters, as every real one has after its rehash: made once per
    hasher, so a hasher configured after import (other parameters) costs the same for names without an account."""
    global _dummy
    if _dummy is None or _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash("not-a-real-password-only-for-timing"))
    return _dummy[1]


def _dummy_verify(password: str) -> None:
    """Spend the same argon2 work as a real check, so response time does not tell whether a user exists."""
    try:
        _hasher.verify(_dummy_hash(), password)
    except VerificationError:
        pass


# --- the password policy ----------------------------------------------------------------------------


def password_problems(password: str, username: str) -> list[str]:
    """Every rule the password breaks, in words; an empty list means it is acceptable."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(_("密码至少需要 %(n)d 个字符。", n=MIN_PASSWORD_LENGTH))
    if password.isdigit():
        problems.append(_("密码不能全是数字。"))
    elif password and len(set(password)) == 1:
        problems.append(_("密码不能由同一个字符重复组成。"))
    if username and password.strip().casefold() == username.strip().casefold():
        problems.append(_("密码不能与用户名相同。"))
    if password.casefold() in COMMON_PASSWORDS:
        problems.append(_("这个密码太常见，很容易被猜到，请换一个。"))
    return problems


def require_good_password(password: str, username: str) -> None:
    """Raise ``AccountError`` with every broken rule when the password does not meet the policy."""
    problems = password_problems(password, username)
    if problems:
        raise AccountError(" ".join(problems))


# --- creating and changing accounts -----------------------------------------------------------------


def find_user(username: str) -> User | None:
    """The account with this username (surrounding spaces ignored), if any."""
    return db.session.execute(db.select(User).filter_by(username=username.strip())).scalar_one_or_none()


def create_user(username: str, password: str, display_name: str = "", is_admin: bool = False) -> User:
    """Create and commit an evaluator; a weak password or a taken username raises ``AccountError``."""
    username = username.strip()
    if not username:
        raise AccountError(_("请填写用户名。"))
    require_good_password(password, username)
    if find_user(username) is not None:
        raise AccountError(_("用户名“%(name)s”已被使用。", name=username))
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        password_hash=hash_password(password),
        is_admin=is_admin,
        password_changed_at=utcnow(),
    )
    db.session.add(user)
    db.session.commit()
    return user


def set_password(user: User, password: str) -> None:
    """Store a new password (policy enforced) and end every session signed in with the old one."""
    require_good_password(password, user.username)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    _forget_sessions(user)
    db.session.commit()


def end_all_sessions(user: User) -> None:
    """Log out everywhere: sessions and remember-me cookies carry the old version and are refused."""
    _forget_sessions(user)
    db.session.commit()


def _forget_sessions(user: User) -> None:
    """Bump the session version and drop every session row of the account (the caller commits)."""
    user.session_version += 1
    db.session.execute(db.delete(UserSession).where(UserSession.user_id == user.id))


# --- sessions -----------------------------------------------------------------------------------------


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(user: User) -> str:
    """Record a new signed-in browser and return what Flask-Login keeps in its session and remember-me cookie:
    ``"<id>:<session version>:<secret>"``.

    The secret's hash is a row of its own, so signing out on one device (deleting that row) kills every copy
    of that one cookie, while the version still ends all of them at once. Rows older than the longest a
    session may live are dropped here, so abandoned sessions do not pile up.
    """
    secret = secrets.token_urlsafe(32)
    db.session.execute(
        db.delete(UserSession).where(UserSession.user_id == user.id, UserSession.created_at < _oldest_session_start())
    )
    db.session.add(UserSession(user_id=user.id, token_hash=_token_hash(secret)))
    db.session.commit()
    return f"{user.id}:{user.session_version}:{secret}"


def end_session(token: str | None) -> None:
    """Sign out this one session: its row goes, so the cookie (and any copy of it) is refused from now on."""
    _user_id, _sep, secret = (token or "").rpartition(":")
    if secret:
        db.session.execute(db.delete(UserSession).where(UserSession.token_hash == _token_hash(secret)))
        db.session.commit()


def _oldest_session_start():
    """Sessions started before this are refused: none lives longer than a remember-me cookie."""
    lifetime = current_app.config.get("REMEMBER_COOKIE_DURATION") or SESSION_LIFETIME
    if not isinstance(lifetime, timedelta):
        lifetime = timedelta(seconds=int(lifetime))
    return utcnow() - lifetime


def user_for_token(token: str) -> User | None:
    """The active account a session token belongs to, or None when it is malformed, stale, signed out or
    deactivated (one query: the account joined to the session's row)."""
    user_id, version, secret = (token.split(":") + ["", ""])[:3]
    if not user_id.isdigit() or not version.isdigit() or not secret:
        return None
    query = (
        db.select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            User.id == int(user_id),
            UserSession.token_hash == _token_hash(secret),
            UserSession.created_at >= _oldest_session_start(),
        )
    )
    user = db.session.execute(query).scalar_one_or_none()
    if user is None or not user.active or int(version) != user.session_version:
        return None
    return user


# --- signing in: throttling and lockout ---------------------------------------------------------------
#
# Every attempt first claims its place in one atomic statement (UPDATE … RETURNING, or an upsert for a name
# no account has): the count goes up and the lock is read or set before any password is looked at, so ten
# guesses sent at once are counted one after another, and those past the limit are refused unseen, even
# the right one. Names without an account are counted the same way in ``LoginThrottle``, so the answers,
# the lock and the work done say nothing about which usernames exist.


@dataclass(frozen=True)
class _Claim:
    """One attempt's place in the count: failures including this one, and the lock it found or started."""

    failures: int
    locked_until: datetime | None


def _claim_values(table: Table, now: datetime) -> dict:
    """SET expressions for one attempt, read from the row's old values in the same statement.

    A running lock stays; a lock that ran out, or failures more than ``FAILURE_MEMORY`` old, start afresh
    at 1; going past ``MAX_FAILED_LOGINS`` starts a lock at once (even before the password of the attempt
    that reached the limit is checked, so a worker killed there cannot leave the account open).
    """
    c = table.c
    locked = c.locked_until > now
    afresh = or_(
        c.locked_until <= now, c.last_login_attempt_at.is_(None), c.last_login_attempt_at < now - FAILURE_MEMORY
    )
    failures = case((locked, c.failed_logins + 1), (afresh, 1), else_=c.failed_logins + 1)
    return {
        "failed_logins": failures,
        "locked_until": case((locked, c.locked_until), (failures > MAX_FAILED_LOGINS, now + LOCKOUT), else_=None),
        "last_login_attempt_at": now,
    }


def _name_hash(username: str) -> str:
    """The throttle's key for a name without an account: keyed, so the table does not list tried names."""
    return keyed_hash("login", username) or ""


def _claim(user: User | None, username: str, now: datetime) -> _Claim:
    """Count this attempt atomically and commit at once (no row stays locked while argon2 runs)."""
    if user is not None:
        table = User.__table__
        statement = db.update(table).where(table.c.id == user.id).values(**_claim_values(table, now))
    else:
        table = LoginThrottle.__table__
        insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        first = {"failed_logins": 1, "locked_until": None, "last_login_attempt_at": now}
        statement = (
            insert(table)
            .values(name_hash=_name_hash(username), **first)
            .on_conflict_do_update(index_elements=[table.c.name_hash], set_=_claim_values(table, now))
        )
    row = db.session.execute(statement.returning(table.c.failed_logins, table.c.locked_until)).one()
    if row.failed_logins == 1:
        _forget_old_throttles(now)
    db.session.commit()
    return _Claim(row.failed_logins, row.locked_until)


def _forget_old_throttles(now: datetime) -> None:
    """Drop the counts of unknown names nobody has tried for ``FAILURE_MEMORY`` (they would start afresh)."""
    table = LoginThrottle.__table__
    db.session.execute(
        db.delete(table).where(
            table.c.last_login_attempt_at < now - FAILURE_MEMORY,
            or_(table.c.locked_until.is_(None), table.c.locked_until <= now),
        )
    )


def _lock(user: User | None, username: str, now: datetime) -> datetime:
    """The attempt that reached the limit failed: lock (keeping a lock another attempt already started)."""
    if user is not None:
        table, key = User.__table__, User.__table__.c.id == user.id
    else:
        table, key = LoginThrottle.__table__, LoginThrottle.__table__.c.name_hash == _name_hash(username)
    c = table.c
    statement = (
        db.update(table)
        .where(key)
        .values(locked_until=case((c.locked_until > now, c.locked_until), else_=now + LOCKOUT))
    )
    until = db.session.execute(statement.returning(c.locked_until)).scalar_one()
    db.session.commit()
    return until


def _minutes_until(until: datetime, now: datetime) -> int:
    """Whole minutes (rounded up, at least one) until ``until``."""
    return max(1, math.ceil((until - now).total_seconds() / 60))


def _minutes_left(user: User) -> int | None:
    """Whole minutes (rounded up) the account stays locked, or None when it is not locked."""
    now = utcnow()
    if user.locked_until is None or user.locked_until <= now:
        return None
    return _minutes_until(user.locked_until, now)


def authenticate(username: str, password: str) -> LoginResult:
    """Check a sign-in attempt: count it first, refuse it unseen when the account is locked, then check.

    A locked account refuses even the right password until the lock runs out, so guessing cannot continue.
    An unknown username is counted and locked like an account and costs one argon2 verification, so its
    answers (message, status and time) are those of a real account with a wrong password.
    """
    username = username.strip()
    now = utcnow()
    user = find_user(username)
    claim = _claim(user, username, now)
    if claim.locked_until is not None:
        _dummy_verify(password)
        return LoginResult(locked_minutes=_minutes_until(claim.locked_until, now))
    if user is None:
        _dummy_verify(password)
    elif check_password(user, password) and user.active:
        _succeeded(user)
        return LoginResult(user=user)
    if claim.failures >= MAX_FAILED_LOGINS:
        return LoginResult(locked_minutes=_minutes_until(_lock(user, username, now), now))
    return LoginResult()


def _succeeded(user: User) -> None:
    """The right password within the limit: the count starts again from nothing."""
    table = User.__table__
    db.session.execute(db.update(table).where(table.c.id == user.id).values(failed_logins=0, locked_until=None))
    db.session.commit()


def unlock(user: User) -> None:
    """Lift a lockout before it runs out (an administrator's action)."""
    user.failed_logins = 0
    user.locked_until = None
    db.session.commit()


def is_locked(user: User) -> bool:
    """Whether sign-in is refused right now because of too many wrong passwords."""
    return _minutes_left(user) is not None


# --- administrator rules ----------------------------------------------------------------------------


def _other_active_admins(user: User) -> int:
    query = db.select(db.func.count(User.id)).where(User.is_admin, User.active, User.id != user.id)
    return db.session.execute(query).scalar_one()


def set_admin(acting: User, user: User, is_admin: bool) -> None:
    """Grant or revoke administrator rights; the last active administrator cannot give theirs up."""
    if not is_admin and user.is_admin and user.active and _other_active_admins(user) == 0:
        raise AccountError(_("“%(name)s”是最后一位管理员，不能取消其管理员权限。", name=user.username))
    user.is_admin = is_admin
    db.session.commit()


def set_active(acting: User, user: User, active: bool) -> None:
    """Deactivate or reactivate an account; deactivating also ends its sessions at once."""
    if not active and user.id == acting.id:
        raise AccountError(_("不能停用自己的账户。"))
    if not active and user.is_admin and _other_active_admins(user) == 0:
        raise AccountError(_("“%(name)s”是最后一位管理员，不能停用。", name=user.username))
    if user.active != active:
        user.active = active
        _forget_sessions(user)
        db.session.commit()
