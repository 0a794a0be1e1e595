"""Turn response records into a DataFrame with one column per question key."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

OTHER_SUFFIX = "__other"


def other_column(question: dict) -> str:
    """The column holding the free text of a question's "其他" option."""
    return question["key"] + OTHER_SUFFIX


def answers_frame(schema: list[dict], answers: Iterable[dict]) -> pd.DataFrame:
    """One row per response, one column per question (plus "其他" texts); missing answers are ``None``.

    Keys not in the schema (answers to questions of another version) are dropped, which is how
    responses to several versions line up by stable question keys.
    """
    columns = [q["key"] for q in schema]
    columns += [other_column(q) for q in schema if any(o.get("other") for o in q.get("options", []))]
    frame = pd.DataFrame.from_records(list(answers), columns=columns)
    for question in schema:
        if question["storage"] == "one":
            frame[question["key"]] = frame[question["key"]].astype("object")
    return frame
