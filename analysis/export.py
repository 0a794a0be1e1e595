"""Response tables for export: one row per response, option texts as values."""

from __future__ import annotations

import pandas as pd

from analysis.frame import OTHER_SUFFIX


def _option_text(question: dict, answers: dict, key: str) -> str:
    for option in question["options"]:
        if option["key"] == key:
            extra = answers.get(question["key"] + OTHER_SUFFIX) if option.get("other") else None
            return f"{option['text']}：{extra}" if extra else option["text"]
    return str(key)


def display_answer(question: dict, answers: dict) -> str:
    """An answer as a person reads it: option texts, several joined by 、, "other" text appended."""
    value = answers.get(question["key"])
    if value is None:
        return ""
    if question["storage"] == "many":
        return "、".join(_option_text(question, answers, key) for key in value)
    if question["storage"] == "one":
        return _option_text(question, answers, value)
    return str(value)


def responses_table(schema: list[dict], records: list[dict], meta_labels: dict[str, str]) -> pd.DataFrame:
    """A frame of responses: the metadata columns named by ``meta_labels``, then one column per question."""
    rows = []
    for record in records:
        row = {label: record.get(name) for name, label in meta_labels.items()}
        for question in schema:
            row[f"{question['number']}. {question['text']}"] = display_answer(question, record["answers"])
        rows.append(row)
    columns = list(meta_labels.values()) + [f"{q['number']}. {q['text']}" for q in schema]
    return pd.DataFrame(rows, columns=columns)


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 with a byte-order mark so Excel and WPS open Chinese text correctly."""
    return frame.to_csv(index=False).encode("utf-8-sig")


def table_csv(rows: list[dict], columns: list[str]) -> bytes:
    """Plain rows as a UTF-8-with-BOM CSV with the given column order (lists, logs)."""
    return to_csv_bytes(pd.DataFrame(rows, columns=columns))
