"""Shared set-up for the benchmarks: a 20-question public questionnaire and fast synthetic responses."""

from __future__ import annotations

import json
import os
import random
import sqlite3
import subprocess
import sys
import uuid
from datetime import datetime

SCALE = [
    {"key": "a", "text": "很满意", "score": 100, "positive": True},
    {"key": "b", "text": "满意", "score": 80, "positive": True},
    {"key": "c", "text": "基本满意", "score": 60, "positive": True},
    {"key": "d", "text": "不太满意", "score": 30},
    {"key": "e", "text": "不满意", "score": 0},
    {"key": "x", "text": "不清楚", "dont_know": True},
]
DIMENSIONS = ["治安状况", "服务态度", "办事效率", "项目效果"]


def twenty_questions() -> dict:
    """The 20-question public questionnaire the goals are stated for: 15 rated, 5 others."""
    rated = [
        {
            "key": f"r{i}",
            "type": "rating",
            "text": f"满意度评价第 {i} 项",
            "required": True,
            "measure": "satisfaction",
            "dimension": DIMENSIONS[i % 4],
            "options": SCALE,
        }
        for i in range(1, 16)
    ]
    others = [
        {
            "key": "area",
            "type": "group",
            "text": "您所在的街道",
            "required": True,
            "options": [
                {"key": k, "text": t} for k, t in zip("abcde", ["东海", "清源", "城东", "北峰", "华大"], strict=True)
            ],
        },
        {
            "key": "age",
            "type": "single_choice",
            "text": "年龄段",
            "options": [{"key": k, "text": t} for k, t in zip("abcd", ["18–30", "31–45", "46–60", "60+"], strict=True)],
        },
        {
            "key": "worry",
            "type": "multiple_choice",
            "text": "担心的问题",
            "options": [{"key": k, "text": t} for k, t in zip("abcd", ["盗窃", "诈骗", "交通", "噪音"], strict=True)],
        },
        {"key": "visits", "type": "number", "text": "今年办事次数", "integer": True, "min": 0, "max": 99},
        {"key": "idea", "type": "textarea", "text": "建议"},
    ]
    return {
        "format": "survey-questionnaire/1",
        "title": "基准测试：20 题公众满意度问卷",
        "settings": {"overall": {"method": "mean", "measure": "satisfaction"}},
        "sections": [{"key": "s1", "title": "", "questions": others[:1] + rated + others[1:]}],
    }


def run_fresh(code: str) -> dict:
    """Run ``code`` in a fresh interpreter (its own peak memory, no warm caches) and return the JSON it printed
    last."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    output = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env)
    return json.loads(output.stdout.strip().splitlines()[-1])


def synthetic_answers(rng: random.Random) -> dict:
    """One plausible respondent: mostly positive, some don't-know, a few text answers."""
    answers = {f"r{i}": rng.choices("abcdex", (30, 30, 20, 8, 5, 7))[0] for i in range(1, 16)}
    answers["area"] = rng.choice("abcde")
    answers["age"] = rng.choice("abcd")
    answers["worry"] = sorted(rng.sample("abcd", rng.randint(1, 2)))
    answers["visits"] = rng.randint(0, 12)
    if rng.random() < 0.1:
        answers["idea"] = "希望增加夜间巡逻"
    return answers


def bulk_insert(
    db_path: str, questionnaire_id: int, version_id: int, definition: dict, count: int, seed: int = 1
) -> None:
    """Insert ``count`` responses straight into SQLite, with their codes as a submission stores them
    (the benchmark measures reading, not writing)."""
    from survey.responses.coding import response_codes, response_extras

    rng = random.Random(seed)
    answers = [synthetic_answers(rng) for _ in range(5000)]
    pool = [
        (json.dumps(a, ensure_ascii=False), response_codes(definition, a), response_extras(definition, a))
        for a in answers
    ]
    now = datetime(2026, 11, 1).isoformat(sep=" ")
    connection = sqlite3.connect(db_path)
    rows = (
        (questionnaire_id, version_id, uuid.uuid4().hex, now, rng.randint(40, 600), "web", "valid", *pool[i % 5000])
        for i in range(count)
    )
    connection.executemany(
        "INSERT INTO response (questionnaire_id, version_id, submission_id, submitted_at, duration_seconds, "
        "channel, status, answers, codes, extras, flags, reviewed) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', 0)",
        rows,
    )
    connection.execute("UPDATE questionnaire SET accepted_count = ? WHERE id = ?", (count, questionnaire_id))
    connection.commit()
    connection.close()
