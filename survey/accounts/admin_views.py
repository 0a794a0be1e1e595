"""The administrator's user management: list, create, deactivate/reactivate, reset, unlock, admin rights.

Non-administrators get 404, like non-members of a project: the pages do not admit they exist. An
administrator manages accounts only; it gives no access to anyone's projects.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from forms.admin import NewUserForm, ResetPasswordForm
from forms.project import ActionForm
from survey.accounts import users as accounts
from survey.models import User
from survey.platform.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_admin():
    """Signed-in administrators only; everyone else gets 404."""
    if not current_user.is_admin:
        abort(404)


def _users() -> list[User]:
    return list(db.session.execute(db.select(User).order_by(User.username)).scalars())


def _page(form: NewUserForm, status: int = 200):
    body = render_template(
        "admin/users.html",
        form=form,
        action_form=ActionForm(),
        users=_users(),
        is_locked=accounts.is_locked,
        shown=lambda moment: format_datetime(moment, "yyyy-MM-dd HH:mm") if moment else "—",
        title=_("用户管理"),
    )
    return body, status


def _user(user_id: int) -> User:
    return db.get_or_404(User, user_id)


@bp.route("/users", methods=["GET", "POST"])
def users():
    """Every account, with its state and actions, and the form to create one."""
    form = NewUserForm()
    if not form.validate_on_submit():
        return _page(form, 422 if form.errors else 200)
    try:
        user = accounts.create_user(form.username.data, form.password.data, form.display_name.data, form.is_admin.data)
    except accounts.AccountError as error:
        form.username.errors.append(str(error))
        return _page(form, 422)
    flash(_("已创建用户“%(name)s”。请把初始密码当面或通过安全渠道告诉对方。", name=user.username), "success")
    return redirect(url_for(".users"))


# action -> (the change, the message once done); the rules (last admin, not oneself) are in survey.accounts.users.
ACTIONS = {
    "deactivate": (
        lambda user: accounts.set_active(current_user, user, False),
        _l("已停用“%(name)s”，其登录已全部失效。"),
    ),
    "reactivate": (lambda user: accounts.set_active(current_user, user, True), _l("已重新启用“%(name)s”。")),
    "unlock": (accounts.unlock, _l("已解锁“%(name)s”。")),
    "grant_admin": (lambda user: accounts.set_admin(current_user, user, True), _l("“%(name)s”现在是管理员。")),
    "revoke_admin": (lambda user: accounts.set_admin(current_user, user, False), _l("已取消“%(name)s”的管理员权限。")),
}


@bp.post("/users/<int:user_id>/<any(deactivate, reactivate, unlock, grant_admin, revoke_admin):action>")
def act(user_id: int, action: str):
    """One account action from the list (a POST with a CSRF token)."""
    user = _user(user_id)
    if ActionForm().validate_on_submit():
        change, done = ACTIONS[action]
        try:
            change(user)
        except accounts.AccountError as error:
            flash(str(error), "error")
        else:
            flash(done % {"name": user.username}, "success")
    return redirect(url_for(".users"))


@bp.route("/users/<int:user_id>/password", methods=["GET", "POST"])
def reset_password(user_id: int):
    """Set a new password for someone; every session of theirs ends."""
    user = _user(user_id)
    form = ResetPasswordForm(username=user.username)
    if form.validate_on_submit():
        accounts.set_password(user, form.password.data)
        flash(_("已重置“%(name)s”的密码，其原有登录已全部失效。", name=user.username), "success")
        if user.id == current_user.id:
            return redirect(url_for("auth.login"))
        return redirect(url_for(".users"))
    body = render_template("admin/reset_password.html", form=form, user=user, title=_("重置密码"))
    return body, 422 if form.errors else 200
