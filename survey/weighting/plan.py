"""The designed sample of a questionnaire: strata from a group question, their sizes from a population table, the
allocation of the total (``analysis.design``), and after fieldwork the achieved sample against plan and population.

Stratum sizes are the table's counts summed over its other questions (a 乡镇 × 性别 table gives each 乡镇's
people). A stratum with no people is left out of the plan: nobody there can be interviewed. The plan's total is not
the number issued (发放): the questionnaire's own figures stay as the evaluator entered them, so a return rate is
never computed against a plan.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from analysis.design import MESSAGES, Coverage, DesignError, Plan, achieved_vs_plan, plan_sample
from analysis.results import CHANNEL_COLUMN, Results
from survey.models import PopulationTable, Questionnaire, SamplePlan
from survey.platform.extensions import db
from survey.results.reporting import channel_counts
from survey.weighting.population import weighting_questions


@dataclass(frozen=True)
class PlanView:
    """A stored plan recomputed for display, with its coverage once responses exist."""

    plan: Plan
    stratum: dict  # the group question
    texts: dict[str, str]  # option key → text
    coverage: Coverage | None
    table_name: str

    @property
    def under_covered_texts(self) -> list[str]:
        return [self.texts.get(key, key) for key in self.coverage.under_covered] if self.coverage else []


def design_problem(error: DesignError) -> str:
    """A design error in the reader's language (msgids: ``analysis.design.MESSAGES``)."""
    return _(MESSAGES[error.code], **error.params)


def stratum_sizes(table: PopulationTable, key: str) -> dict[str, int]:
    """Each option's people, summed over the table's other questions, rounded to whole people; empty ones left out."""
    position = table.question_keys.index(key)
    sizes: dict[str, float] = {}
    for cell in table.cells:
        option = cell["options"][position]
        sizes[option] = sizes.get(option, 0.0) + float(cell["count"])
    return {option: round(count) for option, count in sizes.items() if round(count) > 0}


def make_plan(
    table: PopulationTable,
    key: str,
    method: str,
    total: int,
    minimum: int,
    maximum: int | None,
    expected: float | None,
) -> Plan:
    """The allocation and its margins; ``DesignError`` says what cannot be planned."""
    return plan_sample(stratum_sizes(table, key), total, method, expected=expected, minimum=minimum, maximum=maximum)


def save_plan(
    questionnaire: Questionnaire,
    table: PopulationTable,
    key: str,
    plan: Plan,
    expected: float | None,
    quotas: bool = False,
):
    """Store the plan. When the strata are the channels, each channel's target becomes its allocation, and with
    ``quotas`` its quota too (the channel's link then stops accepting answers once it has them)."""
    record = questionnaire.sample_plan or SamplePlan(questionnaire=questionnaire, allocation={})
    record.stratum_key, record.table_name = key, table.name
    record.method, record.total = plan.method, plan.total
    record.minimum, record.maximum, record.expected_rate = plan.minimum, plan.maximum, expected
    record.allocation = dict(plan.allocation)
    if key == CHANNEL_COLUMN:
        for channel in questionnaire.channels:
            if channel.code in plan.allocation:
                channel.target = plan.allocation[channel.code]
                channel.quota = plan.allocation[channel.code] if quotas else channel.quota
    db.session.add(record)
    db.session.commit()
    return record


def clear_plan(questionnaire: Questionnaire) -> None:
    if questionnaire.sample_plan is not None:
        db.session.delete(questionnaire.sample_plan)
        db.session.commit()


def achieved_counts(questionnaire: Questionnaire, question: dict, results: Results) -> dict[str, int]:
    """Valid responses per stratum, from the results already computed (a question's option counts) or, for the
    channels, the channels' counts in SQL: the responses are not read a second time."""
    if question["key"] == CHANNEL_COLUMN:
        return {code: n["valid"] for code, n in channel_counts(questionnaire).items() if n["valid"]}
    summary = next((s for s in results.questions if s.question["key"] == question["key"]), None)
    return {option.key: option.count for option in summary.options if option.count} if summary else {}


def plan_view(questionnaire: Questionnaire, results: Results) -> tuple[PlanView | None, str | None]:
    """The stored plan as figures with its coverage on ``results`` (the questionnaire's), or why it can no longer
    be shown (a table or question gone, a bad size)."""
    record = questionnaire.sample_plan
    if record is None:
        return None, None
    question = next((q for q in weighting_questions(questionnaire) if q["key"] == record.stratum_key), None)
    table = next((t for t in questionnaire.population_tables if t.name == record.table_name), None)
    if question is None or table is None or record.stratum_key not in table.question_keys:
        return None, _("抽样设计所用的分层题或人口表已不存在，请重新设置。")
    try:
        plan = make_plan(
            table, record.stratum_key, record.method, record.total, record.minimum, record.maximum, record.expected_rate
        )
        coverage = achieved_vs_plan(
            achieved_counts(questionnaire, question, results), record.allocation, plan.populations
        )
    except DesignError as error:
        return None, design_problem(error)
    texts = {o["key"]: o["text"] for o in question["options"]}
    return PlanView(plan, question, texts, coverage if coverage.achieved_total else None, table.name), None
