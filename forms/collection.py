"""Forms for collection in the field: settings, channels, unit codes, paper entry, review decisions."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

POW_BITS = (16, 18, 20, 22)
COUNT = NumberRange(min=0, max=10_000_000, message=_l("请填写 0 到 1000 万之间的整数。"))


def _bits(value) -> int | None:
    """Proof-of-work difficulty from the select: empty means off (``None``)."""
    if value in (None, "", "None"):
        return None
    return int(value) if str(value).isdigit() else -1


class CollectionSettingsForm(FlaskForm):
    """When and how much to collect, and how strictly to keep one response per person."""

    opens_at = DateTimeLocalField(_l("开始时间（北京时间，可不填）"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    closes_at = DateTimeLocalField(_l("结束时间（北京时间，可不填）"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    target = IntegerField(_l("目标样本量"), validators=[Optional(), COUNT])
    quota = IntegerField(_l("收满即停（配额，可不填）"), validators=[Optional(), COUNT])
    one_per_device = BooleanField(_l("每台设备只能提交一次"))
    ip_limit = IntegerField(
        _l("同一网络最多提交份数（可不填；运营商网络常多人共用一个地址，请设得宽松）"),
        validators=[Optional(), NumberRange(min=1, max=100000, message=_l("请填写正整数。"))],
    )
    ip_window_minutes = IntegerField(
        _l("上述限制的统计时段（分钟）"),
        default=60,
        validators=[DataRequired(_l("请填写统计时段。")), NumberRange(min=1, max=7 * 24 * 60)],
    )
    min_seconds = IntegerField(
        _l("作答用时少于多少秒标记为“过快”（可不填）"),
        validators=[Optional(), NumberRange(min=1, max=3600, message=_l("请填写 1 到 3600 之间的秒数。"))],
    )
    anonymous = BooleanField(_l("不收集任何识别信息（不保存设备和网络标识）"))
    retention_days = IntegerField(
        _l("答卷保存天数（问卷结束后，可不填）"),
        validators=[Optional(), NumberRange(min=30, max=3650, message=_l("请填写 30 到 3650 之间的天数。"))],
    )
    pow_bits = SelectField(
        _l("防刷题计算（工作量证明）"),
        choices=[
            SelectChoice("", _l("关闭")),
            SelectChoice("16", _l("轻（16 位）")),
            SelectChoice("18", _l("中（18 位）")),
            SelectChoice("20", _l("强（20 位）")),
            SelectChoice("22", _l("很强（22 位）")),
        ],
        coerce=_bits,
        validate_choice=False,  # checked in ``validate_pow_bits`` with a message in plain Chinese
    )

    def validate_pow_bits(self, field) -> None:
        """Only the offered difficulties: a larger one would keep old phones busy for minutes."""
        if field.data is not None and field.data not in POW_BITS:
            raise ValidationError(_l("请从列表中选择防刷题计算的强度。"))

    def validate_closes_at(self, field) -> None:
        """The end must come after the start."""
        if field.data and self.opens_at.data and field.data <= self.opens_at.data:
            raise ValidationError(_l("结束时间必须晚于开始时间。"))


class ChannelForm(FlaskForm):
    """采集点/渠道: a place or route answers come from."""

    name = StringField(_l("采集点名称"), validators=[DataRequired(_l("请填写采集点名称。")), Length(max=100)])
    target = IntegerField(_l("目标份数"), validators=[Optional(), COUNT])
    quota = IntegerField(_l("配额（收满即停，可不填）"), validators=[Optional(), COUNT])
    issued = IntegerField(_l("发放份数（纸质问卷）"), validators=[Optional(), COUNT])


class UnitCodesForm(FlaskForm):
    """服务对象单位: one unit per line; each gets its own link usable ``uses`` times."""

    units = TextAreaField(
        _l("单位名称（每行一个）"), validators=[DataRequired(_l("请至少填写一个单位。")), Length(max=20000)]
    )
    uses = IntegerField(
        _l("每个单位可填写的份数"),
        default=1,
        validators=[
            DataRequired(_l("请填写份数。")),
            NumberRange(min=1, max=1000, message=_l("份数应在 1 到 1000 之间。")),
        ],
    )


class ReviewForm(FlaskForm):
    """An evaluator's decision on one response: exclude it or keep it, always with a reason."""

    reason = StringField(_l("理由"), validators=[DataRequired(_l("请写明理由。")), Length(max=500)])


class PaperIssuedForm(FlaskForm):
    """发放份数 of the paper round."""

    issued = IntegerField(_l("纸质问卷发放份数"), validators=[Optional(), COUNT])


class PaperChannelForm(FlaskForm):
    """The 采集点 a keyed-in questionnaire was collected at (choices: the questionnaire's channels, per request)."""

    class Meta:
        csrf = False  # rendered inside the entry form, whose ActionForm carries the CSRF token

    channel = SelectField(_l("记入采集点"), validate_choice=True)
