"""Population tables: read from a file or pasted rows, checked against the questionnaire, stored whole or not at all.

A table is for one respondent-group question (年龄段) or several cross-classified (乡镇 × 性别). Its rows give
one option per question, by the option's text (or key), then the number of people: the layout of a 七普 or
统计年鉴 table once copied into Excel. ``blank_table`` writes the table to fill, every cell listed. Every
problem is reported by name and row, and nothing is stored until the table is right:

- a category that is not an option of its question, a cell given twice, a count that is not a non-negative number,
  a 合计 row or column that is not the sum of its cells (a mistyped figure in the source);
- an option (or a combination, for a cross table) with no count: a category left out would silently shrink the
  population;
- once the questionnaire has valid responses: a category with people but no respondents (nobody can stand for
  them), or with respondents but no people;
- a total that disagrees with another table of the questionnaire (raking needs the same population in every
  table; a small disagreement from rounding in the source must be settled by the evaluator, not by us).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from analysis.lazy import lazy_module
from analysis.weighted_results import PopulationMargin, cell_label, every_cell, margin_cells
from survey.collection.import_reading import Table, clean_cell, normalized
from survey.models import PopulationTable, Questionnaire
from survey.platform.csv_files import table_csv
from survey.platform.extensions import db
from survey.results.reporting import load_response_set, schema_for
from survey.results.weighting_spec import channel_question

MAX_CELLS = 10_000
MAX_NAME = 100
# Totals agree when they differ by less than this share: raking refuses anything more (analysis.weighting.rake).
TOTAL_AGREEMENT = 1e-9
COUNT_HEADER = "人数"
NUMBER = re.compile(r"^[+]?(\d+(\.\d*)?|\.\d+)$")
TOTAL_WORDS = {normalized(word) for word in ("合计", "总计", "小计", "总数", "总人口", "全县", "全区", "total", "sum")}

np = lazy_module("numpy")


@dataclass
class TableCheck:
    """The outcome of checking a table: its cells when it is right, else every problem found."""

    cells: list[dict] = field(default_factory=list)
    problems: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def weighting_questions(questionnaire: Questionnaire) -> list[dict]:
    """The questions a population table may be for: single-answer questions describing the respondent, the
    respondent-group questions (乡镇, 性别) first, then other single-answer questions without a rate (a 年龄段
    asked as a plain single choice), and the channel when interviews are organised by channel. Rated questions
    and attention checks are opinions, not who answered."""
    schema = [q for q in schema_for(questionnaire) if q["storage"] == "one" and q.get("options")]
    about = [q for q in schema if not q.get("attention_correct") and not any(o.get("positive") for o in q["options"])]
    channel = channel_question(questionnaire)
    return (
        [q for q in about if q.get("group")] + [q for q in about if not q.get("group")] + ([channel] if channel else [])
    )


def blank_table(questions: list[dict]) -> bytes:
    """A CSV to fill in: one column per question, every combination of options, and an empty 人数 column."""
    columns = [q["text"] for q in questions] + [COUNT_HEADER]
    options = [q["options"] for q in questions]
    texts = [{o["key"]: o["text"] for o in choices} for choices in options]
    rows = [
        {column: text[key] for column, text, key in zip(columns, texts, keys, strict=False)}
        for keys in every_cell(options)
    ]
    return table_csv(rows, columns)


def _option_lookup(question: dict) -> dict[str, str]:
    """An option's key by its text or its key, compared without spaces, punctuation or case."""
    lookup = {normalized(o["key"]): o["key"] for o in question["options"]}
    lookup.update({normalized(o["text"]): o["key"] for o in question["options"]})
    return lookup


def match_option(lookup: dict[str, str], text: str, loose: bool = False) -> str | None:
    """The option a label means: the same text; with ``loose`` (a yearbook's column headers) also the one option
    whose text the label contains, when exactly one does (男性 for the option 男). Category cells stay exact: a
    place name a letter short may be another place."""
    label = normalized(text)
    if label in lookup or not loose:
        return lookup.get(label)
    near = {key for name, key in lookup.items() if label and name and name in label}
    return near.pop() if len(near) == 1 else None


def _option_text(question: dict, key: str) -> str:
    return next(o["text"] for o in question["options"] if o["key"] == key)


def skip_titles(table: Table) -> Table:
    """A sheet copied from a yearbook often starts with its title ("表 2-3 各乡镇分性别人口") above the header row:
    rows with fewer than two filled cells are passed over until the real header."""
    while sum(1 for h in table.headers if h) < 2 and table.rows:
        table = Table(
            headers=table.rows[0],
            rows=table.rows[1:],
            sha256=table.sha256,
            row_numbers=table.row_numbers[1:],
            header_row=table.row_numbers[0] if table.row_numbers else table.header_row + 1,
        )
    return table


def parse_count(text: str) -> float | None:
    """People as written in a statistical table: digits with optional thousands separators or a decimal part."""
    value = clean_cell(text).replace(",", "").replace("，", "").replace(" ", "")
    if not NUMBER.match(value):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def is_total(text: str) -> bool:
    """A 合计/总计 row or column of a statistical table: the sum of the others, not a category."""
    return normalized(text) in TOTAL_WORDS


def as_long(table: Table, questions: list[dict]) -> Table:
    """A cross table laid out as 统计年鉴 print it (rows: the first question's options, columns: the second's)
    as one row per cell; any other table as it is. 合计 rows and columns are left out (they are sums)."""
    if len(questions) != 2:
        return table
    lookup = _option_lookup(questions[1])
    columns = [(i, h) for i, h in enumerate(table.headers) if i and h and not is_total(h)]
    if not columns or any(match_option(lookup, h, loose=True) is None for _i, h in columns):
        return table
    rows, numbers = [], []
    for position, row in enumerate(table.rows):
        if is_total(row[0]):
            continue
        for index, header in columns:
            rows.append([row[0], _option_text(questions[1], match_option(lookup, header, loose=True)), row[index]])
            numbers.append(table.row_numbers[position] if table.row_numbers else position + 2)
    headers = [questions[0]["text"], questions[1]["text"], COUNT_HEADER]
    return Table(headers=headers, rows=rows, sha256=table.sha256, row_numbers=numbers, header_row=table.header_row)


def _line(table: Table, position: int) -> int:
    return table.row_numbers[position] if table.row_numbers else position + 2


def _sum(values: list[str]) -> float | None:
    counts = [parse_count(value) for value in values]
    return None if any(count is None for count in counts) else sum(counts)


def _total_problem(line: int, stated: str, computed: float | None):
    """A 合计 that is not the sum of its cells, named by its row (a mistyped cell or total in the source)."""
    total = parse_count(stated)
    if total is None or computed is None or abs(total - computed) <= 1e-9 * max(abs(total), 1.0):
        return None
    return _l("第 %(row)d 行：合计 %(total)g 与各格之和 %(sum)g 不符。", row=line, total=total, sum=computed)


def check_totals(table: Table, questions: list[dict]) -> list:
    """The table's own 合计 rows and columns checked against its cells: in the yearbook layout each row's 合计
    column and the 合计 row's every column; with one question a 合计 row against the sum of the others."""
    problems = []
    totals = [i for i, h in enumerate(table.headers) if i and is_total(h)]
    cells = [i for i, h in enumerate(table.headers) if i and h and not is_total(h)]
    data = [(p, row) for p, row in enumerate(table.rows) if not is_total(row[0])]
    if len(questions) == 2 and totals and cells:
        for position, row in data:
            problems.append(_total_problem(_line(table, position), row[totals[0]], _sum([row[i] for i in cells])))
    for position, row in enumerate(table.rows):
        if not is_total(row[0]):
            continue
        if len(questions) == 2 and cells:
            for column in cells:
                computed = _sum([other[column] for _p, other in data])
                problems.append(_total_problem(_line(table, position), row[column], computed))
            if totals:  # the grand total: every cell of the table
                computed = _sum([other[column] for _p, other in data for column in cells])
                problems.append(_total_problem(_line(table, position), row[totals[0]], computed))
        elif len(questions) == 1:
            count_column = max((i for i, header in enumerate(table.headers) if header), default=-1)
            if count_column > 0:
                computed = _sum([other[count_column] for _p, other in data])
                problems.append(_total_problem(_line(table, position), row[count_column], computed))
    return list(dict.fromkeys(p for p in problems if p is not None))


def read_cells(table: Table, questions: list[dict]) -> TableCheck:
    """The table's cells by option keys; columns are the questions in order, then the count (the last column
    with a header), or for two questions the 统计年鉴 layout (``as_long``). 合计 rows are left out. Every bad row
    is reported with its row number in the file."""
    table = skip_titles(table)
    check = TableCheck(problems=check_totals(table, questions))
    table = as_long(table, questions)
    width = len(questions)
    count_column = max((i for i, header in enumerate(table.headers) if header), default=-1)
    if count_column < width:
        check.problems.append(
            _l("表格应有 %(n)d 列：%(columns)s，再加一列人数。", n=width + 1, columns=_names(questions))
        )
        return check
    if len(table.rows) > MAX_CELLS:
        check.problems.append(_l("人口表超过 %(n)d 行。", n=MAX_CELLS))
        return check
    lookups = [_option_lookup(q) for q in questions]
    seen: dict[tuple[str, ...], int] = {}
    for position, row in enumerate(table.rows):
        line = table.row_numbers[position] if table.row_numbers else position + 2
        if any(is_total(cell) for cell in row[:width]):
            continue
        keys = _row_keys(row, questions, lookups, line, check)
        count = parse_count(row[count_column])
        if count is None:
            check.problems.append(
                _l("第 %(row)d 行：人数“%(value)s”不是非负的数。", row=line, value=clean_cell(row[count_column]))
            )
        if keys is None or count is None:
            continue
        if keys in seen:
            check.problems.append(_l("第 %(row)d 行与第 %(first)d 行是同一类别。", row=line, first=seen[keys]))
            continue
        seen[keys] = line
        check.cells.append({"options": list(keys), "count": count})
    _report_missing(questions, seen, check)
    check.problems = list(dict.fromkeys(check.problems))  # a yearbook row's typo is one problem, not one per column
    return check


def _names(questions: list[dict]) -> str:
    return "、".join(f"“{q['text']}”" for q in questions)


def _row_keys(row: list[str], questions: list[dict], lookups: list[dict], line: int, check: TableCheck):
    keys = []
    for column, (question, lookup) in enumerate(zip(questions, lookups, strict=True)):
        key = match_option(lookup, row[column])
        if key is None:
            check.problems.append(
                _l(
                    "第 %(row)d 行：“%(value)s”不是“%(question)s”的选项。",
                    row=line,
                    value=clean_cell(row[column]),
                    question=question["text"],
                )
            )
            return None
        keys.append(key)
    return tuple(keys)


def _report_missing(questions: list[dict], seen: dict, check: TableCheck) -> None:
    """Every option (every combination) must have a count: name the ones that have none."""
    if check.problems:
        return
    options = [q["options"] for q in questions]
    missing = [cell_label(options, keys) for keys in every_cell(options) if keys not in seen]
    if missing:
        shown = "、".join(f"“{m}”" for m in missing[:20]) + ("……" if len(missing) > 20 else "")
        check.problems.append(_l("这些类别没有人数：%(cells)s。每一类都要填，没有人的填 0。", cells=shown))


def check_against_responses(questionnaire: Questionnaire, questions: list[dict], check: TableCheck, name: str):
    """Once there are valid responses: a category with people needs respondents, one with respondents needs people."""
    if not check.ok:
        return
    schema = schema_for(questionnaire)
    frame = load_response_set(questionnaire, schema).frame
    if not len(frame):
        return
    margin = PopulationMargin(name, tuple(questions), {tuple(c["options"]): c["count"] for c in check.cells})
    cells, population = margin_cells(frame, margin)
    respondents = np.bincount(cells.codes[cells.codes >= 0], minlength=len(population))
    for (label, people), answered in zip(population.items(), respondents, strict=True):
        if people > 0 and answered == 0:
            check.problems.append(
                _l("“%(cell)s”有 %(people)g 人，但没有一份有效回答，无法代表。", cell=label, people=people)
            )
        elif people == 0 and answered > 0:
            check.problems.append(_l("“%(cell)s”的人数为 0，但有 %(n)d 份有效回答。", cell=label, n=int(answered)))


def check_total(questionnaire: Questionnaire, name: str, check: TableCheck) -> None:
    """The table's total must equal every other table's: the same population, counted the same way."""
    if not check.ok:
        return
    total = sum(cell["count"] for cell in check.cells)
    if total <= 0:
        check.problems.append(_l("人口表的总人数为 0。"))
        return
    for other in questionnaire.population_tables:
        if other.name == name:
            continue
        other_total = sum(float(cell["count"]) for cell in other.cells)
        if abs(other_total - total) > TOTAL_AGREEMENT * max(total, other_total):
            check.problems.append(
                _l(
                    "总人数 %(total)g 与人口表“%(other)s”的 %(other_total)g 不一致：同一总体的各张表总数应相同。",
                    total=total,
                    other=other.name,
                    other_total=other_total,
                )
            )


def check_table(questionnaire: Questionnaire, name: str, questions: list[dict], table: Table) -> TableCheck:
    """Every check, in order; the cells are safe to store only if no problem was found."""
    check = read_cells(table, questions)
    check_total(questionnaire, name, check)
    check_against_responses(questionnaire, questions, check, name)
    return check


def save_table(questionnaire: Questionnaire, name: str, source: str, questions: list[dict], cells: list[dict]):
    """Store a checked table, replacing one of the same name."""
    table = next((t for t in questionnaire.population_tables if t.name == name), None)
    if table is None:
        table = PopulationTable(questionnaire=questionnaire, name=name, question_keys=[], cells=[])
        db.session.add(table)
    table.source = source
    table.question_keys = [q["key"] for q in questions]
    table.cells = cells
    db.session.commit()
    return table


def table_in_use(questionnaire: Questionnaire, table: PopulationTable) -> bool:
    """A table the weighting scheme or the sample plan uses cannot be deleted until they stop using it."""
    scheme, plan = questionnaire.weighting, questionnaire.sample_plan
    return bool((scheme and table.name in scheme.table_names) or (plan and plan.table_name == table.name))


def delete_table(table: PopulationTable) -> None:
    db.session.delete(table)
    db.session.commit()
