"""The working-paper bundle (底稿): one ZIP a reviewer can check nothing changed in afterwards.

It holds the frozen questionnaire definition, the raw responses (CSV and XLSX), the results workbook, the
exclusion log, the project's indicator table (when it has one), the report PDF (when ``survey.reports.pdf``
provides ``report_pdf``), ``manifest.json`` with the size and SHA-256 of every file and the time the data was
frozen (the newest response's submission time), and ``SHA256SUMS`` so ``sha256sum -c SHA256SUMS`` verifies.
Every file is built by the same functions as its own download on the desk.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import io
import json
import zipfile
from datetime import UTC, datetime

from flask import current_app
from flask_babel import gettext as _

from analysis.export import responses_table
from analysis.numbers import finite_data
from survey.collection.review import exclusion_log_csv
from survey.indicators.links import current_score
from survey.indicators.sheet import table_of
from survey.indicators.table_files import dump_xlsx, dump_yaml
from survey.models import Questionnaire
from survey.platform.csv_files import to_csv_bytes
from survey.questionnaires.portable import export_json
from survey.reports.export_labels import export_labels, workbook_labels
from survey.reports.text import in_report_language
from survey.reports.workbook_files import responses_workbook
from survey.reports.workbooks import questionnaire_workbook
from survey.results.presenting import weighting_problem
from survey.results.reporting import display_records, questionnaire_results, response_records, schema_for
from survey.results.results_json import weighted_dict
from survey.results.weights import with_weights


def working_paper_bundle(questionnaire: Questionnaire, now: datetime | None = None) -> bytes:
    """The ZIP (deflated) of the questionnaire's working papers; needs a published (frozen) version.

    The papers are handed in with the report, so every file in them is written in the report's language,
    whatever language the desk is in."""
    with in_report_language():
        return _bundle(questionnaire, now)


def _bundle(questionnaire: Questionnaire, now: datetime | None) -> bytes:
    """The bundle's files, manifest and ZIP, in the current locale."""
    version = questionnaire.current_version
    if version is None:
        raise ValueError("the questionnaire has no frozen version")
    records = response_records(questionnaire)
    frozen = max((r["submitted_at"] for r in records if r["submitted_at"] is not None), default=None)
    weighted, labels = with_weights(questionnaire, records, export_labels())
    table = responses_table(schema_for(questionnaire), display_records(questionnaire, weighted), labels)
    files: dict[str, bytes] = {
        f"questionnaire-v{version.number}.json": export_json(version.definition).encode("utf-8"),
        "responses.csv": to_csv_bytes(table),
        "responses.xlsx": responses_workbook(table, workbook_labels()),
        "results.xlsx": questionnaire_workbook(questionnaire),
        "exclusions.csv": exclusion_log_csv(questionnaire),
    }
    files.update(indicator_files(questionnaire))
    files.update(weighting_files(questionnaire))
    skipped = []
    try:
        pdf = report_pdf_of(questionnaire)
    except Exception as error:  # noqa: BLE001 - the papers are still worth having; the manifest says why
        current_app.logger.exception("report PDF for questionnaire %s failed", questionnaire.id)
        pdf, why = None, _("生成报告 PDF 时出错：%(error)s", error=f"{type(error).__name__}: {error}")
    else:
        why = _("报告 PDF 尚不可用")
    if pdf is None:
        skipped.append({"name": "report.pdf", "reason": why})
    else:
        files["report.pdf"] = pdf
    manifest = {
        "questionnaire": {
            "id": questionnaire.id,
            "title": questionnaire.title,
            "project": questionnaire.project.name,
        },
        "version": version.number,
        "frozen_at": _utc_iso(frozen),
        "generated_at": _utc_iso(now or datetime.now(UTC)),
        "responses": len(records),
        "files": [{"name": n, "bytes": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in files.items()],
        "skipped": skipped,
    }
    files["manifest.json"] = (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    files["SHA256SUMS"] = "".join(f"{hashlib.sha256(d).hexdigest()}  {n}\n" for n, d in files.items()).encode()
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return output.getvalue()


def weighting_files(questionnaire: Questionnaire) -> dict[str, bytes]:
    """``weighting.json`` when the questionnaire is weighted: the population tables, the method, tolerance and
    trimming, the weights' summary and every weighted figure (or why weighting could not be applied), so that
    another analyst can recompute each weighted figure from ``responses.csv``'s 权重 column or from the tables."""
    results = questionnaire_results(questionnaire)
    if results.weighted is None and results.weighting_error is None:
        return {}
    data = {"weighted": weighted_dict(results.weighted), "problem": weighting_problem(results.weighting_error)}
    text = json.dumps(finite_data(data), ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    return {"weighting.json": text.encode("utf-8")}


def indicator_files(questionnaire: Questionnaire) -> dict[str, bytes]:
    """``indicators.xlsx`` (附件1 layout, current scores) and ``indicators.yaml`` when the project has a table."""
    row = table_of(questionnaire.project)
    if row is None:
        return {}
    definition = row.definition
    score = current_score(questionnaire.project, definition)
    return {"indicators.xlsx": dump_xlsx(definition, score), "indicators.yaml": dump_yaml(definition).encode("utf-8")}


def report_pdf_of(questionnaire: Questionnaire) -> bytes | None:
    """The report PDF from ``survey.reports.pdf.report_pdf`` when that module and function exist, else None.

    Imported lazily: the bundle works before (and without) the report module; its own errors propagate."""
    if importlib.util.find_spec("survey.reports.pdf") is None:
        return None
    render = getattr(importlib.import_module("survey.reports.pdf"), "report_pdf", None)
    return render(questionnaire) if render is not None else None


def _utc_iso(moment: datetime | None) -> str | None:
    """Stored times are naive UTC; written as ISO 8601 with an explicit offset."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")
