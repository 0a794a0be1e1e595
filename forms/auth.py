"""Evaluator sign-in."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    """Username and password; the view checks them against the argon2 hash."""

    username = StringField(_l("用户名"), validators=[DataRequired(_l("请输入用户名。")), Length(max=64)])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请输入密码。")), Length(max=256)])
    remember = BooleanField(_l("在此设备上保持登录"))
