"""Nothing acknowledged is lost under load, even when workers are killed (a short ``bench/load.py`` run).

Real gunicorn (gthread) on loopback, real phones (form, CSRF token, submit, retry after a broken
connection), two workers killed with SIGKILL mid-run, on SQLite and on PostgreSQL; then the database is
counted. The figures (rates, latencies) are printed by ``python bench/load.py``; this test asserts
only what must always hold: nothing lost, nothing doubled, nothing partial, counters equal to rows.
"""

from __future__ import annotations

import argparse

import psycopg
import pytest

from bench.load import run
from bench.phones import PG_ADMIN, temporary_folder
from tests.conftest import PG_TEST_DB, unavailable


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_killed_workers_lose_nothing_acknowledged(kind):
    if kind == "postgresql":
        try:
            psycopg.connect(PG_ADMIN, connect_timeout=3).close()
        except psycopg.OperationalError as error:
            unavailable(f"PostgreSQL not reachable at {PG_ADMIN}: {error}")
    # Eight seconds: a worker is killed at about 2.7 s and another at 5.3 s, each with phones submitting before,
    # during and after; a replacement worker starts in about a second, so each kill still meets full load.
    args = argparse.Namespace(phones=24, seconds=8, workers=2, threads=4, processes=2, kill=True)
    with temporary_folder() as folder:
        figures = run(kind, args, folder, name=f"{PG_TEST_DB}_load")
    assert figures["workers_killed"] == 2, figures
    assert figures["acknowledged"] > 0, figures
    assert figures["lost"] == 0, figures
    assert figures["stored_twice"] == 0, figures
    assert figures["partial"] == 0, figures
    assert figures["counter_matches_rows"], figures
