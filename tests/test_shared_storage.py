"""Two app servers, one database: what the desk keeps between requests is in the database, not on one disk.

Two ``create_app()`` objects on the same database URL (both backends), each with an instance folder of its
own, stand for two app servers behind the proxy; one browser's cookies go to whichever server the proxy
picks, and every step below goes to the other server than the step before. An import uploaded through one
server is mapped, checked and imported (or discarded) through the other; a report template saved on one is
what the other shows and renders. Neither instance folder gets a single file.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from survey.models import PendingImport, ReportTemplate, Response
from survey.platform.extensions import db
from tests.conftest import IsolatedClient, make_config
from tests.helpers import hidden_value, make_project, published
from tests.test_response_import import SEED_HEADERS, SEED_TEXT_ROWS, form_of, xlsx


@pytest.fixture
def servers(app, database_url, tmp_path, monkeypatch) -> list[Flask]:
    """Two apps on the test database, with CSRF on, each with its own (empty) instance folder."""
    made = []
    for name in ("a", "b"):
        folder = str(tmp_path / f"server-{name}" / "instance")
        monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda self, folder=folder: folder)
        server = create_app(make_config(database_url, WTF_CSRF_ENABLED=True))
        assert server.instance_path == folder
        server.test_client_class = IsolatedClient
        made.append(server)
    yield made
    for server in made:
        with server.app_context():
            db.session.remove()
            db.engine.dispose()


class Browser:
    """One browser behind the proxy: a single cookie jar, each request sent to the server named."""

    def __init__(self, servers: list[Flask]):
        self.clients = [server.test_client() for server in servers]

    def open(self, server: int, method: str, url: str, **kwargs):
        client = self.clients[server]
        response = client.open(url, method=method, **kwargs)
        cookie = client.get_cookie("session")
        for other in self.clients:
            if other is not client:
                if cookie is None:
                    other.delete_cookie("session")
                else:
                    other.set_cookie("session", cookie.value)
        return response

    def sign_in(self) -> None:
        """The sign-in page from one server, the form posted to the other (its CSRF token travels in the cookie)."""
        page = self.open(0, "GET", "/login").data.decode()
        data = {"username": "alice", "password": "alice-password-1", "csrf_token": hidden_value(page, "csrf_token")}
        assert self.open(1, "POST", "/login", data=data).status_code == 302


def _files_on_disk(servers: list[Flask]) -> list[Path]:
    return [path for server in servers for path in Path(server.instance_path).rglob("*") if path.is_file()]


def _upload(browser: Browser, questionnaire, server: int) -> str:
    """Upload seed rows through ``server`` (the form from the other one); return the mapping URL."""
    url = f"/desk/questionnaires/{questionnaire.id}/import/"
    page = browser.open(1 - server, "GET", url).data.decode()
    data = {
        "file": (io.BytesIO(xlsx([SEED_HEADERS, *SEED_TEXT_ROWS])), "wjx.xlsx"),
        "csrf_token": hidden_value(page, "csrf_token"),
    }
    sent = browser.open(server, "POST", url, data=data, content_type="multipart/form-data")
    assert sent.status_code == 302, sent.data.decode()[:500]
    return sent.headers["Location"]


def _responses(questionnaire) -> int:
    db.session.expire_all()
    query = db.select(db.func.count(Response.id)).filter_by(questionnaire_id=questionnaire.id)
    return db.session.execute(query).scalar_one()


def _pending() -> int:
    return db.session.execute(db.select(db.func.count(PendingImport.id))).scalar_one()


def test_an_upload_made_on_one_server_is_mapped_and_imported_on_the_other(app, servers, evaluator):
    questionnaire = published(make_project(evaluator))
    browser = Browser(servers)
    browser.sign_in()
    mapping_url = _upload(browser, questionnaire, server=0)
    assert _pending() == 1

    html = browser.open(1, "GET", mapping_url).data.decode()
    assert '<option value="ans:q4" selected>' in html  # the table server a parsed, read on server b
    checked = browser.open(0, "POST", f"{mapping_url}/check", data=form_of(html))
    assert checked.status_code == 200, checked.data.decode()[:500]
    assert "检查通过" in checked.data.decode()
    done = browser.open(1, "POST", f"{mapping_url}/run", data=form_of(checked.data.decode()))
    assert done.status_code == 302
    assert _responses(questionnaire) == len(SEED_TEXT_ROWS)

    assert _pending() == 0  # deleted by server b after the import ...
    assert browser.open(0, "GET", mapping_url).status_code == 404  # ... so server a no longer has it either
    assert _files_on_disk(servers) == []


def test_an_upload_made_on_one_server_is_discarded_on_the_other(app, servers, evaluator):
    questionnaire = published(make_project(evaluator))
    browser = Browser(servers)
    browser.sign_in()
    mapping_url = _upload(browser, questionnaire, server=1)
    html = browser.open(0, "GET", mapping_url).data.decode()
    assert browser.open(0, "POST", f"{mapping_url}/discard", data=form_of(html)).status_code == 302
    assert _pending() == 0
    assert browser.open(1, "GET", mapping_url).status_code == 404
    assert _responses(questionnaire) == 0 and _files_on_disk(servers) == []


def test_a_report_template_saved_on_one_server_is_used_on_the_other(app, servers, evaluator):
    questionnaire = published(make_project(evaluator))
    browser = Browser(servers)
    browser.sign_in()
    url = f"/desk/questionnaires/{questionnaire.id}/report/"
    page = browser.open(0, "GET", url).data.decode()
    assert "本次调查共回收问卷0份" in page  # the default template
    edited = "我组为{{ project }}共回收{{ returned }}份问卷。"
    saved = browser.open(1, "POST", url, data={"template": edited, "csrf_token": hidden_value(page, "csrf_token")})
    assert saved.status_code == 302

    page = browser.open(0, "GET", url).data.decode()
    assert "我组为雪亮工程绩效评价共回收0份问卷。" in page and "本次调查共回收问卷" not in page
    db.session.expire_all()
    row = db.session.execute(db.select(ReportTemplate)).scalar_one()
    assert (row.project_id, row.text, row.updated_by) == (questionnaire.project_id, edited, evaluator.id)

    reset = browser.open(0, "POST", url + "reset", data={"csrf_token": hidden_value(page, "csrf_token")})
    assert reset.status_code == 302
    assert "本次调查共回收问卷0份" in browser.open(1, "GET", url).data.decode()
    assert db.session.execute(db.select(ReportTemplate)).first() is None
    assert _files_on_disk(servers) == []
