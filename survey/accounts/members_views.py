"""Project members (项目成员): every member sees who shares the project; owners add, re-role and remove.

The rules (roles, the last owner) live in ``survey.accounts.access``; these views only render and redirect. The
blueprint also registers the ``can_edit`` and ``is_owner`` template globals the desk templates use to
hide buttons a member's role cannot use (the server refuses them anyway).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms.members import ROLE_CHOICES, AddMemberForm, RemoveMemberForm, RoleForm
from survey.accounts import access
from survey.accounts.users import find_user
from survey.models import Project, ProjectMember
from survey.platform.extensions import db

bp = Blueprint("members", __name__, url_prefix="/desk/projects/<int:project_id>/members")
bp.add_app_template_global(access.can_edit, "can_edit")
bp.add_app_template_global(access.is_owner, "is_owner")
bp.add_app_template_global(lambda role: access.ROLE_NAMES.get(role, role), "role_name")


@bp.before_request
@login_required
def require_login():
    """Every member page needs a signed-in evaluator; membership and role are checked per route."""


def _page(project: Project, add_form: AddMemberForm, status: int = 200):
    body = render_template(
        "members/manage.html",
        project=project,
        members=access.members_of(project),
        add_form=add_form,
        role_choices=ROLE_CHOICES,
        title=_("项目成员：%(name)s", name=project.name),
    )
    return body, status


def _member(project: Project, user_id: int) -> ProjectMember:
    member = db.session.get(ProjectMember, (project.id, user_id))
    if member is None:
        abort(404)
    return member


@bp.route("", methods=["GET", "POST"])
def manage(project_id: int):
    """The member list for everyone in the project; owners also get the form to add an evaluator."""
    project = access.member_project(project_id, owner=request.method == "POST")
    form = AddMemberForm()
    if not form.validate_on_submit():
        return _page(project, form, 422 if form.errors else 200)
    try:
        member = access.add_member(project, find_user(form.username.data), form.role.data)
    except access.MembershipError as error:
        form.username.errors.append(str(error))
        return _page(project, form, 422)
    flash(_("已添加“%(name)s”为%(role)s。", name=member.user.username, role=access.ROLE_NAMES[member.role]), "success")
    return redirect(url_for(".manage", project_id=project.id))


@bp.post("/<int:user_id>/role")
def change_role(project_id: int, user_id: int):
    """Give a member another role (owners only; the last owner stays an owner)."""
    project = access.member_project(project_id, owner=True)
    member = _member(project, user_id)
    form = RoleForm()
    if form.validate_on_submit():
        try:
            access.change_role(member, form.role.data)
        except access.MembershipError as error:
            flash(str(error), "error")
        else:
            role = access.ROLE_NAMES[member.role]
            flash(_("“%(name)s”现在是%(role)s。", name=member.user.username, role=role), "success")
    else:
        flash(_("请选择一个角色。"), "error")
    return redirect(url_for(".manage", project_id=project.id))


@bp.route("/<int:user_id>/remove", methods=["GET", "POST"])
def remove(project_id: int, user_id: int):
    """Confirm, then take a member off the project (owners only; never the last owner)."""
    project = access.member_project(project_id, owner=True)
    member = _member(project, user_id)
    form = RemoveMemberForm()
    if form.validate_on_submit():
        name = member.user.username
        try:
            access.remove_member(member)
        except access.MembershipError as error:
            flash(str(error), "error")
            return redirect(url_for(".manage", project_id=project.id))
        flash(_("已将“%(name)s”移出项目。", name=name), "success")
        if user_id == current_user.id:
            return redirect(url_for("desk.projects"))
        return redirect(url_for(".manage", project_id=project.id))
    body = render_template("members/remove.html", project=project, member=member, form=form, title=_("移除项目成员"))
    return body, 422 if form.errors else 200
