"""Helpers shared by the web tests."""

from __future__ import annotations

import re

from survey import publishing
from survey.models import Project, Questionnaire, User


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
