"""Read-API tokens: making one for an evaluator, and what of it is stored.

The token pages (``survey.accounts.api_tokens_views``) issue tokens and the API (``survey.projects.api_views``) checks
them; both
need these, so they live apart from either view.
"""

from __future__ import annotations

import hashlib
import secrets

from survey.models import ApiToken, User
from survey.platform.extensions import db

PREFIX_LENGTH = 8  # the start of a secret shown in the token list, so its owner can tell tokens apart


def hash_secret(secret: str) -> str:
    """What is stored of a token: the SHA-256 of its secret, in hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def issue_token(user: User, name: str) -> tuple[ApiToken, str]:
    """Create and commit a token; the secret is returned once and never stored."""
    secret = secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=hash_secret(secret), prefix=secret[:PREFIX_LENGTH])
    db.session.add(token)
    db.session.commit()
    return token, secret
