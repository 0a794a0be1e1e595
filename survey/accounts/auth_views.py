"""Evaluator sign-in and sign-out, password change, and logging out everywhere.

A session holds ``"<user id>:<session version>:<secret>"`` (``accounts.users.start_session``): signing out deletes
the secret's row, so that session and every copy of its cookie are refused; bumping the version on a password
change, a reset or "log out everywhere" makes every older session and remember-me cookie invalid.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from forms.auth import ChangePasswordForm, LoginForm
from forms.project import ActionForm
from survey.accounts import users as accounts
from survey.models import User
from survey.platform.extensions import login_manager
from survey.platform.local_urls import is_local_path

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(token: str) -> User | None:
    """Flask-Login's hook: the account behind a session, refused when deactivated or its version is stale."""
    return accounts.user_for_token(token)


def _safe_next(target: str | None) -> str:
    """Only follow a path on this site after login (``survey.platform.local_urls``); anything else goes to the desk."""
    if is_local_path(target):
        return target
    return url_for("desk.projects")


def _start_session(user: User, remember: bool) -> None:
    """A brand-new session (nothing set before sign-in carries over) that carries the session version."""
    session.clear()
    login_user(user, remember=remember)
    session["_user_id"] = accounts.start_session(user)  # what Flask-Login stores and puts in the remember cookie


def _locked_message(minutes: int) -> str:
    """Say plainly that the account is locked and for how long (the same words for a name no account has)."""
    return _("连续输错密码次数过多，账户已被暂时锁定。请在 %(minutes)d 分钟后再试，或请管理员解锁。", minutes=minutes)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; on success start a fresh session and go where the user was heading."""
    if current_user.is_authenticated:
        return redirect(url_for("desk.projects"))
    form = LoginForm()
    if form.validate_on_submit():
        result = accounts.authenticate(form.username.data, form.password.data)
        if result.user is not None:
            _start_session(result.user, form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
        if result.locked_minutes is not None:
            flash(_locked_message(result.locked_minutes), "error")
            return render_template("auth/login.html", form=form, title=_("登录")), 429
        flash(_("用户名或密码不正确。"), "error")
        return render_template("auth/login.html", form=form, title=_("登录")), 401
    return render_template("auth/login.html", form=form, title=_("登录")), (422 if form.errors else 200)


def _end_session() -> None:
    """End this session on the server (every copy of its cookie dies), forget it here and tell Flask-Login to
    delete a remember-me cookie (in that order, or it stays)."""
    accounts.end_session(session.get("_user_id"))
    session.clear()
    logout_user()


@bp.post("/logout")
@login_required
def logout():
    """Sign out (POST with a CSRF token, so no other site can sign an evaluator out)."""
    if ActionForm().validate_on_submit():
        _end_session()
        flash(_("您已退出登录。"), "info")
    return redirect(url_for("auth.login"))


@bp.post("/logout-everywhere")
@login_required
def logout_everywhere():
    """End every session of this account, on every device, including this one."""
    if ActionForm().validate_on_submit():
        accounts.end_all_sessions(current_user)
        _end_session()
        flash(_("已在所有设备上退出登录。"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change one's own password; other sessions end, this one stays signed in."""
    form = ChangePasswordForm(username=current_user.username)
    if form.validate_on_submit():
        # through the lockout, so a borrowed session cannot guess the current password without limit
        checked = accounts.authenticate(current_user.username, form.current_password.data)
        if checked.user is None:
            minutes = checked.locked_minutes
            form.current_password.errors.append(_locked_message(minutes) if minutes else _("当前密码不正确。"))
        else:
            accounts.set_password(current_user, form.new_password.data)
            _keep_this_session(current_user)
            flash(_("密码已修改。其他设备上的登录已失效，需要用新密码重新登录。"), "success")
            return redirect(url_for("desk.projects"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/change_password.html", form=form, title=_("修改密码")), status


def _keep_this_session(user: User) -> None:
    """After a version bump, move this session (and its remember-me cookie, if any) to a new session row."""
    session["_user_id"] = accounts.start_session(user)
    if current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies:
        session["_remember"] = "set"
