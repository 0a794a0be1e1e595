"""Frames of valid responses: one column per answer key, built from answer dicts or from codes.

Two ways in, one result. ``answers_frame`` reads answer dicts (tests, small sets). ``coded_frame``
reads the compact ``codes`` string stored with each response: one character per single-answer
item of the response's version (``code_layout``), decoded for a million rows at once with NumPy.
Single-answer columns are pandas Categoricals whose categories are the current schema's option
keys; answers to options the current version no longer has are missing, as the publish warning says.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from analysis.lazy import lazy_module

np = lazy_module("numpy")
pd = lazy_module("pandas")


OTHER_SUFFIX = "__other"
CODE_BASE = 48  # option i is stored as chr(48 + i): "0", "1", … up to "z"
MISSING_CODE = "."
MAX_CODED_OPTIONS = 75


def other_column(question: dict) -> str:
    """The column holding the free text of a question's "其他" option."""
    return question["key"] + OTHER_SUFFIX


def code_layout(schema: list[dict]) -> list[tuple[str, list[str]]]:
    """(answer key, option keys) of every single-answer column, in order: what one code character stands for."""
    return [(q["key"], [o["key"] for o in q["options"]]) for q in schema if q["storage"] == "one"]


def encode_answers(layout: list[tuple[str, list[str]]], answers: dict) -> str:
    """The codes string of one response: option positions as characters, ``.`` where unanswered."""
    chars = []
    for key, options in layout:
        value = answers.get(key)
        position = options.index(value) if value in options else -1
        chars.append(chr(CODE_BASE + position) if 0 <= position < MAX_CODED_OPTIONS else MISSING_CODE)
    return "".join(chars)


def uncoded_keys(schema: list[dict]) -> list[str]:
    """Answer keys not in the codes string (multiple choice, numbers, texts, "other" texts)."""
    keys = [q["key"] for q in schema if q["storage"] != "one"]
    return keys + [other_column(q) for q in schema if any(o.get("other") for o in q.get("options", []))]


def _categorical(values: np.ndarray, options: list[str]) -> pd.Categorical:
    return pd.Categorical.from_codes(values.astype(np.int16), categories=options)


def answers_frame(schema: list[dict], answers: Iterable[dict]) -> pd.DataFrame:
    """One row per response from answer dicts; keys not in ``schema`` (other versions) are dropped."""
    answers = list(answers)
    frame = pd.DataFrame(index=pd.RangeIndex(len(answers)))
    for question in schema:
        key = question["key"]
        if question["storage"] == "one":
            lookup = {o["key"]: i for i, o in enumerate(question["options"])}
            codes = np.fromiter((lookup.get(a.get(key), -1) for a in answers), dtype=np.int16, count=len(answers))
            frame[key] = _categorical(codes, list(lookup))
        else:
            frame[key] = pd.Series([a.get(key) for a in answers], dtype="object")
    for key in uncoded_keys(schema):
        if key not in frame:
            frame[key] = pd.Series([a.get(key) for a in answers], dtype="object")
    return frame


def coded_frame(
    schema: list[dict],
    layouts: dict[int, list[tuple[str, list[str]]]],
    version_ids: Sequence[int],
    codes: Sequence[str],
    uncoded: dict[str, list],
) -> pd.DataFrame:
    """One row per response from codes strings (each read with its version's layout) plus uncoded columns."""
    count = len(codes)
    version_array = np.asarray(version_ids, dtype=np.int64)
    columns = {q["key"]: np.full(count, -1, dtype=np.int16) for q in schema if q["storage"] == "one"}
    for version_id, layout in layouts.items():
        rows = np.flatnonzero(version_array == version_id)
        if not len(rows) or not layout:
            continue
        width = len(layout)
        block = np.frombuffer("".join(codes[i] for i in rows).encode("ascii"), dtype=np.uint8).reshape(-1, width)
        _decode_block(schema, layout, block, rows, columns)
    frame = pd.DataFrame(index=pd.RangeIndex(count))
    for question in schema:
        key = question["key"]
        if question["storage"] == "one":
            frame[key] = _categorical(columns[key], [o["key"] for o in question["options"]])
        else:
            frame[key] = pd.Series(uncoded.get(key, [None] * count), dtype="object")
    for key in uncoded_keys(schema):
        if key not in frame:
            frame[key] = pd.Series(uncoded.get(key, [None] * count), dtype="object")
    return frame


def _decode_block(schema, layout, block: np.ndarray, rows: np.ndarray, columns: dict[str, np.ndarray]) -> None:
    """Translate one version's code columns into positions of the current schema's options."""
    current = {q["key"]: [o["key"] for o in q["options"]] for q in schema if q["storage"] == "one"}
    for position, (key, options) in enumerate(layout):
        if key not in current:
            continue
        translate = np.full(256, -1, dtype=np.int16)  # byte -> current option position (-1: missing)
        for old_index, option_key in enumerate(options[:MAX_CODED_OPTIONS]):
            if option_key in current[key]:
                translate[CODE_BASE + old_index] = current[key].index(option_key)
        columns[key][rows] = translate[block[:, position]]


def scores_of(column: pd.Series, scores: dict[str, float]) -> np.ndarray:
    """Each answer's score as floats (NaN where unanswered or unscored), vectorised for Categoricals."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        lookup = np.array([scores.get(c, np.nan) for c in column.cat.categories] + [np.nan], dtype=float)
        return lookup[column.cat.codes.to_numpy()]
    return np.array([scores.get(v, np.nan) if isinstance(v, str) else np.nan for v in column], dtype=float)
