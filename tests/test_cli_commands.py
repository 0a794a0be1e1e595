"""The desk's actions as ``flask`` commands (survey/projects/cli_desk.py): every command through ``runner.invoke``,
as a named user checked for their role, audited like the desk, all or nothing, non-zero exit on failure."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import flask.cli
import pytest
import werkzeug.serving
from click.testing import CliRunner, Result

from survey.accounts.access import add_member
from survey.accounts.users import create_user
from survey.models import AuditEvent, Channel, Project, Questionnaire, Response, UnitCode
from survey.platform.extensions import db
from survey.questionnaires import publishing
from tests.helpers import SEED_004_ANSWERS, make_project, published
from tests.test_response_import import SEED_HEADERS, SEED_TEXT_ROWS, csv_bytes, xlsx

ROOT = Path(__file__).resolve().parents[1]


def run(runner, *args: str):
    return runner.invoke(args=[str(a) for a in args])


def run_json(runner, *args: str) -> tuple[int, dict]:
    result = run(runner, *args, "--json")
    return result.exit_code, json.loads(result.stdout)


def entries(action: str) -> list[AuditEvent]:
    return list(db.session.execute(db.select(AuditEvent).where(AuditEvent.action == action)).scalars())


def count(model) -> int:
    return db.session.execute(db.select(db.func.count()).select_from(model)).scalar()


@pytest.fixture
def viewer(app, evaluator):
    """An evaluator who may only read alice's project."""
    return create_user("victor", "victor-password-1", "Victor")


@pytest.fixture
def seed(app, evaluator, viewer) -> Questionnaire:
    """alice's published seed-004 questionnaire; victor is a viewer of its project."""
    questionnaire = published(make_project(evaluator))
    add_member(questionnaire.project, viewer, "viewer")
    return questionnaire


# --- projects -------------------------------------------------------------------------------------------


def test_project_create_and_list(runner, evaluator, other_evaluator):
    code, out = run_json(runner, "project", "create", "丰泽区平安建设绩效评价", "--as", "alice", "--year", 2024,
                         "--budget", "4443000", "--region", "丰泽区")  # fmt: skip
    assert code == 0 and out["ok"] and out["project"]["role"] == "owner" and out["project"]["budget"] == "4443000.00"
    project = db.session.get(Project, out["project"]["id"])
    assert project.name == "丰泽区平安建设绩效评价" and project.year == 2024 and project.members[0].user == evaluator
    entry = entries("project.create")[0]
    assert entry.username == "alice" and entry.project_id == project.id and entry.detail == {"source": "cli"}
    assert run_json(runner, "project", "list")[1]["projects"][0]["id"] == project.id
    assert run_json(runner, "project", "list", "--as", "mallory")[1]["projects"] == []
    assert f"{project.id}  丰泽区平安建设绩效评价" in run(runner, "project", "list").output


def test_project_create_refusals(runner, evaluator):
    missing = run(runner, "project", "create", "项目")
    assert missing.exit_code == 2 and "--as" in missing.output
    assert run(runner, "project", "create", "项目", "--as", "nobody").exit_code == 1
    assert run(runner, "project", "create", "项目", "--as", "alice", "--year", 1999).exit_code == 2
    assert run(runner, "project", "create", "项目", "--as", "alice", "--budget", "-1").exit_code == 2
    code, out = run_json(runner, "project", "create", " ", "--as", "alice")
    assert code == 1 and out == {"ok": False, "error": "the project name must be 1 to 200 characters"}
    evaluator.active = False
    db.session.commit()
    assert "no active user 'alice'" in run(runner, "project", "create", "项目", "--as", "alice").output
    assert count(Project) == 0 and entries("project.create") == []


# --- questionnaires -------------------------------------------------------------------------------------


def test_templates_are_listed_general_first_with_a_description(runner):
    code, out = run_json(runner, "questionnaire", "templates")
    keys = [t["key"] for t in out["templates"]]
    assert code == 0 and keys[:2] == ["public_safety", "service_grid"] and keys[-1] == "fengze_service_object"
    assert all(t["description"] and t["questions"] > 0 for t in out["templates"])


def test_create_publish_close_from_a_template(runner, evaluator):
    project = make_project(evaluator)
    code, out = run_json(runner, "questionnaire", "create", project.id, "--template", "public_safety", "--as", "alice",
                         "--title", "2024 年群众安全感调查", "--publish")  # fmt: skip
    assert code == 0 and out["questionnaire"]["status"] == "published" and out["questionnaire"]["version"] == 1
    questionnaire = db.session.get(Questionnaire, out["questionnaire"]["id"])
    assert questionnaire.title == "2024 年群众安全感调查" and questionnaire.template_key == "public_safety"
    assert "library" not in questionnaire.definition
    listed = run_json(runner, "questionnaire", "list", project.id)[1]["questionnaires"]
    assert [(q["id"], q["status"], q["link"]) for q in listed] == [
        (questionnaire.id, "published", f"/s/{questionnaire.public_token}")
    ]
    result = run(runner, "questionnaire", "close", questionnaire.id, "--as", "alice")
    assert result.exit_code == 0 and questionnaire.status == "closed"
    assert run(runner, "questionnaire", "close", questionnaire.id, "--as", "alice").exit_code == 1  # already closed
    again = run(runner, "questionnaire", "publish", questionnaire.id, "--as", "alice")
    assert again.exit_code == 0 and "version 1" in again.output and questionnaire.status == "published"
    assert f"link: /s/{questionnaire.public_token}" in again.output
    for action, n in (("questionnaire.create", 1), ("questionnaire.publish", 2), ("questionnaire.close", 1)):
        made = entries(action)
        assert len(made) == n and all(e.username == "alice" and e.detail["source"] == "cli" for e in made)
        assert made[0].target == f"2024 年群众安全感调查 (#{questionnaire.id})"


def test_create_from_a_file_and_refuse_a_bad_one(runner, evaluator, tmp_path):
    project = make_project(evaluator)
    good = tmp_path / "q.json"
    good.write_text(json.dumps(publishing.create_questionnaire(project, "three_rates").definition), encoding="utf-8")
    code, out = run_json(runner, "questionnaire", "create", project.id, "--file", good, "--as", "alice")
    assert code == 0 and out["questionnaire"]["status"] == "draft"
    assert entries("questionnaire.import")[0].detail == {"source": "cli", "file": "q.json"}
    bad = tmp_path / "bad.json"
    bad.write_text('{"title": "", "questions": []}', encoding="utf-8")
    code, out = run_json(runner, "questionnaire", "create", project.id, "--file", bad, "--as", "alice")
    assert code == 1 and "nothing was imported" in out["error"] and out["problems"][0].startswith("title: ")
    neither = run(runner, "questionnaire", "create", project.id, "--as", "alice")
    unknown = run(runner, "questionnaire", "create", project.id, "--template", "nope", "--as", "alice")
    assert neither.exit_code == 1 and unknown.exit_code == 1 and "public_safety" in unknown.output
    assert count(Questionnaire) == 2 and len(entries("questionnaire.import")) == 1


def test_publish_refuses_a_broken_draft_and_unconfirmed_breaking_changes(runner, seed):
    seed.definition = {**seed.definition, "title": ""}
    db.session.commit()
    code, out = run_json(runner, "questionnaire", "publish", seed.id, "--as", "alice")
    assert code == 1 and "not published" in out["error"] and out["problems"]
    assert seed.current_version.number == 1
    definition = json.loads(json.dumps(seed.current_version.definition))
    section = definition["sections"][0]
    section["questions"] = [q for q in section["questions"] if q["key"] != "q3"]
    seed.definition = definition
    db.session.commit()
    publishing_store(seed)
    code, out = run_json(runner, "questionnaire", "publish", seed.id, "--as", "alice")
    assert code == 1 and "--confirm-breaking" in out["error"] and out["changes"]
    assert seed.current_version.number == 1 and entries("questionnaire.publish") == []
    result = run(runner, "questionnaire", "publish", seed.id, "--as", "alice", "--confirm-breaking")
    assert result.exit_code == 0 and seed.current_version.number == 2
    assert entries("questionnaire.publish")[0].detail == {"source": "cli", "version": 2}


def publishing_store(questionnaire: Questionnaire) -> None:
    """One answer on the current version, so removing a question breaks collected answers."""
    from survey.respond.submit import store_response

    store_response(questionnaire, dict(SEED_004_ANSWERS), "cli-breaking-1")


@pytest.mark.parametrize(
    "args",
    [
        ("questionnaire", "publish", "{q}"),
        ("questionnaire", "close", "{q}"),
        ("questionnaire", "create", "{p}", "--template", "public_safety"),
        ("questionnaire", "import", "{p}", "{file}"),
        ("channel", "add", "{q}", "东街"),
        ("unit", "add", "{q}", "单位甲"),
        ("responses", "import", "{q}", "{file}"),
        ("responses", "import", "{q}", "{file}", "--dry-run"),
    ],
)
@pytest.mark.parametrize("user, why", [("victor", "is a viewer of project"), ("mallory", "is a member of")])
def test_viewers_and_outsiders_change_nothing(runner, seed, other_evaluator, tmp_path, args, user, why):
    path = tmp_path / "file.json"
    path.write_text(json.dumps(seed.definition), encoding="utf-8")
    filled = [a.format(q=seed.id, p=seed.project_id, file=path) for a in args]
    before = (count(Questionnaire), count(Channel), count(UnitCode), count(Response), count(AuditEvent))
    code, out = run_json(runner, *filled, "--as", user)
    assert code == 1 and out["ok"] is False and why in out["error"]
    assert (count(Questionnaire), count(Channel), count(UnitCode), count(Response), count(AuditEvent)) == before
    assert seed.status == "published"


def test_questionnaire_import_needs_a_user_and_records_them(runner, seed, tmp_path):
    path = tmp_path / "q.json"
    path.write_text(json.dumps(seed.definition), encoding="utf-8")
    assert run(runner, "questionnaire", "import", seed.project_id, path).exit_code == 2  # --as is required
    result = run(runner, "questionnaire", "import", seed.project_id, path, "--as", "alice")
    assert result.exit_code == 0 and entries("questionnaire.import")[0].username == "alice"


# --- channels and unit codes ----------------------------------------------------------------------------


def test_channels_one_at_a_time_and_from_a_list(runner, seed, tmp_path):
    code, out = run_json(runner, "channel", "add", seed.id, "东街社区", "--target", 50, "--as", "alice")
    assert code == 0 and out["channels"][0]["code"] == "c1" and out["channels"][0]["target"] == 50
    listing = tmp_path / "channels.xlsx"
    listing.write_bytes(xlsx([["名称", "目标份数", "配额"], ["西街社区", 30, ""], ["南街社区", "", 40]]))
    code, out = run_json(runner, "channel", "add", seed.id, "--file", listing, "--as", "alice")
    assert code == 0 and [(c["code"], c["name"], c["target"], c["quota"]) for c in out["channels"]] == [
        ("c2", "西街社区", 30, None),
        ("c3", "南街社区", None, 40),
    ]
    plain = tmp_path / "plain.csv"
    plain.write_bytes("北街社区\n中街社区\n".encode())  # no header row: every row is a name
    assert run(runner, "channel", "add", seed.id, "--file", plain, "--as", "alice").exit_code == 0
    listed = run_json(runner, "channel", "list", seed.id)[1]["channels"]
    assert [c["name"] for c in listed] == ["东街社区", "西街社区", "南街社区", "北街社区", "中街社区"]
    assert [e.detail.get("channels") for e in entries("channel.add")] == [["c1"], ["c2", "c3"], ["c4", "c5"]]
    assert all(e.username == "alice" for e in entries("channel.add"))


def test_channel_and_unit_lists_start_with_a_tab_separated_header(runner, seed):
    assert run(runner, "channel", "add", seed.id, "东街\t社区", "--target", 50, "--as", "alice").exit_code == 0
    assert run(runner, "unit", "add", seed.id, "丰泽公安分局", "--uses", 3, "--as", "alice").exit_code == 0
    channels = run(runner, "channel", "list", seed.id).stdout.splitlines()
    assert channels[0].split("\t") == ["id", "code", "responses", "target", "name", "link"]
    listed = run_json(runner, "channel", "list", seed.id)[1]["channels"][0]
    assert channels[1].split("\t") == [
        str(listed["id"]),
        "c1",
        "0",
        "50",
        listed["name"].replace("\t", " "),
        listed["link"],
    ]
    units = run(runner, "unit", "list", seed.id).stdout.splitlines()
    assert units[0].split("\t") == ["id", "used", "uses", "name", "link"]
    unit = run_json(runner, "unit", "list", seed.id)[1]["units"][0]
    assert units[1:] == ["\t".join([str(unit["id"]), "0", "3", "丰泽公安分局", unit["link"]])]


def test_a_bad_channel_list_adds_nothing(runner, seed, tmp_path):
    listing = tmp_path / "channels.csv"
    listing.write_bytes(csv_bytes([["名称", "目标份数"], ["西街社区", "30"], ["", "5"], ["南街社区", "三十"]]))
    code, out = run_json(runner, "channel", "add", seed.id, "--file", listing, "--as", "alice")
    assert code == 1 and out["problems"] == ["第 4 行：“三十”不是整数。"]
    listing.write_bytes(csv_bytes([["名称", "目标份数"], ["西街社区", "30"], ["", "5"], ["北" * 101, ""]]))
    code, out = run_json(runner, "channel", "add", seed.id, "--file", listing, "--as", "alice")
    assert code == 1 and out["problems"] == ["第 3 行：请填写采集点名称。", "第 4 行：采集点名称不能超过 100 个字。"]
    image = tmp_path / "list.csv"
    image.write_bytes(b"\x89PNG\r\n\x1a\n....")
    assert run(runner, "channel", "add", seed.id, "--file", image, "--as", "alice").exit_code == 1
    assert run(runner, "channel", "add", seed.id, "--as", "alice").exit_code == 1  # neither a name nor a file
    assert count(Channel) == 0 and entries("channel.add") == []


def test_units_from_names_and_a_list(runner, seed, tmp_path):
    code, out = run_json(runner, "unit", "add", seed.id, "丰泽公安分局", "丰泽区司法局", "--uses", 3, "--as", "alice")
    assert code == 0 and [(u["name"], u["uses"]) for u in out["units"]] == [("丰泽公安分局", 3), ("丰泽区司法局", 3)]
    listing = tmp_path / "units.csv"
    rows = [["单位名称", "可填份数"], ["丰泽公安分局", "5"], ["东海街道办事处", "2"], ["清源街道", ""]]
    listing.write_bytes(csv_bytes(rows))
    code, out = run_json(runner, "unit", "add", seed.id, "--file", listing, "--as", "alice")
    assert code == 0 and [(u["name"], u["uses"]) for u in out["units"]] == [("东海街道办事处", 2), ("清源街道", 1)]
    listed = run_json(runner, "unit", "list", seed.id)[1]["units"]
    assert len(listed) == 4 and all(u["link"] == f"/u/{u['code']}" and u["used"] == 0 for u in listed)
    assert [e.detail for e in entries("unit.add")] == [
        {"source": "cli", "units": 2},
        {"source": "cli", "units": 2, "file": "units.csv"},
    ]
    listing.write_bytes(csv_bytes([["单位名称", "可填份数"], ["甲", "5"], ["乙", "0"]]))
    code, out = run_json(runner, "unit", "add", seed.id, "--file", listing, "--as", "alice")
    assert code == 1 and out["problems"] == ["第 3 行：份数应在 1 到 1000 之间。"] and count(UnitCode) == 4


def test_links_use_the_public_base_url(app, runner, seed):
    app.config["PUBLIC_BASE_URL"] = "https://survey.example.cn/"
    run(runner, "channel", "add", seed.id, "东街", "--as", "alice")
    channel = db.session.execute(db.select(Channel)).scalar_one()
    assert run_json(runner, "channel", "list", seed.id)[1]["channels"][0]["link"] == (
        f"https://survey.example.cn/s/{channel.token}"
    )


# --- importing responses --------------------------------------------------------------------------------


@pytest.fixture
def wjx_file(tmp_path) -> Path:
    path = tmp_path / "wjx.xlsx"
    path.write_bytes(xlsx([SEED_HEADERS, *SEED_TEXT_ROWS]))
    return path


def test_dry_run_then_import_all_rows(runner, seed, wjx_file):
    code, out = run_json(runner, "responses", "import", seed.id, wjx_file, "--as", "alice", "--dry-run")
    assert code == 0 and out["ok"] and out["dry_run"] and out["rows"] == 2 and out["valid_rows"] == 2
    assert out["imported"] == 0 and count(Response) == 0 and entries("import.run") == []
    assert {c["header"]: c["target"] for c in out["columns"]}["提交答卷时间"] == "meta:submitted_at"
    code, out = run_json(runner, "responses", "import", seed.id, wjx_file, "--as", "alice")
    assert code == 0 and out["imported"] == 2 and count(Response) == 2 and seed.accepted_count == 2
    entry = entries("import.run")[0]
    assert entry.username == "alice" and entry.detail["file"] == "wjx.xlsx" and entry.detail["rows"] == 2
    assert entry.detail["responses"] == {"before": 0, "after": 2}
    again = run(runner, "responses", "import", seed.id, wjx_file, "--as", "alice")
    assert again.exit_code == 1 and "已经导入过" in again.output and count(Response) == 2
    for dry in ([], ["--dry-run"]):  # only the refusal: no "0 of 2 row(s) have problems" under it
        refused = run(runner, "responses", "import", seed.id, wjx_file, "--as", "alice", *dry)
        assert refused.exit_code == 1 and refused.stdout == ""
        assert refused.stderr.splitlines() == [f"error: {message}" for message in out_general(runner, seed, wjx_file)]
        assert "已经导入过" in refused.stderr and "row(s)" not in refused.stderr


def out_general(runner, seed, path) -> list[str]:
    """The file-level refusals the import's JSON outcome gives for ``path``."""
    code, out = run_json(runner, "responses", "import", seed.id, path, "--as", "alice", "--dry-run")
    assert code == 1 and not out["ok"] and out["bad_rows"] == 0
    return out["general"]


def test_bad_rows_are_all_reported_and_nothing_is_stored(runner, seed, tmp_path):
    rows = [list(row) for row in SEED_TEXT_ROWS]
    rows[0][8] = "完全不对的选项"
    rows[1][10] = "也不对"
    rows[1][1] = "昨天下午"
    path = tmp_path / "bad.csv"
    path.write_bytes(csv_bytes([SEED_HEADERS, *rows]))
    for extra in ((), ("--dry-run",)):
        code, out = run_json(runner, "responses", "import", seed.id, path, "--as", "alice", *extra)
        assert code == 1 and not out["ok"] and out["bad_rows"] == 2 and out["imported"] == 0
        assert sorted((p["row"], p["column"]) for p in out["problems"]) == [(2, 9), (3, 2), (3, 11)]
    text = run(runner, "responses", "import", seed.id, path, "--as", "alice")
    assert text.exit_code == 1 and "2 of 2 row(s) have problems; nothing was imported" in text.output
    assert "row 2, column 9 (3、您认为这两年社会治安与以前比是否有所改善？)" in text.output
    assert count(Response) == 0 and seed.accepted_count == 0 and entries("import.run") == []


def test_saved_mapping_round_trip(runner, seed, wjx_file, tmp_path):
    mapping = tmp_path / "mapping.json"
    code, out = run_json(runner, "responses", "import", seed.id, wjx_file, "--as", "alice", "--dry-run",
                         "--save-mapping", mapping)  # fmt: skip
    saved = json.loads(mapping.read_text(encoding="utf-8"))
    assert code == 0 and saved["format"] == "survey-import-mapping/1" and len(saved["columns"]) == len(SEED_HEADERS)
    saved["columns"][3]["target"] = "ignore"  # 来源: record every row on one channel instead
    saved["channel"] = "paper"
    saved["overrides"] = {"q2": {"有明显改善": "b"}}
    mapping.write_text(json.dumps(saved, ensure_ascii=False), encoding="utf-8")
    reordered = tmp_path / "reordered.csv"  # a re-download with the columns in another order still maps
    order = [1, 0, *range(2, len(SEED_HEADERS))]
    reordered.write_bytes(csv_bytes([[row[i] for i in order] for row in [SEED_HEADERS, *SEED_TEXT_ROWS]]))
    code, out = run_json(runner, "responses", "import", seed.id, reordered, "--as", "alice", "--mapping", mapping)
    assert code == 0 and out["imported"] == 2 and out["channel"] == "paper"
    stored = db.session.execute(db.select(Response).order_by(Response.id)).scalars().all()
    assert {r.channel for r in stored} == {"paper"} and stored[0].answers["q2"] == "b"


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m["columns"][6].update(target="ans:nope"), "第 7 列的对应项无效"),
        (lambda m: m["columns"][7].update(target=m["columns"][6]["target"]), "都对应到"),
        (lambda m: m["columns"].append({"header": "不存在的列", "target": "ans:q9"}), "在文件中找不到"),
        (lambda m: m.update(overrides={"q2": {"有明显改善": "zz"}}), "没有的选项"),
        (lambda m: m.update(overrides={"q99": {}}), "不在这份问卷中"),
        (lambda m: m.update(channel="c9"), "不属于这份问卷"),
        (lambda m: m.update(format="other"), "映射文件的格式不对"),
    ],
)
def test_a_bad_mapping_stores_nothing(runner, seed, wjx_file, tmp_path, change, message):
    mapping = tmp_path / "mapping.json"
    run(runner, "responses", "import", seed.id, wjx_file, "--as", "alice", "--dry-run", "--save-mapping", mapping)
    saved = json.loads(mapping.read_text(encoding="utf-8"))
    change(saved)
    mapping.write_text(json.dumps(saved, ensure_ascii=False), encoding="utf-8")
    code, out = run_json(runner, "responses", "import", seed.id, wjx_file, "--as", "alice", "--mapping", mapping)
    assert code == 1 and not out["ok"] and any(message in g for g in out["general"]), out["general"]
    assert count(Response) == 0 and entries("import.run") == []


def test_import_refusals(runner, seed, wjx_file, tmp_path):
    not_json = tmp_path / "mapping.json"
    not_json.write_text("{", encoding="utf-8")
    code, out = run_json(runner, "responses", "import", seed.id, wjx_file, "--as", "alice", "--mapping", not_json)
    assert code == 1 and "not a JSON mapping file" in out["error"]
    code, out = run_json(runner, "responses", "import", seed.id, wjx_file, "--as", "alice", "--channel", "c9")
    assert code == 1 and "no channel 'c9'" in out["error"]
    pdf = tmp_path / "answers.csv"
    pdf.write_bytes(b"%PDF-1.4 ...")
    code, out = run_json(runner, "responses", "import", seed.id, pdf, "--as", "alice")
    assert code == 1 and "不是 .xlsx、.xls 或 .csv 文件" in out["error"]
    draft = publishing.create_questionnaire(seed.project, "public_safety")
    code, out = run_json(runner, "responses", "import", draft.id, wjx_file, "--as", "alice")
    assert code == 1 and "not published" in out["error"]
    assert count(Response) == 0


# --- commands that only read a file need no SECRET_KEY ----------------------------------------------------

KEYLESS_PRODUCTION = {"SURVEY_ENV": "production", "SECRET_KEY": None, "FLASK_SECRET_KEY": None}


def flask_production(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The real ``flask`` program, started as a process of its own in production mode with no SECRET_KEY anywhere.

    Each start imports the app; ``flask_keyless`` runs the same program in this process, for what does not
    depend on the process starting (tests/test_cli_secret_key.py keeps both kinds)."""
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "FLASK_SECRET_KEY", "FLASK_RUN_FROM_CLI")}
    env |= {"SURVEY_ENV": "production", "DATABASE_URL": f"sqlite:///{cwd / 'never.sqlite'}"}
    flask = [sys.executable, "-m", "flask", "--app", str(ROOT / "app.py")]
    return subprocess.run([*flask, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)  # noqa: S603


def flask_keyless(*args: str, cwd: Path) -> Result:
    """The ``flask`` program's own command group (``flask.cli.cli``, what ``python -m flask`` runs) in this process,
    from ``cwd``, in production mode with no SECRET_KEY anywhere: it builds the app from ``app.py`` as the program
    does, with Flask's ``FLASK_RUN_FROM_CLI`` flag (restored afterwards). Should a refusal fail, starting a server
    fails the test instead of serving."""

    def no_server(*_args, **_kwargs):
        raise AssertionError("the flask program started a server without a SECRET_KEY")

    env = {**KEYLESS_PRODUCTION, "FLASK_RUN_FROM_CLI": None, "DATABASE_URL": f"sqlite:///{cwd / 'never.sqlite'}"}
    root = logging.getLogger()
    level = root.level
    with contextlib.chdir(cwd), pytest.MonkeyPatch.context() as patch:
        patch.setattr(werkzeug.serving, "run_simple", no_server)
        patch.setattr(flask.cli, "run_simple", no_server)
        # A production app sets up the process's logging (survey.platform.logs): put this process's back after.
        patch.setattr(root, "handlers", list(root.handlers))
        for switch in ("_srcfile", "logThreads", "logMultiprocessing"):
            patch.setattr(logging, switch, getattr(logging, switch))
        try:
            return CliRunner().invoke(
                flask.cli.cli, ["--app", str(ROOT / "app.py"), *args], env=env, prog_name="python -m flask"
            )
        finally:
            root.setLevel(level)


def test_indicator_file_commands_run_without_a_secret_key(tmp_path):
    table = ROOT / "analysis" / "indicator_library" / "seed_004_fengze.json"
    checked = flask_keyless("indicators", "check", str(table), cwd=tmp_path)
    assert checked.exit_code == 0 and checked.stdout.strip() == "ok", checked.stderr
    scored = flask_keyless("indicators", "score", str(table), "--json", cwd=tmp_path)
    assert scored.exit_code == 0 and "total" in json.loads(scored.stdout)
    exported = flask_keyless("indicators", "export", str(table), "-o", str(tmp_path / "t.yaml"), cwd=tmp_path)
    assert exported.exit_code == 0 and (tmp_path / "t.yaml").exists()
    for command in (["project", "list"], ["run", "--port", "5107"]):  # the database and the server still need it
        refused = flask_keyless(*command, cwd=tmp_path)
        assert refused.exit_code != 0 and "SECRET_KEY is not set" in refused.stderr
    assert not (tmp_path / "never.sqlite").exists()


def test_our_own_csv_export_imports_through_the_cli(runner, logged_in, seed, tmp_path):
    run(runner, "responses", "import", seed.id, write(tmp_path / "wjx.xlsx", xlsx([SEED_HEADERS, *SEED_TEXT_ROWS])),
        "--as", "alice")  # fmt: skip
    export = logged_in.get(f"/desk/questionnaires/{seed.id}/responses.csv")
    copy = publishing.create_questionnaire(seed.project, "fengze_service_object")
    publishing.publish(copy)
    code, out = run_json(
        runner, "responses", "import", copy.id, write(tmp_path / "ours.csv", export.data), "--as", "alice"
    )
    assert code == 0 and out["imported"] == 2, out
    answers = [r.answers for r in db.session.execute(db.select(Response).order_by(Response.id)).scalars()]
    assert answers[2:] == answers[:2]
    assert entries("import.run")[1].detail["file"] == "ours.csv"


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_the_projects_audit_log_shows_command_line_entries(runner, logged_in, seed, wjx_file):
    run(runner, "responses", "import", seed.id, wjx_file, "--as", "alice")
    page = logged_in.get(f"/desk/projects/{seed.project_id}/audit").get_data(as_text=True)
    assert "命令行；答卷 0 → 2；文件：wjx.xlsx" in page and "alice" in page
