"""采集点 (channels) and 服务对象单位码 (unit codes): adding them, for the collection desk and the CLI alike.

The desk's channel and unit forms and ``flask channel add`` / ``flask unit add`` all end here, so a
channel gets the same next free code (``c1``, ``c2``…) and a unit list the same de-duplication whichever
way it came in. A list may also come as a file (CSV or XLSX, read by ``import_reading.read_table``
with the same format and size checks as a response file): one name per row, with an optional header
row naming the columns (名称/name, 目标份数/target, 配额/quota, 发放份数/issued, 可填份数/uses).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from analysis.numbers import whole_number
from survey.collection import import_reading
from survey.models import PAPER_CHANNEL, Channel, Questionnaire, UnitCode
from survey.platform.extensions import db

CHANNEL_NAME_LENGTH = 100  # Channel.name
UNIT_NAME_LENGTH = 200  # UnitCode.unit_name
MAX_COUNT = 10_000_000  # the desk's COUNT validator: targets, quotas and issued counts
MAX_USES = 1000  # the desk's limit on uses per unit code
LIST_COLUMNS = {
    "name": ("name", "名称", "采集点", "采集点名称", "单位", "单位名称", "渠道"),
    "target": ("target", "目标份数", "目标"),
    "quota": ("quota", "配额"),
    "issued": ("issued", "发放份数", "发放"),
    "uses": ("uses", "可填份数", "份数", "max_uses"),
}


class FieldworkError(ValueError):
    """A refused list or entry; ``problems`` are the plain messages, each naming its row when it has one."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class ListEntry:
    """One row of a channel or unit list: its name and optional counts (``None`` when not given)."""

    row: int
    name: str
    counts: dict[str, int | None]


def has_public_link(channel: Channel) -> bool:
    """Whether respondents may reach ``channel`` by a link: not the system 纸质问卷 channel, whose answers
    are keyed in by an evaluator (an online answer there would be counted as paper)."""
    return channel.code != PAPER_CHANNEL


def linked_channels(channels: list[Channel]) -> list[Channel]:
    """The channels that have a link, QR code and poster (``has_public_link``)."""
    return [channel for channel in channels if has_public_link(channel)]


def next_channel_code(questionnaire: Questionnaire, taken: set[str] | None = None) -> str:
    """The next free ``c<n>`` code: codes are stored on responses, so an existing one is never reused."""
    codes = {c.code for c in questionnaire.channels} | (taken or set())
    number = len(questionnaire.channels) + 1
    while f"c{number}" in codes:
        number += 1
    return f"c{number}"


def add_channel(
    questionnaire: Questionnaire,
    name: str,
    target: int | None = None,
    quota: int | None = None,
    issued: int | None = None,
) -> Channel:
    """Add one 采集点 with its own link and commit; the name is trimmed (the form checked it is not empty)."""
    return add_channels(questionnaire, [ListEntry(0, name, {"target": target, "quota": quota, "issued": issued})])[0]


def add_channels(questionnaire: Questionnaire, entries: list[ListEntry]) -> list[Channel]:
    """Add several 采集点 in one transaction: every entry is checked first, and a bad one adds none."""
    problems = [problem for entry in entries for problem in channel_problems(entry)]
    problems += duplicate_name_problems(questionnaire, entries)
    if not entries:
        problems.append(str(_l("请填写采集点名称。")))
    if problems:
        raise FieldworkError(problems)
    taken: set[str] = set()
    channels = []
    for entry in entries:
        code = next_channel_code(questionnaire, taken)
        taken.add(code)
        channels.append(
            Channel(
                questionnaire=questionnaire,
                code=code,
                name=entry.name.strip(),
                target=entry.counts.get("target"),
                quota=entry.counts.get("quota"),
                issued=entry.counts.get("issued"),
            )
        )
    db.session.add_all(channels)
    db.session.commit()
    return channels


def name_key(name: str) -> str:
    """A channel name as compared for duplicates: full-width letters, case and spaces do not count, so
    "东街 社区" and "Hall A" match "东街社区" and "HALL  A" (two rows of results nobody could tell apart)."""
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


def name_taken(questionnaire: Questionnaire, name: str, other_than: Channel | None = None) -> Channel | None:
    """The questionnaire's channel already called ``name`` (as ``name_key`` compares), apart from ``other_than``."""
    key = name_key(name)
    return next(
        (c for c in questionnaire.channels if c is not other_than and key in (name_key(c.name), name_key(c.label))),
        None,
    )


def taken_message(name: str) -> str:
    """The refusal of a name already used, naming it."""
    return str(_l("已有名为“%(name)s”的采集点，请换一个名称。", name=name))


def duplicate_name_problems(questionnaire: Questionnaire, entries: list[ListEntry]) -> list[str]:
    """Names used by an existing channel or by an earlier row of the same list, each naming the row."""
    problems, seen = [], {}
    for entry in entries:
        name = entry.name.strip()
        if not name:
            continue
        where = str(_l("第 %(n)d 行：", n=entry.row)) if entry.row else ""
        existing, earlier = name_taken(questionnaire, name), seen.get(name_key(name))
        if existing is not None:
            problems.append(where + taken_message(existing.label))
        elif earlier is not None:
            problems.append(where + str(_l("“%(name)s”与第 %(n)d 行重复。", name=name, n=earlier.row)))
        else:
            seen[name_key(name)] = entry
    return problems


def channel_problems(entry: ListEntry) -> list[str]:
    """What is wrong with one channel entry, by the desk form's rules (name required, counts 0–10,000,000)."""
    where = str(_l("第 %(n)d 行：", n=entry.row)) if entry.row else ""
    problems = []
    name = entry.name.strip()
    if not name:
        problems.append(where + str(_l("请填写采集点名称。")))
    elif len(name) > CHANNEL_NAME_LENGTH:
        problems.append(where + str(_l("采集点名称不能超过 %(n)d 个字。", n=CHANNEL_NAME_LENGTH)))
    for key in ("target", "quota", "issued"):
        value = entry.counts.get(key)
        if value is not None and not 0 <= value <= MAX_COUNT:
            problems.append(where + str(_l("请填写 0 到 1000 万之间的整数。")))
    return problems


def add_units(questionnaire: Questionnaire, names: list[str], uses: int = 1) -> list[UnitCode]:
    """Give each new unit its own code usable ``uses`` times; names already on the list are skipped."""
    return add_unit_list(questionnaire, [ListEntry(0, name, {}) for name in names], uses)


def add_unit_list(questionnaire: Questionnaire, entries: list[ListEntry], uses: int = 1) -> list[UnitCode]:
    """Add a list of units in one transaction; an entry's own ``uses`` count overrides the default.

    Every count is checked first, so a list with one bad row adds nothing. Names are trimmed and cut
    to the column's length before duplicates are dropped, so two long names cannot collide silently.
    """
    problems = [
        (str(_l("第 %(n)d 行：", n=e.row)) if e.row else "") + str(_l("份数应在 1 到 1000 之间。"))
        for e in entries
        if not 1 <= _uses(e, uses) <= MAX_USES
    ]
    if not 1 <= uses <= MAX_USES and not problems:
        problems.append(str(_l("份数应在 1 到 1000 之间。")))
    if problems:
        raise FieldworkError(problems)
    existing = {u.unit_name for u in questionnaire.unit_codes}
    wanted: dict[str, int] = {}
    for entry in entries:
        name = entry.name.strip()[:UNIT_NAME_LENGTH]
        if name and name not in existing:
            wanted.setdefault(name, _uses(entry, uses))
    added = [UnitCode(questionnaire=questionnaire, unit_name=n, max_uses=u) for n, u in wanted.items()]
    db.session.add_all(added)
    db.session.commit()
    return added


def _uses(entry: ListEntry, default: int) -> int:
    value = entry.counts.get("uses")
    return default if value is None else value


def read_list(data: bytes) -> list[ListEntry]:
    """The rows of a CSV or XLSX list of names; a first row naming the columns is read as the header.

    Without such a header the first column is the name and the first row is data too. A count that is
    not a whole number is refused with its row, so nothing is added from a list with a typo.
    """
    try:
        table = import_reading.read_table(data)
    except import_reading.FileProblem as error:
        raise FieldworkError([str(error.message)]) from error
    columns = _list_columns(table.headers)
    rows = list(zip(table.row_numbers, table.rows, strict=True))
    if columns is None:  # no header row: the first row is a name too
        columns = {"name": 0}
        rows.insert(0, (1, table.headers))
    entries, problems = [], []
    for number, values in rows:
        counts: dict[str, int | None] = {}
        for key, index in columns.items():
            if key == "name":
                continue
            text = values[index].strip()
            counts[key] = whole_number(text)  # not isdigit(): "²" and 10²⁰ (beyond an INTEGER) were server errors
            if text and counts[key] is None:
                problems.append(str(_l("第 %(n)d 行：“%(value)s”不是整数。", n=number, value=text[:30])))
        name = values[columns["name"]].strip()
        if name or any(v is not None for v in counts.values()):
            entries.append(ListEntry(number, name, counts))
    if problems:
        raise FieldworkError(problems)
    return entries


def _list_columns(headers: list[str]) -> dict[str, int] | None:
    """Column index per known field if the first row is a header with a name column, else ``None``."""
    found: dict[str, int] = {}
    for index, header in enumerate(headers):
        label = header.strip().lower()
        for key, names in LIST_COLUMNS.items():
            if label in names and key not in found:
                found[key] = index
    return found if "name" in found else None
