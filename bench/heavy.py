"""Citizens beside heavy desk work: respondent latency while evaluators download large results workbooks.

Loopback only, bounded in time; prints figures and whether the goal held. PostgreSQL with ``--responses``
(default 50,000) responses to the 20-question questionnaire; gunicorn (gthread, as ``gunicorn.conf.py``:
4 workers x 4 threads) serves the app in production mode. Then, at the same moment:

* ``--exports`` (default 16) export clients, spread over ``--viewers`` (default 8) viewer accounts, ask for
  ``results.xlsx`` (alternately in Chinese and in English, so each client's file is a file of its own and
  none is shared), follow the progress page every 2 s as a browser does, download the file, and ask again,
  until the end; a refusal (429 or 503) is waited out (``Retry-After``) and asked again;
* ``--respondents`` (default 4) citizens, each once a second: open the form, submit it (a new device each
  time). Every page view and every submission is timed; one never answered (60 s) or cut counts at the time
  it waited.

After ``--seconds`` (default 60) it prints the respondents' p50/p90/p99/max (the goal: p99 <= 300 ms), how
many exports finished, how long they took, and how many were refused. ``--direct`` switches export jobs
off (``FLASK_EXPORT_JOBS=false``): each workbook is then made inside its request, as before issue 22.

    python bench/heavy.py                        # 50,000 responses, 16 exports, 60 s
    python bench/heavy.py --direct --seconds 60  # the old behaviour, for comparison
    python bench/heavy.py --viewers 1            # one viewer asking 16 times (8 distinct files, cap 2 each)

Rate limits are off (every client shares one loopback address).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import sys
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import synthetic_answers, twenty_questions  # noqa: E402 - after the path set-up, like a script
from bench.phones import (  # noqa: E402
    Connection,
    PageRefused,
    Phone,
    count_rows,
    drop_database,
    fresh_database,
    keep_cookies,
    percentile,
    print_json,
    start_gunicorn,
    temporary_folder,
)

GOAL_P99_MS = 300
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
STATUS = re.compile(r'data-status="(\w+)"')


def prepare(url: str, responses: int, viewers: int) -> tuple[str, int]:
    """Migrate, publish the questionnaire, add the viewers and fill it; its public token and id."""
    from flask_migrate import upgrade

    from app import create_app
    from survey.accounts.access import add_member
    from survey.accounts.users import create_user
    from survey.platform.extensions import db
    from survey.questionnaires import publishing
    from tests.conftest import make_config

    app = create_app(make_config(url))
    with app.app_context():
        upgrade()
        owner = create_user("bench", "bench-password-1")
        project = publishing.create_project(owner, name="基准测试")
        questionnaire = publishing.import_questionnaire(project, twenty_questions())
        questionnaire.min_seconds = None  # the simulated respondents answer in milliseconds
        publishing.publish(questionnaire)
        for number in range(viewers):
            add_member(project, create_user(f"viewer{number}", "viewer-password-1"), "viewer")
        db.session.commit()
        token, qid, vid = questionnaire.public_token, questionnaire.id, questionnaire.current_version_id
        definition = questionnaire.current_version.definition
        db.engine.dispose()
    started = time.perf_counter()
    _copy_responses(url, qid, vid, definition, responses)
    print(f"  {responses:,} responses loaded in {time.perf_counter() - started:.1f} s")
    return token, qid


def _copy_responses(url: str, qid: int, vid: int, definition: dict, count: int) -> None:
    """``count`` plausible responses with their analysis codes, by COPY (the bench measures reading them)."""
    import psycopg

    from survey.responses.coding import response_codes, response_extras

    rng = random.Random(1)
    pool = []
    for _ in range(5000):
        answers = synthetic_answers(rng)
        pool.append((json.dumps(answers, ensure_ascii=False), response_codes(definition, answers)))
        pool[-1] += (response_extras(definition, answers),)
    when = datetime(2026, 11, 1)
    columns = (
        "questionnaire_id, version_id, submission_id, submitted_at, duration_seconds, channel, status, "
        "answers, codes, extras, flags, reviewed, number, mode"
    )
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        with conn.cursor().copy(f"COPY response ({columns}) FROM STDIN") as copy:
            for number in range(1, count + 1):
                answers, codes, extras = pool[number % 5000]
                copy.write_row(
                    (qid, vid, uuid.uuid4().hex, when, rng.randint(40, 600), "web", "valid", answers, codes, extras,
                     "[]", False, number, "web")
                )  # fmt: skip
        conn.execute(
            "UPDATE questionnaire SET accepted_count = %s, last_response_number = %s WHERE id = %s",
            (count, count, qid),
        )
        conn.execute("ANALYZE response")


class Tally:
    """What the clients saw; appended to under ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.respondent_ms: list[float] = []
        self.page_ms: list[float] = []
        self.submit_ms: list[float] = []
        self.respondent_failures: dict[str, int] = {}
        self.export_seconds: list[float] = []
        self.export_bytes: list[int] = []
        self.export_refused: dict[str, int] = {}
        self.export_failed: dict[str, int] = {}
        self.progress_ms: list[float] = []

    def count(self, table: dict[str, int], what: str) -> None:
        with self.lock:
            table[what] = table.get(what, 0) + 1


def respondent(port: int, path: str, deadline: float, seed: int, tally: Tally) -> None:
    """A citizen once a second: the form, then the submission, as a new device each time."""
    rng = random.Random(seed)
    next_at = time.monotonic() + rng.random()
    while next_at < deadline:
        time.sleep(max(0.0, next_at - time.monotonic()))
        next_at += 1.0
        phone = Phone(port, path, rng)
        started = time.perf_counter()
        try:
            hidden = phone.fetch_form()
            page = (time.perf_counter() - started) * 1000
            body = phone.answers_body(hidden)
            started = time.perf_counter()
            status, _ = phone.request("POST", path, body)
            submit = (time.perf_counter() - started) * 1000
        except PageRefused as refused:
            tally.count(tally.respondent_failures, str(refused.args[0]))
            continue
        except (OSError, http.client.HTTPException) as error:  # unanswered (60 s) or cut: counted at its wait
            tally.count(tally.respondent_failures, type(error).__name__)
            with tally.lock:
                tally.respondent_ms.append((time.perf_counter() - started) * 1000)
            continue
        finally:
            if phone.connection is not None:
                phone.connection.close()
        with tally.lock:
            tally.page_ms.append(page)
            tally.respondent_ms.append(page)
            if status == 303:
                tally.submit_ms.append(submit)
                tally.respondent_ms.append(submit)
            else:
                tally.respondent_failures[str(status)] = tally.respondent_failures.get(str(status), 0) + 1


def warm_up(port: int, path: str, times: int) -> None:
    """Open and submit the form ``times`` times, unmeasured: every worker has compiled its templates and filled
    its caches before the timing starts (a freshly booted worker's first page is slow whatever else runs)."""
    tally, deadline = Tally(), time.monotonic() + 120
    for number in range(times):
        phone = Phone(port, path, random.Random(-number))
        try:
            phone.request("POST", path, phone.answers_body(phone.fetch_form()))
        except (OSError, http.client.HTTPException, PageRefused):
            tally.count(tally.respondent_failures, "warm-up")
        if time.monotonic() > deadline:
            break


def sign_in(port: int, username: str) -> Phone:
    """A browser signed in as ``username`` (through the real form, CSRF token included)."""
    browser = Phone(port, "/login", random.Random())
    status, page = browser.request("GET", "/login")
    token = CSRF.search(page.decode())
    if status != 200 or token is None:
        raise RuntimeError(f"no sign-in form ({status})")
    body = f"csrf_token={token.group(1)}&username={username}&password=viewer-password-1".encode()
    status, _ = browser.request("POST", "/login", body)
    if status != 302:
        raise RuntimeError(f"{username} could not sign in ({status})")
    return browser


def exporter(browser: Phone, url: str, deadline: float, tally: Tally) -> None:
    """Ask for the workbook, follow its progress page, download it; again until the deadline."""
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            status, headers, body = _get(browser, url)
            if status == 303:  # a job: its progress page, every 2 s, as the page's Refresh header does
                job = headers["location"]
                while time.monotonic() < deadline + 600:
                    polled = time.perf_counter()
                    status, _headers, body = _get(browser, job)
                    with tally.lock:
                        tally.progress_ms.append((time.perf_counter() - polled) * 1000)
                    state = STATUS.search(body.decode())
                    if state is None or state.group(1) not in ("queued", "running"):
                        break
                    if time.monotonic() > deadline:
                        return  # the run is over; the job finishes on its own
                    time.sleep(2)
                if state is None or state.group(1) != "done":
                    tally.count(tally.export_failed, f"job {state.group(1) if state else status}")
                    continue
                status, _headers, body = _get(browser, job + "/download")
            if status in (429, 503):
                tally.count(tally.export_refused, str(status))
                time.sleep(min(30, max(0.0, deadline - time.monotonic())))
                continue
            if status != 200 or not body.startswith(b"PK"):
                tally.count(tally.export_failed, f"download {status}")
                continue
        except (OSError, http.client.HTTPException) as error:
            tally.count(tally.export_failed, type(error).__name__)
            continue
        if time.monotonic() <= deadline + 1:
            with tally.lock:
                tally.export_seconds.append(time.perf_counter() - started)
                tally.export_bytes.append(len(body))


def _get(browser: Phone, path: str) -> tuple[int, dict[str, str], bytes]:
    """A GET on a connection of its own (a poll every 2 s outlives gunicorn's keep-alive), keeping the
    response headers (``Phone.request`` keeps only cookies)."""
    connection = Connection(browser.port)
    connection.socket.settimeout(600)  # a workbook made inside its request (--direct) takes long
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{browser.port}", "Accept-Encoding: identity"]
    if browser.cookies:
        lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in browser.cookies.items()))
    lines.append("Connection: close")
    try:
        status, headers, body = connection.exchange(("\r\n".join(lines) + "\r\n\r\n").encode())
    finally:
        connection.close()
    keep_cookies(browser.cookies, [value for name, value in headers if name == "set-cookie"])
    return status, dict(headers), body


def run(args, folder: str) -> dict:
    """Load the database, serve it, run exporters and respondents together, and sum up."""
    url = fresh_database("postgresql", folder, "survey_bench_heavy")
    try:
        print(f"preparing {args.responses:,} responses (PostgreSQL) ...")
        token, qid = prepare(url, args.responses, args.viewers)
        if args.direct:
            os.environ["FLASK_EXPORT_JOBS"] = "false"
        server = start_gunicorn("app:create_app()", url, args.workers, args.threads, folder)
        tally = Tally()
        try:
            warm_up(server.port, f"/s/{token}", args.workers * 8)
            # Every exporter signs in first (argon2 takes a core for a while): the timing is of the exports alone.
            browsers = [sign_in(server.port, f"viewer{number % args.viewers}") for number in range(args.exports)]
            time.sleep(2)
            deadline = time.monotonic() + args.warmup + args.seconds
            threads = []
            for number, browser in enumerate(browsers):
                language = ("zh", "en")[(number // args.viewers) % 2]
                path = f"/desk/questionnaires/{qid}/results.xlsx?language={language}"
                threads.append(threading.Thread(target=exporter, args=(browser, path, deadline, tally)))
            for thread in threads:
                thread.start()
            time.sleep(args.warmup)  # every export asked for (and, with jobs, its process started) first
            respondents = [
                threading.Thread(target=respondent, args=(server.port, f"/s/{token}", deadline, seed, tally))
                for seed in range(args.respondents)
            ]
            for thread in respondents:
                thread.start()
            for thread in respondents + threads:
                thread.join(timeout=max(1.0, deadline - time.monotonic() + 660))
            jobs = count_rows(
                url,
                "SELECT status, count(*), avg(extract(epoch FROM finished_at - started_at)), "
                "avg(extract(epoch FROM coalesce(started_at, now() AT TIME ZONE 'UTC') - created_at)) "
                "FROM export_job GROUP BY status",
            )
        finally:
            server.stop()
            if args.log:
                Path(args.log).write_text(server.log.read_text())
        result = summary(args, tally, server.settings)
        result["jobs"] = {
            status: {"n": n, "run_s": round(float(run or 0), 1), "wait_s": round(float(wait or 0), 1)}
            for status, n, run, wait in jobs
        }
        return result
    finally:
        drop_database(url)


def summary(args, tally: Tally, settings: str) -> dict:
    def figures(values: list[float]) -> dict:
        if not values:
            return {"n": 0}
        return {
            "n": len(values),
            "p50_ms": round(percentile(values, 0.5), 1),
            "p90_ms": round(percentile(values, 0.9), 1),
            "p99_ms": round(percentile(values, 0.99), 1),
            "max_ms": round(max(values), 1),
        }

    return {
        "server": settings,
        "export_jobs": not args.direct,
        "responses": args.responses,
        "exports_running": args.exports,
        "viewers": args.viewers,
        "seconds": args.seconds,
        "respondents": figures(tally.respondent_ms),
        "form_pages": figures(tally.page_ms),
        "submissions": figures(tally.submit_ms),
        "respondent_failures": tally.respondent_failures,
        "exports_finished": len(tally.export_seconds),
        "export_seconds": [round(value, 1) for value in sorted(tally.export_seconds)],
        "export_mib": round(sum(tally.export_bytes) / max(1, len(tally.export_bytes)) / 2**20, 1),
        "exports_refused": tally.export_refused,
        "exports_failed": tally.export_failed,
        "progress_pages": figures(tally.progress_ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=50_000)
    parser.add_argument("--exports", type=int, default=16, help="export clients asking at once")
    parser.add_argument("--viewers", type=int, default=8, help="viewer accounts the export clients share")
    parser.add_argument("--respondents", type=int, default=4, help="citizens, each answering once a second")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=5, help="seconds the exports run before timing starts")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--direct", action="store_true", help="export jobs off: each file made in its request")
    parser.add_argument("--log", help="copy gunicorn's log (the app's lines included) to this file")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, load average {load:.1f} at start")
    with temporary_folder() as folder:
        result = run(args, folder)
    respondents = result["respondents"]
    print(
        f"respondents ({respondents['n']} requests): p50 {respondents.get('p50_ms')} ms, "
        f"p90 {respondents.get('p90_ms')} ms, p99 {respondents.get('p99_ms')} ms, max {respondents.get('max_ms')} ms; "
        f"failures {result['respondent_failures']}"
    )
    print(
        f"exports: {result['exports_finished']} finished ({result['export_mib']} MiB each), "
        f"refused {result['exports_refused']}, failed {result['exports_failed']}; seconds {result['export_seconds']}"
    )
    print_json("figures:", result)
    held = respondents["n"] > 0 and respondents["p99_ms"] <= GOAL_P99_MS and not result["respondent_failures"]
    print(f"GOAL respondent p99 <= {GOAL_P99_MS} ms:", "held" if held else "NOT held")
    sys.exit(0 if held else 1)


if __name__ == "__main__":
    main()
