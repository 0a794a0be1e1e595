"""Indicator tables (三级指标体系): validation, scores, subtotals, total, grade and the 扣分 list.

A table is a tree 一级 → 二级 → 三级 with points (分值) on every node; leaves carry a scoring rule
(``analysis.scoring``) and an input (entered, or a live survey figure the caller resolves into
``linked``). Each leaf is rounded once; parents are exact sums of their children. Format:
``docs/indicator-format.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from analysis.scoring import N_, RULES, D, Param, Rule, RuleError, Wording, get_rule, render, round_score

FORMAT = "indicator-table/1"
KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
DEFAULT_GRADES = [
    {"grade": "优", "min": 90},
    {"grade": "良", "min": 80},
    {"grade": "中", "min": 60},
    {"grade": "差", "min": 0},
]


@dataclass(frozen=True)
class TableProblem:
    """Something wrong with a table, by path; ``warning`` ones do not stop scoring."""

    path: str
    wording: Wording
    warning: bool = False


@dataclass(frozen=True)
class Deduction:
    """A leaf below full points, with why (the evaluator's words or the rule applied to the input)."""

    key: str
    name: str
    points: Decimal
    score: Decimal
    reason: str | Wording

    @property
    def lost(self) -> Decimal:
        return self.points - self.score


@dataclass
class TableScore:
    """Scores of every node, the total, the grade and the deductions."""

    total: Decimal
    grade: str | None
    scores: dict[str, Decimal | None] = field(default_factory=dict)
    errors: dict[str, Wording] = field(default_factory=dict)  # leaf key -> why it has no score
    deductions: list[Deduction] = field(default_factory=list)
    linked: dict[str, Decimal] = field(default_factory=dict)  # the survey figures linked leaves were scored on

    @property
    def complete(self) -> bool:
        """Every leaf has a score."""
        return not self.errors


def iter_nodes(nodes: list[dict], path: str = "indicators", level: int = 1):
    """Every node with its path and level (1 = 一级), depth first."""
    for index, node in enumerate(nodes):
        where = f"{path}[{index}]"
        yield node, where, level
        if node.get("children"):
            yield from iter_nodes(node["children"], f"{where}.children", level + 1)


def leaves(table: dict) -> list[dict]:
    """The nodes that are scored (no children)."""
    return [node for node, _path, _level in iter_nodes(table.get("indicators") or []) if not node.get("children")]


def rule_wording(leaf: dict) -> Wording | None:
    """The leaf's scoring rule in words (``describe``), or None for a rule that cannot state itself."""
    rule = leaf.get("rule") if isinstance(leaf.get("rule"), dict) else {}
    try:
        return get_rule(rule.get("type")).describe(rule.get("params") or {}, D(leaf.get("points")))
    except (KeyError, RuleError, TypeError, ValueError, ArithmeticError):
        return None


def standard_wording(leaf: dict) -> Wording | str:
    """The leaf's 评分标准 as the 附件1 prints it: the evaluator's own text when written, else the rule in words.

    One function for every place the table is printed (the desk's 附件1 view and print view, the report
    PDF, the 附件1 Excel sheet of the download and of the workbooks), so they cannot disagree.
    """
    own = leaf.get("standard")
    if isinstance(own, str) and own.strip():
        return own.strip()
    return rule_wording(leaf) or ""


def standard_text(leaf: dict, translate=N_) -> str:
    """``standard_wording`` as text: Chinese by default, or through ``translate`` (a gettext)."""
    return render(standard_wording(leaf), translate)


def validate_table(table: Any) -> list[TableProblem]:
    """Every problem of a table; an empty list, or warnings only, means it can be scored."""
    if not isinstance(table, dict):
        return [TableProblem("$", Wording(N_("指标表必须是一个 JSON 对象。"), {}))]
    problems = []
    if table.get("format", FORMAT) != FORMAT:
        problems.append(
            TableProblem("format", Wording(N_("不认识的格式“%(value)s”。"), {"value": table.get("format")}))
        )
    nodes = table.get("indicators")
    if not isinstance(nodes, list) or not nodes:
        return [*problems, TableProblem("indicators", Wording(N_("指标表至少要有一个一级指标。"), {}))]
    seen: set[str] = set()
    for node, path, level in iter_nodes(nodes):
        problems.extend(_node_problems(node, path, level, seen))
    if not problems:
        total = sum((D(n["points"]) for n in nodes), Decimal(0))
        if total != 100:
            problems.append(
                TableProblem(
                    "indicators",
                    Wording(
                        N_("一级指标分值合计为 %(total)s 分，与 100 分相差 %(diff)s 分。"),
                        {"total": total, "diff": total - 100},
                    ),
                    warning=True,
                )
            )
    problems.extend(_grade_problems(table.get("grades", DEFAULT_GRADES)))
    return problems


def _node_problems(node: Any, path: str, level: int, seen: set[str]) -> list[TableProblem]:
    if not isinstance(node, dict):
        return [TableProblem(path, Wording(N_("每个指标必须是一个 JSON 对象。"), {}))]
    problems = []
    key = node.get("key")
    if not isinstance(key, str) or not KEY.match(key) or key in seen:
        problems.append(
            TableProblem(
                f"{path}.key", Wording(N_("指标编号须以小写字母开头、只含小写字母数字下划线，且不能重复。"), {})
            )
        )
    seen.add(key)
    if not str(node.get("name") or "").strip():
        problems.append(TableProblem(f"{path}.name", Wording(N_("指标名称不能为空。"), {})))
    try:
        points = D(node.get("points"))
        if points < 0:
            raise RuleError(N_("分值不能为负。"))
    except RuleError as error:
        return [*problems, TableProblem(f"{path}.points", Wording(error.message, error.values))]
    children = node.get("children")
    if children:
        total = sum(
            (D(c.get("points", 0)) for c in children if isinstance(c, dict) and _is_number(c.get("points"))), Decimal(0)
        )
        if total != points:
            problems.append(
                TableProblem(
                    f"{path}.children",
                    Wording(
                        N_("下级指标分值合计 %(total)s 分，与“%(name)s”的 %(points)s 分不一致。"),
                        {"total": total, "name": node.get("name"), "points": points},
                    ),
                )
            )
        return problems
    return problems + _leaf_problems(node, path)


def _leaf_problems(node: dict, path: str) -> list[TableProblem]:
    rule = node.get("rule")
    if not isinstance(rule, dict) or rule.get("type") not in RULES:
        return [
            TableProblem(
                f"{path}.rule", Wording(N_("末级指标必须指定评分规则（%(types)s）。"), {"types": "、".join(RULES)})
            )
        ]
    try:
        get_rule(rule["type"]).check(rule.get("params") or {})
    except RuleError as error:
        return [TableProblem(f"{path}.rule.params", Wording(error.message, error.values))]
    return []


def _grade_problems(grades: Any) -> list[TableProblem]:
    valid = (
        isinstance(grades, list)
        and grades
        and all(isinstance(g, dict) and str(g.get("grade") or "").strip() and _is_number(g.get("min")) for g in grades)
    )
    if not valid:
        return [TableProblem("grades", Wording(N_("等级须写成“等级名 + 最低分”的列表。"), {}))]
    return []


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def grade_for(total: Decimal, grades: list[dict] | None = None) -> str | None:
    """The band a total falls in; lower bounds are inclusive (优 ≥ 90)."""
    for band in sorted(grades or DEFAULT_GRADES, key=lambda g: D(g["min"]), reverse=True):
        if total >= D(band["min"]):
            return band["grade"]
    return None


def score_table(table: dict, linked: dict[str, Decimal] | None = None) -> TableScore:
    """Score every leaf (rounded once), sum up the tree, grade the total, list the deductions.

    ``linked`` gives the current value of leaves whose input is a live survey figure. Leaves that
    cannot be scored (no input yet, bad input) have ``None`` and an entry in ``errors``; the total
    then covers the scored leaves only and ``complete`` is false.
    """
    decimals = int(table.get("decimals", 2))
    result = TableScore(Decimal(0), None, linked=dict(linked or {}))
    for node in table["indicators"]:
        _score_node(node, decimals, linked or {}, result)
    result.total = sum((result.scores[n["key"]] or Decimal(0) for n in table["indicators"]), Decimal(0))
    result.grade = grade_for(result.total, table.get("grades"))
    return result


def _score_node(node: dict, decimals: int, linked: dict, result: TableScore) -> Decimal | None:
    if node.get("children"):
        parts = [_score_node(child, decimals, linked, result) for child in node["children"]]
        result.scores[node["key"]] = sum((p for p in parts if p is not None), Decimal(0))
        return result.scores[node["key"]]
    points, rule = D(node["points"]), node["rule"]
    entry = dict(node.get("input") or {})
    if node["key"] in linked:
        entry["value"] = linked[node["key"]]
    try:
        score = round_score(get_rule(rule["type"]).score(rule.get("params") or {}, points, entry), decimals)
    except RuleError as error:
        result.scores[node["key"]] = None
        result.errors[node["key"]] = Wording(error.message, error.values)
        return None
    result.scores[node["key"]] = score
    if score < points:
        reason = str(entry.get("justification") or entry.get("reason") or "").strip()
        result.deductions.append(
            Deduction(node["key"], node["name"], points, score, reason or applied_reason(rule, entry, points, score))
        )
    return score


def reason_text(reason: str | Wording, translate=N_) -> str:
    """A deduction's reason as text (Chinese by default, or through ``translate``): the 附件1 Excel's 扣分原因."""
    return render(reason, translate)


def applied_reason(rule_spec: dict, entry: dict, points: Decimal, score: Decimal) -> Wording:
    """Why a rule took points off, when the evaluator wrote no reason: the rule applied to the actual value
    (“实际值 57.14%，低于满分线 93%，差 35.86 个百分点；每低 5 个百分点扣 2 分……，扣 5 分。”).

    One wording for every place a deduction is printed (the desk's 扣分情况, the report PDF, the 附件1 Excel's
    扣分原因), so a rule's deduction is never left unexplained in one of them.
    """
    rule, params = get_rule(rule_spec["type"]), rule_spec.get("params") or {}
    unit = str(rule.param(params, "unit") or "") if any(p.name == "unit" for p in rule.params) else ""
    values = {"value": _entry_text(rule, params, entry) or "—", "lost": _decimal_text(points - score)}
    try:
        actual = D(entry.get("value"))
    except RuleError:
        actual = None
    if rule.name in ("threshold_step", "per_point") and actual is not None:
        step = D(params["step"]) if rule.name == "threshold_step" else Decimal(1)
        gap = _amount(D(params["threshold"]) - actual, unit)
        values |= {"threshold": params["threshold"], "unit": unit, "gap": gap, "step": _amount(step, unit),
                   "deduct": params["deduct"]}  # fmt: skip
        message = N_("实际值 %(value)s，低于满分线 %(threshold)s%(unit)s，差 %(gap)s；每低 %(step)s扣 %(deduct)s 分，"
                     "扣 %(lost)s 分。")  # fmt: skip
        return Wording(message, values)
    if rule.name == "proportional" and actual is not None:
        target = D(rule.param(params, "target"))
        values |= {"target": rule.param(params, "target"), "unit": unit,
                   "ratio": _decimal_text(actual / target * 100) + "%"}  # fmt: skip
        return Wording(N_("实际值 %(value)s，为目标值 %(target)s%(unit)s 的 %(ratio)s，扣 %(lost)s 分。"), values)
    if rule.name == "linear" and actual is not None:
        values |= {"high": rule.param(params, "high"), "unit": unit}
        return Wording(N_("实际值 %(value)s，未达到满分值 %(high)s%(unit)s，按比例扣 %(lost)s 分。"), values)
    values["rule"] = rule.describe(params, points)
    return Wording(N_("实际值 %(value)s，扣 %(lost)s 分。评分标准：%(rule)s"), values)


def _amount(amount: Decimal, unit: str) -> Wording | str:
    """A shortfall in the value's unit: “35.86 个百分点” for percentages, else the number and its unit."""
    if unit == "%":
        return Wording(N_("%(n)s 个百分点"), {"n": _decimal_text(amount)})
    return f"{_decimal_text(amount)}{unit}"


def shown_value(leaf: dict, linked: Decimal | None = None) -> str:
    """The leaf's actual value as printed in 实际值: each entered input with its unit (a linked figure's value).

    Units come from the rule's declarations: the value's own unit parameter (“%” by default), else the
    input's declared unit (个, 个月); the evaluator's own score is in 得分, not repeated here.
    """
    rule_spec = leaf.get("rule") if isinstance(leaf.get("rule"), dict) else {}
    try:
        rule = get_rule(rule_spec.get("type"))
    except KeyError:
        return ""
    params = rule_spec.get("params") or {}
    entry = leaf.get("input") if isinstance(leaf.get("input"), dict) else {}
    if linked is not None:
        entry = {**entry, "value": _decimal_text(linked)}
    return _entry_text(rule, params, entry)


def _entry_text(rule: Rule, params: dict, entry: dict) -> str:
    """Each input of ``entry`` with its unit, joined with “；” (57.14%; 3个月; 分项：80%)."""
    parts = []
    for spec in rule.inputs:
        if spec.name == "score" or spec.kind == "text":
            continue
        unit = _unit_of(rule, params, spec)
        if spec.kind == "rows":
            parts.extend(_series_text(spec, entry, unit))
        elif entry.get(spec.name) is not None and entry.get(spec.name) != "":
            parts.append(f"{_number_text(entry[spec.name])}{unit}")
    return "；".join(parts)


def _unit_of(rule, params: dict, spec: Param) -> str:
    if any(p.name == "unit" for p in rule.params) and spec.name in ("value", "values"):
        return str(rule.param(params, "unit") or "")
    return spec.unit


def _series_text(spec: Param, entry: dict, unit: str) -> list[str]:
    values = entry.get("values") if isinstance(entry.get("values"), list) else []
    names = entry.get("items") if isinstance(entry.get("items"), list) else []
    parts = []
    for index, value in enumerate(values):
        name = names[index] if index < len(names) and names[index] else ""
        parts.append(f"{name}：{_number_text(value)}{unit}" if name else f"{_number_text(value)}{unit}")
    return parts


def _number_text(value: Any) -> str:
    try:
        return _decimal_text(D(value))
    except ValueError:
        return str(value)


def _decimal_text(value: Decimal) -> str:
    """A number as printed: at most two decimals, half up, no trailing zeros."""
    text = f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
