"""Where the browser may be sent after signing in: a path on this site, nothing else.

A ``next`` value comes from the address bar, so an attacker can write it. Browsers forgive a lot on the way
from a ``Location`` header to a request: they drop tabs and newlines, read ``\\`` as ``/``, and some fold
full-width ``／`` into ``/``; so ``/\\t/evil.example`` and ``/\\evil.example`` both end up at another site.
The check below accepts only what needs no forgiving, at every layer of percent-decoding.
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit

DECODING_LAYERS = 3  # a value still changing after this many decodings is refused, not followed


def is_local_path(target: str | None) -> bool:
    """True for a same-origin path such as ``/desk/projects/3?tab=x``; False for anything a browser could read
    as another site, and for anything odd (non-ASCII as given, control characters, spaces, backslashes)."""
    if not target or not target.isascii():
        return False
    layer = target
    for _layer in range(DECODING_LAYERS):
        if not (_plain_path(layer) and _plain_path(unicodedata.normalize("NFKC", layer))):
            return False
        decoded = unquote(layer)
        if decoded == layer:
            return True
        layer = decoded
    return False


def _plain_path(text: str) -> bool:
    """One layer: no whitespace, control, format or separator characters, no backslash, no scheme or host,
    and a path that starts with exactly one ``/``."""
    if any(char.isspace() or unicodedata.category(char)[0] in "CZ" for char in text) or "\\" in text:
        return False
    parts = urlsplit(text)
    return not parts.scheme and not parts.netloc and text.startswith("/") and not text.startswith("//")
