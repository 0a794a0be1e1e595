"""The export jobs' pages: progress while a heavy file is made apart from the request (``survey.jobs.queue``),
then its download. Only the evaluator who asked sees a job, and only while they may still see its
questionnaire or project (anyone else gets 404, as everywhere on the desk)."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, Response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required

from survey.jobs.queue import ACTIVE, describe, label, own_job

bp = Blueprint("jobs", __name__, url_prefix="/desk/jobs")
REFRESH_SECONDS = 2  # how often the progress page reloads itself (no script needed)


@bp.before_request
@login_required
def require_login():
    """Signed-in evaluators only; the job's owner and membership are checked per route."""


@bp.get("/<int:job_id>")
def progress(job_id: int):
    """正在生成… with a self-refreshing page; then the download button, or why it failed."""
    job = own_job(job_id)
    what = label(job)
    if job.status in ACTIVE:
        title = _("正在生成：%(what)s", what=what)
    elif job.status == "done":
        title = _("已生成：%(what)s", what=what)
    else:
        title = _("生成失败：%(what)s", what=what)
    body = render_template(
        "jobs/progress.html",
        job=job,
        what=what,
        title=title,
        figures=describe(job),
        refresh_seconds=REFRESH_SECONDS,
        questionnaire=job.questionnaire,
        project=job.project,
    )
    response = Response(body)
    response.headers["Cache-Control"] = "private, no-store"
    if job.status in ACTIVE:
        response.headers["Refresh"] = str(REFRESH_SECONDS)  # every browser honours it, with or without script
    return response


@bp.get("/<int:job_id>/download")
def download(job_id: int):
    """The finished file; a job not (or no longer) finished sends the evaluator back to its page."""
    job = own_job(job_id)
    if job.status != "done" or job.content is None:
        return redirect(url_for("jobs.progress", job_id=job.id))
    disposition = f"attachment; filename={job.filename}"
    if job.display_name:
        disposition += f"; filename*=UTF-8''{quote(job.display_name)}"
    response = Response(job.content, mimetype=job.mimetype)
    response.headers["Content-Disposition"] = disposition
    response.headers["Cache-Control"] = "private, no-store"  # a project's figures and answers
    return response
