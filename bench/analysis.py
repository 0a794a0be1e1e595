"""Analysis speed: full results for N responses to a 20-question questionnaire in the default SQLite database.

Prints figures; asserts nothing about time. Each measurement runs in a fresh Python process so peak memory
(ru_maxrss) belongs to that step alone. Usage:

    python bench/analysis.py                 # 1,000,000 responses (results) and 100,000 (results page)
    python bench/analysis.py --responses 200000 --page-responses 20000

Figures printed: the floor (reading the raw answers out of SQLite: every row's answers text, fetched), the full
results (everything on the results page, one breakdown), their ratio, the results page over HTTP (test client),
and peak memory of each step.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STEP = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
step, db_path, qid = {step!r}, {db!r}, {qid}
from tests.conftest import make_config
from app import create_app
app = create_app(make_config("sqlite:///" + db_path))
out = {{}}
with app.app_context():
    from survey.platform.extensions import db
    from survey.models import Questionnaire
    if step == "floor":
        import sqlite3
        t = time.perf_counter()
        con = sqlite3.connect(db_path)
        rows = con.execute("SELECT answers FROM response WHERE questionnaire_id = ?", (qid,)).fetchall()
        out["seconds"] = time.perf_counter() - t
        out["rows"] = len(rows)
    elif step == "results":
        from survey.results.reporting import questionnaire_results
        from survey.results.results_json import results_dict
        q = db.session.get(Questionnaire, qid)
        t = time.perf_counter()
        results = questionnaire_results(q)
        data = results_dict(q, results, text_limit=200)
        out["seconds"] = time.perf_counter() - t
        out["valid"] = results.valid
        out["overall"] = data["overall"]["percent"]
        out["breakdowns"] = len(results.breakdowns)
    elif step == "page":
        client = app.test_client()
        login = client.post("/login", data={{"username": "bench", "password": "bench-password-1"}})
        assert login.status_code == 302, login.status_code  # signed in through the form: a session row of its own
        client.get(f"/desk/questionnaires/{{qid}}/results")  # warm-up: imports, templates
        times = []
        for _ in range(3):
            t = time.perf_counter()
            response = client.get(f"/desk/questionnaires/{{qid}}/results")
            times.append(time.perf_counter() - t)
            assert response.status_code == 200, response.status_code
        out["seconds"] = min(times)
        out["bytes"] = len(response.data)
out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def prepare(db_path: str, responses: int) -> int:
    """A migrated database with one evaluator, one project and the 20-question questionnaire, filled."""
    from flask_migrate import upgrade

    from app import create_app
    from bench.common import bulk_insert, twenty_questions
    from survey.accounts.users import create_user
    from survey.platform.extensions import db
    from survey.questionnaires import publishing
    from tests.conftest import make_config

    app = create_app(make_config("sqlite:///" + db_path))
    with app.app_context():
        upgrade()
        user = create_user("bench", "bench-password-1")
        project = publishing.create_project(user, name="基准测试")
        questionnaire = publishing.import_questionnaire(project, twenty_questions())
        publishing.publish(questionnaire)
        qid, vid = questionnaire.id, questionnaire.current_version_id
        definition = questionnaire.current_version.definition
        db.engine.dispose()
    start = time.perf_counter()
    bulk_insert(db_path, qid, vid, definition, responses)
    print(f"  inserted {responses:,} responses in {time.perf_counter() - start:.1f} s")
    return qid


def run_step(step: str, db_path: str, qid: int) -> dict:
    """Run one measurement in a fresh interpreter and return what it printed."""
    from bench.common import run_fresh

    return run_fresh(STEP.format(root=str(ROOT), step=step, db=db_path, qid=qid))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--page-responses", type=int, default=100_000)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as folder:
        big = os.path.join(folder, "big.sqlite")
        print(f"preparing {args.responses:,} responses (SQLite, WAL) ...")
        qid = prepare(big, args.responses)
        print(f"  database size {os.path.getsize(big) / 2**20:.0f} MiB")
        floor = run_step("floor", big, qid)
        full = run_step("results", big, qid)
        print(
            f"floor  (read raw answers, {floor['rows']:,} rows): {floor['seconds']:.2f} s, "
            f"peak {floor['peak_mib']:.0f} MiB"
        )
        print(
            f"results (everything, one breakdown):      {full['seconds']:.2f} s, peak {full['peak_mib']:.0f} MiB"
            f"  [valid {full['valid']:,}, overall {full['overall']}%, breakdowns {full['breakdowns']}]"
        )
        print(
            f"ratio results / floor: {full['seconds'] / floor['seconds']:.2f}   (goals: <= 10 s, <= 2 GiB, ratio <= 2)"
        )
        small = os.path.join(folder, "page.sqlite")
        print(f"preparing {args.page_responses:,} responses for the results page ...")
        qid_small = prepare(small, args.page_responses)
        page = run_step("page", small, qid_small)
        print(
            f"results page ({args.page_responses:,} responses): {page['seconds']:.2f} s, "
            f"{page['bytes'] / 1024:.0f} KiB, peak {page['peak_mib']:.0f} MiB   (goal: <= 1 s)"
        )


if __name__ == "__main__":
    main()
