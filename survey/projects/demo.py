"""Demo data modelled on seed 004 (丰泽区“智慧丰泽”综治管控中心, 2018, 444.3万元).

Created once; later runs only print the login and links again. The demo password is random per
installation and kept in ``instance/demo-login.txt`` so it can be printed on every start.
"""

from __future__ import annotations

import random
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from flask import current_app, url_for

from survey.accounts.users import create_user
from survey.models import Project, Questionnaire, User, utcnow
from survey.platform.extensions import db
from survey.questionnaires import publishing
from survey.questionnaires.conditions import visible_questions
from survey.questionnaires.definition import iter_questions
from survey.questionnaires.qtypes import get_type
from survey.respond.submit import store_response
from survey.responses.quality import quality_flags

DEMO_USER = "demo"
PROJECT_NAME = "丰泽区“智慧丰泽”综治管控中心建设经费绩效评价（演示）"
UNITS = [
    "丰泽公安分局",
    "丰泽区司法局",
    "丰泽区城市管理局",
    "丰泽区市场监督管理局",
    "东海街道办事处",
    "清源街道办事处",
]


@dataclass(frozen=True)
class DemoLogin:
    """What the demo command prints."""

    username: str
    password: str
    project_id: int
    questionnaires: list[Questionnaire]


def _demo_password() -> str:
    path = Path(current_app.instance_path) / "demo-login.txt"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(9))
        path.chmod(0o600)
    return path.read_text().strip()


def ensure_demo() -> DemoLogin:
    """Create the demo evaluator, project, questionnaires and responses unless they exist."""
    password = _demo_password()
    user = db.session.execute(db.select(User).filter_by(username=DEMO_USER)).scalar_one_or_none()
    if user is None:
        user = create_user(DEMO_USER, password, "演示评价员")
    project = db.session.execute(db.select(Project).filter_by(name=PROJECT_NAME)).scalar_one_or_none()
    if project is None:
        project = _create_project(user)
    return DemoLogin(DEMO_USER, password, project.id, list(project.questionnaires))


def _create_project(user: User) -> Project:
    project = publishing.create_project(
        user,
        name=PROJECT_NAME,
        region="福建省泉州市丰泽区",
        year=2018,
        evaluated_unit="中共泉州市丰泽区委政法委员会",
        budget=Decimal("4443000.00"),
        evaluating_org="集美大学地方财政绩效研究中心",
    )
    rng = random.Random(2018)  # noqa: S311 - demo data, not security; fixed seed: every installation shows the same demo figures
    public = publishing.create_questionnaire(project, "public_safety")
    public.issued_count = 50
    publishing.publish(public)
    _answer(public, rng, 42)
    service = publishing.create_questionnaire(project, "fengze_service_object")
    service.issued_count = 6
    publishing.publish(service)
    _answer(service, rng, 6)
    return project


def _answer(questionnaire: Questionnaire, rng: random.Random, count: int) -> None:
    """Generate plausible answers (mostly positive, as in the seeds) and store them as respondents would."""
    definition = questionnaire.current_version.definition
    for index in range(count):
        answers: dict = {}
        for question in iter_questions(definition):
            answers.update(_random_answer(question, rng, index))
        shown = visible_questions(definition["sections"], answers.get)
        kept = {key: value for key, value in answers.items() if key.split(".")[0].removesuffix("__other") in shown}
        started = utcnow() - timedelta(seconds=rng.randint(45, 400))
        store_response(
            questionnaire, kept, uuid.uuid4().hex, started.isoformat(), flags=quality_flags(definition, kept)
        )


def _random_answer(question: dict, rng: random.Random, index: int) -> dict:
    """A demo respondent's answer: the type's own, except that the demo's unit question names a real unit."""
    entry = get_type(question["type"])
    if entry.free_text and (question.get("group") == "unit" or question["key"] == "q1a"):
        return {question["key"]: UNITS[index % len(UNITS)]}
    return entry.demo_answer(question, rng, index)


def describe(login: DemoLogin, base_url: str) -> str:
    """The start-up banner: where to sign in and the survey links."""
    with current_app.test_request_context(base_url=base_url):
        lines = [
            "",
            "  演示已就绪 / Demo ready",
            f"  评价端 Desk:   {url_for('auth.login', _external=True)}",
            f"  用户名 User:   {login.username}",
            f"  密码 Password: {login.password}",
        ]
        for questionnaire in login.questionnaires:
            link = url_for("public.respond", token=questionnaire.public_token, _external=True)
            lines.append(f"  问卷 Survey:   {link}  ({questionnaire.title})")
        lines.append("")
    return "\n".join(lines)
