"""Forms of the weighting page: a population table, the weighting scheme and the sample plan."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, FloatField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from forms.builder import choices
from forms.fields import CheckboxesField
from survey.weighting.population import MAX_NAME


def question_label(question: dict) -> str:
    """A question as a choice reads: "3. 您居住的乡镇", or the text alone for the channel (no number)."""
    return f"{question['number']}. {question['text']}" if question.get("number") else question["text"]


class PopulationTableForm(FlaskForm):
    """人口表: the group questions it counts, then its rows from a file or pasted from Excel."""

    name = StringField(
        _l("表名"), validators=[DataRequired(_l("请填写表名。")), Length(max=MAX_NAME, message=_l("表名太长。"))]
    )
    source = StringField(
        _l("数据来源（如：第七次全国人口普查）"), validators=[Length(max=200, message=_l("来源太长。"))]
    )
    questions = CheckboxesField(
        _l("分类题目（选两道及以上即为交叉表）"), validators=[DataRequired(_l("请至少选择一道分类题目。"))]
    )
    file = FileField(_l("上传表格（.xlsx、.xls 或 .csv）"))
    rows = TextAreaField(_l("或粘贴表格（从 Excel 复制，含标题行）"), validators=[Length(max=500_000)])

    def offer(self, questions: list[dict]) -> PopulationTableForm:
        """The group questions a table may be for, as check boxes."""
        self.questions.choices = choices((q["key"], question_label(q)) for q in questions)
        return self

    def validate_rows(self, field) -> None:
        upload = self.file.data
        if not (field.data or "").strip() and not (upload and getattr(upload, "filename", "")):
            raise ValidationError(_l("请上传表格文件或粘贴表格。"))


class WeightingSchemeForm(FlaskForm):
    """加权方案: the method, the tables, convergence and trimming."""

    enabled = BooleanField(_l("启用加权（在结果、报告和导出中并列给出加权结果）"))
    method = SelectField(
        _l("加权方法"),
        choices=choices(
            [
                ("poststratify", _l("事后分层（一张表，可为交叉表）")),
                ("rake", _l("迭代加权 raking（多张边际表）")),
            ]
        ),
    )
    tables = CheckboxesField(_l("使用的人口表"), validators=[DataRequired(_l("请至少选择一张人口表。"))])
    tolerance = FloatField(
        _l("收敛容差（边际与人口数之差占总数的比例）"),
        default=1e-6,
        validators=[
            InputRequired(_l("请填写收敛容差。")),
            NumberRange(min=1e-12, max=0.01, message=_l("收敛容差应在 1e-12 到 0.01 之间。")),
        ],
    )
    max_iterations = IntegerField(
        _l("迭代上限（轮）"),
        default=100,
        validators=[
            InputRequired(_l("请填写迭代上限。")),
            NumberRange(min=1, max=10_000, message=_l("迭代上限应在 1 到 10000 之间。")),
        ],
    )
    trim = SelectField(
        _l("权重截尾"),
        choices=choices(
            [
                ("none", _l("不截尾")),
                ("bounds", _l("限定在上下界之间")),
                ("median", _l("限定在中位数的若干倍之内")),
            ]
        ),
    )
    trim_low = FloatField(_l("权重下界"), validators=[Optional(), NumberRange(min=0, message=_l("下界不能为负。"))])
    trim_high = FloatField(_l("权重上界"), validators=[Optional(), NumberRange(min=1e-9, message=_l("上界必须为正。"))])
    trim_multiple = FloatField(
        _l("中位数的倍数"),
        validators=[Optional(), NumberRange(min=1.01, max=100, message=_l("倍数应在 1.01 到 100 之间。"))],
    )

    def offer(self, table_names: list[str]) -> WeightingSchemeForm:
        """The questionnaire's population tables, as check boxes."""
        self.tables.choices = choices((name, name) for name in table_names)
        return self

    def validate_tables(self, field) -> None:
        if self.method.data == "poststratify" and len(field.data or []) != 1:
            raise ValidationError(_l("事后分层只能用一张人口表；多张表请选迭代加权。"))

    def validate_trim_high(self, field) -> None:
        if self.trim.data != "bounds":
            return
        if field.data is None:
            raise ValidationError(_l("请填写权重上界。"))
        if self.trim_low.data is not None and self.trim_low.data >= field.data:
            raise ValidationError(_l("上界必须大于下界。"))

    def validate_trim_multiple(self, field) -> None:
        if self.trim.data == "median" and field.data is None:
            raise ValidationError(_l("请填写中位数的倍数。"))


class SamplePlanForm(FlaskForm):
    """抽样设计: strata from a group question, their sizes from a population table, and how to allocate the total."""

    stratum = SelectField(_l("分层题（如乡镇/街道）"))
    table = SelectField(_l("各层人口数取自"))
    method = SelectField(
        _l("分配方法"),
        choices=choices(
            [
                ("proportional", _l("按人口比例分配")),
                ("equal", _l("各层等量")),
                ("neyman", _l("奈曼（Neyman）最优分配")),
            ]
        ),
    )
    total = IntegerField(
        _l("样本总量"),
        validators=[
            InputRequired(_l("请填写样本总量。")),
            NumberRange(min=1, max=10_000_000, message=_l("样本总量应为正整数。")),
        ],
    )
    minimum = IntegerField(
        _l("每层至少（份）"), default=0, validators=[Optional(), NumberRange(min=0, message=_l("不能为负。"))]
    )
    maximum = IntegerField(
        _l("每层至多（份，可不填）"), validators=[Optional(), NumberRange(min=1, message=_l("应为正整数。"))]
    )
    quotas = BooleanField(_l("分层为采集点时，同时把各采集点的配额设为计划份数（达到后该采集点的链接停止接收）"))
    expected_rate = FloatField(
        _l("预期比率（如上年满意率 0.9，可不填，按 0.5 计）"),
        validators=[Optional(), NumberRange(min=0, max=1, message=_l("预期比率应在 0 到 1 之间。"))],
    )

    def offer(self, questions: list[dict], table_names: list[str]) -> SamplePlanForm:
        """The group questions and population tables to choose from."""
        self.stratum.choices = choices((q["key"], question_label(q)) for q in questions)
        self.table.choices = choices((name, name) for name in table_names)
        return self
