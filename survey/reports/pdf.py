"""Printable PDFs of a questionnaire: the results report, and the questionnaire as a paper form.

Both are laid out by WeasyPrint from ``templates/pdf/`` with the vendored CJK font subset embedded,
exactly as ``survey.collection.posters`` does (local files and ``data:`` URIs only, nothing leaves the machine).
Charts are inline SVG drawn by the template from numbers computed here: no JavaScript in a PDF.

The report, always in the report's language (``survey.reports.text.REPORT_LOCALE``) whatever the desk's:
cover, method (sample, channels, rate definitions, the generated report text), counts, charts, tables
of rates and frequencies, the project's indicator table (附件1, the desk's ``indicators.sheet.sheet``:
live linked figures, scores, 扣分), the exclusions (Beijing time, labelled) and the written answers in
full; sections are numbered over those present, so a missing one leaves no gap.
The paper form: the current version (or the draft), every question numbered, options numbered as
paper entry (``survey.collection.paper``) expects them, skip logic in words.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, render_template
from flask_babel import get_locale
from flask_babel import gettext as _

from analysis.results import Results
from survey.collection.review import decision_name, excluded, review_log
from survey.indicators.sheet import sheet, table_of
from survey.models import Questionnaire
from survey.platform.fonts import font_uris, write_pdf
from survey.platform.localtime import local_text, time_label
from survey.questionnaires.definition import numbered_sections
from survey.questionnaires.describing import condition_index, describe_condition
from survey.questionnaires.localize import localize_definition
from survey.reports.text import (
    DEFAULT_TEMPLATE,
    ReportTemplateError,
    in_report_language,
    paragraphs,
    render_report,
    report_context,
    template_for,
    tidy,
)
from survey.results.presenting import rate_definition, rate_name
from survey.results.reporting import channel_counts, channel_label, questionnaire_results

# Bar charts: SVG user units (1 unit = 1 px at 96 dpi in WeasyPrint); the label column, then the bar.
CHART_WIDTH = 640
LABEL_WIDTH = 230
BAR_WIDTH = CHART_WIDTH - LABEL_WIDTH - 60
ROW_HEIGHT = 22
CHINESE_NUMERALS = "一二三四五六七八九十"


def _render(template: str, **context: Any) -> bytes:
    return write_pdf(render_template(template, font_uri=font_uris(), **context))


def _short(text: str, limit: int = 16) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _bars(rows: list[dict]) -> dict:
    """Geometry of a horizontal bar chart: ``rows`` have label, value (0–1), optional low/high, small."""
    bars = []
    for index, row in enumerate(rows):
        value = row.get("value") or 0.0
        bar = {
            "label": _short(row["label"]),
            "text": row.get("text", ""),
            "y": index * ROW_HEIGHT + 4,
            "width": round(BAR_WIDTH * value, 1),
            "small": row.get("small", False),
            "whisker": None,
        }
        if row.get("low") is not None and row.get("high") is not None:
            bar["whisker"] = (round(BAR_WIDTH * row["low"], 1), round(BAR_WIDTH * row["high"], 1))
        bars.append(bar)
    return {
        "bars": bars,
        "height": len(rows) * ROW_HEIGHT + 22,
        "label_width": LABEL_WIDTH,
        "bar_width": BAR_WIDTH,
        "width": CHART_WIDTH,
        "row_height": ROW_HEIGHT,
        "ticks": [(round(BAR_WIDTH * t / 100, 1), t) for t in (0, 25, 50, 75, 100)],
    }


def _rate_chart(results: Results) -> dict | None:
    rows = []
    for summary in results.questions:
        rate = summary.rate
        if rate is None or rate.value is None:
            continue
        interval = rate.interval
        rows.append(
            {
                "label": _("第%(number)s题", number=rate.question_number) + " " + summary.question.get("text", ""),
                "value": rate.value,
                "low": interval[0] if interval else None,
                "high": interval[1] if interval else None,
                "small": rate.small_sample,
                "text": f"{rate.percent}%",
            }
        )
    return _bars(rows) if rows else None


def _option_charts(results: Results) -> dict[str, dict]:
    charts = {}
    for summary in results.questions:
        if summary.options and summary.answered:
            rows = [
                {
                    "label": f"{number}. {o.text}",
                    "value": o.count / o.answered if o.answered else 0.0,
                    "text": f"{o.percent}%" if o.percent is not None else "—",
                }
                for number, o in enumerate(summary.options, start=1)
            ]
            charts[summary.question["key"]] = _bars(rows)
    return charts


def _indicator_table(questionnaire: Questionnaire) -> dict | None:
    """The project's 附件1 sheet (rows, live linked values, scores, deductions), as the desk shows it."""
    row = table_of(questionnaire.project)
    return None if row is None else sheet(questionnaire.project, row.definition)


def _text_answers(results: Results) -> list[dict]:
    """Questions with written answers (text questions and what was written under 其他), for the appendix."""
    found = []
    for summary in results.questions:
        if summary.texts:
            found.append({"question": summary.question, "label": _("文字回答"), "texts": summary.texts})
        if summary.other_texts:
            found.append({"question": summary.question, "label": _("其他（请注明）"), "texts": summary.other_texts})
    return found


def section_numbers(present: list[str]) -> dict[str, str]:
    """Numerals of the report's sections, consecutive over the sections actually printed.

    Chinese reports number 一、二、三…; other languages 1, 2, 3. A section left out (no indicator table,
    no written answers) leaves no gap.
    """
    chinese = str(get_locale()).startswith("zh")
    return {key: CHINESE_NUMERALS[index] if chinese else str(index + 1) for index, key in enumerate(present)}


def headings(numbers: dict[str, str]) -> dict[str, str]:
    """What stands before each section's title: "五、" in Chinese, "5. " otherwise."""
    chinese = str(get_locale()).startswith("zh")
    return {key: f"{numeral}、" if chinese else f"{numeral}. " for key, numeral in numbers.items()}


def definition_text(rate) -> str:
    """A rate's definition under the report's 口径 heading: without its own "口径：" lead, spaced as Chinese."""
    text = tidy(rate_definition(rate))
    lead = _("口径：")
    return text[len(lead) :] if text.startswith(lead) else text


def local_time(moment: dt.datetime | None) -> str:
    """A stored (UTC) time on the project's clock, to the minute, as every export writes it."""
    return local_text(moment, pattern="%Y-%m-%d %H:%M")


def _report_text(questionnaire: Questionnaire, context: dict) -> list[str]:
    try:
        text = render_report(template_for(questionnaire.project_id), context)
    except ReportTemplateError:  # a saved template the figures no longer fit: the default still does
        text = render_report(DEFAULT_TEMPLATE, context)
    return paragraphs(text)


def _channels(questionnaire: Questionnaire) -> list[dict]:
    return [
        {"label": channel_label(code, questionnaire.channels), "valid": n["valid"], "excluded": n["excluded"]}
        for code, n in sorted(channel_counts(questionnaire).items(), key=lambda item: item[0] or "")
    ]


def report_pdf(questionnaire: Questionnaire) -> bytes:
    """The printable results report of ``questionnaire`` as PDF bytes, in the report's language."""
    with in_report_language():
        results = questionnaire_results(questionnaire)
        indicators = _indicator_table(questionnaire)
        texts = _text_answers(results)
        context = report_context(questionnaire, results)
        present = ["method", "counts", "rates", "frequencies"]
        present += ["indicators"] * bool(indicators) + ["exclusions"] + ["texts"] * bool(texts)
        numbers = section_numbers(present)
        return _render(
            "pdf/report.html",
            questionnaire=questionnaire,
            project=questionnaire.project,
            version=questionnaire.current_version,
            today=dt.date.today(),
            results=results,
            report_paragraphs=_report_text(questionnaire, context),
            overall=context["overall"],
            channels=_channels(questionnaire),
            rate_chart=_rate_chart(results),
            option_charts=_option_charts(results),
            rates=[s.rate for s in results.questions if s.rate is not None],
            rate_name=rate_name,
            rate_definition=definition_text,
            small_n=current_app.config["SMALL_SAMPLE_N"],
            indicators=indicators,
            text_answers=texts,
            number=numbers,
            heading=headings(numbers),
            time_labels={"submitted": time_label(_("提交时间")), "decided": time_label(_("时间"))},
            local_time=local_time,
            excluded=excluded(questionnaire, limit=None),  # the report lists every exclusion
            review_log=review_log(questionnaire),
            decision_name=decision_name,
        )


def paper_form_pdf(questionnaire: Questionnaire) -> bytes:
    """The current version (or the draft) of ``questionnaire`` as a printable paper questionnaire."""
    version = questionnaire.current_version
    definition = version.definition if version else questionnaire.definition
    definition = localize_definition(definition, get_locale())  # ?lang=en: its English texts where present
    sections = numbered_sections(definition)
    conditions = condition_index(sections)
    return _render(
        "pdf/paper_form.html",
        questionnaire=questionnaire,
        project=questionnaire.project,
        version=version,
        title=definition.get("title") or questionnaire.title,
        intro=[line for line in (definition.get("intro") or "").split("\n") if line.strip()],
        sections=sections,
        condition=lambda show_if: describe_condition(show_if, conditions),
    )
