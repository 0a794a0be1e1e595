"""Static files with their content in their address, so a phone fetches each once and never asks again.

Served the plain way, every page view made a phone ask again for each stylesheet and script (``no-cache``:
a round trip per file on a slow mobile network, even when nothing had changed). Now ``url_for('static',
filename=…)`` adds ``?v=`` and the first characters of the file's SHA-256, worked out once when the app
starts; a request carrying the current fingerprint is answered ``Cache-Control: public, max-age=31536000,
immutable``. A changed file gets a new address, so a long cache is never stale. A request without the
fingerprint, or with an outdated one (a page cached from before a deploy), is served as before: ``no-cache``.

With ``DEBUG`` on, a file's fingerprint is worked out again when its size or time changes, so an edited
stylesheet shows on the next page view without a restart. nginx serves ``/static/`` itself in production
with the same rule (``docs/deploy.md``).
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask, current_app, request

YEAR = 365 * 24 * 3600
IMMUTABLE = "immutable"
FINGERPRINT_CHARS = 12  # hex digits of the SHA-256: 48 bits, ample to tell one version of a file from the next
VERSION_ARG = "v"


class Fingerprints:
    """The fingerprint of every file under one static folder, by its name as ``url_for`` takes it."""

    def __init__(self, folder: Path, watch: bool = False) -> None:
        self.folder, self.watch = folder, watch
        self._known: dict[str, tuple[tuple[int, int], str]] = {}
        for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
            if path.is_file():
                self._remember(path.relative_to(folder).as_posix(), path)

    def _remember(self, name: str, path: Path) -> str | None:
        try:
            stat = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:FINGERPRINT_CHARS]
        except OSError:
            return None
        self._known[name] = ((stat.st_mtime_ns, stat.st_size), digest)
        return digest

    def of(self, name: str) -> str | None:
        """The file's fingerprint; ``None`` for a file that is not there (its URL then carries none)."""
        known = self._known.get(name)
        if not self.watch:
            return known[1] if known else None
        path = self.folder / name
        try:
            stat = path.stat()
        except OSError:
            return None
        if known and known[0] == (stat.st_mtime_ns, stat.st_size):
            return known[1]
        return self._remember(name, path) if path.resolve().is_relative_to(self.folder.resolve()) else None


def init_app(app: Flask) -> None:
    """Work out the fingerprints and make ``url_for('static', …)`` carry them."""
    folder = Path(app.static_folder) if app.static_folder else None
    if folder is None:
        return
    app.extensions["static_fingerprints"] = Fingerprints(folder, watch=app.debug)
    app.url_defaults(_add_fingerprint)


def _fingerprints() -> Fingerprints | None:
    return current_app.extensions.get("static_fingerprints")


def _add_fingerprint(endpoint: str, values: dict) -> None:
    """``url_for('static', filename=…)``: ``?v=<fingerprint>`` unless the caller set a ``v`` of its own."""
    if endpoint != "static" or VERSION_ARG in values or not (fingerprints := _fingerprints()):
        return
    fingerprint = fingerprints.of(str(values.get("filename", "")).lstrip("/").replace(os.sep, "/"))
    if fingerprint:
        values[VERSION_ARG] = fingerprint


def fingerprinted(filename: str) -> bool:
    """Whether this request asked for ``filename`` by its current fingerprint (so it may be cached for good)."""
    fingerprints = _fingerprints()
    wanted = request.args.get(VERSION_ARG)
    return bool(fingerprints and wanted) and wanted == fingerprints.of(filename)


def cache_for_good(response):
    """The headers of a fingerprinted file: a year, and no revalidation while it lasts.

    ``Expires`` says the same year for HTTP/1.0 caches and proxies that ignore ``Cache-Control``. (It must
    be given a date: Werkzeug writes ``response.expires = None`` as the current time, which told those
    caches the file was stale the moment it arrived.)
    """
    response.cache_control.public = True
    response.cache_control.max_age = YEAR
    response.cache_control.immutable = True
    response.cache_control.no_cache = None
    response.expires = datetime.now(UTC) + timedelta(seconds=YEAR)
    return response
