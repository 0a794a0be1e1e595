"""Privacy actions on the desk: delete every response of a questionnaire (export first, confirm, audited).

Only owners and editors may delete (``member_questionnaire`` refuses viewers and outsiders). The page
shows what will go and links to the exports first, because nothing can bring the answers back.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required

from forms.privacy import DeleteResponsesForm
from survey.accounts.access import can_edit, forbid, member_questionnaire
from survey.privacy import retention as privacy

bp = Blueprint("privacy", __name__, url_prefix="/desk/questionnaires/<int:questionnaire_id>")


@bp.before_request
@login_required
def require_login():
    """Every privacy action needs a signed-in evaluator; membership is checked per route."""


@bp.route("/responses/delete", methods=["GET", "POST"])
def delete_responses(questionnaire_id: int):
    """Counts and download links first; on a confirmed POST every response goes, in one transaction."""
    questionnaire = member_questionnaire(questionnaire_id)  # viewers: 403 on POST, outsiders: 404
    if not can_edit(questionnaire):  # nor may a viewer open the confirmation page
        forbid(_("您在此项目中只有查看权限，不能删除答卷。"))
    form = DeleteResponsesForm(questionnaire.title)
    if form.validate_on_submit():
        deleted = privacy.delete_all_responses(questionnaire)
        flash(_("已删除这份问卷的全部 %(n)d 份答卷。", n=deleted), "success")
        return redirect(url_for("desk.questionnaire", questionnaire_id=questionnaire.id))
    return render_template(
        "privacy/delete_responses.html",
        questionnaire=questionnaire,
        counts=privacy.response_count(questionnaire),
        form=form,
        title=_("删除全部答卷：%(t)s", t=questionnaire.title),
    ), (422 if form.errors else 200)
