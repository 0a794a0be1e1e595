"""Rates broken down by a respondent-group question (unit, community, age band) or by channel."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.rates import Rate, question_rate


@dataclass(frozen=True)
class GroupRow:
    """One group's respondents and the rate of each rated question among them."""

    key: str
    text: str
    respondents: int
    rates: list[Rate]


def rates_by_group(
    frame: pd.DataFrame, group: dict, rated: list[dict], dont_know_policy: str, small_n: int
) -> list[GroupRow]:
    """For each option of ``group``, the rates of ``rated`` questions among respondents who chose it.

    Respondents who did not answer the group question are left out of every row (their group is
    unknown); each cell carries its own n, and cells below ``small_n`` are flagged.
    """
    rows = []
    for option in group["options"]:
        members = frame[frame[group["key"]] == option["key"]]
        rates = [question_rate(q, members[q["key"]], dont_know_policy, small_n) for q in rated]
        rows.append(GroupRow(option["key"], option["text"], len(members), rates))
    return rows
