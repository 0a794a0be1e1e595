"""Turn response records into a DataFrame with one column per question key."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd


def answers_frame(schema: list[dict], answers: Iterable[dict]) -> pd.DataFrame:
    """One row per response, one column per question; missing answers are ``None``.

    Keys not in the schema (answers to questions of another version) are dropped, which is how
    responses to several versions line up by stable question keys.
    """
    columns = [q["key"] for q in schema]
    frame = pd.DataFrame.from_records(list(answers), columns=columns)
    for question in schema:
        if question["storage"] == "one":
            frame[question["key"]] = frame[question["key"]].astype("object")
    return frame
