"""What every ``flask`` command of the desk shares (docs/cli.md, "Rules every command follows"): the refusal that
exits non-zero, ``--json`` and ``--as``, printing, who acts and what they may change, and the audit record.

Kept apart from the command modules (``cli_desk``, ``cli_weighting``) because commands are views: no view is
imported as a library.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import click
from flask import current_app

from survey.accounts.users import find_user
from survey.audit import trail as audit
from survey.models import Project, ProjectMember, Questionnaire, User
from survey.platform.extensions import db

CHANGE_ROLES = ("owner", "editor")


class Refused(click.ClickException):
    """A command that cannot do what was asked; ``details`` go into the JSON output."""

    def __init__(self, message: str, **details: Any):
        super().__init__(message)
        self.details = details


def json_option(function):
    """Add ``--json`` and print a refusal as JSON when it is given (exit status 1 either way)."""

    @click.option("--json", "as_json", is_flag=True, help="Print the outcome as one JSON document.")
    @functools.wraps(function)
    def wrapper(*args, as_json: bool, **kwargs):
        try:
            return function(*args, as_json=as_json, **kwargs)
        except click.ClickException as error:
            if not as_json:
                raise
            details = getattr(error, "details", {})
            echo_json({"ok": False, "error": error.format_message(), **details})
            raise click.exceptions.Exit(1) from None

    return wrapper


def as_option(function):
    """The evaluator a changing command acts as (required)."""
    return click.option(
        "--as",
        "username",
        required=True,
        metavar="USERNAME",
        help="The evaluator this change is made as (an owner or editor of the project).",
    )(function)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


FLATTEN = {ord("\t"): " ", ord("\n"): " ", ord("\r"): " "}


def echo_table(header: tuple[str, ...], rows: list[list[Any]]) -> None:
    """A header line, then one line per row, tab-separated: ``tail -n +2 | cut -f…`` in a script, readable
    on screen. A tab or line break inside a value (a pasted name) becomes a space, so columns stay put."""
    for cells in (header, *rows):
        click.echo("\t".join(str(cell).translate(FLATTEN) for cell in cells))


def acting_user(username: str) -> User:
    """The active account named by ``--as``."""
    user = find_user(username)
    if user is None or not user.active:
        raise Refused(f"no active user {username!r}")
    return user


def role_of(user: User, project_id: int) -> str | None:
    member = db.session.get(ProjectMember, (project_id, user.id))
    return member.role if member else None


def project_for(user: User, project_id: int) -> Project:
    """A project the user may change: a member whose role is owner or editor (survey.accounts.access's rule)."""
    project = db.session.get(Project, project_id)
    role = role_of(user, project_id) if project is not None else None
    if role is None:  # as on the desk, an outsider cannot tell a missing project from someone else's
        raise Refused(f"no project {project_id} that {user.username} is a member of")
    if role not in CHANGE_ROLES:
        raise Refused(f"{user.username} is a {role} of project {project_id} and may not change it")
    return project


def questionnaire_for(user: User, questionnaire_id: int) -> Questionnaire:
    """A questionnaire whose project the user may change."""
    questionnaire = db.session.get(Questionnaire, questionnaire_id)
    if questionnaire is None or role_of(user, questionnaire.project_id) is None:
        raise Refused(f"no questionnaire {questionnaire_id} in a project {user.username} is a member of")
    project_for(user, questionnaire.project_id)
    return questionnaire


def readable_questionnaire(questionnaire_id: int) -> Questionnaire:
    questionnaire = db.session.get(Questionnaire, questionnaire_id)
    if questionnaire is None:
        raise Refused(f"no questionnaire with id {questionnaire_id}")
    return questionnaire


def named(questionnaire: Questionnaire) -> str:
    """The audit trail's target text for a questionnaire (as the desk's hook writes it)."""
    return f"{questionnaire.title} (#{questionnaire.id})"


def recorded(action: str, user: User, project_id: int, target: str, detail: dict | None = None) -> None:
    """Append the audit entry of a change already committed by the domain function (as the desk's hook does)."""
    audit.record(action, project_id, target, {"source": "cli", **(detail or {})}, user=user)
    db.session.commit()


def link(path: str) -> str:
    """A respondent link: absolute under ``PUBLIC_BASE_URL``, else the path to put after the server's address."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    return base.rstrip("/") + path if base else path


def problems_lines(problems) -> list[str]:
    return [problem.bilingual() for problem in problems]
