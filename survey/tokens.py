"""Link tokens a person may have to type: questionnaire and channel links (``/s/<token>``), unit codes (``/u/<code>``).

They are printed on posters and letters beside the QR code, and some people type them. The first tokens
were URL-safe base64 (``secrets.token_urlsafe``): case-sensitive, with ``l``/``I``/``1`` and ``O``/``0``
side by side and a ``_`` or ``-`` at either end. New ones are Crockford's base32 in lower case: digits and
letters without ``i``, ``l``, ``o`` and ``u``, so no two characters look alike; ten of them carry 50
random bits (the old eight carried 48). A typed token is read as Crockford reads it: case does not matter,
``o`` is ``0`` and ``i``/``l`` are ``1`` (``canonical``).

Existing tokens keep working unchanged: they are eight characters long and always looked up exactly, so no
old token can be mistaken for a new one. The models' column default still makes old-style tokens
(``survey.models.new_public_token``); every new row gets one of these instead, whoever creates it, through
the ``before_insert`` listeners below.
"""

from __future__ import annotations

import secrets

from sqlalchemy import event

from survey.models import Channel, Questionnaire, UnitCode

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base32, lower case
LENGTH = 10  # 50 bits
TYPED_AS = str.maketrans({"o": "0", "i": "1", "l": "1"})  # what Crockford reads the look-alikes as


def new_link_token() -> str:
    """A fresh random token of ``LENGTH`` characters from ``ALPHABET``."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def canonical(typed: str) -> str | None:
    """The new-style token a person meant by ``typed`` (any case, ``o`` for ``0``, ``i``/``l`` for ``1``,
    spaces around), or ``None`` if it cannot be one: then it is an old token, looked up as it is."""
    token = typed.strip().lower().translate(TYPED_AS)
    if len(token) != LENGTH or not all(character in ALPHABET for character in token):
        return None
    return token


def lookup_forms(typed: str) -> tuple[str, ...]:
    """The tokens to look for, in order: as given (every link and QR code), then as a person may have meant it."""
    meant = canonical(typed)
    return (typed,) if meant is None or meant == typed else (typed, meant)


# Every new link gets a token of this kind, whoever creates the row (desk, CLI, demo, imports).
_TOKEN_COLUMNS = ((Questionnaire, "public_token"), (Channel, "token"), (UnitCode, "code"))


def _give_token(attribute: str):
    def listener(_mapper, _connection, target) -> None:
        if getattr(target, attribute) is None:
            setattr(target, attribute, new_link_token())

    return listener


for _model, _attribute in _TOKEN_COLUMNS:
    event.listen(_model, "before_insert", _give_token(_attribute))
