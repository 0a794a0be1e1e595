"""Evaluator sign-in and sign-out."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from forms.auth import LoginForm
from forms.project import ActionForm
from survey.accounts import check_password
from survey.extensions import db, login_manager
from survey.models import User

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Flask-Login's hook: the account behind a session cookie."""
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


def _safe_next(target: str | None) -> str:
    """Only follow local paths after login, never an absolute URL an attacker supplied."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("desk.projects")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; on success start a fresh session and go where the user was heading."""
    if current_user.is_authenticated:
        return redirect(url_for("desk.projects"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.execute(db.select(User).filter_by(username=form.username.data.strip())).scalar_one_or_none()
        if user is not None and user.active and check_password(user, form.password.data):
            session.clear()  # a new session on login: nothing set before sign-in carries over
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
        flash(_("用户名或密码不正确。"), "error")
        return render_template("auth/login.html", form=form, title=_("登录")), 401
    return render_template("auth/login.html", form=form, title=_("登录")), (422 if form.errors else 200)


@bp.post("/logout")
@login_required
def logout():
    """Sign out (POST with a CSRF token, so no other site can sign an evaluator out)."""
    if ActionForm().validate_on_submit():
        logout_user()
        session.clear()
        flash(_("您已退出登录。"), "info")
    return redirect(url_for("auth.login"))
