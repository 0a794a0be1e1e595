"""The evaluator's Word report (.docx) from a template: the project's own, kept in the database, or the default.

A template is an ordinary .docx. Three kinds of placeholder fill it:

- ``{{ … }}`` and ``{% … %}`` in any paragraph or table cell: Jinja over the report text's figures (the names the
  report text template uses: ``valid``, ``overall.percent``, ``rates``, ``weighted``, ``rounds`` …), rendered in
  the report text's sandbox (``survey.reports.sandbox``: a bounded child process), one paragraph at a time; a
  paragraph that renders empty is left out, so ``{% if rounds %}三、与上一轮比较{% endif %}`` drops a heading;
- ``[[块名]]`` alone in a paragraph: a generated block (``word_blocks.BLOCKS``: 调查方法, 比率表, 比率图, 附件1 …);
- ``[[每题]]`` at the start of a table row: the row is repeated for every rate, its cells' Jinja seeing that rate
  as ``r`` (``r.number``, ``r.name``, ``r.percent``, ``r.denominator``, ``r.ci_low``, ``r.ci_high``,
  ``r.weighted_percent``).

A template is checked whole before it is kept, and again before each report: an unknown block, a block inside a
table, a row placeholder outside a table, or Jinja that does not parse or does not render is refused with the
place named (第 N 段, 第 T 个表格第 R 行第 C 格), and nothing is written. Runs a paragraph's Jinja touches are
merged into its first run (its formatting kept); paragraphs without placeholders are left exactly as they are.
"""

from __future__ import annotations

import copy
import io
import re
from dataclasses import dataclass
from datetime import date

from docx import Document
from docx.oxml.ns import qn
from docx.table import Table
from docx.text.paragraph import Paragraph
from flask_babel import gettext as _
from jinja2 import Environment, TemplateSyntaxError

from survey.indicators.sheet import sheet, table_of
from survey.jobs.queue import JobRefusal
from survey.models import Project, Questionnaire, WordTemplate
from survey.platform.extensions import db
from survey.reports import sandbox as report_sandbox
from survey.reports.docx_charts import RT_CHART, RT_PACKAGE
from survey.reports.docx_style import fonts_everywhere, style_document
from survey.reports.text import (
    DEFAULT_TEMPLATE,
    ReportTemplateError,
    describe_outcome,
    in_report_language,
    paragraphs,
    render_report,
    report_context,
    template_for,
)
from survey.reports.word_blocks import BLOCKS, Place
from survey.results.reporting import channel_counts, channel_label, questionnaire_results

PLACEHOLDER = re.compile(r"\[\[\s*([^\[\]]{1,20}?)\s*\]\]")
ROW_MARK = "每题"
MAX_TEMPLATE_BYTES = 5 * 1024 * 1024
FRAGMENT = "\x02{index}\x03"
FRAGMENT_SPLIT = re.compile("\x02(\\d+)\x03")
_PARSER = Environment(autoescape=False)  # noqa: S701 - only parses, to name a syntax error; renders nothing


class WordTemplateError(JobRefusal):
    """A template that cannot be used, with the place and the reason in the reader's language (a refusal an
    export job shows as it is)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class Fragment:
    """A paragraph of the template with Jinja in it, where it is, and (for a repeated row) which rate it shows."""

    paragraph: Paragraph
    place: str
    text: str
    rate: int | None = None
    removable: bool = True  # a body paragraph that renders empty is dropped; a table cell's stays


# ---------------------------------------------------------------------------------------------------------------
# Walking a template


def _body_place(number: int) -> str:
    return _("第 %(n)d 段", n=number)


def _cell_place(table: int, row: int, column: int) -> str:
    return _("第 %(t)d 个表格第 %(r)d 行第 %(c)d 格", t=table, r=row, c=column)


def _has_jinja(text: str) -> bool:
    return "{{" in text or "{%" in text or "{#" in text


def _check_jinja(text: str, place: str, problems: list[str]) -> None:
    """A syntax error names its place; parsing runs nothing, so it is safe outside the sandbox."""
    try:
        _PARSER.parse(text)
    except TemplateSyntaxError as error:
        problems.append(_("%(place)s：模板语法有误（%(error)s）。", place=place, error=error.message or ""))


def check_structure(document) -> list[str]:
    """Every problem of the template's placeholders, each with its place; empty when the template is usable."""
    problems: list[str] = []
    for number, paragraph in enumerate(document.paragraphs, start=1):
        text = paragraph.text
        for name in PLACEHOLDER.findall(text):
            if name == ROW_MARK:
                problems.append(_("%(place)s：[[每题]] 只能放在表格某一行的第一格开头。", place=_body_place(number)))
            elif name not in BLOCKS:
                known = "、".join(f"[[{n}]]" for n in BLOCKS)
                problems.append(
                    _(
                        "%(place)s：不认识的占位符 [[%(name)s]]；可用的有：%(known)s。",
                        place=_body_place(number),
                        name=name,
                        known=known,
                    )
                )
            elif not PLACEHOLDER.fullmatch(text.strip()):
                problems.append(_("%(place)s：[[%(name)s]] 必须单独占一段。", place=_body_place(number), name=name))
        if _has_jinja(text):
            _check_jinja(text, _body_place(number), problems)
    for t, table in enumerate(document.tables, start=1):
        for r, row in enumerate(table.rows, start=1):
            for c, cell in enumerate(row.cells, start=1):
                text = cell.text
                place = _cell_place(t, r, c)
                for name in PLACEHOLDER.findall(text):
                    if name != ROW_MARK:
                        problems.append(
                            _("%(place)s：[[%(name)s]] 不能放在表格里，请放在表格外单独一段。", place=place, name=name)
                        )
                    elif c != 1 or not text.strip().startswith("[[每题]]"):
                        problems.append(_("%(place)s：[[每题]] 只能放在一行的第一格开头。", place=place))
                if _has_jinja(text):
                    _check_jinja(text, place, problems)
    return problems


def _fragments(document, rate_count: int) -> list[Fragment]:
    """The paragraphs to render, with repeated rows expanded (one copy of the row per rate) first."""
    fragments: list[Fragment] = []
    for number, paragraph in enumerate(document.paragraphs, start=1):
        if _has_jinja(paragraph.text):
            fragments.append(Fragment(paragraph, _body_place(number), paragraph.text))
    for t, table in enumerate(document.tables, start=1):
        for r, row, rate in _expanded_rows(table, rate_count):
            for c, cell in enumerate(row.cells, start=1):
                for paragraph in cell.paragraphs:
                    text = paragraph.text.replace("[[每题]]", "", 1) if rate is not None and c == 1 else paragraph.text
                    if rate is not None and c == 1 and "[[每题]]" in paragraph.text:
                        _set_text(paragraph, text)
                    if _has_jinja(text):
                        fragments.append(Fragment(paragraph, _cell_place(t, r, c), text, rate, removable=False))
    return fragments


def _expanded_rows(table: Table, rate_count: int):
    """Each row (1-based number, row, rate index or None); a ``[[每题]]`` row becomes one row per rate."""
    for r, row in enumerate(list(table.rows), start=1):
        if not row.cells or not row.cells[0].text.strip().startswith("[[每题]]"):
            yield r, row, None
            continue
        template = row._tr
        for rate in range(rate_count):
            copy_tr = copy.deepcopy(template)
            template.addprevious(copy_tr)
            yield r, _row_of(table, copy_tr), rate
        template.getparent().remove(template)


def _row_of(table: Table, tr):
    return next(row for row in table.rows if row._tr is tr)


def _set_text(paragraph: Paragraph, text: str) -> None:
    """Replace a paragraph's text, keeping its first run's formatting (Word splits a typed phrase into runs)."""
    runs = paragraph.runs
    if not runs:
        paragraph.add_run(text)
        return
    runs[0].text = text
    for run in runs[1:]:
        run._r.getparent().remove(run._r)


# ---------------------------------------------------------------------------------------------------------------
# Rendering


def _render_fragments(fragments: list[Fragment], context: dict) -> list[str]:
    """All fragments in one bounded render; an error names the fragment's place."""
    pieces, starts, line = [], [], 1
    for index, fragment in enumerate(fragments):
        prefix = f"{{% set r = rates[{fragment.rate}] %}}" if fragment.rate is not None else ""
        piece = FRAGMENT.format(index=index) + prefix + fragment.text
        starts.append(line)
        line += piece.count("\n")
        pieces.append(piece)
    outcome = report_sandbox.render_bounded("".join(pieces), context)
    if outcome[0] != "ok":
        _kind, kind, error_line, detail = outcome
        position = max((i for i, start in enumerate(starts) if error_line and start <= error_line), default=None)
        where = fragments[position].place if position is not None else _("模板")
        if kind == "busy":
            raise WordTemplateError(_("同时生成的报告太多，请稍后再试。"))
        error = describe_outcome(kind, detail, report_sandbox.MAX_SECONDS)
        raise WordTemplateError(_("%(place)s：%(error)s", place=where, error=error))
    texts = [""] * len(fragments)
    parts = FRAGMENT_SPLIT.split(outcome[1])
    for index in range(1, len(parts), 2):
        texts[int(parts[index])] = parts[index + 1]
    return texts


def _apply(fragments: list[Fragment], texts: list[str]) -> None:
    for fragment, text in zip(fragments, texts, strict=True):
        text = " ".join(line.strip() for line in text.splitlines() if line.strip()) if "\n" in text else text.strip()
        if not text and fragment.removable:
            fragment.paragraph._p.getparent().remove(fragment.paragraph._p)
        else:
            _set_text(fragment.paragraph, text)


ONCE_PER_PROJECT = {"附件1"}  # blocks of the project, not of a questionnaire: written once in a project report


def _blocks(document, place_of, numbers: dict[str, int], done: set[str]) -> None:
    """Replace every ``[[块名]]`` paragraph by its block, in document order (tables and figures number in order);
    a project-wide block already written (``done``) is left out."""
    for paragraph in list(document.paragraphs):
        match = PLACEHOLDER.fullmatch(paragraph.text.strip())
        if match and match.group(1) in BLOCKS:
            name = match.group(1)
            if name not in done:
                BLOCKS[name](place_of(paragraph, numbers))
                done.update({name} & ONCE_PER_PROJECT)
            paragraph._p.getparent().remove(paragraph._p)


def method_paragraphs(questionnaire: Questionnaire, results) -> list[str]:
    """调查方法 in sentences: the collection period, the channels with their valid questionnaires, the counts."""
    sentences = []
    opened = questionnaire.published_at.date().isoformat() if questionnaire.published_at else None
    closed = questionnaire.closed_at.date().isoformat() if questionnaire.closed_at else None
    if opened:
        sentences.append(
            _("调查自 %(start)s 开始%(end)s。", start=opened, end=_("，%(end)s 结束", end=closed) if closed else "")
        )
    channels = channel_counts(questionnaire)
    if channels:
        parts = [
            _("%(channel)s %(n)d 份", channel=channel_label(code, questionnaire.channels), n=n["valid"])
            for code, n in sorted(channels.items(), key=lambda item: item[0] or "")
        ]
        sentences.append(_("有效问卷按渠道：%(parts)s。", parts="、".join(parts)))
    issued = _("发放 %(n)d 份，", n=results.issued) if results.issued is not None else ""
    sentences.append(
        _(
            "共%(issued)s回收问卷 %(returned)d 份，其中有效 %(valid)d 份。",
            issued=issued,
            returned=results.returned,
            valid=results.valid,
        )
    )
    return ["".join(sentences)]


def render_document(
    questionnaire: Questionnaire, template: bytes, numbers: dict[str, int] | None = None, done: set[str] | None = None
) -> bytes:
    """The Word report of ``questionnaire`` from ``template``; ``WordTemplateError`` names what is wrong, and
    nothing is returned half-done. ``numbers`` and ``done`` carry table and figure numbers and the project-wide
    blocks already written from one questionnaire's part of a project report to the next."""
    numbers = {"table": 0, "figure": 0} if numbers is None else numbers
    done = set() if done is None else done
    with in_report_language():
        document = _open(template)
        problems = check_structure(document)
        if problems:
            raise WordTemplateError("\n".join(problems))
        results = questionnaire_results(questionnaire)
        context = report_context(questionnaire, results)
        context["today"] = date.today().isoformat()
        context["method_paragraphs"] = method_paragraphs(questionnaire, results)
        context["report_paragraphs"] = _report_paragraphs(questionnaire, context)
        row = table_of(questionnaire.project)
        indicator_sheet = sheet(questionnaire.project, row.definition) if row is not None else None
        context["indicator_table"] = indicator_sheet is not None and "附件1" not in done
        fragments = _fragments(document, len(context["rates"]))
        _apply(fragments, _render_fragments(fragments, context))

        def place_of(paragraph, numbers):
            return Place(document, paragraph, questionnaire, results, context, indicator_sheet, numbers)

        _blocks(document, place_of, numbers, done)
        fonts_everywhere(document)
        output = io.BytesIO()
        document.save(output)
        return output.getvalue()


def _report_paragraphs(questionnaire: Questionnaire, context: dict) -> list[str]:
    try:
        text = render_report(template_for(questionnaire.project_id), context)
    except ReportTemplateError:  # a saved text template the figures no longer fit: the default still does
        text = render_report(DEFAULT_TEMPLATE, context)
    return paragraphs(text)


def _open(template: bytes):
    if len(template) > MAX_TEMPLATE_BYTES:
        raise WordTemplateError(_("模板文件太大（最多 %(n)d MB）。", n=MAX_TEMPLATE_BYTES // 1024 // 1024))
    try:
        return Document(io.BytesIO(template))
    except Exception:  # noqa: BLE001 - python-docx raises several kinds for a file that is not a .docx
        raise WordTemplateError(_("这不是 Word（.docx）文件，或文件已损坏。")) from None


def default_template() -> bytes:
    """The template that ships: headings, the method and results blocks, the comparison with the previous round
    when there is one, 附件1 and 附件2. Evaluators download it, restyle it in Word or WPS and upload it back."""
    with in_report_language():
        document = Document()
        style_document(document)
        document.add_paragraph("{{ project }}{{ title }}调查报告", style="Title")
        document.add_paragraph("报告日期：{{ today }}")
        for text, style in (
            ("一、调查方法", "Heading 1"),
            ("[[调查方法]]", None),
            ("二、调查结果", "Heading 1"),
            ("[[报告正文]]", None),
            ("[[回收表]]", None),
            ("[[比率表]]", None),
            ("[[比率图]]", None),
            ("[[加权表]]", None),
            ("[[分组表]]", None),
            ("{% if rounds %}三、与上一轮比较{% endif %}", "Heading 1"),
            ("[[变化表]]", None),
            ("[[趋势图]]", None),
            ("[[分组变化表]]", None),
            ("{% if indicator_table %}附件1　绩效评价指标评分表{% endif %}", "Heading 1"),
            ("[[附件1]]", None),
            ("附件2　调查问卷", "Heading 1"),
            ("[[附件2]]", None),
        ):
            document.add_paragraph(text, style=style)
        output = io.BytesIO()
        document.save(output)
        return output.getvalue()


# ---------------------------------------------------------------------------------------------------------------
# A project's own template


def stored_template(project_id: int) -> WordTemplate | None:
    return db.session.execute(db.select(WordTemplate).filter_by(project_id=project_id)).scalar_one_or_none()


def template_bytes(project_id: int) -> bytes:
    """The project's template, else the default."""
    stored = stored_template(project_id)
    return stored.content if stored is not None else default_template()


def check_template(project: Project, content: bytes) -> list[str]:
    """Every problem of an uploaded template: its placeholders, then a trial report of each published
    questionnaire of the project (a name the figures lack is only found by rendering)."""
    with in_report_language():
        try:
            problems = check_structure(_open(content))
        except WordTemplateError as error:
            return [error.message]
        if problems:
            return problems
        for questionnaire in project.questionnaires:
            if questionnaire.current_version is None:
                continue
            try:
                render_document(questionnaire, content)
            except WordTemplateError as error:
                return [_("用“%(title)s”试生成时：%(error)s", title=questionnaire.title, error=error.message)]
        return []


def save_word_template(project: Project, content: bytes, filename: str, user_id: int | None) -> None:
    """Keep a checked template (replacing the project's previous one)."""
    stored = stored_template(project.id) or WordTemplate(project_id=project.id, content=b"")
    stored.content, stored.filename, stored.updated_by = content, filename[:200], user_id
    db.session.add(stored)
    db.session.commit()


def reset_word_template(project: Project) -> None:
    stored = stored_template(project.id)
    if stored is not None:
        db.session.delete(stored)
        db.session.commit()


def questionnaire_report(questionnaire: Questionnaire) -> bytes:
    """The Word report of one questionnaire with its project's template."""
    return render_document(questionnaire, template_bytes(questionnaire.project_id))


def project_report(project: Project) -> bytes:
    """One Word report for the project: each published questionnaire's part from the project's template, in
    order, a page apart, tables and figures numbered through, 附件1 once."""
    questionnaires = [q for q in project.questionnaires if q.current_version is not None]
    if not questionnaires:
        raise WordTemplateError(_("项目还没有已发布的问卷，无法生成报告。"))
    template = template_bytes(project.id)
    numbers, done = {"table": 0, "figure": 0}, set()
    parts = [render_document(q, template, numbers, done) for q in questionnaires]
    master = Document(io.BytesIO(parts[0]))
    for part in parts[1:]:
        append_document(master, Document(io.BytesIO(part)))
    output = io.BytesIO()
    master.save(output)
    return output.getvalue()


def append_document(master, other) -> None:
    """Move ``other``'s body after a page break at the end of ``master``, its charts (and their embedded
    workbooks) renamed into ``master``'s package and related from its document part."""
    master.add_page_break()
    package = master.part.package
    renamed: dict[str, str] = {}
    for rel_id, rel in list(other.part.rels.items()):
        if rel.reltype != RT_CHART:
            continue
        chart = rel.target_part
        chart.partname = package.next_partname("/word/charts/chart%d.xml")
        for inner in chart.rels.values():
            if inner.reltype == RT_PACKAGE:
                inner.target_part.partname = package.next_partname("/word/embeddings/Microsoft_Excel_Worksheet%d.xlsx")
        renamed[rel_id] = master.part.relate_to(chart, RT_CHART)
    end = master.element.body.sectPr
    for element in list(other.element.body):
        if element.tag == qn("w:sectPr"):
            continue
        for reference in element.iter(qn("c:chart")):
            reference.set(qn("r:id"), renamed[reference.get(qn("r:id"))])
        end.addprevious(element)
