"""Reliability under load: nothing acknowledged is lost, nothing is stored twice or in part.

Loopback only, bounded in time; prints figures. For SQLite (WAL) and PostgreSQL: gunicorn (gthread)
serves the app; ``--phones`` simulated phones (fetch the form, read the CSRF token and submission id,
submit; after a broken connection they submit the same answers again, as a citizen tapping again
would) run for ``--seconds``. One worker is killed with SIGKILL a third of the way in and another
two thirds of the way in; gunicorn starts replacements. Afterwards the database is counted:

* acknowledged but not stored (lost): must be 0;
* stored twice (same submission id): must be 0 (the unique submission id makes a retry a no-op);
* stored in part (a response missing a required answer or its analysis codes): must be 0;
* stored but never acknowledged (the worker died after the commit, before its answer reached the
  phone, and the phone's retry was refused or never sent): allowed, and reported.

Rate limits are switched off (FLASK_RATELIMIT_ENABLED=false): all phones share one loopback address.

With ``--ports`` it starts nothing: it publishes the 20-question questionnaire (optionally with a
``--quota``) in ``--database-url``, the database of app servers already running on those loopback
ports (for instance two started as in docs/deploy.md section 9), spreads the phones over them, kills
nothing, and counts that questionnaire's responses the same way, plus the quota across the servers.

    python bench/load.py                       # 200 phones, 60 s, both databases
    python bench/load.py --seconds 20 --databases sqlite
    python bench/load.py --ports 8001,8002 --database-url "$DATABASE_URL" --seconds 30 --quota 500
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.phones import (  # noqa: E402 - after the path set-up, like a script
    count_rows,
    drop_database,
    fresh_database,
    percentile,
    prepare_questionnaire,
    print_json,
    run_phones,
    start_gunicorn,
    temporary_folder,
)

REQUIRED = ["area"] + [f"r{i}" for i in range(1, 16)]
TOKEN = re.compile(r"^[A-Za-z0-9_-]{4,64}$")


def killer(server, seconds: float, killed: list[int]) -> threading.Thread:
    """Kill one worker with SIGKILL at 1/3 and another at 2/3 of the run."""

    def run() -> None:
        for fraction in (1 / 3, 2 / 3):
            time.sleep(seconds * fraction - (time.monotonic() - started))
            pids = server.worker_pids()
            if pids:
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def audit_database(url: str, acknowledged: list[str], token: str | None = None) -> dict:
    """Count what the database holds against what the phones were told (one questionnaire's, given ``token``)."""
    where = ""
    if token is not None:
        if not TOKEN.match(token):
            raise ValueError(f"not a questionnaire token: {token!r}")
        where = f" WHERE questionnaire_id = (SELECT id FROM questionnaire WHERE public_token = '{token}')"
    rows = count_rows(url, "SELECT submission_id, answers, codes FROM response" + where)
    stored = [row[0] for row in rows]
    partial = 0
    for _sid, answers, codes in rows:
        answers = json.loads(answers) if isinstance(answers, str) else answers
        if codes is None or any(key not in answers for key in REQUIRED):
            partial += 1
    quota_where = f" WHERE public_token = '{token}'" if token is not None else ""
    counter, quota = count_rows(url, "SELECT accepted_count, quota FROM questionnaire" + quota_where)[0]
    stored_set, acknowledged_set = set(stored), set(acknowledged)
    return {
        "acknowledged": len(acknowledged_set),
        "stored": len(stored),
        "lost": len(acknowledged_set - stored_set),
        "stored_twice": len(stored) - len(stored_set),
        "partial": partial,
        "stored_not_acknowledged": len(stored_set - acknowledged_set),
        "quota_counter": counter,
        "counter_matches_rows": counter == len(stored),
        "quota": quota,
        "within_quota": quota is None or len(stored) <= quota,
    }


def run(kind: str, args, folder: str, name: str = "survey_bench_load") -> dict:
    """One database (``name`` for PostgreSQL): serve, load with kills, count."""
    url = fresh_database(kind, folder, name)
    try:
        token = prepare_questionnaire(url)
        server = start_gunicorn("app:create_app()", url, args.workers, args.threads, folder)
        killed: list[int] = []
        try:
            tally = run_phones(
                server.port, f"/s/{token}", args.phones, args.seconds, args.processes, retry=True,
                during=lambda: killer(server, args.seconds, killed) if args.kill else None,
            )  # fmt: skip
        finally:
            server.stop()
        figures = {"database": kind, "server": server.settings, "phones": args.phones, "seconds": args.seconds}
        figures["workers_killed"] = len(killed)
        figures["per_s"] = round(len(tally.accepted) / args.seconds, 1)
        figures["p50_ms"] = round(percentile(tally.latencies_ms, 0.5), 1)
        figures["p99_ms"] = round(percentile(tally.latencies_ms, 0.99), 1)
        figures["connection_errors"] = tally.errors
        figures["retries"] = tally.retried
        figures["refused"] = tally.refused
        figures.update(audit_database(url, tally.accepted))
        return figures
    finally:
        drop_database(url)


def run_external(args) -> dict:
    """Servers already running on ``args.ports`` over ``args.database_url``: publish, load, count."""
    url = args.database_url
    ports = [int(port) for port in args.ports.split(",")]
    token = prepare_questionnaire(url, owner=f"bench-{uuid.uuid4().hex[:8]}", quota=args.quota)
    tallies: list = [None] * len(ports)

    def load(index: int) -> None:
        share = args.phones // len(ports) + (1 if index < args.phones % len(ports) else 0)
        tallies[index] = run_phones(ports[index], f"/s/{token}", share, args.seconds, args.processes, retry=True)

    threads = [threading.Thread(target=load, args=(index,)) for index in range(len(ports))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    accepted = [sid for tally in tallies for sid in tally.accepted]
    latencies = [ms for tally in tallies for ms in tally.latencies_ms]
    refused: dict[str, int] = {}
    for tally in tallies:
        for status, count in tally.refused.items():
            refused[status] = refused.get(status, 0) + count
    figures = {"servers": [f"127.0.0.1:{port}" for port in ports], "token": token, "phones": args.phones}
    figures["per_server_acknowledged"] = [len(tally.accepted) for tally in tallies]
    figures["per_s"] = round(len(accepted) / args.seconds, 1)
    figures["p50_ms"] = round(percentile(latencies, 0.5), 1)
    figures["p99_ms"] = round(percentile(latencies, 0.99), 1)
    figures["connection_errors"] = sum(tally.errors for tally in tallies)
    figures["refused"] = refused  # 429: a rate limit shared through Redis; 410: the quota is full
    figures.update(audit_database(url, accepted, token))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phones", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--processes", type=int, default=4, help="client processes the phones are spread over")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--no-kill", dest="kill", action="store_false", help="do not kill workers")
    parser.add_argument("--ports", help="load app servers already running on these loopback ports (comma-separated)")
    parser.add_argument("--database-url", help="with --ports: the database those servers share")
    parser.add_argument("--quota", type=int, help="with --ports: a quota on the questionnaire, checked across servers")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}; phones share the cores")
    if args.ports:
        sys.exit(_main_external(args))
    failed = False
    with temporary_folder() as folder:
        for kind in args.databases.split(","):
            print(f"{kind}: {args.phones} phones for {args.seconds:.0f} s, killing workers: {args.kill} ...")
            figures = run(kind, args, folder)
            print(
                f"  acknowledged {figures['acknowledged']}, stored {figures['stored']}, lost {figures['lost']}, "
                f"stored twice {figures['stored_twice']}, partial {figures['partial']}, "
                f"stored but not acknowledged {figures['stored_not_acknowledged']}; "
                f"{figures['workers_killed']} workers killed, {figures['connection_errors']} broken connections"
            )
            print(f"  {figures['per_s']} submissions/s, p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms")
            print_json("  figures:", figures)
            failed |= bool(figures["lost"] or figures["stored_twice"] or figures["partial"])
            failed |= not figures["counter_matches_rows"]
    print("RESULT:", "something was lost, doubled or partial" if failed else "nothing lost, doubled or partial")
    sys.exit(1 if failed else 0)


def _main_external(args) -> int:
    """Report a run against running servers; the exit status says whether anything was lost or doubled."""
    if not args.database_url:
        raise SystemExit("--ports needs --database-url (the database the servers share)")
    print(f"servers on ports {args.ports}: {args.phones} phones for {args.seconds:.0f} s ...")
    figures = run_external(args)
    print(
        f"  acknowledged {figures['acknowledged']} (per server {figures['per_server_acknowledged']}), "
        f"stored {figures['stored']}, lost {figures['lost']}, stored twice {figures['stored_twice']}, "
        f"partial {figures['partial']}; counter {figures['quota_counter']} (matches rows: "
        f"{figures['counter_matches_rows']}); quota {figures['quota']} (kept: {figures['within_quota']}); "
        f"refused {figures['refused']}"
    )
    print(f"  {figures['per_s']} submissions/s, p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms")
    print_json("  figures:", figures)
    bad = figures["lost"] or figures["stored_twice"] or figures["partial"]
    bad = bad or not figures["counter_matches_rows"] or not figures["within_quota"]
    print("RESULT:", "something was lost, doubled, partial or over quota" if bad else "nothing lost or doubled")
    return 1 if bad else 0


if __name__ == "__main__":
    main()
