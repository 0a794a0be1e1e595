"""The rounds page of a questionnaire: which questionnaire is its previous round, what the rounds are called, and
which question each rated question is compared with. The comparison itself appears on the results page and in
every file (``survey.results.rounds``).

Every route needs a signed-in member of the questionnaire's project; changes need an editor, and the previous
round must be a published questionnaire the evaluator may read (``survey.accounts.access``).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from forms.project import ActionForm
from forms.rounds import NOT_COMPARED, RoundLinkForm, pairing_choices
from survey.accounts.access import can_edit, member_questionnaire, projects_of_current_user
from survey.models import Questionnaire
from survey.platform.extensions import db
from survey.results.reporting import questionnaire_results
from survey.results.rounds import series
from survey.rounds.linking import default_mapping, linkable, rated_questions, remove_link, save_link

bp = Blueprint("rounds", __name__, url_prefix="/desk/questionnaires/<int:questionnaire_id>/rounds")


@bp.before_request
@login_required
def require_login():
    """Every route needs a signed-in evaluator; membership is checked per route."""


def _candidates(questionnaire: Questionnaire) -> list[Questionnaire]:
    every = [q for project in projects_of_current_user() for q in project.questionnaires]
    return linkable(questionnaire, every)


def _form(questionnaire: Questionnaire, form: RoundLinkForm | None = None) -> RoundLinkForm:
    link = questionnaire.round_link
    if form is None:
        data = (
            {"label": link.label, "previous_label": link.previous_label, "previous": str(link.previous_id)}
            if link
            else {}
        )
        form = RoundLinkForm(data=data)
    candidates = _candidates(questionnaire)
    return form.offer([(q.id, f"{q.project.name} · {q.title}") for q in candidates])


def _previous(questionnaire: Questionnaire, form: RoundLinkForm) -> Questionnaire | None:
    chosen = form.previous.data if form.previous.data else None
    return next((q for q in _candidates(questionnaire) if str(q.id) == str(chosen)), None)


def _page(questionnaire: Questionnaire, form: RoundLinkForm | None = None, status: int = 200):
    link = questionnaire.round_link
    current = rated_questions(questionnaire)
    previous = rated_questions(link.previous) if link else []
    pairs = dict(link.mapping) if link else {}
    return render_template(
        "rounds/page.html",
        questionnaire=questionnaire,
        form=_form(questionnaire, form),
        link=link,
        chain=series(questionnaire),
        current=current,
        pairs=pairs,
        choices=pairing_choices(previous),
        comparison=questionnaire_results(questionnaire).rounds if link else None,
        action_form=ActionForm(),
        editable=can_edit(questionnaire),
        title=_("多轮比较：%(title)s", title=questionnaire.title),
    ), status


@bp.get("/")
def page(questionnaire_id: int):
    """The series this questionnaire belongs to, and the form that links it to its previous round."""
    return _page(member_questionnaire(questionnaire_id))


@bp.post("/")
def save(questionnaire_id: int):
    """Link (or relink) the previous round; pairs posted for the same previous round are kept, others default
    to the same key or the same wording."""
    questionnaire = member_questionnaire(questionnaire_id, edit=True)
    form = _form(questionnaire, RoundLinkForm())
    if not form.validate_on_submit():
        return _page(questionnaire, form, status=422)
    previous = _previous(questionnaire, form)
    if previous is None:
        form.previous.errors = [
            *form.previous.errors,
            _("请选择一份已发布、您可以查看的问卷，且不能是本问卷之后的一轮。"),
        ]
        return _page(questionnaire, form, status=422)
    current, before = rated_questions(questionnaire), rated_questions(previous)
    mapping = default_mapping(current, before)
    same_previous = questionnaire.round_link is not None and questionnaire.round_link.previous_id == previous.id
    if same_previous:
        mapping = _posted_pairs(current, {q["key"] for q in before}, mapping)
    save_link(questionnaire, previous, form.label.data.strip(), form.previous_label.data.strip(), mapping)
    flash(_("已设置上一轮：%(title)s（比较 %(n)d 道题）。", title=previous.title, n=len(mapping)), "success")
    return redirect(url_for("rounds.page", questionnaire_id=questionnaire.id))


def _posted_pairs(current: list[dict], previous_keys: set[str], defaults: dict[str, str]) -> dict[str, str]:
    """The pairs the evaluator chose on the page; a question the form did not carry keeps its default."""
    mapping = {}
    for question in current:
        field = f"pair-{question['key']}"
        if field not in request.form:
            if question["key"] in defaults:
                mapping[question["key"]] = defaults[question["key"]]
            continue
        chosen = request.form[field]
        if chosen != NOT_COMPARED and chosen in previous_keys:
            mapping[question["key"]] = chosen
    return mapping


@bp.post("/delete")
def delete(questionnaire_id: int):
    """Unlink the previous round (neither questionnaire changes)."""
    questionnaire = member_questionnaire(questionnaire_id, edit=True)
    if not ActionForm().validate_on_submit():
        abort(400)
    remove_link(questionnaire)
    db.session.commit()
    flash(_("已取消与上一轮的关联。"), "success")
    return redirect(url_for("rounds.page", questionnaire_id=questionnaire.id))
