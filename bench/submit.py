"""Submission throughput: gunicorn on this machine, phones submitting the 20-question questionnaire.

Loopback only, bounded in time; prints figures and asserts nothing about time. For each database
(SQLite with WAL, then PostgreSQL) it runs, under the same gunicorn settings and the same phones:

1. our app and the limit, in alternating rounds (``--rounds``, ``--seconds`` per app over all rounds):
   ``--clients`` phones, each fetching the form (CSRF token, submission id) and posting the answers.
   For each app: sustained submissions per second, p50/p99 submission latency, the workers' CPU time
   per respondent (read from /proc) and the phones' own CPU time. The limit is ``bench/bare_app.py``, a
   bare Flask app doing one INSERT of the same payload; our share of it is given overall and by round;
2. the answer page alone: requests per second.

Then the bytes one respondent transfers (page, CSS, scripts, the post and the thanks page), gzip
compressed as a front proxy would send them. ``--profile N`` profiles N in-process submissions.

    python bench/submit.py                       # 50 phones, 60 s per app in 6 rounds, both databases
    python bench/submit.py --seconds 20 --databases sqlite
    python bench/submit.py --profile 2000
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import os
import pstats
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bare_app import create_schema  # noqa: E402 - after the path set-up, like a script
from bench.phones import (  # noqa: E402 - after the path set-up, like a script
    Phone,
    count_rows,
    drop_database,
    fresh_database,
    hidden_fields,
    merge_tallies,
    percentile,
    prepare_questionnaire,
    print_json,
    run_phones,
    start_gunicorn,
    temporary_folder,
)

ASSET = re.compile(r'<(?:link[^>]*\bhref|script[^>]*\bsrc)="(/static/[^"?]+)[^"]*"')


def measure(kind: str, args, folder: str) -> dict:
    """Our app and the bare limit in alternating rounds, then the answer page alone; returns the figures.

    Both servers run for the whole measurement and the phones turn from one to the other every
    ``--seconds / --rounds`` (ours first in even rounds, the bare app first in odd ones). The cores here
    are shared with other machines' work and their speed drifts by half within minutes: measured one
    after the other, a minute each, the same code's share of the limit came out anywhere from 0.35 to
    0.55. Alternating short rounds exposes both apps to the same drift, so their ratio holds.
    """
    figures = {"database": kind}
    app_url = fresh_database(kind, folder, "survey_bench_app")
    bare_url = fresh_database(kind, folder, "survey_bench_bare")
    try:
        token = prepare_questionnaire(app_url)
        create_schema(bare_url)
        server = start_gunicorn("app:create_app()", app_url, args.workers, args.threads, folder)
        bare = start_gunicorn("bench.bare_app:create_app()", bare_url, args.workers, args.threads, folder)
        try:
            figures["server"] = server.settings
            apps = {"app": (server, f"/s/{token}"), "bare": (bare, "/s/bare")}
            databases = {"app": "survey_bench_app", "bare": "survey_bench_bare"} if kind == "postgresql" else {}
            phases, database_cpu = _alternate(apps, args, databases)
            for name, url, table in (("app", app_url, "response"), ("bare", bare_url, "bare_response")):
                stored = count_rows(url, f"SELECT count(*) FROM {table}")[0][0]
                tally, cpu = merge_tallies([t for t, _c in phases[name]]), sum(c for _t, c in phases[name])
                figures.update(_rates(name, tally, args.seconds, stored, cpu))
                if databases and tally.accepted:
                    figures[f"{name}_database_cpu_ms"] = round(1000 * database_cpu[name] / len(tally.accepted), 2)
            shares = [
                len(ours.accepted) / len(limit.accepted) if limit.accepted else 0
                for (ours, _a), (limit, _b) in zip(phases["app"], phases["bare"], strict=True)
            ]
            figures["share_by_round"] = [round(share, 2) for share in shares]
            for name in apps:
                figures[f"{name}_per_s_by_round"] = [
                    round(len(tally.accepted) * args.rounds / args.seconds) for tally, _cpu in phases[name]
                ]
            pages = run_phones(server.port, f"/s/{token}", args.clients, args.page_seconds, args.processes, None)
            figures["page_per_s"] = round(len(pages.page_latencies_ms) / args.page_seconds, 1)
            figures["page_p99_ms"] = round(percentile(pages.page_latencies_ms, 0.99), 1)
            if kind == "sqlite":
                figures.update(respondent_bytes(server.port, token))
        finally:
            server.stop()
            bare.stop()
    finally:
        drop_database(app_url)
        drop_database(bare_url)
    figures["share_of_limit"] = round(figures["app_per_s"] / figures["bare_per_s"], 2) if figures["bare_per_s"] else 0
    return figures


def _alternate(apps: dict, args, databases: dict[str, str]) -> tuple[dict[str, list], dict[str, float]]:
    """``args.rounds`` rounds of phones on each app in turn; per app, each round's tally and server CPU, and
    the CPU seconds its PostgreSQL backends used (``databases``: app name -> database name)."""
    phases: dict[str, list] = {name: [] for name in apps}
    database_cpu = dict.fromkeys(apps, 0.0)
    order = list(apps)
    for number in range(args.rounds):
        for name in order if number % 2 == 0 else order[::-1]:
            server, path = apps[name]
            cpu, backends = server.cpu_seconds(), backend_cpu_seconds(databases.get(name))
            tally = run_phones(server.port, path, args.clients, args.seconds / args.rounds, args.processes)
            phases[name].append((tally, server.cpu_seconds() - cpu))
            database_cpu[name] += backend_cpu_seconds(databases.get(name)) - backends
    return phases, database_cpu


def backend_cpu_seconds(database: str | None) -> float:
    """CPU seconds used so far by the PostgreSQL backends serving ``database`` (their process titles name it).

    The pools keep their connections through a phase, so the difference across a phase is that phase's
    database work; a backend that ends within a phase would be missed. ``None`` (SQLite, in process): 0.
    """
    if not database:
        return 0.0
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            title = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if not title.startswith("postgres: ") or f" {database} " not in title:
                continue
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _rates(prefix: str, tally, seconds: float, stored: int, server_cpu: float) -> dict:
    """Submissions per second, latency percentiles, the workers' CPU time per respondent (page view and
    submission together: a figure that depends less on what else the machine runs), and what is stored."""
    return {
        f"{prefix}_server_cpu_ms": round(1000 * server_cpu / len(tally.accepted), 2) if tally.accepted else 0,
        f"{prefix}_client_cpu_ms": round(1000 * tally.client_cpu_s / len(tally.accepted), 2) if tally.accepted else 0,
        f"{prefix}_per_s": round(len(tally.accepted) / seconds, 1),
        f"{prefix}_p50_ms": round(percentile(tally.latencies_ms, 0.50), 1),
        f"{prefix}_p99_ms": round(percentile(tally.latencies_ms, 0.99), 1),
        f"{prefix}_accepted": len(tally.accepted),
        f"{prefix}_stored": stored,
        f"{prefix}_refused": tally.refused,
        f"{prefix}_errors": tally.errors,
    }


def respondent_bytes(port: int, token: str) -> dict:
    """Everything one respondent downloads and uploads, raw and gzip-compressed (level 6, as nginx)."""
    import random

    phone = Phone(port, f"/s/{token}", random.Random(7))
    status, page = phone.request("GET", phone.path)
    parts = {"page": page}
    for path in sorted(set(ASSET.findall(page.decode()))):
        parts[path] = phone.request("GET", path)[1]
    body = phone.answers_body(hidden_fields(page.decode()))
    status, _ = phone.request("POST", phone.path, body)
    parts["post body"] = body
    parts["thanks"] = phone.request("GET", f"/s/{token}/thanks")[1]
    raw = sum(len(v) for v in parts.values())
    packed = sum(len(gzip.compress(v, 6)) for v in parts.values())
    print("  respondent transfer (bytes, raw -> gzip):")
    for name, value in parts.items():
        print(f"    {name:40s} {len(value):>8,} -> {len(gzip.compress(value, 6)):>7,}")
    return {"respondent_bytes_raw": raw, "respondent_bytes_gzip": packed, "respondent_post_status": status}


def profile(count: int) -> None:
    """Where a submission's time goes: ``count`` submissions through the test client, under cProfile."""
    import random

    from app import create_app
    from bench.common import synthetic_answers
    from tests.conftest import make_config

    with temporary_folder() as folder:
        url = fresh_database("sqlite", folder, "profile")
        token = prepare_questionnaire(url, one_per_device=False)  # one test client plays every phone
        app = create_app(make_config(url, WTF_CSRF_ENABLED=True))
        client = app.test_client()
        rng = random.Random(3)
        bodies = []
        for _ in range(count):
            client.delete_cookie("sv_device")
            page = client.get(f"/s/{token}").get_data(as_text=True)
            bodies.append({**hidden_fields(page), **synthetic_answers(rng)})
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        statuses = [client.post(f"/s/{token}", data=body).status_code for body in bodies]
        profiler.disable()
        elapsed = time.perf_counter() - started
    print(f"{count} submissions in-process (SQLite, one thread): {elapsed:.2f} s, {count / elapsed:.0f}/s")
    print(f"statuses: { {code: statuses.count(code) for code in set(statuses)} } (303 = stored)")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60, help="seconds of phones per app, over all rounds")
    parser.add_argument("--rounds", type=int, default=6, help="alternating rounds the seconds are split into")
    parser.add_argument("--page-seconds", type=float, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--processes", type=int, default=2, help="client processes the phones are spread over")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--profile", type=int, default=0, help="profile this many in-process submissions instead")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}; clients share the cores")
    if args.profile:
        profile(args.profile)
        return
    with temporary_folder() as folder:
        for kind in args.databases.split(","):
            print(f"{kind}: {args.clients} phones, {args.seconds:.0f} s per app, {args.rounds} alternating rounds ...")
            figures = measure(kind, args, folder)
            print(
                f"  our app: {figures['app_per_s']}/s, p50 {figures['app_p50_ms']} ms, p99 {figures['app_p99_ms']} ms;"
                f" bare limit: {figures['bare_per_s']}/s (p99 {figures['bare_p99_ms']} ms);"
                f" share of limit {figures['share_of_limit']} (by round: {figures['share_by_round']})"
            )
            print(f"  answer page: {figures['page_per_s']} requests/s (p99 {figures['page_p99_ms']} ms)")
            print(
                f"  server CPU per respondent (page + submission): ours {figures['app_server_cpu_ms']} ms,"
                f" bare {figures['bare_server_cpu_ms']} ms; the phones' CPU per respondent: ours"
                f" {figures['app_client_cpu_ms']} ms, bare {figures['bare_client_cpu_ms']} ms"
            )
            if "app_database_cpu_ms" in figures:
                print(
                    f"  PostgreSQL backends' CPU per respondent: ours {figures['app_database_cpu_ms']} ms,"
                    f" bare {figures['bare_database_cpu_ms']} ms"
                )
            print(f"  stored {figures['app_stored']} = acknowledged {figures['app_accepted']}")
            print_json("  figures:", figures)


if __name__ == "__main__":
    main()
