"""Project members: add an existing evaluator, change a role, confirm a removal."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

# Labels for the three roles, in the order they are offered (survey.accounts.access.ROLES holds the rules).
ROLE_CHOICES = [
    SelectChoice("owner", _l("负责人（可管理成员）")),
    SelectChoice("editor", _l("编辑者（可修改问卷和数据）")),
    SelectChoice("viewer", _l("查看者（只能查看结果）")),
]


class AddMemberForm(FlaskForm):
    """Share the project with an evaluator who already has an account."""

    username = StringField(_l("用户名"), validators=[DataRequired(_l("请填写要添加的用户名。")), Length(max=64)])
    role = SelectField(_l("角色"), choices=ROLE_CHOICES[1:], default="viewer")


class RoleForm(FlaskForm):
    """A member's new role."""

    role = SelectField(_l("角色"), choices=ROLE_CHOICES)


class RemoveMemberForm(FlaskForm):
    """Removal asks for an explicit tick, so a stray click removes no one."""

    confirm = BooleanField(_l("我确认移除这位成员"), validators=[DataRequired(_l("请勾选确认后再移除。"))])
