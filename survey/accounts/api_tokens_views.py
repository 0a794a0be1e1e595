"""The evaluator's read-API tokens: list, create (the secret is shown once) and revoke."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from survey.accounts.api_tokens import issue_token
from survey.models import ApiToken, utcnow
from survey.platform.extensions import db

bp = Blueprint("api_tokens", __name__, url_prefix="/desk/api-tokens")


class TokenForm(FlaskForm):
    """A new token needs only a name saying what it is for."""

    name = StringField(_l("令牌名称（用途）"), validators=[DataRequired(_l("请填写令牌名称。")), Length(max=100)])


@bp.before_request
@login_required
def require_login():
    """Every token page needs a signed-in evaluator; a token is only ever its owner's."""


def own_tokens() -> list[ApiToken]:
    query = (
        db.select(ApiToken).filter_by(user_id=current_user.id).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )
    return list(db.session.execute(query).scalars())


def _page(form: TokenForm, secret: str | None = None, created: ApiToken | None = None, status: int = 200):
    body = render_template(
        "desk/api_tokens.html",
        title=_("API 令牌"),
        form=form,
        tokens=own_tokens(),
        secret=secret,
        created=created,
        shown=lambda moment: format_datetime(moment, "yyyy-MM-dd HH:mm"),
    )
    return body, status


@bp.get("/")
def index():
    """The signed-in evaluator's tokens and the form for a new one."""
    return _page(TokenForm())


@bp.post("/")
def create():
    """Make a token and show its secret on this page, once."""
    form = TokenForm()
    if not form.validate_on_submit():
        return _page(form, status=400)
    token, secret = issue_token(current_user, form.name.data.strip())
    return _page(TokenForm(formdata=None), secret=secret, created=token)


@bp.post("/<int:token_id>/revoke")
def revoke(token_id: int):
    """Revoke one of the evaluator's own tokens; someone else's is 404."""
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        db.session.commit()
    flash(_("令牌“%(name)s”已撤销。", name=token.name), "info")
    return redirect(url_for("api_tokens.index"))
