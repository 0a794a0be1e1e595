"""Forms of the evaluator desk: projects, questionnaires, publishing actions."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, DecimalField, IntegerField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from survey.questionnaires.library import load_template, template_keys


class ProjectForm(FlaskForm):
    """评价项目: what is evaluated, where, when, by whom."""

    name = StringField(_l("项目名称"), validators=[DataRequired(_l("请填写项目名称。")), Length(max=200)])
    region = StringField(_l("地区"), validators=[Optional(), Length(max=100)])
    year = IntegerField(
        _l("评价年度"),
        validators=[Optional(), NumberRange(2000, 2100, message=_l("年度应在 2000 到 2100 之间。"))],
    )
    evaluated_unit = StringField(_l("被评价单位"), validators=[Optional(), Length(max=200)])
    budget = DecimalField(
        _l("预算金额（元）"),
        places=2,
        validators=[Optional(), NumberRange(min=0, message=_l("预算金额不能为负数。"))],
    )
    evaluating_org = StringField(_l("评价机构"), validators=[Optional(), Length(max=200)])

    @classmethod
    def field_names(cls) -> list[str]:
        """The project attributes this form edits, in display order."""
        return ["name", "region", "year", "evaluated_unit", "budget", "evaluating_org"]


class NewQuestionnaireForm(FlaskForm):
    """Start a questionnaire from a template of the library."""

    template = RadioField(_l("问卷模板"), validators=[DataRequired(_l("请选择一个模板。"))])
    title = StringField(_l("问卷标题（可不填，默认用模板标题）"), validators=[Optional(), Length(max=200)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.template.choices = [SelectChoice(key, load_template(key)["title"]) for key in template_keys()]


class IssuedForm(FlaskForm):
    """发放份数: how many questionnaires were handed out, the base of 回收率."""

    issued = IntegerField(
        _l("发放份数"),
        validators=[Optional(), NumberRange(min=0, max=10_000_000, message=_l("发放份数应为非负整数。"))],
    )


class PublishForm(FlaskForm):
    """Publish the draft; changes that break alignment with collected answers need ``confirm``."""

    confirm = BooleanField(_l("我已了解上述影响，仍要发布新版本"))


class ImportForm(FlaskForm):
    """Upload a questionnaire definition: our JSON format or an XLSForm workbook."""

    file = FileField(
        _l("问卷文件（JSON 或 XLSForm .xlsx）"),
        validators=[
            FileRequired(_l("请选择要导入的文件。")),
            FileAllowed(["json", "xlsx"], _l("只能导入 .json 或 .xlsx 文件。")),
        ],
    )


class ActionForm(FlaskForm):
    """A bare form for POST-only actions (publish, close): it exists to carry the CSRF token."""
