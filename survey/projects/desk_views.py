"""The evaluator desk: projects, questionnaires, links and QR codes, results and exports.

Every route requires a signed-in evaluator and goes through ``survey.accounts.access``, so a project is
reachable only by its members.
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from analysis.export import responses_table
from analysis.numbers import whole_number
from forms.project import ActionForm, ImportForm, IssuedForm, NewQuestionnaireForm, ProjectForm, PublishForm
from forms.response import build_response_form_class
from survey.accounts.access import member_project, member_questionnaire, projects_of_current_user
from survey.jobs import queue as jobs
from survey.jobs.downloads import heavy_download
from survey.jobs.queue import JobFile
from survey.models import Questionnaire
from survey.platform.csv_files import to_csv_bytes
from survey.platform.extensions import db
from survey.platform.qr import loopback_host, public_url, qr_png, qr_svg
from survey.projects.dashboard import project_dashboard
from survey.questionnaires import authoring, publishing
from survey.questionnaires.definition import DefinitionError, numbered_sections
from survey.questionnaires.localize import localize_definition
from survey.questionnaires.portable import export_json, parse_definition
from survey.questionnaires.versioning import draft_changes, has_unpublished_changes
from survey.reports.export_labels import export_labels
from survey.results.reporting import (
    display_records,
    questionnaire_results,
    response_counts,
    response_records,
    schema_for,
)
from survey.results.results_json import results_dict
from survey.results.weights import with_weights

bp = Blueprint("desk", __name__, url_prefix="/desk")
TEXT_LIMIT = 200  # text answers listed on the results page; all are in the exports


@bp.before_request
@login_required
def require_login():
    """Every desk route needs a signed-in evaluator; membership is checked per route."""


@bp.get("/")
def projects():
    """The evaluator's projects."""
    return render_template("desk/projects.html", projects=projects_of_current_user(), title=_("评价项目"))


@bp.route("/projects/new", methods=["GET", "POST"])
def new_project():
    """Create a project with the current evaluator as its owner."""
    form = ProjectForm()
    if form.validate_on_submit():
        fields = {name: form[name].data for name in ProjectForm.field_names()}
        project = publishing.create_project(current_user, **_blank_to_default(fields))
        flash(_("已创建项目“%(name)s”。", name=project.name), "success")
        return redirect(url_for("desk.project", project_id=project.id))
    return render_template("desk/project_form.html", form=form, title=_("新建评价项目")), (422 if form.errors else 200)


@bp.route("/projects/<int:project_id>/edit", methods=["GET", "POST"])
def edit_project(project_id: int):
    """Edit a project's details."""
    project = member_project(project_id)
    form = ProjectForm(obj=project)
    if form.validate_on_submit():
        for name, value in _blank_to_default({n: form[n].data for n in ProjectForm.field_names()}).items():
            setattr(project, name, value)
        db.session.commit()
        flash(_("项目信息已保存。"), "success")
        return redirect(url_for("desk.project", project_id=project.id))
    return render_template("desk/project_form.html", form=form, project=project, title=_("编辑项目")), (
        422 if form.errors else 200
    )


@bp.get("/projects/<int:project_id>")
def project(project_id: int):
    """A project's dashboard: questionnaires, counts against targets, flags to review, indicator score."""
    return _project_page(member_project(project_id))


def _project_page(project, form=None, import_form=None, import_problems=(), status: int = 200):
    """The dashboard, also re-shown with the errors of a failed create or import (422)."""
    return render_template(
        "desk/project.html",
        project=project,
        dashboard=project_dashboard(project),
        form=form or NewQuestionnaireForm(),
        import_form=import_form or ImportForm(),
        import_problems=list(import_problems),
        title=_("项目概览"),
    ), status


@bp.post("/projects/<int:project_id>/questionnaires")
def new_questionnaire(project_id: int):
    """Create a draft questionnaire from a library template."""
    project = member_project(project_id)
    form = NewQuestionnaireForm()
    if not form.validate_on_submit():
        return _project_page(project, form=form, status=422)
    questionnaire = publishing.create_questionnaire(project, form.template.data, form.title.data)
    flash(_("已创建问卷，预览无误后即可发布。"), "success")
    return redirect(url_for("desk.questionnaire", questionnaire_id=questionnaire.id))


@bp.get("/questionnaires/<int:questionnaire_id>")
def questionnaire(questionnaire_id: int):
    """A questionnaire: status, public link and QR code, counts, actions."""
    questionnaire = member_questionnaire(questionnaire_id)
    url = public_url(questionnaire.public_token)
    return render_template(
        "desk/questionnaire.html",
        questionnaire=questionnaire,
        url=url,
        loopback=loopback_host(url),
        action_form=ActionForm(),
        issued_form=IssuedForm(issued=questionnaire.issued_count),
        publish_form=PublishForm(),
        counts=response_counts(questionnaire),
        unpublished=has_unpublished_changes(questionnaire),
        changes=draft_changes(questionnaire),
        title=questionnaire.title,
    )


@bp.get("/questionnaires/<int:questionnaire_id>/preview")
def preview(questionnaire_id: int):
    """The draft as a respondent would see it, without a working submit."""
    questionnaire = member_questionnaire(questionnaire_id)
    definition = localize_definition(questionnaire.definition, get_locale())  # the draft in the page's language
    return render_template(
        "public/respond.html",
        questionnaire=questionnaire,
        definition=definition,
        sections=numbered_sections(definition),
        form=build_response_form_class(definition)(meta={"csrf": False}),
        preview=True,
        title=_("预览：%(title)s", title=definition["title"]),
    )


@bp.post("/questionnaires/<int:questionnaire_id>/publish")
def publish(questionnaire_id: int):
    """Publish the draft (a new version if it changed); breaking changes need explicit confirmation."""
    questionnaire = member_questionnaire(questionnaire_id)
    form = PublishForm()
    if not form.validate_on_submit():
        return redirect(url_for("desk.questionnaire", questionnaire_id=questionnaire.id))
    if any(change.breaking for change in draft_changes(questionnaire)) and not form.confirm.data:
        flash(_("这次修改会影响已收集的回答，请先阅读说明并勾选确认，再发布。"), "error")
        return redirect(url_for("desk.questionnaire", questionnaire_id=questionnaire.id))
    try:
        version = publishing.publish(questionnaire)
    except DefinitionError as error:
        described = [authoring.problem_in_words(questionnaire.definition, p) for p in error.problems]
        flash(_("问卷有问题，暂不能发布：%(problems)s", problems=_("；").join(described)), "error")
    else:
        flash(_("问卷已发布（第 %(n)d 版），现在可以扫码作答。", n=version.number), "success")
    return redirect(url_for("desk.questionnaire", questionnaire_id=questionnaire.id))


@bp.post("/questionnaires/<int:questionnaire_id>/discard")
def discard(questionnaire_id: int):
    """Throw away unpublished edits of a published questionnaire."""
    questionnaire = member_questionnaire(questionnaire_id)
    if ActionForm().validate_on_submit():
        publishing.discard_draft(questionnaire)
        flash(_("未发布的修改已撤销。"), "success")
    return redirect(url_for("desk.questionnaire", questionnaire_id=questionnaire.id))


@bp.get("/questionnaires/<int:questionnaire_id>/definition.json")
def export_definition(questionnaire_id: int):
    """The draft definition in the portable JSON format, as a download."""
    questionnaire = member_questionnaire(questionnaire_id)
    return Response(
        export_json(questionnaire.definition),
        mimetype="application/json",
        headers={"Content-Disposition": f"attachment; filename=questionnaire-{questionnaire.id}.json"},
    )


@bp.post("/projects/<int:project_id>/questionnaires/import")
def import_definition(project_id: int):
    """Create a draft questionnaire from an uploaded JSON or XLSForm file; a bad file changes nothing."""
    project = member_project(project_id)
    form = ImportForm()
    problems = []
    if form.validate_on_submit():
        upload = form.file.data
        try:
            definition = parse_definition(upload.read(), upload.filename or "")
        except DefinitionError as error:
            problems = error.problems
        else:
            questionnaire = publishing.import_questionnaire(project, definition)
            flash(_("已导入问卷“%(title)s”，预览无误后即可发布。", title=questionnaire.title), "success")
            return redirect(url_for("desk.questionnaire", questionnaire_id=questionnaire.id))
    return _project_page(project, import_form=form, import_problems=problems, status=422)


@bp.post("/questionnaires/<int:questionnaire_id>/close")
def close(questionnaire_id: int):
    """Stop collecting answers."""
    questionnaire = member_questionnaire(questionnaire_id)
    if ActionForm().validate_on_submit():
        publishing.close(questionnaire)
        flash(_("问卷已关闭，不再接受新的回答。"), "success")
    return redirect(url_for("desk.questionnaire", questionnaire_id=questionnaire.id))


@bp.post("/questionnaires/<int:questionnaire_id>/issued")
def set_issued(questionnaire_id: int):
    """Record how many questionnaires were handed out (发放), the base of 回收率."""
    questionnaire = member_questionnaire(questionnaire_id)
    form = IssuedForm()
    if form.validate_on_submit():
        questionnaire.issued_count = form.issued.data
        db.session.commit()
        flash(_("发放份数已保存。"), "success")
    else:
        for message in form.issued.errors:
            flash(message, "error")
    return redirect(url_for("desk.results", questionnaire_id=questionnaire.id))


@bp.post("/questionnaires/<int:questionnaire_id>/population")
def set_population(questionnaire_id: int):
    """总体规模 N for the finite-population correction (a fact of the fieldwork, not of the wording)."""
    questionnaire = member_questionnaire(questionnaire_id)
    raw = (request.form.get("population") or "").strip()
    population = whole_number(raw, 2_000_000_000)  # not isdigit(): "²" passed it and failed in int()
    if ActionForm().validate_on_submit() and (raw == "" or (population is not None and population > 0)):
        questionnaire.population = population if raw else None
        db.session.commit()
        flash(_("总体规模已保存。"), "success")
    else:
        flash(_("总体规模应为正整数。"), "error")
    return redirect(url_for("desk.results", questionnaire_id=questionnaire.id))


@bp.get("/questionnaires/<int:questionnaire_id>/qr.<any(png, svg):fmt>")
def qr_code(questionnaire_id: int, fmt: str):
    """The QR code of the public link; ``?download=1`` saves it as a file."""
    questionnaire = member_questionnaire(questionnaire_id)
    url = public_url(questionnaire.public_token)
    body, mimetype = (qr_png(url), "image/png") if fmt == "png" else (qr_svg(url), "image/svg+xml")
    response = Response(body, mimetype=mimetype)
    if request.args.get("download"):
        response.headers["Content-Disposition"] = f"attachment; filename=survey-{questionnaire.id}-qr.{fmt}"
    return response


@bp.get("/questionnaires/<int:questionnaire_id>/results")
def results(questionnaire_id: int):
    """Counts, per-option shares and every rate with its n and definition."""
    questionnaire = member_questionnaire(questionnaire_id)
    results = questionnaire_results(questionnaire)
    return render_template(
        "desk/results.html",
        questionnaire=questionnaire,
        results=results,
        results_data=results_dict(questionnaire, results, text_limit=TEXT_LIMIT),
        text_limit=TEXT_LIMIT,
        question_numbers={s.question["key"]: s.question["number"] for s in results.questions},
        issued_form=IssuedForm(issued=questionnaire.issued_count),
        title=_("结果：%(title)s", title=questionnaire.title),
    )


@bp.get("/questionnaires/<int:questionnaire_id>/responses.csv")
def export_csv(questionnaire_id: int):
    """All responses, one row each, option texts as values; UTF-8 with BOM for Excel (an export job)."""
    questionnaire = member_questionnaire(questionnaire_id)
    params = {"questionnaire_id": questionnaire.id}
    return heavy_download(
        "responses_csv", params, project_id=questionnaire.project_id, questionnaire_id=questionnaire.id
    )


def build_responses_csv(params: dict) -> JobFile:
    """The responses CSV, built from the questionnaire's id (in an export job or the request)."""
    questionnaire = db.session.get(Questionnaire, params["questionnaire_id"])
    if questionnaire is None:
        raise LookupError("the questionnaire is gone")
    records, labels = with_weights(questionnaire, response_records(questionnaire), export_labels())
    table = responses_table(schema_for(questionnaire), display_records(questionnaire, records), labels)
    return JobFile(to_csv_bytes(table), f"responses-{questionnaire.id}.csv", "text/csv; charset=utf-8")


jobs.register("responses_csv", lambda: _("答卷 CSV"), build_responses_csv)


def _blank_to_default(fields: dict) -> dict:
    """Optional text fields left blank are stored as empty strings rather than NULL."""
    return {k: ("" if v is None and k not in ("year", "budget") else v) for k, v in fields.items()}
