"""Helpers shared by the web tests."""

from __future__ import annotations

import re

from survey.models import Project, Questionnaire, User
from survey.questionnaires import publishing


def make_project(owner: User, name: str = "雪亮工程绩效评价") -> Project:
    return publishing.create_project(owner, name=name, region="丰泽区", year=2019)


def published(project: Project, template: str = "fengze_service_object") -> Questionnaire:
    questionnaire = publishing.create_questionnaire(project, template)
    publishing.publish(questionnaire)
    return questionnaire


def hidden_value(html: str, name: str) -> str:
    """The value of a hidden input in a rendered form."""
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html
    )
    assert match, f"no hidden field {name}"
    return match.group(1)


SEED_004_ANSWERS = {
    "q1a": "丰泽公安分局",
    "q1b": "2018年3月",
    "q2": "a",
    "q3": "b",
    "q4": "a",
    "q5": "b",
    "q6": "d",
    "q6__other": "希望扩大覆盖",
    "q7": "a",
    "q8": "案件侦查",
    "q9": "",
}


SCALE = [
    {"key": "a", "text": "很满意", "score": 100, "positive": True},
    {"key": "b", "text": "满意", "score": 80, "positive": True},
    {"key": "c", "text": "基本满意", "score": 60, "positive": True},
    {"key": "d", "text": "不太满意", "score": 30},
    {"key": "e", "text": "不满意", "score": 0},
    {"key": "x", "text": "不清楚", "dont_know": True},
]

ALL_TYPES = {
    "format": "survey-questionnaire/1",
    "title": "全部题型",
    "settings": {"overall": {"method": "mean", "measure": "satisfaction"}},
    "sections": [
        {
            "key": "s1",
            "title": "基本情况",
            "questions": [
                {
                    "key": "grp",
                    "type": "group",
                    "text": "您所在的社区",
                    "required": True,
                    "options": [{"key": "n", "text": "北社区"}, {"key": "s", "text": "南社区"}],
                },
                {
                    "key": "age",
                    "type": "number",
                    "text": "您的年龄",
                    "integer": True,
                    "min": 18,
                    "max": 100,
                    "unit": "岁",
                },
                {"key": "day", "type": "date", "text": "最近一次办事的日期", "min": "2019-01-01", "max": "2026-12-31"},
                {
                    "key": "safe",
                    "type": "rating",
                    "text": "您感觉安全吗？",
                    "required": True,
                    "measure": "safety",
                    "options": [
                        {"key": "a", "text": "安全", "positive": True},
                        {"key": "b", "text": "比较安全", "positive": True},
                        {"key": "c", "text": "不太安全"},
                        {"key": "d", "text": "不安全"},
                    ],
                },
                {
                    "key": "why",
                    "type": "multiple_choice",
                    "text": "哪些问题让您担心？",
                    "required": True,
                    "max_choices": 2,
                    "show_if": {"question": "safe", "any_of": ["c", "d"]},
                    "options": [
                        {"key": "a", "text": "盗窃"},
                        {"key": "b", "text": "诈骗"},
                        {"key": "z", "text": "其他", "other": True},
                    ],
                },
            ],
        },
        {
            "key": "s2",
            "title": "服务评价",
            "questions": [
                {
                    "key": "grid",
                    "type": "matrix",
                    "text": "请评价以下方面",
                    "required": True,
                    "measure": "satisfaction",
                    "items": [
                        {"key": "att", "text": "服务态度", "dimension": "服务态度"},
                        {"key": "eff", "text": "办事效率", "dimension": "服务效率"},
                    ],
                    "options": SCALE,
                },
                {
                    "key": "chk",
                    "type": "attention",
                    "text": "本题请选择“满意”",
                    "required": True,
                    "correct": "b",
                    "options": [
                        {"key": "a", "text": "很满意"},
                        {"key": "b", "text": "满意"},
                        {"key": "c", "text": "不满意"},
                    ],
                },
                {
                    "key": "one",
                    "type": "single_choice",
                    "text": "总体评价",
                    "measure": "satisfaction",
                    "options": [{"key": "a", "text": "满意", "positive": True}, {"key": "b", "text": "不满意"}],
                },
                {"key": "name", "type": "text", "text": "您的单位", "max_length": 20},
                {"key": "idea", "type": "textarea", "text": "建议"},
            ],
        },
        {
            "key": "s3",
            "title": "仅对不满意者",
            "show_if": {"question": "one", "any_of": ["b"]},
            "questions": [{"key": "fix", "type": "textarea", "text": "您希望改进什么？", "required": True}],
        },
    ],
}

ALL_TYPES_ANSWERS = {
    "grp": "n",
    "age": "35",
    "day": "2019-05-01",
    "safe": "a",
    "grid.att": "a",
    "grid.eff": "d",
    "chk": "b",
    "one": "a",
    "name": "丰泽公安分局",
    "idea": "多巡逻",
}
