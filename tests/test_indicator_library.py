"""The indicator-table templates in ``analysis/indicator_library/``: well-formed trees whose points add
up, and (scored by ``analysis.indicators.score_table``) the two seed reports' totals and grades:
seed 002 (新建“雪亮工程”) 93.07 → 优, seed 004 (“智慧丰泽”) 90 → 优."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest

LIBRARY = Path(__file__).resolve().parent.parent / "analysis" / "indicator_library"
FILES = sorted(LIBRARY.glob("*.json"))
KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
RULE_TYPES = {"proportional", "threshold_step", "per_point", "tiers", "count", "lateness", "linear", "judgement"}


def load(name: str) -> dict:
    return json.loads((LIBRARY / name).read_text(encoding="utf-8"))


def walk(nodes: list[dict], level: int = 1):
    """Every node with its level (1 = 一级), depth first."""
    for node in nodes:
        yield node, level
        yield from walk(node.get("children") or [], level + 1)


def leaf_nodes(table: dict) -> list[dict]:
    return [node for node, _level in walk(table["indicators"]) if not node.get("children")]


def points(value) -> Decimal:
    assert isinstance(value, int | float) and not isinstance(value, bool), value
    return Decimal(str(value))


def test_the_three_templates_are_there():
    assert {p.name for p in FILES} >= {"caiyu_2020_10.json", "seed_002_xinjian.json", "seed_004_fengze.json"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_template_is_well_formed(path: Path):
    table = json.loads(path.read_text(encoding="utf-8"))
    assert table["format"] == "indicator-table/1"
    assert table["title"].strip() and table["source"].strip()
    assert isinstance(table["decimals"], int)
    assert [g["grade"] for g in table["grades"]] == ["优", "良", "中", "差"]
    assert [g["min"] for g in table["grades"]] == [90, 80, 60, 0]

    keys = [node["key"] for node, _level in walk(table["indicators"])]
    assert all(KEY.match(k) for k in keys), [k for k in keys if not KEY.match(k)]
    assert len(keys) == len(set(keys)), "duplicate keys"

    for node, level in walk(table["indicators"]):
        assert node["name"].strip()
        assert points(node["points"]) > 0
        children = node.get("children")
        if children:
            assert level < 3, f"{node['key']}: deeper than 三级"
            assert sum(points(c["points"]) for c in children) == points(node["points"]), node["key"]
        else:
            assert level in (2, 3), f"{node['key']}: a leaf must be a 二级 or 三级 indicator"
            assert node["explanation"].strip() and node["standard"].strip(), node["key"]
            assert node["rule"]["type"] in RULE_TYPES, node["key"]
            assert isinstance(node["rule"].get("params", {}), dict)
            assert isinstance(node["input"], dict)
            if node["rule"]["type"] == "judgement" and node["input"]:
                assert node["input"]["justification"].strip(), node["key"]
                assert 0 <= points(node["input"]["score"]) <= points(node["points"]), node["key"]
    assert sum(points(n["points"]) for n in table["indicators"]) == 100


# --- scoring (analysis.indicators.score_table) -------------------------------------------------------

SEED_002 = {  # report section 五: leaf key → score
    "a1": "5",  # 项目立项
    "a2": "5",  # 绩效目标
    "a3": "8",  # 资金投入
    "b1_1": "5",  # 资金到位率 100%
    "b1_2": "4.57",  # 预算执行率 91.4% × 5
    "b1_3": "6",  # 资金使用合规性
    "b2": "6",  # 组织实施
    "c1": "5",  # 产出数量
    "c2": "8.5",  # 产出质量: 在线率未达标, −1.5
    "c3": "9",  # 产出时效: 付款稍有推迟, −1
    "c4": "10",  # 产出成本
    "d1": "8",  # 社会效益 −2
    "d2": "8",  # 可持续影响 −2
    "d3_1": "5",  # 服务对象满意度 93%
}

SEED_004 = {  # 附件1 得分表: leaf key → score
    "a1_1": "8",  # “平安丰泽”接入整合情况: 4 × 100% → 4 × 2
    "a1_2": "5",  # 网格化数据录入: 房屋 67%, five at 100%
    "a1_3": "5",  # 视频平台整合: 5 platforms
    "a2_1": "4",
    "a2_2": "4",
    "a2_3": "6",
    "a2_4": "3",
    "a3_1": "1",  # 建设时效: 4 months late, −2
    "b1_1": "6",
    "b1_2": "4",  # 社会治安稳定率: −42.66%, capped at 4
    "b1_3": "4",
    "b1_4": "4",
    "b1_5": "4",
    "b1_6": "4",
    "b1_7": "4",
    "b1_8": "2",  # 抓获犯罪嫌疑人: 酌情扣2分
    "b2_1": "4",
    "b3_1": "4",
    "b4_1": "2",  # 实施效果: “一般”
    "b4_2": "2",  # 运营经费保障率: 2 + 0
    "c1_1": "5",  # 市民安全满意度 98.5%
    "c2_1": "5",  # 整合资源部门满意度
}


def test_seed_002_scores_93_07_excellent():
    from analysis.indicators import score_table

    table = load("seed_002_xinjian.json")
    assert {leaf["key"] for leaf in leaf_nodes(table)} == set(SEED_002)
    result = score_table(table)
    assert result.total == Decimal("93.07")
    assert result.grade == "优"
    assert result.scores["b1_2"] == Decimal("4.57")  # 预算执行率
    assert {key: result.scores[key] for key in SEED_002} == {key: Decimal(v) for key, v in SEED_002.items()}
    assert [result.scores[k] for k in "abcd"] == [Decimal(v) for v in ("18", "21.57", "32.5", "21")]
    assert {d.key for d in result.deductions} == {"b1_2", "c2", "c3", "d1", "d2"}


def test_seed_004_scores_90_excellent():
    from analysis.indicators import score_table

    table = load("seed_004_fengze.json")
    assert {leaf["key"] for leaf in leaf_nodes(table)} == set(SEED_004)  # the 22 三级指标
    result = score_table(table)
    assert result.total == Decimal("90")  # equal to Decimal("90.00") too
    assert result.grade == "优"
    assert {key: result.scores[key] for key in SEED_004} == {key: Decimal(v) for key, v in SEED_004.items()}
    # 产出 36 (数量 18, 质量 17, 时效 1), 效益 44 (社会 32, 经济 4, 生态 4, 可持续 4), 满意度 10
    subtotals = {"a": "36", "a1": "18", "a2": "17", "a3": "1", "b": "44", "b1": "32", "b4": "4", "c": "10"}
    assert {key: result.scores[key] for key in subtotals} == {key: Decimal(v) for key, v in subtotals.items()}
    assert {d.key for d in result.deductions} == {"a1_2", "a1_3", "a3_1", "b1_8", "b4_1", "b4_2"}


def full_marks(leaf: dict):
    """An input that earns the leaf its full points under its own rule."""
    params = leaf["rule"].get("params") or {}
    return {
        "proportional": lambda: {"value": params.get("target", 100)},
        "threshold_step": lambda: {"value": params["threshold"]},
        "per_point": lambda: {"value": params["threshold"]},
        "lateness": lambda: {"months": 0},
        "judgement": lambda: {"score": leaf["points"], "justification": "评价要点全部符合"},
    }[leaf["rule"]["type"]]()


def test_caiyu_framework_is_blank_and_scores_when_filled():
    from analysis.indicators import score_table

    table = load("caiyu_2020_10.json")
    split = [(n["name"], n["points"]) for n in table["indicators"]]
    assert split == [("决策", 20), ("过程", 20), ("产出", 30), ("效益", 30)]
    blank = leaf_nodes(table)
    assert all(leaf["input"] == {} for leaf in blank)
    result = score_table(table)
    assert all(result.scores[leaf["key"]] is None for leaf in blank)  # nothing entered yet

    for leaf in blank:
        leaf["input"] = full_marks(leaf)
    result = score_table(table)
    assert result.total == Decimal("100") and result.grade == "优" and not result.deductions

    by_name = {leaf["name"]: leaf for leaf in blank}
    by_name["预算执行率"]["input"] = {"value": 91.4}  # 91.4% × 5 = 4.57
    by_name["服务对象满意度"]["input"] = {"value": 87}  # below 90 by less than a step of 5: −2
    by_name["完成及时性"]["input"] = {"months": 4}  # 3–6 months late: −2
    by_name["成本节约率"]["input"] = {"value": -4}  # 4 points over budget: −2
    result = score_table(table)
    scores = {name: result.scores[leaf["key"]] for name, leaf in by_name.items()}
    assert scores["预算执行率"] == Decimal("4.57")
    assert scores["服务对象满意度"] == Decimal("8")
    assert scores["完成及时性"] == Decimal("3")
    assert scores["成本节约率"] == Decimal("3")
    assert result.total == Decimal("93.57")
