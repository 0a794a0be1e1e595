"""Collection in the field: settings, channels, unit codes, paper entry and the review of flagged answers.

One blueprint for the evaluator's collection desk of a questionnaire; every route requires a member
of the questionnaire's project (``member_questionnaire``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from forms.collection import (
    ChannelForm,
    CollectionSettingsForm,
    PaperChannelForm,
    PaperIssuedForm,
    ReviewForm,
    UnitCodesForm,
)
from forms.project import ActionForm
from forms.responses import read_typed_entry
from survey.accounts.access import member_questionnaire
from survey.collection import fieldwork
from survey.collection import review as reviewing
from survey.collection.paper import entered_by_channel, error_list, paper_fields
from survey.models import PAPER_CHANNEL, PAPER_CHANNEL_NAME, Channel, UnitCode
from survey.models import Response as SurveyResponse
from survey.platform.csv_files import table_csv
from survey.platform.extensions import db
from survey.platform.qr import public_url, qr_png
from survey.privacy import retention as privacy
from survey.responses.capture import Arrival, enter_response
from survey.responses.quality import quality_flags
from survey.results.reporting import channel_counts, channel_label, unit_counts

bp = Blueprint("collection", __name__, url_prefix="/desk/questionnaires/<int:questionnaire_id>")
LOCAL = ZoneInfo("Asia/Shanghai")
SETTINGS_FIELDS = (
    "target", "quota", "one_per_device", "ip_limit", "ip_window_minutes", "min_seconds",
    "anonymous", "retention_days", "pow_bits",
)  # fmt: skip


@bp.before_request
@login_required
def require_login():
    """Every collection route needs a signed-in evaluator; membership is checked per route."""


def _to_utc(local: datetime | None) -> datetime | None:
    return None if local is None else local.replace(tzinfo=LOCAL).astimezone(UTC).replace(tzinfo=None)


def _to_local(utc: datetime | None) -> datetime | None:
    return None if utc is None else utc.replace(tzinfo=UTC).astimezone(LOCAL).replace(tzinfo=None)


@bp.route("/collection", methods=["GET", "POST"])
def settings(questionnaire_id: int):
    """Schedule, target, quota, the one-response-per-person rules, privacy and anti-abuse settings."""
    questionnaire = member_questionnaire(questionnaire_id)
    form = CollectionSettingsForm(obj=questionnaire)
    if request.method == "GET":
        form.opens_at.data, form.closes_at.data = _to_local(questionnaire.opens_at), _to_local(questionnaire.closes_at)
    if form.validate_on_submit():
        for name in SETTINGS_FIELDS:
            setattr(questionnaire, name, form[name].data)
        questionnaire.opens_at, questionnaire.closes_at = _to_utc(form.opens_at.data), _to_utc(form.closes_at.data)
        db.session.commit()
        flash(_("收集设置已保存。"), "success")
        return redirect(url_for("collection.settings", questionnaire_id=questionnaire.id))
    status = 422 if form.errors else 200
    return render_template(
        "collection/settings.html",
        questionnaire=questionnaire,
        form=form,
        notes=privacy.settings_notes(questionnaire),
        title=_("收集设置：%(t)s", t=questionnaire.title),
    ), status


def _channel_of(questionnaire, channel_id: int) -> Channel:
    channel = db.session.get(Channel, channel_id)
    if channel is None or channel.questionnaire_id != questionnaire.id:
        abort(404)
    return channel


@bp.route("/channels", methods=["GET", "POST"])
def channels(questionnaire_id: int):
    """采集点 list with counts against targets, and a form to add one."""
    questionnaire = member_questionnaire(questionnaire_id)
    form = ChannelForm()
    if form.validate_on_submit():
        try:
            channel = fieldwork.add_channel(
                questionnaire, form.name.data, form.target.data, form.quota.data, form.issued.data
            )
        except fieldwork.FieldworkError as refused:  # a name already used
            form.name.errors = [*form.name.errors, *refused.problems]
        else:
            flash(_("已添加采集点“%(name)s”。", name=channel.name), "success")
            return redirect(url_for("collection.channels", questionnaire_id=questionnaire.id))
    return render_template(
        "collection/channels.html",
        questionnaire=questionnaire,
        form=form,
        action_form=ActionForm(),
        counts=channel_counts(questionnaire),
        public_url=public_url,
        has_public_link=fieldwork.has_public_link,
        title=_("采集点：%(t)s", t=questionnaire.title),
    ), (422 if form.errors else 200)


@bp.post("/channels/<int:channel_id>")
def edit_channel(questionnaire_id: int, channel_id: int):
    """Change a channel's name, target, quota or issued count."""
    questionnaire = member_questionnaire(questionnaire_id)
    channel = _channel_of(questionnaire, channel_id)
    form = ChannelForm()
    if not form.validate_on_submit():
        flash(_("采集点没有保存：%(e)s", e="；".join(str(m) for ms in form.errors.values() for m in ms)), "error")
    elif taken := fieldwork.name_taken(questionnaire, form.name.data, other_than=channel):
        flash(_("采集点没有保存：%(e)s", e=fieldwork.taken_message(taken.label)), "error")
    else:
        name = form.name.data.strip()
        if name != channel.label:  # the system channel's shown (translated) name kept as is stays a msgid
            channel.name = name
        channel.target = form.target.data
        channel.quota, channel.issued = form.quota.data, form.issued.data
        db.session.commit()
        flash(_("采集点已保存。"), "success")
    return redirect(url_for("collection.channels", questionnaire_id=questionnaire.id))


@bp.post("/channels/<int:channel_id>/delete")
def delete_channel(questionnaire_id: int, channel_id: int):
    """Remove a channel that has no responses yet (answered channels stay, for the record)."""
    questionnaire = member_questionnaire(questionnaire_id)
    channel = _channel_of(questionnaire, channel_id)
    if ActionForm().validate_on_submit():
        if channel.accepted_count:
            flash(_("这个采集点已有回答，不能删除；可以设置配额为 0 来停止收集。"), "error")
        else:
            db.session.delete(channel)
            db.session.commit()
            flash(_("采集点已删除。"), "success")
    return redirect(url_for("collection.channels", questionnaire_id=questionnaire.id))


@bp.get("/channels/<int:channel_id>/qr.png")
def channel_qr(questionnaire_id: int, channel_id: int):
    """The QR code of a channel's link; the paper channel has none."""
    channel = _channel_of(member_questionnaire(questionnaire_id), channel_id)
    if not fieldwork.has_public_link(channel):
        abort(404)
    response = Response(qr_png(public_url(channel.token)), mimetype="image/png")
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f"attachment; filename=channel-{channel.id}-qr.png"
    return response


@bp.route("/units", methods=["GET", "POST"])
def units(questionnaire_id: int):
    """服务对象单位码: add units, see who has answered."""
    questionnaire = member_questionnaire(questionnaire_id)
    form = UnitCodesForm()
    if form.validate_on_submit():
        added = fieldwork.add_units(questionnaire, form.units.data.splitlines(), form.uses.data)
        flash(_("已添加 %(n)d 个单位。", n=len(added)), "success")
        return redirect(url_for("collection.units", questionnaire_id=questionnaire.id))
    return render_template(
        "collection/units.html",
        questionnaire=questionnaire,
        form=form,
        action_form=ActionForm(),
        counts=unit_counts(questionnaire),
        title=_("服务对象单位：%(t)s", t=questionnaire.title),
    ), (422 if form.errors else 200)


@bp.post("/units/<int:unit_id>/delete")
def delete_unit(questionnaire_id: int, unit_id: int):
    """Remove a unit code nobody has used."""
    questionnaire = member_questionnaire(questionnaire_id)
    unit = db.session.get(UnitCode, unit_id)
    if unit is None or unit.questionnaire_id != questionnaire.id:
        abort(404)
    if ActionForm().validate_on_submit():
        if unit.used:
            flash(_("这个单位已经填写过，不能删除。"), "error")
        else:
            db.session.delete(unit)
            db.session.commit()
            flash(_("单位已删除。"), "success")
    return redirect(url_for("collection.units", questionnaire_id=questionnaire.id))


@bp.get("/units.csv")
def units_csv(questionnaire_id: int):
    """Every unit with its link and completion, to hand out by mail or print."""
    questionnaire = member_questionnaire(questionnaire_id)
    counts = unit_counts(questionnaire)
    rows = [
        {
            _("单位"): u.unit_name,
            _("填写链接"): url_for("public.respond_unit", code=u.code, _external=True),
            _("可填份数"): u.max_uses,
            _("已填份数"): counts.get(u.id, 0),
        }
        for u in questionnaire.unit_codes
    ]
    return Response(
        table_csv(rows, [_("单位"), _("填写链接"), _("可填份数"), _("已填份数")]),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename=units-{questionnaire.id}.csv"},
    )


def _paper_channel(questionnaire) -> Channel:
    """The questionnaire's paper channel, created on first use so its issued count has a home.

    Stored under its Chinese name (a msgid): ``Channel.label`` shows it in each reader's language.
    """
    channel = next((c for c in questionnaire.channels if c.code == PAPER_CHANNEL), None)
    if channel is None:
        channel = Channel(questionnaire=questionnaire, code=PAPER_CHANNEL, name=PAPER_CHANNEL_NAME)
        db.session.add(channel)
        db.session.commit()
    return channel


def _entry_channel_form(questionnaire, formdata=None) -> PaperChannelForm:
    """Which 采集点 a keyed-in questionnaire belongs to: any of the questionnaire's channels, paper first."""
    paper_channel = _paper_channel(questionnaire)
    form = PaperChannelForm(formdata=formdata, channel=request.args.get("channel") or paper_channel.code)
    others = [(c.code, c.label) for c in questionnaire.channels if c.code != paper_channel.code]
    form.channel.choices = [(paper_channel.code, paper_channel.label), *others]
    return form


@bp.route("/paper", methods=["GET", "POST"])
def paper(questionnaire_id: int):
    """Key in a paper questionnaire with option numbers; stored against the chosen channel (default 纸质问卷)."""
    questionnaire = member_questionnaire(questionnaire_id, edit=True)  # even its GET makes the paper channel
    if questionnaire.current_version is None:
        flash(_("问卷发布后才能录入纸质问卷。"), "error")
        return redirect(url_for("desk.questionnaire", questionnaire_id=questionnaire.id))
    definition = questionnaire.current_version.definition
    action, typed, errors = ActionForm(), {}, {}
    channel_form = _entry_channel_form(questionnaire, request.form if request.method == "POST" else None)
    if action.validate_on_submit():
        typed = {row["key"]: request.form.get(f"p_{row['key']}", "") for row in paper_fields(definition)}
        if not channel_form.validate():
            errors = {"": "；".join(channel_form.channel.errors)}
        else:
            channel = next(c for c in questionnaire.channels if c.code == channel_form.channel.data)
            errors, number = _store_paper(questionnaire, definition, typed, channel)
        if not errors:
            entered = entered_by_channel(questionnaire.id).get(channel.code, 0)
            message = _("已录入 1 份纸质问卷：第 %(n)d 号，记入“%(channel)s”（该采集点已录入 %(count)d 份纸质问卷）。",
                        n=number, channel=channel.label, count=entered)  # fmt: skip
            flash(message, "success")
            return redirect(url_for("collection.paper", questionnaire_id=questionnaire.id, channel=channel.code))
    return render_template(
        "collection/paper.html",
        questionnaire=questionnaire,
        rows=paper_fields(definition),
        typed=typed,
        errors=errors,
        error_list=error_list(definition, errors),
        action_form=ActionForm(),
        channel_form=channel_form,
        issued_form=PaperIssuedForm(issued=_paper_channel(questionnaire).issued),
        entered=_entered_counts(questionnaire),
        title=_("录入纸质问卷：%(t)s", t=questionnaire.title),
    ), (422 if errors else 200)


def _entered_counts(questionnaire) -> list[tuple[str, int]]:
    """(channel label, paper questionnaires keyed in there): the paper channel always, others once used."""
    entered = entered_by_channel(questionnaire.id)
    return [
        (c.label, entered.get(c.code, 0))
        for c in sorted(questionnaire.channels, key=lambda c: c.code != PAPER_CHANNEL)
        if c.code == PAPER_CHANNEL or entered.get(c.code)
    ]


def _store_paper(questionnaire, definition: dict, typed: dict[str, str], channel: Channel):
    """Validate typed codes like a phone's answers and store them: ``({}, number)``, or ``(errors by key, None)``."""
    answers, errors = read_typed_entry(definition, typed)
    if answers is None:
        return errors, None
    flags = quality_flags(definition, answers)
    response, _created = enter_response(Arrival(questionnaire, channel), answers, uuid.uuid4().hex, flags=flags)
    db.session.refresh(channel)
    return {}, response.number


@bp.post("/paper/issued")
def paper_issued(questionnaire_id: int):
    """Record how many paper questionnaires were handed out."""
    questionnaire = member_questionnaire(questionnaire_id)
    form = PaperIssuedForm()
    if form.validate_on_submit():
        _paper_channel(questionnaire).issued = form.issued.data
        db.session.commit()
        flash(_("纸质问卷发放份数已保存。"), "success")
    return redirect(url_for("collection.paper", questionnaire_id=questionnaire.id))


@bp.get("/review")
def review(questionnaire_id: int):
    """Flagged responses waiting for a decision, each flag beside the answers it was raised on; the excluded ones."""
    questionnaire = member_questionnaire(questionnaire_id)
    waiting = reviewing.waiting_for_review(questionnaire)
    definitions = reviewing.version_definitions({r.version_id for r in waiting})
    evidence = {r.id: reviewing.flag_evidence(r, definitions[r.version_id], questionnaire.min_seconds) for r in waiting}
    return render_template(
        "collection/review.html",
        questionnaire=questionnaire,
        waiting=waiting,
        waiting_count=reviewing.waiting_count(questionnaire),
        evidence=evidence,
        excluded=reviewing.excluded(questionnaire),
        excluded_count=reviewing.excluded_count(questionnaire),
        form=ReviewForm(),
        flag_label=reviewing.flag_label,
        channel_label=lambda code: channel_label(code, questionnaire.channels),
        suggested_reason=reviewing.suggested_reason,
        title=_("答卷审核：%(t)s", t=questionnaire.title),
    )


@bp.post("/responses/<int:response_id>/<any(exclude, keep, restore):action>")
def decide(questionnaire_id: int, response_id: int, action: str):
    """Exclude, keep or restore one response, with the evaluator's reason."""
    questionnaire = member_questionnaire(questionnaire_id)
    response = db.session.get(SurveyResponse, response_id)
    if response is None or response.questionnaire_id != questionnaire.id:
        abort(404)
    form = ReviewForm()
    if not form.validate_on_submit():
        flash(_("请写明理由后再提交。"), "error")
    else:
        try:
            reviewing.decide(response, current_user, action, form.reason.data.strip())
        except reviewing.NotAllowed as refused:
            flash(str(refused), "error")
        else:
            flash(_("第 %(n)s 号答卷已处理。", n=response.number), "success")
    if request.form.get("back") == "detail":  # sent from the response's own page (survey.collection.responses_views)
        return redirect(url_for("responses.detail", questionnaire_id=questionnaire.id, number=response.number))
    return redirect(url_for("collection.review", questionnaire_id=questionnaire.id))


@bp.get("/review/log.csv")
def review_log(questionnaire_id: int):
    """The exclusion log: every decision, who, when, why."""
    questionnaire = member_questionnaire(questionnaire_id)
    return Response(
        reviewing.exclusion_log_csv(questionnaire),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename=exclusions-{questionnaire.id}.csv"},
    )
