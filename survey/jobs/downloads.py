"""File downloads from the evaluator desk."""

from __future__ import annotations

from urllib.parse import quote

from flask import Response
from flask_babel import force_locale, get_locale

from survey.jobs import queue as jobs
from survey.jobs.queue import KINDS, JobFile


def pdf_attachment(body: bytes, filename: str) -> Response:
    """A PDF as a download; private and not cached, since it holds a project's figures."""
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def attachment(made: JobFile) -> Response:
    """A built file as a download (with its display name in UTF-8 when it has one); private, not cached."""
    disposition = f"attachment; filename={made.filename}"
    if made.display_name:
        disposition += f"; filename*=UTF-8''{quote(made.display_name)}"
    response = Response(made.body, mimetype=made.mimetype)
    response.headers["Content-Disposition"] = disposition
    response.headers["Cache-Control"] = "private, no-store"
    return response


def heavy_download(kind: str, params: dict, *, project_id: int, questionnaire_id: int | None = None) -> Response:
    """A heavy export's answer: a job and its progress page (``survey.jobs.queue``), or, with ``EXPORT_JOBS`` off
    (tests, the old behaviour), the file built in this request. Access must be checked before."""
    params = {**params, "locale": params.get("locale") or str(get_locale())}
    if jobs.enabled():
        return jobs.offer(kind, params, project_id=project_id, questionnaire_id=questionnaire_id)
    with force_locale(params["locale"]):
        return attachment(KINDS[kind].build(params))
