"""The report's satisfaction section on the desk: generated text to copy, and the team's template.

Every route requires a signed-in evaluator and a member of the questionnaire's project
(``survey.accounts.access``). A template is saved only if it renders with the current figures.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms.report import ReportTemplateForm, ResetTemplateForm
from survey.accounts.access import member_questionnaire
from survey.reports.text import (
    DEFAULT_TEMPLATE,
    ReportTemplateError,
    paragraphs,
    render_report,
    report_context,
    reset_template,
    save_template,
    saved_template,
    template_for,
)

bp = Blueprint("report_text", __name__, url_prefix="/desk/questionnaires/<int:questionnaire_id>/report")


@bp.before_request
@login_required
def require_login():
    """Every route needs a signed-in evaluator; membership is checked per route."""


def _page(questionnaire, form: ReportTemplateForm, error: str | None = None, status: int = 200):
    context = report_context(questionnaire)
    try:
        text, text_error = render_report(template_for(questionnaire.project_id), context), None
    except ReportTemplateError as problem:  # a saved template the figures no longer fit
        text, text_error = "", problem.message
    return render_template(
        "report/section.html",
        questionnaire=questionnaire,
        text=text,
        paragraphs=paragraphs(text),
        text_error=text_error,
        form=form,
        reset_form=ResetTemplateForm(),
        custom=saved_template(questionnaire.project_id) is not None,
        names=sorted(context),
        error=error,
        title=_("报告满意度部分"),
    ), status


@bp.get("/")
def section(questionnaire_id: int):
    """The generated text and the template editor."""
    questionnaire = member_questionnaire(questionnaire_id)
    form = ReportTemplateForm(data={"template": template_for(questionnaire.project_id)})
    return _page(questionnaire, form)


@bp.post("/")
def save(questionnaire_id: int):
    """Save the project's template, only if it renders with the current figures."""
    questionnaire = member_questionnaire(questionnaire_id)
    form = ReportTemplateForm()
    if not form.validate_on_submit():
        return _page(questionnaire, form, status=422)
    try:
        render_report(form.template.data, report_context(questionnaire))
    except ReportTemplateError as problem:
        return _page(questionnaire, form, error=problem.message, status=422)
    save_template(questionnaire.project_id, form.template.data, current_user.id)
    flash(_("报告模板已保存，本项目的所有问卷都使用这个模板。"), "success")
    return redirect(url_for("report_text.section", questionnaire_id=questionnaire.id))


@bp.post("/reset")
def reset(questionnaire_id: int):
    """Go back to the default template."""
    questionnaire = member_questionnaire(questionnaire_id)
    form = ResetTemplateForm()
    if not form.validate_on_submit():
        return _page(questionnaire, ReportTemplateForm(data={"template": DEFAULT_TEMPLATE}), status=422)
    reset_template(questionnaire.project_id)
    flash(_("已恢复默认报告模板。"), "success")
    return redirect(url_for("report_text.section", questionnaire_id=questionnaire.id))
