"""The form of the rounds page: the previous round, the two labels, and which question each rated question is
compared with."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from forms.builder import choices

NOT_COMPARED = ""


class RoundLinkForm(FlaskForm):
    """上一轮: the questionnaire this one follows, and the names the rounds go by in tables and charts."""

    # The view checks the choice (published, readable, not a later round) and says why in words; WTForms' own
    # check would answer "Not a valid choice." in English whatever the desk's language.
    previous = SelectField(_l("上一轮问卷"), validators=[DataRequired(_l("请选择上一轮问卷。"))], validate_choice=False)
    label = StringField(_l("本轮名称（如 2024 年）"), validators=[DataRequired(_l("请填写本轮名称。")), Length(max=50)])
    previous_label = StringField(
        _l("上一轮名称（如 2023 年）"), validators=[DataRequired(_l("请填写上一轮名称。")), Length(max=50)]
    )

    def offer(self, candidates: list[tuple[int, str]]) -> RoundLinkForm:
        self.previous.choices = choices((str(qid), title) for qid, title in candidates)
        return self


def pairing_choices(previous_questions: list[dict]) -> list:
    """For one of this round's rated questions: each rated question of the previous round, or not compared."""
    return choices(
        [(NOT_COMPARED, _l("（不比较）"))] + [(q["key"], f"{q['number']}. {q['text']}") for q in previous_questions]
    )
