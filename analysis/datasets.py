"""Coded response tables for statistics packages (written as SPSS .sav, Stata .dta and a CSV of option codes by
``survey.reports.dataset_files``).

One row per response. Single-answer questions are integer codes 1..k whose value labels are the
option texts; multiple choice is one 0/1 variable per option (missing when the question was not
answered); numbers are floats; texts are strings. Variable names are valid in both SPSS and Stata
(ASCII, starting with a letter, at most 32 characters, unique ignoring case); variable labels carry
the question texts. Pure pandas: the caller passes any translated labels.
"""

from __future__ import annotations

import re

from analysis.frame import OTHER_SUFFIX
from analysis.lazy import lazy_module

np = lazy_module("numpy")
pd = lazy_module("pandas")

NAME_LIMIT = 32  # Stata's limit; SPSS allows 64 bytes
LABEL_LIMIT = 80  # Stata's limit on variable labels (in characters for .dta 118)
# Words neither package accepts as a variable name (SPSS reserved words, Stata reserved names).
RESERVED = {
    "all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to", "with",
    "_all", "_b", "byte", "_coef", "_cons", "double", "float", "if", "in", "int", "long", "_n", "_pi",
    "_pred", "_rc", "_skip", "str", "strl", "using",
}  # fmt: skip
META_LABELS = {
    "id": "id",
    "submitted": "submitted",
    "duration": "duration (seconds)",
    "channel": "channel",
    "unit": "unit",
    "status": "status",
    "exclusion_reason": "exclusion reason",
    "source_row": "source row (序号)",  # an imported response's row in its file; empty for the others
}
STATUS_CODES = {"valid": 1, "excluded": 2}
STATUS_LABELS = {"valid": "valid", "excluded": "excluded"}
CHOICE_LABELS = {0: "not selected", 1: "selected"}


def variable_name(key: str, taken: set[str]) -> str:
    """A valid, unused variable name for an answer key ("q10.a1" → "q10_a1"); records it in ``taken``."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", key.encode("ascii", "ignore").decode()) or "v"
    if not name[0].isalpha():
        name = "v" + name
    if name.lower() in RESERVED:
        name = "v_" + name
    name = name[:NAME_LIMIT]
    candidate, counter = name, 1
    while candidate.lower() in taken:
        counter += 1
        suffix = f"_{counter}"
        candidate = name[: NAME_LIMIT - len(suffix)] + suffix
    taken.add(candidate.lower())
    return candidate


def _label(text: str) -> str:
    return text if len(text) <= LABEL_LIMIT else text[: LABEL_LIMIT - 1] + "…"


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return np.nan


def _text(value) -> str:
    return "" if value is None else str(value)


def _naive(value):
    """Datetimes without a time zone (both formats store wall-clock times; the caller chose the clock)."""
    if value is None:
        return pd.NaT
    stamp = pd.Timestamp(value)
    return stamp.tz_convert(None) if stamp.tzinfo is not None else stamp


def _meta_columns(records, meta_labels, status_labels, taken, out, time_name):
    columns, labels, values, measures = out
    names = {name: (time_name if name == "submitted" else name) for name in META_LABELS}
    taken.update(name.lower() for name in names.values())
    columns["id"] = pd.Series([r.get("id") for r in records], dtype="float64")
    columns[time_name] = pd.Series([_naive(r.get("submitted_at")) for r in records], dtype="datetime64[ns]")
    columns["duration"] = pd.Series([_number(r.get("duration_seconds")) for r in records], dtype="float64")
    columns["channel"] = pd.Series([_text(r.get("channel")) for r in records], dtype="object")
    columns["unit"] = pd.Series([_text(r.get("unit_name")) for r in records], dtype="object")
    columns["status"] = pd.Series([STATUS_CODES.get(r.get("status"), np.nan) for r in records], dtype="float64")
    columns["exclusion_reason"] = pd.Series([_text(r.get("exclusion_reason")) for r in records], dtype="object")
    columns["source_row"] = pd.Series([_number(r.get("source_row")) for r in records], dtype="float64")
    labels.update({names[key]: _label(meta_labels.get(key, key)) for key in META_LABELS})
    values["status"] = {code: status_labels.get(status, status) for status, code in STATUS_CODES.items()}
    measures.update({name: "nominal" for name in names.values()})
    measures.update({"id": "scale", time_name: "scale", "duration": "scale", "source_row": "scale"})


def _question_columns(question: dict, answers: list[dict], taken: set[str], out, choice_labels: dict) -> None:
    columns, labels, values, measures = out
    key, text = question["key"], question["text"]
    storage = question["storage"]
    if storage == "one":
        name = variable_name(key, taken)
        lookup = {o["key"]: i for i, o in enumerate(question["options"], start=1)}
        columns[name] = pd.Series([lookup.get(a.get(key), np.nan) for a in answers], dtype="float64")
        labels[name] = _label(text)
        values[name] = {i: o["text"] for i, o in enumerate(question["options"], start=1)}
        measures[name] = question.get("measurement") or "nominal"  # the type's level, from the schema
    elif storage == "many":
        for option in question["options"]:
            name = variable_name(f"{key}_{option['key']}", taken)
            columns[name] = pd.Series(
                [np.nan if not isinstance(a.get(key), list) else float(option["key"] in a[key]) for a in answers],
                dtype="float64",
            )
            labels[name] = _label(f"{text}: {option['text']}")
            values[name] = dict(choice_labels)
            measures[name] = "nominal"
    elif storage == "number":
        name = variable_name(key, taken)
        columns[name] = pd.Series([_number(a.get(key)) for a in answers], dtype="float64")
        labels[name] = _label(text)
        measures[name] = question.get("measurement") or "scale"
    else:
        name = variable_name(key, taken)
        columns[name] = pd.Series([_text(a.get(key)) for a in answers], dtype="object")
        labels[name] = _label(text)
        measures[name] = "nominal"
    for option in question.get("options", []):
        if option.get("other"):
            name = variable_name(key + OTHER_SUFFIX, taken)
            columns[name] = pd.Series([_text(a.get(key + OTHER_SUFFIX)) for a in answers], dtype="object")
            labels[name] = _label(f"{text}: {option['text']}")
            measures[name] = "nominal"


def coded_table(
    schema: list[dict],
    records: list[dict],
    *,
    meta_labels: dict[str, str] | None = None,
    status_labels: dict[str, str] | None = None,
    choice_labels: dict[int, str] | None = None,
    time_name: str = "submitted",
) -> tuple[pd.DataFrame, dict[str, str], dict[str, dict[int, str]], dict[str, str]]:
    """(frame, variable labels, value labels, measure levels) of the responses, one row each.

    ``meta_labels`` names the metadata variables (keys of ``META_LABELS``); ``status_labels`` the
    value labels of ``status`` (keys ``valid`` and ``excluded``); ``choice_labels`` those of the
    0/1 multiple-choice variables. Submission times are written as the records give them (the caller
    converts them to the project's clock); ``time_name`` names their variable, e.g. ``submitted_utc8``,
    so the zone is known even where labels are not (the CSV of codes).
    """
    columns: dict[str, pd.Series] = {}
    labels: dict[str, str] = {}
    values: dict[str, dict[int, str]] = {}
    measures: dict[str, str] = {}
    out = (columns, labels, values, measures)
    taken: set[str] = set()
    meta = {**META_LABELS, **(meta_labels or {})}
    _meta_columns(records, meta, {**STATUS_LABELS, **(status_labels or {})}, taken, out, time_name)
    answers = [r.get("answers") or {} for r in records]
    for question in schema:
        _question_columns(question, answers, taken, out, {**CHOICE_LABELS, **(choice_labels or {})})
    frame = pd.DataFrame(columns, index=pd.RangeIndex(len(records)))
    return frame, labels, values, measures
