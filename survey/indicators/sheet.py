"""A project's indicator table as the 附件1 sheet shows it: rows, scores, linked values, deductions.

One non-view place for what the desk's table page, its print view and the report PDF all print, so a
linked leaf shows the same live figure and score wherever the table appears (``survey.indicators.links``
resolves the links; ``analysis.indicators`` scores). Words come out in the current locale: the report
PDF renders under the report's locale, the desk under the desk's.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _

from analysis.indicators import DEFAULT_GRADES, iter_nodes, score_table, standard_wording, validate_table
from analysis.scoring import D
from survey.indicators.links import figure_wording, link_of, resolve_links
from survey.models import IndicatorTable, Project
from survey.platform.extensions import db
from survey.results.presenting import say


def table_of(project: Project) -> IndicatorTable | None:
    """The project's indicator table row, or None when it has none yet."""
    return db.session.execute(db.select(IndicatorTable).filter_by(project_id=project.id)).scalar_one_or_none()


@dataclass
class Row:
    """One 三级 row of the 附件1 layout, with the cells it opens (rowspan > 0) for its ancestors."""

    cells: list[tuple[dict, int, int]]  # (node, level, rowspan) for the nodes whose cells start here
    leaf: dict
    level: int


def layout_rows(nodes: list[dict]) -> list[Row]:
    """Rows of the table: one per leaf; a 一级/二级 cell spans all its leaves."""

    def count(node):
        children = node.get("children") or []
        return sum(count(c) for c in children) if children else 1

    rows: list[Row] = []

    def walk(node, level, opening):
        children = node.get("children") or []
        opening = [*opening, (node, level, count(node))]
        if not children:
            rows.append(Row(opening, node, level))
            return
        for index, child in enumerate(children):
            walk(child, level + 1, opening if index == 0 else [])

    for node in nodes:
        walk(node, 1, [])
    return rows


def standard_text(node: dict) -> str:
    """The leaf's 评分标准 as every 附件1 prints it (``analysis.indicators.standard_wording``: its own text,
    else its rule in words), in the current locale."""
    return say(standard_wording(node))


def link_text(project: Project, link: dict) -> str:
    """Which survey figure a leaf is linked to, in words: questionnaire · figure (“第 5 题满意率”) · channel."""
    questionnaire = next((q for q in project.questionnaires if q.id == link.get("questionnaire")), None)
    parts = [questionnaire.title if questionnaire else _("（问卷不存在）"), say(figure_wording(link))]
    if link.get("channel"):
        parts.append(_("渠道 %(channel)s", channel=link["channel"]))
    return " · ".join(parts)


def percent_text(value: Decimal | None) -> str | None:
    """A linked value as the sheet prints it: two decimals, half up."""
    return None if value is None else str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def sheet(project: Project, definition: dict) -> dict:
    """Everything the 附件1 sheet shows: rows, scores, links and their current values, deductions, problems.

    Links are resolved once here; the same dict feeds the desk page (as template context) and the
    report PDF, so both print the same figures.
    """
    problems = validate_table(definition)
    errors = [p for p in problems if not p.warning]
    links = resolve_links(project, definition) if not errors else None
    result = score_table(definition, linked=links.values) if not errors else None
    unscored = []
    if result is not None:
        names = {n["key"]: n.get("name") for n, _p, _l in iter_nodes(definition["indicators"])}
        for key, wording in result.errors.items():
            why = links.errors.get(key, wording)
            unscored.append((key, names.get(key), say(why)))
    return {
        "definition": definition,
        "rows": layout_rows(definition.get("indicators") or []) if not errors else [],
        "result": result,
        "problems": [(p.path, say(p.wording), p.warning) for p in problems],
        "unscored": unscored,
        "standard": standard_text,
        "link_text": lambda link: link_text(project, link),
        "linked_value": lambda key: percent_text(links.values.get(key)) if links else None,
        "link_of": link_of,
        "say": say,
        "grades": definition.get("grades") or DEFAULT_GRADES,
        "total_points": sum((D(n["points"]) for n in definition["indicators"]), Decimal(0)) if not errors else None,
    }
