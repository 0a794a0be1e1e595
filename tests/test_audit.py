"""The audit trail: what is recorded, that the hash chain shows tampering, the per-project log and CSV."""

from __future__ import annotations

import io
import json
import re
import threading

import pytest
from sqlalchemy import text

from survey.accounts.api_tokens import issue_token
from survey.accounts.users import create_user
from survey.audit import trail as audit
from survey.models import AuditEvent, ProjectMember, Response, User
from survey.platform.extensions import db
from survey.questionnaires import publishing
from survey.respond.submit import store_response
from tests.conftest import login
from tests.helpers import SEED_004_ANSWERS, make_project, published

DOWNLOAD = re.compile(r"\.(csv|xlsx|zip|pdf|sav|dta|json|yaml|png|svg)$")


def entries(action: str | None = None) -> list[AuditEvent]:
    query = db.select(AuditEvent).order_by(AuditEvent.id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.execute(query).scalars())


def answer(questionnaire, n: int = 1) -> list[Response]:
    return [store_response(questionnaire, dict(SEED_004_ANSWERS), f"audit-{questionnaire.id}-{i}")[0] for i in range(n)]


# --- the registry -------------------------------------------------------------------------------------


def test_every_state_changing_route_is_audited_or_exempt(app):
    missing = audit.unregistered_endpoints(app)
    assert not missing, (
        "POST/PUT/PATCH/DELETE endpoints neither in survey.audit.trail.AUDITED nor in EXEMPT: " + ", ".join(missing)
    )


def test_registry_names_only_existing_endpoints(app):
    stale = sorted(set(audit.AUDITED) - set(app.view_functions))
    assert not stale, "survey.audit.trail.AUDITED names endpoints that no longer exist: " + ", ".join(stale)


def test_every_download_route_is_audited_or_exempt(app):
    missing = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not (DOWNLOAD.search(rule.rule) or rule.rule.startswith("/api/")):
            continue
        entry = audit.AUDITED.get(rule.endpoint)
        if not (entry and entry.export) and rule.endpoint not in audit.EXEMPT_DOWNLOADS:
            missing.append(rule.endpoint)
    assert not missing, "downloads neither recorded nor exempt: " + ", ".join(sorted(missing))


def test_every_action_has_a_chinese_label(app):
    codes = {e.code for e in audit.AUDITED.values() if "{" not in e.code}
    codes |= {f"response.{a}" for a in ("exclude", "keep", "restore")}
    codes |= {f"account.{a}" for a in ("deactivate", "reactivate", "unlock", "grant_admin", "revoke_admin")}
    codes |= {"responses.purge", "responses.delete_all"}
    assert sorted(codes - set(audit.ACTION_LABELS)) == []
    assert audit.action_label("questionnaire.publish") == "发布问卷"
    assert audit.action_label("something.old") == "something.old"


# --- what gets recorded --------------------------------------------------------------------------------


@pytest.fixture
def project(logged_in, evaluator):
    return make_project(evaluator)


def test_publish_close_and_edit_are_recorded_with_who_and_what(logged_in, project):
    questionnaire = publishing.create_questionnaire(project, "fengze_service_object")
    assert logged_in.post(f"/desk/questionnaires/{questionnaire.id}/publish").status_code == 302
    assert logged_in.post(f"/desk/questionnaires/{questionnaire.id}/close").status_code == 302
    published_entry, closed_entry = entries("questionnaire.publish")[0], entries("questionnaire.close")[0]
    for entry in (published_entry, closed_entry):
        assert entry.username == "alice" and entry.user_id is not None
        assert entry.project_id == project.id
        assert entry.target == f"{questionnaire.title} (#{questionnaire.id})"
        assert entry.detail["args"] == {"questionnaire_id": questionnaire.id}
    assert published_entry.id < closed_entry.id
    edited = logged_in.post(f"/desk/projects/{project.id}/edit", data={"name": "新名称", "region": "丰泽区"})
    assert edited.status_code == 302
    edit = entries("project.edit")[0]
    assert edit.detail["fields"] == ["name", "region"]
    assert "新名称" not in json.dumps(edit.detail, ensure_ascii=False)  # field names, never typed text


def test_a_created_project_is_named_from_where_the_view_leads(logged_in):
    created = logged_in.post("/desk/projects/new", data={"name": "新项目", "region": "鲤城区"})
    assert created.status_code == 302
    entry = entries("project.create")[0]
    project_id = int(created.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert (entry.project_id, entry.target) == (project_id, f"新项目 (#{project_id})")


def test_a_refused_form_records_nothing(logged_in, project):
    questionnaire = published(project)
    response = answer(questionnaire)[0]
    refused = logged_in.post(f"/desk/questionnaires/{questionnaire.id}/responses/{response.id}/exclude")
    assert refused.status_code == 302  # back to the review page with "请写明理由"
    assert entries("response.exclude") == []
    assert logged_in.post(f"/desk/projects/{project.id}/edit", data={"name": ""}).status_code == 422
    assert entries("project.edit") == []


def test_exclude_and_restore_are_recorded(logged_in, project):
    questionnaire = published(project)
    response = answer(questionnaire)[0]
    url = f"/desk/questionnaires/{questionnaire.id}/responses/{response.id}"
    assert logged_in.post(f"{url}/exclude", data={"reason": "重复作答"}).status_code == 302
    assert logged_in.post(f"{url}/restore", data={"reason": "核实后恢复"}).status_code == 302
    excluded, restored = entries("response.exclude"), entries("response.restore")
    assert len(excluded) == len(restored) == 1
    assert excluded[0].detail["args"]["response_id"] == response.id
    assert "重复作答" not in json.dumps(excluded[0].detail, ensure_ascii=False)


def test_questionnaire_import_and_response_export_are_recorded(logged_in, project):
    definition = publishing.create_questionnaire(project, "fengze_service_object").definition
    upload = {"file": (io.BytesIO(json.dumps(definition).encode()), "q.json")}
    sent = logged_in.post(
        f"/desk/projects/{project.id}/questionnaires/import", data=upload, content_type="multipart/form-data"
    )
    assert sent.status_code == 302
    imported = entries("questionnaire.import")
    assert len(imported) == 1 and imported[0].detail["files"] == [{"field": "file", "name": "q.json"}]

    questionnaire = published(project)
    answer(questionnaire, 2)
    assert logged_in.get(f"/desk/questionnaires/{questionnaire.id}/responses.csv").status_code == 200
    exported = entries("export.responses_csv")
    assert len(exported) == 1 and exported[0].detail["method"] == "GET"
    assert logged_in.get(f"/desk/questionnaires/{questionnaire.id}/results").status_code == 200
    assert entries("export.responses_csv") == exported  # reading a page is not an export


def test_response_import_records_the_counts(app, logged_in, project):
    from tests.test_response_import import SEED_HEADERS, SEED_TEXT_ROWS, form_of, upload, xlsx

    questionnaire = published(project)
    sent = upload(logged_in, questionnaire, xlsx([SEED_HEADERS, *SEED_TEXT_ROWS[:1]]))
    mapping_url = sent.headers["Location"]
    data = form_of(logged_in.get(mapping_url).data.decode())
    checked = logged_in.post(f"{mapping_url}/check", data=data)
    assert checked.status_code == 200
    assert logged_in.post(f"{mapping_url}/run", data=form_of(checked.data.decode())).status_code == 302
    run = entries("import.run")
    assert len(run) == 1 and run[0].detail["responses"] == {"before": 0, "after": 1}
    assert "token" not in run[0].detail["args"]  # upload tokens stay out of the log
    assert entries("import.upload") and not any(e.action == "imports.check" for e in entries())


def test_delete_all_responses_is_recorded_in_the_same_transaction(logged_in, project):
    questionnaire = published(project)
    answer(questionnaire, 3)
    url = f"/desk/questionnaires/{questionnaire.id}/responses/delete"
    assert logged_in.post(url, data={"confirm_title": questionnaire.title}).status_code == 302
    deleted = entries("responses.delete_all")
    assert len(deleted) == 1 and deleted[0].detail["deleted"] == 3
    assert len(entries()) == 1  # the hook does not add a second entry for the same request


def test_api_reads_are_recorded_for_the_tokens_evaluator(app, client, evaluator):
    project = make_project(evaluator)
    questionnaire = published(project)
    _token, secret = issue_token(evaluator, "脚本")
    headers = {"Authorization": f"Bearer {secret}"}
    url = f"/api/v1/questionnaires/{questionnaire.id}/responses?per_page=5"
    assert client.get(url, headers=headers).status_code == 200
    read = entries("api.read")
    assert len(read) == 1 and read[0].username == "alice" and read[0].project_id == project.id
    assert read[0].detail["query"] == {"per_page": "5"}
    assert secret not in json.dumps([e.detail for e in entries()])
    assert client.get("/api/v1/questionnaires/999999/results", headers=headers).status_code == 404
    assert len(entries("api.read")) == 1  # refused requests are not actions


def test_passwords_never_reach_the_log(app, client):
    create_user("root", "root-password-long-1", "Root", True)
    assert login(client, "root", "root-password-long-1").status_code == 302
    made = client.post(
        "/admin/users", data={"username": "bob", "display_name": "Bob", "password": "Secret-Zebra-42-Long"}
    )
    assert made.status_code in (200, 302)
    created = entries("account.create")
    assert len(created) == 1 and created[0].detail["values"]["username"] == "bob"
    assert "Secret-Zebra-42-Long" not in json.dumps([e.detail for e in entries()])
    assert "password" not in created[0].detail["fields"]


def test_outsiders_and_anonymous_requests_record_nothing(app, client, evaluator, other_evaluator):
    questionnaire = published(make_project(evaluator))
    assert client.post(f"/desk/questionnaires/{questionnaire.id}/close").status_code == 302  # to the login page
    assert login(client, "mallory", "mallory-password-1").status_code == 302
    assert client.post(f"/desk/questionnaires/{questionnaire.id}/close").status_code == 404
    assert client.get(f"/desk/questionnaires/{questionnaire.id}/responses.csv").status_code == 404
    assert entries() == []


def test_cli_import_is_recorded(app, runner, evaluator, tmp_path):
    project = make_project(evaluator)
    path = tmp_path / "q.json"
    path.write_text(json.dumps(publishing.create_questionnaire(project, "fengze_service_object").definition))
    result = runner.invoke(args=["questionnaire", "import", str(project.id), str(path), "--as", "alice"])
    assert result.exit_code == 0, result.output
    imported = entries("questionnaire.import")
    assert len(imported) == 1 and imported[0].username == "alice" and imported[0].detail["source"] == "cli"


# --- the chain -----------------------------------------------------------------------------------------


def make_chain(n: int = 5) -> list[AuditEvent]:
    made = [audit.record("project.edit", 7, f"项目 {i}", {"i": i, "fields": ["name"]}) for i in range(n)]
    db.session.commit()
    return made


def test_chain_links_each_row_to_the_previous_one(app):
    made = make_chain(4)
    assert made[0].prev_hash == audit.GENESIS
    assert [m.prev_hash for m in made[1:]] == [m.hash for m in made[:-1]]
    status = audit.verify_chain()
    assert status.intact and status.checked == 4 and status.head == made[-1].hash


def test_editing_a_row_breaks_the_chain_at_that_row(app):
    made = make_chain(5)
    db.session.execute(text("UPDATE audit_event SET target = '篡改' WHERE id = :id"), {"id": made[2].id})
    db.session.commit()
    status = audit.verify_chain()
    assert not status.intact
    assert (status.broken_id, status.broken_position, status.reason) == (made[2].id, 3, "content")


def test_rewriting_a_row_with_a_fresh_hash_breaks_the_next_link(app):
    made = make_chain(5)
    row = made[1]
    forged = audit.row_hash(row.prev_hash, audit.canonical(row.created_at, None, "", 7, "project.edit", "x", {}))
    db.session.execute(
        text(
            "UPDATE audit_event SET user_id = NULL, username = '', target = 'x', detail = '{}', hash = :h "
            "WHERE id = :id"
        ),
        {"h": forged, "id": row.id},
    )
    db.session.commit()
    status = audit.verify_chain()
    assert (status.broken_id, status.reason) == (made[2].id, "link")


def test_deleting_a_row_breaks_the_chain_at_the_next_row(app):
    made = make_chain(5)
    db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": made[1].id})
    db.session.commit()
    status = audit.verify_chain()
    assert (status.intact, status.broken_id, status.broken_position, status.reason) == (False, made[2].id, 2, "link")


def test_concurrent_appends_keep_one_chain(app):
    """Eight threads append at once: every row must have a distinct parent (no fork), on both databases."""
    errors = []

    def append(worker: int) -> None:
        try:
            with app.app_context():
                for i in range(8):
                    audit.record("project.edit", 1, f"w{worker}-{i}", {"worker": worker, "i": i})
                    db.session.commit()
                db.session.remove()
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=append, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    rows = entries()
    assert len(rows) == 64
    assert len({r.prev_hash for r in rows}) == 64
    assert audit.verify_chain().intact


# --- the log page and the CSV --------------------------------------------------------------------------


def test_project_log_page_shows_entries_and_chain_state(logged_in, project):
    questionnaire = published(project)
    logged_in.post(f"/desk/questionnaires/{questionnaire.id}/close")
    page = logged_in.get(f"/desk/projects/{project.id}/audit")
    assert page.status_code == 200
    html = page.data.decode()
    assert "关闭问卷" in html and "alice" in html and "日志链完整" in html
    close = entries("questionnaire.close")[0]
    db.session.execute(text("UPDATE audit_event SET username = 'eve' WHERE id = :id"), {"id": close.id})
    db.session.commit()
    html = logged_in.get(f"/desk/projects/{project.id}/audit").data.decode()
    assert "日志链已断开" in html and f"编号 {close.id}" in html


def test_project_log_is_paginated_and_only_shows_its_project(logged_in, project, evaluator):
    other = make_project(evaluator, "另一个项目")
    for i in range(55):
        audit.record("project.edit", project.id, f"第{i}条", {})
    audit.record("project.edit", other.id, "别的项目的记录", {})
    db.session.commit()
    first = logged_in.get(f"/desk/projects/{project.id}/audit").data.decode()
    second = logged_in.get(f"/desk/projects/{project.id}/audit?page=2").data.decode()
    assert "第54条" in first and "第0条" not in first
    assert "第0条" in second and "第 2 / 2 页" in second
    assert "别的项目的记录" not in first + second


def test_csv_export_has_a_bom_and_every_row_with_hashes(logged_in, project):
    questionnaire = published(project)
    logged_in.post(f"/desk/questionnaires/{questionnaire.id}/close")
    exported = logged_in.get(f"/desk/projects/{project.id}/audit.csv")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert exported.data.startswith(b"\xef\xbb\xbf")
    body = exported.data.decode("utf-8-sig")
    close = entries("questionnaire.close")[0]
    assert "关闭问卷" in body and close.hash in body and close.prev_hash in body
    assert entries("export.audit")  # exporting the log is itself recorded


def test_viewers_may_read_the_log_and_outsiders_get_404(app, client, evaluator, other_evaluator):
    project = make_project(evaluator)
    viewer = create_user("victor", "victor-password-1", "Victor")
    db.session.add(ProjectMember(project_id=project.id, user_id=viewer.id, role="viewer"))
    db.session.commit()
    assert login(client, "victor", "victor-password-1").status_code == 302
    assert client.get(f"/desk/projects/{project.id}/audit").status_code == 200
    assert client.get(f"/desk/projects/{project.id}/audit.csv").status_code == 200
    client.post("/logout")
    assert login(client, "mallory", "mallory-password-1").status_code == 302
    assert client.get(f"/desk/projects/{project.id}/audit").status_code == 404
    assert client.get(f"/desk/projects/{project.id}/audit.csv").status_code == 404


def test_anonymous_is_sent_to_login(client, evaluator):
    project = make_project(evaluator)
    assert client.get(f"/desk/projects/{project.id}/audit").status_code == 302
    assert db.session.execute(db.select(db.func.count(User.id))).scalar() == 1
