"""Scoring rules: one registry entry per rule (评分标准), each turning an input into points.

Every rule declares its parameters and inputs as plain metadata (``Param``: name, Chinese label, kind,
range, default, unit), checks its parameters against them, scores an input, and states itself in plain
words. The desk builds its editor from the declarations (``forms/indicators.py``), so a new rule needs
only its entry here. Scores are exact ``Decimal`` arithmetic, rounded once at the leaf (half up, to the
table's decimals), never in between. The words are msgids marked with ``N_`` (extracted by Babel,
translated by the caller), with their values in a dict, so this module stays free of Flask.

Units: rates and values are in the units the table uses (percent as 0–100, e.g. 91.4).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, ClassVar


def N_(message: str) -> str:  # noqa: N802 - gettext_noop: marks a msgid for extraction
    """Mark a message for translation without translating it here."""
    return message


@dataclass(frozen=True)
class Wording:
    """A sentence to translate: msgid and values (values may be wordings or lists of wordings)."""

    message: str
    values: dict[str, Any]


class RuleError(ValueError):
    """A rule's parameters or input are unusable; ``message`` is a msgid, ``values`` its values.

    ``param`` names the parameter (or input) at fault, when there is one, so an editor can put the
    message beside its field.
    """

    def __init__(self, message: str, param: str | None = None, **values: Any):
        super().__init__(render(Wording(message, values)))
        self.message, self.values, self.param = message, values, param


def render(wording: Wording | str, translate: Callable[[str], str] = N_, separator: str = "；") -> str:
    """A wording as text: each msgid through ``translate`` (Chinese as is by default), nested values too."""
    if isinstance(wording, str):
        return wording
    values = {}
    for name, value in wording.values.items():
        if isinstance(value, Wording):
            value = render(value, translate, separator)
        elif isinstance(value, list):
            value = translate(separator).join(render(part, translate, separator) for part in value)
        values[name] = value
    message = translate(wording.message)
    return message % values if values else message


def D(value: Any) -> Decimal:  # noqa: N802 - short name for exact decimals from JSON numbers
    """An exact decimal from a JSON number (via its text, so 91.4 stays 91.4)."""
    if isinstance(value, bool) or value is None:
        raise RuleError(N_("需要一个数字。"))
    try:
        result = Decimal(str(value))
    except ArithmeticError:
        raise RuleError(N_("“%(value)s”不是数字。"), value=value) from None
    if not result.is_finite():
        raise RuleError(N_("“%(value)s”不是数字。"), value=value)
    return result


def clamp(score: Decimal, points: Decimal) -> Decimal:
    """A score within [0, points]."""
    return max(Decimal(0), min(points, score))


# ---------------------------------------------------------------- parameter declarations


@dataclass(frozen=True)
class Param:
    """One parameter or input of a rule, as plain metadata (the editor turns it into a translated field).

    ``kind``: ``number``, ``choice`` (one of ``choices``: ``(value, label msgid)``), ``text``, or
    ``rows`` (repeatable rows of ``columns``, stored as a list of objects under ``name``; with
    ``parallel`` each column is stored as its own list under the column's name, as tier inputs are).
    ``minimum``/``maximum`` bound a number (``above`` makes the minimum strict); ``unit`` is shown
    after the field; ``default`` is what the rule assumes when the parameter is left out.
    """

    name: str
    label: str
    kind: str = "number"
    default: Any = None
    required: bool = True
    minimum: int | float | None = None
    maximum: int | float | None = None
    above: bool = False
    unit: str = ""
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    columns: tuple[Param, ...] = ()
    parallel: bool = False
    min_rows: int = 0

    def wording(self) -> Wording:
        """The label as a wording, to name this field inside a message."""
        return Wording(self.label, {})


UNIT = Param(
    "unit",
    N_("实际值的单位"),
    kind="text",
    default="%",
    required=False,
    help=N_("“%”表示百分比（扣分档按“个百分点”表述）；也可填“个”“天”等，或留空。"),
)


def check_param(param: Param, value: Any) -> None:
    """Raise ``RuleError`` (naming the parameter) if ``value`` does not fit its declaration."""
    if value is None or value == "":
        if param.required and param.default is None:
            raise RuleError(N_("请填写“%(label)s”。"), param.name, label=param.wording())
        return
    if param.kind == "number":
        _check_number(param, value)
    elif param.kind == "choice" and value not in {choice for choice, _label in param.choices}:
        raise RuleError(N_("“%(label)s”只能选列出的选项。"), param.name, label=param.wording())
    elif param.kind == "text" and not isinstance(value, str):
        raise RuleError(N_("“%(label)s”须是文字。"), param.name, label=param.wording())
    elif param.kind == "rows":
        _check_rows(param, value)


def _check_number(param: Param, value: Any) -> None:
    try:
        number = D(value)
    except RuleError:
        raise RuleError(N_("“%(label)s”须是数字。"), param.name, label=param.wording()) from None
    if param.minimum is not None and (number <= D(param.minimum) if param.above else number < D(param.minimum)):
        message = N_("“%(label)s”必须大于 %(min)s。") if param.above else N_("“%(label)s”不能小于 %(min)s。")
        raise RuleError(message, param.name, label=param.wording(), min=param.minimum)
    if param.maximum is not None and number > D(param.maximum):
        raise RuleError(N_("“%(label)s”不能大于 %(max)s。"), param.name, label=param.wording(), max=param.maximum)


def _check_rows(param: Param, rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise RuleError(N_("“%(label)s”须是若干行。"), param.name, label=param.wording())
    if len(rows) < param.min_rows:
        raise RuleError(N_("“%(label)s”至少要有 %(n)s 行。"), param.name, label=param.wording(), n=param.min_rows)
    for number, row in enumerate(rows, start=1):
        for column in param.columns:
            try:
                check_param(column, row.get(column.name))
            except RuleError as error:
                raise RuleError(
                    N_("“%(label)s”第 %(row)s 行：%(problem)s"),
                    param.name,
                    label=param.wording(),
                    row=number,
                    problem=Wording(error.message, error.values),
                ) from None


# ---------------------------------------------------------------- rules


class Rule:
    """Base of all rules: ``params`` and ``inputs`` declare what the editor asks for.

    Every input may also carry ``source`` and ``justification`` (the reason for a deduction, required by
    ``judgement``): the editor offers those two for every rule, so rules do not declare them.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    input_kind: ClassVar[str] = "value"  # value / values / count / months / score
    params: ClassVar[tuple[Param, ...]] = ()
    inputs: ClassVar[tuple[Param, ...]] = (
        Param("value", N_("实际值"), required=False, help=N_("百分比填 0–100 的数，例如 91.4。")),
    )

    def check(self, params: dict) -> None:
        """Raise ``RuleError`` if the parameters cannot be used: each declaration, then ``check_more``."""
        for param in self.params:
            check_param(param, params.get(param.name))
        self.check_more(params)

    def check_more(self, params: dict) -> None:
        """Checks across parameters (e.g. a high above a low); none by default."""

    def param(self, params: dict, name: str) -> Any:
        """A parameter's value, or its declared default when left out (an explicit "" unit means none)."""
        value = params.get(name)
        declared = next((p for p in self.params if p.name == name), None)
        if value is None or (value == "" and (declared is None or declared.kind != "text")):
            return declared.default if declared else None
        return value

    def score(self, params: dict, points: Decimal, entry: dict) -> Decimal:
        """Points earned for ``entry`` (the leaf's input), before rounding."""
        raise NotImplementedError

    def describe(self, params: dict, points: Decimal) -> Wording:
        """The rule as a sentence a reader of the report understands."""
        raise NotImplementedError

    @staticmethod
    def _value(entry: dict) -> Decimal:
        if "value" not in entry:
            raise RuleError(N_("请填写实际值。"), "value")
        return D(entry["value"])

    def _unit(self, params: dict) -> str:
        return str(self.param(params, "unit") or "")

    def _step(self, params: dict, amount: Any) -> Wording | str:
        """A difference in the value's unit: “5 个百分点” for percentages, else the number and unit.

        The messages put no space before what follows (“每低 %(step)s扣”), as Chinese does after a unit.
        """
        unit = self._unit(params)
        if unit == "%":
            return Wording(N_("%(n)s 个百分点"), {"n": amount})
        return f"{amount} {unit}" if unit else f"{amount} "


class Proportional(Rule):
    """按比例: min(actual / target, 1) × points (seed 002: 91.4% × 5 = 4.57)."""

    name, label = "proportional", N_("按完成比例计分")
    params = (Param("target", N_("目标值"), default=100, minimum=0, above=True), UNIT)

    def score(self, params: dict, points: Decimal, entry: dict) -> Decimal:
        target = D(self.param(params, "target"))
        return clamp(min(self._value(entry) / target, Decimal(1)) * points, points)

    def describe(self, params: dict, points: Decimal) -> Wording:
        return Wording(
            N_("得分 = 实际值 ÷ 目标值（%(target)s%(unit)s）× %(points)s 分；达到目标值得满分 %(points)s 分。"),
            {"target": self.param(params, "target"), "unit": self._unit(params), "points": points},
        )


class ThresholdStep(Rule):
    """达标满分，每低一档扣分: full at ≥ T; each S below deducts D; floor 0 (seed 004: 93/5/2)."""

    name, label = "threshold_step", N_("达标满分、逐档扣分")
    PARTIAL = ("ceil", "floor", "linear")
    params = (
        Param("threshold", N_("满分线"), help=N_("实际值达到此数即得满分。")),
        Param("step", N_("每档跨度"), minimum=0, above=True),
        Param("deduct", N_("每档扣分"), minimum=0, unit=N_("分")),
        Param(
            "partial",
            N_("不足一档时"),
            kind="choice",
            default="ceil",
            choices=(("ceil", N_("按一档扣")), ("floor", N_("不扣")), ("linear", N_("按比例扣"))),
        ),
        UNIT,
    )

    def score(self, params: dict, points: Decimal, entry: dict) -> Decimal:
        shortfall = D(params["threshold"]) - self._value(entry)
        if shortfall <= 0:
            return points
        steps = shortfall / D(params["step"])
        partial = self.param(params, "partial")
        if partial != "linear":
            steps = steps.to_integral_value(ROUND_CEILING if partial == "ceil" else ROUND_FLOOR)
        return clamp(points - steps * D(params["deduct"]), points)

    def describe(self, params: dict, points: Decimal) -> Wording:
        partial = {
            "ceil": Wording(N_("不足一档按一档扣"), {}),
            "floor": Wording(N_("不足一档不扣"), {}),
            "linear": Wording(N_("不足一档按比例扣"), {}),
        }
        return Wording(
            N_(
                "实际值达到 %(threshold)s%(unit)s 及以上得满分 %(points)s 分；每低 %(step)s扣 %(deduct)s 分"
                "（%(partial)s），扣完为止。"
            ),  # fmt: skip
            {
                "threshold": params["threshold"],
                "unit": self._unit(params),
                "points": points,
                "step": self._step(params, params["step"]),
                "deduct": params["deduct"],
                "partial": partial[self.param(params, "partial")],
            },
        )


class PerPoint(Rule):
    """每低一个百分点扣分: deduct D for each point below T, pro rata; floor 0."""

    name, label = "per_point", N_("每低一个百分点扣分")
    params = (
        Param("threshold", N_("满分线"), help=N_("实际值达到此数即得满分。")),
        Param("deduct", N_("每低 1 扣分"), minimum=0, unit=N_("分")),
        UNIT,
    )

    def score(self, params: dict, points: Decimal, entry: dict) -> Decimal:
        shortfall = max(Decimal(0), D(params["threshold"]) - self._value(entry))
        return clamp(points - shortfall * D(params["deduct"]), points)

    def describe(self, params: dict, points: Decimal) -> Wording:
        return Wording(
            N_(
                "实际值达到 %(threshold)s%(unit)s 及以上得满分 %(points)s 分；每低 %(step)s扣 %(deduct)s 分，"
                "不足 1 按比例扣，扣完为止。"
            ),  # fmt: skip
            {
                "threshold": params["threshold"],
                "unit": self._unit(params),
                "points": points,
                "step": self._step(params, 1),
                "deduct": params["deduct"],
            },
        )


class Tiers(Rule):
    """分档计分: each sub-item earns the first tier it reaches; sub-items summed, capped at points."""

    name, label, input_kind = "tiers", N_("分档计分"), "values"
    params = (
        Param(
            "tiers",
            N_("档次"),
            kind="rows",
            min_rows=1,
            help=N_("从高到低填写；“达到”留空的一行表示其余情况。"),
            columns=(
                Param("min", N_("达到"), required=False),
                Param("points", N_("得分"), minimum=0, unit=N_("分")),
            ),
        ),
        UNIT,
    )
    inputs = (
        Param(
            "values",
            N_("各分项"),
            kind="rows",
            required=False,
            parallel=True,
            columns=(
                Param("items", N_("分项名称"), kind="text", required=False),
                Param("values", N_("实际值")),
            ),
        ),
    )

    def score(self, params: dict, points: Decimal, entry: dict) -> Decimal:
        values = entry.get("values")
        if not isinstance(values, list) or not values:
            raise RuleError(N_("请填写各分项的实际值。"), "values")
        return clamp(sum((self._tier(params["tiers"], D(v)) for v in values), Decimal(0)), points)

    @staticmethod
    def _tier(tiers: list[dict], value: Decimal) -> Decimal:
        for tier in tiers:
            if tier.get("min") is None or value >= D(tier["min"]):
                return D(tier["points"])
        return Decimal(0)

    def describe(self, params: dict, points: Decimal) -> Wording:
        unit = self._unit(params)
        parts = [
            Wording(N_("达到 %(min)s%(unit)s 得 %(points)s 分"), {"min": t["min"], "unit": unit, "points": t["points"]})
            if t.get("min") is not None
            else Wording(N_("其余得 %(points)s 分"), {"points": t["points"]})
            for t in params["tiers"]
        ]
        return Wording(
            N_("各分项分档计分（%(tiers)s），合计不超过 %(points)s 分。"), {"tiers": parts, "points": points}
        )


class Count(Rule):
    """按数量加分: +k per unit, capped at points (seed 004: 视频平台整合)."""

    name, label, input_kind = "count", N_("按数量计分"), "count"
    params = (Param("per_unit", N_("每个得分"), default=1, minimum=0, above=True, unit=N_("分")),)
    inputs = (Param("count", N_("数量"), required=False, minimum=0, unit=N_("个")),)

    def score(self, params: dict, points: Decimal, entry: dict) -> Decimal:
        if "count" not in entry:
            raise RuleError(N_("请填写数量。"), "count")
        return clamp(D(entry["count"]) * D(self.param(params, "per_unit")), points)

    def describe(self, params: dict, points: Decimal) -> Wording:
        return Wording(
            N_("每个得 %(per_unit)s 分，最高 %(points)s 分。"),
            {"per_unit": self.param(params, "per_unit"), "points": points},
        )


class Lateness(Rule):
    """时效: on time full; up to each step's months late deducts that step's points; beyond the last, 0."""

    name, label, input_kind = "lateness", N_("按延迟月数扣分"), "months"
    DEFAULT_STEPS = ({"max_months": 0, "deduct": 0}, {"max_months": 3, "deduct": 1}, {"max_months": 6, "deduct": 2})
    params = (
        Param(
            "steps",
            N_("延迟档次"),
            kind="rows",
            required=False,
            default=[dict(step) for step in DEFAULT_STEPS],
            help=N_("从短到长填写；超过最后一档不得分。"),
            columns=(
                Param("max_months", N_("延迟不超过"), minimum=0, unit=N_("个月")),
                Param("deduct", N_("扣分"), minimum=0, unit=N_("分")),
            ),
        ),
    )
    inputs = (
        Param("months", N_("延迟月数"), required=False, minimum=0, unit=N_("个月"), help=N_("按时或提前完成填 0。")),
    )

    def score(self, params: dict, points: Decimal, entry: dict) -> Decimal:
        if "months" not in entry:
            raise RuleError(N_("请填写延迟的月数（按时完成填 0）。"), "months")
        months = D(entry["months"])
        for step in params.get("steps") or self.DEFAULT_STEPS:
            if months <= D(step["max_months"]):
                return clamp(points - D(step["deduct"]), points)
        return Decimal(0)

    def describe(self, params: dict, points: Decimal) -> Wording:
        steps = params.get("steps") or self.DEFAULT_STEPS
        parts = [
            Wording(
                N_("延迟不超过 %(months)s 个月扣 %(deduct)s 分"), {"months": s["max_months"], "deduct": s["deduct"]}
            )
            for s in steps
            if D(s["max_months"]) > 0 or D(s["deduct"]) > 0
        ]
        if not parts:
            return Wording(N_("按时完成得 %(points)s 分；超过 %(last)s 个月不得分。"),
                           {"points": points, "last": steps[-1]["max_months"]})  # fmt: skip
        return Wording(
            N_("按时完成得 %(points)s 分；%(steps)s；超过 %(last)s 个月不得分。"),
            {"points": points, "steps": parts, "last": steps[-1]["max_months"]},
        )


class Linear(Rule):
    """线性: 0 at or below ``low``, full at or above ``high``, straight line between."""

    name, label = "linear", N_("线性插值计分")
    params = (Param("low", N_("零分值")), Param("high", N_("满分值")), UNIT)

    def check_more(self, params: dict) -> None:
        if D(params.get("high")) <= D(params.get("low")):
            raise RuleError(N_("满分值必须大于零分值。"), "high")

    def score(self, params: dict, points: Decimal, entry: dict) -> Decimal:
        low, high = D(params["low"]), D(params["high"])
        return clamp((self._value(entry) - low) / (high - low) * points, points)

    def describe(self, params: dict, points: Decimal) -> Wording:
        return Wording(
            N_("实际值不高于 %(low)s%(unit)s 得 0 分，达到 %(high)s%(unit)s 得满分 %(points)s 分，其间按比例计分。"),
            {"low": params["low"], "high": params["high"], "unit": self._unit(params), "points": points},
        )


class Judgement(Rule):
    """评价组酌情打分: a score within the points, with a written justification."""

    name, label, input_kind = "judgement", N_("评价组酌情打分"), "score"
    inputs = (
        Param("score", N_("得分"), required=False, minimum=0, unit=N_("分"), help=N_("同时在“理由”中写明依据。")),
    )

    def score(self, params: dict, points: Decimal, entry: dict) -> Decimal:
        if "score" not in entry:
            raise RuleError(N_("请填写得分。"), "score")
        if not str(entry.get("justification") or "").strip():
            raise RuleError(N_("酌情打分必须写明理由。"), "justification")
        score = D(entry["score"])
        if not Decimal(0) <= score <= points:
            raise RuleError(N_("得分应在 0 到 %(points)s 之间。"), "score", points=points)
        return score

    def describe(self, params: dict, points: Decimal) -> Wording:
        return Wording(N_("评价组根据核查情况在 0 到 %(points)s 分之间酌情打分，并写明理由。"), {"points": points})


RULES: dict[str, Rule] = {
    r.name: r
    for r in (Proportional(), ThresholdStep(), PerPoint(), Tiers(), Count(), Lateness(), Linear(), Judgement())
}


def get_rule(name: str) -> Rule:
    """Look a rule up by name; an unknown name raises ``KeyError`` naming it."""
    try:
        return RULES[name]
    except KeyError:
        raise KeyError(f"unknown scoring rule: {name!r}") from None


def round_score(score: Decimal, decimals: int) -> Decimal:
    """The leaf's score rounded once, half up (四舍五入), to the table's decimals."""
    return score.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def is_number(value: Any) -> bool:
    """A JSON number usable as a value."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
