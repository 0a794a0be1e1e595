"""Forms for privacy actions: confirming that all responses of a questionnaire are to be deleted."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, ValidationError


class DeleteResponsesForm(FlaskForm):
    """The evaluator types the questionnaire's title: a deletion that cannot be undone needs a deliberate act."""

    confirm_title = StringField(
        _l("请输入问卷标题以确认"),
        validators=[DataRequired(_l("请输入问卷标题。")), Length(max=300)],
    )

    def __init__(self, expected_title: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.expected_title = expected_title

    def validate_confirm_title(self, field) -> None:
        """Only the exact title (spaces around it ignored) confirms."""
        if (field.data or "").strip() != self.expected_title.strip():
            raise ValidationError(_l("输入的标题与问卷标题不一致，答卷没有删除。"))
