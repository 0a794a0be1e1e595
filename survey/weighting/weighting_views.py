"""The weighting page of a questionnaire: population tables, the weighting scheme and what the weights come to.

Every route needs a signed-in evaluator who is a member of the questionnaire's project; changes need an editor
(``survey.accounts.access``). A table is stored only when every check passes (``survey.weighting.population``);
a refused one is shown again with every problem and what was typed.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from analysis.design import DesignError
from forms.project import ActionForm
from forms.weighting import PopulationTableForm, SamplePlanForm, WeightingSchemeForm
from survey.accounts.access import can_edit, member_questionnaire
from survey.collection.import_reading import FileProblem, read_table
from survey.models import PopulationTable, Questionnaire
from survey.platform.extensions import db
from survey.results.presenting import weighting_problem
from survey.results.reporting import questionnaire_results
from survey.weighting.plan import clear_plan, design_problem, make_plan, plan_view, save_plan
from survey.weighting.population import (
    blank_table,
    check_table,
    delete_table,
    save_table,
    table_in_use,
    weighting_questions,
)
from survey.weighting.scheme import SCHEME_FIELDS, save_scheme

bp = Blueprint("weighting", __name__, url_prefix="/desk/questionnaires/<int:questionnaire_id>/weighting")


@bp.before_request
@login_required
def require_login():
    """Every route needs a signed-in evaluator; membership is checked per route."""


def _table_form(questionnaire: Questionnaire, form: PopulationTableForm | None = None) -> PopulationTableForm:
    return (form or PopulationTableForm()).offer(weighting_questions(questionnaire))


def _scheme_form(questionnaire: Questionnaire, form: WeightingSchemeForm | None = None) -> WeightingSchemeForm:
    scheme = questionnaire.weighting
    if form is None:
        data = {name: getattr(scheme, name) for name in SCHEME_FIELDS} if scheme else {"enabled": True}
        data["tables"] = list(scheme.table_names) if scheme else [t.name for t in questionnaire.population_tables]
        form = WeightingSchemeForm(data=data)
    return form.offer([t.name for t in questionnaire.population_tables])


def _plan_form(questionnaire: Questionnaire, form: SamplePlanForm | None = None) -> SamplePlanForm:
    record = questionnaire.sample_plan
    if form is None:
        fields = ("method", "total", "minimum", "maximum", "expected_rate")
        data = {name: getattr(record, name) for name in fields} if record else {"method": "proportional"}
        if record:
            data.update(stratum=record.stratum_key, table=record.table_name)
        form = SamplePlanForm(data=data)
    names = [t.name for t in questionnaire.population_tables]
    return form.offer(weighting_questions(questionnaire), names)


def _page(
    questionnaire: Questionnaire,
    table_form=None,
    scheme_form=None,
    plan_form=None,
    problems=(),
    plan_problem: str | None = None,
    status: int = 200,
):
    """The whole page; the weights and the plan's coverage are computed afresh from today's valid responses."""
    results = questionnaire_results(questionnaire)
    questions = {q["key"]: q for q in weighting_questions(questionnaire)}
    plan, stored_plan_problem = plan_view(questionnaire, results)
    return render_template(
        "weighting/page.html",
        questionnaire=questionnaire,
        results=results,
        weighted=results.weighted,
        weighting_problem=weighting_problem(results.weighting_error),
        tables=questionnaire.population_tables,
        questions=questions,
        table_form=_table_form(questionnaire, table_form),
        scheme_form=_scheme_form(questionnaire, scheme_form),
        plan_form=_plan_form(questionnaire, plan_form),
        plan=plan,
        plan_problem=plan_problem or stored_plan_problem,
        action_form=ActionForm(),
        problems=problems,
        editable=can_edit(questionnaire),
        in_use={t.id: table_in_use(questionnaire, t) for t in questionnaire.population_tables},
        title=_("加权：%(title)s", title=questionnaire.title),
    ), status


@bp.get("/")
def page(questionnaire_id: int):
    """Population tables, the scheme, and the weights' distribution on today's responses."""
    return _page(member_questionnaire(questionnaire_id))


@bp.get("/blank.csv")
def blank(questionnaire_id: int):
    """The table to fill for the chosen group questions: every category listed, the counts empty."""
    questionnaire = member_questionnaire(questionnaire_id)
    by_key = {q["key"]: q for q in weighting_questions(questionnaire)}
    chosen = [by_key[key] for key in request.args.getlist("questions") if key in by_key]
    if not chosen:  # a link without questions (typed by hand): back to the page, which lists the right links
        flash(_("请选择空白表的分类题目。"), "error")
        return redirect(url_for("weighting.page", questionnaire_id=questionnaire.id) + "#tables")
    return Response(
        blank_table(chosen),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename=population-{questionnaire.id}.csv"},
    )


@bp.post("/tables")
def add_table(questionnaire_id: int):
    """Check a population table whole; store it (replacing one of the same name) only if nothing is wrong."""
    questionnaire = member_questionnaire(questionnaire_id, edit=True)
    form = _table_form(questionnaire)
    if not form.validate_on_submit():
        return _page(questionnaire, table_form=form, status=422)
    by_key = {q["key"]: q for q in weighting_questions(questionnaire)}
    questions = [by_key[key] for key in form.questions.data]
    upload = form.file.data
    content = upload.read() if upload and upload.filename else form.rows.data.encode("utf-8")
    try:
        table = read_table(content)
    except FileProblem as error:
        return _page(questionnaire, table_form=form, problems=[error.message], status=422)
    name = form.name.data.strip()
    check = check_table(questionnaire, name, questions, table)
    if not check.ok:
        return _page(questionnaire, table_form=form, problems=check.problems, status=422)
    save_table(questionnaire, name, form.source.data.strip(), questions, check.cells)
    flash(_("人口表“%(name)s”已保存（%(n)d 类）。", name=name, n=len(check.cells)), "success")
    return redirect(url_for("weighting.page", questionnaire_id=questionnaire.id) + "#tables")


@bp.post("/tables/<int:table_id>/delete")
def remove_table(questionnaire_id: int, table_id: int):
    """Delete a table the scheme and the plan do not use."""
    questionnaire = member_questionnaire(questionnaire_id, edit=True)
    table = db.session.get(PopulationTable, table_id)
    if table is None or table.questionnaire_id != questionnaire.id or not ActionForm().validate_on_submit():
        abort(404)
    if table_in_use(questionnaire, table):
        flash(_("人口表“%(name)s”正被加权方案或抽样设计使用，请先取消使用。", name=table.name), "error")
    else:
        delete_table(table)
        flash(_("人口表“%(name)s”已删除。", name=table.name), "success")
    return redirect(url_for("weighting.page", questionnaire_id=questionnaire.id) + "#tables")


@bp.post("/scheme")
def scheme(questionnaire_id: int):
    """Save the weighting scheme; the figures everywhere use it from now on (or say why they cannot)."""
    questionnaire = member_questionnaire(questionnaire_id, edit=True)
    form = _scheme_form(questionnaire, WeightingSchemeForm())
    if not form.validate_on_submit():
        return _page(questionnaire, scheme_form=form, status=422)
    save_scheme(questionnaire, form.tables.data, **{name: getattr(form, name).data for name in SCHEME_FIELDS})
    flash(_("加权方案已保存。"), "success")
    return redirect(url_for("weighting.page", questionnaire_id=questionnaire.id) + "#scheme")


@bp.post("/plan")
def plan(questionnaire_id: int):
    """Allocate the total to the strata and store the plan (channel strata: their targets and, if asked, quotas)."""
    questionnaire = member_questionnaire(questionnaire_id, edit=True)
    form = _plan_form(questionnaire, SamplePlanForm())
    if not form.validate_on_submit():
        return _page(questionnaire, plan_form=form, status=422)
    table = next(t for t in questionnaire.population_tables if t.name == form.table.data)
    if form.stratum.data not in table.question_keys:
        problem = _("人口表“%(name)s”没有按这道分层题统计人数。", name=table.name)
        return _page(questionnaire, plan_form=form, plan_problem=problem, status=422)
    try:
        design = make_plan(
            table,
            form.stratum.data,
            form.method.data,
            form.total.data,
            form.minimum.data or 0,
            form.maximum.data,
            form.expected_rate.data,
        )
    except DesignError as error:
        return _page(questionnaire, plan_form=form, plan_problem=design_problem(error), status=422)
    save_plan(questionnaire, table, form.stratum.data, design, form.expected_rate.data, bool(form.quotas.data))
    flash(_("抽样设计已保存：共 %(n)d 份，已分配到各层。", n=design.total), "success")
    return redirect(url_for("weighting.page", questionnaire_id=questionnaire.id) + "#plan")


@bp.post("/plan/delete")
def delete_plan(questionnaire_id: int):
    """Remove the plan (the target sample size stays as it is)."""
    questionnaire = member_questionnaire(questionnaire_id, edit=True)
    if not ActionForm().validate_on_submit():
        abort(400)
    clear_plan(questionnaire)
    flash(_("抽样设计已删除。"), "success")
    return redirect(url_for("weighting.page", questionnaire_id=questionnaire.id) + "#plan")
