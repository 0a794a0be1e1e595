"""Heavy exports as jobs, made apart from the requests citizens' pages and submissions need.

A results workbook, working-paper bundle, report PDF or data set of 50,000 responses takes a core for many
seconds, and holds a gunicorn thread (and the process's GIL) all that time: sixteen of them at once made a
respondent wait over a minute. So each such download is a job (an ``ExportJob`` row):

* the request that asks for it creates the job, or joins the one the same evaluator already has running for
  the same file (``active_key``, unique), and is answered at once with a progress page;
* the work runs in a separate process (``ProcessPoolExecutor``, ``JOB_WORKERS`` per web process, default 1)
  at a lower CPU priority (nice ``JOB_NICE``, SCHED_BATCH, from its first instruction): it takes neither the
  web process's GIL nor the cores the respondent threads need; the pool is started from scratch (``spawn``),
  never forked from a threaded worker;
* caps: one evaluator runs at most ``JOB_PER_USER`` jobs at once across every process and server (the
  unique (user, slot) pair claims a place atomically); one web process holds at most
  ``JOB_QUEUE_PER_PROCESS`` jobs queued or running; beyond either the request is refused in plain words;
* state and the finished file live in the database, so any app server shows the progress and hands out the
  file; the file is kept ``JOB_RESULT_SECONDS`` (a second click, a retried download), then deleted, and at
  once with the questionnaire, the project or its answers (``forget``);
* a web process keeps its jobs' ``heartbeat_at`` fresh while they run; one that stops (a killed worker)
  leaves jobs that are marked failed after ``JOB_STALE_SECONDS``, freeing the evaluator's places.

With ``EXPORT_JOBS`` off (the default only under ``SURVEY_ENV=testing``) the routes answer with the file
itself, as before; ``JOB_WORKERS=0`` runs each job inside its request (tests of the job path).
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import Flask, abort, current_app, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, update
from sqlalchemy.exc import IntegrityError

from survey.accounts.access import member_project, member_questionnaire
from survey.jobs import scratch
from survey.models import AuditEvent, ExportJob, Questionnaire, Response, ResponseRevision, ReviewEvent, utcnow
from survey.platform.extensions import db

EXTENSION = "jobs"
ACTIVE = ("queued", "running")
DEFAULTS = {
    "EXPORT_JOBS": None,  # None: on, except under SURVEY_ENV=testing
    "JOB_WORKERS": 1,  # export processes per web process; 0 runs a job inside its request
    "JOB_PER_USER": 2,  # jobs one evaluator may have queued or running at once
    "JOB_QUEUE_PER_PROCESS": 4,  # jobs one web process may hold queued or running
    "JOB_RESULT_SECONDS": 600,  # how long a finished file is kept
    "JOB_STALE_SECONDS": 60,  # a job whose heartbeat is older is taken as lost
    "JOB_HEARTBEAT_SECONDS": 10,
    "JOB_NICE": 10,
}
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobFile:
    """What a finished job hands out."""

    body: bytes
    filename: str
    mimetype: str
    display_name: str = ""


@dataclass(frozen=True)
class Kind:
    """One kind of export: what it is called on the progress page and how it is built from its params."""

    name: str
    label: Callable[[], str]
    build: Callable[[dict], JobFile]


KINDS: dict[str, Kind] = {}


def register(name: str, label: Callable[[], str], build: Callable[[dict], JobFile]) -> None:
    """Add an export kind; its module registers it on import, in every process that creates the app."""
    KINDS[name] = Kind(name, label, build)


class Refused(Exception):
    """A job was not started: too many of the evaluator's own, or this server is full."""

    def __init__(self, status: int, title: str, message: str, running: list[ExportJob] | None = None):
        super().__init__(message)
        self.status, self.title, self.message, self.running = status, title, message, running or []


# ---------------------------------------------------------------- set-up


def init_app(app: Flask, factory: Callable[..., Flask], test_config: dict | None) -> None:
    """Defaults, the scratch directory, and a runner that can rebuild this app in its export processes."""
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    if app.config["EXPORT_JOBS"] is None:
        app.config["EXPORT_JOBS"] = app.config["SURVEY_ENV"] != "testing"
    scratch.init_app(app)
    app.extensions[EXTENSION] = Runner(app, factory, test_config)


def enabled() -> bool:
    """Whether heavy exports go through jobs in this app."""
    return bool(current_app.config["EXPORT_JOBS"])


# ---------------------------------------------------------------- asking for an export


def offer(kind: str, params: dict, *, project_id: int, questionnaire_id: int | None = None):
    """The export route's answer on the job path: the progress page of a new or shared job, or a refusal."""
    try:
        job = start(kind, params, project_id=project_id, questionnaire_id=questionnaire_id)
    except Refused as refused:
        body = render_template("jobs/refused.html", refused=refused, title=refused.title, kinds=KINDS)
        response = current_app.make_response((body, refused.status))
        response.headers["Retry-After"] = "30"
        return response
    return redirect(url_for("jobs.progress", job_id=job.id), code=303)


def start(kind: str, params: dict, *, project_id: int, questionnaire_id: int | None = None) -> ExportJob:
    """The signed-in evaluator's job for this export: one already running, a fresh result of the same data,
    or a new one (queued in this process's pool, or run here when ``JOB_WORKERS`` is 0)."""
    config = current_app.config
    params = {**params, "locale": params.get("locale") or str(get_locale())}
    key = job_key(current_user.id, kind, params)
    reap()
    stamp = data_stamp(project_id, questionnaire_id)
    job = _running(key) or _fresh_result(key, stamp)
    if job is not None:
        return job
    runner: Runner = current_app.extensions[EXTENSION]
    if config["JOB_WORKERS"] > 0 and not runner.has_room():
        raise Refused(503, _("服务器正忙"), _("这台服务器正在生成其他导出文件。请过半分钟再点一次下载。"))
    job = _claim(kind, params, key, stamp, project_id, questionnaire_id)
    if config["JOB_WORKERS"] > 0:
        runner.submit(job.id)
    else:
        run(job.id)
    return job


def job_key(user_id: int, kind: str, params: dict) -> str:
    """Who asks for which export with which options (the data's state is kept apart, in ``stamp``)."""
    text = json.dumps([user_id, kind, params], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def data_stamp(project_id: int, questionnaire_id: int | None) -> str:
    """The state of the data an export is made from: the responses (how many, the newest), exclusion decisions
    and corrections, and the project's last recorded change (settings, indicator table, report text…).

    A finished file is handed out again only while this is unchanged."""
    responses = db.select(func.count(Response.id), func.max(Response.id))
    if questionnaire_id is not None:
        responses = responses.where(Response.questionnaire_id == questionnaire_id)
    else:
        ids = db.select(Questionnaire.id).where(Questionnaire.project_id == project_id)
        responses = responses.where(Response.questionnaire_id.in_(ids))
    changes = db.select(func.max(AuditEvent.id)).where(
        AuditEvent.project_id == project_id, ~AuditEvent.action.startswith("export."), AuditEvent.action != "api.read"
    )
    figures = [
        *db.session.execute(responses).one(),
        db.session.execute(db.select(func.max(ReviewEvent.id))).scalar(),
        db.session.execute(db.select(func.max(ResponseRevision.id))).scalar(),
        db.session.execute(changes).scalar(),
    ]
    return hashlib.sha256(json.dumps(figures, default=str).encode()).hexdigest()[:32]


def _running(key: str) -> ExportJob | None:
    return db.session.execute(db.select(ExportJob).where(ExportJob.active_key == key)).scalar()


def _fresh_result(key: str, stamp: str) -> ExportJob | None:
    """A finished job for the same request whose data has not changed since, if its file is still kept."""
    query = (
        db.select(ExportJob)
        .where(ExportJob.key == key, ExportJob.status == "done", ExportJob.size.is_not(None))
        .order_by(ExportJob.id.desc())
        .limit(1)
    )
    job = db.session.execute(query).scalar()
    return job if job is not None and job.params.get("_stamp") == stamp else None


def _claim(kind: str, params: dict, key: str, stamp: str, project_id: int, questionnaire_id: int | None):
    """Insert the job in the first free place of the evaluator's ``JOB_PER_USER``; the unique indexes make
    two servers asking at the same moment share one job, and never give one evaluator more places."""
    cap = current_app.config["JOB_PER_USER"]
    for slot in range(1, cap + 1):
        job = ExportJob(
            user_id=current_user.id,
            project_id=project_id,
            questionnaire_id=questionnaire_id,
            kind=kind,
            params={**params, "_stamp": stamp, "_url": request.full_path.rstrip("?")},
            key=key,
            active_key=key,
            slot=slot,
        )
        db.session.add(job)
        try:
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            shared = _running(key)
            if shared is not None:
                return shared
            continue
        return job
    running = db.session.execute(
        db.select(ExportJob).where(ExportJob.user_id == current_user.id, ExportJob.status.in_(ACTIVE))
    ).scalars()
    raise Refused(
        429,
        _("导出任务太多"),
        _("您已有 %(n)d 个导出文件正在生成。请等其中一个完成后再下载新的文件。", n=cap),
        list(running),
    )


def reap() -> None:
    """Mark jobs whose process stopped as failed (freeing their places) and delete files kept long enough."""
    config = current_app.config
    now = utcnow()
    lost = now - timedelta(seconds=config["JOB_STALE_SECONDS"])
    db.session.execute(
        update(ExportJob)
        .where(ExportJob.status.in_(ACTIVE), ExportJob.heartbeat_at < lost)
        .values(status="failed", error="lost", active_key=None, slot=None, finished_at=now)
    )
    old = now - timedelta(seconds=config["JOB_RESULT_SECONDS"])
    db.session.execute(db.delete(ExportJob).where(ExportJob.status.not_in(ACTIVE), ExportJob.finished_at < old))
    db.session.commit()


def forget(questionnaire_id: int, project_id: int) -> None:
    """Delete every job holding this questionnaire's answers (its own, and its project's workbooks); the
    caller commits. Called when its responses are deleted."""
    db.session.execute(
        db.delete(ExportJob).where(
            or_(
                ExportJob.questionnaire_id == questionnaire_id,
                (ExportJob.project_id == project_id) & ExportJob.questionnaire_id.is_(None),
            )
        )
    )


# ---------------------------------------------------------------- running a job


class JobRefusal(Exception):
    """A file that cannot be made for a reason the evaluator can fix (a template that no longer fits the
    figures, say): the job fails with this message, which the progress page shows, instead of a bare error."""


REFUSED = "refused:"  # how ExportJob.error marks a refusal's message


def run(job_id: int) -> None:
    """Build the job's file in the current app context and store it (or why it failed)."""
    job = db.session.get(ExportJob, job_id)
    if job is None or job.status != "queued":
        return
    job.status, job.started_at, job.heartbeat_at = "running", utcnow(), utcnow()
    db.session.commit()
    kind, params = job.kind, dict(job.params)
    try:
        with force_locale(params.get("locale") or current_app.config["BABEL_DEFAULT_LOCALE"]):
            made = KINDS[kind].build(params)
    except JobRefusal as refusal:
        db.session.rollback()
        _finish(job_id, error=REFUSED + str(refusal)[:2000])
        return
    except Exception as error:  # noqa: BLE001 - any failure is the job's outcome, shown to the evaluator
        db.session.rollback()
        log.exception("export job %s (%s) failed", job_id, kind)
        _finish(job_id, error=type(error).__name__)
        return
    _finish(job_id, made=made)


def _finish(job_id: int, made: JobFile | None = None, error: str = "") -> None:
    """Store the outcome and give the evaluator's place back."""
    job = db.session.get(ExportJob, job_id)
    if job is None:  # deleted meanwhile (its answers or questionnaire were deleted)
        return
    job.active_key, job.slot, job.finished_at = None, None, utcnow()
    if made is None:
        job.status, job.error = "failed", error or "error"
    else:
        job.status, job.content, job.size = "done", made.body, len(made.body)
        job.filename, job.mimetype, job.display_name = made.filename, made.mimetype, made.display_name
    db.session.commit()


def mark_failed(job_id: int, error: str) -> None:
    """A job whose process died or could not take it."""
    db.session.execute(
        update(ExportJob)
        .where(ExportJob.id == job_id, ExportJob.status.in_(ACTIVE))
        .values(status="failed", error=error, active_key=None, slot=None, finished_at=utcnow())
    )
    db.session.commit()


class Runner:
    """One web process's export pool: started on the first job, replaced if its process dies."""

    def __init__(self, app: Flask, factory: Callable[..., Flask], test_config: dict | None):
        self.app, self.factory, self.test_config = app, factory, test_config
        self.lock = threading.Lock()
        self.executor: ProcessPoolExecutor | None = None
        self.pending: dict[int, Future] = {}
        self.keeper: threading.Thread | None = None
        self.stopping = threading.Event()
        self.files_until = 0.0  # (monotonic) until when a file this process made may still be kept

    def has_room(self) -> bool:
        """Whether this process may take one more job."""
        with self.lock:
            return len(self.pending) < self.app.config["JOB_QUEUE_PER_PROCESS"]

    def submit(self, job_id: int) -> None:
        """Queue the job in the pool (made here on first use) and keep its heartbeat while it is pending."""
        with self.lock:
            if self.executor is None:
                self.executor = self._new_pool()
            future = self.executor.submit(run_in_process, job_id)
            self.pending[job_id] = future
            if self.keeper is None or not self.keeper.is_alive():
                self.keeper = threading.Thread(target=self._keep, name="export-job-heartbeat", daemon=True)
                self.keeper.start()
        future.add_done_callback(lambda done: self._done(job_id, done))

    def _new_pool(self) -> ProcessPoolExecutor:
        """A pool whose processes are started from a thread of lowered priority: a child inherits it from its
        first instruction, so even its start-up (importing the app and its libraries, seconds of CPU) yields
        to the respondents' threads. (Lowered in the initializer only, that start-up ran at full priority.)"""
        workers, nice = self.app.config["JOB_WORKERS"], self.app.config["JOB_NICE"]
        executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=start_process,
            initargs=(self.factory, self.test_config, nice, os.getpid()),
        )

        def start() -> None:  # the nice value and scheduling class are per thread on Linux, inherited by fork
            lower_priority(nice)
            for _started in range(workers):  # with no idle process, each submission starts one more, up to ``workers``
                executor.submit(os.getpid)

        starter = threading.Thread(target=start, name="export-job-start")
        starter.start()
        starter.join()
        return executor

    def _done(self, job_id: int, future: Future) -> None:
        """The pool is done with a job: if it never reported back (its process died), say so."""
        with self.lock:
            self.pending.pop(job_id, None)
            self.files_until = time.monotonic() + self.app.config["JOB_RESULT_SECONDS"] + 1
        error = CancelledError() if future.cancelled() else future.exception()
        if error is None:
            return
        log.error("export job %s ended without a result: %r", job_id, error)
        if isinstance(error, BrokenProcessPool):
            with self.lock:
                self.executor = None  # the next job starts a new pool
        with self.app.app_context():
            try:
                mark_failed(job_id, type(error).__name__)
            finally:
                db.session.remove()

    def close(self) -> None:
        """Stop the pool (jobs not started yet are failed) and wait for its processes and the heartbeat."""
        with self.lock:
            executor, keeper, self.executor = self.executor, self.keeper, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        self.stopping.set()
        if keeper is not None:
            keeper.join()

    def _keep(self) -> None:
        """While this process has jobs, touch their heartbeat (other servers then know it still has them); until
        the files it made have been kept long enough, delete them when they have (``reap``), even if nobody asks
        for another export meanwhile. Ends when there is neither, or on ``close``."""
        while not self.stopping.wait(self.app.config["JOB_HEARTBEAT_SECONDS"]):
            with self.lock:
                ids = list(self.pending)
                if not ids and time.monotonic() > self.files_until:
                    self.keeper = None
                    last = True
                else:
                    last = False
            with self.app.app_context():
                try:
                    if ids:
                        db.session.execute(
                            update(ExportJob)
                            .where(ExportJob.id.in_(ids), ExportJob.status.in_(ACTIVE))
                            .values(heartbeat_at=utcnow())
                        )
                        db.session.commit()
                    reap()
                except Exception:  # noqa: BLE001 - a database hiccup must not end the heartbeat
                    log.exception("export job heartbeat failed")
                    db.session.rollback()
                finally:
                    db.session.remove()
            if last:
                return


# ---------------------------------------------------------------- inside an export process

_process_app: Flask | None = None


def lower_priority(nice: int) -> None:
    """Run the calling thread (and what it starts) at nice ``nice`` at least, as a batch task that never
    preempts a respondent's thread (SCHED_BATCH), where the system has it."""
    if os.getpriority(os.PRIO_PROCESS, 0) < nice:
        os.setpriority(os.PRIO_PROCESS, 0, nice)  # PRIO_PROCESS 0 is the calling thread on Linux
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except (AttributeError, OSError):
        pass


def start_process(factory: Callable[..., Flask], test_config: dict | None, nice: int, parent: int) -> None:
    """An export process: lower priority, its own app (own database pool, own scratch folder), and an end
    when its web process has gone."""
    global _process_app
    lower_priority(nice)  # already lowered when started by ``Runner``; this also covers any other start
    _process_app = factory(test_config)
    threading.Thread(target=_watch_parent, args=(parent,), name="export-parent-watch", daemon=True).start()


def _watch_parent(parent: int) -> None:
    """A web worker killed outright does not stop its pool: leave with it, taking the scratch folder along."""
    while os.getppid() == parent:
        time.sleep(2)
    scratch.release()
    os._exit(0)


def run_in_process(job_id: int) -> None:
    """The pool's task: run one job in this process's app."""
    assert _process_app is not None, "the export process was not initialised"  # noqa: S101
    with _process_app.app_context():
        try:
            run(job_id)
        finally:
            db.session.remove()


# ---------------------------------------------------------------- for the job pages


def own_job(job_id: int) -> ExportJob:
    """The job, if the signed-in evaluator asked for it and may still see its questionnaire or project."""
    job = db.session.get(ExportJob, job_id)
    if job is None or job.user_id != current_user.id:
        abort(404)
    if job.questionnaire_id is not None:
        member_questionnaire(job.questionnaire_id)
    else:
        member_project(job.project_id)
    return job


def label(job: ExportJob) -> str:
    """What the job makes, in words."""
    kind = KINDS.get(job.kind)
    return kind.label() if kind is not None else job.kind


def describe(job: ExportJob) -> dict[str, Any]:
    """The figures the progress page shows."""
    now = utcnow()
    since = job.started_at or job.created_at
    until = job.finished_at or now
    kept_until = (
        job.finished_at + timedelta(seconds=current_app.config["JOB_RESULT_SECONDS"]) if job.finished_at else None
    )
    return {
        "seconds": max(0, int((until - since).total_seconds())),
        "kept_minutes": current_app.config["JOB_RESULT_SECONDS"] // 60,
        "kept_until": kept_until,
        "retry_url": job.params.get("_url"),
    }
