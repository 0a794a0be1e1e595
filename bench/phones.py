"""Simulated phones for the serving benchmarks (``bench/submit.py``, ``bench/load.py``).

Loopback only and bounded in time. A phone does what a citizen's browser does: fetch the form, read the
hidden CSRF token and submission id, post the answers with the cookies it was given, follow nothing
else. The load runs in several processes of many threads, so the client is not the bottleneck of a
Python server on the same two cores (it still takes CPU from it: the figures say so, they are not a
dedicated-client measurement).
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import synthetic_answers, twenty_questions  # noqa: E402 - after the path set-up

PG_ADMIN = os.environ.get("SURVEY_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
HIDDEN_NAMES = ("csrf_token", "submission_id", "started")
VALUE = re.compile(r'\bvalue="([^"]*)"')


# ---------------------------------------------------------------- databases


def fresh_database(kind: str, folder: str, name: str) -> str:
    """An empty database URL: a SQLite file in ``folder`` or a new PostgreSQL database ``name``."""
    if kind == "sqlite":
        return "sqlite:///" + os.path.join(folder, name + ".sqlite")
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return "postgresql+psycopg://" + PG_ADMIN.split("://", 1)[1].rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    """Remove a PostgreSQL database made by ``fresh_database`` (SQLite files go with their folder)."""
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def prepare_questionnaire(url: str, definition: dict | None = None, owner: str = "bench", **settings) -> str:
    """Migrate ``url`` and publish the 20-question questionnaire; return its public token.

    ``one_per_device`` stays on (each simulated phone has its own cookies) and the too-fast flag is
    off, since the phones answer in milliseconds.
    """
    from flask_migrate import upgrade

    from app import create_app
    from survey.accounts.users import create_user
    from survey.platform.extensions import db
    from survey.questionnaires import publishing
    from tests.conftest import make_config

    app = create_app(make_config(url))
    with app.app_context():
        upgrade()
        user = create_user(owner, "bench-password-1")
        project = publishing.create_project(user, name="基准测试")
        questionnaire = publishing.import_questionnaire(project, definition or twenty_questions())
        questionnaire.min_seconds = None
        for key, value in settings.items():
            setattr(questionnaire, key, value)
        publishing.publish(questionnaire)
        token = questionnaire.public_token
        db.session.commit()
        db.engine.dispose()
    return token


def count_rows(url: str, sql: str) -> list[tuple]:
    """Run one read query on the benchmark database with a plain driver (no app needed)."""
    if url.startswith("sqlite"):
        import sqlite3

        connection = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return conn.execute(sql).fetchall()


# ---------------------------------------------------------------- servers


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A gunicorn master serving one WSGI app on loopback, and how it was started."""

    process: subprocess.Popen
    port: int
    settings: str
    log: Path

    def worker_pids(self) -> list[int]:
        """The master's worker processes (children), read from /proc."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the workers have used so far, from /proc; workers must not be recycled."""
        total = 0
        for pid in self.worker_pids():
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """Graceful stop, then a hard one if the master lingers."""
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_gunicorn(
    app_spec: str, database_url: str, workers: int, threads: int, folder: str, env: dict | None = None
) -> Server:
    """Start gunicorn (gthread) on a free loopback port and wait until it answers.

    ``env`` adds to (or, with ``None`` values, removes from) the production settings below; rate limits are
    off unless it turns them on (``bench/stuffing.py`` measures them).
    """
    port = free_port()
    log = Path(folder) / f"gunicorn-{port}.log"
    settings = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "bench-" + os.urandom(16).hex(),
        "SURVEY_ENV": "production",
        "SESSION_COOKIE_SECURE": "0",
        "FLASK_RATELIMIT_ENABLED": "false",
        "PYTHONWARNINGS": "ignore",
        **(env or {}),
    }
    env = {name: value for name, value in settings.items() if value is not None}
    ready = Path(folder) / f"ready-{port}"
    ready.mkdir()
    hooks = Path(folder) / f"gunicorn-hooks-{port}.py"
    hooks.write_text(READY_HOOK.format(folder=str(ready)))
    command = [
        sys.executable, "-m", "gunicorn", "--config", str(hooks), "--worker-class", "gthread",
        "--workers", str(workers), "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--backlog", "2048",
        "--graceful-timeout", "10", "--log-level", "warning", "--chdir", str(ROOT), app_spec,
    ]  # fmt: skip
    with log.open("w") as output:  # the child keeps its own descriptor; ours is closed at once
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    server = Server(process, port, f"gunicorn gthread, {workers} workers x {threads} threads", log)
    _wait_until_up(server)
    _wait_until_booted(server, ready, workers)
    return server


# Each worker marks itself ready once it has loaded the app: a worker importing the service (pandas, SciPy,
# WeasyPrint…) takes seconds of CPU, and phones started before every worker is up would measure the boot.
READY_HOOK = """
from pathlib import Path


def post_worker_init(worker):
    Path({folder!r}, str(worker.pid)).touch()
"""


def _wait_until_booted(server: Server, ready: Path, workers: int, seconds: float = 180) -> None:
    """Wait until ``workers`` workers have loaded the app (each leaves a file in ``ready``)."""
    deadline = time.monotonic() + seconds
    while len(list(ready.iterdir())) < workers:
        if server.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("gunicorn workers did not boot:\n" + server.log.read_text()[-3000:])
        time.sleep(0.1)


def _wait_until_up(server: Server, seconds: float = 60) -> None:
    """Poll the port until gunicorn accepts connections; fail loudly with its log if it died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError("gunicorn exited:\n" + server.log.read_text()[-3000:])
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                time.sleep(0.5)  # workers boot after the master binds
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start:\n" + server.log.read_text()[-3000:])


# ---------------------------------------------------------------- one phone


@dataclass
class Tally:
    """What one client process saw."""

    accepted: list[str] = field(default_factory=list)  # submission ids the server acknowledged (303)
    latencies_ms: list[float] = field(default_factory=list)  # of acknowledged submissions
    page_latencies_ms: list[float] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)  # status -> count
    errors: int = 0  # connection broken mid-request (e.g. a killed worker)
    retried: int = 0  # posts repeated with the same submission id after an error
    client_cpu_s: float = 0.0  # CPU time the phones' processes used (they share the server's cores)


class Phone:
    """One simulated respondent device: its own cookies and a keep-alive connection."""

    def __init__(self, port: int, path: str, rng: random.Random):
        self.port, self.path, self.rng = port, path, rng
        self.cookies: dict[str, str] = {}
        self.connection: Connection | None = None

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        """One HTTP exchange, keeping cookies as a browser does."""
        if self.connection is None:
            self.connection = Connection(self.port)
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}", "Accept-Encoding: identity",
                 "User-Agent: bench-phone"]  # fmt: skip
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if body is not None:
            lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
        try:
            status, headers, data = self.connection.exchange("\r\n".join(lines).encode() + b"\r\n\r\n" + (body or b""))
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = None
            raise
        keep_cookies(self.cookies, [value for name, value in headers if name == "set-cookie"])
        if any(name == "connection" and value.lower() == "close" for name, value in headers):
            self.connection.close()
            self.connection = None
        return status, data

    def fetch_form(self) -> dict[str, str]:
        """GET the questionnaire and read its hidden fields."""
        status, body = self.request("GET", self.path)
        if status != 200:
            raise PageRefused(status)
        return hidden_fields(body.decode())

    def answers_body(self, hidden: dict[str, str]) -> bytes:
        """The answers of a plausible respondent, form-encoded as the browser would send them."""
        return answers_body(hidden, encoded_answers(self.rng))


class Connection:
    """A keep-alive HTTP/1.1 connection with only what the phones need: a request's bytes out, the status,
    headers (names in lower case) and body back, by Content-Length or chunks.

    ``http.client`` parses each response's headers with the ``email`` package: for our pages, with their
    security headers and cookies, that was the larger part of a phone's CPU time, taken from the server
    on the same two cores, and more from ours than from the bare app with its four headers.
    """

    def __init__(self, port: int):
        self.socket = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.socket.makefile("rb")

    def exchange(self, request: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send ``request``; the response's status, headers and body."""
        self.socket.sendall(request)
        parts = self.reader.readline().split(None, 2)
        if len(parts) < 2 or not parts[1].isdigit():
            raise http.client.BadStatusLine(repr(parts))
        headers = []
        while (line := self.reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name.strip().lower(), value.strip()))
        fields = dict(headers)
        if "content-length" in fields:
            body = self._exactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            body = self._chunks()
        else:
            body = self.reader.read()
        return int(parts[1]), headers, body

    def _exactly(self, size: int) -> bytes:
        data = self.reader.read(size)
        if len(data) < size:
            raise http.client.IncompleteRead(data, size - len(data))
        return data

    def _chunks(self) -> bytes:
        body = b""
        while size := int(self.reader.readline().split(b";")[0].strip() or b"0", 16):
            body += self._exactly(size)
            self.reader.readline()
        while self.reader.readline() not in (b"\r\n", b"\n", b""):  # trailers
            pass
        return body

    def close(self) -> None:
        self.reader.close()
        self.socket.close()


def hidden_fields(page: str) -> dict[str, str]:
    """The per-request hidden inputs of a served form: CSRF token, submission id, start time.

    Found by their names with ``str.find`` rather than by a regular expression over the whole page: the
    phones run on the server's two cores, and scanning every tag of a 21 KB page took a tenth of a
    millisecond per page view from the server being measured (the bare app's page has no other tags).
    """
    fields = {}
    for name in HIDDEN_NAMES:
        at = page.find(f'name="{name}"')
        if at < 0:
            continue
        tag = page[page.rfind("<input", 0, at) : page.find(">", at)]
        value = VALUE.search(tag)
        fields[name] = value.group(1) if value else ""
    return fields


def answers_body(hidden: dict[str, str], answers: bytes) -> bytes:
    """``hidden`` and already encoded answers (``encoded_answers``), form-encoded as the browser sends them."""
    return urllib.parse.urlencode(list(hidden.items())).encode() + b"&" + answers


def encoded_answers(rng: random.Random) -> bytes:
    """A plausible respondent's answers, form-encoded (a checkbox's values as repeated fields)."""
    pairs = []
    for key, value in synthetic_answers(rng).items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((key, str(item)))
    return urllib.parse.urlencode(pairs).encode()


def keep_cookies(cookies: dict[str, str], set_cookie_headers) -> None:
    """Keep the cookies of a response's ``Set-Cookie`` headers, as a browser does (name and value only)."""
    for header in set_cookie_headers:
        name, _, rest = header.partition("=")
        cookies[name.strip()] = rest.split(";", 1)[0]


class PageRefused(Exception):
    """The form page did not answer 200 (full, closed, rate-limited)."""


def _phone_loop(port: int, path: str, deadline: float, seed: int, tally: Tally, lock: threading.Lock,
                retry: bool) -> None:  # fmt: skip
    """Answer again and again as new devices until the deadline; retry a broken post as a phone would."""
    rng = random.Random(seed)
    if retry is None:  # pages only: the same phone reloads the form over its keep-alive connection
        _page_loop(Phone(port, path, rng), deadline, tally, lock)
        return
    while time.monotonic() < deadline:
        phone = Phone(port, path, rng)  # a new respondent: new device cookie and session
        try:
            started = time.perf_counter()
            hidden = phone.fetch_form()
            page_ms = (time.perf_counter() - started) * 1000
        except PageRefused as refused:
            with lock:
                tally.refused[str(refused.args[0])] = tally.refused.get(str(refused.args[0]), 0) + 1
            continue
        except (OSError, http.client.HTTPException):
            with lock:
                tally.errors += 1
            continue
        body = phone.answers_body(hidden)
        _post_until_answered(phone, body, hidden.get("submission_id", ""), page_ms, tally, lock, retry, deadline)


def _page_loop(phone: Phone, deadline: float, tally: Tally, lock: threading.Lock) -> None:
    """Fetch the answer page again and again; each fetch counts as one page view."""
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            phone.fetch_form()
        except (OSError, http.client.HTTPException, PageRefused):
            with lock:
                tally.errors += 1
            continue
        with lock:
            tally.page_latencies_ms.append((time.perf_counter() - started) * 1000)


def _post_until_answered(phone: Phone, body: bytes, submission_id: str, page_ms: float, tally: Tally,
                         lock: threading.Lock, retry: bool, deadline: float) -> None:  # fmt: skip
    """Post once; after a broken connection post the same body again (same submission id) if ``retry``."""
    for attempt in range(5):
        started = time.perf_counter()
        try:
            status, _ = phone.request("POST", phone.path, body)
        except (OSError, http.client.HTTPException):
            with lock:
                tally.errors += 1
                tally.retried += 1 if retry and attempt < 4 else 0
            if not retry or time.monotonic() > deadline + 20:
                return
            time.sleep(0.2)
            continue
        elapsed = (time.perf_counter() - started) * 1000
        with lock:
            if status == 303:
                tally.accepted.append(submission_id)
                tally.latencies_ms.append(elapsed)
                tally.page_latencies_ms.append(page_ms)
            else:
                tally.refused[str(status)] = tally.refused.get(str(status), 0) + 1
        return


def _client_process(port: int, path: str, threads: int, seconds: float, seed: int, retry: bool | None,
                    queue) -> None:  # fmt: skip
    """One client process: ``threads`` phones for ``seconds``; the tally goes back through ``queue``."""
    tally, lock = Tally(), threading.Lock()
    deadline = time.monotonic() + seconds
    workers = [
        threading.Thread(target=_phone_loop, args=(port, path, deadline, seed * 1000 + i, tally, lock, retry))
        for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue.put(tally.__dict__)


def run_phones(port: int, path: str, clients: int, seconds: float, processes: int = 4, retry: bool | None = False,
               during=None) -> Tally:  # fmt: skip
    """``clients`` concurrent phones for ``seconds``, spread over ``processes``; merged tally.

    ``retry``: False posts once, True re-posts the same answers after a broken connection as a phone
    whose user taps again would, None only fetches pages (no submissions).

    ``during`` (optional) is called in this process while the phones run, e.g. to kill a worker.
    """
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    per_process = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    started = [
        context.Process(target=_client_process, args=(port, path, n, seconds, i + 1, retry, queue))
        for i, n in enumerate(per_process)
        if n
    ]
    before = _children_cpu()
    for process in started:
        process.start()
    if during is not None:
        during()
    parts = [queue.get() for _ in started]
    for process in started:
        process.join()
    merged = merge_tallies([Tally(**part) for part in parts])
    merged.client_cpu_s = _children_cpu() - before
    return merged


def merge_tallies(tallies: list[Tally]) -> Tally:
    """One tally of several (client processes, or rounds of a benchmark)."""
    merged = Tally()
    for part in tallies:
        merged.accepted += part.accepted
        merged.latencies_ms += part.latencies_ms
        merged.page_latencies_ms += part.page_latencies_ms
        merged.errors += part.errors
        merged.retried += part.retried
        merged.client_cpu_s += part.client_cpu_s
        for status, count in part.refused.items():
            merged.refused[status] = merged.refused.get(status, 0) + count
    return merged


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished and reaped children: the phones' processes."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (no interpolation), 0 for an empty list."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(share * len(ordered))) - 1))]


def temporary_folder() -> tempfile.TemporaryDirectory:
    """Where the benchmark keeps its SQLite files and server logs."""
    return tempfile.TemporaryDirectory(prefix="survey-bench-")


def print_json(label: str, figures: dict) -> None:
    """Figures as one JSON line too, so docs can quote them exactly."""
    print(label, json.dumps(figures, ensure_ascii=False))
