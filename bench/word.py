"""The Word report's speed: ``questionnaire_report`` for the 20-question questionnaire of ``bench/analysis.py`` with
100,000 responses in SQLite (goal: ≤ 10 s and ≤ 1 GiB), in a fresh process, the default template.

Prints figures; asserts nothing about time. Usage:

    python bench/word.py                      # 100,000 responses
    python bench/word.py --responses 20000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

STEP = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from tests.conftest import make_config
from app import create_app
app = create_app(make_config("sqlite:///" + {db!r}))
with app.app_context():
    from survey.platform.extensions import db
    from survey.models import Questionnaire
    from survey.reports.word import questionnaire_report
    q = db.session.get(Questionnaire, {qid})
    t = time.perf_counter()
    body = questionnaire_report(q)
    seconds = time.perf_counter() - t
print(json.dumps({{"seconds": seconds, "bytes": len(body),
                   "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    from bench.analysis import prepare
    from bench.common import run_fresh

    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "word.sqlite")
        print(f"preparing {args.responses:,} responses (SQLite, WAL) ...")
        qid = prepare(path, args.responses)
        runs = [run_fresh(STEP.format(root=str(ROOT), db=path, qid=qid)) for _ in range(args.rounds)]
        best = min(runs, key=lambda r: r["seconds"])
        print(
            f"Word report, {args.responses:,} responses, 20 questions: {best['seconds']:.2f} s "
            f"(best of {args.rounds}), "
            f"{best['bytes'] / 1024:.0f} KiB, peak {best['peak_mib']:.0f} MiB   (goal: <= 10 s, <= 1 GiB)"
        )


if __name__ == "__main__":
    main()
