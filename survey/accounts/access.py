"""Access control for the evaluator desk: a project is visible only to its members, in their role.

Non-members get 404, not 403, so an outsider cannot even learn which project ids exist. Members get
403 with a plain message when their role does not allow the request: a viewer (查看者) may only read, so
any state-changing method is refused here, centrally, before a view touches anything; managing members
needs the owner (负责人). Every evaluator route loads its project or questionnaire through this module.
"""

from __future__ import annotations

from typing import NoReturn

from flask import abort, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from survey.models import Project, ProjectMember, Questionnaire, User
from survey.platform.extensions import db

ROLES = ("owner", "editor", "viewer")
ROLE_NAMES = {"owner": _l("负责人"), "editor": _l("编辑者"), "viewer": _l("查看者")}
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class MembershipError(ValueError):
    """A refused member change; ``str(error)`` is the plain message to show."""


def forbid(message: str) -> NoReturn:
    """Stop the request with 403 and a plain explanation on the desk layout."""
    body = render_template("errors/message.html", layout="base_desk.html", title=_("没有权限"), message=message)
    abort(make_response(body, 403))


def membership(project_id: int) -> ProjectMember | None:
    """The signed-in evaluator's membership row of a project (cached by the session's identity map)."""
    if not current_user.is_authenticated:
        return None
    return db.session.get(ProjectMember, (project_id, current_user.id))


def member_project(project_id: int, *, owner: bool = False, edit: bool = False) -> Project:
    """The project if the signed-in evaluator is a member whose role allows this request, else 404/403.

    Viewers are refused every state-changing method, and every method with ``edit=True`` (a data-entry
    page whose GET already writes); ``owner=True`` also refuses editors.
    """
    member = membership(project_id)
    if member is None:
        abort(404)
    if member.role == "viewer" and (edit or request.method not in READ_METHODS):
        forbid(_("您在此项目中只有查看权限，不能修改。如需修改，请联系项目负责人调整您的角色。"))
    if owner and member.role != "owner":
        forbid(_("只有项目负责人可以进行此操作。"))
    return member.project


def member_questionnaire(questionnaire_id: int, *, owner: bool = False, edit: bool = False) -> Questionnaire:
    """The questionnaire if the signed-in evaluator may make this request on its project, else 404/403."""
    questionnaire = db.get_or_404(Questionnaire, questionnaire_id)
    member_project(questionnaire.project_id, owner=owner, edit=edit)
    return questionnaire


def projects_of_current_user() -> list[Project]:
    """The signed-in evaluator's projects (any role), newest first."""
    query = (
        db.select(Project)
        .join(ProjectMember)
        .where(ProjectMember.user_id == current_user.id)
        .order_by(Project.created_at.desc(), Project.id.desc())
    )
    return list(db.session.execute(query).scalars())


# --- template helpers: hide what a role cannot do ---------------------------------------------------


def _project_id(target: Project | Questionnaire | int) -> int:
    if isinstance(target, int):
        return target
    return target.id if isinstance(target, Project) else target.project_id


def role_in(target: Project | Questionnaire | int) -> str | None:
    """The signed-in evaluator's role in a project (given as project, questionnaire or id), or None."""
    member = membership(_project_id(target))
    return member.role if member else None


def can_edit(target: Project | Questionnaire | int) -> bool:
    """Template global: whether to show buttons that change the project (owners and editors)."""
    return role_in(target) in ("owner", "editor")


def is_owner(target: Project | Questionnaire | int) -> bool:
    """Template global: whether to show member management (owners only)."""
    return role_in(target) == "owner"


# --- member management ------------------------------------------------------------------------------


def members_of(project: Project) -> list[ProjectMember]:
    """Members, owners first, then by username."""
    order = {role: index for index, role in enumerate(ROLES)}
    return sorted(project.members, key=lambda m: (order.get(m.role, len(ROLES)), m.user.username))


def _owner_count(project: Project) -> int:
    """Owners now, with their rows locked on PostgreSQL so two owners cannot demote each other at once."""
    query = db.select(ProjectMember.user_id).filter_by(project_id=project.id, role="owner").with_for_update()
    return len(db.session.execute(query).all())


def add_member(project: Project, user: User | None, role: str) -> ProjectMember:
    """Share the project with an existing, active account in the given role."""
    if user is None or not user.active:
        raise MembershipError(_("找不到这个用户名，或该账户已停用。请确认对方已有账户。"))
    if role not in ROLES:
        raise MembershipError(_("未知的角色。"))
    if db.session.get(ProjectMember, (project.id, user.id)) is not None:
        raise MembershipError(_("“%(name)s”已经是本项目成员。", name=user.username))
    member = ProjectMember(project=project, user=user, role=role)
    db.session.add(member)
    db.session.commit()
    return member


def change_role(member: ProjectMember, role: str) -> None:
    """Give a member another role; the project always keeps at least one owner."""
    if role not in ROLES:
        raise MembershipError(_("未知的角色。"))
    if member.role == "owner" and role != "owner" and _owner_count(member.project) == 1:
        raise MembershipError(_("项目至少要有一位负责人。请先把另一位成员设为负责人。"))
    member.role = role
    db.session.commit()


def remove_member(member: ProjectMember) -> None:
    """Take a member off the project; the last owner cannot be removed."""
    if member.role == "owner" and _owner_count(member.project) == 1:
        raise MembershipError(_("不能移除最后一位负责人。请先把另一位成员设为负责人。"))
    db.session.delete(member)
    db.session.commit()
