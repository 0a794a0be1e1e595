"""The report's satisfaction section (报告满意度部分) as Chinese text, generated from the figures.

``report_context`` gathers the numbers (发放/回收/有效, rates with definitions and n, intervals, the
score each linked indicator leaf earns under its rule); ``render_report`` fills a template with them.
Templates are Jinja text run in a sandbox (no attribute tricks, no undefined names); a team may keep
its house style by saving its own template for the project.

What reaches the text is written as an evaluator pastes it into a report: in the report's language
(``REPORT_LOCALE``) whatever the desk's; 第4题 without spaces; a quoted text's own quotes turned to ‘ ’;
the overall figure with its n and 95% interval; the small-sample questions named once, grouped by n;
exclusions counted by reason.

Storage: one ``ReportTemplate`` row per project in the database (none = the default template), so
every app server behind the proxy shows and renders the same template, and backups include it.

Layout of the output: a blank line starts a new paragraph; single line breaks inside a paragraph are
joined (Chinese needs no space between lines), so templates can stay readable.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from analysis.indicators import leaves, score_table, standard_wording, validate_table
from analysis.mean_interval import mean_interval
from analysis.numbers import percent_of
from analysis.results import Results
from analysis.rounds import change_words
from analysis.scoring import D
from survey.indicators.links import LinkError, link_of, link_value
from survey.models import IndicatorTable, Project, Questionnaire, ReportTemplate, utcnow
from survey.platform.extensions import db
from survey.reports import sandbox as report_sandbox
from survey.results.presenting import (
    rate_definition,
    rate_name,
    say,
    weighting_method_name,
    weighting_problem,
    weighting_sentence,
)
from survey.results.reporting import questionnaire_results

REPORT_LOCALE = "zh_Hans_CN"  # reports are handed to a Chinese finance bureau, whatever the desk's language
MAX_TEMPLATE_CHARS = 20_000

DEFAULT_TEMPLATE = """\
{% if issued is not none %}
本次调查共发放问卷{{ issued }}份，回收{{ returned }}份，其中有效问卷{{ valid }}份
{%- if excluded %}（剔除无效问卷{{ excluded }}份
{%- if exclusion_summary %}，其中{{ exclusion_summary }}{% endif %}）{% endif %}
{%- if return_rate %}，回收率为{{ return_rate }}%，有效回收率为{{ valid_rate }}%{% endif %}。
{% else %}
本次调查共回收问卷{{ returned }}份，其中有效问卷{{ valid }}份
{%- if excluded %}（剔除无效问卷{{ excluded }}份
{%- if exclusion_summary %}，其中{{ exclusion_summary }}{% endif %}）{% endif %}。
{% endif %}

{% if overall and overall.percent %}
经统计，总体满意度为{{ overall.percent }}%（{{ overall.basis }}
{%- if overall.ci_low %}；95%置信区间为{{ overall.ci_low }}%～{{ overall.ci_high }}%
{%- if overall.conservative %}，按各题置信区间上下限的平均计算，为保守估计{% endif %}{% endif %}）。
{% endif %}

{% if weighted %}
{{ weighted.sentence }}
{%- if weighted.overall %}按人口加权后，总体满意度为{{ weighted.overall.percent }}%
（{% if weighted.overall.ci_low %}95%置信区间为{{ weighted.overall.ci_low }}%～
{{- weighted.overall.ci_high }}%，{% endif %}
n={{ weighted.overall.n }}，有效样本量{{ weighted.overall.n_effective }}）。{% endif %}

{% elif weighting_problem %}
本次结果未加权：{{ weighting_problem }}
{% endif %}

{% for r in rates if r.percent %}
{% if loop.first %}分题来看，{% endif %}
第{{ r.number }}题“{{ r.text }}”的{{ r.name }}为{{ r.percent }}%
（n={{ r.denominator }}{% if r.ci_low %}，95%置信区间为{{ r.ci_low }}%～{{ r.ci_high }}%{% endif %}
{%- if r.weighted_percent %}；加权后为{{ r.weighted_percent }}%{% endif %}）
{{- "。" if loop.last else "；" }}
{% endfor %}
{% if small_sample %}
其中{% if small_sample.same_n %}{{ small_sample.questions }}的有效回答
{%- if small_sample.count > 1 %}均{% endif %}仅{{ small_sample.same_n }}份
{%- else %}{{ small_sample.listing }}的有效回答均少于{{ small_n }}份{% endif %}
，样本量较小，置信区间较宽，结论仅供参考。
{% endif %}

{% set compared = rounds.rates|selectattr("words")|list if rounds else [] %}
{% if rounds and (rounds.overall or compared) %}
与{{ rounds.previous_label }}相比，
{%- if rounds.overall %}总体满意度由{{ rounds.overall.previous_percent }}%
{{- "" }}变为{{ rounds.overall.percent }}%，{{ rounds.overall.words }}{{ "；" if compared else "。" }}{% endif %}
{%- for r in compared %}第{{ r.number }}题{{ r.name }}由{{ r.previous_percent }}%
{{- "" }}变为{{ r.percent }}%，{{ r.words }}
{{- "。" if loop.last else "；" }}{% endfor %}

{% endif %}
{% for i in indicators %}
“{{ i.name }}”指标分值{{ i.points }}分{% if i.rule %}，评分标准为：{{ i.rule }}{% else %}。{% endif %}
{% if i.score is not none %}
{% if i.value %}该指标取{{ i.figure }}{{ i.value }}{{ i.unit }}，{% endif %}根据评分标准得{{ i.score }}分。
{% else %}
该指标暂不能计分：{{ i.problem }}
{% endif %}

{% endfor %}
"""


def in_report_language():
    """Words that reach a report (its text, its PDF) in the report's language, not the desk's.

    The desk may be in English (``?lang=en``); rate names, rule descriptions and headings quoted in the
    report must still be Chinese, as the report's figures and template are.
    """
    return force_locale(REPORT_LOCALE)


class ReportTemplateError(Exception):
    """A template that cannot be used; ``message`` says why in the reader's language, naming the line
    and, when a bound stopped it, which bound (``kind``)."""

    def __init__(self, message: str, line: int | None = None, kind: str | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.kind = kind  # "timeout", "too_long", "too_large:…" (a bound), "syntax", "undefined", …


def _number(value: Decimal | None) -> str | None:
    """5.00 → "5", 4.50 → "4.5": scores and points as a report prints them."""
    if value is None:
        return None
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


CJK = "\u4e00-\u9fff"
CJK_PUNCTUATION = "，。；：、（）“”‘’！？～"
SPACES = (
    re.compile(rf"(?<=[{CJK}{CJK_PUNCTUATION}])[ \u00a0]+(?=[0-9{CJK}{CJK_PUNCTUATION}])"),
    re.compile(rf"(?<=[0-9%])[ \u00a0]+(?=[{CJK}{CJK_PUNCTUATION}])"),
)
MAX_LISTED_REASONS = 4  # exclusion reasons named one by one; the rest are counted together


def tidy(text: str) -> str:
    """Chinese running text as it is typeset: no spaces between Chinese and numbers ("扣 2 分" → "扣2分")."""
    for pattern in SPACES:
        text = pattern.sub("", text)
    return text


def inner_quotes(text: str) -> str:
    """Quotes inside a text the report puts in “ ” become ‘ ’, so quotes never nest as “…“…”…”."""
    return text.replace("“", "‘").replace("”", "’")


def question_label(number) -> str:
    """第4题: question numbers in running Chinese text, without spaces."""
    return _("第%(number)s题", number=number)


def question_list(numbers: list) -> str:
    """第3、5、6题: several questions named at once."""
    return _("第%(numbers)s题", numbers=_("、").join(str(n) for n in numbers))


def _rule_text(node: dict) -> str:
    """The leaf's 评分标准 exactly as the attached 附件1 prints it (its own text, else its rule in words),
    typeset as running Chinese and ending in a full stop."""
    text = tidy(say(standard_wording(node))).replace("\n", "")
    return text if not text or text.endswith(("。", "．", ".")) else text + _("。")


def _overall_definition(overall) -> str:
    if overall.method == "question" and overall.rate:
        return _(
            "总体满意度取%(question)s的%(name)s。",
            question=question_label(overall.rate.question_number),
            name=rate_name(overall.rate),
        )
    if overall.method == "mean":
        return (
            _("口径：总体满意度 = 各题满意率的算术平均，参与平均的题目如下：")
            + _("、").join(question_label(r.question_number) for r in overall.items)
            + _("。")
        )
    return (
        _("口径：总体满意度 = 各题满意率按设定权重的加权平均，参与的题目和权重如下：")
        + _("、").join(
            question_label(r.question_number) + f" × {w}" for r, w in zip(overall.items, overall.weights, strict=False)
        )
        + _("。")
    )


def _weight_text(weight) -> str:
    return _number(Decimal(repr(float(weight)))) or "0"


def _overall_basis(overall, valid: int) -> str:
    """What the overall figure is and how many answers it rests on, for the parenthesis after it."""
    if overall.method == "question" and overall.rate:
        rate = overall.rate
        return _(
            "取%(question)s的%(name)s，n=%(n)d",
            question=question_label(rate.question_number),
            name=rate_name(rate),
            n=rate.denominator,
        )
    items = [r for r in overall.items if r.denominator]
    names = {rate_name(r) for r in items}
    values = {
        "questions": question_list([r.question_number for r in items]),
        "name": names.pop() if len(names) == 1 else _("比率"),
        "valid": valid,
    }
    if overall.method == "weighted":
        weights = [w for r, w in zip(overall.items, overall.weights, strict=False) if r.denominator]
        values["weights"] = _("、").join(_weight_text(w) for w in weights)
        basis = _("%(questions)s%(name)s按权重%(weights)s的加权平均，有效问卷%(valid)d份", **values)
    else:
        basis = _("%(questions)s%(name)s的算术平均，有效问卷%(valid)d份", **values)
    low, high = min(r.denominator for r in items), max(r.denominator for r in items)
    if low == high:
        return basis + _("，各题n=%(n)d", n=low)
    return basis + _("，各题n=%(low)d～%(high)d", low=low, high=high)


def _overall(results) -> dict[str, Any] | None:
    overall = results.overall
    if overall is None:
        return None
    if overall.method == "question" and overall.rate:
        n, bounds, conservative = overall.rate.denominator, overall.rate.interval, False
    else:
        n = results.valid
        bounds, conservative = mean_interval(overall.items, overall.weights or None), True
    has_items = overall.method == "question" or any(r.denominator for r in overall.items)
    return {
        "method": overall.method,
        "percent": overall.percent,
        "small_sample": overall.small_sample,
        "definition": _overall_definition(overall),
        "basis": _overall_basis(overall, results.valid) if overall.percent and has_items else "",
        "n": n,
        "ci_low": percent_of(bounds[0]) if bounds else None,
        "ci_high": percent_of(bounds[1]) if bounds else None,
        "conservative": conservative,
    }


def _small_sample(rates: list[dict]) -> dict[str, Any] | None:
    """The small-sample questions named in one sentence with their n: questions of the same n are named
    together (第3、4、5题（n=6）), and a single n is said once (``same_n``)."""
    small = [r for r in rates if r["small_sample"] and r["denominator"]]
    if not small:
        return None
    groups: dict[int, list] = {}
    for rate in small:
        groups.setdefault(rate["denominator"], []).append(rate["number"])
    parts = [_("%(questions)s（n=%(n)d）", questions=question_list(numbers), n=n) for n, numbers in groups.items()]
    listing = parts[0] if len(parts) == 1 else _("、").join(parts[:-1]) + _("及") + parts[-1]
    return {
        "count": len(small),
        "questions": question_list([r["number"] for r in small]),
        "listing": listing,
        "same_n": next(iter(groups)) if len(groups) == 1 else None,
    }


def _exclusion_summary(reasons: dict[str, int]) -> str:
    """用时过短3份、重复提交1份: why responses were excluded, the commonest first; "" when none was given."""
    named = sorted(((reason, n) for reason, n in reasons.items() if reason), key=lambda item: (-item[1], item[0]))
    if not named:
        return ""
    shown = named if len(named) <= MAX_LISTED_REASONS + 1 else named[:MAX_LISTED_REASONS]
    parts = [_("%(reason)s%(n)d份", reason=inner_quotes(tidy(reason)), n=n) for reason, n in shown]
    rest = sum(reasons.values()) - sum(n for _reason, n in shown)
    if rest:
        parts.append(_("其他原因%(n)d份", n=rest))
    return _("、").join(parts)


def _figure_text(link: dict, results) -> tuple[str, str]:
    """The survey figure a linked leaf takes, in words, and its unit ("%", or "" for a 0–100 index)."""
    figure = link.get("figure")
    question = link.get("question")
    number = next((s.question.get("number") for s in results.questions if s.question["key"] == question), question)
    words = {
        "overall_rate": _("总体满意度"),
        "overall_index": _("总体满意度指数"),
        "rate": _("%(question)s的满意率", question=question_label(number)),
        "index": _("%(question)s的满意度指数", question=question_label(number)),
        "dimension_rate": _("‘%(dimension)s’维度的满意率", dimension=link.get("dimension") or ""),
        "return_rate": _("回收率"),
        "valid_return_rate": _("有效回收率"),
    }
    text = words.get(figure, "")
    if figure == "rate" and question:
        summary = next((s for s in results.questions if s.question["key"] == question), None)
        if summary is not None and summary.rate is not None:
            text = _("%(question)s的%(name)s", question=question_label(number), name=rate_name(summary.rate))
    if link.get("channel"):
        text += _("（渠道%(channel)s）", channel=link["channel"])
    return text, "" if figure in ("index", "overall_index") else "%"


def _indicators(questionnaire: Questionnaire, results) -> list[dict[str, Any]]:
    """Leaves of the project's indicator table whose input is a figure of this questionnaire."""
    row = db.session.execute(
        db.select(IndicatorTable).filter_by(project_id=questionnaire.project_id)
    ).scalar_one_or_none()
    if row is None or any(not p.warning for p in validate_table(row.definition)):
        return []
    project: Project = questionnaire.project
    definition = row.definition
    cache = {questionnaire.id: results}
    mine, values, problems = [], {}, {}
    for leaf in leaves(definition):
        link = link_of(leaf)
        if link is None:
            continue
        try:
            values[leaf["key"]] = link_value(project, link, cache)
        except LinkError as error:
            problems[leaf["key"]] = say(error.wording)
        if link.get("questionnaire") == questionnaire.id:
            mine.append(leaf)
    if not mine:
        return []
    scored = score_table(definition, linked=values)
    found = []
    for leaf in mine:
        key = leaf["key"]
        value = values.get(key)
        figure, unit = _figure_text(link_of(leaf), results)
        found.append(
            {
                "key": key,
                "name": inner_quotes(leaf.get("name") or key),
                "points": _number(D(leaf.get("points"))),
                "score": _number(scored.scores.get(key)),
                "value": None if value is None else _number(value.quantize(Decimal("0.01"))),
                "figure": figure,
                "unit": unit,
                "rule": _rule_text(leaf),
                "problem": problems.get(key) or (say(scored.errors[key]) if key in scored.errors else ""),
            }
        )
    return found


def report_context(questionnaire: Questionnaire, results: Results | None = None) -> dict[str, Any]:
    """Every figure the report section may quote, as plain values (strings for percents), in the report's
    language whatever the desk's (rate names, definitions and rules are words, not numbers).

    ``results``: the questionnaire's results when the caller has them already (the PDF), else computed."""
    with in_report_language():
        return _context(questionnaire, results or questionnaire_results(questionnaire))


def _context(questionnaire: Questionnaire, results: Results) -> dict[str, Any]:
    rates = []
    for summary in results.questions:
        rate = summary.rate
        if rate is None:
            continue
        bounds = rate.interval_percent
        rates.append(
            {
                "key": rate.question_key,
                "number": rate.question_number,
                "text": inner_quotes(summary.question.get("text") or ""),
                "name": rate_name(rate),
                "percent": rate.percent,
                "numerator": rate.numerator,
                "denominator": rate.denominator,
                "ci_low": bounds[0] if bounds else None,
                "ci_high": bounds[1] if bounds else None,
                "small_sample": rate.small_sample,
                "definition": tidy(rate_definition(rate)),
                **_weighted_rate(results, rate.question_key),
            }
        )
    return {
        "title": questionnaire.title,
        "project": questionnaire.project.name,
        "issued": results.issued,
        "returned": results.returned,
        "valid": results.valid,
        "excluded": results.excluded,
        "exclusion_summary": _exclusion_summary(results.exclusion_reasons),
        "return_rate": results.return_rate,
        "valid_rate": results.valid_rate,
        "overall": _overall(results),
        "rates": rates,
        "small_n": current_app.config["SMALL_SAMPLE_N"],
        "small_sample": _small_sample(rates),
        "small_sample_rates": [r for r in rates if r["small_sample"]],
        "indicators": _indicators(questionnaire, results),
        "weighted": _weighted(results),
        "weighting_problem": weighting_problem(results.weighting_error),
        "rounds": _rounds(results),
    }


def _round_percent(figure, weighted: bool) -> str | None:
    """A round's figure as the report quotes it: the weighted estimate when the change is the weighted one."""
    if weighted:
        return percent_of(figure.weighted.estimate)
    return figure.rate.percent if figure.rate else None


def _words(change) -> str | None:
    if change is None:
        return None
    template, params = change_words(change)
    return _(template, **params)


def _rounds(results: Results) -> dict[str, Any] | None:
    """The change since the previous round, as the report says it: "由 x% 变为 y%，提高 z 个百分点（变化不显著）"."""
    comparison = results.rounds
    if comparison is None or len(comparison.labels) < 2:
        return None
    overall = comparison.overall
    overall_context = None
    if overall and overall.headline_change and overall.values[-1][1] is not None:
        values = overall.weighted if overall.weighted_change and overall.weighted else overall.values
        overall_context = {
            "previous_percent": percent_of(values[-2][1]),
            "percent": percent_of(values[-1][1]),
            "words": _words(overall.headline_change),
        }
    rates = []
    for s in comparison.rates:
        change = s.headline_change
        before, now = s.rounds[-2], s.rounds[-1]
        weighted = s.weighted_change is not None
        rates.append(
            {
                "number": s.number,
                "name": rate_name(s.rate),
                "previous_percent": _round_percent(before, weighted),
                "percent": _round_percent(now, weighted),
                "words": _words(change),
                "significant": bool(change and change.significant),
            }
        )
    return {
        "labels": comparison.labels,
        "previous_label": comparison.labels[-2],
        "label": comparison.labels[-1],
        "overall": overall_context,
        "rates": rates,
    }


def _estimate(estimate) -> dict[str, Any]:
    """A weighted figure as the report quotes it: percents rounded as the page's, n and the effective n."""
    return {
        "percent": percent_of(estimate.estimate),
        "ci_low": percent_of(estimate.low),
        "ci_high": percent_of(estimate.high),
        "n": estimate.n,
        "n_effective": f"{estimate.n_effective:.1f}" if estimate.n_effective else None,
    }


def _weighted(results: Results) -> dict[str, Any] | None:
    """The weighting in words and the weighted overall figure, for the report's method paragraph."""
    weighted = results.weighted
    if weighted is None:
        return None
    return {
        "sentence": weighting_sentence(weighted),
        "method": weighting_method_name(weighted.spec.method, weighted.spec.trim),
        "design_effect": f"{weighted.summary.design_effect:.2f}",
        "n_effective": f"{weighted.summary.n_effective:.1f}",
        "overall": _estimate(weighted.overall) if weighted.overall and weighted.overall.estimate is not None else None,
    }


def _weighted_rate(results: Results, key: str) -> dict[str, Any]:
    """A rate's weighted figure beside it (``weighted_percent`` …), or nothing when the results are unweighted."""
    estimate = results.weighted.rates.get(key) if results.weighted else None
    if estimate is None or estimate.estimate is None:
        return {"weighted_percent": None, "weighted_ci_low": None, "weighted_ci_high": None}
    figures = _estimate(estimate)
    return {
        "weighted_percent": figures["percent"],
        "weighted_ci_low": figures["ci_low"],
        "weighted_ci_high": figures["ci_high"],
    }


def _too_large(what: str) -> str:
    """Which operator bound a template passed, in words."""
    if what == "range":
        return _("range 最多生成 %(n)d 个数", n=report_sandbox.MAX_RANGE)
    if what == "repeat":
        return _("字符串或列表的长度超过 %(n)d", n=report_sandbox.MAX_STRING)
    if what == "number":
        return _("整数超过 %(n)d 位", n=int(report_sandbox.MAX_INT_BITS * math.log10(2)))
    return _("占用内存超过 %(n)d MB", n=report_sandbox.MEMORY_HEADROOM // (1024 * 1024))


def describe_outcome(kind: str, detail: str, seconds: float) -> str:
    """An outcome of ``report_sandbox`` in the reader's words: which bound was hit, or what went wrong."""
    if kind == "timeout":
        return _("模板运行超过 %(n)s 秒，已停止。请减少循环的次数。", n=f"{seconds:g}")
    if kind == "too_long":
        return _("模板输出超过 %(n)d 字，已停止。请检查循环。", n=report_sandbox.MAX_OUTPUT_CHARS)
    if kind.startswith("too_large:"):
        return _("运算结果过大（%(what)s），已停止。", what=_too_large(kind.removeprefix("too_large:")))
    if kind == "recursion":
        return _("模板嵌套或递归太深，已停止。")
    if kind == "syntax":
        return _("模板语法错误（%(detail)s）。", detail=detail)
    if kind == "security":
        return _("模板试图访问不允许的内容，已被拒绝（%(detail)s）。", detail=detail)
    if kind == "undefined":
        return _("模板用到了不存在的变量或属性（%(detail)s）。", detail=detail)
    return _("模板无法生成文字（%(detail)s）。", detail=detail)


def paragraphs(text: str) -> list[str]:
    """Blank lines separate paragraphs; the lines of one paragraph are joined."""
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n"))
    joined = ("".join(line.strip() for line in block.split("\n")) for block in blocks)
    return [p for p in joined if p]


def render_report(template_text: str, context: dict[str, Any], seconds: float | None = None) -> str:
    """Fill ``template_text`` with ``context`` in the sandbox; paragraphs separated by one blank line.

    The template runs in a separate process with bounds on wall time (``seconds``, default
    ``sandbox.MAX_SECONDS``), memory, output size and operator results (see ``survey.reports.sandbox``).
    Raises ``ReportTemplateError`` (with the line, when known, and ``kind`` naming the bound or error) for a
    template that does not parse, names something undefined, reaches for what the sandbox refuses, or
    passes a bound. Every caller (desk page, save, PDF, bundle) gets this one exception type, never a hang.
    """
    if len(template_text) > MAX_TEMPLATE_CHARS:
        raise ReportTemplateError(_("报告模板太长（最多 %(max)d 个字符）。", max=MAX_TEMPLATE_CHARS), kind="length")
    seconds = seconds or report_sandbox.MAX_SECONDS
    outcome = report_sandbox.render_bounded(template_text, context, seconds)
    if outcome[0] == "ok":
        return "\n\n".join(paragraphs(outcome[1]))
    _status, kind, line, detail = outcome
    if kind == "busy":  # not the template's fault: other reports of this server were being generated
        raise ReportTemplateError(_("同时生成的报告太多，请稍后再试。"), kind=kind)
    error = describe_outcome(kind, detail, seconds)
    if line:
        raise ReportTemplateError(_("报告模板第 %(line)d 行有误：%(error)s", line=line, error=error), line, kind)
    raise ReportTemplateError(_("报告模板有误：%(error)s", error=error), kind=kind)


# ---------------------------------------------------------------- a project's own template


def _stored(project_id: int) -> ReportTemplate | None:
    return db.session.execute(db.select(ReportTemplate).filter_by(project_id=project_id)).scalar_one_or_none()


def saved_template(project_id: int) -> str | None:
    """The project's own template, or ``None`` when it uses the default."""
    row = _stored(project_id)
    return None if row is None else row.text


def template_for(project_id: int) -> str:
    return saved_template(project_id) or DEFAULT_TEMPLATE


def save_template(project_id: int, text: str, user_id: int | None = None) -> None:
    """Keep the project's template (one row per project, replaced in place), with who changed it last.

    Two servers saving a project's first template at once both try to insert; the loser of the unique
    ``project_id`` retries as an update, so the later save wins as it would on one server.
    """
    for attempt in range(2):
        row = _stored(project_id)
        if row is None:
            row = ReportTemplate(project_id=project_id)
            db.session.add(row)
        row.text = text.replace("\r\n", "\n")
        row.updated_by = user_id
        row.updated_at = utcnow()
        try:
            db.session.commit()
            return
        except IntegrityError:
            db.session.rollback()
            if attempt:
                raise


def reset_template(project_id: int) -> None:
    """Back to the default template."""
    db.session.execute(db.delete(ReportTemplate).where(ReportTemplate.project_id == project_id))
    db.session.commit()
