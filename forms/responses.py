"""Forms of the response browser: the list's filters, a reason, the correction of a keyed-in entry, and the
exclusion of responses by rule (its preview and its confirmation)."""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from forms.response import build_response_form_class, collect_answers
from survey.collection.paper import formdata_from_typed
from survey.collection.review import FLAG_LABELS, RULE_KINDS
from survey.models import PAPER_CHANNEL, PAPER_CHANNEL_NAME, Questionnaire
from survey.responses.browser import FLAGS, MODE_NAMES, STATUS_NAMES, Filters

REASON = [DataRequired(_l("请写明理由。")), Length(max=500)]


def channel_choices(questionnaire: Questionnaire, blank=None) -> list[tuple[str, str]]:
    """The questionnaire's channels by code, with the built-in web link first."""
    choices = [("", blank)] if blank is not None else []
    choices.append(("web", str(_l("网络（扫码/链接）"))))
    choices += [(c.code, c.label) for c in questionnaire.channels if c.code != "web"]
    if PAPER_CHANNEL not in {code for code, _name in choices}:  # the system channel before its row exists
        choices.append((PAPER_CHANNEL, gettext(PAPER_CHANNEL_NAME)))
    return choices


class FilterForm(FlaskForm):
    """The list's filters, read from the URL (a GET: nothing changes, so no CSRF token)."""

    class Meta:
        csrf = False

    status = SelectField(_l("状态"), validate_choice=True)
    channel = SelectField(_l("采集点"), validate_choice=True)
    unit = SelectField(_l("服务对象单位"), validate_choice=True)
    mode = SelectField(_l("来源"), validate_choice=True)
    flag = SelectField(_l("标记"), validate_choice=True)
    date_from = DateField(_l("提交日期从"), validators=[Optional()])
    date_to = DateField(_l("到"), validators=[Optional()])
    source_row = IntegerField(_l("来源行号（序号）"), validators=[Optional(), NumberRange(min=1, max=999_999_999)])
    page = IntegerField(validators=[Optional(), NumberRange(min=1)])

    @classmethod
    def for_questionnaire(cls, questionnaire: Questionnaire, formdata) -> FilterForm:
        """A form whose choices are this questionnaire's channels and units."""
        form = cls(formdata=formdata)
        every = str(_l("全部"))
        form.status.choices = [("", every)] + [(k, str(v)) for k, v in STATUS_NAMES.items()]
        form.channel.choices = channel_choices(questionnaire, every)
        form.unit.choices = [("", every)] + [(str(u.id), u.unit_name) for u in questionnaire.unit_codes]
        form.mode.choices = [("", every)] + [(k, str(v)) for k, v in MODE_NAMES.items()]
        form.flag.choices = [("", every)] + [(k, str(FLAG_LABELS[k])) for k in FLAGS]
        return form

    def filters(self) -> Filters:
        """The valid filters (a field that did not validate is left out rather than refusing the page)."""
        errors = self.errors if self.errors else {}

        def value(name: str):
            return None if name in errors else self[name].data

        unit = value("unit")
        return Filters(
            status=value("status") or "",
            channel=value("channel") or "",
            unit=int(unit) if unit else None,
            mode=value("mode") or "",
            flag=value("flag") or "",
            date_from=value("date_from"),
            date_to=value("date_to"),
            source_row=value("source_row"),
        )


class ReasonForm(FlaskForm):
    """A change to one response, always with a reason."""

    reason = StringField(_l("理由"), validators=REASON)


class CorrectionForm(FlaskForm):
    """Correcting a keyed-in entry: the channel it belongs to and why (the typed codes are read like paper entry)."""

    channel = SelectField(_l("采集点"), validate_choice=True)
    reason = StringField(_l("更正理由"), validators=REASON)


RULE_PATTERN = Regexp(r"^(%s):[A-Za-z0-9_-]{1,32}$" % "|".join(RULE_KINDS), message=_l("请选择排除规则。"))


def rule_choices(questionnaire: Questionnaire) -> list[tuple[str, str]]:
    """The rules offered: each quality flag, then each channel."""
    flags = [(f"flag:{k}", str(_l("标记：%(flag)s", flag=FLAG_LABELS[k]))) for k in FLAGS]
    channels = [
        (f"channel:{code}", str(_l("采集点：%(name)s", name=name))) for code, name in channel_choices(questionnaire)
    ]
    return flags + channels


class RulePreviewForm(FlaskForm):
    """Which rule to preview (a GET: it shows, changes nothing)."""

    class Meta:
        csrf = False

    rule = SelectField(_l("排除规则"), validators=[DataRequired(_l("请选择排除规则。"))])


class RuleConfirmForm(FlaskForm):
    """The confirmation of exactly what the preview showed: the rule, up to which number, its digest, a reason."""

    rule = HiddenField(validators=[DataRequired(), RULE_PATTERN])
    upto = HiddenField(validators=[DataRequired(), Regexp(r"^\d{1,10}$")])
    digest = HiddenField(validators=[DataRequired(), Regexp(r"^[0-9a-f]{64}$")])
    reason = StringField(_l("排除理由"), validators=REASON)


def read_typed_entry(definition: dict, typed: dict[str, str]) -> tuple[dict | None, dict[str, str]]:
    """Typed option numbers (paper entry, or its correction) read like a phone's answers: ``(answers, {})``, or
    ``(None, errors by answer key)``. The same validation and skip logic as an online response."""
    data, errors = formdata_from_typed(definition, typed)
    form = build_response_form_class(definition)(formdata=data, meta={"csrf": False})
    if not form.validate() or errors:
        for name, messages in form.errors.items():  # the typist's own mistake is the clearer message
            if name:
                errors.setdefault(name, str(messages[0]))
        return None, errors
    return collect_answers(form), {}
