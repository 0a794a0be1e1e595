"""Request ids and structured logs: one line per request, JSON in production, plain text in development.

Several app servers behind a proxy write interleaved logs; a request id (taken from the proxy's
``X-Request-ID`` when it looks sane, else made here, and returned in the response) ties a citizen's
complaint, the proxy's log line and the app's log line together. No raw IP is logged: at most a short
keyed hash of the client, enough to see one client repeating itself and useless for finding who it is.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
REQUEST_LOGGER = "survey.request"
REQUEST_LOG = logging.getLogger(REQUEST_LOGGER)  # once: ``getLogger`` takes logging's module lock on every call
QUIET_ENDPOINTS = ("health.livez", "health.readyz", "healthz", "static")
# Attributes every LogRecord has; anything else on a record came from ``extra=`` and goes into the JSON
# (but the request id, which has its own place in the line).
_NOT_EXTRA = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request id and any ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            entry["request_id"] = request_id
        entry.update({name: value for name, value in vars(record).items() if name not in _NOT_EXTRA})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """Readable lines for a developer's terminal, with the request id when there is one."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", None) or current_request_id()
        return f"{line} [{request_id}]" if request_id else line


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the moment (test runners and gunicorn swap it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def current_request_id() -> str | None:
    """The id of the request being served, if any."""
    return g.get("request_id") if has_request_context() else None


def incoming_request_id(value: str | None) -> str:
    """The proxy's id when it is a plausible token (no spaces, quotes or newlines to forge lines), else a new one."""
    if value and REQUEST_ID_PATTERN.match(value):
        return value
    return uuid.uuid4().hex


def configure_logging(log_format: str, level: str) -> None:
    """Send every logger's records to stderr in ``log_format``, once per process (apps may be built many times)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if isinstance(handler, _StderrHandler):
            handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
            return
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    _skip_unused_record_fields()


def _skip_unused_record_fields() -> None:
    """Stop ``logging`` filling in record fields no formatter here prints: the caller's file and line (a
    walk up the stack for every record), the thread's name and the multiprocessing process name.
    gunicorn's own format prints the process id, which stays. The switches are the ones the logging
    HOWTO's "Optimization" section names; with one line per request they were a visible share of a
    submission's time. Done only where this module configures logging.
    """
    logging._srcfile = None
    logging.logThreads = False
    logging.logMultiprocessing = False


def init_logging(app: Flask) -> None:
    """Request ids on every request, a log line per request, and the process's log format."""
    if not app.testing:
        configure_logging(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"])
    app.before_request(_start_request)
    app.after_request(_finish_request)


def _start_request() -> None:
    g.request_id = incoming_request_id(request.headers.get(REQUEST_ID_HEADER))
    g.request_started = time.perf_counter()


def _finish_request(response):
    """Return the id to the client and log the request: method, path (no query string), status, duration."""
    request_id = g.get("request_id") or incoming_request_id(None)
    response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    from survey.platform.hashing import keyed_hash  # here, so gunicorn's master can use the formatters without the app

    level = logging.DEBUG if request.endpoint in QUIET_ENDPOINTS else logging.INFO
    if not REQUEST_LOG.isEnabledFor(level):  # ``LOG_LEVEL=WARNING``: no line, so no client hash either
        return response
    client = keyed_hash("ip", request.remote_addr)
    REQUEST_LOG.log(
        level,
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "request_id": request_id,
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": duration_ms,
            "client": client[:12] if client else None,
        },
    )
    return response
