"""Evaluator accounts: argon2 hashes, the password policy, login lockout, session versions, admin rules.

Everything here is plain functions on ``User`` rows so the sign-in view, the admin pages, the CLI and the
tests share one set of rules. Messages are plain Chinese (translated by Flask-Babel) because they are
shown to the person who has to act on them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _

from survey.extensions import db
from survey.models import User, utcnow

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10
MAX_FAILED_LOGINS = 5  # consecutive wrong passwords before the account is locked
LOCKOUT = timedelta(minutes=15)
# Verified against for unknown usernames, so "no such user" takes as long as "wrong password".
_DUMMY_HASH = _hasher.hash("not-a-real-password-only-for-timing")

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


def _dummy_verify(password: str) -> None:
    """Spend the same argon2 work as a real check, so response time does not tell whether a user exists."""
    try:
        _hasher.verify(_DUMMY_HASH, password)
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
    user.session_version += 1
    db.session.commit()


def end_all_sessions(user: User) -> None:
    """Log out everywhere: sessions and remember-me cookies carry the old version and are refused."""
    user.session_version += 1
    db.session.commit()


def session_token(user: User) -> str:
    """The value Flask-Login keeps in the session and the remember-me cookie: id and session version.

    Carrying the version in this one value means a bumped version invalidates both the session cookie and a
    long-lived remember-me cookie, which holds nothing else.
    """
    return f"{user.id}:{user.session_version}"


def user_for_token(token: str) -> User | None:
    """The active account a session token belongs to, or None when it is malformed, stale or deactivated."""
    user_id, _sep, version = token.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or int(version) != user.session_version:
        return None
    return user


# --- signing in: throttling and lockout ---------------------------------------------------------------


def _minutes_left(user: User) -> int | None:
    """Whole minutes (rounded up) the account stays locked, or None when it is not locked."""
    if user.locked_until is None:
        return None
    seconds = (user.locked_until - utcnow()).total_seconds()
    return math.ceil(seconds / 60) if seconds > 0 else None


def authenticate(username: str, password: str) -> LoginResult:
    """Check a sign-in attempt, counting failures and locking the account after too many in a row.

    A locked account refuses even the right password until the lock runs out, so guessing cannot continue.
    Unknown usernames cost one argon2 verification like a real account and get the same refusal.
    """
    user = find_user(username)
    if user is None:
        _dummy_verify(password)
        return LoginResult()
    locked = _minutes_left(user)
    if locked is not None:
        _dummy_verify(password)
        return LoginResult(locked_minutes=locked)
    if check_password(user, password):
        if not user.active:
            return LoginResult()
        if user.failed_logins or user.locked_until:
            user.failed_logins, user.locked_until = 0, None
            db.session.commit()
        return LoginResult(user=user)
    return LoginResult(locked_minutes=_count_failure(user))


def _count_failure(user: User) -> int | None:
    """Add one failure (in the database, so parallel attempts all count); lock at the limit."""
    db.session.execute(db.update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1))
    db.session.refresh(user)
    if user.failed_logins < MAX_FAILED_LOGINS:
        db.session.commit()
        return None
    user.failed_logins = 0
    user.locked_until = utcnow() + LOCKOUT
    db.session.commit()
    return _minutes_left(user)


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
        user.session_version += 1
        db.session.commit()
