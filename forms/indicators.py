"""Forms of the indicator-table editor, built from the scoring-rule registry (``analysis.scoring.RULES``).

Each rule declares its parameters and inputs as plain metadata (``Param``); ``rule_forms`` turns one rule's
declarations into two WTForms classes (parameters, inputs) with translated labels, units and help, built
fresh per call so no rule's fields leak into another's. A new rule therefore needs only its registry entry
for the editor to support it. Values are parsed here (numbers as typed, blank rows dropped) and checked
against the declarations by the rule itself (``Rule.check``, ``check_param``), whose messages name the
field in words.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, Form, FormField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, StopValidation

from analysis.scoring import N_, RULES, Param, Rule, RuleError, Wording, check_param

NOT_A_NUMBER = _l("请填写数字。")
BLANK = SelectChoice("", "—")


def json_number(text: str) -> int | float:
    """A number typed by the evaluator (thousands separators and a full-width comma allowed), as a JSON number."""
    try:
        value = Decimal(text.strip().replace("，", "").replace(",", ""))
    except InvalidOperation:
        raise ValueError(text) from None
    if not value.is_finite():
        raise ValueError(text)
    return int(value) if value == value.to_integral_value() else float(str(value))


class NumberField(StringField):
    """A number as typed: ``data`` is an int or float (JSON-ready) or None when blank; the text is shown back."""

    def process_formdata(self, valuelist):
        self.raw = valuelist[0] if valuelist else ""
        self.data = None
        if self.raw.strip():
            try:
                self.data = json_number(self.raw)
            except ValueError:
                raise ValueError(NOT_A_NUMBER) from None

    def _value(self) -> str:
        if getattr(self, "raw", None) is not None:
            return self.raw
        return "" if self.data is None else str(self.data)


class QuietSelectField(SelectField):
    """A select whose value is checked by the caller in words (WTForms' own check answers in English)."""

    def pre_validate(self, form) -> None:
        """No built-in choice check: ``check_param`` or ``link_problems`` says what is wrong with a choice."""


class QuietRadioField(RadioField):
    """Radio buttons read by the caller (anything but the listed values means the first)."""

    def pre_validate(self, form) -> None:
        """No built-in choice check."""


def _field(param: Param):
    """One declared parameter as an unbound WTForms field (labels and help translated lazily)."""
    description = _l(param.help) if param.help else ""
    if param.kind == "number":
        return NumberField(_l(param.label), description=description, render_kw={"inputmode": "decimal"})
    if param.kind == "choice":
        choices = [SelectChoice(value, _l(label)) for value, label in param.choices]
        return QuietSelectField(_l(param.label), choices=choices, description=description)
    if param.kind == "rows":
        row_class = type(f"{param.name.title()}Row", (Form,), {c.name: _field(c) for c in param.columns})
        return FieldList(FormField(row_class), _l(param.label), min_entries=1)
    return StringField(_l(param.label), description=description, validators=[Length(max=200)])


@dataclass(frozen=True)
class RuleForms:
    """The two form classes of one rule: its parameters and its inputs, with the declarations they came from."""

    rule: Rule
    params: type[Form]
    inputs: type[Form]


def rule_forms(rule: Rule) -> RuleForms:
    """Form classes for ``rule``, built from its declarations (fresh classes on every call)."""
    params = type(f"{rule.name}Params", (Form,), {p.name: _field(p) for p in rule.params})
    inputs = type(f"{rule.name}Inputs", (Form,), {p.name: _field(p) for p in rule.inputs})
    return RuleForms(rule, params, inputs)


def params_prefix(rule: Rule) -> str:
    return f"p-{rule.name}-"


def inputs_prefix(rule: Rule) -> str:
    return f"i-{rule.name}-"


# ---------------------------------------------------------------- stored values <-> form data


def form_data(specs: tuple[Param, ...], values: dict, *, defaults: bool) -> dict:
    """What a form shows for stored ``values`` (a rule's params or a leaf's input); defaults when asked."""
    data = {}
    for param in specs:
        value = values.get(param.name)
        if param.kind == "rows" and param.parallel:
            value = _parallel_rows(param, values)
        if value is None and defaults:
            value = param.default
        if param.kind == "rows":
            rows = [row for row in value or [] if isinstance(row, dict)]
            value = [*rows, {}]  # one blank row to fill in
        data[param.name] = value
    return data


def _parallel_rows(param: Param, values: dict) -> list[dict] | None:
    """Rows from parallel lists (``{"items": [...], "values": [...]}``), as tier inputs are stored."""
    lists = {c.name: values.get(c.name) for c in param.columns}
    if not any(isinstance(v, list) and v for v in lists.values()):
        return None
    length = max(len(v) for v in lists.values() if isinstance(v, list))
    return [
        {name: (v[i] if isinstance(v, list) and i < len(v) else None) for name, v in lists.items()}
        for i in range(length)
    ]


def read_values(specs: tuple[Param, ...], form: Form) -> dict:
    """The values of a submitted form as stored JSON: blanks left out, blank rows dropped."""
    values: dict[str, Any] = {}
    for param in specs:
        field = form[param.name]
        if param.kind == "rows":
            rows = [_row(param, entry.form) for entry in field.entries]
            rows = [row for row in rows if row]
            if not rows:
                continue
            if param.parallel:
                for column in param.columns:
                    values[column.name] = [row.get(column.name) for row in rows]
                if all(v in (None, "") for v in values.get("items", [None])):
                    values.pop("items", None)
            else:
                values[param.name] = rows
            continue
        value = field.data.strip() if isinstance(field.data, str) else field.data
        if value is not None and (value != "" or (param.kind == "text" and param.default)):
            values[param.name] = value  # a text cleared on purpose (no unit) is kept, not its default
    return values


def _row(param: Param, form: Form) -> dict:
    row = {}
    for column in param.columns:
        value = form[column.name].data
        value = value.strip() if isinstance(value, str) else value
        if value is not None and value != "":
            row[column.name] = value
    if row and not param.parallel:
        for column in param.columns:
            row.setdefault(column.name, None)  # a tier without 达到 is the catch-all: {"min": null}
    return row


def field_errors(form: Form) -> list[tuple[str, str]]:
    """Every parse error of a form as ``(field label, message)``, rows named by their number."""
    found = []
    for field in form:
        if isinstance(field, FieldList):
            for number, entry in enumerate(field.entries, start=1):
                for label, message in field_errors(entry.form):
                    found.append((f"{field.label.text} {number}·{label}", message))
        else:
            found.extend((str(field.label.text), str(message)) for message in field.errors)
    return found


def check_inputs(rule: Rule, entry: dict) -> list[RuleError]:
    """Each entered input against its declaration (e.g. months not negative); blanks are allowed."""
    problems = []
    for param in rule.inputs:
        if param.kind == "rows" and param.parallel:
            rows = _parallel_rows(param, entry) or []
            value = rows or None
        else:
            value = entry.get(param.name)
        try:
            check_param(param, value)
        except RuleError as error:
            problems.append(error)
    return problems


def rule_error_wording(error: RuleError) -> Wording:
    return Wording(error.message, error.values)


# ---------------------------------------------------------------- the node form


class NodeForm(FlaskForm):
    """Name and points of any node; for a leaf also its rule, 评分标准, and where its value comes from."""

    name = StringField(_l("指标名称"), validators=[DataRequired(_l("请填写指标名称。")), Length(max=200)])
    points = NumberField(_l("分值"), render_kw={"inputmode": "decimal"})
    adjust_parents = BooleanField(_l("同时调整上级指标的分值"))
    rule_type = QuietSelectField(_l("评分规则"), choices=[])
    standard = TextAreaField(
        _l("评分标准（自定文字，可不填）"),
        description=_l("填写后附件1打印这段文字；不填则打印按评分规则生成的文字。"),
        validators=[Length(max=2000)],
    )
    mode = QuietRadioField(
        _l("取值方式"),
        choices=[SelectChoice("entered", _l("评价组填写")), SelectChoice("link", _l("关联问卷调查结果"))],
        default="entered",
    )
    source = StringField(_l("依据文件"), validators=[Length(max=500)])
    justification = TextAreaField(
        _l("理由（扣分原因）"),
        description=_l("酌情打分时必须填写；有扣分时显示在扣分情况和附件1中。"),
        validators=[Length(max=2000)],
    )
    questionnaire = QuietSelectField(_l("问卷"), choices=[])
    figure = QuietSelectField(_l("调查指标"), choices=[])
    question = QuietSelectField(_l("题目"), choices=[])
    dimension = QuietSelectField(_l("维度"), choices=[])
    channel = QuietSelectField(_l("渠道"), choices=[])
    weighted = BooleanField(_l("取加权值（按问卷的加权方案加权到人口）"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.rule_type.choices = [SelectChoice(name, _l(rule.label)) for name, rule in RULES.items()]

    def validate_points(self, field) -> None:
        """分值 is required and not negative."""
        if field.data is None and not field.errors:
            raise StopValidation(_l("请填写分值。"))
        if field.data is not None and field.data < 0:
            raise StopValidation(_l("分值不能为负。"))


# ---------------------------------------------------------------- the edit page


@dataclass
class Problem:
    """A refused value: the field's label in words (or "" when the message names it) and the message."""

    where: str
    message: Wording | str


class NodeEditor:
    """The forms of one node's edit page: the node form, each rule's parameter and input forms, the link.

    Every rule's fields are on the page (so a script can switch between them without a reload); only
    the selected rule's are read when saving. Without a script, the evaluator picks a rule and presses
    “按所选规则填写”, which shows the page again with that rule's fields (``choosing``).
    """

    def __init__(self, project, node: dict, formdata=None):
        from survey.indicators.links import link_of

        self.project, self.node, self.posted = project, node, formdata is not None
        self.is_leaf = not node.get("children")
        rule = node.get("rule") if isinstance(node.get("rule"), dict) else {}
        entry = node.get("input") if isinstance(node.get("input"), dict) else {}
        self.stored_rule = rule.get("type") if rule.get("type") in RULES else "judgement"
        self.link = link_of(node) or {}
        self.form = NodeForm(formdata=formdata) if self.posted else NodeForm(data=self._node_data(entry))
        self.selected = self.form.rule_type.data if self.form.rule_type.data in RULES else self.stored_rule
        self.forms: dict[str, tuple[Form, Form]] = {}
        for name, each in RULES.items():
            classes = rule_forms(each)
            mine = name == self.stored_rule
            params = form_data(each.params, (rule.get("params") or {}) if mine else {}, defaults=True)
            inputs = form_data(each.inputs, entry if mine else {}, defaults=False)
            self.forms[name] = (
                classes.params(formdata, data=params, prefix=params_prefix(each)),
                classes.inputs(formdata, data=inputs, prefix=inputs_prefix(each)),
            )
        self._link_choices()

    def _node_data(self, entry: dict) -> dict:
        node = self.node
        return {
            "name": node.get("name"),
            "points": node.get("points"),
            "adjust_parents": True,
            "rule_type": self.stored_rule,
            "standard": node.get("standard") if isinstance(node.get("standard"), str) else "",
            "mode": "link" if self.link else "entered",
            "source": entry.get("source") or "",
            "justification": entry.get("justification") or entry.get("reason") or "",
            "questionnaire": str(self.link.get("questionnaire") or ""),
            "figure": self.link.get("figure") or "overall_rate",
            "question": self.link.get("question") or "",
            "dimension": self.link.get("dimension") or "",
            "channel": self.link.get("channel") or "",
            "weighted": bool(self.link.get("weighted")),
        }

    def _link_choices(self) -> None:
        """Dropdowns from the database: the project's questionnaires, then the chosen one's questions,
        dimensions and channels; every questionnaire's choices also go to the page's script."""
        from flask_babel import gettext

        from survey.indicators.links import FIGURES, link_choices

        questionnaires = sorted(self.project.questionnaires, key=lambda q: q.id)
        form = self.form
        form.questionnaire.choices = [BLANK] + [SelectChoice(str(q.id), q.title) for q in questionnaires]
        form.figure.choices = [SelectChoice(name, _l(label)) for name, label in FIGURES.items()]
        self.choices = {str(q.id): link_choices(q) for q in questionnaires}
        chosen = form.questionnaire.data if form.questionnaire.data in self.choices else None
        if chosen is None and questionnaires and not form.questionnaire.data:
            chosen = form.questionnaire.data = str(questionnaires[0].id)  # a first link: offer the first
        self.chosen = chosen
        current = self.choices.get(chosen)
        questions = current.questions if current else []
        self.number_format = gettext("第 %(number)s 题 %(text)s", number="{number}", text="{text}")
        form.question.choices = [BLANK] + [
            SelectChoice(q.key, gettext("第 %(number)s 题 %(text)s", number=q.number, text=q.text)) for q in questions
        ]
        form.dimension.choices = [BLANK] + [SelectChoice(d, d) for d in (current.dimensions if current else [])]
        channels = current.channels if current else []
        form.channel.choices = [SelectChoice("", gettext("全部渠道"))] + [SelectChoice(c, n) for c, n in channels]

    def script_data(self) -> dict:
        """Every questionnaire's questions, dimensions and channels, for static/js/indicator-editor.js."""
        return {qid: choices.as_json() for qid, choices in self.choices.items()}

    # ------------------------------------------------------------ reading a submission

    def apply(self, node: dict, ancestors: list[dict], adjust) -> list[Problem]:
        """Apply the submission to ``node`` (a copy of the table's); what cannot be used is returned."""
        form = self.form
        form.validate()  # CSRF is checked before any view runs (CSRFProtect)
        problems = [Problem(label, message) for label, message in field_errors(form)]
        if form.points.data is None or problems:
            return problems
        node["name"] = form.name.data.strip()
        if form.adjust_parents.data:
            adjust(ancestors, Decimal(str(form.points.data)) - Decimal(str(node.get("points", 0))))
        node["points"] = form.points.data
        if not self.is_leaf:
            return problems
        return self._apply_leaf(node)

    def _apply_leaf(self, node: dict) -> list[Problem]:
        rule = RULES[self.selected]
        params_form, inputs_form = self.forms[self.selected]
        params_form.validate()
        inputs_form.validate()
        problems = [Problem(label, message) for label, message in field_errors(params_form)]
        problems += [Problem(label, message) for label, message in field_errors(inputs_form)]
        if problems:
            return problems
        params = read_values(rule.params, params_form)
        try:
            rule.check(params)
        except RuleError as error:
            return [self._beside(params_form, error)]
        node["rule"] = {"type": rule.name, "params": params} if params else {"type": rule.name}
        standard = (self.form.standard.data or "").strip()
        if standard:
            node["standard"] = standard
        else:
            node.pop("standard", None)
        extra = {}
        for name in ("source", "justification"):
            text = (self.form[name].data or "").strip()
            if text:
                extra[name] = text
        if self.form.mode.data == "link":
            return self._apply_link(node, extra)
        entry = {**read_values(rule.inputs, inputs_form), **extra}
        problems = [self._beside(inputs_form, error) for error in check_inputs(rule, entry)]
        if not problems and any(p.name in entry or p.columns and entry.get(p.columns[-1].name) for p in rule.inputs):
            try:
                rule.score(params, Decimal(str(node["points"])), entry)
            except RuleError as error:
                problems.append(self._beside(inputs_form, error))
        node["input"] = entry
        return problems

    def _apply_link(self, node: dict, extra: dict) -> list[Problem]:
        from survey.indicators.links import clean_link, link_problems

        form = self.form
        link = {
            "questionnaire": int(form.questionnaire.data) if str(form.questionnaire.data or "").isdigit() else None,
            "figure": form.figure.data,
            "question": form.question.data or None,
            "dimension": form.dimension.data or None,
            "channel": form.channel.data or None,
            "weighted": bool(form.weighted.data),
        }
        problems = []
        rule = RULES[self.selected]
        if not any(p.name == "value" and p.kind == "number" for p in rule.inputs):
            wording = Wording(N_("“%(rule)s”不按一个实际值计分，不能取调查结果；请改为评价组填写，或换一个评分规则。"),
                              {"rule": Wording(rule.label, {})})  # fmt: skip
            form.mode.errors = [*form.mode.errors, wording]
            problems.append(Problem("", wording))
        for name, wording in link_problems(self.project, link):
            field = form[name]
            field.errors = [*field.errors, wording]
            problems.append(Problem(str(field.label.text), wording))
        node["input"] = {"link": clean_link(link), **extra}
        return problems

    def _beside(self, form: Form, error: RuleError) -> Problem:
        """A rule's refusal, also shown beside the field it names (the message names it in words)."""
        wording = rule_error_wording(error)
        if error.param and error.param in form:
            field = form[error.param]
            field.errors = [*field.errors, wording]
        elif error.param in ("justification", "source"):
            field = self.form[error.param]
            field.errors = [*field.errors, wording]
        return Problem("", wording)

    def add_row(self, which: str) -> None:
        """One blank row more in a rule's repeatable rows (``"<rule>:<param>"``), for pages without script."""
        rule_name, _sep, param_name = which.partition(":")
        if rule_name not in self.forms:
            return
        for form in self.forms[rule_name]:
            if param_name in form and isinstance(form[param_name], FieldList):
                form[param_name].append_entry()
        self.selected = rule_name
