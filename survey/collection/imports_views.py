"""Importing responses from a spreadsheet: upload → mapping → check (dry run) → import.

The upload is parsed at once and kept in the database (``PendingImport``, IP columns already blanked,
see ``survey.collection.import_checking``) under a random token, so the mapping step may reach any app server; the
file name the browser sends is never used. The mapping travels in the form of each step, so nothing else
is stored until the import itself, which is all or nothing. A file of option numbers (问卷星's 按选项序号) may be
joined by the same questionnaire's 按选项文本 download, kept with the upload: matched on 序号 row by row, it
tells what each number is, and the evaluator may take that code table. Every view checks membership first (other
evaluators get 404) and needs a role that may change data (viewers get 403); a kept upload is reachable
only by the evaluator who uploaded it, for its own questionnaire, for a day.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired

from forms.response import answers_reader
from survey.accounts.access import member_questionnaire
from survey.collection import import_cells, import_checking, import_mapping, import_reading
from survey.models import Questionnaire

bp = Blueprint("imports", __name__, url_prefix="/desk/questionnaires/<int:questionnaire_id>/import")


class UploadForm(FlaskForm):
    """The spreadsheet to import; its size is bounded by the app's ``MAX_CONTENT_LENGTH``."""

    file = FileField(
        _l("答卷文件（.xlsx、.xls 或 .csv）"),
        validators=[
            FileRequired(_l("请选择要导入的文件。")),
            FileAllowed(["xlsx", "xls", "csv"], _l("只能导入 .xlsx、.xls 或 .csv 文件。")),
        ],
    )


class MappingForm(FlaskForm):
    """Carries the CSRF token of the mapping screen; its column choices are read by ``plan_from_form``."""


class TextExportForm(FlaskForm):
    """The same questionnaire's 按选项文本 download, sent with the mapping screen's own fields (optional)."""

    text_file = FileField(
        _l("同一问卷的按选项文本导出（可选）"),
        validators=[
            FileRequired(_l("请选择问卷星“按选项文本”下载的文件。")),
            FileAllowed(["xlsx", "xls", "csv"], _l("只能导入 .xlsx、.xls 或 .csv 文件。")),
        ],
    )


@bp.before_request
@login_required
def require_login():
    """Every import route needs a signed-in evaluator; membership is checked per route."""


@bp.route("/", methods=["GET", "POST"])
def upload(questionnaire_id: int):
    """Choose a file; a readable one is kept and the mapping screen opens."""
    questionnaire = member_questionnaire(questionnaire_id)
    form = UploadForm()
    problem = None
    if questionnaire.current_version is None:
        problem = _("问卷尚未发布，发布后才能导入答卷。")
    elif form.validate_on_submit():
        content = form.file.data.read()
        try:
            table = import_reading.read_table(content)
        except import_reading.FileProblem as error:
            problem = error.message
        else:
            token = import_mapping.save_upload(questionnaire.id, current_user.id, table, len(content))
            return redirect(url_for(".mapping", questionnaire_id=questionnaire.id, token=token))
    page = render_template(
        "imports/upload.html", questionnaire=questionnaire, form=form, problem=problem, title=_("导入答卷")
    )
    return page, 422 if request.method == "POST" and (problem or form.errors) else 200


@bp.get("/<token>")
def mapping(questionnaire_id: int, token: str):
    """The mapping screen, filled in by ``guess_mapping``; it leads only to an import, so viewers get 403."""
    questionnaire = member_questionnaire(questionnaire_id, edit=True)
    table = _table(questionnaire, token)
    definition = _definition(questionnaire)
    channels = [value for value, _label in import_mapping.channel_choices(questionnaire)]
    plan = import_mapping.remembered_plan(token, questionnaire.id, current_user.id, table, definition, channels)
    plan = plan or import_mapping.default_plan(table, definition)
    return _mapping_page(questionnaire, token, table, plan, text=_text_codes(questionnaire, token, table, plan))


@bp.post("/<token>/check")
def check(questionnaire_id: int, token: str):
    """Dry run: validate every row with the submitted mapping and show the report."""
    questionnaire = member_questionnaire(questionnaire_id)
    table = _table(questionnaire, token)
    plan, text = _submitted_plan_and_text(questionnaire, token, table)
    report = import_checking.check_import(questionnaire, table, plan, _timezone(), text, reader=answers_reader)
    import_mapping.remember_plan(token, questionnaire.id, current_user.id, table, plan)
    return _mapping_page(questionnaire, token, table, plan, report, text), 200 if report.ok else 422


@bp.post("/<token>/text-codes")
def text_codes(questionnaire_id: int, token: str):
    """Keep the same questionnaire's 按选项文本 download with the upload and show what it says each code is."""
    questionnaire = member_questionnaire(questionnaire_id, edit=True)
    table = _table(questionnaire, token)
    plan = _submitted_plan(questionnaire, table)
    form = TextExportForm()
    problem = None
    if form.validate_on_submit():
        problem = _keep_text_export(questionnaire, token, table, plan, form.text_file.data.read())
    else:
        problem = next(iter(form.text_file.errors), None) or _("请重新提交。")
    import_mapping.remember_plan(token, questionnaire.id, current_user.id, table, plan)
    text = _text_codes(questionnaire, token, table, plan)
    page = _mapping_page(questionnaire, token, table, plan, text=text, text_problem=problem)
    return page, 422 if problem else 200


@bp.post("/<token>/run")
def run(questionnaire_id: int, token: str):
    """Import every row, or none: a bad row or cell shows the report and stores nothing."""
    questionnaire = member_questionnaire(questionnaire_id)
    table = _table(questionnaire, token)
    plan, text = _submitted_plan_and_text(questionnaire, token, table)
    report = import_checking.run_import(
        questionnaire, table, plan, current_user.id, _timezone(), text, reader=answers_reader
    )
    if not report.ok:
        import_mapping.remember_plan(token, questionnaire.id, current_user.id, table, plan)
        return _mapping_page(questionnaire, token, table, plan, report, text), 422
    import_mapping.delete_upload(token, questionnaire.id, current_user.id)
    flash(_("已导入 %(n)d 份答卷。", n=report.imported), "success")
    return redirect(url_for("desk.results", questionnaire_id=questionnaire.id))


@bp.post("/<token>/discard")
def discard(questionnaire_id: int, token: str):
    """Give up this import: the kept upload is deleted."""
    questionnaire = member_questionnaire(questionnaire_id)
    _table(questionnaire, token)
    import_mapping.delete_upload(token, questionnaire.id, current_user.id)
    flash(_("已放弃这次导入，上传的文件已删除。"), "success")
    return redirect(url_for("desk.questionnaire", questionnaire_id=questionnaire.id))


def _timezone() -> str:
    """Times in the file are read in the timezone the desk shows times in."""
    return import_mapping.app_timezone()


def _definition(questionnaire: Questionnaire) -> dict:
    if questionnaire.current_version is None:
        abort(404)
    return questionnaire.current_version.definition


def _table(questionnaire: Questionnaire, token: str) -> import_reading.Table:
    """The kept upload of this questionnaire by the signed-in evaluator, or 404 (unknown, expired or someone else's)."""
    table = import_mapping.load_upload(token, questionnaire.id, current_user.id)
    if table is None:
        abort(404)
    return table


def _submitted_plan(questionnaire: Questionnaire, table: import_reading.Table) -> import_mapping.Plan:
    channels = [value for value, _label in import_mapping.channel_choices(questionnaire)]
    return import_mapping.plan_from_form(request.form, table, _definition(questionnaire), channels)


def _submitted_plan_and_text(questionnaire: Questionnaire, token: str, table: import_reading.Table):
    """The submitted plan and the kept text download's evidence; the button "采用按选项文本文件的对照" (a
    ``text-codes=accept`` in the form) makes that evidence the plan's reading of those codes. The evaluator
    still confirms the code tables afterwards: taking them clears the tick."""
    plan = _submitted_plan(questionnaire, table)
    text = _text_codes(questionnaire, token, table, plan)
    if text is not None and request.form.get("text-codes") == "accept":
        import_mapping.take_text_codes(plan, text)
        plan.codes_confirmed = False
    return plan, text


def _text_codes(questionnaire: Questionnaire, token: str, table: import_reading.Table, plan):
    """What the kept 按选项文本 download says about this plan's option numbers, or ``None`` without one."""
    text_table = import_mapping.load_text_export(token, questionnaire.id, current_user.id)
    if text_table is None:
        return None
    return import_mapping.text_codes(table, plan, _definition(questionnaire), text_table)


def _keep_text_export(questionnaire: Questionnaire, token: str, table: import_reading.Table, plan, content: bytes):
    """Read and keep a text download (the upload's own guards apply); the reason it was refused, else ``None``.

    A file of option numbers is refused, unless its numbers are this questionnaire's option texts (a scale
    whose options read 1…5): then they still tell what each code is."""
    try:
        text_table = import_reading.read_table(content)
    except import_reading.FileProblem as error:
        return error.message
    if text_table.sha256 == table.sha256:
        return _("这就是正在导入的文件。请选择同一问卷在问卷星“按选项文本”下载的另一个文件。")
    definition = _definition(questionnaire)
    coded = import_mapping.code_tables(text_table, import_mapping.default_plan(text_table, definition), definition)
    if coded and not import_mapping.text_codes(table, plan, definition, text_table).usable:
        return _("这个文件的答案也是选项序号，不是“按选项文本”下载。请在问卷星下载答卷时选择“按选项文本”。")
    import_mapping.save_text_export(token, questionnaire.id, current_user.id, text_table)
    return None


def _mapping_page(questionnaire, token, table, plan, report=None, text=None, text_problem=None):
    definition = _definition(questionnaire)
    return render_template(
        "imports/mapping.html",
        questionnaire=questionnaire,
        token=token,
        table=table,
        plan=plan,
        report=report,
        form=MappingForm(),
        columns=import_mapping.column_views(table, plan),
        choices=import_mapping.target_choices(definition),
        values=import_mapping.value_views(table, plan, definition),
        channels=import_mapping.channel_choices(questionnaire),
        missing_time=import_mapping.rows_without_time(table, plan),
        code_tables=import_mapping.code_tables(table, plan, definition, text),
        text=text,
        text_problem=text_problem,
        text_form=TextExportForm(),
        blank=import_cells.BLANK,
        title=_("导入答卷：对应列与选项"),
    )
