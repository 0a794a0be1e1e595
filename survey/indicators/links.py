"""Linked leaves of an indicator table: a leaf's input may be a live survey figure of the same project.

A leaf ``input`` of the form ``{"link": {"questionnaire": id, "figure": …, "question": …, "dimension": …,
"channel": …}}`` takes its value from ``questionnaire_results``, in percent (93.0 for 93 %; an index
as 0–100), computed exactly from the rate's numerator and denominator. Nothing is stored: the score
follows every response that arrives or is excluded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from analysis.indicators import TableScore, leaves, score_table, validate_table
from analysis.rates import QuestionSummary
from analysis.results import CHANNEL_COLUMN, Results, overall_rate
from analysis.scoring import N_, Wording
from survey.models import Project, Questionnaire, Response
from survey.platform.extensions import db
from survey.results.reporting import channel_label, questionnaire_results, schema_for, settings_for

FIGURES = {
    "overall_rate": N_("总体满意度"),
    "rate": N_("某题的满意率"),
    "index": N_("某题的满意度指数"),
    "overall_index": N_("总体满意度指数"),
    "dimension_rate": N_("某维度的满意率"),
    "return_rate": N_("回收率"),
    "valid_return_rate": N_("有效回收率"),
}
CHANNEL_FIGURES = {"overall_rate", "rate", "overall_index"}
# Figures a leaf may take weighted (``"weighted": true`` in its link): counts of returned questionnaires are not.
WEIGHTED_FIGURES = {"overall_rate", "rate", "index", "overall_index", "dimension_rate"}


class LinkError(Exception):
    """A link that cannot give a value now; ``wording`` says why."""

    def __init__(self, message: str, **values):
        super().__init__(message)
        self.wording = Wording(message, values)


@dataclass
class Links:
    """Values of the linked leaves that have one, and why the others have none."""

    values: dict[str, Decimal] = field(default_factory=dict)
    errors: dict[str, Wording] = field(default_factory=dict)


def link_of(leaf: dict) -> dict | None:
    """The leaf's link, if its input is a survey figure."""
    entry = leaf.get("input")
    link = entry.get("link") if isinstance(entry, dict) else None
    return link if isinstance(link, dict) else None


def resolve_links(project: Project, table: dict) -> Links:
    """Current values of every linked leaf of ``table``; results are computed once per questionnaire."""
    result, cache = Links(), {}
    for leaf in leaves(table):
        link = link_of(leaf)
        if link is None:
            continue
        try:
            result.values[leaf["key"]] = link_value(project, link, cache)
        except LinkError as error:
            result.errors[leaf["key"]] = error.wording
    return result


def current_score(project: Project, table: dict) -> TableScore | None:
    """The table scored with its linked leaves' current values; None while it has errors (shown unscored).

    One place for "validate, resolve the links, score", so the table page, its 附件1 download, the
    workbooks, the bundle and the dashboard cannot disagree about a project's total.
    """
    if any(not problem.warning for problem in validate_table(table)):
        return None
    return score_table(table, linked=resolve_links(project, table).values)


def linked_values(project: Project, table: dict) -> dict[str, Decimal]:
    """``{leaf_key: value in percent}`` for ``score_table(table, linked=…)``."""
    return resolve_links(project, table).values


def link_value(project: Project, link: dict, cache: dict | None = None) -> Decimal:
    """The figure a link names, in percent; ``LinkError`` when it names nothing usable or has no data yet."""
    cache = {} if cache is None else cache
    questionnaire = _questionnaire(project, link.get("questionnaire"))
    figure = link.get("figure")
    if figure not in FIGURES:
        raise LinkError(N_("不认识的调查指标“%(figure)s”。"), figure=figure)
    if questionnaire.id not in cache:
        cache[questionnaire.id] = questionnaire_results(questionnaire)
    results: Results = cache[questionnaire.id]
    channel = str(link.get("channel") or "").strip()
    if link.get("weighted"):
        value = _weighted_link(results, figure, link, channel)
    elif channel and figure in CHANNEL_FIGURES:
        value = _channel_figure(questionnaire, results, figure, link, channel)
    elif channel:
        raise LinkError(N_("“%(figure)s”不能按渠道计算。"), figure=figure_wording(link))
    else:
        value = _figure(questionnaire, results, figure, link)
    if value is None:
        raise LinkError(N_("问卷还没有可用于计算“%(figure)s”的有效答卷。"), figure=figure_wording(link))
    return value


def _questionnaire(project: Project, questionnaire_id) -> Questionnaire:
    questionnaire = db.session.get(Questionnaire, questionnaire_id) if isinstance(questionnaire_id, int) else None
    if questionnaire is None or questionnaire.project_id != project.id:
        raise LinkError(N_("关联的问卷不存在或不属于本项目。"))
    return questionnaire


def _percent(value: Fraction | None) -> Decimal | None:
    if value is None:
        return None
    return Decimal(value.numerator) * 100 / Decimal(value.denominator)


def _rate_percent(rate) -> Decimal | None:
    return _percent(Fraction(rate.numerator, rate.denominator)) if rate is not None and rate.denominator else None


def _float_index(value: float | None) -> Decimal | None:
    return None if value is None or value != value else Decimal(repr(value))


def _summary(results: Results, key) -> QuestionSummary:
    summary = next((s for s in results.questions if s.question["key"] == key), None)
    if summary is None:
        raise LinkError(N_("问卷中没有第“%(question)s”题。"), question=key or "")
    return summary


def _figure(questionnaire: Questionnaire, results: Results, figure: str, link: dict) -> Decimal | None:
    if figure == "overall_rate":
        return _percent(results.overall.exact) if results.overall else None
    if figure == "rate":
        summary = _summary(results, link.get("question"))
        if summary.rate is None:
            raise LinkError(N_("第“%(question)s”题不计算满意率。"), question=link.get("question"))
        return _rate_percent(summary.rate)
    if figure == "index":
        summary = _summary(results, link.get("question"))
        if summary.index is None:
            raise LinkError(N_("第“%(question)s”题没有计分选项，不计算指数。"), question=link.get("question"))
        return _float_index(summary.index.value)
    if figure == "overall_index":
        return _float_index(results.overall_index)
    if figure == "dimension_rate":
        dimension = next((d for d in results.dimensions if d.name == link.get("dimension")), None)
        if dimension is None:
            raise LinkError(N_("问卷中没有“%(dimension)s”维度。"), dimension=link.get("dimension") or "")
        return _percent(dimension.exact)
    if not results.issued:
        raise LinkError(N_("问卷还没有填写发放份数，不能计算回收率。"))
    counted = results.returned if figure == "return_rate" else results.valid
    return Decimal(counted) * 100 / Decimal(results.issued)


def _weighted_link(results: Results, figure: str, link: dict, channel: str) -> Decimal | None:
    """A leaf that takes the weighted figure (``analysis.weighted_results``); its 附件1 wording says so."""
    if figure not in WEIGHTED_FIGURES:
        raise LinkError(N_("“%(figure)s”没有加权值。"), figure=figure_wording({**link, "weighted": False}))
    if channel:
        raise LinkError(N_("加权值不能按渠道计算。"))
    weighted = results.weighted
    if weighted is None:
        if results.weighting_error is not None:
            raise LinkError(
                N_("问卷现在无法加权：%(why)s"),
                why=Wording(results.weighting_error.template, results.weighting_error.params),
            )
        raise LinkError(N_("问卷没有启用加权，不能取加权值。"))
    estimates = {
        "overall_rate": lambda: weighted.overall,
        "overall_index": lambda: weighted.overall_index,
        "rate": lambda: weighted.rates.get(_summary(results, link.get("question")).question["key"]),
        "index": lambda: weighted.indexes.get(_summary(results, link.get("question")).question["key"]),
        "dimension_rate": lambda: weighted.dimensions.get(link.get("dimension")),
    }
    estimate = estimates[figure]()
    if estimate is None:
        raise LinkError(N_("“%(figure)s”没有加权值。"), figure=figure_wording(link))
    return None if estimate.estimate is None else Decimal(repr(estimate.estimate)) * 100


def _channel_figure(questionnaire, results: Results, figure: str, link: dict, channel: str) -> Decimal | None:
    """A figure among one channel's respondents: the channel row of the channel breakdown."""
    breakdown = next((b for b in results.breakdowns if b.group.get("key") == CHANNEL_COLUMN), None)
    if breakdown is None:
        # No breakdown: the valid answers all came through one channel (or none did).
        if channel_respondents(questionnaire, channel) and channel_respondents(questionnaire, channel) == results.valid:
            return _figure(questionnaire, results, figure, link)
        raise LinkError(N_("渠道“%(channel)s”还没有有效答卷。"), channel=channel)
    row = next((r for r in breakdown.rows if r.key == channel), None)
    if row is None or not row.respondents:
        raise LinkError(N_("渠道“%(channel)s”还没有有效答卷。"), channel=channel)
    rated = [s for s in results.questions if s.rate is not None]
    by_key = {s.question["key"]: rate for s, rate in zip(rated, row.rates, strict=True)}
    if figure == "overall_index":
        return _float_index(row.index)
    if figure == "overall_rate":
        summaries = [QuestionSummary(question=s.question, answered=0, rate=by_key[s.question["key"]]) for s in rated]
        overall = overall_rate(settings_for(questionnaire), summaries)
        return _percent(overall.exact) if overall else None
    if figure == "rate":
        _summary(results, link.get("question"))
        if link.get("question") not in by_key:
            raise LinkError(N_("第“%(question)s”题不计算满意率。"), question=link.get("question"))
        return _rate_percent(by_key[link["question"]])
    raise LinkError(N_("“%(figure)s”不能按渠道计算。"), figure=figure_wording(link))


def channel_respondents(questionnaire: Questionnaire, channel: str) -> int:
    """Valid responses that came through ``channel``."""
    query = db.select(db.func.count(Response.id)).where(
        Response.questionnaire_id == questionnaire.id, Response.status == "valid", Response.channel == channel
    )
    return db.session.execute(query).scalar_one()


# ---------------------------------------------------------------- choices for the editor


QUESTION_FIGURES = {"rate", "index"}


@dataclass(frozen=True)
class QuestionChoice:
    """A question a link may name: its key, number and text, and which figures it has."""

    key: str
    number: str
    text: str
    has_rate: bool
    has_index: bool


@dataclass(frozen=True)
class LinkChoices:
    """What a link to one questionnaire may name: its rated questions, dimensions and channels."""

    questions: list[QuestionChoice]
    dimensions: list[str]
    channels: list[tuple[str, str]]  # (code, name)

    def as_json(self) -> dict:
        """For the editor's script, which fills the dependent selects without a reload."""
        return {
            "questions": [[q.key, q.number, q.text, q.has_rate, q.has_index] for q in self.questions],
            "dimensions": self.dimensions,
            "channels": [list(channel) for channel in self.channels],
        }


def link_choices(questionnaire: Questionnaire) -> LinkChoices:
    """The questionnaire's questions with a rate or an index (published version, else the draft), their
    dimensions, and the channels its answers come through (the web link, then the evaluator's channels)."""
    questions = []
    for entry in schema_for(questionnaire):
        if entry.get("storage") != "one" or entry.get("attention_correct") is not None:
            continue
        options = entry.get("options") or []
        has_rate = any(o.get("positive") for o in options)
        has_index = any(o.get("score") is not None for o in options)
        if has_rate or has_index:
            questions.append(QuestionChoice(entry["key"], str(entry["number"]), entry["text"], has_rate, has_index))
    dimensions = list(dict.fromkeys(e["dimension"] for e in schema_for(questionnaire) if e.get("dimension")))
    codes = ["web", *(c.code for c in questionnaire.channels if c.code != "web")]
    channels = [(code, channel_label(code, questionnaire.channels)) for code in codes]
    return LinkChoices(questions, dimensions, channels)


FIGURE_PHRASES = {
    "rate": N_("第 %(number)s 题满意率"),
    "index": N_("第 %(number)s 题满意度指数"),
    "dimension_rate": N_("“%(dimension)s”维度满意率"),
}
"""How a linked figure reads on the table, its question or dimension inside the phrase (``FIGURES`` holds the
chooser's wording, “某题的满意率”, which a printed table must not show)."""


def question_number(questionnaire_id, key: str) -> str:
    """A linked question's number in its questionnaire (“4”), or its key when the questionnaire lost it."""
    questionnaire = db.session.get(Questionnaire, questionnaire_id) if isinstance(questionnaire_id, int) else None
    entry = next((e for e in schema_for(questionnaire) if e["key"] == key), None) if questionnaire else None
    return str(entry["number"]) if entry else key


def figure_wording(link: dict) -> Wording:
    """The linked figure in words as the 附件1 prints it: “第 5 题满意率”, “‘服务’维度满意率”, “总体满意度”."""
    figure = link.get("figure")
    if link.get("weighted"):
        return Wording(N_("%(figure)s（加权）"), {"figure": figure_wording({**link, "weighted": False})})
    if figure in QUESTION_FIGURES and link.get("question"):
        number = question_number(link.get("questionnaire"), str(link["question"]))
        return Wording(FIGURE_PHRASES[figure], {"number": number})
    if figure == "dimension_rate" and link.get("dimension"):
        return Wording(FIGURE_PHRASES[figure], {"dimension": str(link["dimension"])})
    return Wording(FIGURES.get(figure, N_("（未知指标）")), {})


def link_problems(project: Project, link: dict) -> list[tuple[str, Wording]]:
    """What is wrong with a link an evaluator chose, as ``(field name, wording)``; empty when it is usable.

    The questionnaire must be one of this project's; the question, dimension and channel must be ones the
    questionnaire has, and only where the figure uses them.
    """
    questionnaire = db.session.get(Questionnaire, link["questionnaire"]) if link.get("questionnaire") else None
    if questionnaire is None or questionnaire.project_id != project.id:
        return [("questionnaire", Wording(N_("请选择本项目的一份问卷。"), {}))]
    figure = link.get("figure")
    if figure not in FIGURES:
        return [("figure", Wording(N_("请选择一个调查指标。"), {}))]
    choices, problems = link_choices(questionnaire), []
    if figure in QUESTION_FIGURES:
        usable = {q.key for q in choices.questions if (q.has_rate if figure == "rate" else q.has_index)}
        if link.get("question") not in usable:
            message = N_("请选择一道计算满意率的题目。") if figure == "rate" else N_("请选择一道有计分选项的题目。")
            problems.append(("question", Wording(message, {})))
    if figure == "dimension_rate" and link.get("dimension") not in choices.dimensions:
        problems.append(("dimension", Wording(N_("请选择问卷中的一个维度。"), {})))
    channel = link.get("channel")
    if channel and channel not in {code for code, _name in choices.channels}:
        problems.append(("channel", Wording(N_("所选渠道不属于这份问卷。"), {})))
    elif channel and figure not in CHANNEL_FIGURES:
        problems.append(
            ("channel", Wording(N_("“%(figure)s”不能按渠道计算。"), {"figure": Wording(FIGURES[figure], {})}))
        )
    if link.get("weighted") and figure not in WEIGHTED_FIGURES:
        problems.append(("weighted", Wording(N_("“%(figure)s”没有加权值。"), {"figure": Wording(FIGURES[figure], {})})))
    elif link.get("weighted") and channel:
        problems.append(("weighted", Wording(N_("加权值不能按渠道计算。"), {})))
    return problems


def clean_link(link: dict) -> dict:
    """Only the parts of a link its figure uses (a question for a rate, a channel where one applies)."""
    figure = link.get("figure")
    kept = {"questionnaire": link.get("questionnaire"), "figure": figure}
    if figure in QUESTION_FIGURES and link.get("question"):
        kept["question"] = link["question"]
    if figure == "dimension_rate" and link.get("dimension"):
        kept["dimension"] = link["dimension"]
    if figure in CHANNEL_FIGURES and link.get("channel") and not link.get("weighted"):
        kept["channel"] = link["channel"]
    if figure in WEIGHTED_FIGURES and link.get("weighted"):
        kept["weighted"] = True
    return kept
