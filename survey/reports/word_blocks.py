"""The blocks a Word report template names (``[[比率表]]``, ``[[附件1]]`` …): each writes its tables, charts or
paragraphs where the placeholder stood. Tables are 三线表 with a numbered caption above, figures native Word charts
with a numbered caption below (``docx_style``, ``docx_charts``); numbers are rounded as the results page rounds
them. Words come in the current locale: the report renders under the report's language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from docx.text.paragraph import Paragraph
from flask_babel import gettext as _

from analysis.numbers import percent_of
from analysis.results import Results
from analysis.rounds import change_words
from survey.models import Questionnaire
from survey.reports.docx_charts import BarSeries, add_bar_chart, add_line_chart
from survey.reports.docx_style import add_run, caption, fill_cell, note, set_widths, three_line
from survey.results.presenting import rate_definition, rate_name, weighting_sentence

INDICATOR_WIDTHS = (2.2, 2.2, 2.6, 1.2, 6.4, 1.4)  # cm: 一级, 二级, 三级, 分值, 评分标准, 得分


@dataclass
class Place:
    """Where a block writes: before ``anchor`` (the placeholder's paragraph, removed afterwards), with the
    document's running table and figure numbers."""

    document: Any
    anchor: Paragraph
    questionnaire: Questionnaire
    results: Results
    context: dict
    indicators: dict | None
    numbers: dict[str, int] = field(default_factory=lambda: {"table": 0, "figure": 0})

    def paragraph(self, text: str = "", style: str | None = None) -> Paragraph:
        paragraph = self.anchor.insert_paragraph_before(style=style)
        if text:
            add_run(paragraph, text)
        return paragraph

    def table(self, title: str, header: list[str], rows: list[list[str]], numeric_from: int = 1):
        """A numbered 三线表: caption above, header row, body rows; columns from ``numeric_from`` right-aligned."""
        self.numbers["table"] += 1
        caption(self.paragraph(), _("表"), self.numbers["table"], title)
        table = self.document.add_table(rows=1 + len(rows), cols=len(header))
        self.anchor._p.addprevious(table._tbl)
        for column, text in enumerate(header):
            fill_cell(table.rows[0].cells[column], text, bold=True, right=column >= numeric_from)
        for r, cells in enumerate(rows, start=1):
            for column, text in enumerate(cells):
                fill_cell(table.rows[r].cells[column], text, right=column >= numeric_from)
        three_line(table)
        return table

    def figure(self, title: str, draw: Callable[[Paragraph], None]) -> None:
        """A native chart, then its numbered caption below."""
        self.numbers["figure"] += 1
        draw(self.paragraph())
        caption(self.paragraph(), _("图"), self.numbers["figure"], title)


def _pct(value) -> str:
    text = percent_of(value) if value is not None else None
    return f"{text}%" if text is not None else "—"


def _interval(rate) -> str:
    bounds = rate.interval_percent
    return f"{bounds[0]}%～{bounds[1]}%" if bounds else "—"


def _rates(place: Place) -> list:
    return [s.rate for s in place.results.questions if s.rate is not None]


def method(place: Place) -> None:
    """调查方法: how many were issued, returned and valid, when and through which channels, how rates are defined,
    and the weighting if any."""
    context, results = place.context, place.results
    for text in context.get("method_paragraphs", []):
        place.paragraph(text)
    if results.weighted is not None:
        place.paragraph(weighting_sentence(results.weighted))
    place.paragraph(
        _(
            "比率的 95%% 置信区间按 Wilson 方法计算；有效回答少于 %(n)d 份的比率样本量较小，结论仅供参考。",
            n=context["small_n"],
        )
    )


def report_text(place: Place) -> None:
    """The report's satisfaction section: the project's text template (or the default), rendered."""
    for text in place.context.get("report_paragraphs", []):
        place.paragraph(text)


def counts(place: Place) -> None:
    results = place.results
    rows = [
        [_("发放"), str(results.issued) if results.issued is not None else "—"],
        [_("回收"), str(results.returned)],
        [_("有效"), str(results.valid)],
        [_("已排除"), str(results.excluded)],
        [_("回收率"), f"{results.return_rate}%" if results.return_rate else "—"],
        [_("有效回收率"), f"{results.valid_rate}%" if results.valid_rate else "—"],
    ]
    place.table(_("问卷回收情况"), [_("项目"), _("数值")], rows)
    note(place.paragraph(), _("口径：回收率 = 回收份数 ÷ 发放份数；有效回收率 = 有效份数 ÷ 发放份数。"))


def rates(place: Place) -> None:
    rows = [
        [_("第%(number)s题", number=r.question_number), rate_name(r), f"{r.percent}%" if r.percent else "—",
         str(r.denominator), _interval(r)]
        for r in _rates(place)
    ]  # fmt: skip
    if not rows:
        return
    place.table(_("各题比率"), [_("题目"), _("比率"), _("数值"), "n", _("95%置信区间")], rows, numeric_from=2)
    for rate in _rates(place):
        note(place.paragraph(), rate_definition(rate))


def rates_chart(place: Place) -> None:
    items = [r for r in _rates(place) if r.denominator]
    if not items:
        return
    categories = [_("第%(number)s题", number=r.question_number) + rate_name(r) for r in items]
    intervals = [r.interval for r in items]
    series = [
        BarSeries(
            _("比率"),
            [r.value for r in items],
            [i[0] if i else None for i in intervals],
            [i[1] if i else None for i in intervals],
        )
    ]
    place.figure(
        _("各题比率及其 95% 置信区间"),
        lambda p: add_bar_chart(p, title=_("各题比率"), categories=categories, series=series),
    )


def weighted(place: Place) -> None:
    figures = place.results.weighted
    if figures is None:
        return
    rows = []
    if figures.overall is not None and place.results.overall is not None:
        rows.append([_("总体满意度"), _pct(place.results.overall.value), *_estimate_cells(figures.overall)])
    for rate in _rates(place):
        estimate = figures.rates.get(rate.question_key)
        if estimate is not None:
            name = _("第%(number)s题", number=rate.question_number) + rate_name(rate)
            rows.append([name, f"{rate.percent}%" if rate.percent else "—", *_estimate_cells(estimate)])
    header = [_("项目"), _("未加权"), _("加权"), _("95%置信区间"), "n", _("有效样本量")]
    place.table(_("加权结果"), header, rows)
    note(place.paragraph(), _("加权值的口径见“调查方法”；n 为未加权的基数问卷数，有效样本量 = (Σw)² ÷ Σw²。"))


def _estimate_cells(estimate) -> list[str]:
    interval = f"{percent_of(estimate.low)}%～{percent_of(estimate.high)}%" if estimate.low is not None else "—"
    effective = f"{estimate.n_effective:.1f}" if estimate.n_effective else "—"
    return [_pct(estimate.estimate), interval, str(estimate.n), effective]


def breakdowns(place: Place) -> None:
    rated = [s for s in place.results.questions if s.rate is not None]
    for breakdown in place.results.breakdowns:
        header = [_("组别"), _("人数")] + [_("第%(number)s题", number=s.question["number"]) for s in rated]
        rows = [
            [row.text, str(row.respondents)]
            + [f"{r.percent}%（n={r.denominator}）" if r.percent else "—" for r in row.rates]
            for row in breakdown.rows
        ]
        place.table(_("按“%(group)s”分组的比率", group=breakdown.group["text"]), header, rows)


def _cell_rate(rate) -> str:
    return f"{rate.percent}%（n={rate.denominator}）" if rate.percent else "—"


def _words(change) -> str:
    if change is None:
        return "—"
    template, params = change_words(change)
    return _(template, **params)


def rounds(place: Place) -> None:
    comparison = place.results.rounds
    if comparison is None:
        return
    header = [_("比率"), *comparison.labels, _("较上一轮")]
    rows = []
    if comparison.overall is not None:
        values = [_pct(value) for _label, value in comparison.overall.values]
        rows.append([_("总体满意度"), *values, _words(comparison.overall.headline_change)])
    for series in comparison.rates:
        values = [f"{f.rate.percent}%" if f.rate and f.rate.percent else "—" for f in series.rounds]
        name = _("第%(number)s题", number=series.number) + rate_name(series.rate)
        rows.append([name, *values, _words(series.headline_change)])
    place.table(_("与上一轮比较"), header, rows)
    note(
        place.paragraph(),
        _(
            "变化的 95% 置信区间：未加权用 Newcombe 混合 score 区间，加权用两轮加权估计值的标准误；"
            "区间包含 0 时注明“变化不显著”。"
        ),
    )


def trend(place: Place) -> None:
    comparison = place.results.rounds
    if comparison is None:
        return
    series = [BarSeries(_("总体满意度"), [v for _l, v in comparison.overall.values])] if comparison.overall else []
    for rate_series in comparison.rates[:7]:
        name = _("第%(number)s题", number=rate_series.number) + rate_name(rate_series.rate)
        series.append(BarSeries(name, [f.rate.value if f.rate else None for f in rate_series.rounds]))
    place.figure(
        _("各轮比率趋势"),
        lambda p: add_line_chart(p, title=_("各轮比率趋势"), categories=comparison.labels, series=series),
    )


def group_changes(place: Place) -> None:
    comparison = place.results.rounds
    if comparison is None or len(comparison.labels) < 2:
        return
    for group in comparison.groups:
        rows_by_name = {row.text: row for row in group.rows}
        rows = []
        for ranked in group.ranking:
            row = rows_by_name[ranked.name]
            small = _("（样本量小）") if ranked.small_sample else ""
            rows.append([
                str(ranked.rank or "—"), ranked.name + small,
                _pct(row.previous_value),
                _pct(row.current_value),
                _words(row.change),
            ])  # fmt: skip
        header = [_("排名"), _("组别"), comparison.labels[-2], comparison.labels[-1], _("变化")]
        series = next((s for s in comparison.rates if s.key == group.question_key), None)
        question = _("第%(number)s题", number=series.number) + rate_name(series.rate) if series else group.question_key
        place.table(
            _("按“%(group)s”的变化与排名（%(question)s）", group=group.group_text, question=question), header, rows
        )


def indicators(place: Place) -> None:
    """附件1: the indicator table with its 一级/二级 cells merged over their leaves, 分值, 得分, then the 扣分 list."""
    sheet = place.indicators
    if sheet is None or not sheet["rows"]:
        return
    place.numbers["table"] += 1
    title = sheet["definition"].get("title") or _("绩效评价指标评分表")
    caption(place.paragraph(), _("表"), place.numbers["table"], title)
    result = sheet["result"]
    header = [_("一级指标"), _("二级指标"), _("三级指标"), _("分值"), _("评分标准"), _("得分")]
    table = place.document.add_table(rows=1 + len(sheet["rows"]) + 1, cols=6)
    place.anchor._p.addprevious(table._tbl)
    for column, text in enumerate(header):
        fill_cell(table.rows[0].cells[column], text, bold=True, right=column in (3, 5))
    for index, row in enumerate(sheet["rows"], start=1):
        _indicator_row(table, index, row, sheet, result)
    last = len(sheet["rows"]) + 1
    total = table.rows[last].cells[0].merge(table.rows[last].cells[2])
    fill_cell(total, _("合计"), bold=True)
    fill_cell(table.rows[last].cells[3], str(sheet["total_points"]), right=True)
    grade = f"{_('评价等级')}：{result.grade}" if result and result.grade else _("评价等级")
    fill_cell(table.rows[last].cells[4], grade, bold=True)
    fill_cell(table.rows[last].cells[5], str(result.total) if result else "—", bold=True, right=True)
    three_line(table)
    set_widths(table, INDICATOR_WIDTHS)
    _deductions(place, sheet)


def _indicator_row(table, index: int, row, sheet: dict, result) -> None:
    """One leaf's row; the cells its ancestors open here are merged down over their leaves."""
    cells = table.rows[index].cells
    for node, level, span in row.cells:
        if node is row.leaf:
            continue
        column = level - 1
        merged = cells[column].merge(table.rows[index + span - 1].cells[column]) if span > 1 else cells[column]
        score = result.scores.get(node["key"]) if result else None
        fill_cell(merged, f"{node['name']}（{node['points']}分" + (f"，得{score}分）" if score is not None else "）"))
    leaf_column = row.level - 1
    leaf_cell = cells[leaf_column].merge(cells[2]) if leaf_column < 2 else cells[2]
    fill_cell(leaf_cell, row.leaf["name"])
    fill_cell(cells[3], str(row.leaf["points"]), right=True)
    fill_cell(cells[4], sheet["standard"](row.leaf))
    score = result.scores.get(row.leaf["key"]) if result else None
    fill_cell(cells[5], str(score) if score is not None else "—", right=True)


def _deductions(place: Place, sheet: dict) -> None:
    result = sheet["result"]
    if result is None or not result.deductions:
        place.paragraph(_("已评分的指标都得满分。"))
        return
    rows = [[d.name, str(d.points), str(d.score), str(d.lost), sheet["say"](d.reason)] for d in result.deductions]
    place.table(_("扣分情况"), [_("指标"), _("分值"), _("得分"), _("扣分"), _("原因")], rows)


def questionnaire(place: Place) -> None:
    """附件2: the questionnaire as the respondents saw it: sections, numbered questions, their options."""
    version = place.questionnaire.current_version
    definition = version.definition if version else place.questionnaire.definition
    place.paragraph(definition.get("title") or place.questionnaire.title, style="Heading 2")
    for section in definition.get("sections", []):
        if section.get("title"):
            place.paragraph(section["title"], style="Heading 3")
        for question in section.get("questions", []):
            place.paragraph(
                f"{question.get('number') or ''}{'. ' if question.get('number') else ''}{question.get('text', '')}"
            )
            items = question.get("items") or []
            for item in items:
                place.paragraph(f"　　{item.get('text', '')}")
            options = "　".join(f"□{o.get('text', '')}" for o in question.get("options") or [])
            if options:
                place.paragraph(f"　　{options}")


BLOCKS: dict[str, Callable[[Place], None]] = {
    "调查方法": method,
    "报告正文": report_text,
    "回收表": counts,
    "比率表": rates,
    "比率图": rates_chart,
    "加权表": weighted,
    "分组表": breakdowns,
    "变化表": rounds,
    "趋势图": trend,
    "分组变化表": group_changes,
    "附件1": indicators,
    "附件2": questionnaire,
}
