"""Scoring rules: one registry entry per rule (评分标准), each turning an input into points.

Every rule checks its parameters, scores an input, and states itself in plain words. Scores are
exact ``Decimal`` arithmetic, rounded once at the leaf (half up, to the table's decimals), never in
between. The words are msgids marked with ``N_`` (extracted by Babel, translated by the caller),
with their values in a dict, so this module stays free of Flask.

Units: rates and values are in the units the table uses (percent as 0–100, e.g. 91.4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any, ClassVar


def N_(message: str) -> str:  # noqa: N802 - gettext_noop: marks a msgid for extraction
    """Mark a message for translation without translating it here."""
    return message


class RuleError(ValueError):
    """A rule's parameters or input are unusable; ``message`` is a msgid, ``values`` its values."""

    def __init__(self, message: str, **values: Any):
        super().__init__(message % values if values else message)
        self.message, self.values = message, values


@dataclass(frozen=True)
class Wording:
    """A sentence to translate: msgid and values (values may be wordings or lists of wordings)."""

    message: str
    values: dict[str, Any]


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


class Rule:
    """Base of all rules."""

    name: ClassVar[str]
    label: ClassVar[str]
    input_kind: ClassVar[str] = "value"  # value / values / count / months / score

    def check(self, params: dict) -> None:
        """Raise ``RuleError`` if the parameters cannot be used."""

    def score(self, params: dict, points: Decimal, entry: dict) -> Decimal:
        """Points earned for ``entry`` (the leaf's input), before rounding."""
        raise NotImplementedError

    def describe(self, params: dict, points: Decimal) -> Wording:
        """The rule as a sentence a reader of the report understands."""
        raise NotImplementedError

    @staticmethod
    def _value(entry: dict) -> Decimal:
        if "value" not in entry:
            raise RuleError(N_("请填写实际值。"))
        return D(entry["value"])


class Proportional(Rule):
    """按比例: min(actual / target, 1) × points (seed 002: 91.4% × 5 = 4.57)."""

    name, label = "proportional", N_("按完成比例计分")

    def check(self, params: dict) -> None:
        if D(params.get("target", 100)) <= 0:
            raise RuleError(N_("目标值必须大于 0。"))

    def score(self, params: dict, points: Decimal, entry: dict) -> Decimal:
        target = D(params.get("target", 100))
        return clamp(min(self._value(entry) / target, Decimal(1)) * points, points)

    def describe(self, params: dict, points: Decimal) -> Wording:
        return Wording(
            N_("得分 = 实际值 ÷ 目标值（%(target)s）× %(points)s 分，最高 %(points)s 分。"),
            {"target": params.get("target", 100), "points": points},
        )


class ThresholdStep(Rule):
    """达标满分，每低一档扣分: full at ≥ T; each S below deducts D; floor 0 (seed 004: 93/5/2)."""

    name, label = "threshold_step", N_("达标满分、逐档扣分")
    PARTIAL = ("ceil", "floor", "linear")

    def check(self, params: dict) -> None:
        if D(params.get("step", 0)) <= 0 or D(params.get("deduct", 0)) < 0:
            raise RuleError(N_("每档的跨度必须大于 0，扣分不能为负。"))
        D(params.get("threshold"))
        if params.get("partial", "ceil") not in self.PARTIAL:
            raise RuleError(N_("不足一档的处理只能是 ceil、floor 或 linear。"))

    def score(self, params: dict, points: Decimal, entry: dict) -> Decimal:
        shortfall = D(params["threshold"]) - self._value(entry)
        if shortfall <= 0:
            return points
        steps = shortfall / D(params["step"])
        partial = params.get("partial", "ceil")
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
            N_("达到 %(threshold)s 得满分 %(points)s 分；每低 %(step)s 扣 %(deduct)s 分（%(partial)s），扣完为止。"),
            {
                "threshold": params["threshold"],
                "points": points,
                "step": params["step"],
                "deduct": params["deduct"],
                "partial": partial[params.get("partial", "ceil")],
            },
        )


class PerPoint(Rule):
    """每低一个百分点扣分: deduct D for each point below T, pro rata; floor 0."""

    name, label = "per_point", N_("每低一个百分点扣分")

    def check(self, params: dict) -> None:
        D(params.get("threshold"))
        if D(params.get("deduct", 0)) < 0:
            raise RuleError(N_("扣分不能为负。"))

    def score(self, params: dict, points: Decimal, entry: dict) -> Decimal:
        shortfall = max(Decimal(0), D(params["threshold"]) - self._value(entry))
        return clamp(points - shortfall * D(params["deduct"]), points)

    def describe(self, params: dict, points: Decimal) -> Wording:
        return Wording(
            N_("达到 %(threshold)s 得满分 %(points)s 分；每低 1 个百分点扣 %(deduct)s 分，扣完为止。"),
            {"threshold": params["threshold"], "points": points, "deduct": params["deduct"]},
        )


class Tiers(Rule):
    """分档计分: each sub-item earns the first tier it reaches; sub-items summed, capped at points."""

    name, label, input_kind = "tiers", N_("分档计分"), "values"

    def check(self, params: dict) -> None:
        tiers = params.get("tiers")
        if not isinstance(tiers, list) or not tiers:
            raise RuleError(N_("请至少设置一个档次。"))
        for tier in tiers:
            if tier.get("min") is not None:
                D(tier["min"])
            D(tier.get("points"))

    def score(self, params: dict, points: Decimal, entry: dict) -> Decimal:
        values = entry.get("values")
        if not isinstance(values, list) or not values:
            raise RuleError(N_("请填写各分项的实际值。"))
        return clamp(sum((self._tier(params["tiers"], D(v)) for v in values), Decimal(0)), points)

    @staticmethod
    def _tier(tiers: list[dict], value: Decimal) -> Decimal:
        for tier in tiers:
            if tier.get("min") is None or value >= D(tier["min"]):
                return D(tier["points"])
        return Decimal(0)

    def describe(self, params: dict, points: Decimal) -> Wording:
        parts = [
            Wording(N_("达到 %(min)s 得 %(points)s 分"), {"min": t["min"], "points": t["points"]})
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

    def check(self, params: dict) -> None:
        if D(params.get("per_unit", 1)) <= 0:
            raise RuleError(N_("每个单位的分值必须大于 0。"))

    def score(self, params: dict, points: Decimal, entry: dict) -> Decimal:
        if "count" not in entry:
            raise RuleError(N_("请填写数量。"))
        return clamp(D(entry["count"]) * D(params.get("per_unit", 1)), points)

    def describe(self, params: dict, points: Decimal) -> Wording:
        return Wording(
            N_("每个得 %(per_unit)s 分，最高 %(points)s 分。"),
            {"per_unit": params.get("per_unit", 1), "points": points},
        )


class Lateness(Rule):
    """时效: on time full; up to each step's months late deducts that step's points; beyond the last, 0."""

    name, label, input_kind = "lateness", N_("按延迟月数扣分"), "months"
    DEFAULT_STEPS = ({"max_months": 0, "deduct": 0}, {"max_months": 3, "deduct": 1}, {"max_months": 6, "deduct": 2})

    def check(self, params: dict) -> None:
        for step in params.get("steps") or self.DEFAULT_STEPS:
            D(step.get("max_months"))
            D(step.get("deduct"))

    def score(self, params: dict, points: Decimal, entry: dict) -> Decimal:
        if "months" not in entry:
            raise RuleError(N_("请填写延迟的月数（按时完成填 0）。"))
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
        ]
        return Wording(
            N_("按时完成得 %(points)s 分；%(steps)s；超过 %(last)s 个月不得分。"),
            {"points": points, "steps": parts, "last": steps[-1]["max_months"]},
        )


class Linear(Rule):
    """线性: 0 at or below ``low``, full at or above ``high``, straight line between."""

    name, label = "linear", N_("线性插值计分")

    def check(self, params: dict) -> None:
        if D(params.get("high")) <= D(params.get("low")):
            raise RuleError(N_("满分值必须大于零分值。"))

    def score(self, params: dict, points: Decimal, entry: dict) -> Decimal:
        low, high = D(params["low"]), D(params["high"])
        return clamp((self._value(entry) - low) / (high - low) * points, points)

    def describe(self, params: dict, points: Decimal) -> Wording:
        return Wording(
            N_("实际值不高于 %(low)s 得 0 分，达到 %(high)s 得满分 %(points)s 分，其间按比例计分。"),
            {"low": params["low"], "high": params["high"], "points": points},
        )


class Judgement(Rule):
    """评价组酌情打分: a score within the points, with a written justification."""

    name, label, input_kind = "judgement", N_("评价组酌情打分"), "score"

    def score(self, params: dict, points: Decimal, entry: dict) -> Decimal:
        if "score" not in entry:
            raise RuleError(N_("请填写得分。"))
        if not str(entry.get("justification") or "").strip():
            raise RuleError(N_("酌情打分必须写明理由。"))
        score = D(entry["score"])
        if not Decimal(0) <= score <= points:
            raise RuleError(N_("得分应在 0 到 %(points)s 之间。"), points=points)
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
