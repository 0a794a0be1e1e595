"""Evaluator sign-in and password change."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from survey.accounts.users import password_problems


class LoginForm(FlaskForm):
    """Username and password; the view checks them against the argon2 hash."""

    username = StringField(_l("用户名"), validators=[DataRequired(_l("请输入用户名。")), Length(max=64)])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请输入密码。")), Length(max=256)])
    remember = BooleanField(_l("在此设备上保持登录"))


def check_policy(field, username: str) -> None:
    """Raise the policy's messages as one validation error, so the form shows them under the field."""
    problems = password_problems(field.data or "", username)
    if problems:
        raise ValidationError(" ".join(problems))


class ChangePasswordForm(FlaskForm):
    """One's own password: the current one (so a borrowed session cannot change it) and the new one twice."""

    current_password = PasswordField(_l("当前密码"), validators=[DataRequired(_l("请输入当前密码。")), Length(max=256)])
    new_password = PasswordField(_l("新密码"), validators=[DataRequired(_l("请输入新密码。")), Length(max=256)])
    confirm = PasswordField(
        _l("再次输入新密码"),
        validators=[DataRequired(_l("请再次输入新密码。")), EqualTo("new_password", _l("两次输入的新密码不一致。"))],
    )

    def __init__(self, *args, username: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.username = username  # the policy refuses a password equal to it

    def validate_new_password(self, field) -> None:
        check_policy(field, self.username)
        if field.data and field.data == self.current_password.data:
            raise ValidationError(_l("新密码不能与当前密码相同。"))
