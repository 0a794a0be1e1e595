"""Forms of the report section page: the team's editable template."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from survey.reports.text import MAX_TEMPLATE_CHARS


class ReportTemplateForm(FlaskForm):
    """报告模板: Jinja text filled with the questionnaire's figures."""

    template = TextAreaField(
        _l("报告模板"),
        validators=[
            DataRequired(_l("请填写报告模板。")),
            Length(max=MAX_TEMPLATE_CHARS, message=_l("报告模板太长。")),
        ],
    )


class ResetTemplateForm(FlaskForm):
    """A bare form for the reset action: it exists to carry the CSRF token."""
