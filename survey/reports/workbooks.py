"""The Excel workbooks' contents: one questionnaire's results (with the raw responses) and a whole project's.

Both stream the raw responses into the file (``survey.reports.workbook_files.ResponseRows``): records are turned into
display rows in small batches while the sheet is written, never into one table in memory. The workbook views
(``survey.reports.workbook_views``, as export jobs) and the working-paper bundle (``survey.reports.bundle``) both
build them,
so they live here rather than in either; ``bench/export.py`` measures them.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask_babel import force_locale, get_locale

from analysis.export import response_columns, response_rows
from analysis.indicators import TableScore
from survey.indicators.links import current_score
from survey.indicators.sheet import table_of
from survey.models import Project, Questionnaire
from survey.reports.export_labels import export_labels, workbook_labels
from survey.reports.workbook_files import QuestionnaireSheets, ResponseRows, results_workbook
from survey.reports.workbook_files import project_workbook as workbook_of_project
from survey.results.reporting import display_records, questionnaire_results, response_records, schema_for
from survey.results.results_json import results_dict
from survey.results.weights import with_weights

BATCH = 1000  # records put into words at a time while the responses sheet is written


def questionnaire_workbook(questionnaire: Questionnaire, locale: str | None = None) -> bytes:
    """The results workbook of one questionnaire in ``locale`` (default: the current one); also what
    ``bench/export.py`` measures."""
    with force_locale(locale or str(get_locale())):
        data = results_dict(questionnaire, questionnaire_results(questionnaire), text_limit=0)
        table = scored_table(questionnaire.project)
        return results_workbook(data, responses_of(questionnaire), workbook_labels(), table)


def project_file(project: Project, locale: str | None = None) -> bytes:
    """A summary of the project's published questionnaires, its 附件1 table, then each questionnaire's sheets,
    in ``locale``; each questionnaire's responses are loaded only when its sheets are written."""
    with force_locale(locale or str(get_locale())):
        parts = [
            QuestionnaireSheets(results_dict(q, questionnaire_results(q), text_limit=0), lambda q=q: responses_of(q))
            for q in published_questionnaires(project)
        ]
        return workbook_of_project(parts, workbook_labels(), scored_table(project))


def published_questionnaires(project: Project) -> list[Questionnaire]:
    """The questionnaires with a frozen version (published or closed); drafts have no responses to report."""
    return [q for q in project.questionnaires if q.current_version is not None]


def responses_of(questionnaire: Questionnaire) -> ResponseRows:
    """The raw responses as rows in words (option texts, times, channels), produced while they are written."""
    schema = schema_for(questionnaire)
    records, labels = with_weights(questionnaire, response_records(questionnaire), export_labels())

    def displayed() -> Iterator[dict]:
        for start in range(0, len(records), BATCH):
            yield from display_records(questionnaire, records[start : start + BATCH])

    return ResponseRows(response_columns(schema, labels), response_rows(schema, displayed(), labels))


def scored_table(project: Project) -> tuple[dict, TableScore | None] | None:
    """The project's indicator table with its current score (linked leaves from the results), if it has one;
    a table with errors is shown without scores, as on its own page."""
    row = table_of(project)
    if row is None:
        return None
    return row.definition, current_score(project, row.definition)
