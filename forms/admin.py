"""The administrator's user pages: a new account and a password reset."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from forms.auth import check_policy


class NewUserForm(FlaskForm):
    """An evaluator account made by an administrator; the password must meet the policy."""

    username = StringField(
        _l("用户名"),
        validators=[
            DataRequired(_l("请填写用户名。")),
            Length(max=64, message=_l("用户名最多 64 个字符。")),
            Regexp(r"^[A-Za-z0-9_.@-]+$", message=_l("用户名只能包含字母、数字和 _ . @ - 这几个符号。")),
        ],
    )
    display_name = StringField(_l("姓名（显示用）"), validators=[Length(max=100, message=_l("姓名最多 100 个字符。"))])
    password = PasswordField(_l("初始密码"), validators=[DataRequired(_l("请填写初始密码。")), Length(max=256)])
    is_admin = BooleanField(_l("管理员（可以管理用户）"))

    def validate_password(self, field) -> None:
        check_policy(field, (self.username.data or "").strip())


class ResetPasswordForm(FlaskForm):
    """A new password for someone else's account; their sessions end."""

    password = PasswordField(_l("新密码"), validators=[DataRequired(_l("请填写新密码。")), Length(max=256)])

    def __init__(self, *args, username: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.username = username

    def validate_password(self, field) -> None:
        check_policy(field, self.username)
