"""Link tokens a person may have to type: questionnaire and channel links (``/s/<token>``), unit codes (``/u/<code>``).

They are printed on posters and letters beside the QR code, and some people type them. The first tokens
were URL-safe base64 (``secrets.token_urlsafe``): case-sensitive, with ``l``/``I``/``1`` and ``O``/``0``
side by side and a ``_`` or ``-`` at either end. New ones are Crockford's base32 in lower case: digits and
letters without ``i``, ``l``, ``o`` and ``u``, so no two characters look alike; ten of them carry 50
random bits (the old eight carried 48). A typed token is read as Crockford reads it: case does not matter,
``o`` is ``0`` and ``i``/``l`` are ``1`` (``canonical``).

Existing tokens keep working unchanged: they are eight characters long and always looked up exactly, so no
old token can be mistaken for a new one. Every new link gets one of these through the models' column default
(``survey.models.new_public_token``), whoever creates the row (desk, CLI, demo, imports); this module imports
no model, so the models can import it.
"""

from __future__ import annotations

import secrets

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
