"""Ballot stuffing: how many responses one client can store in a minute, with and without proof of work.

One client (one address, as the service sees it) attacks a public link with each strategy for ``--seconds``
(60 by default); then the database says what was stored, how much of it is flagged ``too_fast`` and how
many devices it counts. The strategies, from the attack of issue 22 to the most patient one:

* ``replay``: open the form once, post it, then post it again and again under new submission ids, with a
  made-up device cookie each time and the start token (and solved challenge) of the one form (what stored
  120 in 60 s before the fix);
* ``untimed``: no form per ballot: a made-up device cookie, a new submission id and no start time;
* ``fresh``: a new browser per ballot (no cookies): open the form, post it at once;
* ``patient``: a new browser per ballot, and each form posted only once it is older than the
  questionnaire's ``min_seconds`` (30 s), so nothing it stores is flagged too fast.

With proof of work (``--pow-bits``, 20 by default, the "强" setting) each ballot's challenge is solved
in Python (``survey.respond.pow.solve``, one core, right after the form is opened: an attacker with more cores
solves proportionally more); ``replay`` and ``untimed`` reuse the one solved challenge, which names another
submission id.

By default it serves the app itself as docs/deploy.md sets it up: gunicorn (gthread) on a fresh PostgreSQL
database, rate limits on and counted in Redis (a key prefix of this run, deleted afterwards), behind one
trusted proxy (``PROXY_FIX_HOPS=1``) so each strategy comes from an address of its own and one strategy's
minute of rate limiting does not spill into the next. With ``--url`` it starts nothing and attacks the link
of a running server (each strategy from this machine's address: give ``--pause 60`` so the limiter's
minute ends between strategies); ``--database-url`` then lets it count what was stored.

    python bench/stuffing.py                            # both settings, every strategy, 60 s each
    python bench/stuffing.py --seconds 20 --strategies replay,fresh --no-pow
    python bench/stuffing.py --strategies patient --no-pow --ip-limit 10   # the questionnaire's own cap
    python bench/stuffing.py --url http://127.0.0.1:8000/s/<token> --database-url "$DATABASE_URL" --pause 60
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.phones import (  # noqa: E402 - after the path set-up, like a script
    Server,
    count_rows,
    drop_database,
    encoded_answers,
    fresh_database,
    keep_cookies,
    prepare_questionnaire,
    print_json,
    start_gunicorn,
    temporary_folder,
)
from survey.respond.pow import solve  # noqa: E402

STRATEGIES = ("replay", "untimed", "fresh", "patient")
MIN_SECONDS = 30  # the questionnaire's default: a faster response is flagged too_fast
REDIS_URL = os.environ.get("SURVEY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
HIDDEN = ("csrf_token", "submission_id", "started", "pow_challenge")


@dataclass
class Outcome:
    """What one strategy saw: statuses of its posts, and the submission ids the server acknowledged."""

    strategy: str
    pow_bits: int
    posts: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    acknowledged: set[str] = field(default_factory=set)
    forms_opened: int = 0
    solve_seconds: float = 0.0


class Browser:
    """One cookie jar on one HTTP connection; ``address`` is sent as X-Forwarded-For (honoured only behind a
    trusted proxy, as the served app here is)."""

    def __init__(self, base: urllib.parse.SplitResult, address: str):
        self.base, self.address, self.cookies = base, address, {}
        self.connection: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, str, dict]:
        if self.connection is None:
            kind = http.client.HTTPSConnection if self.base.scheme == "https" else http.client.HTTPConnection
            self.connection = kind(self.base.netloc, timeout=60)
        headers = {"X-Forwarded-For": self.address, "User-Agent": "bench-stuffing"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = form if isinstance(form, bytes) else urllib.parse.urlencode(form, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(2):  # the server may have closed a kept-alive connection: once more on a new one
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (OSError, http.client.HTTPException):
                self.connection.close()
                if attempt:
                    self.connection = None
                    raise
                kind = http.client.HTTPSConnection if self.base.scheme == "https" else http.client.HTTPConnection
                self.connection = kind(self.base.netloc, timeout=60)
        keep_cookies(self.cookies, response.headers.get_all("Set-Cookie") or [])
        return response.status, text, dict(response.headers)

    def open_form(self, path: str) -> dict[str, str] | None:
        """GET the form; its hidden fields, or ``None`` when it was refused (a rate limit)."""
        status, page, _headers = self.request("GET", path)
        if status != 200:
            return None
        return hidden_fields(page)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden inputs a served form carries (CSRF token, submission id, start token, challenge)."""
    fields = {}
    for name in HIDDEN:
        at = page.find(f'name="{name}"')
        if at < 0:
            continue
        tag = page[page.rfind("<input", 0, at) : page.find(">", at)]
        start = tag.find('value="')
        fields[name] = tag[start + 7 : tag.find('"', start + 7)] if start >= 0 else ""
    return fields


def ballot(hidden: dict[str, str], answers: bytes, bits: int, outcome: Outcome) -> bytes:
    """The form body of one ballot: its hidden fields (with a solved challenge when one is asked) and answers."""
    fields = dict(hidden)
    if bits and fields.get("pow_challenge"):
        began = time.monotonic()
        fields["pow_nonce"] = solve(fields["pow_challenge"], bits)
        outcome.solve_seconds += time.monotonic() - began
    return urllib.parse.urlencode(list(fields.items())).encode() + b"&" + answers


def post(browser: Browser, path: str, body: bytes, submission_id: str, outcome: Outcome) -> int:
    status = browser.request("POST", path, body)[0]
    outcome.posts += 1
    outcome.statuses[str(status)] = outcome.statuses.get(str(status), 0) + 1
    if status == 303:
        outcome.acknowledged.add(submission_id)
    return status


def made_up_device() -> str:
    return uuid.uuid4().hex


def attack(strategy: str, base, path: str, address: str, seconds: float, bits: int, rng) -> Outcome:
    """One strategy from one address for ``seconds``."""
    outcome = Outcome(strategy, bits)
    deadline = time.monotonic() + seconds
    if strategy in ("replay", "untimed"):
        browser = Browser(base, address)
        hidden = browser.open_form(path)  # a CSRF token and its cookie: the one form of this client
        outcome.forms_opened += 1
        if hidden is None:
            return outcome
        first = ballot(hidden, encoded_answers(rng), bits, outcome)  # its challenge solved once, then reused
        nonce = urllib.parse.parse_qs(first.decode()).get("pow_nonce", [""])[0]
        if strategy == "replay":
            post(browser, path, first, hidden["submission_id"], outcome)  # the form as it was served: stored
        while time.monotonic() < deadline:
            fields = dict(hidden, submission_id=uuid.uuid4().hex, **({"pow_nonce": nonce} if nonce else {}))
            if strategy == "untimed":
                fields.pop("started", None)
            browser.cookies["sv_device"] = made_up_device()
            body = ballot(fields, encoded_answers(rng), 0, outcome)
            if post(browser, path, body, fields["submission_id"], outcome) == 429:
                time.sleep(1)
        browser.close()
        return outcome
    waiting: list[tuple[float, Browser, bytes, str]] = []  # ``patient``: forms opened (and solved), in order
    while time.monotonic() < deadline:
        now = time.monotonic()
        if strategy == "patient" and waiting and now - waiting[0][0] > MIN_SECONDS + 1:
            _opened, browser, body, submission_id = waiting.pop(0)
            status = post(browser, path, body, submission_id, outcome)
            browser.close()
            if status == 429:
                time.sleep(1)
            continue
        if strategy == "patient" and now > deadline - MIN_SECONDS - 1:
            time.sleep(0.2)  # a form opened now could not be posted in time
            continue
        browser = Browser(base, address)  # a new browser: no cookies, a new signed device from the page
        hidden = browser.open_form(path)
        outcome.forms_opened += 1
        if hidden is None:
            browser.close()
            time.sleep(1)
            continue
        opened = time.monotonic()
        body = ballot(hidden, encoded_answers(rng), bits, outcome)  # solved at once: while it waits
        if strategy == "patient":
            waiting.append((opened, browser, body, hidden["submission_id"]))
            continue
        status = post(browser, path, body, hidden["submission_id"], outcome)
        browser.close()
        if status == 429:
            time.sleep(1)
    for _opened, browser, _body, _submission_id in waiting:
        browser.close()
    return outcome


def stored(database_url: str, outcome: Outcome) -> dict:
    """What the database holds of the submission ids this strategy sent and had acknowledged."""
    if not outcome.acknowledged:
        return {"stored": 0, "flagged_too_fast": 0, "devices": 0, "without_device": 0, "timed": 0}
    ids = ", ".join("'" + sid.replace("'", "") + "'" for sid in outcome.acknowledged)
    sql = (
        "SELECT COUNT(*), "
        "SUM(CASE WHEN CAST(flags AS TEXT) LIKE '%too_fast%' THEN 1 ELSE 0 END), "
        "COUNT(DISTINCT device_hash), SUM(CASE WHEN device_hash IS NULL THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN duration_seconds IS NOT NULL THEN 1 ELSE 0 END) "
        f"FROM response WHERE submission_id IN ({ids})"
    )
    total, too_fast, devices, without, timed = count_rows(database_url, sql)[0]
    return {
        "stored": total,
        "flagged_too_fast": int(too_fast or 0),
        "devices": devices,
        "without_device": int(without or 0),
        "timed": int(timed or 0),
    }


def start_server(database_url: str, folder: str, prefix: str, workers: int, threads: int) -> Server:
    """gunicorn (gthread) as docs/deploy.md runs it: production settings, rate limits in Redis, one proxy."""
    limits = {
        "REDIS_URL": REDIS_URL,
        "FLASK_RATELIMIT_KEY_PREFIX": prefix,
        "PROXY_FIX_HOPS": "1",
        "FLASK_RATELIMIT_ENABLED": None,  # the limits as deployed
    }
    return start_gunicorn("app:create_app()", database_url, workers, threads, folder, env=limits)


def delete_redis_keys(prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        for key in client.scan_iter(f"*{prefix}*"):
            client.delete(key)
    finally:
        client.close()


def report(outcome: Outcome, counts: dict | None) -> dict:
    figures = {
        "strategy": outcome.strategy,
        "pow_bits": outcome.pow_bits,
        "posts": outcome.posts,
        "statuses": outcome.statuses,
        "acknowledged": len(outcome.acknowledged),
        "forms_opened": outcome.forms_opened,
    }
    if outcome.pow_bits:
        figures["solve_seconds"] = round(outcome.solve_seconds, 1)
    if counts is not None:
        figures.update(counts)
        figures["stored_unflagged"] = counts["stored"] - counts["flagged_too_fast"]
    line = f"  {outcome.strategy:8} pow {outcome.pow_bits or 'off':>3}: {outcome.posts} posts {outcome.statuses}"
    if counts is not None:
        line += (
            f" -> stored {counts['stored']}, too_fast {counts['flagged_too_fast']}, "
            f"unflagged {figures['stored_unflagged']}, devices {counts['devices']}"
        )
    print(line, flush=True)
    return figures


def run_served(args) -> list[dict]:
    """Serve the app on a fresh PostgreSQL database and attack a link of each setting with each strategy."""
    results = []
    prefix = f"stuffing-{uuid.uuid4().hex[:8]}"
    with temporary_folder() as folder:
        url = fresh_database("postgresql", folder, "survey_bench_stuffing")
        server = None
        try:
            tokens = {}
            for bits in args.settings:
                tokens[bits] = prepare_questionnaire(
                    url, owner=f"bench-{bits}", min_seconds=MIN_SECONDS, pow_bits=bits or None, ip_limit=args.ip_limit
                )
            server = start_server(url, folder, prefix, args.workers, args.threads)
            base = urllib.parse.urlsplit(f"http://127.0.0.1:{server.port}")
            limit = f", questionnaire ip_limit {args.ip_limit}" if args.ip_limit else ""
            print(
                f"server: {server.settings}, PostgreSQL, rate limits in Redis{limit}; {args.seconds:.0f} s per strategy"
            )
            rng = random.Random(22)
            for number, (bits, strategy) in enumerate((b, s) for b in args.settings for s in args.strategies):
                address = f"198.51.100.{number + 1}"  # one client per strategy (TEST-NET-2)
                outcome = attack(strategy, base, f"/s/{tokens[bits]}", address, args.seconds, bits, rng)
                results.append(report(outcome, stored(url, outcome)))
        finally:
            if server is not None:
                server.stop()
            drop_database(url)
            delete_redis_keys(prefix)
    return results


def run_external(args) -> list[dict]:
    """Attack the link ``args.url`` of a running server."""
    parts = urllib.parse.urlsplit(args.url)
    base, path = parts, parts.path
    bits = args.pow_bits if args.pow_bits_of_link else 0
    rng, results = random.Random(22), []
    for index, strategy in enumerate(args.strategies):
        if index and args.pause:
            time.sleep(args.pause)
        outcome = attack(strategy, base, path, "203.0.113.1", args.seconds, bits, rng)
        results.append(report(outcome, stored(args.database_url, outcome) if args.database_url else None))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--pow-bits", type=int, default=20, help="the proof-of-work setting measured besides none")
    parser.add_argument("--no-pow", action="store_true", help="measure without proof of work only")
    parser.add_argument("--ip-limit", type=int, help="the questionnaire's own limit per address (per 60 minutes)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--url", help="attack this link of a running server instead of serving the app")
    parser.add_argument("--pow-bits-of-link", action="store_true", help="with --url: the link asks --pow-bits")
    parser.add_argument("--database-url", help="with --url: that server's database, to count what was stored")
    parser.add_argument("--pause", type=float, default=0, help="with --url: seconds between strategies")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args()
    args.strategies = [name for name in args.strategies.split(",") if name]
    unknown = set(args.strategies) - set(STRATEGIES)
    if unknown:
        parser.error(f"unknown strategies: {', '.join(sorted(unknown))}")
    args.settings = [0] if args.no_pow else [0, args.pow_bits]
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}; the client shares the cores")
    results = run_external(args) if args.url else run_served(args)
    print_json("figures:", {"seconds": args.seconds, "results": results})
    if args.json:
        Path(args.json).write_text(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
