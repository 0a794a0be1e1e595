"""Forms of the questionnaire builder: questionnaire settings, sections, questions, skip logic.

The forms only read and check what the evaluator typed; ``survey.questionnaires.authoring`` makes the change and
``survey.questionnaires.definition.validate_definition`` judges the result. Numbers are typed as text and read
with ``parse_number`` (full-width digits allowed), so every message is in plain Chinese.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from survey.questionnaires.definition import MEASURES, NUMBER_PATTERN, THANKS_LENGTH
from survey.questionnaires.localize import ENGLISH_FIELDS
from survey.questionnaires.qtypes import QUESTION_TYPES, QuestionType, parse_date, parse_number

BLANK_ROWS = 2  # empty option / item rows offered for adding


def choices(pairs) -> list[SelectChoice]:
    """``(value, label)`` pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


MEASURE_LABELS = {
    "satisfaction": _l("满意率"),
    "safety": _l("安全感率"),
    "awareness": _l("知晓率"),
    "participation": _l("参与率"),
}
MEASURE_CHOICES = [("", _l("不计算比率"))] + [(m, MEASURE_LABELS[m]) for m in MEASURES]  # pairs
DONT_KNOW_CHOICES = [
    ("", _l("否")),
    ("true", _l("是，按问卷设置计算")),
    ("exclude", _l("是，不计入分母")),
    ("not_satisfied", _l("是，算作不满意")),
]
COUNT_SETTINGS = ("min_choices", "max_choices", "max_length")  # whole numbers typed as text
CHOSEN_SETTINGS = ("correct",)  # a choice from a list: nothing chosen is stored as no setting


def _number_text(_form, field) -> None:
    if (field.data or "").strip() and parse_number(field.data) is None:
        raise ValidationError(_l("请填写一个数字。"))


def _whole_number(low: int, high: int):
    def check(_form, field) -> None:
        if not (field.data or "").strip():
            return
        value = parse_number(field.data)
        if not isinstance(value, int) or not low <= value <= high:
            raise ValidationError(_l("请填写 %(low)d 到 %(high)d 之间的整数。", low=low, high=high))

    return check


def _question_number(_form, field) -> None:
    text = unicodedata.normalize("NFKC", field.data or "").strip()
    if text and not NUMBER_PATTERN.match(text):
        raise ValidationError(_l("题号只能是数字，小题用“.”隔开，例如 3 或 3.1。"))


def _date_text(_form, field) -> None:
    if (field.data or "").strip() and parse_date(field.data) is None:
        raise ValidationError(_l("请按“年-月-日”填写日期，例如 2019-05-01。"))


def _english(label, level: str, name: str, textarea: bool = False):
    """An optional English twin of a text, as long as the definition allows (``survey.questionnaires.localize``)."""
    field_class = TextAreaField if textarea else StringField
    return field_class(label, validators=[Optional(), Length(max=ENGLISH_FIELDS[level][name])])


def _number_or_none(text: str | None) -> int | float | None:
    return parse_number(text) if (text or "").strip() else None


class ActionForm(FlaskForm):
    """A bare form for the builder's POST-only buttons (move, duplicate, delete) to carry the CSRF token."""


class BlankQuestionnaireForm(FlaskForm):
    """Start a questionnaire from nothing."""

    title = StringField(_l("问卷标题"), validators=[DataRequired(_l("请填写问卷标题。")), Length(max=200)])


class QuestionnaireForm(FlaskForm):
    """Title, opening text, and how the overall figure and “不清楚” answers are counted."""

    title = StringField(_l("问卷标题"), validators=[DataRequired(_l("请填写问卷标题。")), Length(max=200)])
    intro = TextAreaField(_l("卷首语（每段一行，可不填）"), validators=[Optional(), Length(max=5000)])
    source = StringField(_l("问卷来源（可不填，如某报告的附件2）"), validators=[Optional(), Length(max=300)])
    thanks = TextAreaField(_l("感谢语（可不填，提交后显示）"), validators=[Optional(), Length(max=THANKS_LENGTH)])
    title_en = _english(_l("英文标题"), "questionnaire", "title")
    intro_en = _english(_l("英文卷首语（每段一行）"), "questionnaire", "intro", textarea=True)
    thanks_en = _english(_l("英文感谢语"), "questionnaire", "thanks", textarea=True)
    overall_method = RadioField(
        _l("总体满意度怎么算"),
        choices=choices([("mean", _l("取同一类题目比率的平均值")), ("question", _l("用某一道总体评价题的比率"))]),
        default="mean",
    )
    overall_measure = SelectField(_l("参与平均的题目"), choices=choices(MEASURE_CHOICES[1:]), default="satisfaction")
    overall_question = SelectField(_l("总体评价题"), choices=choices([("", "—")]), default="")
    dont_know = RadioField(
        _l("“不清楚”类选项怎么算"),
        choices=choices([("exclude", _l("不计入分母（常用）")), ("not_satisfied", _l("计入分母，算作不满意"))]),
        default="exclude",
    )

    def set_question_choices(self, questions: list[dict]) -> None:
        """Offer the questions with options (numbered) as the overall question."""
        self.overall_question.choices = choices(
            [("", "—")] + [(q["key"], f"{q['number']}. {q['text']}") for q in questions if q.get("options")]
        )

    @staticmethod
    def data_of(definition: dict) -> dict:
        overall = (definition.get("settings") or {}).get("overall") or {"method": "mean"}
        return {
            "title": definition.get("title", ""),
            "intro": definition.get("intro", ""),
            "source": definition.get("source", ""),
            **{name: definition.get(name, "") for name in ("thanks", "title_en", "intro_en", "thanks_en")},
            "overall_method": overall.get("method", "mean"),
            "overall_measure": overall.get("measure", "satisfaction"),
            "overall_question": overall.get("question", ""),
            "dont_know": (definition.get("settings") or {}).get("dont_know", "exclude"),
        }


class SectionForm(FlaskForm):
    """A section (page) of the questionnaire: title and intro text, both optional."""

    title = StringField(_l("部分标题（可不填，如“治安感受”）"), validators=[Optional(), Length(max=200)])
    intro = TextAreaField(_l("部分说明（可不填，显示在标题下）"), validators=[Optional(), Length(max=2000)])
    title_en = _english(_l("英文部分标题"), "section", "title")
    intro_en = _english(_l("英文部分说明"), "section", "intro", textarea=True)

    def english(self) -> dict[str, str]:
        """The English twins as ``survey.questionnaires.authoring.update_section`` takes them."""
        return {"title_en": self.title_en.data or "", "intro_en": self.intro_en.data or ""}


class AddQuestionForm(FlaskForm):
    """Which type of question to add."""

    qtype = SelectField(
        _l("题型"),
        choices=choices((name, t.label) for name, t in QUESTION_TYPES.items()),
        validators=[DataRequired(_l("请选择题型。"))],
    )


class MoveToSectionForm(FlaskForm):
    """Move a question into another section."""

    section = SelectField(_l("移到"), choices=[])


class OptionRow(Form):
    """One option in the question form; a row without a key is a new option."""

    key = HiddenField()
    text = StringField(_l("选项文字"), validators=[Optional(), Length(max=200)])
    score = StringField(_l("分值"), validators=[Optional(), _number_text])
    positive = BooleanField(_l("算作满意"))
    dont_know = SelectField(_l("“不清楚”类"), choices=choices(DONT_KNOW_CHOICES), default="")
    other = BooleanField(_l("“其他”（需注明）"))
    remove = BooleanField(_l("删除"))
    text_en = _english(_l("英文选项文字"), "option", "text")

    def row(self) -> dict[str, Any]:
        return {
            "key": self.key.data or None,
            "text": (self.text.data or "").strip(),
            "text_en": (self.text_en.data or "").strip() or None,
            "score": _number_or_none(self.score.data),
            "positive": bool(self.positive.data),
            "dont_know": self.dont_know.data or None,
            "other": bool(self.other.data),
            "remove": bool(self.remove.data),
        }


class ItemRow(Form):
    """One item (row) of a matrix question."""

    key = HiddenField()
    text = StringField(_l("小题文字"), validators=[Optional(), Length(max=200)])
    dimension = StringField(_l("维度（可不填）"), validators=[Optional(), Length(max=100)])
    remove = BooleanField(_l("删除"))
    text_en = _english(_l("英文小题文字"), "item", "text")

    def row(self) -> dict[str, Any]:
        return {
            "key": self.key.data or None,
            "text": (self.text.data or "").strip(),
            "text_en": (self.text_en.data or "").strip() or None,
            "dimension": (self.dimension.data or "").strip() or None,
            "remove": bool(self.remove.data),
        }


class QuestionForm(FlaskForm):
    """Everything about one question; the page shows only the parts its type uses."""

    text = TextAreaField(_l("题目文字"), validators=[DataRequired(_l("题目文字不能为空。")), Length(max=500)])
    number = StringField(_l("题号（可不填，默认按顺序编号）"), validators=[Optional(), _question_number])
    required = BooleanField(_l("必答题"))
    help = StringField(_l("题目下方的提示（可不填）"), validators=[Optional(), Length(max=300)])
    measure = SelectField(_l("统计口径"), choices=choices(MEASURE_CHOICES), default="")
    rate_label = StringField(_l("比率名称（可不填，如“社会治安好评率”）"), validators=[Optional(), Length(max=100)])
    dimension = StringField(_l("维度（可不填，如“服务态度”）"), validators=[Optional(), Length(max=100)])
    min_choices = StringField(_l("最少选几项（可不填）"), validators=[Optional(), _whole_number(1, 100)])
    max_choices = StringField(_l("最多选几项（可不填）"), validators=[Optional(), _whole_number(1, 100)])
    number_min = StringField(_l("最小值（可不填）"), validators=[Optional(), _number_text])
    number_max = StringField(_l("最大值（可不填）"), validators=[Optional(), _number_text])
    integer = BooleanField(_l("只能填整数"))
    unit = StringField(_l("单位（可不填，如“次”“元”）"), validators=[Optional(), Length(max=20)])
    date_min = StringField(_l("最早日期（可不填）"), validators=[Optional(), _date_text])
    date_max = StringField(_l("最晚日期（可不填）"), validators=[Optional(), _date_text])
    max_length = StringField(_l("最多字数（可不填）"), validators=[Optional(), _whole_number(1, 5000)])
    correct = SelectField(_l("正确答案"), choices=[], validate_choice=False)
    text_en = _english(_l("英文题目文字"), "question", "text", textarea=True)
    help_en = _english(_l("英文提示"), "question", "help")
    unit_en = _english(_l("英文单位"), "question", "unit")
    options = FieldList(FormField(OptionRow))
    items = FieldList(FormField(ItemRow))
    move = StringField()  # never shown; set by the ↑/↓ buttons of a row: "option:b:up", "item:a2:down"

    @classmethod
    def for_question(cls, question: dict) -> QuestionForm:
        """A form showing ``question`` (for GET), with blank rows for new options and items."""
        data = {
            name: question.get(name)
            for name in ("text", "number", "help", "rate_label", "dimension", "unit", "text_en", "help_en", "unit_en")
        }
        data.update(
            required=bool(question.get("required")),
            measure=question.get("measure") or "",
            integer=bool(question.get("integer")),
            correct=question.get("correct") or "",
            **{name: _text(question.get(name)) for name in ("min_choices", "max_choices", "max_length")},
        )
        qtype = QUESTION_TYPES[question["type"]]
        if qtype.bounds:
            data[f"{qtype.bounds}_min"], data[f"{qtype.bounds}_max"] = (_text(question.get(n)) for n in ("min", "max"))
        blank = [{}] * BLANK_ROWS
        data["options"] = [_option_data(o) for o in question.get("options", [])] + (blank if qtype.has_options else [])
        data["items"] = list(question.get("items", [])) + (blank if qtype.has_items else [])
        form = cls(data=data)
        form.set_correct_choices(question)
        return form

    def set_correct_choices(self, question: dict) -> None:
        self.correct.choices = choices((o["key"], o["text"]) for o in question.get("options", []))

    def changes(self, qtype: str) -> dict[str, Any]:
        """The fields ``survey.questionnaires.authoring.update_question`` should set for a question of ``qtype``."""
        result: dict[str, Any] = {
            "text": self.text.data or "",
            "number": unicodedata.normalize("NFKC", self.number.data or "").strip(),  # “３．１” → “3.1”
            "required": bool(self.required.data),
            "help": self.help.data,
            "text_en": self.text_en.data,
            "help_en": self.help_en.data,
        }
        entry = QUESTION_TYPES[qtype]
        if entry.rated:
            result.update(
                measure=self.measure.data or None,
                rate_label=self.rate_label.data,
                dimension=self.dimension.data,
            )
        result.update({name: self._setting(entry, name) for name in entry.settings})
        return result

    def _setting(self, entry: QuestionType, name: str) -> Any:
        """One of the type's own settings as the evaluator typed it (see ``QuestionType.settings``)."""
        if name in ("min", "max"):
            return entry.parse_bound(self[f"{entry.bounds}_{name}"].data)
        field = self[name]
        if name in COUNT_SETTINGS:
            return _number_or_none(field.data)
        if isinstance(field, BooleanField):
            return bool(field.data)
        return field.data or (None if name in CHOSEN_SETTINGS else field.data)

    def option_rows(self, qtype: str) -> list[dict]:
        """The option rows, holding only the columns the page showed for this type."""
        shown = {"key", "text", "text_en", "remove"}
        if QUESTION_TYPES[qtype].scored:
            shown |= {"score", "positive", "dont_know"}
        if QUESTION_TYPES[qtype].allow_other:
            shown.add("other")
        return [{k: v for k, v in entry.form.row().items() if k in shown} for entry in self.options]

    def item_rows(self) -> list[dict]:
        return [entry.form.row() for entry in self.items]

    def move_request(self) -> tuple[str, str, int] | None:
        """``("option", "b", -1)`` when a row's ↑/↓ button was pressed."""
        parts = (self.move.data or "").split(":")
        if len(parts) == 3 and parts[0] in ("option", "item") and parts[2] in ("up", "down"):
            return parts[0], parts[1], -1 if parts[2] == "up" else 1
        return None


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _option_data(option: dict) -> dict:
    dont_know = option.get("dont_know")
    return {
        **option,
        "score": _text(option.get("score")),
        "dont_know": "true" if dont_know is True else (dont_know or ""),
    }


class ConditionForm(FlaskForm):
    """Skip logic: show this question (or section) only when an earlier question is answered a certain way."""

    question = HiddenField(validators=[DataRequired(_l("请先选择一道前面的题目。"))])
    mode = RadioField(
        _l("条件"),
        choices=choices([("any_of", _l("选了下面任意一项时显示")), ("none_of", _l("答了但没选下面任何一项时显示"))]),
        default="any_of",
    )
    values = SelectMultipleField(
        _l("选项"),
        choices=[],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[DataRequired(_l("请至少选择一个选项。"))],
    )

    def set_source(self, source: dict) -> None:
        self.question.data = source["key"]
        self.values.choices = choices((o["key"], o["text"]) for o in source["options"])
