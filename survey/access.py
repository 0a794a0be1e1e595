"""Access control for the evaluator desk: a project is visible only to its members.

Non-members get 404, not 403, so an outsider cannot even learn which project ids exist.
"""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from survey.extensions import db
from survey.models import Project, ProjectMember, Questionnaire


def member_project(project_id: int) -> Project:
    """The project if the signed-in evaluator is a member, else 404."""
    membership = db.session.get(ProjectMember, (project_id, current_user.id))
    if membership is None:
        abort(404)
    return membership.project


def member_questionnaire(questionnaire_id: int) -> Questionnaire:
    """The questionnaire if the signed-in evaluator belongs to its project, else 404."""
    questionnaire = db.get_or_404(Questionnaire, questionnaire_id)
    member_project(questionnaire.project_id)
    return questionnaire


def projects_of_current_user() -> list[Project]:
    """The signed-in evaluator's projects, newest first."""
    query = (
        db.select(Project)
        .join(ProjectMember)
        .where(ProjectMember.user_id == current_user.id)
        .order_by(Project.created_at.desc(), Project.id.desc())
    )
    return list(db.session.execute(query).scalars())
