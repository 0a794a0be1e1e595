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

    python bench/load.py                       # 200 phones, 60 s, both databases
    python bench/load.py --seconds 20 --databases sqlite
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
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


def audit_database(url: str, acknowledged: list[str]) -> dict:
    """Count what the database holds against what the phones were told."""
    rows = count_rows(url, "SELECT submission_id, answers, codes FROM response")
    stored = [row[0] for row in rows]
    partial = 0
    for _sid, answers, codes in rows:
        answers = json.loads(answers) if isinstance(answers, str) else answers
        if codes is None or any(key not in answers for key in REQUIRED):
            partial += 1
    counter = count_rows(url, "SELECT accepted_count FROM questionnaire")[0][0]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phones", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--processes", type=int, default=4, help="client processes the phones are spread over")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--no-kill", dest="kill", action="store_false", help="do not kill workers")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}; phones share the cores")
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


if __name__ == "__main__":
    main()
