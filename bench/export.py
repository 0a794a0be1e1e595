"""Export speed: the raw responses and results of N responses to the 20-question questionnaire as files.

Prints figures; asserts nothing about time. Each export runs in a fresh Python process so peak memory
(ru_maxrss) belongs to that export alone. Usage:

    python bench/export.py                   # 100,000 responses
    python bench/export.py --responses 20000

Figures printed, for each export: seconds from the database to the finished file (and, of those, the seconds
spent writing the file), the CPU seconds of the whole process (start-up included; steadier than the wall clock
on a shared machine), its size and peak memory. Exports: the raw responses sheet (XLSX, option texts, streamed
from the records: ``survey.reports.workbook_files.responses_workbook``), the results workbook (XLSX: every figure of the
results page plus the raw responses, exactly what ``/results.xlsx`` serves), the project workbook (summary plus
the questionnaire's sheets, what ``/projects/<id>/workbook.xlsx`` serves), the desk CSV (UTF-8 BOM) and, when
``analysis/datasets.py`` exists, the SPSS .sav data set (codes with value labels). The XLSX exports turn records
into rows while writing, so for them "writing" includes that; the results and project workbooks also compute
the results inside "writing" (they are measured through the functions the views call).
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
    from survey.platform.extensions import db
    from survey.models import Questionnaire
    from survey.results.reporting import response_counts, response_records, schema_for
    q = db.session.get(Questionnaire, qid)
    t = time.perf_counter()
    # The XLSX exports load their records themselves (as the views do); loading them here too would count twice.
    records = response_records(q) if step in ("sav", "csv") else None
    if step == "sav":
        from analysis.datasets import coded_table
        from survey.reports.dataset_files import write_sav
        frame, labels, values, measures = coded_table(schema_for(q), records)
        w = time.perf_counter()
        data = write_sav(frame, labels, values, measures)
    elif step == "csv":
        from analysis.export import responses_table
        from survey.platform.csv_files import to_csv_bytes
        from survey.reports.bundle import display_records
        from survey.reports.export_labels import export_labels
        table = responses_table(schema_for(q), display_records(q, records), export_labels())
        w = time.perf_counter()
        data = to_csv_bytes(table)
    elif step == "xlsx_raw":
        from survey.reports.workbook_files import responses_workbook
        from survey.reports.export_labels import workbook_labels
        from survey.reports.workbooks import responses_of
        rows = responses_of(q)
        w = time.perf_counter()
        data = responses_workbook(rows, workbook_labels())
    elif step == "xlsx_results":
        from survey.reports.workbooks import questionnaire_workbook
        w = time.perf_counter()
        data = questionnaire_workbook(q)
    elif step == "xlsx_project":
        from survey.reports.workbooks import project_file
        w = time.perf_counter()
        data = project_file(q.project)
    end = time.perf_counter()
    out["seconds"] = end - t
    out["write_seconds"] = end - w
    out["bytes"] = len(data)
    out["rows"] = response_counts(q)["total"]
usage = resource.getrusage(resource.RUSAGE_SELF)
out["peak_mib"] = usage.ru_maxrss / 1024
out["cpu_seconds"] = usage.ru_utime + usage.ru_stime
print(json.dumps(out))
"""

STEPS = {
    "xlsx_raw": "XLSX raw responses sheet",
    "xlsx_results": "XLSX results workbook",
    "xlsx_project": "XLSX project workbook",
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
                f"{STEPS[step]:<32} {figures['seconds']:6.1f} s (writing {figures['write_seconds']:5.1f} s, "
                f"process CPU {figures['cpu_seconds']:5.1f} s), {figures['bytes'] / 2**20:6.1f} MiB, "
                f"peak {figures['peak_mib']:5.0f} MiB  [{figures['rows']:,} rows]"
            )
    print("goals: each <= 30 s and <= 1 GiB peak")


if __name__ == "__main__":
    main()
