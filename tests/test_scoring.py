"""Scoring rules at their edges (exactly at the threshold, just below, far below, above target) and
indicator tables: validation, rounding once at the leaf, subtotals, grades, the 扣分 list."""

from __future__ import annotations

from decimal import Decimal

import pytest

from analysis.indicators import grade_for, score_table, standard_text, validate_table
from analysis.scoring import RULES, RuleError, Wording, get_rule, render, round_score

FIVE = Decimal(5)


def score(rule: str, params: dict, entry: dict, points: Decimal = FIVE) -> Decimal:
    return round_score(get_rule(rule).score(params, points, entry), 2)


def test_registry_has_every_rule_with_words():
    assert set(RULES) == {
        "proportional",
        "threshold_step",
        "per_point",
        "tiers",
        "count",
        "lateness",
        "linear",
        "judgement",
    }
    with pytest.raises(KeyError, match="bogus"):
        get_rule("bogus")
    params = {
        "proportional": {"target": 100},
        "threshold_step": {"threshold": 93, "step": 5, "deduct": 2},
        "per_point": {"threshold": 100, "deduct": 2},
        "tiers": {"tiers": [{"min": 95, "points": 1}]},
        "count": {"per_unit": 1},
        "lateness": {},
        "linear": {"low": 60, "high": 100},
        "judgement": {},
    }
    for name, rule in RULES.items():
        wording = rule.describe(params[name], FIVE)
        assert "%(" in wording.message or wording.values == {}
        assert wording.message.strip(), name


@pytest.mark.parametrize("value,expected", [(91.4, "4.57"), (100, "5.00"), (120, "5.00"), (0, "0.00"), (99.99, "5.00")])
def test_proportional(value, expected):
    assert score("proportional", {"target": 100}, {"value": value}) == Decimal(expected)  # seed 002: 91.4 → 4.57


@pytest.mark.parametrize(
    "value,partial,expected",
    [
        (93, "ceil", "5.00"),  # exactly at the threshold
        (95, "ceil", "5.00"),  # above
        (92.99, "ceil", "3.00"),  # just below: a part step counts as a step
        (92.99, "floor", "5.00"),  # … or does not count
        (90.5, "linear", "4.00"),  # half a step → 1 point
        (88, "ceil", "3.00"),  # exactly one step below
        (87.9, "ceil", "1.00"),
        (70, "ceil", "0.00"),  # far below: floor 0
    ],
)
def test_threshold_step(value, partial, expected):
    params = {"threshold": 93, "step": 5, "deduct": 2, "partial": partial}  # seed 004 满意度
    assert score("threshold_step", params, {"value": value}) == Decimal(expected)


@pytest.mark.parametrize("value,expected", [(100, "5.00"), (99.5, "4.00"), (98, "1.00"), (90, "0.00"), (101, "5.00")])
def test_per_point(value, expected):
    assert score("per_point", {"threshold": 100, "deduct": 2}, {"value": value}) == Decimal(expected)


def test_tiers_summed_and_capped():
    params = {
        "tiers": [
            {"min": 100, "points": 2},
            {"min": 95, "points": 1},
            {"min": 85, "points": 0.5},
            {"min": None, "points": 0},
        ]
    }  # seed 004
    assert score("tiers", params, {"values": [100, 95, 94.99, 85, 84.99]}, Decimal(6)) == Decimal("4.00")
    assert score("tiers", params, {"values": [100, 100, 100, 100]}, Decimal(6)) == Decimal("6.00")  # capped
    with pytest.raises(RuleError):
        score("tiers", params, {"values": []})


@pytest.mark.parametrize("count,expected", [(0, "0.00"), (4, "4.00"), (6, "6.00"), (9, "6.00")])
def test_count_capped(count, expected):
    assert score("count", {"per_unit": 1}, {"count": count}, Decimal(6)) == Decimal(expected)


@pytest.mark.parametrize(
    "months,expected", [(0, "5.00"), (0.5, "4.00"), (3, "4.00"), (3.1, "3.00"), (6, "3.00"), (7, "0.00")]
)
def test_lateness(months, expected):
    assert score("lateness", {}, {"months": months}) == Decimal(expected)


@pytest.mark.parametrize("value,expected", [(60, "0.00"), (59, "0.00"), (80, "2.50"), (100, "5.00"), (110, "5.00")])
def test_linear(value, expected):
    assert score("linear", {"low": 60, "high": 100}, {"value": value}) == Decimal(expected)


def test_judgement_needs_a_reason_and_stays_in_range():
    assert score("judgement", {}, {"score": 4.5, "justification": "部分月份在线率未达标"}) == Decimal("4.50")
    with pytest.raises(RuleError, match="理由"):
        score("judgement", {}, {"score": 4.5})
    with pytest.raises(RuleError):
        score("judgement", {}, {"score": 6, "justification": "x"})


def test_rounding_happens_once_at_the_leaf():
    # 2/3 × 5 = 3.3333… → 3.33 at the leaf; two such leaves sum to 6.66, not round(6.666…) = 6.67.
    table = {
        "indicators": [
            {
                "key": "a",
                "name": "产出",
                "points": 10,
                "children": [
                    {
                        "key": "a1",
                        "name": "一",
                        "points": 5,
                        "rule": {"type": "proportional", "params": {"target": 3}},
                        "input": {"value": 2},
                    },
                    {
                        "key": "a2",
                        "name": "二",
                        "points": 5,
                        "rule": {"type": "proportional", "params": {"target": 3}},
                        "input": {"value": 2},
                    },
                ],
            }
        ]
    }
    result = score_table(table)
    assert result.scores["a1"] == Decimal("3.33") and result.total == Decimal("6.66")


def test_rounding_half_up():
    assert round_score(Decimal("4.565"), 2) == Decimal("4.57") and round_score(Decimal("4.5"), 0) == Decimal("5")


def test_grades_lower_bounds_inclusive_and_editable():
    assert [grade_for(Decimal(x)) for x in ("90", "89.99", "80", "60", "59.99")] == ["优", "良", "良", "中", "差"]
    bands = [{"grade": "优秀", "min": 85}, {"grade": "合格", "min": 0}]
    assert grade_for(Decimal("85"), bands) == "优秀"


def test_validation_names_every_problem():
    table = {
        "indicators": [
            {
                "key": "a",
                "name": "决策",
                "points": 20,
                "children": [
                    {"key": "a1", "name": "立项", "points": 15, "rule": {"type": "judgement"}},
                    {"key": "a1", "name": "", "points": 4},
                ],
            },
            {"key": "b", "name": "过程", "points": 70, "rule": {"type": "threshold_step", "params": {"step": 0}}},
        ]
    }
    problems = {(p.path, p.warning) for p in validate_table(table)}
    assert ("indicators[0].children", False) in problems  # 15 + 4 ≠ 20
    assert ("indicators[0].children[1].key", False) in problems  # duplicate key
    assert ("indicators[0].children[1].name", False) in problems
    assert ("indicators[0].children[1].rule", False) in problems  # an empty leaf
    assert ("indicators[1].rule.params", False) in problems
    ok = {"indicators": [{"key": "a", "name": "满意度", "points": 95, "rule": {"type": "judgement"}}]}
    [warning] = validate_table(ok)
    assert warning.warning and warning.wording.values["diff"] == -5  # total 95: a warning naming the difference


def test_deductions_list_and_linked_values():
    table = {
        "indicators": [
            {
                "key": "e",
                "name": "效益",
                "points": 10,
                "children": [
                    {
                        "key": "e1",
                        "name": "社会效益",
                        "points": 5,
                        "rule": {"type": "judgement"},
                        "input": {"score": 3, "justification": "图像监控员队伍薄弱"},
                    },
                    {
                        "key": "e2",
                        "name": "服务对象满意度",
                        "points": 5,
                        "rule": {"type": "threshold_step", "params": {"threshold": 93, "step": 5, "deduct": 2}},
                        "input": {"link": {"figure": "overall_rate"}},
                    },
                ],
            }
        ]
    }
    unlinked = score_table(table)
    assert unlinked.scores["e2"] is None and not unlinked.complete and unlinked.total == Decimal("3.00")
    result = score_table(table, linked={"e2": Decimal("89.87")})
    assert result.scores["e2"] == Decimal("3.00") and result.total == Decimal("6.00") and result.complete
    reasons = {d.key: d.reason for d in result.deductions}
    assert reasons["e1"] == "图像监控员队伍薄弱"
    assert reasons["e2"].values["threshold"] == 93
    assert [d.lost for d in result.deductions] == [Decimal(2), Decimal(2)]


KINDS = {"number", "choice", "text", "rows"}


@pytest.mark.parametrize("name", sorted(RULES))
def test_every_rule_declares_its_fields_and_its_defaults_pass_its_check(name):
    rule = RULES[name]
    for param in (*rule.params, *rule.inputs):
        assert param.kind in KINDS and param.label.strip(), (name, param.name)
        assert param.kind != "choice" or param.choices, (name, param.name)
        assert param.kind != "rows" or param.columns, (name, param.name)
    defaults = {p.name: p.default for p in rule.params if p.default is not None}
    required = [p.name for p in rule.params if p.required and p.default is None]
    if not required:
        rule.check(defaults)  # a rule whose parameters all have defaults works as declared
    for missing in required:
        with pytest.raises(RuleError) as refused:
            rule.check({**defaults, missing: None})
        assert refused.value.param in required  # a missing parameter is named


def test_parameter_problems_name_the_field_in_words():
    with pytest.raises(RuleError) as refused:
        get_rule("threshold_step").check({"threshold": 93, "step": 0, "deduct": 2})
    assert refused.value.param == "step" and render(_wording(refused.value)) == "“每档跨度”必须大于 0。"
    with pytest.raises(RuleError) as refused:
        get_rule("threshold_step").check({"threshold": "九十", "step": 5, "deduct": 2})
    assert render(_wording(refused.value)) == "“满分线”须是数字。"
    with pytest.raises(RuleError) as refused:
        get_rule("tiers").check({"tiers": [{"min": 90, "points": 2}, {"min": 80}]})
    assert render(_wording(refused.value)) == "“档次”第 2 行：请填写“得分”。"
    with pytest.raises(RuleError) as refused:
        get_rule("threshold_step").check({"threshold": 93, "step": 5, "deduct": 2, "partial": "round"})
    assert refused.value.param == "partial"
    with pytest.raises(RuleError, match="满分值必须大于零分值"):
        get_rule("linear").check({"low": 80, "high": 60})


def _wording(error: RuleError) -> Wording:
    return Wording(error.message, error.values)


def test_rules_in_words_carry_the_unit():
    step = get_rule("threshold_step").describe({"threshold": 93, "step": 5, "deduct": 2}, FIVE)
    assert render(step) == "实际值达到 93% 及以上得满分 5 分；每低 5 个百分点扣 2 分（不足一档按一档扣），扣完为止。"
    days = get_rule("threshold_step").describe({"threshold": 30, "step": 5, "deduct": 1, "unit": "天"}, FIVE)
    assert render(days) == "实际值达到 30天 及以上得满分 5 分；每低 5 天扣 1 分（不足一档按一档扣），扣完为止。"
    plain = get_rule("per_point").describe({"threshold": 0, "deduct": 0.5, "unit": ""}, FIVE)
    assert render(plain) == "实际值达到 0 及以上得满分 5 分；每低 1 扣 0.5 分，不足 1 按比例扣，扣完为止。"
    late = get_rule("lateness").describe({}, FIVE)
    assert render(late) == "按时完成得 5 分；延迟不超过 3 个月扣 1 分；延迟不超过 6 个月扣 2 分；超过 6 个月不得分。"
    assert render(get_rule("lateness").describe({"steps": [{"max_months": 0, "deduct": 0}]}, FIVE)) == (
        "按时完成得 5 分；超过 0 个月不得分。"
    )


def test_the_printed_standard_is_the_evaluators_own_text_else_the_rule_in_words():
    leaf = {"key": "a", "name": "满意度", "points": 5, "rule": {"type": "threshold_step",
            "params": {"threshold": 93, "step": 5, "deduct": 2}}}  # fmt: skip
    assert standard_text(leaf).startswith("实际值达到 93% 及以上得满分 5 分")
    assert standard_text({**leaf, "standard": "满意度93%以上为满分；每下降5个百分点扣2分，直至扣完"}) == (
        "满意度93%以上为满分；每下降5个百分点扣2分，直至扣完"
    )
    assert standard_text({**leaf, "rule": {"type": "bogus"}}) == ""


def test_a_blank_choice_falls_back_to_its_default_and_a_blank_unit_means_none():
    rule = get_rule("threshold_step")
    params = {"threshold": 93, "step": 5, "deduct": 2, "partial": "", "unit": ""}
    rule.check(params)
    assert score("threshold_step", params, {"value": 92.99}) == Decimal("3.00")  # "" → ceil, the default
    assert render(rule.describe(params, FIVE)).startswith("实际值达到 93 及以上")
