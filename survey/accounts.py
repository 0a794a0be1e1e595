"""Evaluator accounts: argon2 password hashes and creation."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from survey.extensions import db
from survey.models import User

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 8


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


def create_user(username: str, password: str, display_name: str = "", is_admin: bool = False) -> User:
    """Create and commit an evaluator; refuses short passwords and taken usernames with ``ValueError``."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    if db.session.execute(db.select(User).filter_by(username=username)).scalar_one_or_none():
        raise ValueError(f"user {username!r} already exists")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=hash_password(password),
        is_admin=is_admin,
    )
    db.session.add(user)
    db.session.commit()
    return user
