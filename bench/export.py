"""Export speed: the raw responses and results of N responses to the 20-question questionnaire as files.

Prints figures; asserts nothing about time. Each export runs in a fresh Python process so peak memory
(ru_maxrss) belongs to that export alone. Usage:

    python bench/export.py                   # 100,000 responses
    python bench/export.py --responses 20000

Figures printed, for each export: seconds from the database to the finished file (and, of those, the seconds
spent writing the file), its size and peak memory. Exports: the raw responses sheet (XLSX, option texts), the
results workbook (XLSX: every figure of the results page plus the raw responses), the desk CSV (UTF-8 BOM) and,
when ``analysis/datasets.py`` exists, the SPSS .sav data set (codes with value labels).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.analysis import prepare  # noqa: E402 - after the path set-up, like a script

STEP = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
step, db_path, qid = {step!r}, {db!r}, {qid}
from tests.conftest import make_config
from app import create_app
app = create_app(make_config("sqlite:///" + db_path))
out = {{}}
with app.test_request_context():
    from survey.extensions import db
    from survey.models import Questionnaire
    from survey.reporting import response_records, schema_for
    q = db.session.get(Questionnaire, qid)
    t = time.perf_counter()
    records = response_records(q)
    if step == "sav":
        from analysis.datasets import coded_table, write_sav
        frame, labels, values, measures = coded_table(schema_for(q), records)
        w = time.perf_counter()
        data = write_sav(frame, labels, values, measures)
    else:
        from analysis.export import responses_table, to_csv_bytes
        from survey.bundle import display_records, responses_xlsx
        from survey.desk import _export_labels
        table = responses_table(schema_for(q), display_records(q, records), _export_labels())
        if step == "csv":
            w = time.perf_counter()
            data = to_csv_bytes(table)
        elif step == "xlsx_raw":
            w = time.perf_counter()
            data = responses_xlsx(table, "raw")
        elif step == "xlsx_results":
            from analysis.workbook import results_workbook
            from survey.reporting import questionnaire_results
            from survey.results_json import results_dict
            from survey.workbook_views import workbook_labels
            results = results_dict(q, questionnaire_results(q))
            w = time.perf_counter()
            data = results_workbook(results, table, workbook_labels())
    end = time.perf_counter()
    out["seconds"] = end - t
    out["write_seconds"] = end - w
    out["bytes"] = len(data)
    out["rows"] = len(records)
out["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""

STEPS = {
    "xlsx_raw": "XLSX raw responses sheet",
    "xlsx_results": "XLSX results workbook",
    "csv": "CSV (UTF-8 BOM, option texts)",
    "sav": "SPSS .sav (codes + labels)",
}


def run_step(step: str, db_path: str, qid: int) -> dict:
    """Run one export in a fresh interpreter and return what it printed."""
    code = STEP.format(root=str(ROOT), step=step, db=db_path, qid=qid)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env)
    return json.loads(output.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--responses", type=int, default=100_000)
    args = parser.parse_args()
    steps = [s for s in STEPS if s != "sav" or (ROOT / "analysis" / "datasets.py").exists()]
    print(f"machine: {os.cpu_count()} cores, python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "export.sqlite")
        print(f"preparing {args.responses:,} responses x 20 questions (SQLite, WAL) ...")
        qid = prepare(path, args.responses)
        for step in steps:
            figures = run_step(step, path, qid)
            print(
                f"{STEPS[step]:<32} {figures['seconds']:6.1f} s (writing {figures['write_seconds']:5.1f} s), "
                f"{figures['bytes'] / 2**20:6.1f} MiB, peak {figures['peak_mib']:5.0f} MiB  [{figures['rows']:,} rows]"
            )
    print("goals: each <= 30 s and <= 1 GiB peak")


if __name__ == "__main__":
    main()
