"""Gunicorn settings for the survey service: ``gunicorn -c gunicorn.conf.py`` (see docs/deploy.md).

Threads (gthread) rather than processes alone: a submission spends most of its time waiting on the
database, so a few processes with several threads each keep two cores busy with little memory. The app
is not preloaded, so each worker opens its own database pool after the fork (a pool shared across a
fork hands one connection to two processes). Every setting can be changed from the environment.
"""

from __future__ import annotations

import multiprocessing
import os

from gunicorn.glogging import Logger

from survey.platform.logs import JsonFormatter


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


wsgi_app = "app:create_app()"
bind = (os.environ.get("GUNICORN_BIND") or "127.0.0.1:8000").split(",")
worker_class = "gthread"
workers = _int("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count())  # 4 on a 2-core machine
threads = _int("GUNICORN_THREADS", 4)  # keep ≤ the SQLAlchemy pool size (5) so no thread waits for a connection
timeout = _int("GUNICORN_TIMEOUT", 60)  # a report PDF may take tens of seconds; a submission takes milliseconds
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)  # on restart, requests in flight finish first
keepalive = _int("GUNICORN_KEEPALIVE", 5)
max_requests = _int("GUNICORN_MAX_REQUESTS", 20000)  # recycle workers now and then; jitter so not all at once
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 2000)
preload_app = False
# Whose X-Forwarded-* headers gunicorn itself believes (for wsgi.url_scheme); the app's ProxyFix is
# governed by PROXY_FIX_HOPS. Both should describe the same proxy.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1,::1"
# The app logs one line per request itself (with its request id); gunicorn's access log is off unless asked.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
loglevel = (os.environ.get("LOG_LEVEL") or "info").lower()


class JsonLogger(Logger):
    """Gunicorn's own lines (startup, worker restarts, access) as the same one-line JSON as the app's.

    The access line has the request id the app put in the response, and no client address.
    """

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        status = str(resp.status).split(None, 1)[0]
        duration_ms = round(request_time.total_seconds() * 1000, 1)
        headers = {name.lower(): value for name, value in (resp.headers or [])}
        self.access_log.info(
            "%s %s %s",
            environ.get("REQUEST_METHOD"),
            environ.get("PATH_INFO"),
            status,
            extra={
                "request_id": headers.get("x-request-id"),
                "method": environ.get("REQUEST_METHOD"),
                "path": environ.get("PATH_INFO"),
                "status": int(status) if status.isdigit() else status,
                "duration_ms": duration_ms,
                "bytes": getattr(resp, "sent", None),
            },
        )


if (os.environ.get("LOG_FORMAT") or "json") == "json":
    logger_class = JsonLogger
