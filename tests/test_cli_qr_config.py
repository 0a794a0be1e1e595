"""CLI commands through the runner, QR codes decoded by zxing-cpp, configuration rules."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from app import create_app
from survey.models import AuditEvent, Project, Questionnaire, Response, User
from survey.platform.extensions import db
from tests.conftest import login, make_config
from tests.helpers import make_project, published


def test_create_user_command(runner):
    result = runner.invoke(args=["create-user", "bob", "--password", "bob-password-1", "--name", "Bob"])
    assert result.exit_code == 0, result.output
    user = db.session.execute(db.select(User).filter_by(username="bob")).scalar_one()
    assert user.display_name == "Bob" and user.password_hash.startswith("$argon2id$")
    created = db.session.execute(db.select(AuditEvent).filter_by(action="account.create")).scalar_one()
    assert created.target == "bob" and created.username == "" and created.detail == {"source": "cli", "is_admin": False}
    again = runner.invoke(args=["create-user", "bob", "--password", "bob-password-1"])
    assert again.exit_code != 0 and "已被使用" in again.output
    short = runner.invoke(args=["create-user", "carol", "--password", "short"])
    assert short.exit_code != 0 and "至少需要 10 个字符" in short.output


def test_demo_command_creates_data_once(app, runner, client):
    result = runner.invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "/s/" in result.output and "demo" in result.output
    assert db.session.execute(db.select(db.func.count(Project.id))).scalar() == 1
    questionnaires = db.session.execute(db.select(Questionnaire)).scalars().all()
    assert {q.status for q in questionnaires} == {"published"}
    responses = db.session.execute(db.select(db.func.count(Response.id))).scalar()
    assert responses >= 30
    for questionnaire in questionnaires:
        assert f"/s/{questionnaire.public_token}" in result.output
    rerun = runner.invoke(args=["demo", "--no-serve"])
    assert rerun.exit_code == 0
    assert db.session.execute(db.select(db.func.count(Response.id))).scalar() == responses
    password = next(line.split()[-1] for line in result.output.splitlines() if "Password" in line)
    assert login(client, "demo", password).status_code == 302
    assert client.get(f"/desk/questionnaires/{questionnaires[0].id}/results").status_code == 200


def test_init_db_command(runner):
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0 and "database ready" in result.output


def test_qr_png_decodes_to_the_public_link(logged_in, evaluator):
    questionnaire = published(make_project(evaluator))
    png = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/qr.png")
    assert png.mimetype == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))
    assert [code.text for code in decoded] == [f"http://localhost/s/{questionnaire.public_token}"]
    download = logged_in.get(f"/desk/questionnaires/{questionnaire.id}/qr.svg?download=1")
    assert download.mimetype == "image/svg+xml" and b"<svg" in download.data
    assert "attachment" in download.headers["Content-Disposition"]


def test_public_base_url_is_used_for_links_and_codes(database_url):
    app = create_app(make_config(database_url, PUBLIC_BASE_URL="https://survey.example.gov.cn/"))
    with app.test_request_context():
        from survey.platform.qr import public_url

        assert public_url("abc123") == "https://survey.example.gov.cn/s/abc123"
    with app.app_context():
        db.engine.dispose()


def test_production_refuses_the_default_secret_key(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    monkeypatch.setenv("SURVEY_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()
    monkeypatch.setenv("SECRET_KEY", "a-long-random-value-from-the-environment")
    assert create_app().config["SECRET_KEY"] == "a-long-random-value-from-the-environment"


def test_development_gets_a_stable_random_key(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    monkeypatch.setenv("SURVEY_ENV", "development")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite")
    monkeypatch.setattr("flask.Flask.auto_find_instance_path", lambda self: str(tmp_path / "instance"))
    first, second = create_app().config["SECRET_KEY"], create_app().config["SECRET_KEY"]
    assert first == second and len(first) > 40


def test_database_url_spellings(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    for given in ("postgres://u@h/d", "postgresql://u@h/d", "postgresql+psycopg://u@h/d"):
        monkeypatch.setenv("DATABASE_URL", given)
        assert create_app().config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/d"


def test_unknown_environment_is_refused(monkeypatch):
    monkeypatch.setenv("SURVEY_ENV", "staging")
    with pytest.raises(RuntimeError, match="SURVEY_ENV"):
        create_app()


def test_security_headers(client):
    response = client.get("/login")
    assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
