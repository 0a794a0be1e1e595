"""The questionnaire's weighting scheme as ``analysis`` takes it: its population tables joined to the schema's
group questions. Weights are never read from the database: they are computed from the valid responses with the
figures (``analysis.weighted_results``)."""

from __future__ import annotations

from analysis.weighted_results import PopulationMargin, WeightingSpec
from analysis.weighting import WeightingError
from survey.models import PopulationTable, Questionnaire


def weighting_spec(questionnaire: Questionnaire, schema: list[dict]) -> WeightingSpec | None:
    """The enabled scheme, or ``None``; ``WeightingError`` when a table it names is gone or no longer fits."""
    scheme = questionnaire.weighting
    if scheme is None or not scheme.enabled:
        return None
    tables = {table.name: table for table in questionnaire.population_tables}
    missing = [name for name in scheme.table_names if name not in tables]
    if missing:
        raise WeightingError("加权方案所用的人口表“%(name)s”已被删除", name=missing[0])
    return WeightingSpec(
        method=scheme.method,
        margins=tuple(population_margin(tables[name], schema) for name in scheme.table_names),
        tolerance=scheme.tolerance,
        max_iterations=scheme.max_iterations,
        trim=scheme.trim,
        trim_low=scheme.trim_low,
        trim_high=scheme.trim_high,
        trim_multiple=scheme.trim_multiple,
    )


def population_margin(table: PopulationTable, schema: list[dict]) -> PopulationMargin:
    """A stored table as a margin over the schema's questions; a question since removed is named."""
    by_key = {question["key"]: question for question in schema}
    for key in table.question_keys:
        if key not in by_key:
            raise WeightingError("人口表“%(name)s”所用的题目已不在问卷中", name=table.name)
    counts = {tuple(cell["options"]): float(cell["count"]) for cell in table.cells}
    questions = tuple(by_key[key] for key in table.question_keys)
    return PopulationMargin(table.name, questions, counts, table.source)
