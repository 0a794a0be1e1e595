"""Response tables for export: one row per response, option texts as values.

Pure tables; writing them as files (every CSV through ``survey.platform.csv_files.to_csv_bytes``) is not here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from analysis.frame import OTHER_SUFFIX
from analysis.lazy import lazy_module

pd = lazy_module("pandas")


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


def response_columns(schema: list[dict], meta_labels: dict[str, str]) -> list[str]:
    """Column names of the responses table: the metadata labels, then ``number. text`` per question."""
    return list(meta_labels.values()) + [f"{q['number']}. {q['text']}" for q in schema]


def response_rows(schema: list[dict], records: Iterable[dict], meta_labels: dict[str, str]) -> Iterator[list]:
    """The rows of the responses table one at a time, so a writer can stream them
    (``survey.reports.workbook_files``)."""
    for record in records:
        answers = record["answers"]
        yield [record.get(name) for name in meta_labels] + [display_answer(q, answers) for q in schema]


def responses_table(schema: list[dict], records: list[dict], meta_labels: dict[str, str]) -> pd.DataFrame:
    """A frame of responses: the metadata columns named by ``meta_labels``, then one column per question."""
    columns = response_columns(schema, meta_labels)
    return pd.DataFrame(list(response_rows(schema, records, meta_labels)), columns=columns)
