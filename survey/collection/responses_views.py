"""The response browser: list and filter a questionnaire's responses, open one with its answers, correct or void a
keyed-in entry, and exclude responses by rule after a preview.

Every route needs a member of the questionnaire's project (non-members 404); viewers may read but every
change, and the correction page itself, is refused them with 403 (``survey.accounts.access``). Responses are named by
their number within the questionnaire (第 N 号), in URLs too.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from analysis.numbers import whole_number
from forms.responses import (
    CorrectionForm,
    FilterForm,
    ReasonForm,
    RuleConfirmForm,
    RulePreviewForm,
    channel_choices,
    read_typed_entry,
    rule_choices,
)
from survey.accounts.access import member_questionnaire
from survey.collection import review as reviewing
from survey.collection.paper import paper_fields, typed_from_answers
from survey.models import Questionnaire, Response
from survey.platform.localtime import time_label
from survey.responses import browser
from survey.responses.numbers import fill_missing
from survey.responses.quality import quality_flags
from survey.results.reporting import channel_label

bp = Blueprint("responses", __name__, url_prefix="/desk/questionnaires/<int:questionnaire_id>/responses")


@bp.before_request
@login_required
def require_login():
    """Every browser route needs a signed-in evaluator; membership is checked per route."""


def _response(questionnaire: Questionnaire, number: int) -> Response:
    response = browser.response_by_number(questionnaire, number)
    if response is None:
        abort(404)
    return response


def _helpers(questionnaire: Questionnaire) -> dict:
    """What the templates need to put codes into words."""
    return {
        "channel_label": lambda code: channel_label(code, questionnaire.channels),
        "status_names": browser.STATUS_NAMES,
        "mode_names": browser.MODE_NAMES,
        "flag_label": reviewing.flag_label,
        "submitted_title": time_label(_("提交时间")),  # the desk's clock, named (北京时间)
    }


@bp.get("")
def index(questionnaire_id: int):
    """The list: filters, the count of matches, one page of them, newest first."""
    questionnaire = member_questionnaire(questionnaire_id)
    fill_missing(questionnaire.id)  # rows loaded around the application get their numbers here, once
    wanted = request.args.get("number", "").strip()
    if wanted:  # 转到第 N 号
        number = whole_number(wanted)  # "²" or 10²⁰ passed isdigit() and failed with a server error
        if number is not None and browser.response_by_number(questionnaire, number) is not None:
            return redirect(url_for("responses.detail", questionnaire_id=questionnaire.id, number=number))
        flash(_("没有第 %(n)s 号答卷。", n=wanted[:12]), "error")
    form = FilterForm.for_questionnaire(questionnaire, request.args)
    form.validate()
    filters = form.filters()
    page = browser.browse(questionnaire, filters, request.args.get("page", 1, type=int))
    return render_template(
        "responses/index.html",
        questionnaire=questionnaire,
        form=form,
        page=page,
        **_helpers(questionnaire),
        title=_("答卷浏览：%(t)s", t=questionnaire.title),
    )


@bp.get("/<int:number>")
def detail(questionnaire_id: int, number: int):
    """One response: its details, every answer in words, its flags and history, and what may be done to it."""
    questionnaire = member_questionnaire(questionnaire_id)
    response = _response(questionnaire, number)
    definition = browser.version_definition(response)
    return render_template(
        "responses/detail.html",
        questionnaire=questionnaire,
        response=response,
        rows=browser.answer_rows(definition, response.answers),
        evidence=reviewing.flag_evidence(response, definition, questionnaire.min_seconds),
        history=browser.history(response),
        in_words=lambda answers: [row for row in browser.answer_rows(definition, answers) if row.answered],
        neighbours=browser.neighbours(questionnaire, number),
        reason_form=ReasonForm(),
        action_names=reviewing.ACTION_NAMES,
        **_helpers(questionnaire),
        title=_("第 %(n)d 号答卷：%(t)s", n=number, t=questionnaire.title),
    )


def _back(questionnaire: Questionnaire, number: int):
    return redirect(url_for("responses.detail", questionnaire_id=questionnaire.id, number=number))


@bp.post("/<int:number>/<any(void, unvoid):action>")
def void(questionnaire_id: int, number: int, action: str):
    """Void a keyed-in entry made in error (or undo that), with a reason; the entry and its answers stay."""
    questionnaire = member_questionnaire(questionnaire_id)
    response = _response(questionnaire, number)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("请写明理由后再提交。"), "error")
        return _back(questionnaire, number)
    change = reviewing.void if action == "void" else reviewing.unvoid
    try:
        change(response, current_user, form.reason.data.strip())
    except reviewing.NotAllowed as refused:
        flash(str(refused), "error")
    else:
        if action == "void":
            flash(_("第 %(n)d 号答卷已作废。", n=number), "success")
        else:
            flash(_("第 %(n)d 号答卷已撤销作废。", n=number), "success")
    return _back(questionnaire, number)


@bp.route("/<int:number>/correct", methods=["GET", "POST"])
def correct(questionnaire_id: int, number: int):
    """Correct a keyed-in entry as it was typed: the option numbers again, the channel, and why."""
    questionnaire = member_questionnaire(questionnaire_id, edit=True)
    response = _response(questionnaire, number)
    if response.mode != "paper" or response.status == "voided":
        flash(_("只能更正录入的纸质问卷（未作废的）；网上和导入的答卷请用排除。"), "error")
        return _back(questionnaire, number)
    definition = browser.version_definition(response)
    form = CorrectionForm(channel=response.channel)
    form.channel.choices = channel_choices(questionnaire)
    typed, errors = typed_from_answers(definition, response.answers), {}
    if form.validate_on_submit():
        typed = {row["key"]: request.form.get(f"p_{row['key']}", "") for row in paper_fields(definition)}
        answers, errors = read_typed_entry(definition, typed)
        if answers is not None:
            flags = quality_flags(definition, answers)
            reason = form.reason.data.strip()
            reviewing.correct(response, current_user, answers, form.channel.data, flags, definition, reason)
            flash(_("第 %(n)d 号答卷已更正，原来的回答已保留在修改记录中。", n=number), "success")
            return _back(questionnaire, number)
    return render_template(
        "responses/correct.html",
        questionnaire=questionnaire,
        response=response,
        form=form,
        rows=paper_fields(definition),
        typed=typed,
        errors=errors,
        title=_("更正第 %(n)d 号答卷：%(t)s", n=number, t=questionnaire.title),
    ), (422 if errors or form.errors else 200)


def _rule(value: str) -> reviewing.Rule:
    kind, _sep, name = value.partition(":")
    return reviewing.Rule(kind, name)


@bp.get("/exclude")
def exclude_by_rule(questionnaire_id: int):
    """Choose a rule and see exactly what it would exclude (count and list) before confirming."""
    questionnaire = member_questionnaire(questionnaire_id)
    form = RulePreviewForm(request.args)
    form.rule.choices = rule_choices(questionnaire)
    preview = confirm = None
    if request.args.get("rule") and form.validate():
        preview = reviewing.preview_rule(questionnaire, _rule(form.rule.data))
        label = dict(form.rule.choices)[form.rule.data]
        confirm = RuleConfirmForm(rule=form.rule.data, upto=preview.upto, digest=preview.digest, reason=label)
    return _rule_page(questionnaire, form, preview, confirm)


def _rule_page(questionnaire, form, preview, confirm, status: int = 200):
    return render_template(
        "responses/exclude.html",
        questionnaire=questionnaire,
        form=form,
        preview=preview,
        confirm=confirm,
        **_helpers(questionnaire),
        title=_("按规则排除答卷：%(t)s", t=questionnaire.title),
    ), status


@bp.post("/exclude")
def confirm_exclusion(questionnaire_id: int):
    """Exclude what the preview showed; if the matches changed meanwhile, show the new preview instead."""
    questionnaire = member_questionnaire(questionnaire_id)
    confirm = RuleConfirmForm()
    preview_form = RulePreviewForm(data={"rule": confirm.rule.data})
    preview_form.rule.choices = rule_choices(questionnaire)
    if not confirm.validate_on_submit() or confirm.rule.data not in dict(preview_form.rule.choices):
        flash(_("请写明理由后再确认。"), "error")
        return redirect(url_for("responses.exclude_by_rule", questionnaire_id=questionnaire.id, rule=confirm.rule.data))
    rule = _rule(confirm.rule.data)
    reason = confirm.reason.data.strip()
    done = reviewing.exclude_by_rule(
        questionnaire, rule, current_user, reason, int(confirm.upto.data), confirm.digest.data
    )
    if done is None:
        changed = _("预览之后答卷有了变化（有答卷被排除、恢复或更正），没有排除任何答卷。请核对新的预览后再确认。")
        flash(changed, "error")
        return redirect(url_for("responses.exclude_by_rule", questionnaire_id=questionnaire.id, rule=confirm.rule.data))
    flash(_("已按规则排除 %(n)d 份答卷，每份都记入排除记录。", n=done), "success")
    return redirect(url_for("responses.index", questionnaire_id=questionnaire.id, status="excluded"))
