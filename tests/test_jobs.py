"""Heavy exports as jobs (survey.jobs.queue): a progress page at once, the file afterwards, caps per evaluator and per
process, shared jobs for the same request, lost jobs freed, and only the asker may see or fetch a job."""

from __future__ import annotations

import io
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from app import create_app
from survey.accounts.access import add_member
from survey.accounts.users import create_user
from survey.jobs import queue as jobs
from survey.jobs import scratch
from survey.models import AuditEvent, ExportJob, ProjectMember, utcnow
from survey.platform.extensions import db
from survey.privacy import retention as privacy
from survey.projects.demo import _answer
from tests.conftest import login, make_config
from tests.helpers import make_project, published

EXPORTS = [
    ("results.xlsx", b"PK"),
    ("responses.csv", "\ufeff".encode()),
    ("bundle.zip", b"PK"),
    ("report.pdf", b"%PDF"),
    ("data/responses.sav", b"$FL2"),
    ("data/responses.dta", b"<stata_dta>"),
    ("data/responses-codes.csv", "\ufeff".encode()),
]


@pytest.fixture
def app_config():
    """The job path, each job run inside its request (JOB_WORKERS=0), so the tests need no second process."""
    return {"EXPORT_JOBS": True, "JOB_WORKERS": 0}


@pytest.fixture
def answered(app, evaluator):
    questionnaire = published(make_project(evaluator), "public_safety")
    _answer(questionnaire, random.Random(5), 12)
    db.session.commit()
    return questionnaire


@pytest.fixture
def queue_only(app, monkeypatch):
    """Jobs are queued in this process but never run: they stay queued, as behind a busy pool."""
    runner = app.extensions[jobs.EXTENSION]
    monkeypatch.setitem(app.config, "JOB_WORKERS", 1)
    monkeypatch.setattr(runner, "submit", lambda job_id: runner.pending.__setitem__(job_id, None))
    return runner


def _url(questionnaire, path: str) -> str:
    return f"/desk/questionnaires/{questionnaire.id}/{path}"


def _job_id(response) -> int:
    assert response.status_code == 303, response.status_code
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


@pytest.mark.parametrize(("path", "magic"), EXPORTS)
def test_an_export_answers_with_a_progress_page_then_the_file(logged_in, answered, path, magic):
    job_id = _job_id(logged_in.get(_url(answered, path)))
    page = logged_in.get(f"/desk/jobs/{job_id}")
    html = page.data.decode()
    assert page.status_code == 200 and "已生成" in html and f"/desk/jobs/{job_id}/download" in html
    assert "Refresh" not in page.headers  # finished: the page stops reloading itself
    download = logged_in.get(f"/desk/jobs/{job_id}/download")
    assert download.status_code == 200 and download.data.startswith(magic)
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.headers["Cache-Control"] == "private, no-store"


def test_the_bundle_from_a_job_is_the_whole_bundle(logged_in, answered):
    job_id = _job_id(logged_in.get(_url(answered, "bundle.zip")))
    archive = zipfile.ZipFile(io.BytesIO(logged_in.get(f"/desk/jobs/{job_id}/download").data))
    assert {"responses.csv", "results.xlsx", "manifest.json", "SHA256SUMS"} <= set(archive.namelist())


def test_a_queued_job_shows_its_progress_and_refreshes_itself(logged_in, answered, queue_only):
    job_id = _job_id(logged_in.get(_url(answered, "results.xlsx")))
    page = logged_in.get(f"/desk/jobs/{job_id}")
    html = page.data.decode()
    assert page.status_code == 200 and "正在生成" in html and "<progress" in html
    assert page.headers["Refresh"] == "2" and page.headers["Cache-Control"] == "private, no-store"
    early = logged_in.get(f"/desk/jobs/{job_id}/download")
    assert early.status_code == 302 and early.headers["Location"].endswith(f"/desk/jobs/{job_id}")


def test_the_same_request_shares_one_job_while_it_runs(logged_in, answered, queue_only):
    first = _job_id(logged_in.get(_url(answered, "results.xlsx")))
    again = [_job_id(logged_in.get(_url(answered, "results.xlsx"))) for _ in range(5)]
    assert again == [first] * 5
    assert db.session.execute(db.select(db.func.count(ExportJob.id))).scalar() == 1
    other_language = _job_id(logged_in.get(_url(answered, "results.xlsx?language=en")))
    assert other_language != first  # a different file is a different job


def test_a_finished_file_is_handed_out_again_until_the_data_changes(logged_in, answered):
    first = _job_id(logged_in.get(_url(answered, "responses.csv")))
    assert _job_id(logged_in.get(_url(answered, "responses.csv"))) == first
    _answer(answered, random.Random(9), 1)
    db.session.commit()
    assert _job_id(logged_in.get(_url(answered, "responses.csv"))) != first


def test_one_evaluator_runs_at_most_two_jobs_and_is_told_so(app, logged_in, answered, queue_only):
    _job_id(logged_in.get(_url(answered, "results.xlsx")))
    _job_id(logged_in.get(_url(answered, "bundle.zip")))
    refused = logged_in.get(_url(answered, "report.pdf"))
    html = refused.data.decode()
    assert refused.status_code == 429 and "导出任务太多" in html and "您已有 2 个导出文件正在生成" in html
    assert html.count("/desk/jobs/") == 2  # links to the two that run
    bob = create_user("bob", "bob-password-1", "Bob")
    add_member(answered.project, bob, "viewer")
    db.session.commit()
    queue_only.pending.clear()
    logged_in.post("/logout")
    login(logged_in, "bob", "bob-password-1")
    assert logged_in.get(_url(answered, "report.pdf")).status_code == 303  # another evaluator's own places


def test_a_full_process_refuses_more_work(app, logged_in, answered, queue_only, monkeypatch):
    monkeypatch.setitem(app.config, "JOB_QUEUE_PER_PROCESS", 1)
    _job_id(logged_in.get(_url(answered, "results.xlsx")))
    busy = logged_in.get(_url(answered, "bundle.zip"))
    assert busy.status_code == 503 and "服务器正忙" in busy.data.decode() and busy.headers["Retry-After"]


def test_a_lost_job_is_failed_and_frees_its_place(app, logged_in, answered, queue_only):
    first = _job_id(logged_in.get(_url(answered, "results.xlsx")))
    _job_id(logged_in.get(_url(answered, "bundle.zip")))
    stale = utcnow() - timedelta(seconds=app.config["JOB_STALE_SECONDS"] + 5)
    db.session.execute(db.update(ExportJob).values(heartbeat_at=stale))
    db.session.commit()
    queue_only.pending.clear()
    assert _job_id(logged_in.get(_url(answered, "report.pdf"))) not in (first,)
    page = logged_in.get(f"/desk/jobs/{first}").data.decode()
    assert "生成失败" in page and "服务器进程中断" in page and _url(answered, "results.xlsx") in page


def test_a_failing_export_says_so_and_frees_its_place(app, logged_in, answered, monkeypatch):
    def broken(params):
        raise RuntimeError("boom")

    monkeypatch.setitem(jobs.KINDS, "responses_csv", jobs.Kind("responses_csv", lambda: "CSV", broken))
    job_id = _job_id(logged_in.get(_url(answered, "responses.csv")))
    job = db.session.get(ExportJob, job_id)
    assert job.status == "failed" and job.slot is None and job.active_key is None
    page = logged_in.get(f"/desk/jobs/{job_id}").data.decode()
    assert "生成失败" in page and "重新生成" in page and "boom" not in page


def test_only_the_asker_with_access_sees_or_fetches_a_job(app, client, evaluator, other_evaluator, answered):
    login(client, "alice", "alice-password-1")
    job_id = _job_id(client.get(_url(answered, "results.xlsx")))
    pages = (f"/desk/jobs/{job_id}", f"/desk/jobs/{job_id}/download")
    assert all(client.get(page).status_code == 200 for page in pages)
    client.post("/logout")
    login(client, "mallory", "mallory-password-1")  # not a member
    assert [client.get(page).status_code for page in pages] == [404, 404]
    add_member(answered.project, other_evaluator, "owner")  # a member, even an owner, but not the asker
    db.session.commit()
    assert [client.get(page).status_code for page in pages] == [404, 404]
    bob = create_user("bob", "bob-password-1", "Bob")
    add_member(answered.project, bob, "viewer")
    db.session.commit()
    client.post("/logout")
    login(client, "bob", "bob-password-1")
    own = _job_id(client.get(_url(answered, "results.xlsx")))
    assert own != job_id and client.get(f"/desk/jobs/{own}/download").status_code == 200
    db.session.delete(db.session.get(ProjectMember, (answered.project_id, bob.id)))  # bob loses access
    db.session.commit()
    assert [client.get(f"/desk/jobs/{own}").status_code, client.get(f"/desk/jobs/{own}/download").status_code] == [
        404,
        404,
    ]
    client.post("/logout")
    assert client.get(f"/desk/jobs/{own}").status_code in (302, 401)


def test_deleting_the_answers_deletes_the_files_made_from_them(app, logged_in, answered):
    job_id = _job_id(logged_in.get(_url(answered, "responses.csv")))
    done = logged_in.post(_url(answered, "responses/delete"), data={"confirm_title": answered.title})
    assert done.status_code == 302
    assert db.session.execute(db.select(ExportJob.id).where(ExportJob.id == job_id)).first() is None
    assert logged_in.get(f"/desk/jobs/{job_id}/download").status_code == 404


def test_old_files_are_deleted(app, logged_in, answered):
    job_id = _job_id(logged_in.get(_url(answered, "responses.csv")))
    old = utcnow() - timedelta(seconds=app.config["JOB_RESULT_SECONDS"] + 5)
    db.session.execute(db.update(ExportJob).values(finished_at=old))
    db.session.commit()
    _job_id(logged_in.get(_url(answered, "results.xlsx")))
    assert db.session.execute(db.select(ExportJob.kind)).scalars().all() == ["results_xlsx"]
    assert logged_in.get(f"/desk/jobs/{job_id}").status_code == 404  # ids are never given out again


def test_kept_files_are_deleted_on_time_without_another_export(app, logged_in, answered, monkeypatch):
    """The web process that made files deletes them when their time is up, though nobody asks for another."""
    _job_id(logged_in.get(_url(answered, "responses.csv")))
    monkeypatch.setitem(app.config, "JOB_HEARTBEAT_SECONDS", 0.05)
    runner = app.extensions[jobs.EXTENSION]
    runner.files_until = time.monotonic() + 0.5
    keeper = threading.Thread(target=runner._keep)  # noqa: SLF001 - the thread ``submit`` starts
    keeper.start()
    time.sleep(0.3)
    assert db.session.execute(db.select(db.func.count(ExportJob.id))).scalar() == 1  # kept for its time
    monkeypatch.setitem(app.config, "JOB_RESULT_SECONDS", 0)  # … which is now over
    keeper.join(timeout=30)
    assert not keeper.is_alive()  # the thread ends once nothing is left to keep
    assert db.session.execute(db.select(db.func.count(ExportJob.id))).scalar() == 0


def test_the_daily_purge_deletes_files_kept_too_long(app, logged_in, answered):
    job_id = _job_id(logged_in.get(_url(answered, "responses.csv")))
    old = utcnow() - timedelta(seconds=app.config["JOB_RESULT_SECONDS"] + 5)
    db.session.execute(db.update(ExportJob).values(finished_at=old))
    db.session.commit()
    privacy.purge_expired(utcnow())
    assert db.session.execute(db.select(ExportJob.id).where(ExportJob.id == job_id)).first() is None


def test_asking_is_audited_once_as_the_export(app, logged_in, answered):
    job_id = _job_id(logged_in.get(_url(answered, "results.xlsx")))
    logged_in.get(f"/desk/jobs/{job_id}")
    logged_in.get(f"/desk/jobs/{job_id}/download")
    actions = db.session.execute(db.select(AuditEvent.action)).scalars().all()
    assert actions == ["export.workbook"]


def test_without_jobs_the_route_answers_with_the_file(app, logged_in, answered, monkeypatch):
    monkeypatch.setitem(app.config, "EXPORT_JOBS", False)
    direct = logged_in.get(_url(answered, "results.xlsx"))
    assert direct.status_code == 200 and direct.data.startswith(b"PK")


def test_production_defaults_take_the_job_path(database_url):
    production = create_app({**make_config(database_url), "SURVEY_ENV": "production", "TESTING": False})
    assert production.config["EXPORT_JOBS"] is True and production.config["JOB_WORKERS"] == 1
    testing = create_app(make_config(database_url))
    assert testing.config["EXPORT_JOBS"] is False


@pytest.mark.parametrize("app_config", [{"EXPORT_JOBS": True, "JOB_WORKERS": 1, "JOB_HEARTBEAT_SECONDS": 0.2}])
def test_a_job_runs_in_a_separate_lower_priority_process(app, logged_in, answered):
    """The real pool: a spawned process with its own app builds the file; the web process only waits."""
    runner = app.extensions[jobs.EXTENSION]
    try:
        job_id = _job_id(logged_in.get(_url(answered, "results.xlsx")))
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            db.session.expire_all()
            if db.session.get(ExportJob, job_id).status not in jobs.ACTIVE:
                break
            time.sleep(0.5)
        job = db.session.get(ExportJob, job_id)
        assert job.status == "done", job.error
        assert logged_in.get(f"/desk/jobs/{job_id}/download").data.startswith(b"PK")
        (pid,) = runner.executor._processes  # the pool's one process  # noqa: SLF001
        assert pid != os.getpid() and os.getpriority(os.PRIO_PROCESS, pid) >= os.getpriority(os.PRIO_PROCESS, 0) + 10
        assert os.sched_getscheduler(pid) == os.SCHED_BATCH
        assert os.getpriority(os.PRIO_PROCESS, 0) < 10  # the web process itself keeps its priority
    finally:
        runner.close()
    assert not [thread.name for thread in threading.enumerate() if thread.name.startswith("export-job")]


# ---------------------------------------------------------------- the private scratch directory (survey.jobs.scratch)

KILLED_MID_EXPORT = """
import os, signal, sys, tempfile
from app import create_app
from tests.conftest import make_config
create_app(make_config(sys.argv[1], SCRATCH_DIR=sys.argv[2]))
handle, path = tempfile.mkstemp(suffix=".xml")  # as XlsxWriter spills a constant-memory sheet
os.write(handle, "满意度很低，电话 13800000000".encode())
print(path, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.fixture
def own_tempdir(monkeypatch):
    """This process's temporary-directory settings as they were, restored after the test."""
    monkeypatch.setattr(tempfile, "tempdir", tempfile.tempdir)
    monkeypatch.setattr(scratch, "_claimed", {})


def test_a_killed_workers_temporary_files_are_removed_when_the_app_starts(tmp_path, own_tempdir):
    root = tmp_path / "scratch"
    database = "sqlite:///" + str(tmp_path / "db.sqlite")
    killed = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", KILLED_MID_EXPORT, database, str(root)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
        timeout=120,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    left = Path(killed.stdout.strip())
    assert left.is_file() and left.parent.parent == root  # in the app's own folder, not the system's /tmp
    assert oct(root.stat().st_mode & 0o777) == "0o700" and oct(left.parent.stat().st_mode & 0o777) == "0o700"

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])  # noqa: S603
    try:
        live = root / scratch.process_tag(sleeper.pid)
        live.mkdir()
        (live / "in-use.xml").write_text("a running export")
        recycled = root / f"{sleeper.pid}-1"  # the same id, an older process: not the running one
        recycled.mkdir()
        (root / "stray.tmp").write_text("x")

        app = create_app(make_config(database, SCRATCH_DIR=str(root)))

        own = app.extensions["scratch"]
        assert not left.exists() and not left.parent.exists() and not recycled.exists()
        assert not (root / "stray.tmp").exists()
        assert (live / "in-use.xml").exists()  # another running process's files are left alone
        assert sorted(entry.name for entry in root.iterdir()) == sorted([live.name, own.name])
        assert tempfile.gettempdir() == str(own) and own.name == scratch.process_tag(os.getpid())
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.parametrize(("path", "magic"), [("results.xlsx", b"PK"), ("data/responses.sav", b"$FL2")])
def test_exports_write_their_temporary_files_in_the_scratch_folder(app, logged_in, answered, monkeypatch, path, magic):
    made = []
    real = tempfile.mkstemp

    def recording(*args, **kwargs):
        handle, name = real(*args, **kwargs)
        made.append(Path(name))
        return handle, name

    monkeypatch.setattr(tempfile, "mkstemp", recording)
    monkeypatch.setitem(app.config, "EXPORT_JOBS", False)
    download = logged_in.get(_url(answered, path))
    assert download.status_code == 200 and download.data.startswith(magic)
    own = app.extensions["scratch"]
    assert made and all(name.parent == own for name in made), made
    assert not any(name.exists() for name in made)  # and removed once the file is made
    assert own.parent == Path(app.instance_path) / "tmp"
